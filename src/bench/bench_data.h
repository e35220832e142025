/* Data-path throughput: the raw Ali-CCP importer (MB/s of input text) on a
 * generated file, the schema-driven CSV importer (MB/s) on a generated
 * MovieLens-style log (quoted titles, multi-valued genres), and the batcher (samples/s over the training split of a
 * generated synthetic dataset), both in a temporary directory that is
 * removed afterwards. */
#ifndef DMMP_BENCH_BENCH_DATA_H
#define DMMP_BENCH_BENCH_DATA_H

#include <stdint.h>

#include "bench/bench_stats.h"

typedef struct bench_data_options {
    int64_t rows;  /* training skeleton lines and synthetic impressions (default 200000) */
    int batch;     /* batcher batch size (default 1024) */
    int repeat;    /* timed runs after one warm-up (default 3) */
    uint64_t seed; /* default 1 */
    int64_t csv_mb; /* MB of the generated CSV log (default 64; 0: skip) */
} bench_data_options;

/* Figures import_mb_per_s, import_rows_per_s, csv_import_mb_per_s,
 * csv_import_rows_per_s, batcher_samples_per_s. */
dmmp_status bench_data(const bench_data_options *o, bench_report *r);

#endif
