/* Scalar narrow matmul kernels: the reference for the SIMD tables. */
#include "simd/narrow.h"

static void dot_scalar(const float *a, size_t rows, size_t k, const float *bt, size_t n, const float *bias, int relu,
                       int accumulate, float *c)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < n; j++) {
            float s = 0.0f;
            for (size_t p = 0; p < k; p++) s += a[i * k + p] * bt[j * k + p];
            c[i * n + j] = narrow_finish(s, bias, j, relu, accumulate, &c[i * n + j]);
        }
}

static void axpy_scalar(const float *a, size_t rows, size_t k, const float *b, size_t n, int accumulate, float *c)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < n; j++) {
            float s = 0.0f;
            for (size_t p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
            c[i * n + j] = accumulate ? s + c[i * n + j] : s;
        }
}

static void outer_scalar(const float *a, size_t lda, size_t m, size_t k, const float *b, size_t n, int accumulate,
                         float *c)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            float s = 0.0f;
            for (size_t r = 0; r < k; r++) s += a[r * lda + i] * b[r * n + j];
            c[i * n + j] = accumulate ? s + c[i * n + j] : s;
        }
}

const narrow_kernels narrow_kernels_scalar = {
    .dot = dot_scalar,
    .axpy = axpy_scalar,
    .outer = outer_scalar,
};

const narrow_kernels *narrow_kernels_for(isa_level level)
{
    return ISA_SELECT_FOR(level, &narrow_kernels_scalar, &narrow_kernels_avx2, &narrow_kernels_avx512);
}

const narrow_kernels *narrow_kernels_get(void) { return narrow_kernels_for(isa_active()); }
