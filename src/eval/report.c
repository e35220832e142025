/* Building the results table: grouping runs by variant, ordering rows and
 * columns, statistics over seeds, best marks and paired tests. Rendering is
 * in report_format.c. */
#include "eval/report.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "eval/stats.h"

static const char *const k_topk_families[] = {"click_recall", "purchase_recall", "click_ndcg", "purchase_ndcg",
                                              "hitrate",      "clickbait",       "exp_conversions"};

int report_metric_lower_is_better(const char *metric)
{
    return !strncmp(metric, "logloss", 7) || !strncmp(metric, "clickbait@", 10);
}

/* Sort key of a metric: its group (plain list, then the @K families, then
 * the rest) and K. */
static void metric_key(const char *name, int *group, long *k)
{
    *k = 0;
    for (int i = CONFIG_METRIC_AUC_CTR; i <= CONFIG_METRIC_LOGLOSS_CTCVR; i++)
        if (!strcmp(name, config_metric_name((config_metric)i))) {
            *group = (int)i;
            return;
        }
    const char *at = strchr(name, '@');
    if (at && at[1]) {
        int digits = 1;
        for (const char *c = at + 1; *c; c++) digits &= isdigit((unsigned char)*c) != 0;
        for (size_t i = 0; digits && i < sizeof k_topk_families / sizeof k_topk_families[0]; i++)
            if (strlen(k_topk_families[i]) == (size_t)(at - name) && !strncmp(name, k_topk_families[i], (size_t)(at - name))) {
                *group = 100 + (int)i;
                *k = strtol(at + 1, NULL, 10);
                return;
            }
    }
    *group = 1000;
}

int report_metric_order(const char *a, const char *b)
{
    int ga, gb;
    long ka, kb;
    metric_key(a, &ga, &ka);
    metric_key(b, &gb, &kb);
    if (ga != gb) return ga < gb ? -1 : 1;
    if (ka != kb) return ka < kb ? -1 : 1;
    return strcmp(a, b);
}

/* Length of name without a trailing "_mean_gate" (report --mean-gate-rows). */
static size_t base_length(const char *name)
{
    static const char suffix[] = "_mean_gate";
    size_t n = strlen(name), k = sizeof suffix - 1;
    return n > k && !strcmp(name + n - k, suffix) ? n - k : n;
}

static int variant_order_plain(const char *a, const char *b);

int report_variant_order(const char *a, const char *b)
{
    /* A row "<v>_mean_gate" follows the row of v itself. */
    size_t la = base_length(a), lb = base_length(b);
    if (la != strlen(a) || lb != strlen(b)) {
        char ba[RESULTS_NAME_MAX + 1], bb[RESULTS_NAME_MAX + 1];
        snprintf(ba, sizeof ba, "%.*s", (int)la, a);
        snprintf(bb, sizeof bb, "%.*s", (int)lb, b);
        int c = variant_order_plain(ba, bb);
        if (c) return c;
        return (la != strlen(a)) - (lb != strlen(b));
    }
    return variant_order_plain(a, b);
}

static int variant_order_plain(const char *a, const char *b)
{
    /* The model kinds first, in the configuration's order. */
    int n = CONFIG_MODEL_DMMP + 1, ia = n, ib = n;
    for (int i = 0; i < n; i++) {
        if (!strcmp(a, config_model_kind_name((config_model_kind)i))) ia = i;
        if (!strcmp(b, config_model_kind_name((config_model_kind)i))) ib = i;
    }
    if (ia != ib) return ia < ib ? -1 : 1;
    return strcmp(a, b);
}

static int cmp_metric_names(const void *a, const void *b) { return report_metric_order(a, b); }
static int cmp_variant_names(const void *a, const void *b) { return report_variant_order(a, b); }

const report_cell *report_cell_at(const report_table *t, size_t v, size_t m) { return &t->cells[v * t->n_metrics + m]; }

void report_table_free(report_table *t)
{
    free(t->variants);
    free(t->n_runs);
    free(t->metrics);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

static size_t find_name(const report_name *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], name)) return i;
    return n;
}

static int run_has_metric(const run_results *r, const char *split, const char *metric)
{
    return results_get_metric(r, split, metric, NULL);
}

static dmmp_status collect_variants(report_table *t, const run_results *runs, const char *const *sources, size_t n_runs)
{
    for (size_t i = 0; i < n_runs; i++) {
        if (!runs[i].variant[0]) return dmmp_fail(DMMP_EFORMAT, "%s: the run records no variant", sources[i]);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(runs[i].variant, runs[j].variant) && runs[i].seed == runs[j].seed)
                return dmmp_fail(DMMP_EINVAL, "%s and %s are both variant '%s' seed %lld (the same run given twice?)",
                                 sources[j], sources[i], runs[i].variant, (long long)runs[i].seed);
        if (find_name(t->variants, t->n_variants, runs[i].variant) == t->n_variants)
            memcpy(t->variants[t->n_variants++], runs[i].variant, sizeof(report_name));
    }
    qsort(t->variants, t->n_variants, sizeof(report_name), cmp_variant_names);
    for (size_t i = 0; i < n_runs; i++) t->n_runs[find_name(t->variants, t->n_variants, runs[i].variant)]++;
    return DMMP_OK;
}

/* Appends the list entry [begin, end) (spaces trimmed) as a column. */
static dmmp_status add_listed_metric(report_table *t, const char *begin, const char *end, const run_results *runs,
                                     size_t n_runs)
{
    while (begin < end && isspace((unsigned char)*begin)) begin++;
    while (end > begin && isspace((unsigned char)end[-1])) end--;
    size_t len = (size_t)(end - begin);
    if (len == 0) return dmmp_fail(DMMP_EINVAL, "--metrics: empty entry in the list");
    if (len > RESULTS_NAME_MAX) return dmmp_fail(DMMP_EINVAL, "--metrics: '%.*s' is too long", (int)len, begin);
    report_name name;
    memcpy(name, begin, len);
    name[len] = '\0';
    if (find_name(t->metrics, t->n_metrics, name) < t->n_metrics)
        return dmmp_fail(DMMP_EINVAL, "--metrics: '%s' is listed twice", name);
    size_t found = 0;
    for (size_t i = 0; i < n_runs; i++) found += (size_t)run_has_metric(&runs[i], t->split, name);
    if (found == 0) {
        char avail[1024] = "";
        for (size_t i = 0; n_runs > 0 && i < runs[0].n_metrics; i++)
            if (!strcmp(runs[0].metrics[i].split, t->split) && strlen(avail) + strlen(runs[0].metrics[i].name) + 3 < sizeof avail)
                strcat(strcat(avail, avail[0] ? ", " : ""), runs[0].metrics[i].name);
        return dmmp_fail(DMMP_EINVAL, "--metrics: no run has metric '%s' in split '%s' (the first run has: %s)", name,
                         t->split, avail[0] ? avail : "none");
    }
    memcpy(t->metrics[t->n_metrics++], name, sizeof name);
    return DMMP_OK;
}

static dmmp_status collect_metrics(report_table *t, const run_results *runs, size_t n_runs, const char *list)
{
    if (list) {
        for (const char *p = list;;) {
            const char *comma = strchr(p, ',');
            const char *end = comma ? comma : p + strlen(p);
            DMMP_TRY(add_listed_metric(t, p, end, runs, n_runs));
            if (!comma) break;
            p = comma + 1;
        }
        return DMMP_OK;
    }
    /* Default: the metrics every run has, so every column compares like with like. */
    for (size_t i = 0; i < runs[0].n_metrics; i++) {
        const results_metric *m = &runs[0].metrics[i];
        if (strcmp(m->split, t->split)) continue;
        int everywhere = 1;
        for (size_t j = 1; j < n_runs && everywhere; j++) everywhere = run_has_metric(&runs[j], t->split, m->name);
        if (everywhere) memcpy(t->metrics[t->n_metrics++], m->name, sizeof(report_name));
    }
    if (t->n_metrics == 0)
        return dmmp_fail(DMMP_EINVAL, "no metric of split '%s' is present in every run (choose columns with --metrics)",
                         t->split);
    qsort(t->metrics, t->n_metrics, sizeof(report_name), cmp_metric_names);
    return DMMP_OK;
}

/* Mean and std of one cell over the variant's finite values. */
static void fill_cell_stats(report_table *t, size_t v, size_t m, const run_results *runs, size_t n_runs, double *buf)
{
    report_cell *c = &t->cells[v * t->n_metrics + m];
    size_t n = 0;
    for (size_t i = 0; i < n_runs; i++) {
        double x;
        if (!strcmp(runs[i].variant, t->variants[v]) && results_get_metric(&runs[i], t->split, t->metrics[m], &x) &&
            isfinite(x))
            buf[n++] = x;
    }
    c->n = n;
    c->mean = stats_mean(buf, n);
    c->std = stats_std(buf, n);
    c->p = NAN;
}

static void mark_best(report_table *t, size_t m)
{
    /* The gate diagnostics describe the gate; neither direction is better. */
    if (!strncmp(t->metrics[m], "gate_", 5)) return;
    int lower = report_metric_lower_is_better(t->metrics[m]);
    size_t with_values = 0;
    double best = NAN;
    for (size_t v = 0; v < t->n_variants; v++) {
        const report_cell *c = report_cell_at(t, v, m);
        if (c->n == 0) continue;
        with_values++;
        if (isnan(best) || (lower ? c->mean < best : c->mean > best)) best = c->mean;
    }
    /* A single row has nothing to beat. */
    if (with_values < 2) return;
    for (size_t v = 0; v < t->n_variants; v++) {
        report_cell *c = &t->cells[v * t->n_metrics + m];
        c->best = c->n > 0 && c->mean == best;
    }
}

/* Paired by seed: the baseline's value and this variant's, for every seed
 * both have a finite value of. */
static void fill_cell_test(report_table *t, size_t v, size_t b, size_t m, const run_results *runs, size_t n_runs,
                           double *base_vals, double *vals)
{
    report_cell *c = &t->cells[v * t->n_metrics + m];
    size_t n = 0;
    for (size_t i = 0; i < n_runs; i++) {
        double x, y;
        if (strcmp(runs[i].variant, t->variants[v]) || !results_get_metric(&runs[i], t->split, t->metrics[m], &x) ||
            !isfinite(x))
            continue;
        for (size_t j = 0; j < n_runs; j++) {
            if (runs[j].seed != runs[i].seed || strcmp(runs[j].variant, t->variants[b])) continue;
            if (results_get_metric(&runs[j], t->split, t->metrics[m], &y) && isfinite(y)) {
                base_vals[n] = y;
                vals[n++] = x;
            }
        }
    }
    double tstat, df;
    c->n_pairs = n;
    stats_paired_t(base_vals, vals, n, &tstat, &df, &c->p);
}

static dmmp_status copy_name(report_name dst, const char *src, const char *what)
{
    if (!src || !src[0] || strlen(src) > RESULTS_NAME_MAX)
        return dmmp_fail(DMMP_EINVAL, "%s must be 1..%d bytes long", what, RESULTS_NAME_MAX);
    memcpy(dst, src, strlen(src) + 1);
    return DMMP_OK;
}

static dmmp_status build(report_table *t, const run_results *runs, const char *const *sources, size_t n_runs,
                         const char *split, const char *metrics, const char *baseline)
{
    if (n_runs == 0) return dmmp_fail(DMMP_EINVAL, "no runs to report");
    DMMP_TRY(copy_name(t->split, split, "the split name"));
    DMMP_TRY(copy_name(t->baseline, baseline ? baseline : REPORT_DEFAULT_BASELINE, "the baseline variant name"));
    size_t max_metrics = 1;
    for (const char *c = metrics ? metrics : ""; *c; c++) max_metrics += *c == ',';
    if (!metrics) max_metrics = runs[0].n_metrics + 1;
    t->variants = calloc(n_runs, sizeof *t->variants);
    t->n_runs = calloc(n_runs, sizeof *t->n_runs);
    t->metrics = calloc(max_metrics, sizeof *t->metrics);
    if (!t->variants || !t->n_runs || !t->metrics) return dmmp_fail(DMMP_ENOMEM, "report: out of memory");
    DMMP_TRY(collect_variants(t, runs, sources, n_runs));
    DMMP_TRY(collect_metrics(t, runs, n_runs, metrics));
    t->cells = calloc(t->n_variants * t->n_metrics, sizeof *t->cells);
    double *buf = malloc(2 * n_runs * sizeof *buf);
    if (!t->cells || !buf) {
        free(buf);
        return dmmp_fail(DMMP_ENOMEM, "report: out of memory");
    }
    size_t b = find_name(t->variants, t->n_variants, t->baseline);
    t->has_baseline = b < t->n_variants;
    if (baseline && !t->has_baseline) {
        char present[2048] = "";
        for (size_t v = 0; v < t->n_variants && strlen(present) + strlen(t->variants[v]) + 3 < sizeof present; v++)
            strcat(strcat(present, v ? ", " : ""), t->variants[v]);
        free(buf);
        return dmmp_fail(DMMP_EINVAL, "--baseline %s: no run is that variant (the runs' variants: %s)", baseline,
                         present);
    }
    for (size_t m = 0; m < t->n_metrics; m++) {
        for (size_t v = 0; v < t->n_variants; v++) {
            fill_cell_stats(t, v, m, runs, n_runs, buf);
            if (t->has_baseline && v != b) fill_cell_test(t, v, b, m, runs, n_runs, buf, buf + n_runs);
        }
        mark_best(t, m);
    }
    free(buf);
    return DMMP_OK;
}

dmmp_status report_build(report_table *t, const run_results *runs, const char *const *sources, size_t n_runs,
                         const char *split, const char *metrics, const char *baseline)
{
    memset(t, 0, sizeof *t);
    dmmp_status s = build(t, runs, sources, n_runs, split, metrics, baseline);
    if (s != DMMP_OK) report_table_free(t);
    return s;
}

dmmp_status report_parse_format(const char *text, report_format *format)
{
    if (!strcmp(text, "md") || !strcmp(text, "markdown")) *format = REPORT_FORMAT_MD;
    else if (!strcmp(text, "latex") || !strcmp(text, "tex")) *format = REPORT_FORMAT_LATEX;
    else if (!strcmp(text, "csv")) *format = REPORT_FORMAT_CSV;
    else return dmmp_fail(DMMP_EINVAL, "--format: '%s' is not one of md, latex, csv", text);
    return DMMP_OK;
}
