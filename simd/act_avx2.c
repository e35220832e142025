/* AVX2 + FMA activation kernels. exp and log are Cephes-style polynomials
 * with range reduction (about 1 ulp on the clamped range, see kernel_act);
 * tails go through the same vector code with masked loads and stores so a
 * row's last elements are computed exactly like its first ones. */
#include <immintrin.h>
#include <math.h>

#include "simd/act.h"
#include "simd/act_poly.h"
#include "simd/lanes_avx2.h"

#define W AVX2_LANES

static inline float hmax(__m256 v)
{
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* e^x = 2^n e^r with n = round(x / ln 2) and |r| <= ln2 / 2; ln 2 is split
 * in a short high part (exact n * hi) and a low correction. The clamp is
 * written as max(lo, x) so a NaN input stays NaN. */
static inline __m256 exp_ps(__m256 x)
{
    x = _mm256_min_ps(_mm256_set1_ps(ACT_EXP_MAX), _mm256_max_ps(_mm256_set1_ps(ACT_EXP_MIN), x));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(ACT_LOG2E)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(ACT_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(ACT_LN2_LO), r);
    __m256 p = _mm256_set1_ps(ACT_EXP_P5);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(ACT_EXP_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(ACT_EXP_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(ACT_EXP_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(ACT_EXP_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(ACT_EXP_P0));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
    p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

/* Natural log of positive normal x: x = m 2^e with m in [sqrt(.5), sqrt(2)),
 * log(x) = log1p(m - 1) + e ln 2 (Cephes logf polynomial). */
static inline __m256 log_ps(__m256 x)
{
    __m256i xi = _mm256_castps_si256(x);
    __m256i ei = _mm256_sub_epi32(_mm256_srli_epi32(xi, 23), _mm256_set1_epi32(126));
    __m256 m = _mm256_castsi256_ps(
        _mm256_or_si256(_mm256_and_si256(xi, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f000000)));
    __m256 e = _mm256_cvtepi32_ps(ei);
    __m256 small = _mm256_cmp_ps(m, _mm256_set1_ps(ACT_SQRT_HALF), _CMP_LT_OQ);
    e = _mm256_sub_ps(e, _mm256_and_ps(small, _mm256_set1_ps(1.0f)));
    m = _mm256_sub_ps(_mm256_add_ps(m, _mm256_and_ps(small, m)), _mm256_set1_ps(1.0f));
    __m256 z = _mm256_mul_ps(m, m);
    __m256 y = _mm256_set1_ps(ACT_LOG_Q8);
    y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(ACT_LOG_Q7));
    y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(ACT_LOG_Q6));
    y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(ACT_LOG_Q5));
    y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(ACT_LOG_Q4));
    y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(ACT_LOG_Q3));
    y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(ACT_LOG_Q2));
    y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(ACT_LOG_Q1));
    y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(ACT_LOG_Q0));
    y = _mm256_mul_ps(_mm256_mul_ps(y, m), z);
    y = _mm256_fmadd_ps(e, _mm256_set1_ps(ACT_LN2_LO), y);
    y = _mm256_fnmadd_ps(z, _mm256_set1_ps(0.5f), y);
    return _mm256_fmadd_ps(e, _mm256_set1_ps(ACT_LN2_HI), _mm256_add_ps(m, y));
}

/* log1p(e) for e >= 0 without losing small e: with u = 1 + e rounded,
 * log(u) * e / (u - 1) is exact to a few ulp (Goldberg), and u == 1 means
 * e is below half an ulp of 1, where log1p(e) = e. */
static inline __m256 log1p_ps(__m256 e)
{
    __m256 u = _mm256_add_ps(_mm256_set1_ps(1.0f), e);
    __m256 d = _mm256_sub_ps(u, _mm256_set1_ps(1.0f));
    __m256 one = _mm256_cmp_ps(d, _mm256_setzero_ps(), _CMP_EQ_OQ);
    __m256 safe_d = _mm256_blendv_ps(d, _mm256_set1_ps(1.0f), one);
    __m256 r = _mm256_div_ps(_mm256_mul_ps(log_ps(u), e), safe_d);
    return _mm256_blendv_ps(r, e, one);
}

static inline __m256 abs_ps(__m256 x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }

/* sigmoid from e = exp(-|x|): 1/(1+e) for x >= 0, e/(1+e) otherwise. */
static inline __m256 sigmoid_from(__m256 x, __m256 e)
{
    __m256 inv = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
    __m256 nonneg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ);
    return _mm256_blendv_ps(_mm256_mul_ps(e, inv), inv, nonneg);
}

static void exp_avx2(const float *x, float *y, size_t n)
{
    size_t i = 0;
    for (; i + W <= n; i += W) _mm256_storeu_ps(y + i, exp_ps(_mm256_loadu_ps(x + i)));
    if (i < n) {
        __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(y + i, m, exp_ps(_mm256_maskload_ps(x + i, m)));
    }
}

static inline __m256 sigmoid_ps(__m256 x) { return sigmoid_from(x, exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), abs_ps(x)))); }

static void sigmoid_avx2(const float *x, float *y, size_t n)
{
    size_t i = 0;
    for (; i + W <= n; i += W) _mm256_storeu_ps(y + i, sigmoid_ps(_mm256_loadu_ps(x + i)));
    if (i < n) {
        __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(y + i, m, sigmoid_ps(_mm256_maskload_ps(x + i, m)));
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
    exp_avx2(y, y, rows * cols);
    for (size_t r = 0; r < rows; r++) {
        float *yr = y + r * cols, sum = 0.0f;
        for (size_t j = 0; j < cols; j++) sum += yr[j];
        float inv = 1.0f / sum;
        for (size_t j = 0; j < cols; j++) yr[j] *= inv;
    }
}

static void softmax_rows_avx2(const float *x, size_t rows, size_t cols, float *y)
{
    if (cols == 0) return;
    if (cols < W) {
        softmax_short_rows(x, rows, cols, y);
        return;
    }
    const __m256 ninf = _mm256_set1_ps(-__builtin_inff());
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        __m256 vmax = ninf;
        for (size_t j = 0; j < cols; j += W) {
            __m256i m = tail_mask(cols - j);
            __m256 v = _mm256_blendv_ps(ninf, _mm256_maskload_ps(xr + j, m), _mm256_castsi256_ps(m));
            vmax = _mm256_max_ps(vmax, v);
        }
        __m256 mx = _mm256_set1_ps(hmax(vmax));
        __m256 vsum = _mm256_setzero_ps();
        for (size_t j = 0; j < cols; j += W) {
            __m256i m = tail_mask(cols - j);
            /* Masked-off lanes would contribute the clamped exp; zero them. */
            __m256 e = _mm256_and_ps(exp_ps(_mm256_sub_ps(_mm256_maskload_ps(xr + j, m), mx)), _mm256_castsi256_ps(m));
            _mm256_maskstore_ps(yr + j, m, e);
            vsum = _mm256_add_ps(vsum, e);
        }
        __m256 inv = _mm256_set1_ps(1.0f / hsum(vsum));
        for (size_t j = 0; j < cols; j += W) {
            __m256i m = tail_mask(cols - j);
            _mm256_maskstore_ps(yr + j, m, _mm256_mul_ps(_mm256_maskload_ps(yr + j, m), inv));
        }
    }
}

static void softmax_rows_backward_avx2(const float *y, const float *dy, size_t rows, size_t cols, float *dx)
{
    for (size_t r = 0; r < rows; r++) {
        const float *yr = y + r * cols, *dyr = dy + r * cols;
        float *dxr = dx + r * cols;
        __m256 acc = _mm256_setzero_ps();
        for (size_t j = 0; j < cols; j += W) {
            __m256i m = tail_mask(cols - j);
            acc = _mm256_fmadd_ps(_mm256_maskload_ps(yr + j, m), _mm256_maskload_ps(dyr + j, m), acc);
        }
        __m256 dot = _mm256_set1_ps(hsum(acc));
        for (size_t j = 0; j < cols; j += W) {
            __m256i m = tail_mask(cols - j);
            __m256 g = _mm256_mul_ps(_mm256_maskload_ps(yr + j, m), _mm256_sub_ps(_mm256_maskload_ps(dyr + j, m), dot));
            _mm256_maskstore_ps(dxr + j, m, g);
        }
    }
}

/* One vector of the fused BCE; lanes outside live contribute nothing. */
static inline __m256 bce_block(__m256 z, __m256 t, __m256 w, __m256 zs, __m256 gs, __m256 live, __m256 *grad)
{
    __m256 zz = _mm256_mul_ps(zs, z);
    __m256 e = exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), abs_ps(zz)));
    __m256 loss = _mm256_add_ps(_mm256_fnmadd_ps(t, zz, _mm256_max_ps(zz, _mm256_setzero_ps())), log1p_ps(e));
    __m256 p = sigmoid_from(zz, e);
    *grad = _mm256_and_ps(_mm256_mul_ps(_mm256_mul_ps(gs, w), _mm256_sub_ps(p, t)), live);
    return _mm256_and_ps(_mm256_mul_ps(w, loss), live);
}

static inline __m256d widen_sum(__m256 v)
{
    return _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

static double bce_logits_avx2(const float *z, const float *t, const float *w, size_t n, float z_scale,
                              float grad_scale, float *dz)
{
    const __m256 zs = _mm256_set1_ps(z_scale), gs = _mm256_set1_ps(grad_scale), ones = _mm256_set1_ps(1.0f);
    const __m256 all = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    __m256d total = _mm256_setzero_pd();
    __m256 g;
    size_t i = 0;
    for (; i + W <= n; i += W) {
        __m256 wv = w ? _mm256_loadu_ps(w + i) : ones;
        __m256 l = bce_block(_mm256_loadu_ps(z + i), _mm256_loadu_ps(t + i), wv, zs, gs, all, &g);
        _mm256_storeu_ps(dz + i, _mm256_add_ps(_mm256_loadu_ps(dz + i), g));
        total = _mm256_add_pd(total, widen_sum(l));
    }
    if (i < n) {
        __m256i m = tail_mask(n - i);
        __m256 wv = w ? _mm256_maskload_ps(w + i, m) : ones;
        __m256 l = bce_block(_mm256_maskload_ps(z + i, m), _mm256_maskload_ps(t + i, m), wv, zs, gs,
                             _mm256_castsi256_ps(m), &g);
        _mm256_maskstore_ps(dz + i, m, _mm256_add_ps(_mm256_maskload_ps(dz + i, m), g));
        total = _mm256_add_pd(total, widen_sum(l));
    }
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(total), _mm256_extractf128_pd(total, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

/* Logits l = scale x + bias of one block (bias NULL: 0) under mask m. */
static inline __m256 xent_logits(const float *x, const float *bias, __m256 sc, __m256i m)
{
    __m256 l = _mm256_mul_ps(sc, _mm256_maskload_ps(x, m));
    return bias ? _mm256_add_ps(l, _mm256_maskload_ps(bias, m)) : l;
}

/* Lanes of block j that take part in the row's softmax: inside the row, and
 * (with keys) not the target's key. The target column itself is added apart. */
static inline __m256i xent_live(const int32_t *key, size_t j, __m256i m, __m256i kt)
{
    if (!key) return m;
    __m256i same = _mm256_cmpeq_epi32(_mm256_maskload_epi32((const int *)(key + j), m), kt);
    return _mm256_andnot_si256(same, m);
}

static double softmax_xent_rows_avx2(const float *x, size_t rows, size_t cols, float scale, const float *col_bias,
                                     const int32_t *key, const int32_t *target, const float *w, float grad_scale,
                                     float *dx)
{
    const __m256 ninf = _mm256_set1_ps(-__builtin_inff()), sc = _mm256_set1_ps(scale);
    double total = 0.0;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *dr = dx + r * cols;
        float wr = w ? w[r] : 1.0f;
        if (wr == 0.0f) {
            for (size_t j = 0; j < cols; j += W) _mm256_maskstore_ps(dr + j, tail_mask(cols - j), _mm256_setzero_ps());
            continue;
        }
        size_t t = (size_t)target[r];
        __m256i kt = _mm256_set1_epi32(key ? key[t] : 0);
        float lt = scale * xr[t] + (col_bias ? col_bias[t] : 0.0f);
        __m256 vmax = _mm256_set1_ps(lt);
        for (size_t j = 0; j < cols; j += W) {
            __m256i m = tail_mask(cols - j), live = xent_live(key, j, m, kt);
            __m256 l = xent_logits(xr + j, col_bias ? col_bias + j : NULL, sc, m);
            vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(ninf, l, _mm256_castsi256_ps(live)));
        }
        float mxs = hmax(vmax);
        __m256 mx = _mm256_set1_ps(mxs), vsum = _mm256_setzero_ps();
        for (size_t j = 0; j < cols; j += W) {
            __m256i m = tail_mask(cols - j), live = xent_live(key, j, m, kt);
            __m256 l = xent_logits(xr + j, col_bias ? col_bias + j : NULL, sc, m);
            __m256 e = _mm256_and_ps(exp_ps(_mm256_sub_ps(l, mx)), _mm256_castsi256_ps(live));
            _mm256_maskstore_ps(dr + j, m, e);
            vsum = _mm256_add_ps(vsum, e);
        }
        float sum = hsum(vsum);
        /* With keys the target's own lane was left out above (its key is kt). */
        float et = 0.0f;
        if (key) {
            et = expf(fmaxf(lt - mxs, ACT_EXP_MIN));
            sum += et;
        }
        total += (double)wr * ((double)mxs + log((double)sum) - (double)lt);
        float g = grad_scale * wr * scale;
        __m256 inv = _mm256_set1_ps(g / sum);
        for (size_t j = 0; j < cols; j += W) {
            __m256i m = tail_mask(cols - j);
            _mm256_maskstore_ps(dr + j, m, _mm256_mul_ps(_mm256_maskload_ps(dr + j, m), inv));
        }
        if (key) dr[t] = et * (g / sum);
        dr[t] -= g;
    }
    return total;
}

/* log sigmoid(z) = min(z, 0) - log1p(exp(-|z|)) and sigmoid(-z) of one block. */
static inline __m256 log_sigmoid_block(__m256 z, __m256 *d)
{
    __m256 e = exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), abs_ps(z)));
    *d = sigmoid_from(_mm256_sub_ps(_mm256_setzero_ps(), z), e);
    return _mm256_sub_ps(_mm256_min_ps(z, _mm256_setzero_ps()), log1p_ps(e));
}

static void log_sigmoid_avx2(const float *x, size_t n, float a, float c, float *y, float *d)
{
    const __m256 av = _mm256_set1_ps(a), cv = _mm256_set1_ps(c);
    for (size_t i = 0; i < n; i += W) {
        __m256i m = tail_mask(n - i);
        __m256 dv, yv = log_sigmoid_block(_mm256_fmadd_ps(av, _mm256_maskload_ps(x + i, m), cv), &dv);
        _mm256_maskstore_ps(y + i, m, yv);
        if (d) _mm256_maskstore_ps(d + i, m, dv);
    }
}

static double log_sigmoid_backward_avx2(const float *d, const float *g, size_t n, float a, float *dx)
{
    const __m256 av = _mm256_set1_ps(a);
    __m256d total = _mm256_setzero_pd();
    for (size_t i = 0; i < n; i += W) {
        __m256i m = tail_mask(n - i);
        __m256 p = _mm256_mul_ps(_mm256_maskload_ps(d + i, m), _mm256_maskload_ps(g + i, m));
        _mm256_maskstore_ps(dx + i, m, _mm256_fmadd_ps(av, p, _mm256_maskload_ps(dx + i, m)));
        total = _mm256_add_pd(total, widen_sum(p)); /* masked lanes loaded 0 */
    }
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(total), _mm256_extractf128_pd(total, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

const act_kernels act_kernels_avx2 = {
    .exp = exp_avx2,
    .sigmoid = sigmoid_avx2,
    .softmax_rows = softmax_rows_avx2,
    .softmax_rows_backward = softmax_rows_backward_avx2,
    .bce_logits = bce_logits_avx2,
    .softmax_xent_rows = softmax_xent_rows_avx2,
    .log_sigmoid = log_sigmoid_avx2,
    .log_sigmoid_backward = log_sigmoid_backward_avx2,
};
