/* eval_retrieval_intent: on the world with purchase intent, the gate
 * diagnostics, the per-intent-quartile metrics, personal_utility@K and the
 * mean-gate metrics of a trained dmmp equal a brute-force computation: every
 * test user with a click is queried through a one-row batch, the gate is
 * recomputed from its weights by plain loops, every item scored and the
 * corpus sorted, quartiles, ranks and quantiles found by counting, and the
 * maxima of personal_utility@K by sorting every item's value. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/retrieval_eval.h"
#include "nn/mlp.h"
#include "retrieval_hand.h"
#include "testutil.h"

/* w = softmax(G(x)) with G's layers applied by plain loops (ReLU between). */
static void hand_gate(const mlp *g, const float *x, double w[2])
{
    double a[256], b[256];
    for (int j = 0; j < g->in; j++) a[j] = x[j];
    int width = g->in;
    for (int l = 0; l < g->n_layers; l++) {
        const dense_layer *d = &g->layers[l];
        for (int o = 0; o < d->out; o++) {
            double z = d->b[o];
            for (int i = 0; i < d->in; i++) z += a[i] * (double)d->W[(size_t)i * d->out + o];
            b[o] = l + 1 < g->n_layers && z < 0 ? 0 : z;
        }
        width = d->out;
        memcpy(a, b, (size_t)width * sizeof *a);
    }
    double m = a[0] > a[1] ? a[0] : a[1];
    double e0 = exp(a[0] - m), e1 = exp(a[1] - m);
    w[0] = e0 / (e0 + e1);
    w[1] = e1 / (e0 + e1);
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

static double sum_top(const double *x, int n, int k, double *tmp)
{
    memcpy(tmp, x, (size_t)n * sizeof *tmp);
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_desc);
    double s = 0;
    for (int i = 0; i < k && i < n; i++) s += tmp[i];
    return s;
}

/* personal_utility@KS[k] of user ranked by scores, from its definition. */
static void hand_utility(const hand_tables *h, int user, const float *scores, double out[3])
{
    ranked r[N_ITEMS];
    double c[N_ITEMS], e[N_ITEMS], v[N_ITEMS], tmp[N_ITEMS];
    for (int i = 0; i < N_ITEMS; i++) {
        r[i] = (ranked){scores[i], i};
        float pc = (float)synth_world_p_click(&h->truth, user, i, h->truth.default_position, h->truth.default_scenario);
        float pv = (float)synth_world_p_conv(&h->truth, user, i);
        c[i] = pc;
        e[i] = (double)pc * (double)pv;
    }
    qsort(r, N_ITEMS, sizeof r[0], by_score);
    double share = 1.0 / (1.0 + exp(-(double)h->truth.user_intent[user]));
    for (int k = 0; k < 3; k++) {
        double C = sum_top(c, N_ITEMS, KS[k], tmp), P = sum_top(e, N_ITEMS, KS[k], tmp);
        for (int i = 0; i < N_ITEMS; i++) v[i] = (1 - share) * c[i] / C + share * e[i] / P;
        double best = sum_top(v, N_ITEMS, KS[k], tmp), got = 0;
        for (int p = 0; p < KS[k] && p < N_ITEMS; p++) got += v[r[p].item];
        out[k] = got / best;
    }
}

/* Spearman by counting: rank_i = 1 + #{x_j < x_i} + (#{x_j == x_i} - 1) / 2. */
static double hand_spearman(const double *x, const double *y, int n)
{
    double *rx = malloc((size_t)n * sizeof *rx), *ry = malloc((size_t)n * sizeof *ry);
    for (int i = 0; i < n; i++) {
        double lx = 0, ex = 0, ly = 0, ey = 0;
        for (int j = 0; j < n; j++) {
            lx += x[j] < x[i], ex += x[j] == x[i];
            ly += y[j] < y[i], ey += y[j] == y[i];
        }
        rx[i] = 1 + lx + (ex - 1) / 2;
        ry[i] = 1 + ly + (ey - 1) / 2;
    }
    double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < n; i++) mx += rx[i] / n, my += ry[i] / n;
    for (int i = 0; i < n; i++) {
        sxy += (rx[i] - mx) * (ry[i] - my);
        sxx += (rx[i] - mx) * (rx[i] - mx);
        syy += (ry[i] - my) * (ry[i] - my);
    }
    free(rx);
    free(ry);
    return sxy / sqrt(sxx * syy);
}

/* The q-quantile by linear interpolation, the order statistics by counting. */
static double hand_quantile(const double *x, int n, double q)
{
    double h = (n - 1) * q;
    int lo = (int)floor(h);
    double s[2];
    for (int want = 0; want < 2; want++) {
        int rank = lo + want < n ? lo + want : n - 1;
        for (int i = 0; i < n; i++) {
            int below = 0, equal_before = 0;
            for (int j = 0; j < n; j++) {
                below += x[j] < x[i];
                equal_before += x[j] == x[i] && j < i;
            }
            if (below + equal_before == rank) s[want] = x[i];
        }
    }
    return s[0] + (h - lo) * (s[1] - s[0]);
}

/* The metrics of one set (suffix) against its hand sums. */
static void compare_set(const hand_metrics *hm, const double util[3], const char *suffix, const eval_metrics *got)
{
    char name[96];
    double u = (double)hm->users;
    for (int k = 0; k < 3; k++) {
        snprintf(name, sizeof name, "click_recall@%d%s", KS[k], suffix);
        TU_ASSERT_NEAR(eval_metric_value(got, name), hm->recall_c[k] / u, 1e-9);
        if (hm->buyers > 0) {
            snprintf(name, sizeof name, "purchase_recall@%d%s", KS[k], suffix);
            TU_ASSERT_NEAR(eval_metric_value(got, name), hm->recall_b[k] / (double)hm->buyers, 1e-9);
        }
        snprintf(name, sizeof name, "clickbait@%d%s", KS[k], suffix);
        TU_ASSERT_NEAR(eval_metric_value(got, name), hm->bait[k] / u, 1e-9);
        snprintf(name, sizeof name, "exp_conversions@%d%s", KS[k], suffix);
        TU_ASSERT_NEAR(eval_metric_value(got, name), hm->conv[k] / u, 1e-6);
        snprintf(name, sizeof name, "personal_utility@%d%s", KS[k], suffix);
        TU_ASSERT_NEAR(eval_metric_value(got, name), util[k] / u, 1e-9);
    }
}

static void test_dmmp_intent_brute_force(void)
{
    world w;
    trained t;
    hand_tables h;
    if (!world_open_spread(&w, 1.0)) return;
    if (!eval_train(&t, w.d, CONFIG_MODEL_DMMP) || !tables_open(&h, w.d)) {
        world_close(&w);
        return;
    }
    CU_ASSERT_FATAL(h.truth.has_intent && t.m.learned_gate && !t.cfg.student.l2norm);
    eval_metrics got;
    eval_metrics_init(&got);
    dmmp_status s = eval_retrieval(&t.m, &t.f, w.d, SPLIT_TEST, &t.cfg.eval, &got);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    int dim = model_retrieval_dim(&t.m), k = t.m.k;
    float *items = malloc(sizeof(float) * N_ITEMS * (size_t)dim), *q = malloc(sizeof(float) * (size_t)dim);
    float *uvec = malloc(sizeof(float) * N_USERS * (size_t)k), scores[N_ITEMS];
    batch one;
    CU_ASSERT_EQUAL_FATAL(batch_alloc(w.d, &one, 1), DMMP_OK);
    for (int i = 0; i < N_ITEMS; i++) {
        fill_row(&h, &one, -1, i);
        CU_ASSERT_EQUAL_FATAL(features_forward(&t.f, &one), DMMP_OK);
        CU_ASSERT_EQUAL_FATAL(model_item_vectors(&t.m, t.f.view[VIEW_ITEM].x, 1, items + (size_t)i * dim), DMMP_OK);
    }
    /* The evaluated users (a click in test), their gates and intents. */
    int users[N_USERS], n = 0;
    double wv[N_USERS], intent[N_USERS], worst_gate = 0;
    for (int u = 0; u < N_USERS; u++) {
        int any = 0;
        for (int i = 0; i < N_ITEMS; i++) any |= h.clicked[u * N_ITEMS + i];
        if (!any) continue;
        fill_row(&h, &one, u, -1);
        CU_ASSERT_EQUAL_FATAL(features_forward(&t.f, &one), DMMP_OK);
        double hand_w[2];
        hand_gate(&t.m.gate, t.f.view[VIEW_USER].x, hand_w);
        CU_ASSERT_EQUAL_FATAL(model_user_query(&t.m, t.f.view[VIEW_USER].x, 1, q), DMMP_OK);
        double e = fabs(hand_w[1] - t.m.w[1]);
        if (e > worst_gate) worst_gate = e;
        memcpy(uvec + (size_t)n * k, mlp_output(&t.m.user_tower), (size_t)k * sizeof(float));
        wv[n] = t.m.w[1];
        intent[n] = h.truth.user_intent[u];
        users[n++] = u;
    }
    TU_ASSERT_MSG(worst_gate < 1e-5, "the model's gate differs from the hand one by %g", worst_gate);
    CU_ASSERT_FATAL(n > 40);
    /* Quartile of each: its position among the users by (intent, order). */
    int quart[N_USERS];
    for (int a = 0; a < n; a++) {
        int pos = 0;
        for (int b = 0; b < n; b++) pos += intent[b] < intent[a] || (intent[b] == intent[a] && b < a);
        quart[a] = 4 * pos / n;
    }
    double mean = 0, sum_q[4] = {0}, cnt_q[4] = {0};
    for (int a = 0; a < n; a++) {
        mean += wv[a];
        sum_q[quart[a]] += wv[a];
        cnt_q[quart[a]]++;
    }
    mean /= n;
    /* The gate weights recomputed here come from batches of another shape
     * than the evaluation's; oneDNN's AVX2 gemm rounds those differently in
     * the last bits of a float, so the float-valued statistics agree to 1e-6. */
    TU_ASSERT_NEAR(eval_metric_value(&got, "gate_w_v_mean"), mean, 1e-6);
    TU_ASSERT_NEAR(eval_metric_value(&got, "gate_w_v_p10"), hand_quantile(wv, n, 0.1), 1e-6);
    TU_ASSERT_NEAR(eval_metric_value(&got, "gate_w_v_p50"), hand_quantile(wv, n, 0.5), 1e-6);
    TU_ASSERT_NEAR(eval_metric_value(&got, "gate_w_v_p90"), hand_quantile(wv, n, 0.9), 1e-6);
    TU_ASSERT_NEAR(eval_metric_value(&got, "gate_intent_corr"), hand_spearman(wv, intent, n), 1e-12);
    for (int qq = 0; qq < 4; qq++) {
        char name[64];
        snprintf(name, sizeof name, "gate_w_v_mean_intent_q%d", qq + 1);
        TU_ASSERT_NEAR(eval_metric_value(&got, name), sum_q[qq] / cnt_q[qq], 1e-6);
    }
    /* The model's queries and those with every gate at the mean. */
    hand_metrics all, per_q[4], mean_gate;
    double util_all[3] = {0}, util_q[4][3] = {{0}}, util_mean[3] = {0};
    memset(&all, 0, sizeof all);
    memset(per_q, 0, sizeof per_q);
    memset(&mean_gate, 0, sizeof mean_gate);
    float wc_bar = (float)(1.0 - mean), wv_bar = (float)mean;
    for (int a = 0; a < n; a++) {
        int u = users[a];
        double util[3];
        fill_row(&h, &one, u, -1);
        CU_ASSERT_EQUAL_FATAL(features_forward(&t.f, &one), DMMP_OK);
        CU_ASSERT_EQUAL_FATAL(model_user_query(&t.m, t.f.view[VIEW_USER].x, 1, q), DMMP_OK);
        for (int i = 0; i < N_ITEMS; i++) scores[i] = dot_fma(q, items + (size_t)i * dim, dim);
        hand_add_user(&h, &all, u, scores);
        hand_add_user(&h, &per_q[quart[a]], u, scores);
        hand_utility(&h, u, scores, util);
        for (int j = 0; j < 3; j++) util_all[j] += util[j], util_q[quart[a]][j] += util[j];
        for (int j = 0; j < k; j++) {
            q[j] = (float)((double)uvec[(size_t)a * k + j] * wc_bar);
            q[k + j] = (float)((double)uvec[(size_t)a * k + j] * wv_bar);
        }
        for (int i = 0; i < N_ITEMS; i++) scores[i] = dot_fma(q, items + (size_t)i * dim, dim);
        hand_add_user(&h, &mean_gate, u, scores);
        hand_utility(&h, u, scores, util);
        for (int j = 0; j < 3; j++) util_mean[j] += util[j];
    }
    for (int j = 0; j < 3; j++) {
        char name[64];
        snprintf(name, sizeof name, "personal_utility@%d", KS[j]);
        TU_ASSERT_NEAR(eval_metric_value(&got, name), util_all[j] / (double)all.users, 1e-9);
    }
    for (int qq = 0; qq < 4; qq++) {
        char suffix[16];
        snprintf(suffix, sizeof suffix, "_intent_q%d", qq + 1);
        compare_set(&per_q[qq], util_q[qq], suffix, &got);
    }
    compare_set(&mean_gate, util_mean, "_mean_gate", &got);
    batch_free(&one);
    free(items);
    free(q);
    free(uvec);
    eval_metrics_free(&got);
    tables_close(&h);
    trained_free(&t);
    world_close(&w);
}

/* A world without intent: no quartile metrics, no gate_intent_corr; a fixed
 * gate reports w_v = 0.5 and no mean-gate metrics. */
static void test_no_intent_no_quartiles(void)
{
    world w;
    trained t;
    if (!world_open(&w)) return;
    if (!eval_train(&t, w.d, CONFIG_MODEL_THREE_TOWER)) {
        world_close(&w);
        return;
    }
    eval_metrics got;
    eval_metrics_init(&got);
    CU_ASSERT_EQUAL(eval_retrieval(&t.m, &t.f, w.d, SPLIT_TEST, &t.cfg.eval, &got), DMMP_OK);
    double v;
    CU_ASSERT(!eval_metrics_get(&got, "gate_intent_corr", &v));
    CU_ASSERT(!eval_metrics_get(&got, "click_recall@20_intent_q1", &v));
    CU_ASSERT(!eval_metrics_get(&got, "click_recall@20_mean_gate", &v));
    TU_ASSERT_NEAR(eval_metric_value(&got, "gate_w_v_p10"), 0.5, 0);
    TU_ASSERT_NEAR(eval_metric_value(&got, "gate_w_v_p90"), 0.5, 0);
    CU_ASSERT(eval_metrics_get(&got, "personal_utility@20", &v) && v > 0 && v <= 1);
    eval_metrics_free(&got);
    trained_free(&t);
    world_close(&w);
}

int add_retrieval_intent_suite(void)
{
    static const char *const names[] = {"dmmp on the intent world: gate, quartiles, utility, mean gate = brute force",
                                        "no intent: no quartile or correlation metrics; a fixed gate is 0.5"};
    static const CU_TestFunc tests[] = {test_dmmp_intent_brute_force, test_no_intent_no_quartiles};
    return tu_add_suite("eval_retrieval_intent", names, tests, sizeof tests / sizeof tests[0]);
}
