/* Exact top-K search: per query a heap of its K best, kept in the output
 * arrays themselves, fed by the SIMD kernels' threshold-filtered hits. */
#include "eval/topk_search.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#include "core/mem.h"
#include "simd/topk.h"

/* Packed bytes one kernel call covers: small enough to stay in L1 while
 * every query block of a thread passes over it. */
#define CALL_BYTES (24 * 1024)
#define CALL_MAX_BLOCKS 9

dmmp_status topk_corpus_pack(topk_corpus *c, const float *items, int64_t n_items, int dim, int64_t item_stride)
{
    memset(c, 0, sizeof *c);
    if (dim < 1) return dmmp_fail(DMMP_EINVAL, "topk corpus: dim %d, expected >= 1", dim);
    if (n_items < 0 || n_items > INT32_MAX)
        return dmmp_fail(DMMP_EINVAL, "topk corpus: %lld items, expected 0..%d", (long long)n_items, INT32_MAX);
    if (item_stride < dim)
        return dmmp_fail(DMMP_EINVAL, "topk corpus: item stride %lld is below dim %d", (long long)item_stride, dim);
    if (n_items > 0 && !items) return dmmp_fail(DMMP_EINVAL, "topk corpus: item array is NULL");
    for (int64_t i = 0; i < n_items; i++)
        for (int d = 0; d < dim; d++)
            if (!isfinite(items[i * item_stride + d]))
                return dmmp_fail(DMMP_ENUMERIC, "topk corpus: item %lld, dimension %d is %g, expected a finite value",
                                 (long long)i, d, (double)items[i * item_stride + d]);
    int64_t n_blocks = (n_items + TOPK_BLOCK_ITEMS - 1) / TOPK_BLOCK_ITEMS;
    float *packed;
    DMMP_TRY(mem_alloc_f32(&packed, n_blocks * TOPK_BLOCK_ITEMS * dim, "packed item corpus"));
    for (int64_t i = 0; i < n_items; i++) {
        float *blk = packed + (i / TOPK_BLOCK_ITEMS) * TOPK_BLOCK_ITEMS * dim + i % TOPK_BLOCK_ITEMS;
        for (int d = 0; d < dim; d++) blk[(int64_t)d * TOPK_BLOCK_ITEMS] = items[i * item_stride + d];
    }
    *c = (topk_corpus){n_items, dim, n_blocks, packed};
    return DMMP_OK;
}

void topk_corpus_free(topk_corpus *c)
{
    mem_free(c->packed);
    memset(c, 0, sizeof *c);
}

/* 1 when (sa, ia) ranks strictly before (sb, ib): higher score, then smaller
 * id; an empty slot (id < 0) ranks after everything. */
static int ranks_before(float sa, int32_t ia, float sb, int32_t ib)
{
    if (ia < 0) return 0;
    if (ib < 0) return 1;
    return sa > sb || (sa == sb && ia < ib);
}

/* Restores the heap (root = the worst entry) below position i of n. */
static void sift_down(float *s, int32_t *id, int n, int i)
{
    float s0 = s[i];
    int32_t id0 = id[i];
    for (;;) {
        int child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && ranks_before(s[child], id[child], s[child + 1], id[child + 1])) child++;
        if (!ranks_before(s0, id0, s[child], id[child])) break;
        s[i] = s[child];
        id[i] = id[child];
        i = child;
    }
    s[i] = s0;
    id[i] = id0;
}

/* Turns a heap into a list sorted best first. */
static void heap_to_sorted(float *s, int32_t *id, int n)
{
    for (int end = n - 1; end > 0; end--) {
        float ts = s[0];
        int32_t ti = id[0];
        s[0] = s[end];
        id[0] = id[end];
        s[end] = ts;
        id[end] = ti;
        sift_down(s, id, end, 0);
    }
}

static dmmp_status check_queries(const topk_corpus *c, const float *queries, int64_t n_queries, int64_t query_stride,
                                 int k, const int32_t *ids, const float *scores)
{
    if (!c || (c->n_items > 0 && !c->packed)) return dmmp_fail(DMMP_EINVAL, "topk search: corpus is not packed");
    if (k < 1) return dmmp_fail(DMMP_EINVAL, "topk search: k = %d, expected >= 1", k);
    if (n_queries < 0) return dmmp_fail(DMMP_EINVAL, "topk search: %lld queries", (long long)n_queries);
    if (query_stride < c->dim)
        return dmmp_fail(DMMP_EINVAL, "topk search: query stride %lld is below dim %d", (long long)query_stride,
                         c->dim);
    if (n_queries > 0 && (!queries || !ids || !scores))
        return dmmp_fail(DMMP_EINVAL, "topk search: queries, ids or scores is NULL");
    for (int64_t q = 0; q < n_queries; q++)
        for (int d = 0; d < c->dim; d++)
            if (!isfinite(queries[q * query_stride + d]))
                return dmmp_fail(DMMP_ENUMERIC, "topk search: query %lld, dimension %d is %g, expected a finite value",
                                 (long long)q, d, (double)queries[q * query_stride + d]);
    return DMMP_OK;
}

/* Searches queries [q_begin, q_end) over the whole corpus: runs of blocks
 * outer (each stays in L1), query blocks inner. */
static void search_range(const topk_kernels *kern, const topk_corpus *c, const float *queries, int64_t query_stride,
                         int64_t q_begin, int64_t q_end, int k, int call_blocks, int32_t *ids, float *scores)
{
    topk_hit hits[TOPK_MAX_QUERIES * CALL_MAX_BLOCKS * TOPK_BLOCK_ITEMS];
    float thr[TOPK_MAX_QUERIES];
    const int64_t call_items = (int64_t)call_blocks * TOPK_BLOCK_ITEMS;
    const int call_queries = kern->call_queries;
    for (int64_t item0 = 0; item0 < c->n_items; item0 += call_items) {
        int n_items = (int)(c->n_items - item0 < call_items ? c->n_items - item0 : call_items);
        const float *blocks = c->packed + item0 * c->dim;
        for (int64_t q0 = q_begin; q0 < q_end; q0 += call_queries) {
            int nq = (int)(q_end - q0 < call_queries ? q_end - q0 : call_queries);
            /* The heap root is the query's K-th best so far: only scores that
             * reach it can enter (ties are settled by id in ranks_before). */
            for (int i = 0; i < nq; i++) thr[i] = scores[(q0 + i) * k];
            int n_hits = kern->score_filter(queries + q0 * query_stride, query_stride, nq, blocks, n_items, c->dim,
                                            thr, hits);
            for (int h = 0; h < n_hits; h++) {
                float *s = scores + (q0 + hits[h].query) * k;
                int32_t *id = ids + (q0 + hits[h].query) * k;
                int32_t item = (int32_t)(item0 + hits[h].item);
                if (!ranks_before(hits[h].score, item, s[0], id[0])) continue;
                s[0] = hits[h].score;
                id[0] = item;
                sift_down(s, id, k, 0);
            }
        }
    }
    for (int64_t q = q_begin; q < q_end; q++) heap_to_sorted(scores + q * k, ids + q * k, k);
}

dmmp_status topk_search(const topk_corpus *c, const float *queries, int64_t n_queries, int64_t query_stride, int k,
                        int32_t *ids, float *scores)
{
    DMMP_TRY(check_queries(c, queries, n_queries, query_stride, k, ids, scores));
    /* Every heap starts full of empty slots, which rank after any item. */
    for (int64_t i = 0; i < n_queries * k; i++) {
        ids[i] = -1;
        scores[i] = -INFINITY;
    }
    if (n_queries == 0 || c->n_items == 0) return DMMP_OK;
    const topk_kernels *kern = topk_kernels_get();
    int call_blocks = CALL_BYTES / (TOPK_BLOCK_ITEMS * (int)sizeof(float) * c->dim);
    if (call_blocks > CALL_MAX_BLOCKS) call_blocks = CALL_MAX_BLOCKS;
    if (call_blocks >= 3) call_blocks -= call_blocks % 3; /* whole 3-block register tiles */
    if (call_blocks < 1) call_blocks = 1;
    const int64_t qb = kern->call_queries;
    int64_t n_qblocks = (n_queries + qb - 1) / qb;
    int threads = omp_get_max_threads();
    if (threads > n_qblocks) threads = (int)n_qblocks;
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t b0 = n_qblocks * t / nt, b1 = n_qblocks * (t + 1) / nt;
        int64_t q_begin = b0 * qb, q_end = b1 * qb;
        if (q_end > n_queries) q_end = n_queries;
        if (q_begin < q_end)
            search_range(kern, c, queries, query_stride, q_begin, q_end, k, call_blocks, ids, scores);
    }
    return DMMP_OK;
}
