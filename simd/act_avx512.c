/* AVX-512 activation kernels: the AVX2 algorithms (Cephes-style exp and log
 * with range reduction) on 16 lanes, with mask registers for the tails. */
#include <immintrin.h>
#include <math.h>

#include "simd/act.h"
#include "simd/act_poly.h"
#include "simd/lanes_avx512.h"

#define W AVX512_LANES

/* Clamped as max(lo, x) so a NaN input stays NaN (see act_avx2.c). */
static inline __m512 exp_ps(__m512 x)
{
    x = _mm512_min_ps(_mm512_set1_ps(ACT_EXP_MAX), _mm512_max_ps(_mm512_set1_ps(ACT_EXP_MIN), x));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(ACT_LOG2E)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(ACT_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(ACT_LN2_LO), r);
    __m512 p = _mm512_set1_ps(ACT_EXP_P5);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(ACT_EXP_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(ACT_EXP_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(ACT_EXP_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(ACT_EXP_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(ACT_EXP_P0));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
    p = _mm512_add_ps(p, _mm512_set1_ps(1.0f));
    __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
}

static inline __m512 log_ps(__m512 x)
{
    __m512i xi = _mm512_castps_si512(x);
    __m512i ei = _mm512_sub_epi32(_mm512_srli_epi32(xi, 23), _mm512_set1_epi32(126));
    __m512 m = _mm512_castsi512_ps(
        _mm512_or_si512(_mm512_and_si512(xi, _mm512_set1_epi32(0x007fffff)), _mm512_set1_epi32(0x3f000000)));
    __m512 e = _mm512_cvtepi32_ps(ei);
    __mmask16 small = _mm512_cmp_ps_mask(m, _mm512_set1_ps(ACT_SQRT_HALF), _CMP_LT_OQ);
    e = _mm512_mask_sub_ps(e, small, e, _mm512_set1_ps(1.0f));
    m = _mm512_sub_ps(_mm512_mask_add_ps(m, small, m, m), _mm512_set1_ps(1.0f));
    __m512 z = _mm512_mul_ps(m, m);
    __m512 y = _mm512_set1_ps(ACT_LOG_Q8);
    y = _mm512_fmadd_ps(y, m, _mm512_set1_ps(ACT_LOG_Q7));
    y = _mm512_fmadd_ps(y, m, _mm512_set1_ps(ACT_LOG_Q6));
    y = _mm512_fmadd_ps(y, m, _mm512_set1_ps(ACT_LOG_Q5));
    y = _mm512_fmadd_ps(y, m, _mm512_set1_ps(ACT_LOG_Q4));
    y = _mm512_fmadd_ps(y, m, _mm512_set1_ps(ACT_LOG_Q3));
    y = _mm512_fmadd_ps(y, m, _mm512_set1_ps(ACT_LOG_Q2));
    y = _mm512_fmadd_ps(y, m, _mm512_set1_ps(ACT_LOG_Q1));
    y = _mm512_fmadd_ps(y, m, _mm512_set1_ps(ACT_LOG_Q0));
    y = _mm512_mul_ps(_mm512_mul_ps(y, m), z);
    y = _mm512_fmadd_ps(e, _mm512_set1_ps(ACT_LN2_LO), y);
    y = _mm512_fnmadd_ps(z, _mm512_set1_ps(0.5f), y);
    return _mm512_fmadd_ps(e, _mm512_set1_ps(ACT_LN2_HI), _mm512_add_ps(m, y));
}

/* log1p(e) = log(u) e / (u - 1) with u = 1 + e, or e when u rounds to 1. */
static inline __m512 log1p_ps(__m512 e)
{
    __m512 u = _mm512_add_ps(_mm512_set1_ps(1.0f), e);
    __m512 d = _mm512_sub_ps(u, _mm512_set1_ps(1.0f));
    __mmask16 one = _mm512_cmp_ps_mask(d, _mm512_setzero_ps(), _CMP_EQ_OQ);
    __m512 safe_d = _mm512_mask_blend_ps(one, d, _mm512_set1_ps(1.0f));
    __m512 r = _mm512_div_ps(_mm512_mul_ps(log_ps(u), e), safe_d);
    return _mm512_mask_blend_ps(one, r, e);
}

static inline __m512 abs_ps(__m512 x)
{
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x7fffffff)));
}

static inline __m512 sigmoid_from(__m512 x, __m512 e)
{
    __m512 inv = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    __mmask16 nonneg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ);
    return _mm512_mask_blend_ps(nonneg, _mm512_mul_ps(e, inv), inv);
}

static inline __m512 sigmoid_ps(__m512 x) { return sigmoid_from(x, exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), abs_ps(x)))); }

static void exp_avx512(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i += W) {
        __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, exp_ps(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

static void sigmoid_avx512(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i += W) {
        __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, sigmoid_ps(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

/* Rows shorter than a vector (gates over 2..8 experts): per-row vector code
 * would be mostly reductions, so shift each row by its maximum in scalar
 * code, run the vector exp over the whole contiguous block, then normalise
 * each row in scalar code. */
static void softmax_short_rows(const float *x, size_t rows, size_t cols, float *y)
{
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float mx = xr[0];
        for (size_t j = 1; j < cols; j++) mx = xr[j] > mx ? xr[j] : mx;
        for (size_t j = 0; j < cols; j++) y[r * cols + j] = xr[j] - mx;
    }
    exp_avx512(y, y, rows * cols);
    for (size_t r = 0; r < rows; r++) {
        float *yr = y + r * cols, sum = 0.0f;
        for (size_t j = 0; j < cols; j++) sum += yr[j];
        float inv = 1.0f / sum;
        for (size_t j = 0; j < cols; j++) yr[j] *= inv;
    }
}

static void softmax_rows_avx512(const float *x, size_t rows, size_t cols, float *y)
{
    if (cols == 0) return;
    if (cols < W) {
        softmax_short_rows(x, rows, cols, y);
        return;
    }
    const __m512 ninf = _mm512_set1_ps(-__builtin_inff());
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        __m512 vmax = ninf;
        for (size_t j = 0; j < cols; j += W)
            vmax = _mm512_max_ps(vmax, _mm512_mask_loadu_ps(ninf, tail_mask(cols - j), xr + j));
        __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
        __m512 vsum = _mm512_setzero_ps();
        for (size_t j = 0; j < cols; j += W) {
            __mmask16 m = tail_mask(cols - j);
            /* Masked-off lanes would contribute the clamped exp; zero them. */
            __m512 e = _mm512_maskz_mov_ps(m, exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, xr + j), mx)));
            _mm512_mask_storeu_ps(yr + j, m, e);
            vsum = _mm512_add_ps(vsum, e);
        }
        __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vsum));
        for (size_t j = 0; j < cols; j += W) {
            __mmask16 m = tail_mask(cols - j);
            _mm512_mask_storeu_ps(yr + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, yr + j), inv));
        }
    }
}

static void softmax_rows_backward_avx512(const float *y, const float *dy, size_t rows, size_t cols, float *dx)
{
    for (size_t r = 0; r < rows; r++) {
        const float *yr = y + r * cols, *dyr = dy + r * cols;
        float *dxr = dx + r * cols;
        __m512 acc = _mm512_setzero_ps();
        for (size_t j = 0; j < cols; j += W) {
            __mmask16 m = tail_mask(cols - j);
            acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, yr + j), _mm512_maskz_loadu_ps(m, dyr + j), acc);
        }
        __m512 dot = _mm512_set1_ps(_mm512_reduce_add_ps(acc));
        for (size_t j = 0; j < cols; j += W) {
            __mmask16 m = tail_mask(cols - j);
            __m512 g = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, yr + j), _mm512_sub_ps(_mm512_maskz_loadu_ps(m, dyr + j), dot));
            _mm512_mask_storeu_ps(dxr + j, m, g);
        }
    }
}

static double bce_logits_avx512(const float *z, const float *t, const float *w, size_t n, float z_scale,
                                float grad_scale, float *dz)
{
    const __m512 zs = _mm512_set1_ps(z_scale), gs = _mm512_set1_ps(grad_scale), ones = _mm512_set1_ps(1.0f);
    __m512d total = _mm512_setzero_pd();
    for (size_t i = 0; i < n; i += W) {
        __mmask16 m = tail_mask(n - i);
        __m512 wv = w ? _mm512_maskz_loadu_ps(m, w + i) : ones;
        __m512 tv = _mm512_maskz_loadu_ps(m, t + i);
        __m512 zz = _mm512_mul_ps(zs, _mm512_maskz_loadu_ps(m, z + i));
        __m512 e = exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), abs_ps(zz)));
        __m512 loss = _mm512_add_ps(_mm512_fnmadd_ps(tv, zz, _mm512_max_ps(zz, _mm512_setzero_ps())), log1p_ps(e));
        __m512 g = _mm512_mul_ps(_mm512_mul_ps(gs, wv), _mm512_sub_ps(sigmoid_from(zz, e), tv));
        _mm512_mask_storeu_ps(dz + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, dz + i), g));
        /* Lanes outside the tail contribute nothing to the sum. */
        __m512 l = _mm512_maskz_mul_ps(m, wv, loss);
        total = _mm512_add_pd(total, _mm512_cvtps_pd(_mm512_castps512_ps256(l)));
        total = _mm512_add_pd(total, _mm512_cvtps_pd(_mm512_extractf32x8_ps(l, 1)));
    }
    return _mm512_reduce_add_pd(total);
}

/* Logits l = scale x + bias of one block (bias NULL: 0) under mask m. */
static inline __m512 xent_logits(const float *x, const float *bias, __m512 sc, __mmask16 m)
{
    __m512 l = _mm512_mul_ps(sc, _mm512_maskz_loadu_ps(m, x));
    return bias ? _mm512_add_ps(l, _mm512_maskz_loadu_ps(m, bias)) : l;
}

/* Lanes of block j that take part in the row's softmax: inside the row, and
 * (with keys) not the target's key. The target column itself is added apart. */
static inline __mmask16 xent_live(const int32_t *key, size_t j, __mmask16 m, __m512i kt)
{
    if (!key) return m;
    return m & ~_mm512_mask_cmpeq_epi32_mask(m, _mm512_maskz_loadu_epi32(m, key + j), kt);
}

static double softmax_xent_rows_avx512(const float *x, size_t rows, size_t cols, float scale, const float *col_bias,
                                       const int32_t *key, const int32_t *target, const float *w, float grad_scale,
                                       float *dx)
{
    const __m512 sc = _mm512_set1_ps(scale);
    double total = 0.0;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *dr = dx + r * cols;
        float wr = w ? w[r] : 1.0f;
        if (wr == 0.0f) {
            for (size_t j = 0; j < cols; j += W) _mm512_mask_storeu_ps(dr + j, tail_mask(cols - j), _mm512_setzero_ps());
            continue;
        }
        size_t t = (size_t)target[r];
        __m512i kt = _mm512_set1_epi32(key ? key[t] : 0);
        float lt = scale * xr[t] + (col_bias ? col_bias[t] : 0.0f);
        __m512 vmax = _mm512_set1_ps(lt);
        for (size_t j = 0; j < cols; j += W) {
            __mmask16 m = tail_mask(cols - j), live = xent_live(key, j, m, kt);
            vmax = _mm512_mask_max_ps(vmax, live, vmax, xent_logits(xr + j, col_bias ? col_bias + j : NULL, sc, m));
        }
        float mxs = _mm512_reduce_max_ps(vmax);
        __m512 mx = _mm512_set1_ps(mxs), vsum = _mm512_setzero_ps();
        for (size_t j = 0; j < cols; j += W) {
            __mmask16 m = tail_mask(cols - j), live = xent_live(key, j, m, kt);
            __m512 l = xent_logits(xr + j, col_bias ? col_bias + j : NULL, sc, m);
            __m512 e = _mm512_maskz_mov_ps(live, exp_ps(_mm512_sub_ps(l, mx)));
            _mm512_mask_storeu_ps(dr + j, m, e);
            vsum = _mm512_add_ps(vsum, e);
        }
        float sum = _mm512_reduce_add_ps(vsum);
        /* With keys the target's own lane was left out above (its key is kt). */
        float et = 0.0f;
        if (key) {
            et = expf(fmaxf(lt - mxs, ACT_EXP_MIN));
            sum += et;
        }
        total += (double)wr * ((double)mxs + log((double)sum) - (double)lt);
        float g = grad_scale * wr * scale;
        __m512 inv = _mm512_set1_ps(g / sum);
        for (size_t j = 0; j < cols; j += W) {
            __mmask16 m = tail_mask(cols - j);
            _mm512_mask_storeu_ps(dr + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, dr + j), inv));
        }
        if (key) dr[t] = et * (g / sum);
        dr[t] -= g;
    }
    return total;
}

static void log_sigmoid_avx512(const float *x, size_t n, float a, float c, float *y, float *d)
{
    const __m512 av = _mm512_set1_ps(a), cv = _mm512_set1_ps(c), zero = _mm512_setzero_ps();
    for (size_t i = 0; i < n; i += W) {
        __mmask16 m = tail_mask(n - i);
        __m512 z = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, x + i), cv);
        __m512 e = exp_ps(_mm512_sub_ps(zero, abs_ps(z)));
        __m512 dv = sigmoid_from(_mm512_sub_ps(zero, z), e);
        _mm512_mask_storeu_ps(y + i, m, _mm512_sub_ps(_mm512_min_ps(z, zero), log1p_ps(e)));
        if (d) _mm512_mask_storeu_ps(d + i, m, dv);
    }
}

static double log_sigmoid_backward_avx512(const float *d, const float *g, size_t n, float a, float *dx)
{
    const __m512 av = _mm512_set1_ps(a);
    __m512d total = _mm512_setzero_pd();
    for (size_t i = 0; i < n; i += W) {
        __mmask16 m = tail_mask(n - i);
        __m512 p = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, d + i), _mm512_maskz_loadu_ps(m, g + i));
        _mm512_mask_storeu_ps(dx + i, m, _mm512_fmadd_ps(av, p, _mm512_maskz_loadu_ps(m, dx + i)));
        total = _mm512_add_pd(total, _mm512_cvtps_pd(_mm512_castps512_ps256(p)));
        total = _mm512_add_pd(total, _mm512_cvtps_pd(_mm512_extractf32x8_ps(p, 1)));
    }
    return _mm512_reduce_add_pd(total);
}

const act_kernels act_kernels_avx512 = {
    .exp = exp_avx512,
    .sigmoid = sigmoid_avx512,
    .softmax_rows = softmax_rows_avx512,
    .softmax_rows_backward = softmax_rows_backward_avx512,
    .bce_logits = bce_logits_avx512,
    .softmax_xent_rows = softmax_xent_rows_avx512,
    .log_sigmoid = log_sigmoid_avx512,
    .log_sigmoid_backward = log_sigmoid_backward_avx512,
};
