/* Rendering the results table as Markdown, LaTeX (booktabs) or CSV. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/report.h"

/* A growing text buffer; the first failed allocation sticks (ok = 0). */
typedef struct text_buf {
    char *s;
    size_t len, cap;
    int ok;
} text_buf;

static void tb_printf(text_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tb_printf(text_buf *b, const char *fmt, ...)
{
    if (!b->ok) return;
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0) {
        b->ok = 0;
        return;
    }
    if (b->len + (size_t)need + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + (size_t)need + 1) cap *= 2;
        char *grown = realloc(b->s, cap);
        if (!grown) {
            b->ok = 0;
            return;
        }
        b->s = grown;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)need;
}

/* Writes text with the characters special to format escaped. Markdown's
 * '_' stays: inside a word it never starts emphasis (CommonMark). */
static void tb_name(text_buf *b, const char *text, report_format format)
{
    for (const char *c = text; *c; c++) {
        if (format == REPORT_FORMAT_LATEX && strchr("_&%$#{}", *c)) tb_printf(b, "\\%c", *c);
        else if (format == REPORT_FORMAT_LATEX && (*c == '~' || *c == '^' || *c == '\\'))
            tb_printf(b, "\\%s{}", *c == '~' ? "textasciitilde" : *c == '^' ? "textasciicircum" : "textbackslash");
        else if (format == REPORT_FORMAT_MD && strchr("|\\*`", *c)) tb_printf(b, "\\%c", *c);
        else tb_printf(b, "%c", *c);
    }
}

/* CSV field: quoted when it holds a comma, quote or newline (RFC 4180). */
static void tb_csv_field(text_buf *b, const char *text)
{
    if (!strpbrk(text, ",\"\n\r")) {
        tb_printf(b, "%s", text);
        return;
    }
    tb_printf(b, "\"");
    for (const char *c = text; *c; c++) tb_printf(b, *c == '"' ? "\"\"" : "%c", *c);
    tb_printf(b, "\"");
}

static void tb_p_value(text_buf *b, double p, report_format format)
{
    if (isnan(p)) tb_printf(b, "n/a");
    else if (format == REPORT_FORMAT_CSV) tb_printf(b, "%.6g", p);
    else if (p < 0.001) tb_printf(b, format == REPORT_FORMAT_LATEX ? "$<$0.001" : "<0.001");
    else tb_printf(b, "%.3f", p);
}

/* "mean ± std" (mean alone for one run), bold when best, n when it differs
 * from the variant's run count (a metric some runs lack). */
static void tb_cell(text_buf *b, const report_cell *c, size_t n_runs, report_format format)
{
    if (c->n == 0) {
        tb_printf(b, "-");
        return;
    }
    const char *pm = format == REPORT_FORMAT_LATEX ? " $\\pm$ " : " ± ";
    if (c->best) tb_printf(b, format == REPORT_FORMAT_LATEX ? "\\textbf{" : "**");
    tb_printf(b, "%.4f", c->mean);
    if (c->n >= 2) tb_printf(b, "%s%.4f", pm, c->std);
    if (c->best) tb_printf(b, format == REPORT_FORMAT_LATEX ? "}" : "**");
    if (c->n != n_runs) tb_printf(b, " (n=%zu)", c->n);
}

/* 1 when variant v is tested against the baseline (every row but the baseline's). */
static int is_tested(const report_table *t, size_t v) { return t->has_baseline && strcmp(t->variants[v], t->baseline); }

/* 1 when variant v gets a p row: tested, and some p-value of it is defined
 * (a row of n/a only says there was one seed; the caption says so). */
static int has_p_row(const report_table *t, size_t v)
{
    if (!is_tested(t, v)) return 0;
    for (size_t m = 0; m < t->n_metrics; m++)
        if (!isnan(report_cell_at(t, v, m)->p)) return 1;
    return 0;
}

static int any_p_row(const report_table *t)
{
    for (size_t v = 0; v < t->n_variants; v++)
        if (has_p_row(t, v)) return 1;
    return 0;
}

static void caption(text_buf *b, const report_table *t, const char *prefix, report_format format)
{
    tb_printf(b, "%sSplit %s: mean%ssample std over seeds (n runs per variant). ", prefix, t->split,
              format == REPORT_FORMAT_LATEX ? " $\\pm$ " : " ± ");
    int gate = 0;
    for (size_t m = 0; m < t->n_metrics; m++) gate |= !strncmp(t->metrics[m], "gate_", 5);
    tb_printf(b, "%s: best per column (higher is better; lower for logloss and clickbait@K%s).",
              format == REPORT_FORMAT_LATEX ? "Bold" : "**Bold**", gate ? "; none for the gate diagnostics" : "");
    if (any_p_row(t)) {
        tb_printf(b, " p: two-sided paired t-test against ");
        tb_name(b, t->baseline, format);
        tb_printf(b, " over the seeds both have (n/a: fewer than 2 pairs or no variance).");
    } else if (t->has_baseline && t->n_variants > 1) {
        tb_printf(b, " No p-values against ");
        tb_name(b, t->baseline, format);
        tb_printf(b, ": a paired t-test needs 2 or more seeds both variants have.");
    }
    tb_printf(b, "\n");
}

static void render_md(text_buf *b, const report_table *t)
{
    tb_printf(b, "| variant | n |");
    for (size_t m = 0; m < t->n_metrics; m++) {
        tb_printf(b, " ");
        tb_name(b, t->metrics[m], REPORT_FORMAT_MD);
        tb_printf(b, " |");
    }
    tb_printf(b, "\n|---|---:|");
    for (size_t m = 0; m < t->n_metrics; m++) tb_printf(b, "---:|");
    tb_printf(b, "\n");
    for (size_t v = 0; v < t->n_variants; v++) {
        tb_printf(b, "| ");
        tb_name(b, t->variants[v], REPORT_FORMAT_MD);
        tb_printf(b, " | %zu |", t->n_runs[v]);
        for (size_t m = 0; m < t->n_metrics; m++) {
            tb_printf(b, " ");
            tb_cell(b, report_cell_at(t, v, m), t->n_runs[v], REPORT_FORMAT_MD);
            tb_printf(b, " |");
        }
        tb_printf(b, "\n");
        if (!has_p_row(t, v)) continue;
        tb_printf(b, "| p vs ");
        tb_name(b, t->baseline, REPORT_FORMAT_MD);
        tb_printf(b, " | |");
        for (size_t m = 0; m < t->n_metrics; m++) {
            tb_printf(b, " ");
            tb_p_value(b, report_cell_at(t, v, m)->p, REPORT_FORMAT_MD);
            tb_printf(b, " |");
        }
        tb_printf(b, "\n");
    }
    tb_printf(b, "\n");
    caption(b, t, "", REPORT_FORMAT_MD);
}

static void render_latex(text_buf *b, const report_table *t)
{
    caption(b, t, "% ", REPORT_FORMAT_LATEX);
    tb_printf(b, "%% needs \\usepackage{booktabs}\n\\begin{tabular}{lr");
    for (size_t m = 0; m < t->n_metrics; m++) tb_printf(b, "r");
    tb_printf(b, "}\n\\toprule\nVariant & $n$");
    for (size_t m = 0; m < t->n_metrics; m++) {
        tb_printf(b, " & ");
        tb_name(b, t->metrics[m], REPORT_FORMAT_LATEX);
        tb_printf(b, report_metric_lower_is_better(t->metrics[m]) ? " $\\downarrow$" : " $\\uparrow$");
    }
    tb_printf(b, " \\\\\n\\midrule\n");
    for (size_t v = 0; v < t->n_variants; v++) {
        tb_name(b, t->variants[v], REPORT_FORMAT_LATEX);
        tb_printf(b, " & %zu", t->n_runs[v]);
        for (size_t m = 0; m < t->n_metrics; m++) {
            tb_printf(b, " & ");
            tb_cell(b, report_cell_at(t, v, m), t->n_runs[v], REPORT_FORMAT_LATEX);
        }
        tb_printf(b, " \\\\\n");
        if (!has_p_row(t, v)) continue;
        tb_printf(b, "\\quad{\\footnotesize $p$ vs ");
        tb_name(b, t->baseline, REPORT_FORMAT_LATEX);
        tb_printf(b, "} &");
        for (size_t m = 0; m < t->n_metrics; m++) {
            tb_printf(b, " & {\\footnotesize ");
            tb_p_value(b, report_cell_at(t, v, m)->p, REPORT_FORMAT_LATEX);
            tb_printf(b, "}");
        }
        tb_printf(b, " \\\\\n");
    }
    tb_printf(b, "\\bottomrule\n\\end{tabular}\n");
}

/* One row per variant; per metric: mean, std, best flag (0/1) and the p-value
 * against the baseline (an empty field where undefined; pandas reads it as
 * NaN and the column stays numeric). */
static void render_csv(text_buf *b, const report_table *t)
{
    tb_printf(b, "variant,n");
    for (size_t m = 0; m < t->n_metrics; m++) {
        char col[sizeof(report_name) * 2 + 16];
        snprintf(col, sizeof col, "%s", t->metrics[m]);
        tb_printf(b, ",");
        tb_csv_field(b, col);
        const char *suffixes[] = {"_std", "_best", "_p_vs_"};
        for (size_t s = 0; s < (t->has_baseline ? 3u : 2u); s++) {
            snprintf(col, sizeof col, "%s%s%s", t->metrics[m], suffixes[s], s == 2 ? t->baseline : "");
            tb_printf(b, ",");
            tb_csv_field(b, col);
        }
    }
    tb_printf(b, "\n");
    for (size_t v = 0; v < t->n_variants; v++) {
        tb_csv_field(b, t->variants[v]);
        tb_printf(b, ",%zu", t->n_runs[v]);
        for (size_t m = 0; m < t->n_metrics; m++) {
            const report_cell *c = report_cell_at(t, v, m);
            /* Undefined values are empty fields: the columns stay numeric. */
            tb_printf(b, ",");
            if (c->n > 0) tb_printf(b, "%.10g", c->mean);
            tb_printf(b, ",");
            if (c->n > 1) tb_printf(b, "%.10g", c->std);
            tb_printf(b, ",%d", c->best);
            if (!t->has_baseline) continue;
            tb_printf(b, ",");
            /* The baseline row is not tested against itself: left empty. */
            if (is_tested(t, v) && !isnan(c->p)) tb_p_value(b, c->p, REPORT_FORMAT_CSV);
        }
        tb_printf(b, "\n");
    }
}

dmmp_status report_render(const report_table *t, report_format format, char **out)
{
    text_buf b = {NULL, 0, 0, 1};
    switch (format) {
    case REPORT_FORMAT_MD: render_md(&b, t); break;
    case REPORT_FORMAT_LATEX: render_latex(&b, t); break;
    case REPORT_FORMAT_CSV: render_csv(&b, t); break;
    default: return dmmp_fail(DMMP_EINVAL, "report_render: unknown format %d", (int)format);
    }
    if (!b.ok || !b.s) {
        free(b.s);
        return dmmp_fail(DMMP_ENOMEM, "report: out of memory rendering the table");
    }
    *out = b.s;
    return DMMP_OK;
}
