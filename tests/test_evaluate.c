/* Ranking evaluation against metrics recomputed by hand: the models of
 * eval_fixture.h, their test-split predictions collected here with another
 * batch size, scored with auc_exact / gauc and with pair counting and a
 * log loss written out in double. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/batcher.h"
#include "metrics/auc.h"
#include "eval/eval_run.h"
#include "train/evaluate.h"
#include "train/results.h"
#include "eval_fixture.h"
#include "suites.h"
#include "testutil.h"

/* ---- ranking ---------------------------------------------------------- */

/* P(score of a positive > score of a negative) + ties / 2, by counting pairs. */
static double pair_auc(const float *p, const uint8_t *y, const uint8_t *mask, int64_t n)
{
    double wins = 0, pairs = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!y[i] || (mask && !mask[i])) continue;
        for (int64_t j = 0; j < n; j++) {
            if (y[j] || (mask && !mask[j])) continue;
            wins += p[i] > p[j] ? 1.0 : p[i] == p[j] ? 0.5 : 0.0;
            pairs += 1;
        }
    }
    return wins / pairs;
}

static double hand_logloss(const float *p, const uint8_t *y, int64_t n)
{
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        double q = fmin(fmax(p[i], LOGLOSS_EPS), 1 - LOGLOSS_EPS);
        sum -= y[i] ? log(q) : log(1 - q);
    }
    return sum / (double)n;
}

static void check_ranking(config_model_kind kind)
{
    world w;
    trained t;
    if (!world_open(&w)) return;
    if (!eval_train(&t, w.d, kind)) {
        world_close(&w);
        return;
    }
    eval_metrics got;
    eval_metrics_init(&got);
    dmmp_status s = eval_ranking(&t.m, &t.f, w.d, SPLIT_TEST, &got);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    /* Predictions by hand, in batches of 50 (not the evaluator's size). */
    int64_t rows = dataset_split_stats_of(w.d, SPLIT_TEST).rows, n = 0;
    float *p[2][3];
    for (int a = 0; a < 2; a++)
        for (int c = 0; c < 3; c++) p[a][c] = malloc((size_t)rows * sizeof(float));
    uint8_t *click = malloc((size_t)rows), *conv = malloc((size_t)rows), *clicked_mask = malloc((size_t)rows);
    int32_t *user = malloc((size_t)rows * sizeof *user);
    batcher *bt = NULL;
    CU_ASSERT_EQUAL_FATAL(batcher_open(&bt, w.d, SPLIT_TEST, 50, 0, 0), DMMP_OK);
    const batch *b = NULL;
    while (batcher_next(bt, &b) == DMMP_OK && b) {
        CU_ASSERT_EQUAL_FATAL(features_forward(&t.f, b), DMMP_OK);
        const float *xt = t.f.view[VIEW_TEACHER].width ? t.f.view[VIEW_TEACHER].x : NULL;
        const float *xu = t.f.view[VIEW_USER].width ? t.f.view[VIEW_USER].x : NULL;
        const float *xi = t.f.view[VIEW_ITEM].width ? t.f.view[VIEW_ITEM].x : NULL;
        CU_ASSERT_EQUAL_FATAL(model_forward(&t.m, xt, xu, xi, b->n), DMMP_OK);
        model_predictions(&t.m, b->n, p[0][0] + n, p[0][1] + n, p[0][2] + n);
        if (t.m.has_teacher) model_teacher_predictions(&t.m, b->n, p[1][0] + n, p[1][1] + n, p[1][2] + n);
        for (int i = 0; i < b->n; i++) {
            click[n + i] = b->click[i];
            conv[n + i] = b->conversion[i];
            clicked_mask[n + i] = b->click[i];
            user[n + i] = b->user[i];
        }
        n += b->n;
    }
    batcher_close(bt);
    CU_ASSERT_EQUAL(n, rows);
    float *mask = malloc((size_t)rows * sizeof *mask);
    for (int64_t i = 0; i < n; i++) mask[i] = click[i];
    /* Batch size changes float rounding of the forward, so a near tie may
     * flip: one flipped pair moves an AUC by 1 / (P N) ~ 1e-5 here. */
    const double tol = 2e-4;
    const int conv_head = kind != CONFIG_MODEL_TWO_TOWER;
    for (int a = 0; a < 1 + (kind == CONFIG_MODEL_DMMP); a++) {
        const char *pre = a ? "teacher_" : "";
        char name[64];
        double v;
        snprintf(name, sizeof name, "%sauc_ctr", pre);
        CU_ASSERT_EQUAL(auc_exact(p[a][0], click, NULL, n, &v), DMMP_OK);
        TU_ASSERT_NEAR(eval_metric_value(&got, name), v, tol);
        TU_ASSERT_NEAR(eval_metric_value(&got, name), pair_auc(p[a][0], click, NULL, n), tol);
        CU_ASSERT(eval_metric_value(&got, name) > 0.55); /* trained: clearly better than chance */
        snprintf(name, sizeof name, "%sgauc_ctr", pre);
        CU_ASSERT_EQUAL(gauc(p[a][0], click, user, NULL, n, &v, NULL), DMMP_OK);
        TU_ASSERT_NEAR(eval_metric_value(&got, name), v, tol);
        snprintf(name, sizeof name, "%slogloss_ctr", pre);
        TU_ASSERT_NEAR(eval_metric_value(&got, name), hand_logloss(p[a][0], click, n), 1e-5);
        snprintf(name, sizeof name, "%sauc_cvr", pre);
        if (!conv_head) {
            CU_ASSERT_FALSE(eval_metrics_get(&got, name, NULL));
            snprintf(name, sizeof name, "%sauc_ctcvr", pre);
            CU_ASSERT_FALSE(eval_metrics_get(&got, name, NULL));
            snprintf(name, sizeof name, "%slogloss_ctcvr", pre);
            CU_ASSERT_FALSE(eval_metrics_get(&got, name, NULL));
            continue;
        }
        CU_ASSERT_EQUAL(auc_exact(p[a][1], conv, mask, n, &v), DMMP_OK);
        TU_ASSERT_NEAR(eval_metric_value(&got, name), v, tol);
        TU_ASSERT_NEAR(eval_metric_value(&got, name), pair_auc(p[a][1], conv, clicked_mask, n), tol);
        snprintf(name, sizeof name, "%sauc_ctcvr", pre);
        TU_ASSERT_NEAR(eval_metric_value(&got, name), pair_auc(p[a][2], conv, NULL, n), tol);
        snprintf(name, sizeof name, "%slogloss_ctcvr", pre);
        TU_ASSERT_NEAR(eval_metric_value(&got, name), hand_logloss(p[a][2], conv, n), 1e-5);
    }
    CU_ASSERT_EQUAL(eval_metrics_get(&got, "teacher_auc_ctr", NULL), kind == CONFIG_MODEL_DMMP);
    for (int a = 0; a < 2; a++)
        for (int c = 0; c < 3; c++) free(p[a][c]);
    free(click);
    free(conv);
    free(clicked_mask);
    free(user);
    free(mask);
    eval_metrics_free(&got);
    trained_free(&t);
    world_close(&w);
}

static void test_ranking_dmmp(void) { check_ranking(CONFIG_MODEL_DMMP); }
static void test_ranking_two_tower(void) { check_ranking(CONFIG_MODEL_TWO_TOWER); }

/* eval_all's metrics survive the run record's save and load under the split. */
static void test_store_in_results(void)
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
    dmmp_status s = eval_all(&t.m, &t.f, w.d, SPLIT_TEST, &t.cfg.eval, &got);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    /* every documented name is there: 6 ranking + 7 retrieval x 3 cut-offs +
     * personal_utility x 3 + the fixed gate's w_v mean, p10, p50, p90 (a
     * world without intent: no quartile metrics, no gate_intent_corr) */
    CU_ASSERT_EQUAL(got.n, 6 + 7 * 3 + 3 + 4);
    run_results r, back;
    char path[700];
    snprintf(path, sizeof path, "%s/results.h5", w.dir);
    CU_ASSERT_EQUAL_FATAL(results_init(&r), DMMP_OK);
    CU_ASSERT_EQUAL(eval_store(&got, SPLIT_TEST, &r), DMMP_OK);
    CU_ASSERT_EQUAL(results_save(&r, path), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(results_load(&back, path), DMMP_OK);
    for (int i = 0; i < got.n; i++) {
        double v = NAN;
        CU_ASSERT(results_get_metric(&back, "test", got.items[i].name, &v));
        CU_ASSERT_EQUAL(v, got.items[i].value);
    }
    data_split sp;
    CU_ASSERT(eval_split_parse("val", &sp) == DMMP_OK && sp == SPLIT_VAL);
    CU_ASSERT_EQUAL(eval_split_parse("tset", &sp), DMMP_EINVAL);
    results_free(&r);
    results_free(&back);
    unlink(path);
    eval_metrics_free(&got);
    trained_free(&t);
    world_close(&w);
}

int register_evaluate_suites(void)
{
    static const char *const names[] = {"dmmp (with teacher metrics)", "two_tower (no conversion metrics)",
                                        "every metric stored in results.h5"};
    static const CU_TestFunc tests[] = {test_ranking_dmmp, test_ranking_two_tower, test_store_in_results};
    if (tu_add_suite("eval_ranking", names, tests, 3)) return 1;
    return add_retrieval_eval_suite();
}
