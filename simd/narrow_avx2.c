/* AVX2 narrow matmul kernels: 8 floats a step, masked loads and stores
 * for the tails only (masked-off lanes are never read or written). The
 * narrow side is a compile-time constant in each instance (a switch picks
 * it), so the accumulators live in the 16 registers: 2 rows x up to 4
 * outputs for `dot`, 2 vectors of 8 columns x up to 4 outputs for `outer`. */
#include <immintrin.h>

#include "simd/lanes_avx2.h"
#include "simd/narrow.h"

#define W AVX2_LANES
#define INLINE static inline __attribute__((always_inline))
/* Rows of a dot group; vectors of a block of outer. */
enum { DOT_ROWS = 2, OUTER_VECTORS = 2 };

/* The first min(rem, W) floats at p, zeros after them. */
INLINE __m256 load_part(const float *p, size_t rem)
{
    return rem >= W ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, tail_mask(rem));
}

/* R rows of A against the N rows of bt. */
INLINE void dot_group(const float *a, size_t k, const float *bt, const int N, const int R, const float *bias,
                      int relu, int accumulate, float *c)
{
    __m256 acc[DOT_ROWS][NARROW_MAX];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int j = 0; j < N; j++) acc[r][j] = _mm256_setzero_ps();
    size_t p = 0;
    for (; p + W <= k; p += W) {
        __m256 b[NARROW_MAX];
#pragma GCC unroll 4
        for (int j = 0; j < N; j++) b[j] = _mm256_loadu_ps(bt + j * k + p);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            __m256 x = _mm256_loadu_ps(a + r * k + p);
#pragma GCC unroll 4
            for (int j = 0; j < N; j++) acc[r][j] = _mm256_fmadd_ps(x, b[j], acc[r][j]);
        }
    }
    if (p < k) {
        __m256i m = tail_mask(k - p);
        __m256 b[NARROW_MAX];
#pragma GCC unroll 4
        for (int j = 0; j < N; j++) b[j] = _mm256_maskload_ps(bt + j * k + p, m);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            __m256 x = _mm256_maskload_ps(a + r * k + p, m);
#pragma GCC unroll 4
            for (int j = 0; j < N; j++) acc[r][j] = _mm256_fmadd_ps(x, b[j], acc[r][j]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int j = 0; j < N; j++)
            c[r * N + j] = narrow_finish(hsum(acc[r][j]), bias, (size_t)j, relu, accumulate, &c[r * N + j]);
}

INLINE void dot_n(const float *a, size_t rows, size_t k, const float *bt, const int N, const float *bias, int relu,
                  int accumulate, float *c)
{
    size_t i = 0;
    for (; i + DOT_ROWS <= rows; i += DOT_ROWS)
        dot_group(a + i * k, k, bt, N, DOT_ROWS, bias, relu, accumulate, c + i * N);
    for (; i < rows; i++) dot_group(a + i * k, k, bt, N, 1, bias, relu, accumulate, c + i * N);
}

static void dot_avx2(const float *a, size_t rows, size_t k, const float *bt, size_t n, const float *bias, int relu,
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
        __m256 s[NARROW_MAX];
#pragma GCC unroll 4
        for (int p = 0; p < K; p++) s[p] = _mm256_set1_ps(a[i * K + p]);
        float *ci = c + i * n;
        size_t j = 0;
        for (; j + W <= n; j += W) {
            __m256 v = _mm256_mul_ps(s[0], _mm256_loadu_ps(b + j));
#pragma GCC unroll 4
            for (int p = 1; p < K; p++) v = _mm256_fmadd_ps(s[p], _mm256_loadu_ps(b + p * n + j), v);
            if (accumulate) v = _mm256_add_ps(v, _mm256_loadu_ps(ci + j));
            _mm256_storeu_ps(ci + j, v);
        }
        if (j < n) {
            __m256i m = tail_mask(n - j);
            __m256 v = _mm256_mul_ps(s[0], _mm256_maskload_ps(b + j, m));
#pragma GCC unroll 4
            for (int p = 1; p < K; p++) v = _mm256_fmadd_ps(s[p], _mm256_maskload_ps(b + p * n + j, m), v);
            if (accumulate) v = _mm256_add_ps(v, _mm256_maskload_ps(ci + j, m));
            _mm256_maskstore_ps(ci + j, m, v);
        }
    }
}

static void axpy_avx2(const float *a, size_t rows, size_t k, const float *b, size_t n, int accumulate, float *c)
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
    __m256 acc[OUTER_VECTORS][NARROW_MAX];
    size_t live[OUTER_VECTORS];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
        size_t at = i0 + (size_t)v * W;
        live[v] = at < m ? m - at : 0;
#pragma GCC unroll 4
        for (int j = 0; j < N; j++) acc[v][j] = _mm256_setzero_ps();
    }
    for (size_t r = 0; r < k; r++) {
        const float *ar = a + r * lda + i0;
        __m256 x[OUTER_VECTORS];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) x[v] = load_part(ar + v * W, live[v]);
#pragma GCC unroll 4
        for (int j = 0; j < N; j++) {
            __m256 bj = _mm256_broadcast_ss(b + r * N + j);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[v][j] = _mm256_fmadd_ps(x[v], bj, acc[v][j]);
        }
    }
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
        size_t lanes = live[v] < W ? live[v] : W, at = i0 + (size_t)v * W;
#pragma GCC unroll 4
        for (int j = 0; j < N; j++) {
            float t[W];
            _mm256_storeu_ps(t, acc[v][j]);
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
        if (m - i0 <= W) outer_block(a, lda, i0, m, k, b, N, 1, accumulate, c);
        else outer_block(a, lda, i0, m, k, b, N, OUTER_VECTORS, accumulate, c);
    }
}

static void outer_avx2(const float *a, size_t lda, size_t m, size_t k, const float *b, size_t n, int accumulate,
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

const narrow_kernels narrow_kernels_avx2 = {
    .dot = dot_avx2,
    .axpy = axpy_avx2,
    .outer = outer_avx2,
};
