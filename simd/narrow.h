/* Narrow matmul kernels: products in which one side has at most NARROW_MAX
 * columns. A linear layer with 1 to 4 outputs (a gate's logits over the
 * experts, a tower's score) has three of them: its forward C = A B with B
 * of at most 4 columns (`dot`: per row of A, one dot product per output),
 * its input gradient C = A B with A of at most 4 columns (`axpy`: per row
 * of C, the sum of at most 4 scaled rows of B) and its weight gradient
 * C = A^T B with B of at most 4 columns (`outer`: per column of A, at most
 * 4 dot products over the batch). oneDNN's matmul kernels block for wide
 * operands and ran these at 8-40 GFLOP/s a core where the wide layers run
 * at 100-200 (nn/narrow_matmul.h routes them here).
 *
 * One table per ISA; the scalar table is the reference the SIMD tables are
 * tested against. Every element of C is the sum of its products in
 * ascending order of the reduction index, in lanes of the ISA's width, so
 * its bits depend on its own row or column alone, not on how many rows a
 * call covers: a row tile gives the bits of the whole matrix. The kernels
 * take any lengths and alignment and never read or write past the ends
 * they are given. The scalar kernels use a separate multiply and add, the
 * AVX2 and AVX-512 ones a fused multiply-add. */
#ifndef DMMP_SIMD_NARROW_H
#define DMMP_SIMD_NARROW_H

#include <stddef.h>

#include "simd/isa.h"

/* The widest narrow side. */
#define NARROW_MAX 4

typedef struct narrow_kernels {
    /* c[i*n + j] = act(sum_p a[i*k + p] bt[j*k + p] + bias[j] (+ the old
     * c[i*n + j] when accumulate)) for i < rows, j < n <= NARROW_MAX: bt
     * holds B transposed (n rows of k); bias may be NULL; act is ReLU
     * (max(s, 0), NaN kept) when relu, else nothing. */
    void (*dot)(const float *a, size_t rows, size_t k, const float *bt, size_t n, const float *bias, int relu,
                int accumulate, float *c);
    /* c[i*n + j] = sum_p a[i*k + p] b[p*n + j] (+ the old c[i*n + j] when
     * accumulate) for i < rows, j < n, p < k <= NARROW_MAX. */
    void (*axpy)(const float *a, size_t rows, size_t k, const float *b, size_t n, int accumulate, float *c);
    /* c[i*n + j] = sum_r a[r*lda + i] b[r*n + j] (+ the old c[i*n + j] when
     * accumulate) for i < m, j < n <= NARROW_MAX, r < k: A^T B over the
     * first m columns of the k x lda matrix A. */
    void (*outer)(const float *a, size_t lda, size_t m, size_t k, const float *b, size_t n, int accumulate,
                  float *c);
} narrow_kernels;

/* The end of every dot of every table: the bias, the old value, then ReLU
 * (a NaN passes through it). */
static inline float narrow_finish(float s, const float *bias, size_t j, int relu, int accumulate, const float *old)
{
    if (bias) s += bias[j];
    if (accumulate) s += *old;
    if (relu && s < 0.0f) s = 0.0f;
    return s;
}

extern const narrow_kernels narrow_kernels_scalar, narrow_kernels_avx2, narrow_kernels_avx512;

/* The table of the active ISA. */
const narrow_kernels *narrow_kernels_get(void);

/* The table of a given ISA (the caller checks the CPU has it). */
const narrow_kernels *narrow_kernels_for(isa_level level);

#endif
