/* Scalar row-vector kernels: the reference for the SIMD tables. */
#include <stdint.h>
#include <string.h>

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

static void relu_mask_add_scalar(const float *dy, const float *y, size_t n, float *dz, float *acc)
{
    for (size_t i = 0; i < n; i++) {
        /* a bit mask: the branchy form mispredicts on every other element */
        uint32_t bits, keep = -(uint32_t)(y[i] > 0.0f);
        memcpy(&bits, &dy[i], sizeof bits);
        bits &= keep;
        float v;
        memcpy(&v, &bits, sizeof v);
        dz[i] = v;
        acc[i] += v;
    }
}

const vec_kernels vec_kernels_scalar = {
    .dot_rows = dot_rows_scalar,
    .axpy_rows = axpy_rows_scalar,
    .axpy = axpy_scalar,
    .relu_mask_add = relu_mask_add_scalar,
};

const vec_kernels *vec_kernels_for(isa_level level)
{
    return ISA_SELECT_FOR(level, &vec_kernels_scalar, &vec_kernels_avx2, &vec_kernels_avx512);
}

const vec_kernels *vec_kernels_get(void) { return vec_kernels_for(isa_active()); }
