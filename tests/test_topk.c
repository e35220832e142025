/* Top-K inner-product search: every kernel of every ISA against a plain fmaf
 * reference (bit-identical scores), and the full search against brute force
 * (all scores, sorted by score then id) under every ISA. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "eval/topk_merge.h"
#include "eval/topk_search.h"
#include "simd/isa.h"
#include "simd/topk.h"
#include "suites.h"
#include "testutil.h"

/* The fixed arithmetic of the search: q[0] * x[0], then fmaf one dimension
 * at a time, over plain row-major vectors. */
static float ref_score(const float *q, const float *x, int dim)
{
    float s = q[0] * x[0];
    for (int d = 1; d < dim; d++) s = fmaf(q[d], x[d], s);
    return s;
}

static int same_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

/* Packs row-major items into 16-item dim-major blocks by hand (independent
 * of topk_corpus_pack); padding lanes get random values the kernels must
 * never report. */
static void pack_by_hand(rng *r, const float *items, int n, int dim, float *blocks)
{
    int n_blocks = (n + 15) / 16;
    for (int b = 0; b < n_blocks; b++)
        for (int d = 0; d < dim; d++)
            for (int lane = 0; lane < 16; lane++) {
                int item = b * 16 + lane;
                blocks[((size_t)b * dim + d) * 16 + lane] =
                    item < n ? items[(size_t)item * dim + d] : (float)rng_uniform(r) * 100.0f;
            }
}

static void check_kernel(isa_level isa, rng *r, int n, int dim, int nq)
{
    const topk_kernels *k = topk_kernels_for(isa);
    int n_blocks = (n + 15) / 16;
    float *items = malloc((size_t)n * dim * sizeof *items);
    float *blocks = tu_alloc_unaligned((size_t)n_blocks * 16 * dim);
    float *q = tu_alloc_unaligned((size_t)nq * (dim + 3)); /* stride dim + 3: rows not contiguous */
    float *ref = malloc((size_t)nq * n * sizeof *ref);
    int *seen = calloc((size_t)nq * n, sizeof *seen);
    topk_hit *hits = malloc((size_t)nq * n * sizeof *hits);
    tu_fill(r, items, (size_t)n * dim, -1.0f, 1.0f);
    tu_fill(r, q, (size_t)nq * (dim + 3), -1.0f, 1.0f);
    pack_by_hand(r, items, n, dim, blocks);
    for (int i = 0; i < nq; i++)
        for (int it = 0; it < n; it++) ref[i * n + it] = ref_score(q + i * (dim + 3), items + (size_t)it * dim, dim);

    /* Threshold -inf: every score comes back, once, bit-identical. */
    float thr[TOPK_MAX_QUERIES];
    for (int i = 0; i < nq; i++) thr[i] = -INFINITY;
    int n_hits = k->score_filter(q, dim + 3, nq, blocks, n, dim, thr, hits);
    int ok = n_hits == nq * n, bad = -1;
    for (int h = 0; ok && h < n_hits; h++) {
        int i = hits[h].query, it = hits[h].item;
        ok = i >= 0 && i < nq && it >= 0 && it < n && !seen[i * n + it]++ && same_bits(hits[h].score, ref[i * n + it]);
        if (!ok) bad = h;
    }
    TU_ASSERT_MSG(ok, "%s n=%d dim=%d nq=%d: %d hits, want %d; first bad hit %d", isa_name(isa), n, dim, nq, n_hits,
                  nq * n, bad);

    /* Thresholds equal to some item's score: exactly the scores >= it come back. */
    int want = 0;
    for (int i = 0; i < nq; i++) {
        thr[i] = ref[i * n + (int)rng_below(r, (uint64_t)n)];
        for (int it = 0; it < n; it++) want += ref[i * n + it] >= thr[i];
    }
    n_hits = k->score_filter(q, dim + 3, nq, blocks, n, dim, thr, hits);
    ok = n_hits == want;
    for (int h = 0; ok && h < n_hits; h++)
        ok = same_bits(hits[h].score, ref[hits[h].query * n + hits[h].item]) && hits[h].score >= thr[hits[h].query];
    TU_ASSERT_MSG(ok, "%s n=%d dim=%d nq=%d thresholds: %d hits, want %d", isa_name(isa), n, dim, nq, n_hits, want);
    free(items);
    tu_free_unaligned(blocks);
    tu_free_unaligned(q);
    free(ref);
    free(seen);
    free(hits);
}

static void test_kernel_vs_reference(void)
{
    static const int ns[] = {1, 15, 16, 17, 47, 1000};
    static const int dims[] = {1, 3, 16, 17, 64};
    static const int nqs[] = {1, 3, 4, 5, 6, 7, 8, 9, 13, 24};
    rng r;
    rng_stream(&r, 99, 1);
    for (int a = 0; a < tu_isa_count(); a++)
        for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++)
            for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
                for (size_t qi = 0; qi < sizeof nqs / sizeof nqs[0]; qi++)
                    check_kernel(tu_isa_at(a), &r, ns[ni], dims[di], nqs[qi]);
}

typedef struct scored {
    float s;
    int32_t id;
} scored;

static int by_score_then_id(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->s != y->s) return x->s > y->s ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Brute force: every score, sorted by (score desc, id asc), first k; slots
 * past the corpus are (-1, -inf). */
static void brute_topk(const float *items, int n, const float *q, int dim, int k, int32_t *ids, float *scores)
{
    scored *all = malloc((size_t)(n > 0 ? n : 1) * sizeof *all);
    for (int i = 0; i < n; i++) all[i] = (scored){ref_score(q, items + (size_t)i * dim, dim), i};
    qsort(all, (size_t)n, sizeof *all, by_score_then_id);
    for (int r = 0; r < k; r++) {
        ids[r] = r < n ? all[r].id : -1;
        scores[r] = r < n ? all[r].s : -INFINITY;
    }
    free(all);
}

/* kind 0: uniform values; 1: every third item duplicates an earlier one;
 * 2: small integers, so many scores tie exactly. */
static void check_search(rng *r, int n, int dim, int nq, int k, int kind)
{
    float *items = malloc((size_t)(n > 0 ? n : 1) * dim * sizeof *items);
    float *q = malloc((size_t)nq * dim * sizeof *q);
    int32_t *ids = malloc((size_t)nq * k * sizeof *ids), *want_ids = malloc((size_t)k * sizeof *want_ids);
    float *scores = malloc((size_t)nq * k * sizeof *scores), *want_scores = malloc((size_t)k * sizeof *want_scores);
    tu_fill(r, items, (size_t)n * dim, -1.0f, 1.0f);
    tu_fill(r, q, (size_t)nq * dim, -1.0f, 1.0f);
    if (kind == 1)
        for (int i = 2; i < n; i += 3)
            memcpy(items + (size_t)i * dim, items + rng_below(r, (uint64_t)i) * dim, dim * sizeof(float));
    if (kind == 2) {
        for (size_t i = 0; i < (size_t)n * dim; i++) items[i] = (float)((int)rng_below(r, 3) - 1);
        for (size_t i = 0; i < (size_t)nq * dim; i++) q[i] = (float)((int)rng_below(r, 3) - 1);
    }
    topk_corpus c;
    CU_ASSERT_EQUAL_FATAL(topk_corpus_pack(&c, items, n, dim, dim), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(topk_search(&c, q, nq, dim, k, ids, scores), DMMP_OK);
    int mismatches = 0, first = -1;
    for (int i = 0; i < nq; i++) {
        brute_topk(items, n, q + (size_t)i * dim, dim, k, want_ids, want_scores);
        for (int s = 0; s < k; s++)
            if (ids[i * k + s] != want_ids[s] || !same_bits(scores[i * k + s], want_scores[s])) {
                if (first < 0) first = i * k + s;
                mismatches++;
            }
    }
    TU_ASSERT_MSG(mismatches == 0, "%s n=%d dim=%d queries=%d k=%d kind %d: %d slots differ, first query %d rank %d",
                  isa_name(isa_active()), n, dim, nq, k, kind, mismatches, first < 0 ? -1 : first / k,
                  first < 0 ? -1 : first % k);
    topk_corpus_free(&c);
    free(items);
    free(q);
    free(ids);
    free(want_ids);
    free(scores);
    free(want_scores);
}

static void for_every_isa(void (*body)(rng *))
{
    isa_level before = isa_active();
    for (int a = 0; a < tu_isa_count(); a++) {
        CU_ASSERT_EQUAL_FATAL(isa_force(tu_isa_at(a)), DMMP_OK);
        rng r;
        rng_stream(&r, 5, (uint64_t)a); /* each ISA on its own data; identity with brute force is what counts */
        body(&r);
    }
    CU_ASSERT_EQUAL(isa_force(before), DMMP_OK);
}

static void odd_sizes(rng *r)
{
    static const int ns[] = {1, 15, 17, 1000};
    static const int dims[] = {1, 3, 17, 64};
    for (size_t ni = 0; ni < 4; ni++)
        for (size_t di = 0; di < 4; di++) {
            check_search(r, ns[ni], dims[di], 9, 1, 0);
            check_search(r, ns[ni], dims[di], 9, 10, 0);
            check_search(r, ns[ni], dims[di], 3, ns[ni] + 5, 0); /* k > n */
        }
}

static void ties(rng *r)
{
    check_search(r, 1000, 16, 20, 50, 1);
    check_search(r, 500, 3, 20, 100, 2);
    check_search(r, 333, 8, 11, 400, 2);
}

static void many_queries(rng *r)
{
    check_search(r, 3001, 64, 203, 100, 0);
    check_search(r, 2000, 128, 64, 20, 1);
    check_search(r, 700, 200, 17, 7, 0);
}

/* Items and queries with padding between rows (strides dim + 2, dim + 5). */
static void strided(rng *r)
{
    enum { N = 300, DIM = 19, NQ = 13, K = 25, IS = DIM + 2, QS = DIM + 5 };
    static float items[N * DIM], q[NQ * DIM], items_s[N * IS], q_s[NQ * QS], want_s[K], got_s[NQ * K];
    static int32_t want_id[K], got_id[NQ * K];
    tu_fill(r, items, N * DIM, -1.0f, 1.0f);
    tu_fill(r, q, NQ * DIM, -1.0f, 1.0f);
    tu_fill(r, items_s, N * IS, 50.0f, 60.0f); /* padding that would win if it were read */
    tu_fill(r, q_s, NQ * QS, 50.0f, 60.0f);
    for (int i = 0; i < N; i++) memcpy(items_s + i * IS, items + i * DIM, DIM * sizeof(float));
    for (int i = 0; i < NQ; i++) memcpy(q_s + i * QS, q + i * DIM, DIM * sizeof(float));
    topk_corpus c;
    CU_ASSERT_EQUAL_FATAL(topk_corpus_pack(&c, items_s, N, DIM, IS), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(topk_search(&c, q_s, NQ, QS, K, got_id, got_s), DMMP_OK);
    int mismatches = 0;
    for (int i = 0; i < NQ; i++) {
        brute_topk(items, N, q + i * DIM, DIM, K, want_id, want_s);
        for (int s = 0; s < K; s++)
            mismatches += got_id[i * K + s] != want_id[s] || !same_bits(got_s[i * K + s], want_s[s]);
    }
    TU_ASSERT_MSG(mismatches == 0, "%s strided: %d slots differ", isa_name(isa_active()), mismatches);
    topk_corpus_free(&c);
}

static void test_search_strided(void) { for_every_isa(strided); }
static void test_search_odd_sizes(void) { for_every_isa(odd_sizes); }
static void test_search_ties(void) { for_every_isa(ties); }
static void test_search_many_queries(void) { for_every_isa(many_queries); }

static void test_search_errors(void)
{
    float items[6] = {1, 2, 3, 4, NAN, 6};
    topk_corpus c;
    CU_ASSERT_EQUAL(topk_corpus_pack(&c, items, 3, 2, 2), DMMP_ENUMERIC);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "item 2, dimension 0"));
    CU_ASSERT_EQUAL(topk_corpus_pack(&c, items, 2, 2, 1), DMMP_EINVAL);
    CU_ASSERT_EQUAL_FATAL(topk_corpus_pack(&c, items, 2, 2, 2), DMMP_OK);
    float q[2] = {1, INFINITY}, s[4];
    int32_t ids[4];
    CU_ASSERT_EQUAL(topk_search(&c, q, 1, 2, 0, ids, s), DMMP_EINVAL);
    CU_ASSERT_EQUAL(topk_search(&c, q, 1, 2, 2, ids, s), DMMP_ENUMERIC);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "query 0, dimension 1"));
    /* An empty corpus returns only empty slots. */
    topk_corpus empty;
    CU_ASSERT_EQUAL_FATAL(topk_corpus_pack(&empty, NULL, 0, 2, 2), DMMP_OK);
    q[1] = 1;
    CU_ASSERT_EQUAL(topk_search(&empty, q, 1, 2, 2, ids, s), DMMP_OK);
    CU_ASSERT(ids[0] == -1 && ids[1] == -1 && s[0] == -INFINITY);
    topk_corpus_free(&empty);
    topk_corpus_free(&c);
}

/* Shards of a corpus searched one by one and merged equal the search of the
 * whole corpus (ids and scores), with integer-valued vectors so ties are
 * common, for 1 to 5 shards of uneven sizes and k beyond a shard's size. */
static void test_merge_shards(void)
{
    enum { N = 203, DIM = 5, Q = 17 };
    float items[N * DIM], queries[Q * DIM];
    uint64_t st = 12;
    for (int i = 0; i < N * DIM; i++) items[i] = (float)(int)(rng_splitmix64(&st) % 5) - 2.0f;
    for (int i = 0; i < Q * DIM; i++) queries[i] = (float)(int)(rng_splitmix64(&st) % 3) - 1.0f;
    static const int ks[] = {1, 7, 60, 250};
    int bad = 0;
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
        int k = ks[ki];
        int32_t *want = malloc(sizeof(int32_t) * Q * (size_t)k), *got = malloc(sizeof(int32_t) * Q * (size_t)k);
        float *wsc = malloc(sizeof(float) * Q * (size_t)k), *gsc = malloc(sizeof(float) * Q * (size_t)k);
        int32_t *lid = malloc(sizeof(int32_t) * 5 * Q * (size_t)k);
        float *lsc = malloc(sizeof(float) * 5 * Q * (size_t)k);
        int32_t *mid = malloc(sizeof(int32_t) * 5 * (size_t)k);
        float *msc = malloc(sizeof(float) * 5 * (size_t)k);
        CU_ASSERT_FATAL(want && got && wsc && gsc && lid && lsc && mid && msc);
        topk_corpus whole;
        CU_ASSERT_FATAL(topk_corpus_pack(&whole, items, N, DIM, DIM) == DMMP_OK);
        CU_ASSERT_FATAL(topk_search(&whole, queries, Q, DIM, k, want, wsc) == DMMP_OK);
        topk_corpus_free(&whole);
        for (int shards = 1; shards <= 5; shards++) {
            for (int sh = 0; sh < shards; sh++) {
                int lo = N * sh * sh / (shards * shards), hi = N * (sh + 1) * (sh + 1) / (shards * shards);
                topk_corpus part;
                CU_ASSERT_FATAL(topk_corpus_pack(&part, items + (size_t)lo * DIM, hi - lo, DIM, DIM) == DMMP_OK);
                int32_t *ids = lid + (size_t)sh * Q * k;
                CU_ASSERT_FATAL(topk_search(&part, queries, Q, DIM, k, ids, lsc + (size_t)sh * Q * k) == DMMP_OK);
                for (int i = 0; i < Q * k; i++)
                    if (ids[i] >= 0) ids[i] += lo;
                topk_corpus_free(&part);
            }
            for (int q = 0; q < Q; q++) {
                for (int sh = 0; sh < shards; sh++) {
                    memcpy(mid + (size_t)sh * k, lid + (size_t)sh * Q * k + (size_t)q * k, sizeof(int32_t) * (size_t)k);
                    memcpy(msc + (size_t)sh * k, lsc + (size_t)sh * Q * k + (size_t)q * k, sizeof(float) * (size_t)k);
                }
                topk_merge(mid, msc, shards, k, got + (size_t)q * k, gsc + (size_t)q * k);
            }
            for (int i = 0; i < Q * k; i++) bad += got[i] != want[i] || (want[i] >= 0 && gsc[i] != wsc[i]);
        }
        free(want);
        free(got);
        free(wsc);
        free(gsc);
        free(lid);
        free(lsc);
        free(mid);
        free(msc);
    }
    TU_ASSERT_MSG(bad == 0, "%d merged slots differ from the whole-corpus search", bad);
}

int register_topk_suites(void)
{
    static const char *const kernel_names[] = {"score_filter of every ISA vs fmaf reference, bit for bit"};
    static const CU_TestFunc kernel_fns[] = {test_kernel_vs_reference};
    static const char *const search_names[] = {
        "odd sizes, k = 1, k > n vs brute force", "duplicate items and integer ties vs brute force",
        "many queries, dim up to 200 vs brute force", "strided items and queries vs brute force",
        "bad input and empty corpus", "shards searched and merged equal the whole corpus",
    };
    static const CU_TestFunc search_fns[] = {test_search_odd_sizes, test_search_ties, test_search_many_queries,
                                             test_search_strided, test_search_errors, test_merge_shards};
    if (tu_add_suite("kernel_topk", kernel_names, kernel_fns, 1)) return -1;
    return tu_add_suite("eval_topk", search_names, search_fns, sizeof search_fns / sizeof search_fns[0]);
}
