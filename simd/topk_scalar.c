/* Portable top-K scoring kernel: the reference fmaf chain per (query, item). */
#include <math.h>

#include "simd/topk.h"

static int score_filter_scalar(const float *q, int64_t q_stride, int nq, const float *blocks, int n_items, int dim,
                               const float *thr, topk_hit *hits)
{
    int n_hits = 0;
    for (int item = 0; item < n_items; item++) {
        const float *x = blocks + (int64_t)(item / TOPK_BLOCK_ITEMS) * TOPK_BLOCK_ITEMS * dim + item % TOPK_BLOCK_ITEMS;
        for (int i = 0; i < nq; i++) {
            const float *qi = q + i * q_stride;
            float s = qi[0] * x[0];
            for (int d = 1; d < dim; d++) s = fmaf(qi[d], x[(int64_t)d * TOPK_BLOCK_ITEMS], s);
            if (s >= thr[i]) hits[n_hits++] = (topk_hit){s, i, item};
        }
    }
    return n_hits;
}

const topk_kernels topk_kernels_scalar = {score_filter_scalar, 8};

const topk_kernels *topk_kernels_for(isa_level level)
{
    return ISA_SELECT_FOR(level, &topk_kernels_scalar, &topk_kernels_avx2, &topk_kernels_avx512);
}

const topk_kernels *topk_kernels_get(void) { return topk_kernels_for(isa_active()); }
