/* Activation kernels: exp, sigmoid, row softmax and its backward, the
 * fused BCE-with-logits, the fused row softmax cross-entropy of the in-batch
 * loss, and log-sigmoid with its backward (row dots and axpy are the vec
 * family, simd/vec.h).
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
#include <stdint.h>

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
    /* Fused softmax cross-entropy per row. Row r holds cols logits
     * l_j = scale * x[r*cols + j] + col_bias[j] (col_bias NULL: 0), its
     * target column t = target[r] and its weight w_r = w[r] (w NULL: 1); a
     * row of weight 0 is skipped. A column j != t with key[j] == key[t]
     * (key NULL: none) is left out of the row's softmax. Returns
     * sum_r w_r (log sum_j exp(l_j) - l_t) over the columns left in, in
     * double, and OVERWRITES dx (rows x cols, not aliasing x) with
     * grad_scale w_r scale (p_j - [j == t]), p the row's softmax over the
     * columns left in (0 for the others and for skipped rows). */
    double (*softmax_xent_rows)(const float *x, size_t rows, size_t cols, float scale, const float *col_bias,
                                const int32_t *key, const int32_t *target, const float *w, float grad_scale,
                                float *dx);
    /* y[i] = log sigmoid(z) with z = a x[i] + c, computed as
     * min(z, 0) - log1p(exp(-|z|)); when d is not NULL also d[i] =
     * sigmoid(-z), the derivative in z. y and d may alias x (not each other). */
    void (*log_sigmoid)(const float *x, size_t n, float a, float c, float *y, float *d);
    /* The backward of log_sigmoid from its saved d and the gradient g of y:
     * dx[i] += a d[i] g[i] (ACCUMULATED); returns sum_i d[i] g[i] in double,
     * the gradient of the shift c. */
    double (*log_sigmoid_backward)(const float *d, const float *g, size_t n, float a, float *dx);
} act_kernels;

extern const act_kernels act_kernels_scalar, act_kernels_avx2, act_kernels_avx512;

/* The table of the active ISA. */
const act_kernels *act_kernels_get(void);

/* The table of a given ISA (the caller checks the CPU has it). */
const act_kernels *act_kernels_for(isa_level level);

#endif
