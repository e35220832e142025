/* AVX-512 top-K scoring kernel: 16 items per register (one packed block), a
 * register tile of up to 8 queries x 3 blocks = 24 accumulators, query
 * values broadcast. Each lane runs the same mul-then-fma chain as the scalar
 * reference, so the scores match it bit for bit. */
#include <immintrin.h>

#include "simd/topk.h"

#define QB_MAX 8
#define NB_MAX 3

/* Scores nq x nb blocks (both compile-time constants after inlining, so the
 * accumulator array lives in registers) and appends the hits. */
static inline __attribute__((always_inline)) int tile(const int nq, const int nb, const float *q, int64_t q_stride,
                                                      const float *blk, int dim, int items_left, int item0,
                                                      int query0, const float *thr, topk_hit *hits)
{
    const int64_t bstride = (int64_t)TOPK_BLOCK_ITEMS * dim;
    __m512 acc[QB_MAX][NB_MAX];
    __m512 x[NB_MAX];
#pragma GCC unroll 3
    for (int j = 0; j < nb; j++) x[j] = _mm512_loadu_ps(blk + j * bstride);
#pragma GCC unroll 8
    for (int i = 0; i < nq; i++) {
        __m512 b = _mm512_set1_ps(q[i * q_stride]);
#pragma GCC unroll 3
        for (int j = 0; j < nb; j++) acc[i][j] = _mm512_mul_ps(b, x[j]);
    }
    for (int d = 1; d < dim; d++) {
#pragma GCC unroll 3
        for (int j = 0; j < nb; j++) x[j] = _mm512_loadu_ps(blk + j * bstride + d * TOPK_BLOCK_ITEMS);
#pragma GCC unroll 8
        for (int i = 0; i < nq; i++) {
            __m512 b = _mm512_set1_ps(q[i * q_stride + d]);
#pragma GCC unroll 3
            for (int j = 0; j < nb; j++) acc[i][j] = _mm512_fmadd_ps(b, x[j], acc[i][j]);
        }
    }
    int n_hits = 0;
#pragma GCC unroll 3
    for (int j = 0; j < nb; j++) {
        int valid = items_left - j * TOPK_BLOCK_ITEMS;
        __mmask16 lanes = valid >= TOPK_BLOCK_ITEMS ? (__mmask16)0xFFFF : (__mmask16)((1u << valid) - 1u);
#pragma GCC unroll 8
        for (int i = 0; i < nq; i++) {
            __mmask16 m = _mm512_mask_cmp_ps_mask(lanes, acc[i][j], _mm512_set1_ps(thr[query0 + i]), _CMP_GE_OQ);
            if (__builtin_expect(m != 0, 0)) {
                float s[TOPK_BLOCK_ITEMS];
                _mm512_storeu_ps(s, acc[i][j]);
                for (unsigned bits = m; bits; bits &= bits - 1) {
                    int lane = __builtin_ctz(bits);
                    hits[n_hits++] = (topk_hit){s[lane], query0 + i, item0 + j * TOPK_BLOCK_ITEMS + lane};
                }
            }
        }
    }
    return n_hits;
}

typedef int (*tile_fn)(const float *, int64_t, const float *, int, int, int, int, const float *, topk_hit *);

#define TILE_FN(NQ, NB)                                                                                           \
    static int tile_##NQ##_##NB(const float *q, int64_t qs, const float *blk, int dim, int left, int item0,       \
                                int query0, const float *thr, topk_hit *hits)                                     \
    {                                                                                                             \
        return tile(NQ, NB, q, qs, blk, dim, left, item0, query0, thr, hits);                                     \
    }
#define TILE_ROW(NQ) TILE_FN(NQ, 1) TILE_FN(NQ, 2) TILE_FN(NQ, 3)
TILE_ROW(1) TILE_ROW(2) TILE_ROW(3) TILE_ROW(4) TILE_ROW(5) TILE_ROW(6) TILE_ROW(7) TILE_ROW(8)
#define TILE_ENTRY(NQ) {tile_##NQ##_1, tile_##NQ##_2, tile_##NQ##_3}
static const tile_fn tiles[QB_MAX][NB_MAX] = {TILE_ENTRY(1), TILE_ENTRY(2), TILE_ENTRY(3), TILE_ENTRY(4),
                                              TILE_ENTRY(5), TILE_ENTRY(6), TILE_ENTRY(7), TILE_ENTRY(8)};

static int score_filter_avx512(const float *q, int64_t q_stride, int nq, const float *blocks, int n_items, int dim,
                               const float *thr, topk_hit *hits)
{
    const int n_blocks = (n_items + TOPK_BLOCK_ITEMS - 1) / TOPK_BLOCK_ITEMS;
    int n_hits = 0;
    /* Query groups of 8 outer, their broadcasts hot while the blocks (an
     * L1-sized run of them per call) are reread from L1. */
    for (int i0 = 0; i0 < nq; i0 += QB_MAX) {
        int group = nq - i0 < QB_MAX ? nq - i0 : QB_MAX;
        for (int b = 0; b < n_blocks; b += NB_MAX) {
            int nb = n_blocks - b < NB_MAX ? n_blocks - b : NB_MAX;
            n_hits += tiles[group - 1][nb - 1](q + i0 * q_stride, q_stride, blocks + (int64_t)b * TOPK_BLOCK_ITEMS * dim,
                                               dim, n_items - b * TOPK_BLOCK_ITEMS, b * TOPK_BLOCK_ITEMS, i0, thr,
                                               hits + n_hits);
        }
    }
    return n_hits;
}

const topk_kernels topk_kernels_avx512 = {score_filter_avx512, 8};
