/* AVX2 top-K scoring kernel: a 16-item packed block as two 8-lane halves, a
 * register tile of up to 6 queries x 2 halves = 12 accumulators (with the two
 * item halves and one broadcast: 15 of the 16 ymm registers), query values
 * broadcast. Twelve independent fma chains cover the fma latency on both
 * fma ports; per dimension the tile loads 2 item halves and 6 query values
 * for 12 fmas. Same mul-then-fma chain per lane as the scalar reference. */
#include <immintrin.h>

#include "simd/topk.h"

#define QB_MAX 6

static inline __attribute__((always_inline)) int tile(const int nq, const float *q, int64_t q_stride,
                                                      const float *blk, int dim, int items_left, int item0, int query0,
                                                      const float *thr, topk_hit *hits)
{
    __m256 acc[QB_MAX][2];
    __m256 lo = _mm256_loadu_ps(blk), hi = _mm256_loadu_ps(blk + 8);
#pragma GCC unroll 6
    for (int i = 0; i < nq; i++) {
        __m256 b = _mm256_set1_ps(q[i * q_stride]);
        acc[i][0] = _mm256_mul_ps(b, lo);
        acc[i][1] = _mm256_mul_ps(b, hi);
    }
    for (int d = 1; d < dim; d++) {
        lo = _mm256_loadu_ps(blk + d * TOPK_BLOCK_ITEMS);
        hi = _mm256_loadu_ps(blk + d * TOPK_BLOCK_ITEMS + 8);
#pragma GCC unroll 6
        for (int i = 0; i < nq; i++) {
            __m256 b = _mm256_set1_ps(q[i * q_stride + d]);
            acc[i][0] = _mm256_fmadd_ps(b, lo, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(b, hi, acc[i][1]);
        }
    }
    unsigned lanes = items_left >= TOPK_BLOCK_ITEMS ? 0xFFFFu : (1u << items_left) - 1u;
    int n_hits = 0;
#pragma GCC unroll 6
    for (int i = 0; i < nq; i++) {
        __m256 t = _mm256_set1_ps(thr[query0 + i]);
        unsigned m = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(acc[i][0], t, _CMP_GE_OQ)) |
                     (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(acc[i][1], t, _CMP_GE_OQ)) << 8;
        m &= lanes;
        if (__builtin_expect(m != 0, 0)) {
            float s[TOPK_BLOCK_ITEMS];
            _mm256_storeu_ps(s, acc[i][0]);
            _mm256_storeu_ps(s + 8, acc[i][1]);
            for (; m; m &= m - 1) {
                int lane = __builtin_ctz(m);
                hits[n_hits++] = (topk_hit){s[lane], query0 + i, item0 + lane};
            }
        }
    }
    return n_hits;
}

typedef int (*tile_fn)(const float *, int64_t, const float *, int, int, int, int, const float *, topk_hit *);

#define TILE_FN(NQ)                                                                                              \
    static int tile_##NQ(const float *q, int64_t qs, const float *blk, int dim, int left, int item0, int query0, \
                         const float *thr, topk_hit *hits)                                                       \
    {                                                                                                            \
        return tile(NQ, q, qs, blk, dim, left, item0, query0, thr, hits);                                        \
    }
TILE_FN(1) TILE_FN(2) TILE_FN(3) TILE_FN(4) TILE_FN(5) TILE_FN(6)
static const tile_fn tiles[QB_MAX] = {tile_1, tile_2, tile_3, tile_4, tile_5, tile_6};

static int score_filter_avx2(const float *q, int64_t q_stride, int nq, const float *blocks, int n_items, int dim,
                             const float *thr, topk_hit *hits)
{
    const int n_blocks = (n_items + TOPK_BLOCK_ITEMS - 1) / TOPK_BLOCK_ITEMS;
    int n_hits = 0;
    /* Queries outer so a query group's broadcasts stay hot while the blocks
     * (a call covers an L1-sized run of them) are reread from L1. */
    for (int i0 = 0; i0 < nq; i0 += QB_MAX) {
        int group = nq - i0 < QB_MAX ? nq - i0 : QB_MAX;
        for (int b = 0; b < n_blocks; b++)
            n_hits += tiles[group - 1](q + i0 * q_stride, q_stride, blocks + (int64_t)b * TOPK_BLOCK_ITEMS * dim, dim,
                                       n_items - b * TOPK_BLOCK_ITEMS, b * TOPK_BLOCK_ITEMS, i0, thr, hits + n_hits);
    }
    return n_hits;
}

const topk_kernels topk_kernels_avx2 = {score_filter_avx2, 12};
