#include "train/evaluate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "data/batcher.h"
#include "metrics/auc.h"
#include "train/recipe.h"

int eval_batch_rows(const model *m, const features *f)
{
    return m->max_batch < f->max_batch ? m->max_batch : f->max_batch;
}

int eval_has_conversion_head(const model *m) { return m->has_teacher || m->n_item_towers == 2; }


/* Positive and total weight of label under an optional 0/1 mask. */
static void class_counts(const uint8_t *label, const uint8_t *mask, int64_t n, int64_t *pos, int64_t *all)
{
    *pos = *all = 0;
    for (int64_t i = 0; i < n; i++) {
        if (mask && !mask[i]) continue;
        (*all)++;
        *pos += label[i] != 0;
    }
}

static dmmp_status set_named(eval_metrics *out, const char *prefix, const char *name, double v)
{
    char full[EVAL_METRIC_NAME_MAX + 1];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    return eval_metrics_set(out, full, v);
}

static dmmp_status check_finite(const float *p, int64_t n, const char *prefix, const char *what)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(p[i]))
            return dmmp_fail(DMMP_ENUMERIC, "evaluation: %s%s prediction of row %lld of the split is %g", prefix,
                             what, (long long)i, (double)p[i]);
    return DMMP_OK;
}

dmmp_status eval_ranking_metrics(const float *p_ctr, const float *p_cvr, const float *p_ctcvr, const uint8_t *click,
                                 const uint8_t *conversion, const int32_t *user, int32_t first_user, int64_t n,
                                 const char *prefix, eval_metrics *out)
{
    int64_t pos, all;
    double v;
    DMMP_TRY(check_finite(p_ctr, n, prefix, "pCTR"));
    class_counts(click, NULL, n, &pos, &all);
    if (pos == 0 || pos == all) {
        log_warn("evaluation: %lld of %lld impressions clicked: no %sauc_ctr, gauc_ctr", (long long)pos,
                 (long long)all, prefix);
    } else {
        DMMP_TRY(auc_exact(p_ctr, click, NULL, n, &v));
        DMMP_TRY(set_named(out, prefix, "auc_ctr", v));
        int64_t users = 0;
        float *known = NULL; /* the impressions of real users (the unknown user is not a group) */
        if (first_user > 0) {
            known = malloc((size_t)n * sizeof *known);
            if (!known) return dmmp_fail(DMMP_ENOMEM, "evaluation: out of memory for %lld rows", (long long)n);
            for (int64_t i = 0; i < n; i++) known[i] = user[i] >= first_user ? 1.0f : 0.0f;
        }
        dmmp_status gs = gauc(p_ctr, click, user, known, n, &v, &users);
        free(known);
        if (gs == DMMP_OK)
            DMMP_TRY(set_named(out, prefix, "gauc_ctr", v));
        else
            log_warn("evaluation: no user has both clicked and unclicked impressions: no %sgauc_ctr", prefix);
    }
    if (all > 0) {
        DMMP_TRY(logloss(p_ctr, click, NULL, n, &v));
        DMMP_TRY(set_named(out, prefix, "logloss_ctr", v));
    }
    if (!p_cvr || !p_ctcvr) return DMMP_OK;
    DMMP_TRY(check_finite(p_cvr, n, prefix, "pCVR"));
    DMMP_TRY(check_finite(p_ctcvr, n, prefix, "pCTCVR"));
    /* Conversions imply clicks, so the conversion column is y_ctcvr itself. */
    class_counts(conversion, click, n, &pos, &all);
    if (pos == 0 || pos == all) {
        log_warn("evaluation: %lld of %lld clicked impressions converted: no %sauc_cvr", (long long)pos,
                 (long long)all, prefix);
    } else {
        float *mask = malloc((size_t)n * sizeof *mask);
        if (!mask) return dmmp_fail(DMMP_ENOMEM, "evaluation: out of memory for %lld rows", (long long)n);
        for (int64_t i = 0; i < n; i++) mask[i] = click[i] ? 1.0f : 0.0f;
        dmmp_status s = auc_exact(p_cvr, conversion, mask, n, &v);
        free(mask);
        DMMP_TRY(s);
        DMMP_TRY(set_named(out, prefix, "auc_cvr", v));
    }
    class_counts(conversion, NULL, n, &pos, &all);
    if (pos == 0 || pos == all) {
        log_warn("evaluation: %lld of %lld impressions converted: no %sauc_ctcvr", (long long)pos, (long long)all,
                 prefix);
    } else {
        DMMP_TRY(auc_exact(p_ctcvr, conversion, NULL, n, &v));
        DMMP_TRY(set_named(out, prefix, "auc_ctcvr", v));
    }
    if (all > 0) {
        DMMP_TRY(logloss(p_ctcvr, conversion, NULL, n, &v));
        DMMP_TRY(set_named(out, prefix, "logloss_ctcvr", v));
    }
    return DMMP_OK;
}

/* Everything collected over the split: labels, users and both sets of predictions. */
typedef struct ranking_columns {
    int64_t n;
    uint8_t *click, *conversion;
    int32_t *user;
    float *p[2][3]; /* [model, teacher][ctr, cvr, ctcvr] */
} ranking_columns;

static void columns_free(ranking_columns *c)
{
    free(c->click);
    free(c->conversion);
    free(c->user);
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 3; b++) free(c->p[a][b]);
    memset(c, 0, sizeof *c);
}

static dmmp_status collect(model *m, features *f, const dataset *d, data_split split, ranking_columns *c)
{
    int64_t rows = dataset_split_stats_of(d, split).rows;
    size_t n = (size_t)(rows > 0 ? rows : 1);
    int with_teacher = m->has_teacher && m->has_student;
    c->click = malloc(n);
    c->conversion = malloc(n);
    c->user = malloc(n * sizeof *c->user);
    int ok = c->click && c->conversion && c->user;
    for (int a = 0; a < 1 + with_teacher; a++)
        for (int b = 0; b < 3; b++) ok &= (c->p[a][b] = malloc(n * sizeof(float))) != NULL;
    if (!ok) return dmmp_fail(DMMP_ENOMEM, "evaluation: out of memory for the %lld rows of the split", (long long)rows);
    batcher *bt = NULL;
    DMMP_TRY(batcher_open(&bt, d, split, eval_batch_rows(m, f), 0, 0));
    dmmp_status s = DMMP_OK;
    for (;;) {
        const batch *b = NULL;
        s = batcher_next(bt, &b);
        if (s != DMMP_OK || !b) break;
        if (c->n + b->n > rows) {
            s = dmmp_fail(DMMP_EFORMAT, "%s: the split holds more rows than its recorded count %lld",
                          dataset_path(d), (long long)rows);
            break;
        }
        s = recipe_forward(f, m, b);
        if (s != DMMP_OK) break;
        memcpy(c->click + c->n, b->click, (size_t)b->n);
        memcpy(c->conversion + c->n, b->conversion, (size_t)b->n);
        memcpy(c->user + c->n, b->user, (size_t)b->n * sizeof(int32_t));
        model_predictions(m, b->n, c->p[0][0] + c->n, c->p[0][1] + c->n, c->p[0][2] + c->n);
        if (with_teacher) model_teacher_predictions(m, b->n, c->p[1][0] + c->n, c->p[1][1] + c->n, c->p[1][2] + c->n);
        c->n += b->n;
    }
    batcher_close(bt);
    return s;
}

dmmp_status eval_ranking(model *m, features *f, const dataset *d, data_split split, eval_metrics *out)
{
    ranking_columns c;
    memset(&c, 0, sizeof c);
    dmmp_status s = collect(m, f, d, split, &c);
    if (s == DMMP_OK && c.n == 0) s = dmmp_fail(DMMP_EINVAL, "%s: the split has no rows to evaluate", dataset_path(d));
    int conv = eval_has_conversion_head(m);
    int32_t first_user = 0;
    if (s == DMMP_OK) s = dataset_first_entity(d, SIDE_USER, &first_user);
    if (s == DMMP_OK)
        s = eval_ranking_metrics(c.p[0][0], conv ? c.p[0][1] : NULL, conv ? c.p[0][2] : NULL, c.click, c.conversion,
                                 c.user, first_user, c.n, "", out);
    if (s == DMMP_OK && c.p[1][0])
        s = eval_ranking_metrics(c.p[1][0], c.p[1][1], c.p[1][2], c.click, c.conversion, c.user, first_user, c.n,
                                 "teacher_", out);
    columns_free(&c);
    return s;
}
