#include "nn/l2norm.h"

#include <math.h>
#include <string.h>

#include "nn/score.h"
#include "simd/vec.h"

/* 1 / max(||x||, eps) of one row; *clamped says the eps won. */
static float inv_norm(const vec_kernels *kern, const float *x, size_t k, int *clamped)
{
    float sq;
    kern->dot_rows(x, x, 1, k, &sq, 1);
    float nrm = sqrtf(sq);
    *clamped = !(nrm > SCORE_L2_EPS);
    return 1.0f / (*clamped ? SCORE_L2_EPS : nrm);
}

void l2norm_rows_forward(const float *x, int rows, int k, float *y)
{
    const vec_kernels *kern = vec_kernels_get();
    size_t cols = (size_t)k;
    memset(y, 0, (size_t)rows * cols * sizeof *y);
    for (size_t r = 0; r < (size_t)rows; r++) {
        int clamped;
        kern->axpy(inv_norm(kern, x + r * cols, cols, &clamped), x + r * cols, cols, y + r * cols);
    }
}

void l2norm_rows_backward(const float *x, const float *y, const float *dy, int rows, int k, float *dx)
{
    const vec_kernels *kern = vec_kernels_get();
    size_t cols = (size_t)k;
    for (size_t r = 0; r < (size_t)rows; r++) {
        int clamped;
        float inv = inv_norm(kern, x + r * cols, cols, &clamped), dot;
        kern->axpy(inv, dy + r * cols, cols, dx + r * cols);
        if (clamped) continue; /* below the eps the scaling is constant */
        kern->dot_rows(dy + r * cols, y + r * cols, 1, cols, &dot, 1);
        kern->axpy(-inv * dot, y + r * cols, cols, dx + r * cols);
    }
}
