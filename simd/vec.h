/* Row-vector kernels: row-wise dot products, scaled row sums and axpy, the
 * arithmetic of the gate's expert mixing and of the tower scores, and the
 * ReLU mask with the bias gradient's sum of the dense layers' backward.
 *
 * One table per ISA; the scalar table is the reference the SIMD tables are
 * tested against. All kernels take any length and any alignment and never
 * read or write past the ends they are given. The scalar kernels use a
 * separate multiply and add, the AVX2 and AVX-512 ones a fused multiply-add,
 * so results differ from scalar by rounding only. */
#ifndef DMMP_SIMD_VEC_H
#define DMMP_SIMD_VEC_H

#include <stddef.h>

#include "simd/isa.h"

typedef struct vec_kernels {
    /* out[r * out_stride] = sum_j a[r*cols + j] * b[r*cols + j] for r < rows. */
    void (*dot_rows)(const float *a, const float *b, size_t rows, size_t cols, float *out,
                     size_t out_stride);
    /* y[r*cols + j] += scale * alpha[r * alpha_stride] * x[r*cols + j]. */
    void (*axpy_rows)(float scale, const float *alpha, size_t alpha_stride, const float *x, size_t rows,
                      size_t cols, float *y);
    /* y[i] += a * x[i]. */
    void (*axpy)(float a, const float *x, size_t n, float *y);
    /* dz[i] = dy[i] where y[i] > 0, else +0 (dy's bits or none: the same in
     * every table), and acc[i] += dz[i]; dz may alias dy. */
    void (*relu_mask_add)(const float *dy, const float *y, size_t n, float *dz, float *acc);
} vec_kernels;

extern const vec_kernels vec_kernels_scalar, vec_kernels_avx2, vec_kernels_avx512;

/* The table of the active ISA. */
const vec_kernels *vec_kernels_get(void);

/* The table of a given ISA (the caller checks the CPU has it). */
const vec_kernels *vec_kernels_for(isa_level level);

#endif
