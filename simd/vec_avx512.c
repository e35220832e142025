/* AVX-512 row-vector kernels: 16 floats a step with plain loads and
 * stores, mask registers for the tails only (masked-off lanes are never
 * read or written; on the AMD EPYC, masked stores with every lane on ran
 * the narrow products' bodies 1.4x as long as plain ones). */
#include <immintrin.h>

#include "simd/lanes_avx512.h"
#include "simd/vec.h"

#define W AVX512_LANES

static void dot_rows_avx512(const float *a, const float *b, size_t rows, size_t cols, float *out, size_t out_stride)
{
    for (size_t r = 0; r < rows; r++) {
        const float *ar = a + r * cols, *br = b + r * cols;
        __m512 acc = _mm512_setzero_ps();
        size_t j = 0;
        for (; j + W <= cols; j += W) acc = _mm512_fmadd_ps(_mm512_loadu_ps(ar + j), _mm512_loadu_ps(br + j), acc);
        if (j < cols) {
            __mmask16 m = tail_mask(cols - j);
            acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, ar + j), _mm512_maskz_loadu_ps(m, br + j), acc);
        }
        out[r * out_stride] = _mm512_reduce_add_ps(acc);
    }
}

static void axpy_avx512(float a, const float *x, size_t n, float *y)
{
    const __m512 av = _mm512_set1_ps(a);
    size_t i = 0;
    for (; i + W <= n; i += W) _mm512_storeu_ps(y + i, _mm512_fmadd_ps(av, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    if (i < n) {
        __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
    }
}

static void axpy_rows_avx512(float scale, const float *alpha, size_t alpha_stride, const float *x, size_t rows,
                             size_t cols, float *y)
{
    for (size_t r = 0; r < rows; r++) axpy_avx512(scale * alpha[r * alpha_stride], x + r * cols, cols, y + r * cols);
}

static void relu_mask_add_avx512(const float *dy, const float *y, size_t n, float *dz, float *acc)
{
    const __m512 zero = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + W <= n; i += W) {
        __mmask16 on = _mm512_cmp_ps_mask(_mm512_loadu_ps(y + i), zero, _CMP_GT_OQ);
        __m512 v = _mm512_maskz_mov_ps(on, _mm512_loadu_ps(dy + i));
        _mm512_storeu_ps(dz + i, v);
        _mm512_storeu_ps(acc + i, _mm512_add_ps(_mm512_loadu_ps(acc + i), v));
    }
    for (; i < n; i += W) {
        __mmask16 m = tail_mask(n - i);
        /* lanes where y > 0 keep dy; the others are +0 */
        __mmask16 on = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, y + i), zero, _CMP_GT_OQ);
        __m512 v = _mm512_maskz_loadu_ps(on, dy + i);
        _mm512_mask_storeu_ps(dz + i, m, v);
        _mm512_mask_storeu_ps(acc + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, acc + i), v));
    }
}

const vec_kernels vec_kernels_avx512 = {
    .dot_rows = dot_rows_avx512,
    .axpy_rows = axpy_rows_avx512,
    .axpy = axpy_avx512,
    .relu_mask_add = relu_mask_add_avx512,
};
