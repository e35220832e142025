#include "nn/score_matrix.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

static void plan_free(score_matrix_plan *p)
{
    nn_matmul_free(&p->forward);
    for (int a = 0; a < 2; a++) {
        nn_matmul_free(&p->grad_u[a]);
        nn_matmul_free(&p->grad_v[a]);
    }
    p->rows = 0;
}

static dmmp_status plan_build(score_matrix *s, score_matrix_plan *p, int rows)
{
    /* S [rows x rows] = U [rows x k] V^T: V [rows x k] is read as k x rows. */
    const nn_matmul_shape forward = {.m = rows, .k = s->k, .n = rows, .b_transposed = 1};
    /* dU [rows x k] = dS [rows x rows] V [rows x k]. */
    nn_matmul_shape grad_u = {.m = rows, .k = rows, .n = s->k};
    /* dV [rows x k] = dS^T U: dS [rows x rows] is read transposed. */
    nn_matmul_shape grad_v = {.m = rows, .k = rows, .n = s->k, .a_transposed = 1};
    dmmp_status st = nn_matmul_create(&p->forward, s->ctx, &forward, s->name, "scores");
    for (int a = 0; a < 2 && st == DMMP_OK; a++) {
        grad_u.accumulate = grad_v.accumulate = a;
        st = nn_matmul_create(&p->grad_u[a], s->ctx, &grad_u, s->name, a ? "dU accumulate" : "dU");
        if (st == DMMP_OK) st = nn_matmul_create(&p->grad_v[a], s->ctx, &grad_v, s->name, a ? "dV accumulate" : "dV");
    }
    if (st != DMMP_OK) {
        plan_free(p);
        return st;
    }
    p->rows = rows;
    return DMMP_OK;
}

static dmmp_status plan_for(score_matrix *s, int rows, score_matrix_plan **out)
{
    if (rows < 1 || rows > s->max_rows)
        return dmmp_fail(DMMP_EINVAL, "score matrix '%s': %d rows outside [1, %d]", s->name, rows, s->max_rows);
    if (rows == s->max_rows) {
        *out = &s->full;
        return DMMP_OK;
    }
    if (s->tail.rows != rows) {
        plan_free(&s->tail);
        log_debug("score matrix '%s': building primitives for %d rows", s->name, rows);
        DMMP_TRY(plan_build(s, &s->tail, rows));
    }
    *out = &s->tail;
    return DMMP_OK;
}

dmmp_status score_matrix_init(score_matrix *s, nn_ctx *ctx, const char *name, int max_rows, int k)
{
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name ? name : "score matrix");
    if (!ctx) return dmmp_fail(DMMP_EINVAL, "score matrix '%s': ctx is NULL", s->name);
    if (max_rows < 1 || k < 1)
        return dmmp_fail(DMMP_EINVAL, "score matrix '%s': max_rows = %d and k = %d must be >= 1", s->name, max_rows, k);
    s->ctx = ctx;
    s->k = k;
    s->max_rows = max_rows;
    dmmp_status st = plan_build(s, &s->full, max_rows);
    if (st != DMMP_OK) score_matrix_free(s);
    return st;
}

dmmp_status score_matrix_forward(score_matrix *s, const float *u, const float *v, int rows, float *scores)
{
    score_matrix_plan *p = NULL;
    DMMP_TRY(plan_for(s, rows, &p));
    return nn_matmul_execute(&p->forward, s->ctx, u, v, NULL, scores, s->name, "scores");
}

dmmp_status score_matrix_backward(score_matrix *s, const float *u, const float *v, const float *dscores, int rows,
                                  float *du, int accumulate_u, float *dv, int accumulate_v)
{
    score_matrix_plan *p = NULL;
    DMMP_TRY(plan_for(s, rows, &p));
    if (du) DMMP_TRY(nn_matmul_execute(&p->grad_u[accumulate_u != 0], s->ctx, dscores, v, NULL, du, s->name, "dU"));
    if (dv) DMMP_TRY(nn_matmul_execute(&p->grad_v[accumulate_v != 0], s->ctx, dscores, u, NULL, dv, s->name, "dV"));
    return DMMP_OK;
}

void score_matrix_free(score_matrix *s)
{
    plan_free(&s->full);
    plan_free(&s->tail);
}
