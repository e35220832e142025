/* AVX2 embedding kernels: 8 floats per register; the last d % 8 columns go
 * through vmaskmov, which neither reads nor writes the masked-off lanes. */
#include <immintrin.h>

#include "simd/embed.h"

static inline __m256i tail_mask(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static void embed_axpy_avx2(int d, float w, const float *row, float *out)
{
    __m256 vw = _mm256_set1_ps(w);
    int j = 0;
    for (; j + 8 <= d; j += 8)
        _mm256_storeu_ps(out + j, _mm256_fmadd_ps(vw, _mm256_loadu_ps(row + j), _mm256_loadu_ps(out + j)));
    if (j < d) {
        __m256i m = tail_mask(d - j);
        __m256 r = _mm256_fmadd_ps(vw, _mm256_maskload_ps(row + j, m), _mm256_maskload_ps(out + j, m));
        _mm256_maskstore_ps(out + j, m, r);
    }
}

/* Sums one block of 8 * nreg columns over all rows, accumulators in registers;
 * the last register of the block loads through mask `last`. */
static inline void pool_block(int nreg, __m256i last, const float *base, int64_t stride, const int32_t *idx,
                              const float *w, int64_t n, __m256 vscale, float *out)
{
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t k = 0; k < n; k++) {
        const float *row = base + (int64_t)idx[k] * stride;
        __m256 x[4];
        for (int r = 0; r < nreg - 1; r++) x[r] = _mm256_loadu_ps(row + 8 * r);
        x[nreg - 1] = _mm256_maskload_ps(row + 8 * (nreg - 1), last);
        if (w) {
            __m256 vw = _mm256_set1_ps(w[k]);
            for (int r = 0; r < nreg; r++) acc[r] = _mm256_fmadd_ps(vw, x[r], acc[r]);
        } else {
            for (int r = 0; r < nreg; r++) acc[r] = _mm256_add_ps(acc[r], x[r]);
        }
    }
    for (int r = 0; r < nreg - 1; r++) _mm256_storeu_ps(out + 8 * r, _mm256_mul_ps(acc[r], vscale));
    _mm256_maskstore_ps(out + 8 * (nreg - 1), last, _mm256_mul_ps(acc[nreg - 1], vscale));
}

static void embed_pool_avx2(int d, const float *base, int64_t stride, const int32_t *idx, const float *w,
                            int64_t n, float scale, float *out)
{
    __m256 vscale = _mm256_set1_ps(scale);
    __m256i all = _mm256_set1_epi32(-1);
    int j = 0;
    for (; d - j >= 32; j += 32) pool_block(4, all, base + j, stride, idx, w, n, vscale, out + j);
    for (; d - j >= 8; j += 8) pool_block(1, all, base + j, stride, idx, w, n, vscale, out + j);
    if (j < d) pool_block(1, tail_mask(d - j), base + j, stride, idx, w, n, vscale, out + j);
}

static void embed_gather_avx2(int d, const float *table, const int32_t *ids, int64_t n, float *out,
                              int64_t out_stride)
{
    __m256i last = tail_mask(d & 7);
    for (int64_t i = 0; i < n; i++) {
        const float *x = table + (int64_t)ids[i] * d;
        float *y = out + i * out_stride;
        int j = 0;
        for (; j + 8 <= d; j += 8) _mm256_storeu_ps(y + j, _mm256_loadu_ps(x + j));
        if (j < d) _mm256_maskstore_ps(y + j, last, _mm256_maskload_ps(x + j, last));
    }
}

static void embed_scatter_add_avx2(int d, const float *src, int64_t src_stride, const int32_t *src_row,
                                   const int32_t *slot, const float *w, int64_t n, float *dst)
{
    __m256i last = tail_mask(d & 7);
    for (int64_t i = 0; i < n; i++) {
        const float *x = src + (int64_t)src_row[i] * src_stride;
        float *y = dst + (int64_t)slot[i] * d;
        int j = 0;
        if (w) {
            __m256 vw = _mm256_set1_ps(w[i]);
            for (; j + 8 <= d; j += 8)
                _mm256_storeu_ps(y + j, _mm256_fmadd_ps(vw, _mm256_loadu_ps(x + j), _mm256_loadu_ps(y + j)));
            if (j < d)
                _mm256_maskstore_ps(y + j, last,
                                    _mm256_fmadd_ps(vw, _mm256_maskload_ps(x + j, last), _mm256_maskload_ps(y + j, last)));
        } else {
            for (; j + 8 <= d; j += 8)
                _mm256_storeu_ps(y + j, _mm256_add_ps(_mm256_loadu_ps(x + j), _mm256_loadu_ps(y + j)));
            if (j < d)
                _mm256_maskstore_ps(y + j, last,
                                    _mm256_add_ps(_mm256_maskload_ps(x + j, last), _mm256_maskload_ps(y + j, last)));
        }
    }
}

const embed_kernels embed_kernels_avx2 = {
    .axpy = embed_axpy_avx2,
    .pool = embed_pool_avx2,
    .gather = embed_gather_avx2,
    .scatter_add = embed_scatter_add_avx2,
};
