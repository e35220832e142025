/* Retrieval metrics of one user's top-K list, and their average over users.
 *
 * A top-K list holds item ids best first; a negative id is an empty slot
 * (the corpus had fewer items than K) and never counts as relevant. A
 * relevant set is an ascending array of distinct item ids (the items the user
 * clicked, or purchased). "@K" looks at the first min(K, list length) slots. */
#ifndef DMMP_EVAL_RETRIEVAL_METRICS_H
#define DMMP_EVAL_RETRIEVAL_METRICS_H

#include <stdint.h>

#include "core/status.h"

/* |relevant among the first k| / n_relevant; NAN when n_relevant == 0. */
double recall_at_k(const int32_t *topk, int k, const int32_t *relevant, int64_t n_relevant);

/* DCG / ideal DCG with binary gain and 1/log2(rank + 1) discount (rank from
 * 1), the ideal DCG taken over min(k, n_relevant) hits; NAN when
 * n_relevant == 0. */
double ndcg_at_k(const int32_t *topk, int k, const int32_t *relevant, int64_t n_relevant);

/* 1 when any of the first k is relevant, else 0; NAN when n_relevant == 0. */
double hit_rate_at_k(const int32_t *topk, int k, const int32_t *relevant, int64_t n_relevant);

/* Share of click baits (is_bait[item] != 0, n_items entries) among the
 * filled slots of the first k; 0 when no slot is filled. Ids >= n_items are
 * not baits. */
double clickbait_at_k(const int32_t *topk, int k, const uint8_t *is_bait, int64_t n_items);

/* Sum of p_ctcvr[r] (the true pCTR * pCVR of this user and the item at rank
 * r) over the filled slots of the first k. */
double expected_conversions_at_k(const int32_t *topk, int k, const float *p_ctcvr);

/* The averaged metrics. Click and purchase metrics average over users whose
 * clicked / purchased set is non-empty; clickbait and expected conversions
 * over every user added with the needed truth. */
typedef enum retrieval_metric {
    RM_RECALL_CLICK = 0,
    RM_NDCG_CLICK,
    RM_HIT_CLICK,
    RM_RECALL_BUY,
    RM_NDCG_BUY,
    RM_HIT_BUY,
    RM_CLICKBAIT,
    RM_EXPECTED_CONVERSIONS,
    RM_COUNT
} retrieval_metric;

#define RM_MAX_KS 8

typedef struct retrieval_accum {
    int n_ks;
    int ks[RM_MAX_KS];
    double sum[RM_COUNT][RM_MAX_KS];
    int64_t users[RM_COUNT]; /* users that entered each metric's mean */
} retrieval_accum;

/* Prepares an empty accumulator for cut-offs ks[0..n_ks) (each >= 1,
 * 1 <= n_ks <= RM_MAX_KS), e.g. {20, 50, 100, 200}. */
dmmp_status retrieval_accum_init(retrieval_accum *acc, const int *ks, int n_ks);

/* Adds one user: topk has list_len slots (list_len >= the largest K is
 * required); clicked / bought are relevant sets as above (n == 0 skips that
 * family for this user); is_bait (n_items entries) and p_ctcvr (list_len
 * entries, per rank) may be NULL to skip those metrics. Fails on an unsorted
 * or duplicated relevant set or a list shorter than the largest K. */
dmmp_status retrieval_accum_add(retrieval_accum *acc, const int32_t *topk, int list_len, const int32_t *clicked,
                                int64_t n_clicked, const int32_t *bought, int64_t n_bought, const uint8_t *is_bait,
                                int64_t n_items, const float *p_ctcvr);

/* Mean of metric at ks[k_index] over the users that entered it; NAN when none did. */
double retrieval_accum_mean(const retrieval_accum *acc, retrieval_metric metric, int k_index);

/* Documented metric name without "@K", e.g. "click_recall" (report and plot read these). */
const char *retrieval_metric_name(retrieval_metric metric);

#endif
