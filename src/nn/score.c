/* Tower scores over the vec kernels (row dots and scaled row sums). */
#include "nn/score.h"

#include <math.h>
#include <string.h>

#include "simd/vec.h"

/* 1 / max(||x||, eps) for one row of k values; *clamped says the eps won. */
static float inv_norm(const vec_kernels *kern, const float *x, size_t k, int *clamped)
{
    float sq;
    kern->dot_rows(x, x, 1, k, &sq, 1);
    float nrm = sqrtf(sq);
    *clamped = !(nrm > SCORE_L2_EPS);
    return 1.0f / (*clamped ? SCORE_L2_EPS : nrm);
}

/* Rows per block of the parallel loops; every row's arithmetic is the same
 * whatever the split. */
#define SCORE_ROW_BLOCK 128
#define SCORE_PARALLEL_MIN 32768 /* floats per tower output: below, one thread */

static void score_rows_forward(const vec_kernels *kern, const float *u, const float *v, size_t r0, size_t rows,
                               size_t cols, float inv_tau, int l2norm, float bias, float *s, float *u_n, float *v_n)
{
    if (l2norm) {
        for (size_t b = r0; b < r0 + rows; b++) {
            int clamped;
            memset(u_n + b * cols, 0, cols * sizeof *u_n);
            memset(v_n + b * cols, 0, cols * sizeof *v_n);
            kern->axpy(inv_norm(kern, u + b * cols, cols, &clamped), u + b * cols, cols, u_n + b * cols);
            kern->axpy(inv_norm(kern, v + b * cols, cols, &clamped), v + b * cols, cols, v_n + b * cols);
        }
        u = u_n;
        v = v_n;
    }
    kern->dot_rows(u + r0 * cols, v + r0 * cols, rows, cols, s + r0, 1);
    for (size_t b = r0; b < r0 + rows; b++) s[b] = s[b] * inv_tau + bias;
}

void tower_score_forward(const float *u, const float *v, int batch, int k, float tau, int l2norm, float bias,
                         float *s, float *u_n, float *v_n)
{
    const vec_kernels *kern = vec_kernels_get();
    size_t rows = (size_t)batch, cols = (size_t)k;
    float inv_tau = 1.0f / tau;
    int n_blocks = (batch + SCORE_ROW_BLOCK - 1) / SCORE_ROW_BLOCK;
#pragma omp parallel for schedule(static) if (n_blocks > 1 && rows * cols >= SCORE_PARALLEL_MIN)
    for (int blk = 0; blk < n_blocks; blk++) {
        size_t r0 = (size_t)blk * SCORE_ROW_BLOCK;
        size_t n = r0 + SCORE_ROW_BLOCK <= rows ? SCORE_ROW_BLOCK : rows - r0;
        score_rows_forward(kern, u, v, r0, n, cols, inv_tau, l2norm, bias, s, u_n, v_n);
    }
}

static void score_rows_backward(const vec_kernels *kern, const float *u, const float *v, const float *u_n,
                                const float *v_n, size_t r0, size_t rows, size_t cols, float inv_tau, int l2norm,
                                const float *ds, float *du, float *dv)
{
    if (!l2norm) {
        kern->axpy_rows(inv_tau, ds + r0, 1, v + r0 * cols, rows, cols, du + r0 * cols);
        kern->axpy_rows(inv_tau, ds + r0, 1, u + r0 * cols, rows, cols, dv + r0 * cols);
        return;
    }
    for (size_t b = r0; b < r0 + rows; b++) {
        const float *un = u_n + b * cols, *vn = v_n + b * cols;
        float c = ds[b] * inv_tau, cosine;
        kern->dot_rows(un, vn, 1, cols, &cosine, 1);
        /* Through x_n = x / ||x||: dx = (g - x_n <g, x_n>) / ||x|| with g = c * other_n.
         * Below the eps the scaling is constant, so dx = g / eps: inv_norm covers both,
         * and the projection is dropped there. */
        int u_clamped, v_clamped;
        float iu = inv_norm(kern, u + b * cols, cols, &u_clamped);
        float iv = inv_norm(kern, v + b * cols, cols, &v_clamped);
        kern->axpy(c * iu, vn, cols, du + b * cols);
        if (!u_clamped) kern->axpy(-c * cosine * iu, un, cols, du + b * cols);
        kern->axpy(c * iv, un, cols, dv + b * cols);
        if (!v_clamped) kern->axpy(-c * cosine * iv, vn, cols, dv + b * cols);
    }
}

void tower_score_backward(const float *u, const float *v, const float *u_n, const float *v_n, int batch, int k,
                          float tau, int l2norm, const float *ds, float *du, float *dv, float *dbias)
{
    const vec_kernels *kern = vec_kernels_get();
    size_t rows = (size_t)batch, cols = (size_t)k;
    float inv_tau = 1.0f / tau;
    if (dbias) {
        double sum = 0.0;
        for (size_t b = 0; b < rows; b++) sum += ds[b];
        *dbias += (float)sum;
    }
    int n_blocks = (batch + SCORE_ROW_BLOCK - 1) / SCORE_ROW_BLOCK;
#pragma omp parallel for schedule(static) if (n_blocks > 1 && rows * cols >= SCORE_PARALLEL_MIN)
    for (int blk = 0; blk < n_blocks; blk++) {
        size_t r0 = (size_t)blk * SCORE_ROW_BLOCK;
        size_t n = r0 + SCORE_ROW_BLOCK <= rows ? SCORE_ROW_BLOCK : rows - r0;
        score_rows_backward(kern, u, v, u_n, v_n, r0, n, cols, inv_tau, l2norm, ds, du, dv);
    }
}
