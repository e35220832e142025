/* The row softmax cross-entropy over the fused kernel of simd/act.h: one
 * pass of argument checks, one kernel call over all rows. */
#include "nn/softmax_loss.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "simd/act.h"

dmmp_status softmax_xent_forward_backward(const float *x, int rows, int cols, float scale, const float *shift,
                                          const int32_t *key, const int32_t *target, const float *w, float *dx,
                                          double *loss)
{
    static const char fn[] = "softmax_xent_forward_backward";
    if (rows < 1 || cols < 1) return dmmp_fail(DMMP_EINVAL, "%s: %d x %d scores (need at least 1 x 1)", fn, rows, cols);
    if (!x || !target || !dx || !loss) return dmmp_fail(DMMP_EINVAL, "%s: scores, targets, gradient or loss is NULL", fn);
    if (!(scale > 0.0f) || isinf(scale)) return dmmp_fail(DMMP_EINVAL, "%s: scale %g must be positive and finite", fn, (double)scale);
    double total = 0.0;
    for (int i = 0; i < rows; i++) {
        if (target[i] < 0 || target[i] >= cols)
            return dmmp_fail(DMMP_EINVAL, "%s: row %d: target column %d outside 0..%d", fn, i, (int)target[i], cols - 1);
        float wi = w ? w[i] : 1.0f;
        if (!(wi >= 0.0f) || isinf(wi))
            return dmmp_fail(DMMP_EINVAL, "%s: row %d: weight %g is not a finite weight >= 0", fn, i, (double)wi);
        total += wi;
    }
    *loss = 0.0;
    if (!(total > 0.0)) {
        memset(dx, 0, (size_t)rows * (size_t)cols * sizeof *dx);
        return DMMP_OK;
    }
    double sum = act_kernels_get()->softmax_xent_rows(x, (size_t)rows, (size_t)cols, scale, shift, key, target, w,
                                                      (float)(1.0 / total), dx);
    *loss = sum / total;
    if (isfinite(*loss)) return DMMP_OK;
    for (size_t i = 0; i < (size_t)rows * (size_t)cols; i++)
        if (!isfinite(x[i]))
            return dmmp_fail(DMMP_ENUMERIC, "%s: score (%zu, %zu) is not finite (%g)", fn, i / (size_t)cols,
                             i % (size_t)cols, (double)x[i]);
    return dmmp_fail(DMMP_ENUMERIC, "%s: loss is not finite", fn);
}
