/* Exact top-K retrieval throughput: Q random queries against N random items
 * of dimension D, next to the gemm ceiling measured in the same run. */
#ifndef DMMP_BENCH_BENCH_RETRIEVE_H
#define DMMP_BENCH_BENCH_RETRIEVE_H

#include <stdint.h>

#include "bench/bench_stats.h"

typedef struct bench_retrieve_options {
    int64_t items;   /* default 1000000 */
    int dim;         /* default 64 */
    int64_t queries; /* default 1024 */
    int k;           /* default 100 */
    int repeat;      /* default 5 */
    int gemm_size;   /* default 2048 */
    uint64_t seed;   /* default 1 */
} bench_retrieve_options;

/* Figures queries_per_s, gflops (2 Q N D per run), gemm_gflops and
 * share_of_gemm (ratio of the median rates). */
dmmp_status bench_retrieve(const bench_retrieve_options *o, bench_report *r);

#endif
