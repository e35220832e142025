/* The report table from run files with hand-computed numbers: grouping by
 * variant, pairing by seed, the default and chosen columns, the direction
 * rule, best marks and p-values (closed-form t CDFs for df 1 and 2), and the
 * Markdown, LaTeX and CSV renderings. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eval/output_file.h"
#include "eval/report.h"
#include "eval/run_set.h"
#include "results_fixture.h"
#include "suites.h"
#include "testutil.h"

#define ASSERT_HAS(text, part) TU_ASSERT_MSG(strstr((text), (part)) != NULL, "output lacks '%s':\n%s", (part), (text))

/* Columns of every run: auc_ctr, logloss_ctr, click_recall@100, clickbait@100
 * (recorded in this deliberately non-canonical order). */
static const char *const k_metrics[] = {"clickbait@100", "click_recall@100", "logloss_ctr", "auc_ctr"};

typedef struct fixture_run {
    const char *variant;
    int seed;
    double auc, logloss, recall, clickbait;
} fixture_run;

/* three_tower has seeds 2, 3, 4: it pairs with dmmp on seeds 2 and 3 only. */
static const fixture_run k_runs[] = {
    {"dmmp", 1, 0.75, 0.40, 0.30, 0.10},         {"dmmp", 2, 0.76, 0.41, 0.32, 0.12},
    {"dmmp", 3, 0.78, 0.39, 0.34, 0.11},         {"two_tower", 1, 0.70, 0.45, 0.20, 0.30},
    {"two_tower", 2, 0.73, 0.44, 0.22, 0.25},    {"two_tower", 3, 0.74, 0.46, 0.27, 0.35},
    {"three_tower", 2, 0.77, 0.38, 0.31, 0.08},  {"three_tower", 3, 0.77, 0.38, 0.30, 0.09},
    {"three_tower", 4, 0.74, 0.38, 0.50, 0.10},  {"dmmp_no_gate", 1, 0.70, 0.42, 0.28, 0.15},
};
#define N_RUNS (sizeof k_runs / sizeof k_runs[0])

/* Writes every fixture run under a fresh directory (dmmp runs also get
 * purchase_recall@100, which the default columns must leave out) and loads
 * them back through run_set, as the commands do. */
static void load_fixture(char *dir, size_t len, run_set *set)
{
    tu_tmpdir(dir, len);
    CU_ASSERT_FATAL(dir[0] != '\0');
    char paths[N_RUNS][600];
    const char *args[N_RUNS];
    for (size_t i = 0; i < N_RUNS; i++) {
        const fixture_run *f = &k_runs[i];
        const char *names[5] = {k_metrics[0], k_metrics[1], k_metrics[2], k_metrics[3], "purchase_recall@100"};
        const double values[5] = {f->clickbait, f->recall, f->logloss, f->auc, 0.1 * f->seed};
        size_t n = strcmp(f->variant, "dmmp") ? 4 : 5;
        CU_ASSERT_EQUAL_FATAL(fx_write_run(dir, f->variant, f->seed, n, names, values), 0);
        /* Alternate between the directory and the file itself. */
        snprintf(paths[i], sizeof paths[i], i % 2 ? "%s/%s_s%d/" : "%s/%s_s%d/results.h5", dir, f->variant, f->seed);
        args[i] = paths[i];
    }
    dmmp_status s = run_set_load(set, args, N_RUNS);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    CU_ASSERT_EQUAL_FATAL(s, DMMP_OK);
}

static void test_grouping_stats_and_tests(void)
{
    char dir[256];
    run_set set;
    load_fixture(dir, sizeof dir, &set);
    report_table t;
    dmmp_status s = report_build(&t, set.runs, (const char *const *)set.sources, set.n, "test", NULL, "dmmp");
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    if (s == DMMP_OK) {
        /* Rows: the canonical variants, then the rest alphabetically. */
        CU_ASSERT_EQUAL_FATAL(t.n_variants, 4);
        CU_ASSERT_STRING_EQUAL(t.variants[0], "two_tower");
        CU_ASSERT_STRING_EQUAL(t.variants[1], "three_tower");
        CU_ASSERT_STRING_EQUAL(t.variants[2], "dmmp");
        CU_ASSERT_STRING_EQUAL(t.variants[3], "dmmp_no_gate");
        CU_ASSERT(t.n_runs[0] == 3 && t.n_runs[1] == 3 && t.n_runs[2] == 3 && t.n_runs[3] == 1);
        /* Columns: the metrics all runs share, canonical order. */
        CU_ASSERT_EQUAL_FATAL(t.n_metrics, 4);
        CU_ASSERT_STRING_EQUAL(t.metrics[0], "auc_ctr");
        CU_ASSERT_STRING_EQUAL(t.metrics[1], "logloss_ctr");
        CU_ASSERT_STRING_EQUAL(t.metrics[2], "click_recall@100");
        CU_ASSERT_STRING_EQUAL(t.metrics[3], "clickbait@100");
        CU_ASSERT(t.has_baseline);
        /* dmmp auc 0.75, 0.76, 0.78: mean 2.29/3, deviations -0.04/3, -0.01/3, 0.05/3. */
        const report_cell *c = report_cell_at(&t, 2, 0);
        TU_ASSERT_NEAR(c->mean, 2.29 / 3, 1e-12);
        TU_ASSERT_NEAR(c->std, sqrt((0.0016 + 0.0001 + 0.0025) / 9 / 2), 1e-12);
        CU_ASSERT_EQUAL(c->n, 3);
        CU_ASSERT(isnan(c->p)); /* the baseline is not tested against itself */
        /* Best: higher auc and recall, lower logloss and clickbait. */
        CU_ASSERT(c->best);
        CU_ASSERT(report_cell_at(&t, 1, 1)->best);  /* three_tower logloss 0.38 */
        CU_ASSERT(report_cell_at(&t, 1, 2)->best);  /* three_tower recall 0.37 */
        CU_ASSERT(report_cell_at(&t, 1, 3)->best);  /* three_tower clickbait 0.09, not two_tower's 0.30 */
        CU_ASSERT(!report_cell_at(&t, 0, 3)->best);
        int marks = 0;
        for (size_t v = 0; v < 4; v++)
            for (size_t m = 0; m < 4; m++) marks += report_cell_at(&t, v, m)->best;
        CU_ASSERT_EQUAL(marks, 4);
        /* two_tower vs dmmp, 3 pairs, df 2: p = 1 - |t| / sqrt(2 + t^2) with
         * t by hand: auc d = .05,.03,.04 -> 4 sqrt 3; logloss d = -.05,-.03,-.07
         * -> -2.5 sqrt 3; recall d = .10,.10,.07 -> 9. */
        const double t_two[3] = {4 * sqrt(3.0), 2.5 * sqrt(3.0), 9.0};
        for (size_t m = 0; m < 3; m++) {
            CU_ASSERT_EQUAL(report_cell_at(&t, 0, m)->n_pairs, 3);
            TU_ASSERT_NEAR(report_cell_at(&t, 0, m)->p, 1 - t_two[m] / sqrt(2 + t_two[m] * t_two[m]), 1e-9);
        }
        /* three_tower vs dmmp on seeds 2, 3 only, df 1 (Cauchy): auc d = -.01,.01
         * -> t = 0, p = 1; logloss d = .03,.01 -> t = 2; recall d = .01,.04 -> 5/3;
         * clickbait d = .04,.02 -> t = 3. */
        const double t_three[4] = {0.0, 2.0, 5.0 / 3.0, 3.0};
        for (size_t m = 0; m < 4; m++) {
            CU_ASSERT_EQUAL(report_cell_at(&t, 1, m)->n_pairs, 2);
            TU_ASSERT_NEAR(report_cell_at(&t, 1, m)->p, 1 - 2 * atan(t_three[m]) / M_PI, 1e-9);
        }
        /* One shared seed: n/a. */
        CU_ASSERT_EQUAL(report_cell_at(&t, 3, 0)->n_pairs, 1);
        CU_ASSERT(isnan(report_cell_at(&t, 3, 0)->p));
        CU_ASSERT(isnan(report_cell_at(&t, 3, 0)->std));
        report_table_free(&t);
    }
    run_set_free(&set);
    fx_rm_rf(dir);
}

static char *render(const report_table *t, report_format f)
{
    char *text = NULL;
    dmmp_status s = report_render(t, f, &text);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    return text;
}

static void test_markdown_and_latex(void)
{
    char dir[256];
    run_set set;
    load_fixture(dir, sizeof dir, &set);
    report_table t;
    CU_ASSERT_EQUAL_FATAL(report_build(&t, set.runs, (const char *const *)set.sources, set.n, "test", NULL, "dmmp"),
                          DMMP_OK);
    char *md = render(&t, REPORT_FORMAT_MD);
    if (md) {
        /* Means and stds typed in from a hand calculation; p = 1 - |t|/sqrt(2+t^2)
         * (two_tower, df 2) and 1 - 2 atan(t)/pi (three_tower, df 1), 3 decimals. */
        ASSERT_HAS(md, "| variant | n | auc_ctr | logloss_ctr | click_recall@100 | clickbait@100 |\n");
        ASSERT_HAS(md, "| two_tower | 3 | 0.7233 ± 0.0208 | 0.4500 ± 0.0100 | 0.2300 ± 0.0361 | 0.3000 ± 0.0500 |\n"
                       "| p vs dmmp | | 0.020 | 0.049 | 0.012 | 0.027 |\n");
        ASSERT_HAS(md, "| three_tower | 3 | 0.7600 ± 0.0173 | **0.3800 ± 0.0000** | **0.3700 ± 0.1127** | "
                       "**0.0900 ± 0.0100** |\n| p vs dmmp | | 1.000 | 0.295 | 0.344 | 0.205 |\n");
        ASSERT_HAS(md, "| dmmp | 3 | **0.7633 ± 0.0153** | 0.4000 ± 0.0100 | 0.3200 ± 0.0200 | 0.1100 ± 0.0100 |\n"
                       "| dmmp_no_gate | 1 | 0.7000 | 0.4200 | 0.2800 | 0.1500 |\n\n");
        /* dmmp_no_gate shares one seed with dmmp: every p is n/a, so no p row. */
        CU_ASSERT_PTR_NULL(strstr(md, "| dmmp_no_gate | 1 | 0.7000 | 0.4200 | 0.2800 | 0.1500 |\n| p vs"));
        ASSERT_HAS(md, "paired t-test against dmmp");
        free(md);
    }
    char *tex = render(&t, REPORT_FORMAT_LATEX);
    if (tex) {
        ASSERT_HAS(tex, "\\begin{tabular}{lrrrrr}\n\\toprule\n");
        ASSERT_HAS(tex, "Variant & $n$ & auc\\_ctr $\\uparrow$ & logloss\\_ctr $\\downarrow$ & click\\_recall@100 "
                        "$\\uparrow$ & clickbait@100 $\\downarrow$ \\\\\n\\midrule\n");
        ASSERT_HAS(tex, "dmmp & 3 & \\textbf{0.7633 $\\pm$ 0.0153} & 0.4000 $\\pm$ 0.0100 & ");
        ASSERT_HAS(tex, "three\\_tower & 3 & 0.7600 $\\pm$ 0.0173 & \\textbf{0.3800 $\\pm$ 0.0000} & ");
        ASSERT_HAS(tex, "\\quad{\\footnotesize $p$ vs dmmp} & & {\\footnotesize 0.020} & {\\footnotesize 0.049} & "
                        "{\\footnotesize 0.012} & {\\footnotesize 0.027} \\\\\n");
        ASSERT_HAS(tex, "dmmp\\_no\\_gate & 1 & 0.7000 & ");
        ASSERT_HAS(tex, "\\bottomrule\n\\end{tabular}\n");
        free(tex);
    }
    report_table_free(&t);
    run_set_free(&set);
    fx_rm_rf(dir);
}

static void test_csv(void)
{
    char dir[256];
    run_set set;
    load_fixture(dir, sizeof dir, &set);
    report_table t;
    CU_ASSERT_EQUAL_FATAL(report_build(&t, set.runs, (const char *const *)set.sources, set.n, "test",
                                       "clickbait@100, auc_ctr", "dmmp"),
                          DMMP_OK);
    char *csv = render(&t, REPORT_FORMAT_CSV);
    if (csv) {
        /* Columns in the order asked for; full precision for machines. */
        const char *expected =
            "variant,n,clickbait@100,clickbait@100_std,clickbait@100_best,clickbait@100_p_vs_dmmp,"
            "auc_ctr,auc_ctr_std,auc_ctr_best,auc_ctr_p_vs_dmmp\n";
        TU_ASSERT_MSG(!strncmp(csv, expected, strlen(expected)), "header:\n%s", csv);
        ASSERT_HAS(csv, "\nthree_tower,3,0.09,0.01,1,0.204833,0.76,0.01732050808,0,1\n");
        ASSERT_HAS(csv, "\ndmmp,3,0.11,0.01,0,,0.7633333333,0.01527525232,1,\n");
        /* Undefined std and p: empty fields, so every column but the first is numeric. */
        ASSERT_HAS(csv, "\ndmmp_no_gate,1,0.15,,0,,0.7,,0,\n");
        CU_ASSERT_PTR_NULL(strstr(csv, "n/a"));
        free(csv);
    }
    report_table_free(&t);
    run_set_free(&set);
    fx_rm_rf(dir);
}

static void test_column_choice_and_errors(void)
{
    char dir[256];
    run_set set;
    load_fixture(dir, sizeof dir, &set);
    const char *const *src = (const char *const *)set.sources;
    report_table t;
    /* A column only dmmp has: other rows show '-' and n/a. */
    CU_ASSERT_EQUAL_FATAL(report_build(&t, set.runs, src, set.n, "test", "purchase_recall@100", "dmmp"), DMMP_OK);
    CU_ASSERT_EQUAL(report_cell_at(&t, 0, 0)->n, 0);
    CU_ASSERT_EQUAL(report_cell_at(&t, 2, 0)->n, 3);
    TU_ASSERT_NEAR(report_cell_at(&t, 2, 0)->mean, 0.2, 1e-12);
    CU_ASSERT(isnan(report_cell_at(&t, 0, 0)->p));
    char *md = render(&t, REPORT_FORMAT_MD);
    if (md) ASSERT_HAS(md, "| two_tower | 3 | - |\n| three_tower | 3 | - |\n");
    free(md);
    report_table_free(&t);

    /* A baseline no run is: refused, naming the variants there are. */
    CU_ASSERT_EQUAL(report_build(&t, set.runs, src, set.n, "test", "auc_ctr", "nosuch"), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "--baseline nosuch");
    ASSERT_HAS(dmmp_errmsg(), "two_tower, three_tower, dmmp, dmmp_no_gate");
    CU_ASSERT_PTR_NULL(t.cells);
    /* No baseline chosen and no dmmp among the runs (runs 3..5 are
     * two_tower): no tests, no p rows. */
    CU_ASSERT_EQUAL_FATAL(report_build(&t, set.runs + 3, src + 3, 3, "test", "auc_ctr", NULL), DMMP_OK);
    CU_ASSERT(!t.has_baseline);
    md = render(&t, REPORT_FORMAT_MD);
    if (md) CU_ASSERT_PTR_NULL(strstr(md, "p vs"));
    free(md);
    report_table_free(&t);

    dmmp_error_clear();
    CU_ASSERT_EQUAL(report_build(&t, set.runs, src, set.n, "test", "auc_ctr,recall@7", "dmmp"), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "recall@7");
    CU_ASSERT_EQUAL(report_build(&t, set.runs, src, set.n, "test", "auc_ctr,,logloss_ctr", "dmmp"), DMMP_EINVAL);
    CU_ASSERT_EQUAL(report_build(&t, set.runs, src, set.n, "test", "auc_ctr,auc_ctr", "dmmp"), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "twice");
    CU_ASSERT_EQUAL(report_build(&t, set.runs, src, set.n, "val", NULL, "dmmp"), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "split 'val'");
    /* The same run given twice is caught, naming both files. */
    CU_ASSERT_EQUAL(report_build(&t, set.runs, src, 2, "test", NULL, "dmmp"), DMMP_OK);
    report_table_free(&t);
    run_results twice[2] = {set.runs[0], set.runs[0]};
    const char *names[2] = {"a/results.h5", "b/results.h5"};
    CU_ASSERT_EQUAL(report_build(&t, twice, names, 2, "test", NULL, "dmmp"), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "a/results.h5 and b/results.h5");
    CU_ASSERT_PTR_NULL(t.cells); /* left empty */
    report_format f;
    CU_ASSERT_EQUAL(report_parse_format("latex", &f), DMMP_OK);
    CU_ASSERT_EQUAL(f, REPORT_FORMAT_LATEX);
    CU_ASSERT_EQUAL(report_parse_format("html", &f), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "html");
    run_set_free(&set);

    /* A missing run names its path. */
    char missing[400];
    snprintf(missing, sizeof missing, "%s/absent_s1", dir);
    const char *args[1] = {missing};
    CU_ASSERT_NOT_EQUAL(run_set_load(&set, args, 1), DMMP_OK);
    ASSERT_HAS(dmmp_errmsg(), "absent_s1: cannot read");
    CU_ASSERT_EQUAL(set.n, 0);
    fx_rm_rf(dir);
}

static void test_orders_and_directions(void)
{
    /* The documented column order, listed by hand. */
    const char *order[] = {"auc_ctr",         "auc_cvr",          "auc_ctcvr",        "gauc_ctr",
                           "logloss_ctr",     "logloss_ctcvr",    "click_recall@20",  "click_recall@100",
                           "purchase_recall@50", "click_ndcg@20", "purchase_ndcg@200", "hitrate@50",
                           "clickbait@20",    "exp_conversions@100", "a_custom_metric", "zz@3"};
    size_t n = sizeof order / sizeof order[0];
    for (size_t i = 0; i + 1 < n; i++)
        for (size_t j = i + 1; j < n; j++)
            TU_ASSERT_MSG(report_metric_order(order[i], order[j]) < 0 && report_metric_order(order[j], order[i]) > 0,
                          "%s should come before %s", order[i], order[j]);
    CU_ASSERT(report_metric_lower_is_better("logloss_ctr"));
    CU_ASSERT(report_metric_lower_is_better("logloss_ctcvr"));
    CU_ASSERT(report_metric_lower_is_better("clickbait@50"));
    CU_ASSERT(!report_metric_lower_is_better("auc_ctr"));
    CU_ASSERT(!report_metric_lower_is_better("click_recall@50"));
    CU_ASSERT(!report_metric_lower_is_better("exp_conversions@50"));
    CU_ASSERT(report_variant_order("teacher_only", "two_tower") < 0);
    CU_ASSERT(report_variant_order("three_tower", "dmmp") < 0);
    CU_ASSERT(report_variant_order("dmmp", "dmmp_kd_off") < 0);
    CU_ASSERT(report_variant_order("dmmp_kd_off", "dmmp_no_gate") < 0);
}

static void test_atomic_output(void)
{
    char dir[256], path[400], blocked[400];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/table.md", dir);
    CU_ASSERT_EQUAL(output_write_atomic(path, "old\n", 4), DMMP_OK);
    CU_ASSERT_EQUAL(output_write_atomic(path, "new table\n", 10), DMMP_OK);
    char buf[32] = "";
    FILE *f = fopen(path, "r");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_PTR_NOT_NULL(fgets(buf, sizeof buf, f));
    fclose(f);
    CU_ASSERT_STRING_EQUAL(buf, "new table\n");
    /* A rename that fails (target is a non-empty directory) leaves no temporary. */
    snprintf(blocked, sizeof blocked, "%s/sub", dir);
    CU_ASSERT_EQUAL(mkdir(blocked, 0755), 0);
    snprintf(blocked, sizeof blocked, "%s/sub/x", dir);
    CU_ASSERT_EQUAL(mkdir(blocked, 0755), 0);
    snprintf(blocked, sizeof blocked, "%s/sub", dir);
    CU_ASSERT_EQUAL(output_write_atomic(blocked, "x", 1), DMMP_EIO);
    CU_ASSERT_EQUAL(fx_count_entries(dir), 2);
    snprintf(blocked, sizeof blocked, "%s/missing/table.md", dir);
    CU_ASSERT_EQUAL(output_write_atomic(blocked, "x", 1), DMMP_EIO);
    ASSERT_HAS(dmmp_errmsg(), "missing/table.md");
    fx_rm_rf(dir);
}

/* A driver's folder: runs two levels down (<variant>/<run>/results.h5)
 * are found from the folder alone, in path order; a folder without any is
 * refused naming it. */
static void test_folder_of_runs(void)
{
    char dir[256], sub[400], empty[400];
    tu_tmpdir(dir, sizeof dir);
    const char *names[1] = {"auc_ctr"};
    const char *variants[3] = {"two_tower", "dmmp", "dmmp"};
    const int seeds[3] = {1, 2, 1};
    for (int i = 0; i < 3; i++) {
        snprintf(sub, sizeof sub, "%s/%s", dir, variants[i]);
        mkdir(sub, 0755);
        const double v[1] = {0.5 + 0.1 * i};
        CU_ASSERT_EQUAL_FATAL(fx_write_run(sub, variants[i], seeds[i], 1, names, v), 0);
    }
    run_set set;
    const char *args[1] = {dir};
    dmmp_status s = run_set_load(&set, args, 1);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    CU_ASSERT_EQUAL_FATAL(set.n, 3);
    /* Path order: dmmp/dmmp_s1, dmmp/dmmp_s2, two_tower/two_tower_s1. */
    CU_ASSERT_STRING_EQUAL(set.runs[0].variant, "dmmp");
    CU_ASSERT_EQUAL(set.runs[0].seed, 1);
    CU_ASSERT_EQUAL(set.runs[1].seed, 2);
    CU_ASSERT_STRING_EQUAL(set.runs[2].variant, "two_tower");
    double x = 0;
    CU_ASSERT_TRUE(results_get_metric(&set.runs[0], "test", "auc_ctr", &x));
    TU_ASSERT_NEAR(x, 0.7, 1e-12);
    run_set_free(&set);
    snprintf(empty, sizeof empty, "%s/empty", dir);
    mkdir(empty, 0755);
    args[0] = empty;
    CU_ASSERT_EQUAL(run_set_load(&set, args, 1), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "empty: no results.h5");
    CU_ASSERT_EQUAL(set.n, 0);
    fx_rm_rf(dir);
}

/* --mean-gate-rows: a row dmmp_mean_gate from the runs' *_mean_gate
 * metrics, right after dmmp, paired with it by seed: its p is the paired
 * t-test of the two metrics over the seeds, computed here by hand. */
static void test_mean_gate_rows(void)
{
    char dir[256];
    tu_tmpdir(dir, sizeof dir);
    const char *names[4] = {"personal_utility@100", "personal_utility@100_mean_gate", "gate_w_v_p50", "auc_ctr"};
    const double a[3] = {0.50, 0.56, 0.55}, b[3] = {0.52, 0.57, 0.58};
    for (int s = 0; s < 3; s++) {
        const double v[4] = {a[s], b[s], 0.07, 0.78};
        CU_ASSERT_EQUAL_FATAL(fx_write_run(dir, "dmmp", s + 1, 4, names, v), 0);
        const double w[4] = {0.6, 0.6, 0.5, 0.77}; /* a fixed gate has no mean-gate metrics... */
        CU_ASSERT_EQUAL_FATAL(fx_write_run(dir, "dmmp_no_gate", s + 1, 1, names, w), 0);
    }
    const char *args[1] = {dir};
    run_set set;
    CU_ASSERT_EQUAL_FATAL(run_set_load(&set, args, 1), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(set.n, 6);
    CU_ASSERT_EQUAL(run_set_add_suffix_rows(&set, "test", "_mean_gate"), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(set.n, 9); /* ...so only dmmp's three runs get a row */
    report_table t;
    CU_ASSERT_EQUAL_FATAL(report_build(&t, set.runs, (const char *const *)set.sources, set.n, "test",
                                       "personal_utility@100,gate_w_v_p50", NULL),
                          DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(t.n_variants, 3);
    CU_ASSERT_STRING_EQUAL(t.variants[0], "dmmp");
    CU_ASSERT_STRING_EQUAL(t.variants[1], "dmmp_mean_gate");
    CU_ASSERT_STRING_EQUAL(t.variants[2], "dmmp_no_gate");
    const report_cell *c = report_cell_at(&t, 1, 0);
    TU_ASSERT_NEAR(c->mean, (0.52 + 0.57 + 0.58) / 3, 1e-12);
    /* differences 0.02, 0.01, 0.03: mean 0.02, sd 0.01, t = 0.02 / (0.01 / sqrt 3) = 3.4641 on 2 df,
     * two-sided p = 1 - 3.4641 / sqrt(2 + 3.4641^2) = 0.07418 (t with 2 df has a closed form) */
    double tt = 0.02 / (0.01 / sqrt(3.0)), p = 1 - tt / sqrt(2 + tt * tt);
    TU_ASSERT_NEAR(c->p, p, 1e-6);
    CU_ASSERT_EQUAL(c->n_pairs, 3);
    CU_ASSERT_EQUAL(report_cell_at(&t, 1, 1)->n, 0); /* the diagnostics are not mean-gate metrics */
    CU_ASSERT(!report_cell_at(&t, 0, 1)->best && !report_cell_at(&t, 2, 1)->best); /* no best for gate_* */
    CU_ASSERT(report_cell_at(&t, 2, 0)->best);
    report_table_free(&t);
    run_set_free(&set);
    fx_rm_rf(dir);
}

int register_report_suites(void)
{
    static const char *const names[] = {"grouping, stats and paired tests", "markdown and latex",
                                        "csv with chosen columns",          "column choice and errors",
                                        "metric and variant order, directions", "atomic output file",
                                        "a driver's folder stands for the runs below it",
                                        "mean-gate rows follow their run and pair with it"};
    static const CU_TestFunc tests[] = {test_grouping_stats_and_tests, test_markdown_and_latex, test_csv,
                                        test_column_choice_and_errors, test_orders_and_directions,
                                        test_atomic_output, test_folder_of_runs, test_mean_gate_rows};
    return tu_add_suite("eval_report", names, tests, sizeof tests / sizeof tests[0]);
}
