/* Exact top-K maximum inner-product search over an item corpus.
 *
 * The corpus is packed once into blocks of 16 items stored dim-major (see
 * simd/topk.h); a search scores queries against it one L1-sized run of
 * blocks at a time and keeps per query a heap of its K best (score, item)
 * pairs, so the query x corpus score matrix is never materialised. Results
 * are best first, ties broken by the smaller item id, and identical (ids and
 * float scores, bit for bit) under every ISA to the scalar reference
 * s = fmaf(q[d-1], x[d-1], ... fmaf(q[1], x[1], q[0] * x[0])). */
#ifndef DMMP_EVAL_TOPK_SEARCH_H
#define DMMP_EVAL_TOPK_SEARCH_H

#include <stdint.h>

#include "core/status.h"

typedef struct topk_corpus {
    int64_t n_items;
    int dim;
    int64_t n_blocks; /* ceil(n_items / 16) */
    float *packed;    /* n_blocks * 16 * dim floats, padding items zero */
} topk_corpus;

/* Packs n_items (0 <= n_items <= INT32_MAX) item vectors of dim floats
 * (item i at items + i * item_stride, item_stride >= dim) into c. Fails on a
 * non-finite value (naming item and dimension) or bad sizes. */
dmmp_status topk_corpus_pack(topk_corpus *c, const float *items, int64_t n_items, int dim, int64_t item_stride);

/* Frees the packed corpus (a zeroed or already freed corpus is fine). */
void topk_corpus_free(topk_corpus *c);

/* For each of n_queries queries (query q at queries + q * query_stride,
 * query_stride >= c->dim, finite values) writes its k best items to
 * ids[q * k .. q * k + k) and their scores to scores[...] (both required),
 * best first; when k exceeds the corpus the extra slots get id -1 and score
 * -INFINITY. Items whose score is NaN (only possible when products
 * overflow) are never returned. Runs on the OpenMP threads, parallel over
 * queries, with the active ISA's kernels. */
dmmp_status topk_search(const topk_corpus *c, const float *queries, int64_t n_queries, int64_t query_stride, int k,
                        int32_t *ids, float *scores);

#endif
