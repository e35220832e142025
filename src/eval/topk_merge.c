/* A k-way merge of sorted lists: n_lists is the number of ranks (small). */
#include "eval/topk_merge.h"

#include <math.h>

/* 1 when (sa, ia) ranks before (sb, ib): higher score, then smaller id. */
static int before(float sa, int32_t ia, float sb, int32_t ib)
{
    if (ia < 0) return 0;
    if (ib < 0) return 1;
    return sa > sb || (sa == sb && ia < ib);
}

void topk_merge(const int32_t *ids, const float *scores, int n_lists, int k, int32_t *out_ids, float *out_scores)
{
    int pos[TOPK_MERGE_MAX_LISTS];
    for (int l = 0; l < n_lists && l < TOPK_MERGE_MAX_LISTS; l++) pos[l] = 0;
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int l = 0; l < n_lists && l < TOPK_MERGE_MAX_LISTS; l++) {
            if (pos[l] >= k) continue;
            int at = l * k + pos[l];
            if (ids[at] < 0) continue;
            if (best < 0 || before(scores[at], ids[at], scores[best * k + pos[best]], ids[best * k + pos[best]]))
                best = l;
        }
        if (best < 0) {
            out_ids[j] = -1;
            out_scores[j] = -INFINITY;
            continue;
        }
        out_ids[j] = ids[best * k + pos[best]];
        out_scores[j] = scores[best * k + pos[best]];
        pos[best]++;
    }
}
