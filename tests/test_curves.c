/* train_curves: the per-step curves of results.h5. Points pad the curves
 * that were not given with NaN and survive a save and load; a trained run
 * records one point every train.curve_every steps whose losses average to
 * the per-epoch means the trainer records independently; a run stopped and
 * resumed records the same curves, bit for bit, as one that was not. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suites.h"
#include "testutil.h"
#include "train/results.h"
#include "trainer_fixture.h"

static void test_points_save_load_trim(void)
{
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/results.h5", dir);
    run_results r, back;
    CU_ASSERT_EQUAL_FATAL(results_init(&r), DMMP_OK);
    const char *first[2] = {"loss/a", "weight/a"}, *second[2] = {"loss/a", "gate/w"};
    const double v1[2] = {1.5, 0.25}, v2[2] = {1.25, 0.75}, v3[2] = {1.0, 0.5};
    r.curves.every = 10;
    CU_ASSERT_EQUAL(results_curve_point(&r, 10, first, v1, 2), DMMP_OK);
    CU_ASSERT_EQUAL(results_curve_point(&r, 20, second, v2, 2), DMMP_OK);
    CU_ASSERT_EQUAL(results_curve_point(&r, 30, second, v3, 2), DMMP_OK);
    CU_ASSERT_NOT_EQUAL(results_curve_point(&r, 30, first, v1, 2), DMMP_OK); /* steps ascend */
    const char *bad[1] = {"step"};
    CU_ASSERT_NOT_EQUAL(results_curve_point(&r, 40, bad, v1, 1), DMMP_OK);
    CU_ASSERT_EQUAL(results_save(&r, path), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(results_load(&back, path), DMMP_OK);
    CU_ASSERT_EQUAL(back.curves.every, 10);
    CU_ASSERT_EQUAL_FATAL(back.curves.n, 3);
    CU_ASSERT(back.curves.step[0] == 10 && back.curves.step[1] == 20 && back.curves.step[2] == 30);
    const results_series *a = results_curve_find(&back, "loss/a"), *w = results_curve_find(&back, "weight/a"),
                         *g = results_curve_find(&back, "gate/w");
    CU_ASSERT_FATAL(a && w && g);
    CU_ASSERT(a->n == 3 && a->values[0] == 1.5 && a->values[1] == 1.25 && a->values[2] == 1.0);
    CU_ASSERT(w->values[0] == 0.25 && isnan(w->values[1]) && isnan(w->values[2]));
    CU_ASSERT(isnan(g->values[0]) && g->values[1] == 0.75 && g->values[2] == 0.5);
    results_curves_trim(&back, 25);
    CU_ASSERT(back.curves.n == 2 && a->n == 2 && g->n == 2);
    results_free(&back);
    /* A record without curves writes no /curves and loads with none. */
    results_free(&r);
    CU_ASSERT_EQUAL_FATAL(results_init(&r), DMMP_OK);
    CU_ASSERT_EQUAL(results_save(&r, path), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(results_load(&back, path), DMMP_OK);
    CU_ASSERT(back.curves.n == 0 && back.curves.every == 0 && back.curves.n_series == 0);
    results_free(&back);
    results_free(&r);
    unlink(path);
    rmdir(dir);
}

static dmmp_status load_results(const char *dir, run_results *r)
{
    char path[800];
    snprintf(path, sizeof path, "%s/results.h5", dir);
    return results_load(r, path);
}

/* dmmp with a point after every step: epoch 1's points are its steps, and
 * their losses average to /train/loss/<term>[0]; the weights and the gate's
 * conversion weight are what the run learned. */
static void test_trainer_points(void)
{
    if (!tf_dataset()) return;
    dmmp_config c;
    tf_config(&c, CONFIG_MODEL_DMMP);
    c.train.curve_every = 1;
    char dir[700];
    tf_run_dir(dir, sizeof dir, "curves_every_step");
    trainer_summary sum;
    dmmp_status s = tf_train(&c, dir, 0, 0, &sum);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    run_results r;
    CU_ASSERT_EQUAL_FATAL(load_results(dir, &r), DMMP_OK);
    CU_ASSERT_EQUAL(r.curves.every, 1);
    CU_ASSERT_EQUAL_FATAL((int64_t)r.curves.n, sum.steps);
    for (size_t p = 0; p < r.curves.n; p++) CU_ASSERT_EQUAL(r.curves.step[p], (double)(p + 1));
    int64_t per_epoch = sum.steps / 2;
    static const char *const terms[] = {"teacher_ctr", "teacher_ctcvr", "student_ctr", "student_ctcvr",
                                        "student_fused", "kd_ctr", "kd_ctcvr", "kd_fused"};
    for (size_t k = 0; k < sizeof terms / sizeof terms[0]; k++) {
        char name[64];
        snprintf(name, sizeof name, "loss/%s", terms[k]);
        const results_series *curve = results_curve_find(&r, name), *epochs = results_series_find(&r, name);
        CU_ASSERT_FATAL(curve && epochs && epochs->n == 2);
        double mean = 0;
        for (int64_t p = 0; p < per_epoch; p++) mean += curve->values[p];
        mean /= (double)per_epoch;
        TU_ASSERT_NEAR(mean, epochs->values[0], 1e-12 * fabs(epochs->values[0]));
        snprintf(name, sizeof name, "weight/%s", terms[k]);
        curve = results_curve_find(&r, name);
        epochs = results_series_find(&r, name);
        CU_ASSERT_FATAL(curve && epochs);
        /* uncertainty weights: what the last step left is the epoch's weight */
        TU_ASSERT_NEAR(curve->values[r.curves.n - 1], epochs->values[1], 0);
    }
    const results_series *wv = results_curve_find(&r, "gate/w_v_mean"), *sd = results_curve_find(&r, "gate/w_v_sd");
    CU_ASSERT_FATAL(wv && sd);
    for (size_t p = 0; p < r.curves.n; p++) CU_ASSERT(wv->values[p] > 0 && wv->values[p] < 1 && sd->values[p] >= 0);
    results_free(&r);
    tf_remove_dir(dir);
}

/* A run stopped twice and resumed has the curves of the run that was not. */
static void test_resume_same_curves(void)
{
    if (!tf_dataset()) return;
    dmmp_config c;
    tf_config(&c, CONFIG_MODEL_THREE_TOWER);
    c.train.curve_every = 7;
    char whole[700], parts[700];
    tf_run_dir(whole, sizeof whole, "curves_whole");
    tf_run_dir(parts, sizeof parts, "curves_parts");
    trainer_summary sw, sp;
    CU_ASSERT_EQUAL_FATAL(tf_train(&c, whole, 0, 0, &sw), DMMP_OK);
    CU_ASSERT_EQUAL(tf_train(&c, parts, 0, 30, &sp), DMMP_EINTERRUPTED);
    CU_ASSERT_EQUAL(tf_train(&c, parts, 1, sw.steps / 2 + 11, &sp), DMMP_EINTERRUPTED);
    CU_ASSERT_EQUAL_FATAL(tf_train(&c, parts, 1, 0, &sp), DMMP_OK);
    run_results a, b;
    CU_ASSERT_EQUAL_FATAL(load_results(whole, &a), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(load_results(parts, &b), DMMP_OK);
    CU_ASSERT_EQUAL((int64_t)a.curves.n, sw.steps / 7);
    CU_ASSERT_EQUAL_FATAL(a.curves.n, b.curves.n);
    CU_ASSERT_EQUAL_FATAL(a.curves.n_series, b.curves.n_series);
    CU_ASSERT(memcmp(a.curves.step, b.curves.step, a.curves.n * sizeof(double)) == 0);
    for (size_t i = 0; i < a.curves.n_series; i++) {
        const results_series *sb = results_curve_find(&b, a.curves.series[i].name);
        CU_ASSERT_FATAL(sb != NULL);
        TU_ASSERT_MSG(memcmp(a.curves.series[i].values, sb->values, a.curves.n * sizeof(double)) == 0,
                      "curve %s differs after resuming", a.curves.series[i].name);
    }
    results_free(&a);
    results_free(&b);
    tf_remove_dir(whole);
    tf_remove_dir(parts);
}

int register_curves_suites(void)
{
    static const char *const names[] = {
        "points pad with NaN, save, load and trim",
        "a point per step averages to the epoch means",
        "stopped and resumed: the same curves",
    };
    static const CU_TestFunc fns[] = {test_points_save_load_trim, test_trainer_points, test_resume_same_curves};
    return tu_add_suite("train_curves", names, fns, sizeof fns / sizeof fns[0]);
}
