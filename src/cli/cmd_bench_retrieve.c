/* dmmp bench-retrieve: throughput of the exact top-K search on random data,
 * next to the machine's fp32 gemm rate (a large oneDNN matmul) as ceiling. */
#include <errno.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "core/mem.h"
#include "core/rng.h"
#include "eval/topk_search.h"
#include "simd/isa.h"

typedef struct bench_options {
    long long items, dim, queries, k, repeat, gemm_size, seed;
} bench_options;

static void bench_usage(FILE *out)
{
    fprintf(out,
            "usage: dmmp bench-retrieve [--items N] [--dim D] [--queries Q] [--k K] [--repeat R]\n"
            "                           [--gemm-size S] [--seed SEED]\n\n"
            "Times the exact top-K inner-product search of Q random queries against N random\n"
            "items of dimension D (defaults 1000000, 64, 1024, K 100, R 5): one warm-up run, then\n"
            "median / min / max of queries/s and GFLOP/s (2*Q*N*D flops a run) over R runs.\n"
            "Then times an S x S x S fp32 oneDNN matmul (default S 2048) as the gemm ceiling\n"
            "and prints the ratio of the two median rates. OMP_NUM_THREADS sets the threads.\n");
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts t[0..n) and returns its median. */
static double median_of(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, compare_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

static dmmp_status parse_options(int argc, char **argv, bench_options *o)
{
    *o = (bench_options){1000000, 64, 1024, 100, 5, 2048, 1};
    static const char *const names[] = {"--items", "--dim", "--queries", "--k", "--repeat", "--gemm-size", "--seed"};
    long long *fields[] = {&o->items, &o->dim, &o->queries, &o->k, &o->repeat, &o->gemm_size, &o->seed};
    static const long long lo[] = {1, 1, 1, 1, 1, 16, 0};
    static const long long hi[] = {INT32_MAX, 4096, 100000000, 100000, 1000, 16384, INT64_MAX};
    for (int i = 1; i < argc; i++) {
        size_t f = 0;
        while (f < sizeof names / sizeof names[0] && strcmp(argv[i], names[f])) f++;
        if (f == sizeof names / sizeof names[0])
            return dmmp_fail(DMMP_EINVAL, "unknown option '%s' (see --help)", argv[i]);
        if (i + 1 >= argc) return dmmp_fail(DMMP_EINVAL, "%s needs a value", names[f]);
        char *end;
        errno = 0;
        long long v = strtoll(argv[++i], &end, 10);
        if (errno || *end || end == argv[i] || v < lo[f] || v > hi[f])
            return dmmp_fail(DMMP_EINVAL, "%s '%s': expected an integer in %lld..%lld", names[f], argv[i], lo[f],
                             hi[f]);
        *fields[f] = v;
    }
    return DMMP_OK;
}

#define DNNL_CHECK(call)                                                                                      \
    do {                                                                                                      \
        dnnl_status_t dnnl_s_ = (call);                                                                       \
        if (dnnl_s_ != dnnl_success) {                                                                        \
            st = dmmp_fail(DMMP_EDNNL, "gemm ceiling: %s failed with oneDNN status %d", #call, (int)dnnl_s_); \
            goto done;                                                                                        \
        }                                                                                                     \
    } while (0)

/* Times repeat runs (after one warm-up) of an n x n x n fp32 matmul;
 * *gflops receives the median rate. */
static dmmp_status gemm_ceiling(long long n, int repeat, double *gflops)
{
    dmmp_status st = DMMP_OK;
    dnnl_engine_t eng = NULL;
    dnnl_stream_t stream = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    dnnl_memory_t mem[3] = {NULL, NULL, NULL};
    float *buf[3] = {NULL, NULL, NULL};
    double *times = NULL;
    rng r;
    rng_stream(&r, 1, 2);
    for (int i = 0; i < 3; i++) {
        st = mem_alloc_f32(&buf[i], n * n, "gemm ceiling matrix");
        if (st != DMMP_OK) goto done;
        rng_fill_uniform(&r, buf[i], (size_t)(n * n), -1.0f, 1.0f);
    }
    st = mem_alloc((void **)&times, (size_t)repeat * sizeof *times, "gemm timings");
    if (st != DMMP_OK) goto done;
    dnnl_dims_t dims = {n, n};
    dnnl_memory_desc_t md;
    dnnl_matmul_desc_t desc;
    DNNL_CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    DNNL_CHECK(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags));
    DNNL_CHECK(dnnl_memory_desc_init_by_tag(&md, 2, dims, dnnl_f32, dnnl_ab));
    DNNL_CHECK(dnnl_matmul_desc_init(&desc, &md, &md, NULL, &md));
    DNNL_CHECK(dnnl_primitive_desc_create(&pd, &desc, NULL, eng, NULL));
    DNNL_CHECK(dnnl_primitive_create(&prim, pd));
    for (int i = 0; i < 3; i++) DNNL_CHECK(dnnl_memory_create(&mem[i], &md, eng, buf[i]));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, mem[0]}, {DNNL_ARG_WEIGHTS, mem[1]}, {DNNL_ARG_DST, mem[2]}};
    for (int run = -1; run < repeat; run++) {
        double t0 = now_seconds();
        DNNL_CHECK(dnnl_primitive_execute(prim, stream, 3, args));
        DNNL_CHECK(dnnl_stream_wait(stream));
        if (run >= 0) times[run] = now_seconds() - t0;
    }
    *gflops = 2.0 * (double)n * (double)n * (double)n / median_of(times, repeat) * 1e-9;
done:
    for (int i = 0; i < 3; i++) {
        if (mem[i]) dnnl_memory_destroy(mem[i]);
        mem_free(buf[i]);
    }
    if (prim) dnnl_primitive_destroy(prim);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (stream) dnnl_stream_destroy(stream);
    if (eng) dnnl_engine_destroy(eng);
    mem_free(times);
    return st;
}

static dmmp_status bench_search(const bench_options *o, double *median_gflops)
{
    dmmp_status st;
    float *items = NULL, *queries = NULL, *scores = NULL;
    int32_t *ids = NULL;
    double *times = NULL;
    topk_corpus corpus = {0};
    rng r;
    rng_stream(&r, (uint64_t)o->seed, 1);
    if ((st = mem_alloc_f32(&items, o->items * o->dim, "benchmark items")) != DMMP_OK) goto done;
    rng_fill_normal(&r, items, (size_t)(o->items * o->dim), 1.0f);
    st = topk_corpus_pack(&corpus, items, o->items, (int)o->dim, o->dim);
    mem_free(items);
    items = NULL;
    if (st != DMMP_OK) goto done;
    if ((st = mem_alloc_f32(&queries, o->queries * o->dim, "benchmark queries")) != DMMP_OK) goto done;
    if ((st = mem_alloc_f32(&scores, o->queries * o->k, "benchmark scores")) != DMMP_OK) goto done;
    st = mem_alloc((void **)&ids, (size_t)(o->queries * o->k) * sizeof *ids, "benchmark ids");
    if (st != DMMP_OK) goto done;
    if ((st = mem_alloc((void **)&times, (size_t)o->repeat * sizeof *times, "timings")) != DMMP_OK) goto done;
    rng_fill_normal(&r, queries, (size_t)(o->queries * o->dim), 1.0f);
    for (long long run = -1; run < o->repeat; run++) {
        double t0 = now_seconds();
        st = topk_search(&corpus, queries, o->queries, o->dim, (int)o->k, ids, scores);
        if (st != DMMP_OK) goto done;
        if (run >= 0) times[run] = now_seconds() - t0;
    }
    int n = (int)o->repeat;
    double flops = 2.0 * (double)o->queries * (double)o->items * (double)o->dim;
    double med = median_of(times, n);
    printf("search: %lld queries x %lld items x dim %lld, k %lld, %d runs after a warm-up\n", o->queries, o->items,
           o->dim, o->k, n);
    printf("  seconds/run   median %.4f  min %.4f  max %.4f\n", med, times[0], times[n - 1]);
    printf("  queries/s     median %.0f  min %.0f  max %.0f\n", (double)o->queries / med,
           (double)o->queries / times[n - 1], (double)o->queries / times[0]);
    printf("  GFLOP/s       median %.1f  min %.1f  max %.1f\n", flops / med * 1e-9, flops / times[n - 1] * 1e-9,
           flops / times[0] * 1e-9);
    *median_gflops = flops / med * 1e-9;
done:
    topk_corpus_free(&corpus);
    mem_free(items);
    mem_free(queries);
    mem_free(scores);
    mem_free(ids);
    mem_free(times);
    return st;
}

int cmd_bench_retrieve(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            bench_usage(stdout);
            return 0;
        }
    bench_options o;
    dmmp_status st = parse_options(argc, argv, &o);
    if (st != DMMP_OK) {
        cli_report_error("bench-retrieve", st);
        bench_usage(stderr);
        return 2;
    }
    printf("isa %s, %d OpenMP threads (numbers are noisy when other work shares the machine)\n",
           isa_name(isa_active()), omp_get_max_threads());
    double search_gflops = 0, gemm_gflops = 0;
    if ((st = bench_search(&o, &search_gflops)) != DMMP_OK) return cli_report_error("bench-retrieve", st);
    if ((st = gemm_ceiling(o.gemm_size, (int)o.repeat, &gemm_gflops)) != DMMP_OK)
        return cli_report_error("bench-retrieve", st);
    printf("gemm ceiling: oneDNN fp32 matmul %lld^3, median %.1f GFLOP/s\n", o.gemm_size, gemm_gflops);
    printf("search / gemm: %.2f\n", search_gflops / gemm_gflops);
    return 0;
}
