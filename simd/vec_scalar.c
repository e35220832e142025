/* Scalar row-vector kernels: the reference for the SIMD tables. */
#include "simd/vec.h"

static void dot_rows_scalar(const float *a, const float *b, size_t rows, size_t cols, float *out,
                            size_t out_stride)
{
    for (size_t r = 0; r < rows; r++) {
        float s = 0.0f;
        for (size_t j = 0; j < cols; j++) s += a[r * cols + j] * b[r * cols + j];
        out[r * out_stride] = s;
    }
}

static void axpy_rows_scalar(float scale, const float *alpha, size_t alpha_stride, const float *x, size_t rows,
                             size_t cols, float *y)
{
    for (size_t r = 0; r < rows; r++) {
        float a = scale * alpha[r * alpha_stride];
        for (size_t j = 0; j < cols; j++) y[r * cols + j] += a * x[r * cols + j];
    }
}

static void axpy_scalar(float a, const float *x, size_t n, float *y)
{
    for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}

const vec_kernels vec_kernels_scalar = {
    .dot_rows = dot_rows_scalar,
    .axpy_rows = axpy_rows_scalar,
    .axpy = axpy_scalar,
};

const vec_kernels *vec_kernels_for(isa_level level)
{
    return ISA_SELECT_FOR(level, &vec_kernels_scalar, &vec_kernels_avx2, &vec_kernels_avx512);
}

const vec_kernels *vec_kernels_get(void) { return vec_kernels_for(isa_active()); }
