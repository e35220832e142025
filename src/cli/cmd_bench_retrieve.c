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
            "Each run also times an S x S x S fp32 oneDNN matmul (default S 2048), the gemm ceiling,\n"
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

/* The gemm ceiling: an n x n x n fp32 oneDNN matmul, built once. */
typedef struct gemm_bench {
    long long n;
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    dnnl_memory_t mem[3];
    float *buf[3];
} gemm_bench;

#define DNNL_CHECK(call)                                                                                    \
    do {                                                                                                    \
        dnnl_status_t dnnl_s_ = (call);                                                                     \
        if (dnnl_s_ != dnnl_success)                                                                        \
            return dmmp_fail(DMMP_EDNNL, "gemm ceiling: %s failed with oneDNN status %d", #call, (int)dnnl_s_); \
    } while (0)

/* Fills g; on failure the caller still calls gemm_bench_free. */
static dmmp_status gemm_bench_init(gemm_bench *g, long long n)
{
    memset(g, 0, sizeof *g);
    g->n = n;
    rng r;
    rng_stream(&r, 1, 2);
    for (int i = 0; i < 3; i++) {
        DMMP_TRY(mem_alloc_f32(&g->buf[i], n * n, "gemm ceiling matrix"));
        rng_fill_uniform(&r, g->buf[i], (size_t)(n * n), -1.0f, 1.0f);
    }
    dnnl_dims_t dims = {n, n};
    dnnl_memory_desc_t md;
    dnnl_matmul_desc_t desc;
    DNNL_CHECK(dnnl_engine_create(&g->eng, dnnl_cpu, 0));
    DNNL_CHECK(dnnl_stream_create(&g->stream, g->eng, dnnl_stream_default_flags));
    DNNL_CHECK(dnnl_memory_desc_init_by_tag(&md, 2, dims, dnnl_f32, dnnl_ab));
    DNNL_CHECK(dnnl_matmul_desc_init(&desc, &md, &md, NULL, &md));
    DNNL_CHECK(dnnl_primitive_desc_create(&g->pd, &desc, NULL, g->eng, NULL));
    DNNL_CHECK(dnnl_primitive_create(&g->prim, g->pd));
    for (int i = 0; i < 3; i++) DNNL_CHECK(dnnl_memory_create(&g->mem[i], &md, g->eng, g->buf[i]));
    return DMMP_OK;
}

static dmmp_status gemm_bench_run(gemm_bench *g, double *seconds)
{
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, g->mem[0]}, {DNNL_ARG_WEIGHTS, g->mem[1]}, {DNNL_ARG_DST, g->mem[2]}};
    double t0 = now_seconds();
    DNNL_CHECK(dnnl_primitive_execute(g->prim, g->stream, 3, args));
    DNNL_CHECK(dnnl_stream_wait(g->stream));
    *seconds = now_seconds() - t0;
    return DMMP_OK;
}

static void gemm_bench_free(gemm_bench *g)
{
    for (int i = 0; i < 3; i++) {
        if (g->mem[i]) dnnl_memory_destroy(g->mem[i]);
        mem_free(g->buf[i]);
    }
    if (g->prim) dnnl_primitive_destroy(g->prim);
    if (g->pd) dnnl_primitive_desc_destroy(g->pd);
    if (g->stream) dnnl_stream_destroy(g->stream);
    if (g->eng) dnnl_engine_destroy(g->eng);
    memset(g, 0, sizeof *g);
}

/* The search under test: a packed random corpus, random queries, outputs. */
typedef struct search_bench {
    const bench_options *o;
    topk_corpus corpus;
    float *queries, *scores;
    int32_t *ids;
} search_bench;

/* Fills b; on failure the caller still calls search_bench_free. */
static dmmp_status search_bench_init(search_bench *b, const bench_options *o)
{
    memset(b, 0, sizeof *b);
    b->o = o;
    rng r;
    rng_stream(&r, (uint64_t)o->seed, 1);
    float *items;
    DMMP_TRY(mem_alloc_f32(&items, o->items * o->dim, "benchmark items"));
    rng_fill_normal(&r, items, (size_t)(o->items * o->dim), 1.0f);
    dmmp_status st = topk_corpus_pack(&b->corpus, items, o->items, (int)o->dim, o->dim);
    mem_free(items);
    DMMP_TRY(st);
    DMMP_TRY(mem_alloc_f32(&b->queries, o->queries * o->dim, "benchmark queries"));
    DMMP_TRY(mem_alloc_f32(&b->scores, o->queries * o->k, "benchmark scores"));
    DMMP_TRY(mem_alloc((void **)&b->ids, (size_t)(o->queries * o->k) * sizeof *b->ids, "benchmark ids"));
    rng_fill_normal(&r, b->queries, (size_t)(o->queries * o->dim), 1.0f);
    return DMMP_OK;
}

static dmmp_status search_bench_run(search_bench *b, double *seconds)
{
    double t0 = now_seconds();
    DMMP_TRY(topk_search(&b->corpus, b->queries, b->o->queries, b->o->dim, (int)b->o->k, b->ids, b->scores));
    *seconds = now_seconds() - t0;
    return DMMP_OK;
}

static void search_bench_free(search_bench *b)
{
    topk_corpus_free(&b->corpus);
    mem_free(b->queries);
    mem_free(b->scores);
    mem_free(b->ids);
    memset(b, 0, sizeof *b);
}

/* Prints median / min / max of a rate over the sorted run times t[0..n). */
static void print_rates(const char *what, double work, const double *t, int n, double med)
{
    printf("  %-12s median %.1f  min %.1f  max %.1f\n", what, work / med, work / t[n - 1], work / t[0]);
}

/* One warm-up, then repeat rounds each timing one search and one gemm, so
 * load from other processes hits both rates alike. */
static dmmp_status run_benchmarks(const bench_options *o, search_bench *sb, gemm_bench *gb, double *ts, double *tg)
{
    DMMP_TRY(search_bench_init(sb, o));
    DMMP_TRY(gemm_bench_init(gb, o->gemm_size));
    for (long long run = -1; run < o->repeat; run++) {
        double a = 0, b = 0;
        DMMP_TRY(search_bench_run(sb, &a));
        DMMP_TRY(gemm_bench_run(gb, &b));
        if (run >= 0) {
            ts[run] = a;
            tg[run] = b;
        }
    }
    int n = (int)o->repeat;
    double flops = 2.0 * (double)o->queries * (double)o->items * (double)o->dim;
    double gflop = 2.0 * (double)o->gemm_size * (double)o->gemm_size * (double)o->gemm_size * 1e-9;
    double ms = median_of(ts, n), mg = median_of(tg, n);
    printf("search: %lld queries x %lld items x dim %lld, k %lld; %d runs after a warm-up\n", o->queries, o->items,
           o->dim, o->k, n);
    printf("  seconds/run  median %.4f  min %.4f  max %.4f\n", ms, ts[0], ts[n - 1]);
    print_rates("queries/s", (double)o->queries, ts, n, ms);
    print_rates("GFLOP/s", flops * 1e-9, ts, n, ms);
    printf("gemm ceiling: oneDNN fp32 matmul %lld^3, interleaved with the search runs\n", o->gemm_size);
    print_rates("GFLOP/s", gflop, tg, n, mg);
    printf("search / gemm (median rates): %.2f\n", (flops * 1e-9 / ms) / (gflop / mg));
    return DMMP_OK;
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
    search_bench sb;
    gemm_bench gb;
    double *ts = NULL, *tg = NULL;
    st = mem_alloc((void **)&ts, (size_t)o.repeat * sizeof *ts, "search timings");
    if (st == DMMP_OK) st = mem_alloc((void **)&tg, (size_t)o.repeat * sizeof *tg, "gemm timings");
    memset(&sb, 0, sizeof sb);
    memset(&gb, 0, sizeof gb);
    if (st == DMMP_OK) st = run_benchmarks(&o, &sb, &gb, ts, tg);
    search_bench_free(&sb);
    gemm_bench_free(&gb);
    mem_free(ts);
    mem_free(tg);
    return st == DMMP_OK ? 0 : cli_report_error("bench-retrieve", st);
}
