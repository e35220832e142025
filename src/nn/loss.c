/* Losses: BCE with logits through the fused SIMD kernel; the product and MSE
 * losses per row in double, because they are a few flops per row next to
 * the towers that produce their inputs and double keeps 1 - p1 p2 exact. */
#include "nn/loss.h"

#include <math.h>
#include <stddef.h>

#include "simd/act.h"

/* Rows the forward-only BCE path handles per kernel call (gradient scratch on the stack). */
#define LOSS_CHUNK 256

/* Checks the common arguments and sums the row weights into *total. */
static dmmp_status check_rows(const char *fn, const float *target, const float *mask, int n, float temperature,
                              double *loss, double *total)
{
    if (n < 0) return dmmp_fail(DMMP_EINVAL, "%s: row count n = %d is negative", fn, n);
    if (!loss) return dmmp_fail(DMMP_EINVAL, "%s: loss output is NULL", fn);
    if (n > 0 && !target) return dmmp_fail(DMMP_EINVAL, "%s: target is NULL", fn);
    if (!(temperature > 0.0f) || isinf(temperature))
        return dmmp_fail(DMMP_EINVAL, "%s: temperature %g must be positive and finite", fn, (double)temperature);
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        if (!(target[i] >= 0.0f && target[i] <= 1.0f))
            return dmmp_fail(DMMP_EINVAL, "%s: target[%d] = %g is outside [0, 1]", fn, i, (double)target[i]);
        if (mask) {
            if (!(mask[i] >= 0.0f) || isinf(mask[i]))
                return dmmp_fail(DMMP_EINVAL, "%s: mask[%d] = %g is not a finite weight >= 0", fn, i, (double)mask[i]);
            sum += mask[i];
        }
    }
    *total = mask ? sum : (double)n;
    return DMMP_OK;
}

static dmmp_status finish(const char *fn, double sum, double scale, const float *x1, const float *x2, int n,
                          double *loss)
{
    *loss = sum * scale;
    if (isfinite(*loss)) return DMMP_OK;
    for (int i = 0; i < n; i++)
        if (!isfinite(x1[i]) || (x2 && !isfinite(x2[i])))
            return dmmp_fail(DMMP_ENUMERIC, "%s: input row %d is not finite (%g)", fn, i,
                             (double)(isfinite(x1[i]) ? x2[i] : x1[i]));
    return dmmp_fail(DMMP_ENUMERIC, "%s: loss is not finite", fn);
}

static dmmp_status bce_logits_impl(const char *fn, const float *z, const float *target, const float *mask, int n,
                                   float temperature, float *dz, double *loss)
{
    double total;
    DMMP_TRY(check_rows(fn, target, mask, n, temperature, loss, &total));
    *loss = 0.0;
    if (total <= 0.0) return DMMP_OK;
    if (!z) return dmmp_fail(DMMP_EINVAL, "%s: logits are NULL", fn);
    const act_kernels *k = act_kernels_get();
    /* d/dz [T^2 BCE(z / T)] = T (p - t); divided by the weight total for the mean. */
    float z_scale = 1.0f / temperature, grad_scale = (float)(temperature / total);
    double sum = 0.0;
    if (dz) {
        sum = k->bce_logits(z, target, mask, (size_t)n, z_scale, grad_scale, dz);
    } else {
        float scratch[LOSS_CHUNK] = {0}; /* receives w * 0 * (p - t): stays 0 */
        for (int i = 0; i < n; i += LOSS_CHUNK) {
            int len = n - i < LOSS_CHUNK ? n - i : LOSS_CHUNK;
            sum += k->bce_logits(z + i, target + i, mask ? mask + i : NULL, (size_t)len, z_scale, 0.0f, scratch);
        }
    }
    return finish(fn, sum, (double)temperature * temperature / total, z, NULL, n, loss);
}

dmmp_status bce_logits_forward_backward(const float *z, const float *target, const float *mask, int n, float *dz,
                                        double *loss)
{
    return bce_logits_impl("bce_logits_forward_backward", z, target, mask, n, 1.0f, dz, loss);
}

dmmp_status bce_logits_temp(const float *z, const float *target, const float *mask, int n, float temperature,
                            float *dz, double *loss)
{
    return bce_logits_impl("bce_logits_temp", z, target, mask, n, temperature, dz, loss);
}

/* p = sigmoid(x) and a = 1 - p, each from exp(-|x|) so neither cancels. */
static void sigmoid_pair(double x, double *p, double *a)
{
    double e = exp(-fabs(x)), inv = 1.0 / (1.0 + e);
    *p = x >= 0 ? inv : e * inv;
    *a = x >= 0 ? e * inv : inv;
}

/* The product q = p1 p2 of two sigmoids, 1 - q without cancellation, and
 * the ratios (1 - p1)/(1 - q), (1 - p2)/(1 - q), both in [0, 1]. */
typedef struct product_prob {
    double q, one_minus_q, ratio1, ratio2;
} product_prob;

static product_prob product_of_sigmoids(double x1, double x2)
{
    double p1, a1, p2, a2;
    sigmoid_pair(x1, &p1, &a1);
    sigmoid_pair(x2, &p2, &a2);
    product_prob r;
    r.q = p1 * p2;
    r.one_minus_q = a1 + p1 * a2;
    if (r.one_minus_q > 0.0) {
        r.ratio1 = a1 / r.one_minus_q;
        r.ratio2 = a2 / r.one_minus_q;
    } else {
        /* Both exp(-x) underflowed (x > 745): the limit of a1 / (a1 + a2). */
        r.ratio1 = 1.0 / (1.0 + exp(x1 - x2));
        r.ratio2 = 1.0 - r.ratio1;
    }
    return r;
}

static double clamp_prob(double q) { return q < LOSS_PROB_EPS ? LOSS_PROB_EPS : q > 1.0 - LOSS_PROB_EPS ? 1.0 - LOSS_PROB_EPS : q; }

static dmmp_status bce_product_impl(const char *fn, const float *z1, const float *z2, const float *target,
                                    const float *mask, int n, float temperature, float *dz1, float *dz2, double *loss)
{
    double total;
    DMMP_TRY(check_rows(fn, target, mask, n, temperature, loss, &total));
    *loss = 0.0;
    if (total <= 0.0) return DMMP_OK;
    if (!z1 || !z2) return dmmp_fail(DMMP_EINVAL, "%s: logits z%d are NULL", fn, z1 ? 2 : 1);
    double inv_t = 1.0 / temperature, grad_scale = temperature / total, sum = 0.0;
    for (int i = 0; i < n; i++) {
        double w = mask ? mask[i] : 1.0;
        if (w == 0.0) continue;
        double t = target[i];
        product_prob pp = product_of_sigmoids(z1[i] * inv_t, z2[i] * inv_t);
        double q = clamp_prob(pp.q), omq = clamp_prob(pp.one_minus_q);
        sum += w * -(t * log(q) + (1.0 - t) * log(omq));
        /* dBCE/dq = (q - t) / (q (1 - q)) and dq/dz1 = q (1 - p1): the q cancels. */
        double g = w * grad_scale * (pp.q - t);
        if (dz1) dz1[i] += (float)(g * pp.ratio1);
        if (dz2) dz2[i] += (float)(g * pp.ratio2);
    }
    return finish(fn, sum, (double)temperature * temperature / total, z1, z2, n, loss);
}

dmmp_status bce_product_forward_backward(const float *z1, const float *z2, const float *target, const float *mask,
                                         int n, float *dz1, float *dz2, double *loss)
{
    return bce_product_impl("bce_product_forward_backward", z1, z2, target, mask, n, 1.0f, dz1, dz2, loss);
}

dmmp_status bce_product_temp(const float *z1, const float *z2, const float *target, const float *mask, int n,
                             float temperature, float *dz1, float *dz2, double *loss)
{
    return bce_product_impl("bce_product_temp", z1, z2, target, mask, n, temperature, dz1, dz2, loss);
}

dmmp_status mse_forward_backward(const float *p, const float *target, const float *mask, int n, float *dp,
                                 double *loss)
{
    const char *fn = "mse_forward_backward";
    double total;
    /* MSE is also used on unbounded values, so targets are not range-checked. */
    if (n < 0) return dmmp_fail(DMMP_EINVAL, "%s: row count n = %d is negative", fn, n);
    if (!loss) return dmmp_fail(DMMP_EINVAL, "%s: loss output is NULL", fn);
    if (n > 0 && (!p || !target)) return dmmp_fail(DMMP_EINVAL, "%s: %s is NULL", fn, p ? "target" : "p");
    total = n;
    if (mask) {
        total = 0.0;
        for (int i = 0; i < n; i++) {
            if (!(mask[i] >= 0.0f) || isinf(mask[i]))
                return dmmp_fail(DMMP_EINVAL, "%s: mask[%d] = %g is not a finite weight >= 0", fn, i, (double)mask[i]);
            total += mask[i];
        }
    }
    *loss = 0.0;
    if (total <= 0.0) return DMMP_OK;
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        double w = mask ? mask[i] : 1.0, d = (double)p[i] - target[i];
        sum += w * d * d;
        if (dp) dp[i] += (float)(2.0 * w * d / total);
    }
    return finish(fn, sum, 1.0 / total, p, target, n, loss);
}

dmmp_status mse_sigmoid_forward_backward(const float *z, const float *target, const float *mask, int n,
                                         float temperature, float *dz, double *loss)
{
    const char *fn = "mse_sigmoid_forward_backward";
    double total;
    DMMP_TRY(check_rows(fn, target, mask, n, temperature, loss, &total));
    *loss = 0.0;
    if (total <= 0.0) return DMMP_OK;
    if (!z) return dmmp_fail(DMMP_EINVAL, "%s: logits are NULL", fn);
    double inv_t = 1.0 / temperature, grad_scale = temperature / total, sum = 0.0;
    for (int i = 0; i < n; i++) {
        double w = mask ? mask[i] : 1.0, p, a;
        sigmoid_pair(z[i] * inv_t, &p, &a);
        double d = p - target[i];
        sum += w * d * d;
        /* d/dz [T^2 (p - t)^2] with p = sigmoid(z / T): T^2 2 (p - t) p (1 - p) / T. */
        if (dz) dz[i] += (float)(w * grad_scale * 2.0 * d * p * a);
    }
    return finish(fn, sum, (double)temperature * temperature / total, z, NULL, n, loss);
}

dmmp_status mse_product_forward_backward(const float *z1, const float *z2, const float *target, const float *mask,
                                         int n, float temperature, float *dz1, float *dz2, double *loss)
{
    const char *fn = "mse_product_forward_backward";
    double total;
    DMMP_TRY(check_rows(fn, target, mask, n, temperature, loss, &total));
    *loss = 0.0;
    if (total <= 0.0) return DMMP_OK;
    if (!z1 || !z2) return dmmp_fail(DMMP_EINVAL, "%s: logits z%d are NULL", fn, z1 ? 2 : 1);
    double inv_t = 1.0 / temperature, grad_scale = temperature / total, sum = 0.0;
    for (int i = 0; i < n; i++) {
        double w = mask ? mask[i] : 1.0, p1, a1, p2, a2;
        sigmoid_pair(z1[i] * inv_t, &p1, &a1);
        sigmoid_pair(z2[i] * inv_t, &p2, &a2);
        double q = p1 * p2, d = q - target[i];
        sum += w * d * d;
        /* dq/dz1 = q (1 - p1) / T, dq/dz2 = q (1 - p2) / T. */
        double g = w * grad_scale * 2.0 * d * q;
        if (dz1) dz1[i] += (float)(g * a1);
        if (dz2) dz2[i] += (float)(g * a2);
    }
    return finish(fn, sum, (double)temperature * temperature / total, z1, z2, n, loss);
}
