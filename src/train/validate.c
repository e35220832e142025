#include "train/validate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/batcher.h"
#include "eval/auc.h"

const char *validate_metric_name(config_metric m)
{
    switch (m) {
    case CONFIG_METRIC_AUC_CTR: return "auc_ctr";
    case CONFIG_METRIC_AUC_CVR: return "auc_cvr";
    case CONFIG_METRIC_AUC_CTCVR: return "auc_ctcvr";
    case CONFIG_METRIC_GAUC_CTR: return "gauc_ctr";
    case CONFIG_METRIC_LOGLOSS_CTR: return "logloss_ctr";
    case CONFIG_METRIC_LOGLOSS_CTCVR: return "logloss_ctcvr";
    case CONFIG_METRIC_NONE: break;
    }
    return "";
}

double val_metrics_get(const val_metrics *v, const char *name)
{
    for (int i = 0; i < v->n; i++)
        if (!strcmp(v->name[i], name)) return v->value[i];
    return NAN;
}

static void add_metric(val_metrics *v, const char *prefix, const char *name, double value)
{
    if (v->n >= VAL_MAX_METRICS) return;
    snprintf(v->name[v->n], sizeof v->name[v->n], "%s%s", prefix, name);
    v->value[v->n++] = value;
}

/* A metric that cannot be taken (one class only, no user with both) is
 * undefined for this split, not an error of the run: it becomes NaN. */
static double or_nan(dmmp_status s, double v)
{
    if (s == DMMP_OK) return v;
    dmmp_error_clear();
    return NAN;
}

typedef struct val_arrays {
    float *p[2][3]; /* [model, teacher][ctr, cvr, ctcvr] */
    uint8_t *click, *conv;
    int32_t *user;
    float *clicked;
} val_arrays;

/* One metric: the computation returns its status and writes *v. */
#define METRIC(name, call)                                      \
    do {                                                        \
        double v_ = 0;                                          \
        dmmp_status s_ = (call);                                \
        add_metric(out, prefix, name, or_nan(s_, v_));          \
    } while (0)

static void metrics_of(val_metrics *out, const char *prefix, float *const p[3], const val_arrays *a, int64_t n,
                       int has_cvr)
{
    int64_t users = 0;
    METRIC("auc_ctr", auc_exact(p[0], a->click, NULL, n, &v_));
    if (has_cvr) {
        METRIC("auc_cvr", auc_exact(p[1], a->conv, a->clicked, n, &v_));
        METRIC("auc_ctcvr", auc_exact(p[2], a->conv, NULL, n, &v_));
    }
    METRIC("gauc_ctr", gauc(p[0], a->click, a->user, NULL, n, &v_, &users));
    METRIC("logloss_ctr", logloss(p[0], a->click, NULL, n, &v_));
    if (has_cvr) METRIC("logloss_ctcvr", logloss(p[2], a->conv, NULL, n, &v_));
}

static dmmp_status score_rows(features *f, model *m, batcher *bt, val_arrays *a, int64_t n)
{
    int64_t at = 0;
    for (;;) {
        const batch *b = NULL;
        DMMP_TRY(batcher_next(bt, &b));
        if (!b) break;
        if (at + b->n > n) return dmmp_fail(DMMP_EFORMAT, "validation: the split yields more than its %lld rows", (long long)n);
        DMMP_TRY(features_forward(f, b));
        DMMP_TRY(model_forward(m, f->view[VIEW_TEACHER].width ? f->view[VIEW_TEACHER].x : NULL,
                               f->view[VIEW_USER].width ? f->view[VIEW_USER].x : NULL,
                               f->view[VIEW_ITEM].width ? f->view[VIEW_ITEM].x : NULL, b->n));
        model_predictions(m, b->n, a->p[0][0] + at, a->p[0][1] + at, a->p[0][2] + at);
        if (m->has_teacher && m->has_student)
            model_teacher_predictions(m, b->n, a->p[1][0] + at, a->p[1][1] + at, a->p[1][2] + at);
        for (int i = 0; i < b->n; i++) {
            a->click[at + i] = b->click[i];
            a->conv[at + i] = (uint8_t)(b->click[i] && b->conversion[i]);
            a->user[at + i] = b->user[i];
            a->clicked[at + i] = (float)b->click[i];
        }
        at += b->n;
    }
    if (at != n) return dmmp_fail(DMMP_EFORMAT, "validation: the split yielded %lld of its %lld rows", (long long)at, (long long)n);
    for (int w = 0; w < 2; w++)
        for (int k = 0; k < 3; k++)
            for (int64_t i = 0; i < n && a->p[w][k] && (w == 0 || m->has_student); i++)
                if (!isfinite(a->p[w][k][i]))
                    return dmmp_fail(DMMP_ENUMERIC, "validation: the %s prediction %s of row %lld is %g",
                                     w ? "teacher's" : "model's", k == 0 ? "pCTR" : k == 1 ? "pCVR" : "pCTCVR",
                                     (long long)i, (double)a->p[w][k][i]);
    return DMMP_OK;
}

dmmp_status validate_split(features *f, model *m, const dataset *d, data_split split, val_metrics *out)
{
    memset(out, 0, sizeof *out);
    batcher *bt = NULL;
    batcher_options bo = {.window_chunks = 4, .prefetch = 0}; /* synchronous: validation is short and must not overlap the training reader */
    DMMP_TRY(batcher_open_opts(&bt, d, split, f->max_batch, 0, 0, &bo));
    int64_t n = batcher_split_rows(bt);
    out->rows = n;
    if (n == 0) {
        batcher_close(bt);
        return DMMP_OK;
    }
    val_arrays a;
    memset(&a, 0, sizeof a);
    size_t nf = sizeof(float) * (size_t)n;
    int teacher_too = m->has_teacher && m->has_student;
    int ok = 1;
    for (int w = 0; w < (teacher_too ? 2 : 1); w++)
        for (int k = 0; k < 3; k++) ok &= (a.p[w][k] = malloc(nf)) != NULL;
    a.click = malloc((size_t)n);
    a.conv = malloc((size_t)n);
    a.user = malloc(sizeof(int32_t) * (size_t)n);
    a.clicked = malloc(nf);
    dmmp_status s = ok && a.click && a.conv && a.user && a.clicked
                        ? DMMP_OK
                        : dmmp_fail(DMMP_ENOMEM, "validation: out of memory for %lld rows", (long long)n);
    if (s == DMMP_OK) s = score_rows(f, m, bt, &a, n);
    batcher_close(bt);
    if (s == DMMP_OK) {
        int has_cvr = m->has_teacher || m->n_item_towers == 2;
        metrics_of(out, "", a.p[0], &a, n, has_cvr);
        if (teacher_too) metrics_of(out, "teacher_", a.p[1], &a, n, 1);
    }
    for (int w = 0; w < 2; w++)
        for (int k = 0; k < 3; k++) free(a.p[w][k]);
    free(a.click);
    free(a.conv);
    free(a.user);
    free(a.clicked);
    return s;
}
