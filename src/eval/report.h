/* The results table: runs grouped by variant, per metric the mean and sample
 * standard deviation over seeds, the best variant per column, and a paired
 * t-test (by seed) of a baseline variant ("dmmp") against every other one;
 * rendered as Markdown, LaTeX or CSV.
 *
 * Metric names are free strings. The documented ones set the default column
 * order (report_metric_order): auc_ctr, auc_cvr, auc_ctcvr, gauc_ctr,
 * logloss_ctr, logloss_ctcvr, then per family with K ascending
 * click_recall@K, purchase_recall@K, click_ndcg@K, purchase_ndcg@K,
 * hitrate@K, clickbait@K, exp_conversions@K; any other name follows,
 * alphabetically. Lower is better for logloss* and clickbait@K (any suffix),
 * higher for everything else but the gate diagnostics gate_*, which get no
 * best mark. Rows: teacher_only, two_tower, three_tower, dmmp, then any
 * other variant alphabetically; a row <v>_mean_gate right after v. */
#ifndef DMMP_EVAL_REPORT_H
#define DMMP_EVAL_REPORT_H

#include <stddef.h>

#include "core/status.h"
#include "train/results.h"

/* The variant the others are tested against unless one is chosen. */
#define REPORT_DEFAULT_BASELINE "dmmp"

typedef enum report_format { REPORT_FORMAT_MD, REPORT_FORMAT_LATEX, REPORT_FORMAT_CSV } report_format;

/* One variant x metric entry. */
typedef struct report_cell {
    size_t n;        /* runs of the variant with a finite value of the metric */
    double mean;     /* NaN when n is 0 */
    double std;      /* sample std; NaN when n < 2 */
    int best;        /* 1: best mean of its column (ties all marked) */
    size_t n_pairs;  /* seeds this variant shares with the baseline (for the test) */
    double p;        /* two-sided paired t-test p vs the baseline; NaN: n/a */
} report_cell;

typedef char report_name[RESULTS_NAME_MAX + 1];

typedef struct report_table {
    report_name split;
    report_name baseline;  /* the variant the others are tested against */
    int has_baseline;      /* 1 when a row is the baseline */
    size_t n_variants;
    report_name *variants; /* row order */
    size_t *n_runs;        /* runs (seeds) per variant */
    size_t n_metrics;
    report_name *metrics;  /* column order */
    report_cell *cells;    /* n_variants x n_metrics, row-major */
} report_table;

/* Builds the table over runs[0..n_runs) for eval split `split`. metrics is a
 * comma-separated list of column names in the order wanted, or NULL for the
 * metrics present in every run, in canonical order. baseline names the
 * variant tested against the others; it must be among the runs (else
 * DMMP_EINVAL naming the variants present). NULL: REPORT_DEFAULT_BASELINE
 * when a run is that variant, else no tests.
 * sources[i] names runs[i] in messages (duplicate variant+seed, no variant,
 * unknown metric). On failure t is left empty. */
dmmp_status report_build(report_table *t, const run_results *runs, const char *const *sources, size_t n_runs,
                         const char *split, const char *metrics, const char *baseline);

/* The cell of row v, column m. */
const report_cell *report_cell_at(const report_table *t, size_t v, size_t m);

/* Frees what report_build allocated; t becomes empty. */
void report_table_free(report_table *t);

/* Renders t as a complete document fragment (md/latex table with a caption
 * line, or CSV with a header row) into *out (malloc'ed; caller frees).
 * md/latex print a variant's p row only when one of its p-values is
 * defined (none are with one seed); CSV leaves an undefined mean, std or p
 * empty, so every column but the variant is numeric. */
dmmp_status report_render(const report_table *t, report_format format, char **out);

/* Parses "md", "latex" or "csv". */
dmmp_status report_parse_format(const char *text, report_format *format);

/* 1 when a smaller value of metric is better (logloss*, clickbait@K). */
int report_metric_lower_is_better(const char *metric);

/* strcmp-like order of two metric names in the canonical column order. */
int report_metric_order(const char *a, const char *b);

/* strcmp-like order of two variant names in the canonical row order. */
int report_variant_order(const char *a, const char *b);

#endif
