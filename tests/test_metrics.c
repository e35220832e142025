/* Ranking metrics (AUC, GAUC, log loss) against brute force and hand
 * computation; retrieval metrics against hand-computed examples. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/rng.h"
#include "metrics/auc.h"
#include "eval/retrieval_metrics.h"
#include "suites.h"
#include "testutil.h"

/* O(n^2) pairwise count in double: a positive above a negative wins 1, a tie
 * 1/2, each pair weighted by the product of the row weights. Returns NAN when
 * a class is absent. */
static double brute_auc(const float *s, const uint8_t *y, const float *w, int64_t n)
{
    double won = 0, pos = 0, neg = 0;
    for (int64_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        if (y[i]) pos += wi;
        else neg += wi;
        if (!y[i]) continue;
        for (int64_t j = 0; j < n; j++) {
            if (y[j]) continue;
            double wj = w ? w[j] : 1.0;
            won += wi * wj * (s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0);
        }
    }
    return pos > 0 && neg > 0 ? won / (pos * neg) : NAN;
}

/* Scores from a small set of values so ties are common; includes both zeros. */
static void tied_scores(rng *r, float *s, int64_t n)
{
    static const float values[] = {-1.5f, -0.0f, 0.0f, 0.25f, 0.5f, 0.75f, 2.0f, 1e-30f};
    for (int64_t i = 0; i < n; i++) s[i] = values[rng_below(r, sizeof values / sizeof values[0])];
}

static void test_auc_hand_cases(void)
{
    const float s1[] = {0.1f, 0.4f, 0.35f, 0.8f};
    const uint8_t y1[] = {0, 0, 1, 1};
    double auc = 0;
    CU_ASSERT_EQUAL_FATAL(auc_exact(s1, y1, NULL, 4, &auc), DMMP_OK);
    /* Pairs (pos, neg): 0.35>0.1, 0.35<0.4, 0.8>0.1, 0.8>0.4 -> 3/4. */
    TU_ASSERT_NEAR(auc, 0.75, 1e-15);
    const float s2[] = {1, 2, 2, 3};
    const uint8_t y2[] = {0, 1, 0, 1};
    /* 2 vs 1 win, 2 vs 2 tie, 3 vs 1 win, 3 vs 2 win -> 3.5/4. */
    CU_ASSERT_EQUAL_FATAL(auc_exact(s2, y2, NULL, 4, &auc), DMMP_OK);
    TU_ASSERT_NEAR(auc, 0.875, 1e-15);
    const float s3[] = {0.5f, 0.5f, 0.5f};
    const uint8_t y3[] = {1, 0, 1};
    CU_ASSERT_EQUAL_FATAL(auc_exact(s3, y3, NULL, 3, &auc), DMMP_OK);
    TU_ASSERT_NEAR(auc, 0.5, 1e-15);
    /* -0 and +0 are the same score: a tie. */
    const float s4[] = {-0.0f, 0.0f};
    const uint8_t y4[] = {1, 0};
    CU_ASSERT_EQUAL_FATAL(auc_exact(s4, y4, NULL, 2, &auc), DMMP_OK);
    TU_ASSERT_NEAR(auc, 0.5, 1e-15);
    /* The mask drops row 3 (score 3, positive): left 2 vs 1 win, 2 vs 2 tie -> 0.75. */
    const float m2[] = {1, 1, 1, 0};
    CU_ASSERT_EQUAL_FATAL(auc_exact(s2, y2, m2, 4, &auc), DMMP_OK);
    TU_ASSERT_NEAR(auc, 0.75, 1e-15);
}

static void test_auc_vs_brute_force(void)
{
    rng r;
    rng_stream(&r, 2024, 1);
    float *s = malloc(2000 * sizeof *s), *w = malloc(2000 * sizeof *w);
    uint8_t *y = malloc(2000);
    int checked = 0, absent = 0;
    for (int64_t n = 1; n <= 2000; n += (n < 40 ? 1 : 1 + (int64_t)rng_below(&r, 300))) {
        for (int variant = 0; variant < 3; variant++) {
            tied_scores(&r, s, n);
            double p_pos = 0.05 + 0.9 * rng_uniform(&r);
            for (int64_t i = 0; i < n; i++) {
                y[i] = rng_uniform(&r) < p_pos;
                /* variant 0: no mask; 1: 0/1 mask; 2: fractional weights with zeros. */
                w[i] = variant == 1 ? (float)(rng_below(&r, 4) != 0)
                                    : (rng_below(&r, 5) ? (float)rng_uniform(&r) * 3.0f : 0.0f);
            }
            const float *mask = variant == 0 ? NULL : w;
            double want = brute_auc(s, y, mask, n), got = -1;
            dmmp_status st = auc_exact(s, y, mask, n, &got);
            if (isnan(want)) {
                TU_ASSERT_MSG(st == DMMP_EINVAL, "n=%lld: one class absent must fail", (long long)n);
                absent++;
            } else {
                TU_ASSERT_MSG(st == DMMP_OK && fabs(got - want) <= 1e-12, "n=%lld variant %d: auc %.15f, brute %.15f",
                              (long long)n, variant, got, want);
                checked++;
            }
        }
    }
    CU_ASSERT(checked > 100);
    CU_ASSERT(absent > 0); /* n = 1 always has a class absent */
    free(s);
    free(w);
    free(y);
}

/* For integer-valued scores the AUC also follows from per-value class counts:
 * an independent O(n + V) method that scales to a million rows. */
static void test_auc_large_vs_histogram(void)
{
    enum { N = 2000000, V = 1000 };
    float *s = malloc(N * sizeof *s);
    uint8_t *y = malloc(N);
    double *pos = calloc(V, sizeof *pos), *neg = calloc(V, sizeof *neg);
    rng r;
    rng_stream(&r, 7, 2);
    for (int64_t i = 0; i < N; i++) {
        int v = (int)rng_below(&r, V);
        s[i] = (float)(v - V / 2) * 0.01f;
        y[i] = rng_uniform(&r) < 0.2 + 0.6 * v / V; /* informative scores: AUC well above 0.5 */
        if (y[i]) pos[v]++;
        else neg[v]++;
    }
    double won = 0, neg_below = 0, P = 0, Nn = 0;
    for (int v = 0; v < V; v++) {
        won += pos[v] * (neg_below + 0.5 * neg[v]);
        neg_below += neg[v];
        P += pos[v];
        Nn += neg[v];
    }
    double got = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CU_ASSERT_EQUAL(auc_exact(s, y, NULL, N, &got), DMMP_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    TU_ASSERT_NEAR(got, won / (P * Nn), 1e-12);
    printf("(2M rows: %.0f ms) ", (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) * 1e-6);
    free(s);
    free(y);
    free(pos);
    free(neg);
}

static void test_gauc_hand_case(void)
{
    /* user 0: neg 0.1, pos 0.9 -> AUC 1 over 2 rows; user 1: neg 0.8, pos 0.2,
     * neg 0.3 -> AUC 0 over 3 rows; user 2: positives only -> left out.
     * GAUC = (2 * 1 + 3 * 0) / 5 = 0.4. */
    const float s[] = {0.1f, 0.8f, 0.9f, 0.2f, 0.7f, 0.3f};
    const uint8_t y[] = {0, 0, 1, 1, 1, 0};
    const int32_t u[] = {0, 1, 0, 1, 2, 1};
    double g = 0;
    int64_t users = 0;
    CU_ASSERT_EQUAL_FATAL(gauc(s, y, u, NULL, 6, &g, &users), DMMP_OK);
    TU_ASSERT_NEAR(g, 0.4, 1e-15);
    CU_ASSERT_EQUAL(users, 2);
}

static void test_gauc_vs_brute_force(void)
{
    enum { N = 3000, USERS = 40 };
    float s[N], w[N], su[N], wu[N];
    uint8_t y[N], yu[N];
    int32_t u[N];
    rng r;
    rng_stream(&r, 11, 3);
    for (int variant = 0; variant < 2; variant++) {
        tied_scores(&r, s, N);
        for (int i = 0; i < N; i++) {
            /* Sparse-ish user ids (0, 137, 274, ...) up past 2^11 to exercise two radix passes. */
            u[i] = (int32_t)rng_below(&r, USERS) * 137;
            y[i] = rng_uniform(&r) < 0.3;
            w[i] = rng_below(&r, 3) ? 1.0f : 0.0f;
        }
        const float *mask = variant ? w : NULL;
        double num = 0, den = 0;
        int64_t want_users = 0;
        for (int user = 0; user < USERS; user++) {
            int m = 0;
            for (int i = 0; i < N; i++)
                if (u[i] == user * 137 && (!mask || mask[i] != 0)) {
                    su[m] = s[i];
                    yu[m] = y[i];
                    wu[m] = mask ? mask[i] : 1.0f;
                    m++;
                }
            double a = brute_auc(su, yu, wu, m);
            if (isnan(a)) continue;
            num += m * a;
            den += m;
            want_users++;
        }
        double g = 0;
        int64_t users = 0;
        CU_ASSERT_EQUAL_FATAL(gauc(s, y, u, mask, N, &g, &users), DMMP_OK);
        TU_ASSERT_NEAR(g, num / den, 1e-12);
        CU_ASSERT_EQUAL(users, want_users);
    }
}

static void test_class_absent_and_bad_input(void)
{
    const float s[] = {0.1f, 0.2f, 0.3f};
    const uint8_t all_pos[] = {1, 1, 1}, mixed[] = {1, 0, 1}, bad[] = {1, 2, 0};
    const float drop_neg[] = {1, 0, 1};
    double a = 0;
    CU_ASSERT_EQUAL(auc_exact(s, all_pos, NULL, 3, &a), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "negative class is absent"));
    CU_ASSERT_EQUAL(auc_exact(s, mixed, drop_neg, 3, &a), DMMP_EINVAL);
    CU_ASSERT_EQUAL(auc_exact(s, mixed, NULL, 0, &a), DMMP_EINVAL);
    CU_ASSERT_EQUAL(auc_exact(s, bad, NULL, 3, &a), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "row 1"));
    const float with_nan[] = {0.1f, NAN, 0.3f};
    CU_ASSERT_EQUAL(auc_exact(with_nan, mixed, NULL, 3, &a), DMMP_ENUMERIC);
    const float neg_weight[] = {1, -1, 1};
    CU_ASSERT_EQUAL(auc_exact(s, mixed, neg_weight, 3, &a), DMMP_EINVAL);
    /* Every user has one class only. */
    const int32_t u[] = {0, 1, 0};
    int64_t users = -1;
    CU_ASSERT_EQUAL(gauc(s, mixed, u, NULL, 3, &a, &users), DMMP_EINVAL);
    CU_ASSERT_EQUAL(users, 0);
    const int32_t neg_user[] = {0, -4, 0};
    CU_ASSERT_EQUAL(gauc(s, mixed, neg_user, NULL, 3, &a, NULL), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "row 1"));
}

static void test_logloss(void)
{
    const float p[] = {0.5f, 0.0f, 1.0f, 0.9f};
    const uint8_t y[] = {1, 1, 0, 0};
    double l = 0;
    CU_ASSERT_EQUAL_FATAL(logloss(p, y, NULL, 1, &l), DMMP_OK);
    TU_ASSERT_NEAR(l, log(2.0), 1e-12);
    /* p = 0 with y = 1 and p = 1 with y = 0 are clamped to -log(1e-7) each. */
    CU_ASSERT_EQUAL_FATAL(logloss(p + 1, y + 1, NULL, 2, &l), DMMP_OK);
    TU_ASSERT_NEAR(l, -log(1e-7), 1e-6);
    /* Weights 2, 0, 0, 1: (2 log 2 + (-log 0.1)) / 3. */
    const float w[] = {2, 0, 0, 1};
    CU_ASSERT_EQUAL_FATAL(logloss(p, y, w, 4, &l), DMMP_OK);
    TU_ASSERT_NEAR(l, (2 * log(2.0) - log(1.0 - (double)0.9f)) / 3, 1e-12);
    const float zero[] = {0, 0, 0, 0};
    CU_ASSERT_EQUAL(logloss(p, y, zero, 4, &l), DMMP_EINVAL);
}

static void test_retrieval_single_user(void)
{
    const int32_t topk[] = {5, 3, 9, 1, 7};
    const int32_t clicked[] = {1, 2, 9};
    TU_ASSERT_NEAR(recall_at_k(topk, 3, clicked, 3), 1.0 / 3, 1e-15);
    TU_ASSERT_NEAR(recall_at_k(topk, 5, clicked, 3), 2.0 / 3, 1e-15);
    /* DCG@3 = 1/log2(4) = 0.5; ideal over 3 hits = 1 + 1/log2(3) + 0.5. */
    double ideal3 = 1.0 + 1.0 / log2(3.0) + 0.5;
    TU_ASSERT_NEAR(ndcg_at_k(topk, 3, clicked, 3), 0.5 / ideal3, 1e-15);
    TU_ASSERT_NEAR(ndcg_at_k(topk, 3, clicked, 3), 0.234639, 1e-6);
    /* DCG@5 = 0.5 + 1/log2(5); the ideal still has only 3 hits. */
    TU_ASSERT_NEAR(ndcg_at_k(topk, 5, clicked, 3), (0.5 + 1.0 / log2(5.0)) / ideal3, 1e-15);
    /* K = 1 < |relevant| = 2, hit at rank 1: ideal over min(K, |R|) = 1 -> NDCG 1. */
    const int32_t two[] = {5, 9};
    TU_ASSERT_NEAR(ndcg_at_k(topk, 1, two, 2), 1.0, 1e-15);
    TU_ASSERT_NEAR(hit_rate_at_k(topk, 2, clicked, 3), 0.0, 0);
    TU_ASSERT_NEAR(hit_rate_at_k(topk, 3, clicked, 3), 1.0, 0);
    CU_ASSERT(isnan(recall_at_k(topk, 3, clicked, 0)));
    const uint8_t bait[10] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0};
    TU_ASSERT_NEAR(clickbait_at_k(topk, 2, bait, 10), 0.5, 1e-15);
    TU_ASSERT_NEAR(clickbait_at_k(topk, 5, bait, 10), 0.4, 1e-15);
    const int32_t short_list[] = {3, -1, -1};
    TU_ASSERT_NEAR(clickbait_at_k(short_list, 3, bait, 10), 1.0, 1e-15);
    TU_ASSERT_NEAR(recall_at_k(short_list, 3, two, 2), 0.0, 0);
    const float p[] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f};
    TU_ASSERT_NEAR(expected_conversions_at_k(topk, 3, p), 0.6, 1e-7);
    TU_ASSERT_NEAR(expected_conversions_at_k(topk, 5, p), 1.5, 1e-7);
}

static void test_retrieval_accumulator(void)
{
    const int ks[] = {1, 3};
    retrieval_accum acc;
    CU_ASSERT_EQUAL_FATAL(retrieval_accum_init(&acc, ks, 2), DMMP_OK);
    const uint8_t bait[10] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0};
    /* User A: list {5, 3, 9}, clicked {3, 9}, bought {9}. */
    const int32_t la[] = {5, 3, 9}, ca[] = {3, 9}, ba[] = {9};
    const float pa[] = {0.1f, 0.2f, 0.4f};
    CU_ASSERT_EQUAL(retrieval_accum_add(&acc, la, 3, ca, 2, ba, 1, bait, 10, pa), DMMP_OK);
    /* User B: list {7, 1, 2}, clicked {7}, no purchase. */
    const int32_t lb[] = {7, 1, 2}, cb[] = {7};
    const float pb[] = {0.05f, 0.0f, 0.0f};
    CU_ASSERT_EQUAL(retrieval_accum_add(&acc, lb, 3, cb, 1, NULL, 0, bait, 10, pb), DMMP_OK);
    /* Recall_click@1: A 0/2, B 1/1 -> 0.5; @3: A 2/2, B 1 -> 1. */
    TU_ASSERT_NEAR(retrieval_accum_mean(&acc, RM_RECALL_CLICK, 0), 0.5, 1e-15);
    TU_ASSERT_NEAR(retrieval_accum_mean(&acc, RM_RECALL_CLICK, 1), 1.0, 1e-15);
    /* NDCG_click@3: A (1/log2 3 + 1/2) / (1 + 1/log2 3), B 1. */
    double ndcg_a = (1.0 / log2(3.0) + 0.5) / (1.0 + 1.0 / log2(3.0));
    TU_ASSERT_NEAR(retrieval_accum_mean(&acc, RM_NDCG_CLICK, 1), (ndcg_a + 1.0) / 2, 1e-15);
    TU_ASSERT_NEAR(retrieval_accum_mean(&acc, RM_HIT_CLICK, 0), 0.5, 1e-15);
    /* Purchases: only A counts. Recall_buy@1 = 0, @3 = 1; NDCG_buy@3 = 1/log2(4) / 1. */
    TU_ASSERT_NEAR(retrieval_accum_mean(&acc, RM_RECALL_BUY, 0), 0.0, 0);
    TU_ASSERT_NEAR(retrieval_accum_mean(&acc, RM_RECALL_BUY, 1), 1.0, 1e-15);
    TU_ASSERT_NEAR(retrieval_accum_mean(&acc, RM_NDCG_BUY, 1), 0.5, 1e-15);
    CU_ASSERT_EQUAL(acc.users[RM_RECALL_BUY], 1);
    /* ClickBait@1: A item 5 no, B item 7 bait -> 0.5; @3: A 1/3, B 1/3. */
    TU_ASSERT_NEAR(retrieval_accum_mean(&acc, RM_CLICKBAIT, 0), 0.5, 1e-15);
    TU_ASSERT_NEAR(retrieval_accum_mean(&acc, RM_CLICKBAIT, 1), 1.0 / 3, 1e-15);
    /* Expected conversions@3: A 0.7, B 0.05 -> 0.375. */
    TU_ASSERT_NEAR(retrieval_accum_mean(&acc, RM_EXPECTED_CONVERSIONS, 1), 0.375, 1e-7);
    CU_ASSERT_STRING_EQUAL(retrieval_metric_name(RM_NDCG_BUY), "purchase_ndcg");
    CU_ASSERT_STRING_EQUAL(retrieval_metric_name(RM_HIT_CLICK), "hitrate");
    /* Bad input: unsorted relevant set, list shorter than the largest K, bad K. */
    const int32_t unsorted[] = {9, 3};
    CU_ASSERT_EQUAL(retrieval_accum_add(&acc, la, 3, unsorted, 2, NULL, 0, NULL, 0, NULL), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "ascending"));
    CU_ASSERT_EQUAL(retrieval_accum_add(&acc, la, 2, ca, 2, NULL, 0, NULL, 0, NULL), DMMP_EINVAL);
    const int bad_ks[] = {20, 0};
    CU_ASSERT_EQUAL(retrieval_accum_init(&acc, bad_ks, 2), DMMP_EINVAL);
}

int register_metrics_suites(void)
{
    static const char *const auc_names[] = {
        "AUC hand-computed cases", "AUC vs O(n^2) brute force with ties, n = 1..2000",
        "AUC of 2M rows vs per-value counts", "GAUC hand-computed case", "GAUC vs per-user brute force",
        "class absent and bad input", "logloss hand-computed and clamped",
    };
    static const CU_TestFunc auc_fns[] = {
        test_auc_hand_cases, test_auc_vs_brute_force, test_auc_large_vs_histogram, test_gauc_hand_case,
        test_gauc_vs_brute_force, test_class_absent_and_bad_input, test_logloss,
    };
    static const char *const ret_names[] = {"metrics of one user by hand", "accumulator over two users by hand"};
    static const CU_TestFunc ret_fns[] = {test_retrieval_single_user, test_retrieval_accumulator};
    if (tu_add_suite("eval_auc", auc_names, auc_fns, sizeof auc_fns / sizeof auc_fns[0])) return -1;
    return tu_add_suite("eval_retrieval", ret_names, ret_fns, sizeof ret_fns / sizeof ret_fns[0]);
}
