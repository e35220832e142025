/* Optimiser kernels for AVX2 + FMA: 8 floats a step, tails through
 * maskload/maskstore so no element is read or written past n and the tail
 * computes exactly like the body. */
#include <immintrin.h>

#include "simd/optim.h"

/* Lane mask with the first k (0 < k < 8) lanes set. */
static inline __m256i tail_mask(size_t k)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)k), lane);
}

static inline void adam_lanes(float *w, float *m, float *v, const float *g, __m256i mask, int masked,
                              const adam_coeffs *c)
{
    __m256 wi = masked ? _mm256_maskload_ps(w, mask) : _mm256_loadu_ps(w);
    __m256 mi = masked ? _mm256_maskload_ps(m, mask) : _mm256_loadu_ps(m);
    __m256 vi = masked ? _mm256_maskload_ps(v, mask) : _mm256_loadu_ps(v);
    __m256 gi = masked ? _mm256_maskload_ps(g, mask) : _mm256_loadu_ps(g);
    __m256 gg = _mm256_fmadd_ps(_mm256_set1_ps(c->l2), wi, _mm256_mul_ps(_mm256_set1_ps(c->grad_scale), gi));
    mi = _mm256_fmadd_ps(_mm256_set1_ps(c->beta1), mi, _mm256_mul_ps(_mm256_set1_ps(c->one_minus_beta1), gg));
    vi = _mm256_fmadd_ps(_mm256_set1_ps(c->beta2), vi,
                         _mm256_mul_ps(_mm256_set1_ps(c->one_minus_beta2), _mm256_mul_ps(gg, gg)));
    __m256 denom = _mm256_fmadd_ps(_mm256_sqrt_ps(vi), _mm256_set1_ps(c->inv_sqrt_bc2), _mm256_set1_ps(c->eps));
    wi = _mm256_fnmadd_ps(_mm256_set1_ps(c->decay), wi, wi);
    wi = _mm256_fnmadd_ps(_mm256_set1_ps(c->step_size), _mm256_div_ps(mi, denom), wi);
    if (masked) {
        _mm256_maskstore_ps(m, mask, mi);
        _mm256_maskstore_ps(v, mask, vi);
        _mm256_maskstore_ps(w, mask, wi);
    } else {
        _mm256_storeu_ps(m, mi);
        _mm256_storeu_ps(v, vi);
        _mm256_storeu_ps(w, wi);
    }
}

static void adam_update_avx2(float *w, float *m, float *v, const float *g, size_t n, const adam_coeffs *c)
{
    size_t i = 0;
    const __m256i all = _mm256_set1_epi32(-1);
    for (; i + 8 <= n; i += 8) adam_lanes(w + i, m + i, v + i, g + i, all, 0, c);
    if (i < n) adam_lanes(w + i, m + i, v + i, g + i, tail_mask(n - i), 1, c);
}

static inline void adagrad_lanes(float *w, float *acc, const float *g, __m256i mask, int masked,
                                 const adagrad_coeffs *c)
{
    __m256 wi = masked ? _mm256_maskload_ps(w, mask) : _mm256_loadu_ps(w);
    __m256 ai = masked ? _mm256_maskload_ps(acc, mask) : _mm256_loadu_ps(acc);
    __m256 gi = masked ? _mm256_maskload_ps(g, mask) : _mm256_loadu_ps(g);
    __m256 gg = _mm256_fmadd_ps(_mm256_set1_ps(c->l2), wi, _mm256_mul_ps(_mm256_set1_ps(c->grad_scale), gi));
    ai = _mm256_fmadd_ps(gg, gg, ai);
    __m256 denom = _mm256_add_ps(_mm256_sqrt_ps(ai), _mm256_set1_ps(c->eps));
    wi = _mm256_fnmadd_ps(_mm256_set1_ps(c->lr), _mm256_div_ps(gg, denom), wi);
    if (masked) {
        _mm256_maskstore_ps(acc, mask, ai);
        _mm256_maskstore_ps(w, mask, wi);
    } else {
        _mm256_storeu_ps(acc, ai);
        _mm256_storeu_ps(w, wi);
    }
}

static void adagrad_update_avx2(float *w, float *acc, const float *g, size_t n, const adagrad_coeffs *c)
{
    size_t i = 0;
    const __m256i all = _mm256_set1_epi32(-1);
    for (; i + 8 <= n; i += 8) adagrad_lanes(w + i, acc + i, g + i, all, 0, c);
    if (i < n) adagrad_lanes(w + i, acc + i, g + i, tail_mask(n - i), 1, c);
}

/* Squares are summed in double lanes: the float inputs convert exactly, so
 * the result differs from the scalar sum only by double rounding order. */
static double sum_squares_avx2(const float *x, size_t n)
{
    __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 xi = _mm256_loadu_ps(x + i);
        __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(xi));
        __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(xi, 1));
        acc0 = _mm256_fmadd_pd(lo, lo, acc0);
        acc1 = _mm256_fmadd_pd(hi, hi, acc1);
    }
    if (i < n) {
        __m256 xi = _mm256_maskload_ps(x + i, tail_mask(n - i));
        __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(xi));
        __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(xi, 1));
        acc0 = _mm256_fmadd_pd(lo, lo, acc0);
        acc1 = _mm256_fmadd_pd(hi, hi, acc1);
    }
    __m256d acc = _mm256_add_pd(acc0, acc1);
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(acc), _mm256_extractf128_pd(acc, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
}

const optim_kernels optim_kernels_avx2 = {
    .adam_update = adam_update_avx2,
    .adagrad_update = adagrad_update_avx2,
    .sum_squares = sum_squares_avx2,
};
