/* AVX-512 narrow matmul kernels: 16 floats a step, mask registers for the
 * tails (masked-off lanes are never read or written). The narrow side is
 * a compile-time constant in each instance (a switch picks it), so the
 * accumulators live in registers: 4 rows x up to 4 outputs for `dot`, 4
 * vectors of 16 columns x up to 4 outputs for `outer`. */
#include <immintrin.h>

#include "simd/lanes_avx512.h"
#include "simd/narrow.h"

#define W AVX512_LANES
#define INLINE static inline __attribute__((always_inline))
/* Rows of a dot group; vectors of a block of outer. */
enum { DOT_ROWS = 4, OUTER_VECTORS = 4 };

/* R rows of A against the N rows of bt. */
INLINE void dot_group(const float *a, size_t k, const float *bt, const int N, const int R, const float *bias,
                      int relu, int accumulate, float *c)
{
    __m512 acc[DOT_ROWS][NARROW_MAX];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int j = 0; j < N; j++) acc[r][j] = _mm512_setzero_ps();
    size_t p = 0;
    for (; p + W <= k; p += W) {
        __m512 b[NARROW_MAX];
#pragma GCC unroll 4
        for (int j = 0; j < N; j++) b[j] = _mm512_loadu_ps(bt + j * k + p);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            __m512 x = _mm512_loadu_ps(a + r * k + p);
#pragma GCC unroll 4
            for (int j = 0; j < N; j++) acc[r][j] = _mm512_fmadd_ps(x, b[j], acc[r][j]);
        }
    }
    if (p < k) {
        __mmask16 m = tail_mask(k - p);
        __m512 b[NARROW_MAX];
#pragma GCC unroll 4
        for (int j = 0; j < N; j++) b[j] = _mm512_maskz_loadu_ps(m, bt + j * k + p);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            __m512 x = _mm512_maskz_loadu_ps(m, a + r * k + p);
#pragma GCC unroll 4
            for (int j = 0; j < N; j++) acc[r][j] = _mm512_fmadd_ps(x, b[j], acc[r][j]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int j = 0; j < N; j++)
            c[r * N + j] = narrow_finish(_mm512_reduce_add_ps(acc[r][j]), bias, (size_t)j, relu, accumulate,
                                         &c[r * N + j]);
}

INLINE void dot_n(const float *a, size_t rows, size_t k, const float *bt, const int N, const float *bias, int relu,
                  int accumulate, float *c)
{
    size_t i = 0;
    for (; i + DOT_ROWS <= rows; i += DOT_ROWS)
        dot_group(a + i * k, k, bt, N, DOT_ROWS, bias, relu, accumulate, c + i * N);
    for (; i < rows; i++) dot_group(a + i * k, k, bt, N, 1, bias, relu, accumulate, c + i * N);
}

static void dot_avx512(const float *a, size_t rows, size_t k, const float *bt, size_t n, const float *bias, int relu,
                       int accumulate, float *c)
{
    switch (n) {
    case 1: dot_n(a, rows, k, bt, 1, bias, relu, accumulate, c); break;
    case 2: dot_n(a, rows, k, bt, 2, bias, relu, accumulate, c); break;
    case 3: dot_n(a, rows, k, bt, 3, bias, relu, accumulate, c); break;
    case 4: dot_n(a, rows, k, bt, 4, bias, relu, accumulate, c); break;
    default: break;
    }
}

INLINE void axpy_k(const float *a, size_t rows, const int K, const float *b, size_t n, int accumulate, float *c)
{
    for (size_t i = 0; i < rows; i++) {
        __m512 s[NARROW_MAX];
#pragma GCC unroll 4
        for (int p = 0; p < K; p++) s[p] = _mm512_set1_ps(a[i * K + p]);
        float *ci = c + i * n;
        size_t j = 0;
        for (; j + W <= n; j += W) {
            __m512 v = _mm512_mul_ps(s[0], _mm512_loadu_ps(b + j));
#pragma GCC unroll 4
            for (int p = 1; p < K; p++) v = _mm512_fmadd_ps(s[p], _mm512_loadu_ps(b + p * n + j), v);
            if (accumulate) v = _mm512_add_ps(v, _mm512_loadu_ps(ci + j));
            _mm512_storeu_ps(ci + j, v);
        }
        if (j < n) {
            __mmask16 m = tail_mask(n - j);
            __m512 v = _mm512_mul_ps(s[0], _mm512_maskz_loadu_ps(m, b + j));
#pragma GCC unroll 4
            for (int p = 1; p < K; p++) v = _mm512_fmadd_ps(s[p], _mm512_maskz_loadu_ps(m, b + p * n + j), v);
            if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, ci + j));
            _mm512_mask_storeu_ps(ci + j, m, v);
        }
    }
}

static void axpy_avx512(const float *a, size_t rows, size_t k, const float *b, size_t n, int accumulate, float *c)
{
    switch (k) {
    case 1: axpy_k(a, rows, 1, b, n, accumulate, c); break;
    case 2: axpy_k(a, rows, 2, b, n, accumulate, c); break;
    case 3: axpy_k(a, rows, 3, b, n, accumulate, c); break;
    case 4: axpy_k(a, rows, 4, b, n, accumulate, c); break;
    default: break;
    }
}

/* Columns [i0, i0 + NV * W) of A (those below m) against the N columns of B. */
INLINE void outer_block(const float *a, size_t lda, size_t i0, size_t m, size_t k, const float *b, const int N,
                        const int NV, int accumulate, float *c)
{
    __m512 acc[OUTER_VECTORS][NARROW_MAX];
    __mmask16 live[OUTER_VECTORS];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
        size_t at = i0 + (size_t)v * W;
        live[v] = at < m ? tail_mask(m - at) : 0;
#pragma GCC unroll 4
        for (int j = 0; j < N; j++) acc[v][j] = _mm512_setzero_ps();
    }
    for (size_t r = 0; r < k; r++) {
        const float *ar = a + r * lda + i0;
        __m512 x[OUTER_VECTORS];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) x[v] = _mm512_maskz_loadu_ps(live[v], ar + v * W);
#pragma GCC unroll 4
        for (int j = 0; j < N; j++) {
            __m512 bj = _mm512_set1_ps(b[r * N + j]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[v][j] = _mm512_fmadd_ps(x[v], bj, acc[v][j]);
        }
    }
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
        size_t at = i0 + (size_t)v * W, lanes = at >= m ? 0 : m - at < W ? m - at : W;
#pragma GCC unroll 4
        for (int j = 0; j < N; j++) {
            float t[W];
            _mm512_storeu_ps(t, acc[v][j]);
            for (size_t l = 0; l < lanes; l++) {
                float *out = &c[(at + l) * N + j];
                *out = accumulate ? t[l] + *out : t[l];
            }
        }
    }
}

INLINE void outer_n(const float *a, size_t lda, size_t m, size_t k, const float *b, const int N, int accumulate,
                    float *c)
{
    for (size_t i0 = 0; i0 < m; i0 += (size_t)OUTER_VECTORS * W) {
        size_t vectors = (m - i0 + W - 1) / W;
        switch (vectors) {
        case 1: outer_block(a, lda, i0, m, k, b, N, 1, accumulate, c); break;
        case 2: outer_block(a, lda, i0, m, k, b, N, 2, accumulate, c); break;
        case 3: outer_block(a, lda, i0, m, k, b, N, 3, accumulate, c); break;
        default: outer_block(a, lda, i0, m, k, b, N, OUTER_VECTORS, accumulate, c); break;
        }
    }
}

static void outer_avx512(const float *a, size_t lda, size_t m, size_t k, const float *b, size_t n, int accumulate,
                         float *c)
{
    switch (n) {
    case 1: outer_n(a, lda, m, k, b, 1, accumulate, c); break;
    case 2: outer_n(a, lda, m, k, b, 2, accumulate, c); break;
    case 3: outer_n(a, lda, m, k, b, 3, accumulate, c); break;
    case 4: outer_n(a, lda, m, k, b, 4, accumulate, c); break;
    default: break;
    }
}

const narrow_kernels narrow_kernels_avx512 = {
    .dot = dot_avx512,
    .axpy = axpy_avx512,
    .outer = outer_avx512,
};
