/* The gemm ceiling: an n x n x n fp32 oneDNN matmul, the rate the machine
 * reaches on large dense work with the library the models use. Other
 * benchmarks interleave its runs with theirs so load from other processes
 * hits both rates alike and their ratio stays meaningful. */
#ifndef DMMP_BENCH_BENCH_GEMM_H
#define DMMP_BENCH_BENCH_GEMM_H

#include <oneapi/dnnl/dnnl.h>

#include "bench/bench_stats.h"

typedef struct gemm_ceiling {
    int n;
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    dnnl_primitive_t prim;
    dnnl_memory_t mem[3];
    float *buf[3];
} gemm_ceiling;

/* Builds the matmul on random n x n matrices (16 <= n <= 16384); on failure
 * the caller still calls gemm_ceiling_free. */
dmmp_status gemm_ceiling_init(gemm_ceiling *g, int n);

/* One timed execution (seconds, waiting for the stream). */
dmmp_status gemm_ceiling_run(gemm_ceiling *g, double *seconds);

/* FLOPs of one execution: 2 n^3. */
double gemm_ceiling_flops(const gemm_ceiling *g);

/* Releases everything (a zeroed struct is fine). */
void gemm_ceiling_free(gemm_ceiling *g);

typedef struct bench_gemm_options {
    int size;   /* n (default 2048) */
    int repeat; /* timed runs after one warm-up (default 5) */
} bench_gemm_options;

/* Figure gflops (GFLOP/s). */
dmmp_status bench_gemm(const bench_gemm_options *o, bench_report *r);

#endif
