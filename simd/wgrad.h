/* Weight-gradient kernels: C (+)= A^T B over a slab of batch rows, the dW
 * = x^T dz of a dense layer taken one row tile of the batch at a time while
 * that tile's x and dz are still in the cache of the thread that produced
 * them (nn/dense.c). oneDNN's gemm ran these shapes (k = the batch, m and n
 * the layer's sides) at 90-140 GFLOP/s a core in place against 150 on
 * operands in cache, because by the time every tile was through, x and dz
 * of the whole batch had left the core's L2.
 *
 * A is the k x lda row-major slab of layer inputs (its first m columns are
 * used), B the k x ldb slab of output gradients (its first n columns), C
 * the m x ldc result. Every element of C is one chain of multiply-adds over
 * the rows r = 0, 1, ..., k - 1 in that order, starting from the old value
 * of C (accumulate) or from 0: its bits depend on that element's operands
 * alone, never on m, n, the strides or how the kernel blocks the work. The
 * scalar table is the reference (a separate multiply and add); the AVX2
 * and AVX-512 tables use a fused multiply-add. The kernels take any sizes
 * and alignment and never read or write past what they are given (their
 * prefetch hints may name addresses beyond it, which reads nothing). */
#ifndef DMMP_SIMD_WGRAD_H
#define DMMP_SIMD_WGRAD_H

#include <stddef.h>

#include "simd/isa.h"

typedef struct wgrad_kernels {
    /* c[i*ldc + j] = (accumulate ? c[i*ldc + j] : 0) + sum_r a[r*lda + i] b[r*ldb + j]
     * for i < m, j < n, the sum taken one r after another from r = 0. */
    void (*atb)(const float *a, size_t lda, size_t m, size_t k, const float *b, size_t ldb, size_t n,
                int accumulate, float *c, size_t ldc);
} wgrad_kernels;

extern const wgrad_kernels wgrad_kernels_scalar, wgrad_kernels_avx2, wgrad_kernels_avx512;

/* The table of the active ISA. */
const wgrad_kernels *wgrad_kernels_get(void);

/* The table of a given ISA (the caller checks the CPU has it). */
const wgrad_kernels *wgrad_kernels_for(isa_level level);

#endif
