/* AVX-512 embedding kernels: 16 floats per register, masked loads and stores
 * for the last d % 16 columns (masked-off lanes are never read or written). */
#include <immintrin.h>

#include "simd/embed.h"

static inline __mmask16 tail_mask(int n) { return (__mmask16)((1u << n) - 1u); }

static inline void axpy16(__m512 vw, const float *x, float *y)
{
    _mm512_storeu_ps(y, _mm512_fmadd_ps(vw, _mm512_loadu_ps(x), _mm512_loadu_ps(y)));
}

static inline void axpy16_masked(__mmask16 m, __m512 vw, const float *x, float *y)
{
    __m512 r = _mm512_fmadd_ps(vw, _mm512_maskz_loadu_ps(m, x), _mm512_maskz_loadu_ps(m, y));
    _mm512_mask_storeu_ps(y, m, r);
}

static inline void add16(const float *x, float *y)
{
    _mm512_storeu_ps(y, _mm512_add_ps(_mm512_loadu_ps(x), _mm512_loadu_ps(y)));
}

static inline void add16_masked(__mmask16 m, const float *x, float *y)
{
    _mm512_mask_storeu_ps(y, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, x), _mm512_maskz_loadu_ps(m, y)));
}

static void embed_axpy_avx512(int d, float w, const float *row, float *out)
{
    __m512 vw = _mm512_set1_ps(w);
    int j = 0;
    for (; j + 16 <= d; j += 16) axpy16(vw, row + j, out + j);
    if (j < d) axpy16_masked(tail_mask(d - j), vw, row + j, out + j);
}

/* Sums one block of columns [j, j + 16 * nreg) over all rows; the column
 * block is the outer loop so the accumulators stay in registers. */
static inline void pool_block(int nreg, __mmask16 last, const float *base, int64_t stride, const int32_t *idx,
                              const float *w, int64_t n, __m512 vscale, float *out)
{
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int64_t k = 0; k < n; k++) {
        const float *row = base + (int64_t)idx[k] * stride;
        if (w) {
            __m512 vw = _mm512_set1_ps(w[k]);
            for (int r = 0; r < nreg; r++)
                acc[r] = _mm512_fmadd_ps(vw, _mm512_maskz_loadu_ps(r == nreg - 1 ? last : 0xFFFF, row + 16 * r),
                                         acc[r]);
        } else {
            for (int r = 0; r < nreg; r++)
                acc[r] = _mm512_add_ps(acc[r], _mm512_maskz_loadu_ps(r == nreg - 1 ? last : 0xFFFF, row + 16 * r));
        }
    }
    for (int r = 0; r < nreg; r++)
        _mm512_mask_storeu_ps(out + 16 * r, r == nreg - 1 ? last : 0xFFFF, _mm512_mul_ps(acc[r], vscale));
}

static void embed_pool_avx512(int d, const float *base, int64_t stride, const int32_t *idx, const float *w,
                              int64_t n, float scale, float *out)
{
    __m512 vscale = _mm512_set1_ps(scale);
    int j = 0;
    for (; d - j >= 64; j += 64) pool_block(4, 0xFFFF, base + j, stride, idx, w, n, vscale, out + j);
    for (; d - j >= 16; j += 16) pool_block(1, 0xFFFF, base + j, stride, idx, w, n, vscale, out + j);
    if (j < d) pool_block(1, tail_mask(d - j), base + j, stride, idx, w, n, vscale, out + j);
}

static void embed_gather_avx512(int d, const float *table, const int32_t *ids, int64_t n, float *out,
                                int64_t out_stride)
{
    __mmask16 last = tail_mask(d & 15);
    for (int64_t i = 0; i < n; i++) {
        const float *x = table + (int64_t)ids[i] * d;
        float *y = out + i * out_stride;
        int j = 0;
        for (; j + 16 <= d; j += 16) _mm512_storeu_ps(y + j, _mm512_loadu_ps(x + j));
        if (j < d) _mm512_mask_storeu_ps(y + j, last, _mm512_maskz_loadu_ps(last, x + j));
    }
}

static void embed_scatter_add_avx512(int d, const float *src, int64_t src_stride, const int32_t *src_row,
                                     const int32_t *slot, const float *w, int64_t n, float *dst)
{
    __mmask16 last = tail_mask(d & 15);
    for (int64_t i = 0; i < n; i++) {
        const float *x = src + (int64_t)src_row[i] * src_stride;
        float *y = dst + (int64_t)slot[i] * d;
        int j = 0;
        if (w) {
            __m512 vw = _mm512_set1_ps(w[i]);
            for (; j + 16 <= d; j += 16) axpy16(vw, x + j, y + j);
            if (j < d) axpy16_masked(last, vw, x + j, y + j);
        } else {
            for (; j + 16 <= d; j += 16) add16(x + j, y + j);
            if (j < d) add16_masked(last, x + j, y + j);
        }
    }
}

const embed_kernels embed_kernels_avx512 = {
    .axpy = embed_axpy_avx512,
    .pool = embed_pool_avx512,
    .gather = embed_gather_avx512,
    .scatter_add = embed_scatter_add_avx512,
};
