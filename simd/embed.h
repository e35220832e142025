/* Kernels of the embedding layer: row gather, weighted pooling of rows and
 * the scatter-add of its backward pass.
 *
 * Rows have width d (any d >= 1) and may sit at any alignment; rows of a
 * wider buffer are addressed by a stride in floats. The scalar kernels use a
 * separate multiply and add, the AVX2 and AVX-512 ones a fused multiply-add,
 * so weighted results differ from scalar by rounding only; every kernel adds
 * its terms in index order, so each ISA is deterministic on its own. */
#ifndef DMMP_SIMD_EMBED_H
#define DMMP_SIMD_EMBED_H

#include <stdint.h>

#include "simd/isa.h"

typedef struct embed_kernels {
    /* out[0..d) += w * row[0..d). */
    void (*axpy)(int d, float w, const float *row, float *out);
    /* out[0..d) = scale * sum_k w[k] * base[idx[k] * stride + 0..d), k in
     * [0, n) added in order (w NULL means every w[k] = 1; n == 0 gives zeros). */
    void (*pool)(int d, const float *base, int64_t stride, const int32_t *idx, const float *w, int64_t n,
                 float scale, float *out);
    /* out[i * out_stride + 0..d) = table[ids[i] * d + 0..d) for i in [0, n). */
    void (*gather)(int d, const float *table, const int32_t *ids, int64_t n, float *out, int64_t out_stride);
    /* For i = 0, 1, ..., n-1 in order: dst[slot[i] * d + 0..d) +=
     * w[i] * src[src_row[i] * src_stride + 0..d) (w NULL means 1). */
    void (*scatter_add)(int d, const float *src, int64_t src_stride, const int32_t *src_row, const int32_t *slot,
                        const float *w, int64_t n, float *dst);
} embed_kernels;

extern const embed_kernels embed_kernels_scalar, embed_kernels_avx2, embed_kernels_avx512;

/* The kernel table of the active ISA. */
const embed_kernels *embed_kernels_get(void);

/* The kernel table of a given ISA (the caller checks the CPU has it). */
const embed_kernels *embed_kernels_for(isa_level level);

#endif
