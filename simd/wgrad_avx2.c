/* AVX2 + FMA weight-gradient kernel. C is worked in blocks of up to 6 rows x
 * 2 vectors (16 columns): 12 accumulators in registers, and for each row r
 * of the slab 2 loads of B and 6 broadcasts of A feed 12 fused
 * multiply-adds. The rows of the slab go in chunks of KC, the block of C
 * stored after one chunk and loaded again for the next (a float survives the
 * round trip exactly), so a chunk of B (KC x 16 floats, 16 KiB) stays in L1
 * while every block of its columns goes through it. The last strip of
 * columns, when n is not a multiple of 8, masks its last vector (masked-off
 * lanes are never read or written). Rows and vectors of a block are
 * compile-time constants in each instance (a table picks it). */
#include <immintrin.h>

#include "simd/lanes_avx2.h"
#include "simd/wgrad.h"

#define W AVX2_LANES
#define INLINE static inline __attribute__((always_inline))
enum { ROWS = 6, VECTORS = 2, KC = 256, PREFETCH_ROWS = 32 };

INLINE __m256 load_v(const float *p, int last, int masked, __m256i m)
{
    return masked && last ? _mm256_maskload_ps(p, m) : _mm256_loadu_ps(p);
}

INLINE void store_v(float *p, __m256 v, int last, int masked, __m256i m)
{
    if (masked && last) _mm256_maskstore_ps(p, m, v);
    else _mm256_storeu_ps(p, v);
}

/* One block: R rows of C from row i of A's columns, V vectors of columns. */
INLINE void block(const float *a, size_t lda, size_t kc, const float *b, size_t ldb, int load_c, float *c,
                  size_t ldc, const int R, const int V, const int masked, __m256i m)
{
    __m256 acc[ROWS][VECTORS];
#pragma GCC unroll 6
    for (int i = 0; i < R; i++)
#pragma GCC unroll 2
        for (int v = 0; v < V; v++)
            acc[i][v] = load_c ? load_v(c + i * ldc + v * W, v == V - 1, masked, m) : _mm256_setzero_ps();
    for (size_t r = 0; r < kc; r++) {
        const float *br = b + r * ldb, *ar = a + r * lda;
        _mm_prefetch((const char *)(ar + PREFETCH_ROWS * lda), _MM_HINT_T0);
        __m256 bv[VECTORS];
#pragma GCC unroll 2
        for (int v = 0; v < V; v++) bv[v] = load_v(br + v * W, v == V - 1, masked, m);
#pragma GCC unroll 6
        for (int i = 0; i < R; i++) {
            __m256 ai = _mm256_broadcast_ss(ar + i);
#pragma GCC unroll 2
            for (int v = 0; v < V; v++) acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < R; i++)
#pragma GCC unroll 2
        for (int v = 0; v < V; v++) store_v(c + i * ldc + v * W, acc[i][v], v == V - 1, masked, m);
}

typedef void (*block_fn)(const float *a, size_t lda, size_t kc, const float *b, size_t ldb, int load_c, float *c,
                         size_t ldc, __m256i m);

#define BLOCK(R, V, M)                                                                                        \
    static void block_##R##_##V##_##M(const float *a, size_t lda, size_t kc, const float *b, size_t ldb,       \
                                      int load_c, float *c, size_t ldc, __m256i m)                            \
    {                                                                                                         \
        block(a, lda, kc, b, ldb, load_c, c, ldc, R, V, M, m);                                                \
    }
#define BLOCKS_OF(V, M) BLOCK(1, V, M) BLOCK(2, V, M) BLOCK(3, V, M) BLOCK(4, V, M) BLOCK(5, V, M) BLOCK(6, V, M)
BLOCKS_OF(1, 0) BLOCKS_OF(2, 0)
BLOCKS_OF(1, 1) BLOCKS_OF(2, 1)
#define ROW_OF(V, M) {block_1_##V##_##M, block_2_##V##_##M, block_3_##V##_##M, block_4_##V##_##M, \
                      block_5_##V##_##M, block_6_##V##_##M}
/* blocks[masked][V - 1][R - 1] */
static const block_fn blocks[2][VECTORS][ROWS] = {
    {ROW_OF(1, 0), ROW_OF(2, 0)},
    {ROW_OF(1, 1), ROW_OF(2, 1)},
};

static void atb_avx2(const float *a, size_t lda, size_t m, size_t k, const float *b, size_t ldb, size_t n,
                     int accumulate, float *c, size_t ldc)
{
    if (k == 0 && accumulate) return; /* nothing to add */
    for (size_t j = 0; j < n; j += VECTORS * W) {
        size_t cols = n - j < VECTORS * W ? n - j : VECTORS * W;
        int v = (int)((cols + W - 1) / W), masked = cols % W != 0;
        __m256i mask = tail_mask(cols - (size_t)(v - 1) * W);
        /* At least one chunk, so that with no rows C is set to 0. */
        size_t r = 0;
        do {
            size_t kc = k - r < KC ? k - r : KC;
            int load_c = r > 0 || accumulate;
            for (size_t i = 0; i < m; i += ROWS) {
                int rows = m - i < ROWS ? (int)(m - i) : ROWS;
                blocks[masked][v - 1][rows - 1](a + r * lda + i, lda, kc, b + r * ldb + j, ldb, load_c,
                                                c + i * ldc + j, ldc, mask);
            }
            r += KC;
        } while (r < k);
    }
}

const wgrad_kernels wgrad_kernels_avx2 = {.atb = atb_avx2};
