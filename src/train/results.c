/* The in-memory run record: meta, per-epoch series, evaluation metrics.
 * Saving and loading (HDF5) live in results_io.c. */
#include "train/results.h"

#include <config.h> /* autoconf's PACKAGE_VERSION (angle brackets: not config/config.h) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dmmp_status results_init(run_results *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->git_commit, sizeof r->git_commit, "unknown");
    snprintf(r->created_with, sizeof r->created_with, "dmmp %s", PACKAGE_VERSION);
    r->config_ini = calloc(1, 1);
    if (!r->config_ini) return dmmp_fail(DMMP_ENOMEM, "results: out of memory for the config text");
    return DMMP_OK;
}

void results_free(run_results *r)
{
    for (size_t i = 0; i < r->n_series; i++) free(r->series[i].values);
    free(r->series);
    for (size_t i = 0; i < r->curves.n_series; i++) free(r->curves.series[i].values);
    free(r->curves.series);
    free(r->curves.step);
    free(r->metrics);
    free(r->settings);
    free(r->config_ini);
    memset(r, 0, sizeof *r);
}

/* The fixed-size text fields by key; config_ini (heap) is handled apart. */
static char *meta_field(run_results *r, const char *key, size_t *cap)
{
    struct { const char *key; char *buf; size_t cap; } fields[] = {
        {"variant", r->variant, sizeof r->variant},
        {"model_kind", r->model_kind, sizeof r->model_kind},
        {"git_commit", r->git_commit, sizeof r->git_commit},
        {"created_with", r->created_with, sizeof r->created_with},
        {"dataset_name", r->dataset_name, sizeof r->dataset_name},
        {"dataset_path", r->dataset_path, sizeof r->dataset_path},
        {"dataset_hash", r->dataset_hash, sizeof r->dataset_hash},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (!strcmp(key, fields[i].key)) {
            *cap = fields[i].cap;
            return fields[i].buf;
        }
    }
    return NULL;
}

dmmp_status results_set_meta(run_results *r, const char *key, const char *value)
{
    if (!key || !value) return dmmp_fail(DMMP_EINVAL, "results_set_meta: key and value must not be NULL");
    if (!strcmp(key, "config_ini")) {
        char *copy = strdup(value);
        if (!copy) return dmmp_fail(DMMP_ENOMEM, "results: out of memory for the config text");
        free(r->config_ini);
        r->config_ini = copy;
        return DMMP_OK;
    }
    size_t cap;
    char *dst = meta_field(r, key, &cap);
    if (!dst)
        return dmmp_fail(DMMP_EINVAL,
                         "results: unknown meta key '%s' (expected variant, model_kind, git_commit, "
                         "created_with, dataset_path, dataset_name, dataset_hash or config_ini)",
                         key);
    if (strlen(value) >= cap)
        return dmmp_fail(DMMP_EINVAL, "results: %s is %zu bytes long, at most %zu allowed", key, strlen(value),
                         cap - 1);
    memcpy(dst, value, strlen(value) + 1);
    return DMMP_OK;
}

/* Printable, no space or comma (names become HDF5 links, CSV headers and
 * --metrics list entries); '/' only where allow_slash separates parts. */
static dmmp_status check_name(const char *what, const char *name, int allow_slash)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > RESULTS_NAME_MAX)
        return dmmp_fail(DMMP_EINVAL, "results: %s name '%s' must be 1..%d bytes long", what, name ? name : "",
                         RESULTS_NAME_MAX);
    const char *part = name;
    for (size_t i = 0; i <= len; i++) {
        char ch = name[i];
        if (ch == '/' || ch == '\0') {
            size_t plen = (size_t)(name + i - part);
            if (ch == '/' && !allow_slash)
                return dmmp_fail(DMMP_EINVAL, "results: %s name '%s' must not contain '/'", what, name);
            if (plen == 0 || (plen == 1 && part[0] == '.') || (plen == 2 && part[0] == '.' && part[1] == '.'))
                return dmmp_fail(DMMP_EINVAL, "results: %s name '%s' has an empty, '.' or '..' part", what, name);
            part = name + i + 1;
        } else if (ch <= ' ' || ch > '~' || ch == ',') {
            return dmmp_fail(DMMP_EINVAL,
                             "results: %s name '%s' holds byte 0x%02x (printable, no space or comma)", what,
                             name, (unsigned)(unsigned char)ch);
        }
    }
    return DMMP_OK;
}

/* 1 when a names a group on b's path or the reverse ("loss" vs "loss/x"). */
static int is_group_of(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la < lb) return !strncmp(a, b, la) && b[la] == '/';
    if (lb < la) return !strncmp(a, b, lb) && a[lb] == '/';
    return 0;
}

static results_series *series_find_mut(run_results *r, const char *name)
{
    for (size_t i = 0; i < r->n_series; i++)
        if (!strcmp(r->series[i].name, name)) return &r->series[i];
    return NULL;
}

const results_series *results_series_find(const run_results *r, const char *name)
{
    return series_find_mut((run_results *)r, name);
}

static dmmp_status series_create(run_results *r, const char *name, results_series **out)
{
    DMMP_TRY(check_name("series", name, 1));
    for (size_t i = 0; i < r->n_series; i++)
        if (is_group_of(name, r->series[i].name))
            return dmmp_fail(DMMP_EINVAL, "results: series '%s' clashes with series '%s' (one would be a group "
                                          "holding the other)",
                             name, r->series[i].name);
    if (r->n_series == r->cap_series) {
        size_t cap = r->cap_series ? 2 * r->cap_series : 16;
        results_series *grown = realloc(r->series, cap * sizeof *grown);
        if (!grown) return dmmp_fail(DMMP_ENOMEM, "results: out of memory for series '%s'", name);
        r->series = grown;
        r->cap_series = cap;
    }
    results_series *s = &r->series[r->n_series++];
    memset(s, 0, sizeof *s);
    memcpy(s->name, name, strlen(name) + 1);
    *out = s;
    return DMMP_OK;
}

dmmp_status results_series_append(run_results *r, const char *name, double value)
{
    results_series *s = name ? series_find_mut(r, name) : NULL;
    if (!s) DMMP_TRY(series_create(r, name, &s));
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        double *grown = realloc(s->values, cap * sizeof *grown);
        if (!grown) return dmmp_fail(DMMP_ENOMEM, "results: out of memory for series '%s'", name);
        s->values = grown;
        s->cap = cap;
    }
    s->values[s->n++] = value;
    return DMMP_OK;
}

dmmp_status results_set_progress(run_results *r, int64_t epochs, int64_t steps)
{
    if (epochs < 0 || steps < 0)
        return dmmp_fail(DMMP_EINVAL, "results: epochs (%lld) and steps (%lld) must be >= 0", (long long)epochs,
                         (long long)steps);
    r->epochs = epochs;
    r->steps = steps;
    return DMMP_OK;
}

static results_metric *metric_find_mut(run_results *r, const char *split, const char *name)
{
    for (size_t i = 0; i < r->n_metrics; i++)
        if (!strcmp(r->metrics[i].split, split) && !strcmp(r->metrics[i].name, name)) return &r->metrics[i];
    return NULL;
}

dmmp_status results_set_metric(run_results *r, const char *split, const char *name, double value)
{
    DMMP_TRY(check_name("split", split, 0));
    DMMP_TRY(check_name("metric", name, 0));
    results_metric *m = metric_find_mut(r, split, name);
    if (!m) {
        if (r->n_metrics == r->cap_metrics) {
            size_t cap = r->cap_metrics ? 2 * r->cap_metrics : 32;
            results_metric *grown = realloc(r->metrics, cap * sizeof *grown);
            if (!grown) return dmmp_fail(DMMP_ENOMEM, "results: out of memory for metric %s/%s", split, name);
            r->metrics = grown;
            r->cap_metrics = cap;
        }
        m = &r->metrics[r->n_metrics++];
        memset(m, 0, sizeof *m);
        memcpy(m->split, split, strlen(split) + 1);
        memcpy(m->name, name, strlen(name) + 1);
    }
    m->value = value;
    return DMMP_OK;
}

int results_get_metric(const run_results *r, const char *split, const char *name, double *value)
{
    const results_metric *m = metric_find_mut((run_results *)r, split, name);
    if (!m) return 0;
    if (value) *value = m->value;
    return 1;
}

void results_clear_split(run_results *r, const char *split)
{
    size_t kept = 0;
    for (size_t i = 0; i < r->n_metrics; i++)
        if (strcmp(r->metrics[i].split, split)) r->metrics[kept++] = r->metrics[i];
    r->n_metrics = kept;
    kept = 0;
    for (size_t i = 0; i < r->n_settings; i++)
        if (strcmp(r->settings[i].split, split)) r->settings[kept++] = r->settings[i];
    r->n_settings = kept;
}

const results_eval_setting *results_eval_setting_find(const run_results *r, const char *split)
{
    for (size_t i = 0; i < r->n_settings; i++)
        if (!strcmp(r->settings[i].split, split)) return &r->settings[i];
    return NULL;
}

dmmp_status results_set_eval_setting(run_results *r, const results_eval_setting *s)
{
    DMMP_TRY(check_name("split", s->split, 0));
    results_eval_setting *dst = (results_eval_setting *)results_eval_setting_find(r, s->split);
    if (!dst) {
        if (r->n_settings == r->cap_settings) {
            size_t cap = r->cap_settings ? 2 * r->cap_settings : 4;
            results_eval_setting *grown = realloc(r->settings, cap * sizeof *grown);
            if (!grown) return dmmp_fail(DMMP_ENOMEM, "results: out of memory for the setting of split %s", s->split);
            r->settings = grown;
            r->cap_settings = cap;
        }
        dst = &r->settings[r->n_settings++];
    }
    *dst = *s;
    return DMMP_OK;
}

/* ---- per-step curves ------------------------------------------------------ */

static dmmp_status grow_doubles(double **v, size_t *cap, size_t need, const char *what)
{
    if (need <= *cap) return DMMP_OK;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    double *grown = realloc(*v, c * sizeof *grown);
    if (!grown) return dmmp_fail(DMMP_ENOMEM, "results: out of memory for %s", what);
    *v = grown;
    *cap = c;
    return DMMP_OK;
}

const results_series *results_curve_find(const run_results *r, const char *name)
{
    for (size_t i = 0; i < r->curves.n_series; i++)
        if (!strcmp(r->curves.series[i].name, name)) return &r->curves.series[i];
    return NULL;
}

static dmmp_status curve_create(results_curves *c, const char *name, size_t points, results_series **out)
{
    DMMP_TRY(check_name("curve", name, 1));
    if (!strcmp(name, "step")) return dmmp_fail(DMMP_EINVAL, "results: 'step' is the curves' axis, not a curve");
    for (size_t i = 0; i < c->n_series; i++)
        if (is_group_of(name, c->series[i].name))
            return dmmp_fail(DMMP_EINVAL, "results: curve '%s' clashes with curve '%s'", name, c->series[i].name);
    if (c->n_series == c->cap_series) {
        size_t cap = c->cap_series ? 2 * c->cap_series : 16;
        results_series *grown = realloc(c->series, cap * sizeof *grown);
        if (!grown) return dmmp_fail(DMMP_ENOMEM, "results: out of memory for curve '%s'", name);
        c->series = grown;
        c->cap_series = cap;
    }
    results_series *s = &c->series[c->n_series++];
    memset(s, 0, sizeof *s);
    memcpy(s->name, name, strlen(name) + 1);
    DMMP_TRY(grow_doubles(&s->values, &s->cap, points + 1, name));
    for (size_t p = 0; p < points; p++) s->values[p] = NAN;
    s->n = points;
    *out = s;
    return DMMP_OK;
}

dmmp_status results_curve_point(run_results *r, int64_t step, const char *const *names, const double *values,
                                size_t n)
{
    results_curves *c = &r->curves;
    if (step < 0 || (c->n > 0 && (double)step <= c->step[c->n - 1]))
        return dmmp_fail(DMMP_EINVAL, "results: curve point at step %lld after one at step %.0f", (long long)step,
                         c->n ? c->step[c->n - 1] : -1.0);
    for (size_t i = 0; i < n; i++) {
        results_series *s = (results_series *)results_curve_find(r, names[i]);
        if (!s) DMMP_TRY(curve_create(c, names[i], c->n, &s));
    }
    DMMP_TRY(grow_doubles(&c->step, &c->cap, c->n + 1, "the curve steps"));
    for (size_t i = 0; i < c->n_series; i++) {
        results_series *s = &c->series[i];
        DMMP_TRY(grow_doubles(&s->values, &s->cap, c->n + 1, s->name));
        s->values[c->n] = NAN;
        for (size_t j = 0; j < n; j++)
            if (!strcmp(names[j], s->name)) s->values[c->n] = values[j];
        s->n = c->n + 1;
    }
    c->step[c->n++] = (double)step;
    return DMMP_OK;
}

void results_curves_trim(run_results *r, int64_t step)
{
    results_curves *c = &r->curves;
    while (c->n > 0 && c->step[c->n - 1] > (double)step) c->n--;
    for (size_t i = 0; i < c->n_series; i++)
        if (c->series[i].n > c->n) c->series[i].n = c->n;
}
