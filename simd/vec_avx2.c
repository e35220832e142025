/* AVX2 + FMA row-vector kernels: 8 floats a step, tails through maskload and
 * maskstore so no element past the end is read or written. */
#include <immintrin.h>

#include "simd/lanes_avx2.h"
#include "simd/vec.h"

#define W AVX2_LANES

static void dot_rows_avx2(const float *a, const float *b, size_t rows, size_t cols, float *out, size_t out_stride)
{
    for (size_t r = 0; r < rows; r++) {
        const float *ar = a + r * cols, *br = b + r * cols;
        __m256 acc = _mm256_setzero_ps();
        size_t j = 0;
        for (; j + W <= cols; j += W) acc = _mm256_fmadd_ps(_mm256_loadu_ps(ar + j), _mm256_loadu_ps(br + j), acc);
        if (j < cols) {
            __m256i m = tail_mask(cols - j);
            acc = _mm256_fmadd_ps(_mm256_maskload_ps(ar + j, m), _mm256_maskload_ps(br + j, m), acc);
        }
        out[r * out_stride] = hsum(acc);
    }
}

static void axpy_avx2(float a, const float *x, size_t n, float *y)
{
    const __m256 av = _mm256_set1_ps(a);
    size_t i = 0;
    for (; i + W <= n; i += W)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    if (i < n) {
        __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(y + i, m, _mm256_fmadd_ps(av, _mm256_maskload_ps(x + i, m), _mm256_maskload_ps(y + i, m)));
    }
}

static void axpy_rows_avx2(float scale, const float *alpha, size_t alpha_stride, const float *x, size_t rows,
                           size_t cols, float *y)
{
    for (size_t r = 0; r < rows; r++) axpy_avx2(scale * alpha[r * alpha_stride], x + r * cols, cols, y + r * cols);
}

static void relu_mask_add_avx2(const float *dy, const float *y, size_t n, float *dz, float *acc)
{
    const __m256 zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + W <= n; i += W) {
        __m256 v = _mm256_and_ps(_mm256_cmp_ps(_mm256_loadu_ps(y + i), zero, _CMP_GT_OQ), _mm256_loadu_ps(dy + i));
        _mm256_storeu_ps(dz + i, v);
        _mm256_storeu_ps(acc + i, _mm256_add_ps(_mm256_loadu_ps(acc + i), v));
    }
    if (i < n) {
        __m256i m = tail_mask(n - i);
        __m256 v = _mm256_and_ps(_mm256_cmp_ps(_mm256_maskload_ps(y + i, m), zero, _CMP_GT_OQ),
                                 _mm256_maskload_ps(dy + i, m));
        _mm256_maskstore_ps(dz + i, m, v);
        _mm256_maskstore_ps(acc + i, m, _mm256_add_ps(_mm256_maskload_ps(acc + i, m), v));
    }
}

const vec_kernels vec_kernels_avx2 = {
    .dot_rows = dot_rows_avx2,
    .axpy_rows = axpy_rows_avx2,
    .axpy = axpy_avx2,
    .relu_mask_add = relu_mask_add_avx2,
};
