/* dmmp plot: a real PNG when gnuplot is installed (signature and the panel
 * grid's pixel size read from the IHDR chunk), and the failure paths that
 * need no gnuplot: missing program, a gnuplot that fails, nothing to draw. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/gnuplot.h"
#include "eval/plot.h"
#include "results_fixture.h"
#include "suites.h"
#include "testutil.h"

#define ASSERT_HAS(text, part) TU_ASSERT_MSG(strstr((text), (part)) != NULL, "'%s' lacks '%s'", (text), (part))

/* Two variants x two seeds with losses, weights, val AUC and Recall@K. */
static void make_runs(run_results *runs)
{
    const char *names[3] = {"click_recall@20", "click_recall@50", "purchase_recall@20"};
    for (int i = 0; i < 4; i++) {
        const double values[3] = {0.1 + 0.01 * i, 0.2 + 0.01 * i, 0.05 + 0.01 * i};
        CU_ASSERT_EQUAL_FATAL(fx_make_run(&runs[i], i < 2 ? "dmmp" : "two_tower", 1 + i % 2, 3, names, values), 0);
        if (i < 2) {
            CU_ASSERT_EQUAL(results_series_append(&runs[i], "weight/kd_ctr", 0.4), DMMP_OK);
            CU_ASSERT_EQUAL(results_series_append(&runs[i], "weight/kd_ctr", 0.6), DMMP_OK);
            /* per-step curves: they replace dmmp's per-epoch losses and weights */
            const char *curves[4] = {"loss/student_ctr", "weight/student_ctr", "gate/w_v_mean", "gate/w_v_sd"};
            for (int step = 50; step <= 200; step += 50) {
                const double v[4] = {0.7 - 0.001 * step, 0.5 + 0.0005 * step, 0.1 + 0.001 * step, 0.05};
                CU_ASSERT_EQUAL(results_curve_point(&runs[i], step, curves, v, 4), DMMP_OK);
            }
        }
    }
}

static void free_runs(run_results *runs)
{
    for (int i = 0; i < 4; i++) results_free(&runs[i]);
}

static unsigned long be32(const unsigned char *p)
{
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

static void test_png_written(void)
{
    char gnuplot[4096];
    if (gnuplot_find("gnuplot", gnuplot, sizeof gnuplot) != DMMP_OK) {
        tu_skip("png written", "gnuplot is not on PATH (Debian: apt-get install gnuplot-nox)");
        return;
    }
    char dir[256], out[400];
    tu_tmpdir(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/curves.png", dir);
    run_results runs[4];
    make_runs(runs);
    dmmp_status s = plot_runs(runs, 4, out, NULL);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    unsigned char head[24] = {0};
    FILE *f = fopen(out, "rb");
    CU_ASSERT_FATAL(f != NULL);
    size_t got = fread(head, 1, sizeof head, f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    CU_ASSERT_EQUAL(got, sizeof head);
    CU_ASSERT(!memcmp(head, "\x89PNG\r\n\x1a\n", 8));
    CU_ASSERT(!memcmp(head + 12, "IHDR", 4));
    /* Panels: dmmp's per-step losses and weights, two_tower's losses per
     * epoch, dmmp's gate, val auc_ctr, click and purchase Recall@K = 6 (no
     * per-epoch weights panel: only dmmp has weights, and per step), laid
     * out 3 wide and 2 high at 720 x 430 pixels each. */
    CU_ASSERT_EQUAL(be32(head + 16), 3 * 720);
    CU_ASSERT_EQUAL(be32(head + 20), 2 * 430);
    CU_ASSERT(size > 10000);
    CU_ASSERT_EQUAL(fx_count_entries(dir), 1); /* no temporary image left */
    free_runs(runs);
    fx_rm_rf(dir);
}

static void test_missing_or_failing_gnuplot(void)
{
    char dir[256], out[400];
    tu_tmpdir(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/curves.png", dir);
    run_results runs[4];
    make_runs(runs);
    plot_options missing = {"dmmp-no-such-gnuplot", NULL};
    CU_ASSERT_EQUAL(plot_runs(runs, 4, out, &missing), DMMP_EUNSUPPORTED);
    ASSERT_HAS(dmmp_errmsg(), "gnuplot-nox");
    ASSERT_HAS(dmmp_errmsg(), "dmmp-no-such-gnuplot not found on PATH");
    plot_options missing_path = {"/nonexistent/bin/gnuplot", NULL};
    CU_ASSERT_EQUAL(plot_runs(runs, 4, out, &missing_path), DMMP_EUNSUPPORTED);
    CU_ASSERT_EQUAL(fx_count_entries(dir), 0);

    /* A previous image survives a gnuplot that fails. */
    FILE *f = fopen(out, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs("previous", f);
    fclose(f);
    char failing[4096];
    if (gnuplot_find("false", failing, sizeof failing) == DMMP_OK) {
        plot_options fails = {failing, NULL};
        CU_ASSERT_EQUAL(plot_runs(runs, 4, out, &fails), DMMP_EIO);
        ASSERT_HAS(dmmp_errmsg(), "exited with status 1");
        char buf[16] = "";
        f = fopen(out, "r");
        CU_ASSERT_FATAL(f != NULL);
        CU_ASSERT_PTR_NOT_NULL(fgets(buf, sizeof buf, f));
        fclose(f);
        CU_ASSERT_STRING_EQUAL(buf, "previous");
        CU_ASSERT_EQUAL(fx_count_entries(dir), 1);
    } else {
        tu_skip("failing gnuplot", "no 'false' program on PATH");
    }
    free_runs(runs);
    fx_rm_rf(dir);
}

static void test_nothing_to_draw(void)
{
    char failing[4096];
    if (gnuplot_find("true", failing, sizeof failing) != DMMP_OK) {
        tu_skip("nothing to draw", "no 'true' program on PATH");
        return;
    }
    run_results r;
    CU_ASSERT_EQUAL_FATAL(results_init(&r), DMMP_OK);
    CU_ASSERT_EQUAL(results_set_meta(&r, "variant", "dmmp"), DMMP_OK);
    CU_ASSERT_EQUAL(results_set_metric(&r, "test", "auc_ctr", 0.7), DMMP_OK);
    plot_options o = {failing, "test"};
    CU_ASSERT_EQUAL(plot_runs(&r, 1, "/tmp/never-written.png", &o), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "nothing to draw");
    /* Recall@K exists, but in another split than the one asked for. */
    CU_ASSERT_EQUAL(results_set_metric(&r, "val", "click_recall@50", 0.3), DMMP_OK);
    CU_ASSERT_EQUAL(plot_runs(&r, 1, "/tmp/never-written.png", &o), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "split 'test'");
    CU_ASSERT_EQUAL(plot_runs(&r, 0, "/tmp/never-written.png", &o), DMMP_EINVAL);
    results_free(&r);
}

int register_plot_suites(void)
{
    static const char *const names[] = {"png written", "missing or failing gnuplot", "nothing to draw"};
    static const CU_TestFunc tests[] = {test_png_written, test_missing_or_failing_gnuplot, test_nothing_to_draw};
    return tu_add_suite("eval_plot", names, tests, sizeof tests / sizeof tests[0]);
}
