/* Retrieval metrics; relevant sets are sorted so membership is a binary search. */
#include "eval/retrieval_metrics.h"

#include <math.h>

static int is_relevant(int32_t item, const int32_t *relevant, int64_t n)
{
    if (item < 0) return 0;
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (relevant[mid] < item) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && relevant[lo] == item;
}

static int64_t hits_at_k(const int32_t *topk, int k, const int32_t *relevant, int64_t n_relevant)
{
    int64_t hits = 0;
    for (int r = 0; r < k; r++) hits += is_relevant(topk[r], relevant, n_relevant);
    return hits;
}

double recall_at_k(const int32_t *topk, int k, const int32_t *relevant, int64_t n_relevant)
{
    if (n_relevant <= 0) return NAN;
    return (double)hits_at_k(topk, k, relevant, n_relevant) / (double)n_relevant;
}

double ndcg_at_k(const int32_t *topk, int k, const int32_t *relevant, int64_t n_relevant)
{
    if (n_relevant <= 0) return NAN;
    double dcg = 0, ideal = 0;
    for (int r = 0; r < k; r++) {
        double discount = 1.0 / log2((double)r + 2.0);
        if (is_relevant(topk[r], relevant, n_relevant)) dcg += discount;
        if (r < n_relevant) ideal += discount;
    }
    return ideal > 0 ? dcg / ideal : 0.0;
}

double hit_rate_at_k(const int32_t *topk, int k, const int32_t *relevant, int64_t n_relevant)
{
    if (n_relevant <= 0) return NAN;
    return hits_at_k(topk, k, relevant, n_relevant) > 0 ? 1.0 : 0.0;
}

double clickbait_at_k(const int32_t *topk, int k, const uint8_t *is_bait, int64_t n_items)
{
    int filled = 0, baits = 0;
    for (int r = 0; r < k; r++) {
        if (topk[r] < 0) continue;
        filled++;
        baits += topk[r] < n_items && is_bait[topk[r]] != 0;
    }
    return filled ? (double)baits / filled : 0.0;
}

double expected_conversions_at_k(const int32_t *topk, int k, const float *p_ctcvr)
{
    double sum = 0;
    for (int r = 0; r < k; r++)
        if (topk[r] >= 0) sum += p_ctcvr[r];
    return sum;
}

dmmp_status retrieval_accum_init(retrieval_accum *acc, const int *ks, int n_ks)
{
    if (n_ks < 1 || n_ks > RM_MAX_KS)
        return dmmp_fail(DMMP_EINVAL, "retrieval metrics: %d cut-offs K given, expected 1..%d", n_ks, RM_MAX_KS);
    *acc = (retrieval_accum){0};
    for (int i = 0; i < n_ks; i++) {
        if (ks[i] < 1) return dmmp_fail(DMMP_EINVAL, "retrieval metrics: cut-off K[%d] = %d, expected >= 1", i, ks[i]);
        acc->ks[i] = ks[i];
    }
    acc->n_ks = n_ks;
    return DMMP_OK;
}

static dmmp_status check_relevant(const char *what, const int32_t *set, int64_t n)
{
    for (int64_t i = 1; i < n; i++)
        if (set[i] <= set[i - 1])
            return dmmp_fail(DMMP_EINVAL,
                             "retrieval metrics: %s items must be ascending and distinct (entry %lld = %d after %d)",
                             what, (long long)i, (int)set[i], (int)set[i - 1]);
    return DMMP_OK;
}

dmmp_status retrieval_accum_add(retrieval_accum *acc, const int32_t *topk, int list_len, const int32_t *clicked,
                                int64_t n_clicked, const int32_t *bought, int64_t n_bought, const uint8_t *is_bait,
                                int64_t n_items, const float *p_ctcvr)
{
    for (int i = 0; i < acc->n_ks; i++)
        if (acc->ks[i] > list_len)
            return dmmp_fail(DMMP_EINVAL, "retrieval metrics: top-K list has %d slots, K = %d needs that many",
                             list_len, acc->ks[i]);
    DMMP_TRY(check_relevant("clicked", clicked, n_clicked));
    DMMP_TRY(check_relevant("purchased", bought, n_bought));
    for (int i = 0; i < acc->n_ks; i++) {
        int k = acc->ks[i];
        if (n_clicked > 0) {
            acc->sum[RM_RECALL_CLICK][i] += recall_at_k(topk, k, clicked, n_clicked);
            acc->sum[RM_NDCG_CLICK][i] += ndcg_at_k(topk, k, clicked, n_clicked);
            acc->sum[RM_HIT_CLICK][i] += hit_rate_at_k(topk, k, clicked, n_clicked);
        }
        if (n_bought > 0) {
            acc->sum[RM_RECALL_BUY][i] += recall_at_k(topk, k, bought, n_bought);
            acc->sum[RM_NDCG_BUY][i] += ndcg_at_k(topk, k, bought, n_bought);
            acc->sum[RM_HIT_BUY][i] += hit_rate_at_k(topk, k, bought, n_bought);
        }
        if (is_bait) acc->sum[RM_CLICKBAIT][i] += clickbait_at_k(topk, k, is_bait, n_items);
        if (p_ctcvr) acc->sum[RM_EXPECTED_CONVERSIONS][i] += expected_conversions_at_k(topk, k, p_ctcvr);
    }
    for (int m = RM_RECALL_CLICK; m <= RM_HIT_CLICK && n_clicked > 0; m++) acc->users[m]++;
    for (int m = RM_RECALL_BUY; m <= RM_HIT_BUY && n_bought > 0; m++) acc->users[m]++;
    if (is_bait) acc->users[RM_CLICKBAIT]++;
    if (p_ctcvr) acc->users[RM_EXPECTED_CONVERSIONS]++;
    return DMMP_OK;
}

double retrieval_accum_mean(const retrieval_accum *acc, retrieval_metric metric, int k_index)
{
    if (metric < 0 || metric >= RM_COUNT || k_index < 0 || k_index >= acc->n_ks || acc->users[metric] == 0) return NAN;
    return acc->sum[metric][k_index] / (double)acc->users[metric];
}

const char *retrieval_metric_name(retrieval_metric metric)
{
    static const char *const names[RM_COUNT] = {
        "click_recall",    "click_ndcg",    "hitrate",   "purchase_recall",
        "purchase_ndcg",   "purchase_hitrate", "clickbait", "exp_conversions",
    };
    return metric >= 0 && metric < RM_COUNT ? names[metric] : "unknown";
}
