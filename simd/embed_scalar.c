/* Portable embedding kernels and the dispatch getters. Products and sums are
 * rounded separately (no FMA), which is the reference the SIMD paths are
 * tested against. */
#include <string.h>

#include "simd/embed.h"

static void embed_axpy_scalar(int d, float w, const float *row, float *out)
{
    for (int j = 0; j < d; j++) out[j] += w * row[j];
}

static void embed_pool_scalar(int d, const float *base, int64_t stride, const int32_t *idx, const float *w,
                              int64_t n, float scale, float *out)
{
    for (int j = 0; j < d; j++) out[j] = 0.0f;
    for (int64_t k = 0; k < n; k++) {
        const float *row = base + (int64_t)idx[k] * stride;
        if (w) {
            float wk = w[k];
            for (int j = 0; j < d; j++) out[j] += wk * row[j];
        } else {
            for (int j = 0; j < d; j++) out[j] += row[j];
        }
    }
    for (int j = 0; j < d; j++) out[j] *= scale;
}

static void embed_gather_scalar(int d, const float *table, const int32_t *ids, int64_t n, float *out,
                                int64_t out_stride)
{
    for (int64_t i = 0; i < n; i++)
        memcpy(out + i * out_stride, table + (int64_t)ids[i] * d, (size_t)d * sizeof(float));
}

static void embed_scatter_add_scalar(int d, const float *src, int64_t src_stride, const int32_t *src_row,
                                     const int32_t *slot, const float *w, int64_t n, float *dst)
{
    for (int64_t i = 0; i < n; i++) {
        const float *x = src + (int64_t)src_row[i] * src_stride;
        float *y = dst + (int64_t)slot[i] * d;
        if (w) {
            float wi = w[i];
            for (int j = 0; j < d; j++) y[j] += wi * x[j];
        } else {
            for (int j = 0; j < d; j++) y[j] += x[j];
        }
    }
}

const embed_kernels embed_kernels_scalar = {
    .axpy = embed_axpy_scalar,
    .pool = embed_pool_scalar,
    .gather = embed_gather_scalar,
    .scatter_add = embed_scatter_add_scalar,
};

const embed_kernels *embed_kernels_get(void)
{
    return ISA_SELECT(&embed_kernels_scalar, &embed_kernels_avx2, &embed_kernels_avx512);
}

const embed_kernels *embed_kernels_for(isa_level level)
{
    return ISA_SELECT_FOR(level, &embed_kernels_scalar, &embed_kernels_avx2, &embed_kernels_avx512);
}
