/* Activation kernels: exp, sigmoid, row softmax and its backward, and the
 * fused BCE-with-logits (row dots and axpy are the vec family, simd/vec.h).
 *
 * One table per ISA; the scalar table is the reference the SIMD tables are
 * tested against. All kernels take any length and any alignment and never
 * read or write past the ends they are given.
 *
 * exp inputs are clamped to [ACT_EXP_MIN, ACT_EXP_MAX] in every table, so
 * exp never returns 0, a denormal or infinity, and sigmoid(z) for z < -87.3
 * is FLT_MIN instead of a denormal: both are far below anything a loss or
 * gradient can resolve, and the clamp keeps every path NaN-free. */
#ifndef DMMP_SIMD_ACT_H
#define DMMP_SIMD_ACT_H

#include <stddef.h>

#include "simd/isa.h"

/* ln(FLT_MIN): below it exp would be denormal. */
#define ACT_EXP_MIN (-87.336544f)
/* Largest clamp whose 2^n scaling stays in range (e^88 = 1.65e38 < FLT_MAX). */
#define ACT_EXP_MAX 88.0f

typedef struct act_kernels {
    /* y[i] = exp(clamp(x[i])); y may alias x. */
    void (*exp)(const float *x, float *y, size_t n);
    /* y[i] = 1 / (1 + exp(-x[i])), computed without overflow; y may alias x. */
    void (*sigmoid)(const float *x, float *y, size_t n);
    /* Each of rows rows of cols values: y = softmax(x) with the row maximum
     * subtracted first; y may alias x. */
    void (*softmax_rows)(const float *x, size_t rows, size_t cols, float *y);
    /* Softmax backward per row: dx = y * (dy - <y, dy>); dx may alias dy. */
    void (*softmax_rows_backward)(const float *y, const float *dy, size_t rows, size_t cols, float *dx);
    /* Fused BCE with logits at zz = z_scale * z[i] against target t[i] with
     * optional row weight w[i] (NULL = 1): returns sum_i w_i * (softplus(zz)
     * - t_i zz) in double and ACCUMULATES dz[i] += grad_scale * w_i *
     * (sigmoid(zz) - t_i). */
    double (*bce_logits)(const float *z, const float *t, const float *w, size_t n, float z_scale,
                         float grad_scale, float *dz);
} act_kernels;

extern const act_kernels act_kernels_scalar, act_kernels_avx2, act_kernels_avx512;

/* The table of the active ISA. */
const act_kernels *act_kernels_get(void);

/* The table of a given ISA (the caller checks the CPU has it). */
const act_kernels *act_kernels_for(isa_level level);

#endif
