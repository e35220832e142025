/* dmmp plot: one PNG of several panels (gnuplot multiplot). Every curve is a
 * small data file and the layout a generated script, both in a temporary
 * directory; a failed gnuplot run leaves no output file behind. */
#include "eval/plot.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval/gnuplot.h"
#include "eval/output_file.h"
#include "eval/report.h"
#include "eval/stats.h"

#define PANEL_W 720
#define PANEL_H 430
/* Keys beside the plot area, never over the curves; entries in drawing order reversed. */
#define KEY_OUTSIDE "outside right top vertical invert"
#define KEY_OUTSIDE_IN_ORDER "outside right top vertical noinvert"

typedef struct plot_writer {
    char dir[512];
    FILE *script;
    int n_curves;     /* data files written so far (names c<i>.dat) */
    int panel_curves; /* curves in the open panel */
    int on_y2;        /* 1: curves go on the right-hand axis */
    dmmp_status st;
} plot_writer;

/* Writes s as a gnuplot single-quoted string (a quote is doubled). */
static void put_quoted(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

static void panel_begin(plot_writer *w, const char *title, const char *xlabel, const char *ylabel, int log_x,
                        int log_y, const char *key_position)
{
    FILE *f = w->script;
    fprintf(f, "\nset title ");
    put_quoted(f, title);
    fprintf(f, "\nset xlabel ");
    put_quoted(f, xlabel);
    fprintf(f, "\nset ylabel ");
    put_quoted(f, ylabel);
    fprintf(f, "\n%s logscale x\n%s logscale y\nset key %s\nset xtics autofreq\n", log_x ? "set" : "unset",
            log_y ? "set" : "unset", key_position);
    w->panel_curves = 0;
}

/* Adds one curve (points with finite y; err: error bars or NULL); style
 * (gnuplot "lc .. dt .." words) or NULL for the next default colour. */
static void curve_add(plot_writer *w, const char *title, const double *x, const double *y, const double *err,
                      size_t n, const char *style)
{
    if (w->st != DMMP_OK) return;
    char path[600];
    snprintf(path, sizeof path, "%s/c%d.dat", w->dir, w->n_curves);
    FILE *data = fopen(path, "w");
    if (!data) {
        w->st = dmmp_fail(DMMP_EIO, "plot: cannot write %s", path);
        return;
    }
    size_t points = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(y[i])) continue;
        fprintf(data, "%.17g %.17g", x[i], y[i]);
        if (err) fprintf(data, " %.17g", isfinite(err[i]) ? err[i] : 0.0);
        fputc('\n', data);
        points++;
    }
    if (fclose(data) != 0) w->st = dmmp_fail(DMMP_EIO, "plot: cannot write %s", path);
    w->n_curves++;
    if (points == 0) return;
    fprintf(w->script, "%s", w->panel_curves ? ", \\\n     " : "plot ");
    put_quoted(w->script, path);
    /* lw 2 unless the style sets its own width */
    const char *lw = style && strstr(style, "lw ") ? "" : "lw 2 ";
    fprintf(w->script, err ? " using 1:2:3%s with yerrorlines %s%s " : points > 40 ? " using 1:2%s with lines %s%s "
                                                                                  : " using 1:2%s with linespoints %s%s ",
            w->on_y2 ? " axes x1y2" : "", lw, style ? style : "");
    if (title) {
        fprintf(w->script, "title ");
        put_quoted(w->script, title);
    } else {
        fprintf(w->script, "notitle");
    }
    w->panel_curves++;
}

static void panel_end(plot_writer *w)
{
    /* Keep the multiplot slot even when every value was NaN. */
    if (w->panel_curves == 0) fprintf(w->script, "set key off\nplot [0:1] NaN notitle\n");
    else fprintf(w->script, "\n");
    w->on_y2 = 0;
    fprintf(w->script, "unset y2tics\nunset y2label\nset ytics mirror\n");
}

/* Line width of the curve drawn at position `from_top` (0: drawn last, on
 * top): curves drawn earlier are wider, so a curve covered by a later one
 * still shows on both sides of it. */
static double layer_width(size_t from_top) { return 1.25 + 0.9 * (double)(from_top < 4 ? from_top : 4); }

static int is_variant(const run_results *r, const char *variant) { return !strcmp(r->variant, variant); }

/* Distinct series names starting with prefix over the variant's runs, in
 * order of first appearance; returns the count. */
static size_t series_names(const run_results *runs, size_t n_runs, const char *variant, const char *prefix,
                           const char **names, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < n_runs; i++) {
        if (variant && !is_variant(&runs[i], variant)) continue;
        for (size_t s = 0; s < runs[i].n_series; s++) {
            const char *name = runs[i].series[s].name;
            if (strncmp(name, prefix, strlen(prefix)) || (!strcmp(prefix, "val/") && !strstr(name, "auc"))) continue;
            size_t k = 0;
            while (k < n && strcmp(names[k], name)) k++;
            if (k == n && n < cap) names[n++] = name;
        }
    }
    return n;
}

/* Mean over the variant's seeds of series `name` per epoch (epochs 1..). */
static void curve_series_mean(plot_writer *w, const run_results *runs, size_t n_runs, const char *variant,
                              const char *name, const char *title, const char *style)
{
    size_t epochs = 0;
    for (size_t i = 0; i < n_runs; i++) {
        const results_series *s = is_variant(&runs[i], variant) ? results_series_find(&runs[i], name) : NULL;
        if (s && s->n > epochs) epochs = s->n;
    }
    double *x = malloc((epochs + 1) * sizeof *x), *y = malloc((epochs + 1) * sizeof *y);
    if (!x || !y) {
        w->st = dmmp_fail(DMMP_ENOMEM, "plot: out of memory");
        free(x);
        free(y);
        return;
    }
    for (size_t e = 0; e < epochs; e++) {
        double sum = 0;
        size_t count = 0;
        for (size_t i = 0; i < n_runs; i++) {
            const results_series *s = is_variant(&runs[i], variant) ? results_series_find(&runs[i], name) : NULL;
            if (s && e < s->n && isfinite(s->values[e])) {
                sum += s->values[e];
                count++;
            }
        }
        x[e] = (double)(e + 1);
        y[e] = count ? sum / (double)count : NAN;
    }
    curve_add(w, title, x, y, NULL, epochs, style);
    free(x);
    free(y);
}

/* Whole epochs on the x axis: one tick per epoch up to 12, else every
 * ceil(epochs / 10)-th; undone by axis_reset. */
static void epoch_axis(plot_writer *w, size_t epochs)
{
    size_t step = epochs <= 12 ? 1 : (epochs + 9) / 10;
    fprintf(w->script, "set xtics %zu\nset format x '%%.0f'\nset xrange [%g:%g]\n", step, 1.0 - 0.15,
            (double)(epochs > 1 ? epochs : 1) + 0.15);
}

static void axis_reset(plot_writer *w) { fprintf(w->script, "set format x '%% g'\nset autoscale x\nset xtics autofreq\n"); }

/* Epochs of the longest series of the runs (of variant, or all when NULL) under prefix. */
static size_t max_epochs(const run_results *runs, size_t n_runs, const char *variant, const char *prefix)
{
    size_t e = 1;
    for (size_t i = 0; i < n_runs; i++) {
        if (variant && !is_variant(&runs[i], variant)) continue;
        for (size_t s = 0; s < runs[i].n_series; s++)
            if (!strncmp(runs[i].series[s].name, prefix, strlen(prefix)) && runs[i].series[s].n > e)
                e = runs[i].series[s].n;
    }
    return e;
}

/* Distinct curve names starting with prefix over the variant's runs. */
static size_t curve_names(const run_results *runs, size_t n_runs, const char *variant, const char *prefix,
                          const char **names, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < n_runs; i++) {
        if (variant && !is_variant(&runs[i], variant)) continue;
        for (size_t s = 0; s < runs[i].curves.n_series; s++) {
            const char *name = runs[i].curves.series[s].name;
            if (strncmp(name, prefix, strlen(prefix))) continue;
            size_t k = 0;
            while (k < n && strcmp(names[k], name)) k++;
            if (k == n && n < cap) names[n++] = name;
        }
    }
    return n;
}

/* Mean over the variant's seeds of per-step curve `name` (at the steps of
 * its first run; a run contributes where it has a point at that step). */
static void curve_steps_mean(plot_writer *w, const run_results *runs, size_t n_runs, const char *variant,
                             const char *name, const char *title, const char *style)
{
    const run_results *first = NULL;
    for (size_t i = 0; i < n_runs && !first; i++)
        if (is_variant(&runs[i], variant) && results_curve_find(&runs[i], name)) first = &runs[i];
    if (!first) return;
    size_t n = first->curves.n;
    double *x = malloc((n + 1) * sizeof *x), *y = malloc((n + 1) * sizeof *y);
    if (!x || !y) {
        w->st = dmmp_fail(DMMP_ENOMEM, "plot: out of memory");
        free(x);
        free(y);
        return;
    }
    for (size_t p = 0; p < n; p++) {
        double sum = 0;
        size_t count = 0;
        for (size_t i = 0; i < n_runs; i++) {
            const results_series *c = is_variant(&runs[i], variant) ? results_curve_find(&runs[i], name) : NULL;
            if (c && p < c->n && runs[i].curves.step[p] == first->curves.step[p] && isfinite(c->values[p])) {
                sum += c->values[p];
                count++;
            }
        }
        x[p] = first->curves.step[p];
        y[p] = count ? sum / (double)count : NAN;
    }
    curve_add(w, title, x, y, NULL, n, style);
    free(x);
    free(y);
}

/* 1 when every finite value of the variant's curves with prefix is > 0. */
static int curves_positive(const run_results *runs, size_t n_runs, const char *variant, const char *prefix)
{
    for (size_t i = 0; i < n_runs; i++) {
        if (!is_variant(&runs[i], variant)) continue;
        for (size_t s = 0; s < runs[i].curves.n_series; s++) {
            const results_series *c = &runs[i].curves.series[s];
            if (strncmp(c->name, prefix, strlen(prefix))) continue;
            for (size_t p = 0; p < c->n; p++)
                if (isfinite(c->values[p]) && c->values[p] <= 0) return 0;
        }
    }
    return 1;
}

/* 1 when every finite value of the variant's series with prefix is > 0. */
static int all_positive(const run_results *runs, size_t n_runs, const char *variant, const char *prefix)
{
    for (size_t i = 0; i < n_runs; i++) {
        if (!is_variant(&runs[i], variant)) continue;
        for (size_t s = 0; s < runs[i].n_series; s++) {
            const results_series *ser = &runs[i].series[s];
            if (strncmp(ser->name, prefix, strlen(prefix))) continue;
            for (size_t e = 0; e < ser->n; e++)
                if (isfinite(ser->values[e]) && ser->values[e] <= 0) return 0;
        }
    }
    return 1;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* Distinct K of metrics "<family>@K" in split over the runs (of variant,
 * or all when NULL), ascending; returns the count. */
static size_t recall_ks(const run_results *runs, size_t n_runs, const char *variant, const char *family,
                        const char *split, long *ks, size_t cap)
{
    size_t n = 0, flen = strlen(family);
    for (size_t i = 0; i < n_runs; i++) {
        if (variant && !is_variant(&runs[i], variant)) continue;
        for (size_t m = 0; m < runs[i].n_metrics; m++) {
            const results_metric *met = &runs[i].metrics[m];
            if (strcmp(met->split, split) || strncmp(met->name, family, flen) || met->name[flen] != '@') continue;
            char *end;
            long k = strtol(met->name + flen + 1, &end, 10);
            if (*end || k <= 0) continue;
            size_t j = 0;
            while (j < n && ks[j] != k) j++;
            if (j == n && n < cap) ks[n++] = k;
        }
    }
    qsort(ks, n, sizeof *ks, cmp_long);
    return n;
}

static void recall_panel(plot_writer *w, const run_results *runs, size_t n_runs, const char (*variants)[RESULTS_NAME_MAX + 1],
                         size_t n_variants, const char *family, const char *title, const char *split)
{
    long ks[64];
    size_t n_ks = recall_ks(runs, n_runs, NULL, family, split, ks, 64);
    char full_title[256];
    snprintf(full_title, sizeof full_title, "%s (split %s, mean +/- std over seeds)", title, split);
    panel_begin(w, full_title, "K (top-K retrieved items)", "recall", 1, 0, KEY_OUTSIDE);
    fprintf(w->script, "set xtics (");
    for (size_t k = 0; k < n_ks; k++) fprintf(w->script, "%s%ld", k ? ", " : "", ks[k]);
    fprintf(w->script, ")\nset xrange [%g:%g]\n", (double)ks[0] / 1.25, (double)ks[n_ks - 1] * 1.25);
    double x[64], y[64], err[64], vals[4096];
    /* The first variants (teacher_only) are drawn last, on top of the others. */
    for (size_t vr = n_variants; vr-- > 0;) {
        size_t v = vr, n_pts = 0;
        for (size_t k = 0; k < n_ks; k++) {
            char name[RESULTS_NAME_MAX + 1];
            snprintf(name, sizeof name, "%s@%ld", family, ks[k]);
            size_t n = 0;
            for (size_t i = 0; i < n_runs && n < 4096; i++) {
                double value;
                if (is_variant(&runs[i], variants[v]) && results_get_metric(&runs[i], split, name, &value) &&
                    isfinite(value))
                    vals[n++] = value;
            }
            if (n == 0) continue;
            x[n_pts] = (double)ks[k];
            y[n_pts] = stats_mean(vals, n);
            err[n_pts++] = n > 1 ? stats_std(vals, n) : 0.0;
        }
        char style[64]; /* a variant keeps its colour in every panel */
        snprintf(style, sizeof style, "lc %zu pt %zu lw %.2f", v + 1, v % 13 + 1, layer_width(v));
        if (n_pts) curve_add(w, variants[v], x, y, err, n_pts, style);
    }
    panel_end(w);
    axis_reset(w);
}

#define MAX_VAL_METRICS 16

typedef struct plot_plan {
    size_t n_variants;
    report_name *variants;   /* canonical row order of the report */
    int *has_losses;         /* per variant: per-epoch loss/ series */
    int *has_curves;         /* per variant: per-step loss/ curves (drawn instead of the epochs) */
    int *has_weight_curves;  /* per variant: per-step weight/ curves */
    int epoch_weights;       /* weight/ series of a variant without curves */
    int gate;                /* gate/w_v_mean curves */
    size_t n_val;            /* validation metrics, one panel each (teacher_ folded in) */
    report_name val[MAX_VAL_METRICS];
    int click_recall, purchase_recall;
    size_t n_panels;
} plot_plan;

static int cmp_variants(const void *a, const void *b) { return report_variant_order(a, b); }

/* The validation metric a val/ series shows: its name without "val/" and "teacher_". */
static const char *val_base(const char *series)
{
    const char *m = series + 4;
    return strncmp(m, "teacher_", 8) ? m : m + 8;
}

static dmmp_status plan_panels(plot_plan *p, const run_results *runs, size_t n_runs, const char *split)
{
    memset(p, 0, sizeof *p);
    p->variants = calloc(n_runs, sizeof *p->variants);
    p->has_losses = calloc(n_runs, sizeof *p->has_losses);
    p->has_curves = calloc(n_runs, sizeof *p->has_curves);
    p->has_weight_curves = calloc(n_runs, sizeof *p->has_weight_curves);
    if (!p->variants || !p->has_losses || !p->has_curves || !p->has_weight_curves)
        return dmmp_fail(DMMP_ENOMEM, "plot: out of memory");
    for (size_t i = 0; i < n_runs; i++) {
        const char *v = runs[i].variant[0] ? runs[i].variant : "run";
        size_t k = 0;
        while (k < p->n_variants && strcmp(p->variants[k], v)) k++;
        if (k == p->n_variants) snprintf(p->variants[p->n_variants++], sizeof(report_name), "%s", v);
    }
    qsort(p->variants, p->n_variants, sizeof *p->variants, cmp_variants);
    const char *name;
    long k;
    for (size_t v = 0; v < p->n_variants; v++) {
        p->has_curves[v] = curve_names(runs, n_runs, p->variants[v], "loss/", &name, 1) > 0;
        p->has_weight_curves[v] = curve_names(runs, n_runs, p->variants[v], "weight/", &name, 1) > 0;
        p->has_losses[v] = !p->has_curves[v] && series_names(runs, n_runs, p->variants[v], "loss/", &name, 1) > 0;
        p->epoch_weights |= !p->has_weight_curves[v] && series_names(runs, n_runs, p->variants[v], "weight/", &name, 1) > 0;
        p->n_panels += (size_t)(p->has_curves[v] + p->has_losses[v]);
    }
    p->gate = curve_names(runs, n_runs, NULL, "gate/w_v_mean", &name, 1) > 0;
    const char *vals[256];
    size_t nv = series_names(runs, n_runs, NULL, "val/", vals, 256);
    for (size_t i = 0; i < nv; i++) {
        const char *base = val_base(vals[i]);
        size_t j = 0;
        while (j < p->n_val && strcmp(p->val[j], base)) j++;
        if (j == p->n_val && p->n_val < MAX_VAL_METRICS) snprintf(p->val[p->n_val++], sizeof(report_name), "%s", base);
    }
    p->click_recall = recall_ks(runs, n_runs, NULL, "click_recall", split, &k, 1) > 0;
    p->purchase_recall = recall_ks(runs, n_runs, NULL, "purchase_recall", split, &k, 1) > 0;
    p->n_panels += (size_t)(p->epoch_weights + p->gate + p->click_recall + p->purchase_recall) + p->n_val;
    if (p->n_panels == 0)
        return dmmp_fail(DMMP_EINVAL, "plot: nothing to draw (no loss/, weight/ or val/*auc* series and no "
                                      "click_recall@K or purchase_recall@K in split '%s')",
                         split);
    return DMMP_OK;
}

static void plan_free(plot_plan *p)
{
    free(p->variants);
    free(p->has_losses);
    free(p->has_curves);
    free(p->has_weight_curves);
}

static size_t seeds_of(const run_results *runs, size_t n_runs, const char *variant)
{
    size_t seeds = 0;
    for (size_t i = 0; i < n_runs; i++) seeds += is_variant(&runs[i], variant);
    return seeds;
}

/* Per variant its per-step losses and weights (or, for a run without
 * curves, its losses per epoch); then across variants the per-epoch
 * weights of runs without curves, the gate, one panel per validation
 * metric and the Recall@K panels. Across variants a variant keeps its
 * colour; the first variants are drawn last, so teacher_only is never
 * hidden under the others; every key sits beside its plot. */
static void write_panels(plot_writer *w, const plot_plan *p, const run_results *runs, size_t n_runs, const char *split)
{
    const char **names = malloc(4096 * sizeof *names);
    if (!names) {
        w->st = dmmp_fail(DMMP_ENOMEM, "plot: out of memory");
        return;
    }
    char title[2 * RESULTS_NAME_MAX + 64];
    for (size_t v = 0; v < p->n_variants; v++) {
        size_t seeds = seeds_of(runs, n_runs, p->variants[v]);
        const char *of = seeds == 1 ? "run" : "runs";
        if (p->has_curves[v]) {
            snprintf(title, sizeof title, "Training per step: %s (mean of %zu %s): batch loss per term, loss weight dashed",
                     p->variants[v], seeds, of);
            int log_y = curves_positive(runs, n_runs, p->variants[v], "loss/");
            panel_begin(w, title, "optimiser step", log_y ? "batch loss (log scale)" : "batch loss", 0, log_y,
                        KEY_OUTSIDE_IN_ORDER);
            size_t n = curve_names(runs, n_runs, p->variants[v], "loss/", names, 4096);
            char style[48], weight[RESULTS_NAME_MAX + 1];
            /* the axis settings go before the plot command the curves make up */
            if (p->has_weight_curves[v]) fprintf(w->script, "set y2tics\nset ytics nomirror\nset y2label 'loss weight (dashed)'\n");
            for (size_t c = 0; c < n; c++) {
                snprintf(style, sizeof style, "lc %zu pt %zu", c + 1, c % 13 + 1);
                curve_steps_mean(w, runs, n_runs, p->variants[v], names[c], names[c] + 5, style);
            }
            if (p->has_weight_curves[v]) {
                w->on_y2 = 1;
                for (size_t c = 0; c < n; c++) {
                    snprintf(weight, sizeof weight, "weight/%s", names[c] + 5);
                    snprintf(style, sizeof style, "lc %zu dt 2 pt %zu", c + 1, c % 13 + 1);
                    curve_steps_mean(w, runs, n_runs, p->variants[v], weight, NULL, style);
                }
            }
            panel_end(w);
        } else if (p->has_losses[v]) {
            snprintf(title, sizeof title, "Training losses: %s (mean of %zu %s)", p->variants[v], seeds, of);
            int log_y = all_positive(runs, n_runs, p->variants[v], "loss/");
            panel_begin(w, title, "epoch", log_y ? "loss per term (log scale)" : "loss per term", 0, log_y,
                        KEY_OUTSIDE_IN_ORDER);
            epoch_axis(w, max_epochs(runs, n_runs, p->variants[v], "loss/"));
            size_t n = series_names(runs, n_runs, p->variants[v], "loss/", names, 4096);
            for (size_t c = 0; c < n; c++)
                curve_series_mean(w, runs, n_runs, p->variants[v], names[c], names[c] + 5, NULL);
            panel_end(w);
            axis_reset(w);
        }
    }
    if (p->epoch_weights) {
        panel_begin(w, "Loss weights per term (mean over seeds)", "epoch", "weight", 0, 0, KEY_OUTSIDE);
        epoch_axis(w, max_epochs(runs, n_runs, NULL, "weight/"));
        for (size_t v = p->n_variants; v-- > 0;) {
            if (p->has_weight_curves[v]) continue;
            size_t n = series_names(runs, n_runs, p->variants[v], "weight/", names, 4096);
            for (size_t c = n; c-- > 0;) {
                /* Colour says the variant (as in the Recall@K panels), dashes and marks the term. */
                char style[64];
                snprintf(style, sizeof style, "lc %zu dt %zu pt %zu lw %.2f", v + 1, c % 5 + 1, c % 13 + 1, layer_width(v));
                snprintf(title, sizeof title, "%s: %s", p->variants[v], names[c] + 7);
                curve_series_mean(w, runs, n_runs, p->variants[v], names[c], title, style);
            }
        }
        panel_end(w);
        axis_reset(w);
    }
    if (p->gate) {
        panel_begin(w, "User gate: conversion weight w_v per step (batch mean, +/- sd dashed)", "optimiser step", "w_v", 0,
                    0, KEY_OUTSIDE);
        for (size_t v = p->n_variants; v-- > 0;) {
            if (!curve_names(runs, n_runs, p->variants[v], "gate/w_v_mean", names, 1)) continue;
            char style[64];
            snprintf(style, sizeof style, "lc %zu lw %.2f", v + 1, layer_width(v));
            curve_steps_mean(w, runs, n_runs, p->variants[v], "gate/w_v_mean", p->variants[v], style);
            /* mean +/- sd as two dashed lines of the same colour */
            const run_results *first = NULL;
            for (size_t i = 0; i < n_runs && !first; i++)
                if (is_variant(&runs[i], p->variants[v]) && results_curve_find(&runs[i], "gate/w_v_sd")) first = &runs[i];
            if (!first) continue;
            const results_series *m = results_curve_find(first, "gate/w_v_mean"), *sd = results_curve_find(first, "gate/w_v_sd");
            double *x = malloc((first->curves.n + 1) * sizeof *x), *y = malloc((first->curves.n + 1) * sizeof *y);
            if (!x || !y || !m) {
                free(x);
                free(y);
                continue;
            }
            snprintf(style, sizeof style, "lc %zu dt 2 lw 1", v + 1);
            for (int sign = -1; sign <= 1; sign += 2) {
                for (size_t q = 0; q < first->curves.n; q++) {
                    x[q] = first->curves.step[q];
                    y[q] = m->values[q] + sign * sd->values[q];
                }
                snprintf(title, sizeof title, "%s seed %lld: %s sd", p->variants[v], (long long)first->seed,
                         sign < 0 ? "-" : "+");
                curve_add(w, title, x, y, NULL, first->curves.n, style);
            }
            free(x);
            free(y);
        }
        panel_end(w);
    }
    for (size_t k = 0; k < p->n_val; k++) {
        snprintf(title, sizeof title, "Validation %s per epoch (mean over seeds; dashed: the variant's teacher)", p->val[k]);
        panel_begin(w, title, "epoch", p->val[k], 0, 0, KEY_OUTSIDE);
        epoch_axis(w, max_epochs(runs, n_runs, NULL, "val/"));
        char own[RESULTS_NAME_MAX + 1], teach[RESULTS_NAME_MAX + 1];
        snprintf(own, sizeof own, "val/%s", p->val[k]);
        snprintf(teach, sizeof teach, "val/teacher_%s", p->val[k]);
        for (size_t v = p->n_variants; v-- > 0;) {
            char style[64];
            snprintf(style, sizeof style, "lc %zu dt 2 pt %zu lw %.2f", v + 1, v % 13 + 1, layer_width(2 * v + 1));
            snprintf(title, sizeof title, "%s (teacher)", p->variants[v]);
            curve_series_mean(w, runs, n_runs, p->variants[v], teach, title, style);
            snprintf(style, sizeof style, "lc %zu dt 1 pt %zu lw %.2f", v + 1, v % 13 + 1, layer_width(2 * v));
            curve_series_mean(w, runs, n_runs, p->variants[v], own, p->variants[v], style);
        }
        panel_end(w);
        axis_reset(w);
    }
    if (p->click_recall)
        recall_panel(w, runs, n_runs, (const char(*)[RESULTS_NAME_MAX + 1])p->variants, p->n_variants, "click_recall",
                     "Click Recall@K", split);
    if (p->purchase_recall)
        recall_panel(w, runs, n_runs, (const char(*)[RESULTS_NAME_MAX + 1])p->variants, p->n_variants,
                     "purchase_recall", "Purchase Recall@K", split);
    free(names);
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        char path[1024];
        for (struct dirent *e; (e = readdir(d)) != NULL;) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

static dmmp_status write_script(plot_writer *w, const plot_plan *p, const run_results *runs, size_t n_runs,
                                const char *split, const char *png_tmp)
{
    char path[600];
    snprintf(path, sizeof path, "%s/plot.gp", w->dir);
    w->script = fopen(path, "w");
    if (!w->script) return dmmp_fail(DMMP_EIO, "plot: cannot write %s", path);
    size_t cols = p->n_panels < 3 ? p->n_panels : 3, rows = (p->n_panels + cols - 1) / cols;
    FILE *f = w->script;
    fprintf(f, "# generated by dmmp plot; run with: gnuplot plot.gp\n");
    /* pngcairo draws antialiased lines; Debian's gnuplot-nox may only have png. */
    fprintf(f, "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
               "    set terminal pngcairo size %zu,%zu noenhanced font 'sans,10'\n"
               "} else {\n"
               "    set terminal png size %zu,%zu noenhanced\n}\n",
            cols * PANEL_W, rows * PANEL_H, cols * PANEL_W, rows * PANEL_H);
    fprintf(f, "set output ");
    put_quoted(f, png_tmp);
    char title[256];
    /* Name the dataset when every run used the same one. */
    const char *dataset = runs[0].dataset_name;
    for (size_t i = 1; i < n_runs && dataset[0]; i++)
        if (strcmp(runs[i].dataset_name, dataset)) dataset = "";
    snprintf(title, sizeof title, "%s%s%zu run%s of %zu variant%s", dataset, dataset[0] ? ": " : "", n_runs,
             n_runs == 1 ? "" : "s", p->n_variants, p->n_variants == 1 ? "" : "s");
    fprintf(f, "\nset multiplot layout %zu,%zu title ", rows, cols);
    put_quoted(f, title);
    fprintf(f, " font ',13'\nset grid\nset pointsize 0.7\nset key font ',8' samplen 2 spacing 0.9\n");
    write_panels(w, p, runs, n_runs, split);
    fprintf(f, "\nunset multiplot\nset output\n");
    if (fclose(w->script) != 0 && w->st == DMMP_OK) w->st = dmmp_fail(DMMP_EIO, "plot: cannot write %s", path);
    w->script = NULL;
    return w->st;
}

dmmp_status plot_runs(const run_results *runs, size_t n_runs, const char *out_png, const plot_options *options)
{
    const char *program = options && options->gnuplot ? options->gnuplot : "gnuplot";
    const char *split = options && options->split ? options->split : "test";
    if (n_runs == 0) return dmmp_fail(DMMP_EINVAL, "plot: no runs given");
    char gnuplot[4096], png_tmp[OUTPUT_PATH_MAX + 64];
    DMMP_TRY(gnuplot_find(program, gnuplot, sizeof gnuplot));
    DMMP_TRY(output_temp_name(out_png, png_tmp, sizeof png_tmp));
    plot_plan plan;
    dmmp_status st = plan_panels(&plan, runs, n_runs, split);
    if (st != DMMP_OK) {
        plan_free(&plan);
        return st;
    }
    plot_writer w = {.st = DMMP_OK};
    const char *base = getenv("TMPDIR");
    snprintf(w.dir, sizeof w.dir, "%s/dmmp-plot-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(w.dir)) {
        plan_free(&plan);
        return dmmp_fail(DMMP_EIO, "plot: cannot create a temporary directory %s", w.dir);
    }
    st = write_script(&w, &plan, runs, n_runs, split, png_tmp);
    plan_free(&plan);
    if (st == DMMP_OK) {
        char script[600], log[600];
        snprintf(script, sizeof script, "%s/plot.gp", w.dir);
        snprintf(log, sizeof log, "%s/gnuplot.log", w.dir);
        st = gnuplot_run(gnuplot, script, log);
    }
    if (st == DMMP_OK && access(png_tmp, R_OK) != 0)
        st = dmmp_fail(DMMP_EIO, "plot: gnuplot finished but wrote no %s", png_tmp);
    if (st == DMMP_OK) st = output_commit(png_tmp, out_png);
    else unlink(png_tmp);
    remove_dir(w.dir);
    return st;
}
