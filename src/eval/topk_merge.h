/* Merging the top-K lists of corpus shards into the top K of the whole
 * corpus (the multi-process retrieval: each rank searches its own shard).
 * With the order of topk_search (higher score first, equal scores by the
 * smaller item id) the top K of the union of the shards' top-K lists is the
 * top K of the whole corpus, so the merge gives exactly the single-process
 * result. */
#ifndef DMMP_EVAL_TOPK_MERGE_H
#define DMMP_EVAL_TOPK_MERGE_H

#include <stdint.h>

#define TOPK_MERGE_MAX_LISTS 256

/* lists: n_lists (1..TOPK_MERGE_MAX_LISTS) lists of k (id, score) each, best first, ids global (an id
 * -1 marks an empty slot, score -INFINITY). Writes the k best of all of them
 * to out_ids / out_scores, best first, empty slots last as id -1. */
void topk_merge(const int32_t *ids, const float *scores, int n_lists, int k, int32_t *out_ids, float *out_scores);

#endif
