#include "bench/bench_retrieve.h"

#include <stdio.h>
#include <string.h>

#include "bench/bench_gemm.h"
#include "core/clock.h"
#include "core/mem.h"
#include "core/rng.h"
#include "eval/topk_search.h"

/* The search under test: a packed random corpus, random queries, outputs. */
typedef struct search_bench {
    topk_corpus corpus;
    float *queries, *scores;
    int32_t *ids;
} search_bench;

/* Fills b; on failure the caller still calls search_bench_free. */
static dmmp_status search_bench_init(search_bench *b, const bench_retrieve_options *o)
{
    memset(b, 0, sizeof *b);
    rng r;
    rng_stream(&r, o->seed, 1);
    float *items;
    DMMP_TRY(mem_alloc_f32(&items, (size_t)o->items * o->dim, "benchmark items"));
    rng_fill_normal(&r, items, (size_t)o->items * o->dim, 1.0f);
    dmmp_status st = topk_corpus_pack(&b->corpus, items, o->items, o->dim, o->dim);
    mem_free(items);
    DMMP_TRY(st);
    DMMP_TRY(mem_alloc_f32(&b->queries, (size_t)o->queries * o->dim, "benchmark queries"));
    DMMP_TRY(mem_alloc_f32(&b->scores, (size_t)o->queries * o->k, "benchmark scores"));
    DMMP_TRY(mem_alloc((void **)&b->ids, (size_t)o->queries * o->k * sizeof *b->ids, "benchmark ids"));
    rng_fill_normal(&r, b->queries, (size_t)o->queries * o->dim, 1.0f);
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

/* One warm-up, then repeat rounds each timing one search and one gemm. */
static dmmp_status retrieve_runs(const bench_retrieve_options *o, search_bench *sb, gemm_ceiling *g, double *ts,
                                 double *tg, bench_report *r)
{
    DMMP_TRY(search_bench_init(sb, o));
    DMMP_TRY(gemm_ceiling_init(g, o->gemm_size));
    for (int run = -1; run < o->repeat; run++) {
        double t0 = clock_wall_seconds(), tgemm;
        DMMP_TRY(topk_search(&sb->corpus, sb->queries, o->queries, o->dim, o->k, sb->ids, sb->scores));
        double tsearch = clock_wall_seconds() - t0;
        DMMP_TRY(gemm_ceiling_run(g, &tgemm));
        if (run >= 0) {
            ts[run] = tsearch;
            tg[run] = tgemm;
        }
    }
    char shape[128];
    snprintf(shape, sizeof shape, "%lld queries x %lld items x dim %d, k %d", (long long)o->queries,
             (long long)o->items, o->dim, o->k);
    DMMP_TRY(bench_add_note(r, "shape", shape));
    double flops = 2.0 * (double)o->queries * (double)o->items * o->dim;
    int n = o->repeat;
    double ts_copy[1000];
    memcpy(ts_copy, ts, (size_t)n * sizeof *ts);
    DMMP_TRY(bench_add_ratio(r, "share_of_gemm", flops, ts, gemm_ceiling_flops(g), tg, n));
    DMMP_TRY(bench_add_rate(r, "queries_per_s", "queries/s", (double)o->queries, ts, n));
    DMMP_TRY(bench_add_rate(r, "gflops", "GFLOP/s", flops * 1e-9, ts_copy, n));
    return bench_add_rate(r, "gemm_gflops", "GFLOP/s", gemm_ceiling_flops(g) * 1e-9, tg, n);
}

dmmp_status bench_retrieve(const bench_retrieve_options *o, bench_report *r)
{
    if (o->repeat < 1 || o->repeat > 1000) return dmmp_fail(DMMP_EINVAL, "retrieve: repeat %d outside [1, 1000]", o->repeat);
    if (o->items < 1 || o->dim < 1 || o->queries < 1 || o->k < 1)
        return dmmp_fail(DMMP_EINVAL, "retrieve: items, dim, queries and k must be >= 1");
    search_bench sb;
    gemm_ceiling g;
    double ts[1000], tg[1000];
    memset(&sb, 0, sizeof sb);
    memset(&g, 0, sizeof g);
    dmmp_status st = retrieve_runs(o, &sb, &g, ts, tg, r);
    search_bench_free(&sb);
    gemm_ceiling_free(&g);
    return st;
}
