/* Optimiser kernels in portable C (the reference every SIMD path is tested
 * against), and the dispatch getters of the optim family. */
#include <math.h>

#include "simd/optim.h"

static void adam_update_scalar(float *w, float *m, float *v, const float *g, size_t n, const adam_coeffs *c)
{
    for (size_t i = 0; i < n; i++) {
        float gg = c->grad_scale * g[i] + c->l2 * w[i];
        float mi = c->beta1 * m[i] + c->one_minus_beta1 * gg;
        float vi = c->beta2 * v[i] + c->one_minus_beta2 * (gg * gg);
        float denom = sqrtf(vi) * c->inv_sqrt_bc2 + c->eps;
        m[i] = mi;
        v[i] = vi;
        w[i] = (w[i] - c->decay * w[i]) - c->step_size * (mi / denom);
    }
}

static void adagrad_update_scalar(float *w, float *acc, const float *g, size_t n, const adagrad_coeffs *c)
{
    for (size_t i = 0; i < n; i++) {
        float gg = c->grad_scale * g[i] + c->l2 * w[i];
        float a = acc[i] + gg * gg;
        acc[i] = a;
        w[i] = w[i] - c->lr * (gg / (sqrtf(a) + c->eps));
    }
}

static double sum_squares_scalar(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * (double)x[i];
    return s;
}

const optim_kernels optim_kernels_scalar = {
    .adam_update = adam_update_scalar,
    .adagrad_update = adagrad_update_scalar,
    .sum_squares = sum_squares_scalar,
};

const optim_kernels *optim_kernels_for(isa_level level)
{
    return ISA_SELECT_FOR(level, &optim_kernels_scalar, &optim_kernels_avx2, &optim_kernels_avx512);
}

const optim_kernels *optim_kernels_get(void) { return optim_kernels_for(isa_active()); }
