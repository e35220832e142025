/* Scalar activation kernels: the reference for the SIMD tables, written
 * with libm so their accuracy is that of expf / log1pf. */
#include <math.h>

#include "simd/act.h"

static float clamp_exp_arg(float x)
{
    /* fmaxf/fminf would pass a NaN through as the other operand; keep NaN. */
    if (x < ACT_EXP_MIN) return ACT_EXP_MIN;
    if (x > ACT_EXP_MAX) return ACT_EXP_MAX;
    return x;
}

static void exp_scalar(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = expf(clamp_exp_arg(x[i]));
}

static float sigmoid_one(float x)
{
    /* exp of a non-positive argument never overflows; pick the branch whose
     * numerator is the smaller term so neither side cancels. */
    float e = expf(clamp_exp_arg(-fabsf(x)));
    float inv = 1.0f / (1.0f + e);
    return x >= 0.0f ? inv : e * inv;
}

static void sigmoid_scalar(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = sigmoid_one(x[i]);
}

static void softmax_rows_scalar(const float *x, size_t rows, size_t cols, float *y)
{
    if (cols == 0) return;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float mx = xr[0];
        for (size_t j = 1; j < cols; j++) mx = xr[j] > mx ? xr[j] : mx;
        float sum = 0.0f;
        for (size_t j = 0; j < cols; j++) {
            yr[j] = expf(clamp_exp_arg(xr[j] - mx));
            sum += yr[j];
        }
        float inv = 1.0f / sum;
        for (size_t j = 0; j < cols; j++) yr[j] *= inv;
    }
}

static void softmax_rows_backward_scalar(const float *y, const float *dy, size_t rows, size_t cols, float *dx)
{
    for (size_t r = 0; r < rows; r++) {
        const float *yr = y + r * cols, *dyr = dy + r * cols;
        float *dxr = dx + r * cols;
        float dot = 0.0f;
        for (size_t j = 0; j < cols; j++) dot += yr[j] * dyr[j];
        for (size_t j = 0; j < cols; j++) dxr[j] = yr[j] * (dyr[j] - dot);
    }
}

static double bce_logits_scalar(const float *z, const float *t, const float *w, size_t n, float z_scale,
                                float grad_scale, float *dz)
{
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        float wi = w ? w[i] : 1.0f;
        float zz = z_scale * z[i];
        /* softplus(zz) - t zz = max(zz, 0) - t zz + log1p(exp(-|zz|)): no
         * overflow for any zz and no cancellation in the log term. */
        float e = expf(clamp_exp_arg(-fabsf(zz)));
        float loss = fmaxf(zz, 0.0f) - t[i] * zz + log1pf(e);
        float inv = 1.0f / (1.0f + e);
        float p = zz >= 0.0f ? inv : e * inv;
        total += (double)(wi * loss);
        dz[i] += grad_scale * wi * (p - t[i]);
    }
    return total;
}

static double softmax_xent_rows_scalar(const float *x, size_t rows, size_t cols, float scale, const float *col_bias,
                                       const int32_t *key, const int32_t *target, const float *w, float grad_scale,
                                       float *dx)
{
    double total = 0.0;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *dr = dx + r * cols;
        float wr = w ? w[r] : 1.0f;
        if (wr == 0.0f) {
            for (size_t j = 0; j < cols; j++) dr[j] = 0.0f;
            continue;
        }
        size_t t = (size_t)target[r];
        int32_t kt = key ? key[t] : 0;
        float mx = scale * xr[t] + (col_bias ? col_bias[t] : 0.0f);
        float lt = mx;
        for (size_t j = 0; j < cols; j++) {
            if (key && key[j] == kt && j != t) continue;
            float l = scale * xr[j] + (col_bias ? col_bias[j] : 0.0f);
            mx = l > mx ? l : mx;
        }
        float sum = 0.0f;
        for (size_t j = 0; j < cols; j++) {
            if (key && key[j] == kt && j != t) {
                dr[j] = 0.0f;
                continue;
            }
            float l = scale * xr[j] + (col_bias ? col_bias[j] : 0.0f);
            dr[j] = expf(clamp_exp_arg(l - mx));
            sum += dr[j];
        }
        total += (double)wr * ((double)mx + log((double)sum) - (double)lt);
        float g = grad_scale * wr * scale, inv = g / sum;
        for (size_t j = 0; j < cols; j++) dr[j] *= inv;
        dr[t] -= g;
    }
    return total;
}

static void log_sigmoid_scalar(const float *x, size_t n, float a, float c, float *y, float *d)
{
    for (size_t i = 0; i < n; i++) {
        float z = a * x[i] + c;
        float e = expf(clamp_exp_arg(-fabsf(z)));
        float inv = 1.0f / (1.0f + e);
        y[i] = fminf(z, 0.0f) - log1pf(e);
        if (d) d[i] = z > 0.0f ? e * inv : inv; /* sigmoid(-z) */
    }
}

static double log_sigmoid_backward_scalar(const float *d, const float *g, size_t n, float a, float *dx)
{
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        float p = d[i] * g[i];
        dx[i] += a * p;
        total += (double)p;
    }
    return total;
}

const act_kernels act_kernels_scalar = {
    .exp = exp_scalar,
    .sigmoid = sigmoid_scalar,
    .softmax_rows = softmax_rows_scalar,
    .softmax_rows_backward = softmax_rows_backward_scalar,
    .bce_logits = bce_logits_scalar,
    .softmax_xent_rows = softmax_xent_rows_scalar,
    .log_sigmoid = log_sigmoid_scalar,
    .log_sigmoid_backward = log_sigmoid_backward_scalar,
};

const act_kernels *act_kernels_for(isa_level level)
{
    return ISA_SELECT_FOR(level, &act_kernels_scalar, &act_kernels_avx2, &act_kernels_avx512);
}

const act_kernels *act_kernels_get(void) { return act_kernels_for(isa_active()); }
