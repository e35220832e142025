/* Optimiser kernels for AVX-512: 16 floats a step, tails through mask
 * registers so no element is read or written past n and the tail computes
 * exactly like the body. */
#include <immintrin.h>

#include "simd/optim.h"

/* The lanes' arithmetic, shared by the body and the masked tail. */
static inline void adam_math(__m512 *wi, __m512 *mi, __m512 *vi, __m512 gi, const adam_coeffs *c)
{
    __m512 gg = _mm512_fmadd_ps(_mm512_set1_ps(c->l2), *wi, _mm512_mul_ps(_mm512_set1_ps(c->grad_scale), gi));
    *mi = _mm512_fmadd_ps(_mm512_set1_ps(c->beta1), *mi, _mm512_mul_ps(_mm512_set1_ps(c->one_minus_beta1), gg));
    *vi = _mm512_fmadd_ps(_mm512_set1_ps(c->beta2), *vi,
                          _mm512_mul_ps(_mm512_set1_ps(c->one_minus_beta2), _mm512_mul_ps(gg, gg)));
    __m512 denom = _mm512_fmadd_ps(_mm512_sqrt_ps(*vi), _mm512_set1_ps(c->inv_sqrt_bc2), _mm512_set1_ps(c->eps));
    *wi = _mm512_fnmadd_ps(_mm512_set1_ps(c->decay), *wi, *wi);
    *wi = _mm512_fnmadd_ps(_mm512_set1_ps(c->step_size), _mm512_div_ps(*mi, denom), *wi);
}

static inline void adam_lanes(float *w, float *m, float *v, const float *g, __mmask16 k, const adam_coeffs *c)
{
    __m512 wi = _mm512_maskz_loadu_ps(k, w);
    __m512 mi = _mm512_maskz_loadu_ps(k, m);
    __m512 vi = _mm512_maskz_loadu_ps(k, v);
    __m512 gi = _mm512_maskz_loadu_ps(k, g);
    adam_math(&wi, &mi, &vi, gi, c);
    _mm512_mask_storeu_ps(m, k, mi);
    _mm512_mask_storeu_ps(v, k, vi);
    _mm512_mask_storeu_ps(w, k, wi);
}

static void adam_update_avx512(float *w, float *m, float *v, const float *g, size_t n, const adam_coeffs *c)
{
    size_t i = 0;
    /* the body with plain loads and stores: masked ones, all lanes on, ran
     * the dense update 1.4x as long inside the training step */
    for (; i + 16 <= n; i += 16) {
        __m512 wi = _mm512_loadu_ps(w + i), mi = _mm512_loadu_ps(m + i), vi = _mm512_loadu_ps(v + i);
        adam_math(&wi, &mi, &vi, _mm512_loadu_ps(g + i), c);
        _mm512_storeu_ps(m + i, mi);
        _mm512_storeu_ps(v + i, vi);
        _mm512_storeu_ps(w + i, wi);
    }
    if (i < n) adam_lanes(w + i, m + i, v + i, g + i, (__mmask16)((1u << (n - i)) - 1u), c);
}

static inline void adagrad_lanes(float *w, float *acc, const float *g, __mmask16 k, const adagrad_coeffs *c)
{
    __m512 wi = _mm512_maskz_loadu_ps(k, w);
    __m512 ai = _mm512_maskz_loadu_ps(k, acc);
    __m512 gi = _mm512_maskz_loadu_ps(k, g);
    __m512 gg = _mm512_fmadd_ps(_mm512_set1_ps(c->l2), wi, _mm512_mul_ps(_mm512_set1_ps(c->grad_scale), gi));
    ai = _mm512_fmadd_ps(gg, gg, ai);
    __m512 denom = _mm512_add_ps(_mm512_sqrt_ps(ai), _mm512_set1_ps(c->eps));
    wi = _mm512_fnmadd_ps(_mm512_set1_ps(c->lr), _mm512_div_ps(gg, denom), wi);
    _mm512_mask_storeu_ps(acc, k, ai);
    _mm512_mask_storeu_ps(w, k, wi);
}

static void adagrad_update_avx512(float *w, float *acc, const float *g, size_t n, const adagrad_coeffs *c)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) adagrad_lanes(w + i, acc + i, g + i, (__mmask16)0xFFFF, c);
    if (i < n) adagrad_lanes(w + i, acc + i, g + i, (__mmask16)((1u << (n - i)) - 1u), c);
}

/* Squares are summed in double lanes (exact conversion of the inputs), so the
 * result differs from the scalar sum only by double rounding order. */
static double sum_squares_avx512(const float *x, size_t n)
{
    __m512d acc0 = _mm512_setzero_pd(), acc1 = _mm512_setzero_pd();
    for (size_t i = 0; i < n; i += 16) {
        /* plain loads in the body, a masked one for the tail */
        __m512 xi = n - i >= 16 ? _mm512_loadu_ps(x + i) : _mm512_maskz_loadu_ps((__mmask16)((1u << (n - i)) - 1u), x + i);
        __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(xi));
        __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(xi), 1)));
        acc0 = _mm512_fmadd_pd(lo, lo, acc0);
        acc1 = _mm512_fmadd_pd(hi, hi, acc1);
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(acc0, acc1));
}

const optim_kernels optim_kernels_avx512 = {
    .adam_update = adam_update_avx512,
    .adagrad_update = adagrad_update_avx512,
    .sum_squares = sum_squares_avx512,
};
