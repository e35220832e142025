/* The run record: everything one training/evaluation run produced, kept in
 * memory while the run goes and saved atomically as DIR/results.h5.
 *
 * File layout (format_version 1; h5dump / h5ls -r show all of it):
 *   /                     attributes format_version, variant, seed, model_kind,
 *                         git_commit, created_with, dataset_path, dataset_name,
 *                         dataset_hash (the training dataset: data/dataset_hash.h;
 *                         "" in files written before it was recorded)
 *   /config               the full configuration as INI text (a string dataset)
 *   /train                attributes epochs, steps; one float64 dataset per
 *                         series, over epochs; a '/' in a series name makes
 *                         groups ("loss/kd_ctr" is /train/loss/kd_ctr)
 *   /eval/<split>/<name>  one float64 scalar dataset per evaluation metric
 *   /eval/<split>         attributes dataset_path, dataset_hash, checkpoint
 *                         ("checkpoint" or "last") and max_users (0: all) of
 *                         the evaluation that wrote the split (absent in
 *                         older files)
 *
 * The trainer appends one value per series per epoch and then sets the epoch
 * count; the evaluator sets metrics by split and name. Names are free, the
 * documented ones are listed in report.h. */
#ifndef DMMP_TRAIN_RESULTS_H
#define DMMP_TRAIN_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define RESULTS_FORMAT_VERSION 1
/* Longest series, split or metric name (bytes, without the NUL). */
#define RESULTS_NAME_MAX 127

/* One named per-epoch series. */
typedef struct results_series {
    char name[RESULTS_NAME_MAX + 1];
    size_t n;        /* values appended */
    size_t cap;
    double *values;
} results_series;

/* The per-step curves: a point every `every` optimiser steps, each
 * series holding one value per point (NaN where it had none). */
typedef struct results_curves {
    int64_t every;   /* train.curve_every of the run; 0: no curves */
    size_t n, cap;   /* points */
    double *step;    /* optimiser steps taken at each point, ascending */
    size_t n_series, cap_series;
    results_series *series;
} results_curves;

/* One evaluation metric of one split. */
typedef struct results_metric {
    char split[RESULTS_NAME_MAX + 1];
    char name[RESULTS_NAME_MAX + 1];
    double value;
} results_metric;

/* How the metrics of one split were computed. */
typedef struct results_eval_setting {
    char split[RESULTS_NAME_MAX + 1];
    char dataset_path[4096];
    char dataset_hash[RESULTS_NAME_MAX + 1];
    char checkpoint[RESULTS_NAME_MAX + 1];
    int64_t max_users;
} results_eval_setting;

typedef struct run_results {
    /* meta: set with results_set_meta (lengths are checked there) */
    char variant[RESULTS_NAME_MAX + 1];
    char model_kind[RESULTS_NAME_MAX + 1];
    char git_commit[RESULTS_NAME_MAX + 1];
    char created_with[RESULTS_NAME_MAX + 1];
    char dataset_name[RESULTS_NAME_MAX + 1];
    char dataset_path[4096];
    char dataset_hash[RESULTS_NAME_MAX + 1];
    char *config_ini;             /* malloc'ed; "" when unset */
    int64_t seed;
    /* training progress: every series must hold exactly `epochs` values */
    int64_t epochs;
    int64_t steps;                /* optimiser steps taken in total */
    size_t n_series, cap_series;
    results_series *series;       /* in order of first append */
    results_curves curves;        /* per-step series, apart from the per-epoch ones */
    size_t n_metrics, cap_metrics;
    results_metric *metrics;      /* in order of first set */
    size_t n_settings, cap_settings;
    results_eval_setting *settings; /* at most one per split */
} run_results;

/* Makes r an empty record: strings "" but git_commit "unknown" and
 * created_with "dmmp <version>", config_ini "", counts 0. */
dmmp_status results_init(run_results *r);

/* Frees everything r holds and leaves it empty (results_init state not kept). */
void results_free(run_results *r);

/* Sets the text field `key` (variant, model_kind, git_commit, created_with,
 * dataset_path, dataset_name, dataset_hash, config_ini) to a copy of value; fails naming the
 * key when it is unknown or value is too long. */
dmmp_status results_set_meta(run_results *r, const char *key, const char *value);

/* Appends value to the series `name`, creating it on first use. A name is
 * 1..RESULTS_NAME_MAX printable bytes, '/'-separated non-empty parts, and
 * may not be a group of another series ("loss" beside "loss/kd_ctr"). */
dmmp_status results_series_append(run_results *r, const char *name, double value);

/* The series `name`, or NULL when there is none. */
const results_series *results_series_find(const run_results *r, const char *name);

/* Appends one point of the per-step curves at optimiser step `step`
 * (greater than every earlier point's): values[i] of curve names[i] (names
 * as for series). A curve first given at a later point is NaN before it, one
 * not given at this point NaN here. */
dmmp_status results_curve_point(run_results *r, int64_t step, const char *const *names, const double *values,
                                size_t n);

/* The curve `name`, or NULL. */
const results_series *results_curve_find(const run_results *r, const char *name);

/* Drops every point after optimiser step `step` (a resumed run continues from there). */
void results_curves_trim(run_results *r, int64_t step);

/* Records epochs completed and total optimiser steps (both >= 0). */
dmmp_status results_set_progress(run_results *r, int64_t epochs, int64_t steps);

/* Sets (or overwrites) metric `name` of `split`; names hold no '/'. */
dmmp_status results_set_metric(run_results *r, const char *split, const char *name, double value);

/* Removes every metric and the setting of `split` (before it is evaluated
 * again, so no metric of an earlier evaluation stays beside the new ones). */
void results_clear_split(run_results *r, const char *split);

/* Sets (or overwrites) the evaluation setting of s->split; fails naming the
 * split when a name is invalid. */
dmmp_status results_set_eval_setting(run_results *r, const results_eval_setting *s);

/* The evaluation setting of split, or NULL when none is recorded. */
const results_eval_setting *results_eval_setting_find(const run_results *r, const char *split);

/* 1 and *value set when `split`/`name` exists, else 0. */
int results_get_metric(const run_results *r, const char *split, const char *name, double *value);

/* Writes r to path atomically: a temporary file beside it, flushed and
 * fsync'ed, renamed over path. Fails (leaving any previous file intact) when a
 * series length differs from r->epochs or any I/O step fails. */
dmmp_status results_save(const run_results *r, const char *path);

/* Reads path into r (results_init'ed here; on failure r is left empty).
 * Checks format_version and the required groups and attributes, naming
 * what is missing. */
dmmp_status results_load(run_results *r, const char *path);

#endif
