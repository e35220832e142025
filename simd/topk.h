/* Kernels of the exact top-K inner-product search: score a few queries
 * against a run of packed item blocks and keep only the scores that reach
 * each query's current threshold (the K-th best so far).
 *
 * Packed layout: items are grouped in blocks of TOPK_BLOCK_ITEMS; inside a
 * block the values are dim-major (for each d the 16 items' values are
 * contiguous), so one SIMD register holds one dimension of 16 items and every
 * lane computes its own item's score in the same order. Every path computes
 *     s = fma(q[dim-1], x[dim-1], ... fma(q[1], x[1], q[0] * x[0]))
 * one dimension after the other, rounding exactly like the scalar fmaf
 * chain, so scores are bit-identical across ISAs. */
#ifndef DMMP_SIMD_TOPK_H
#define DMMP_SIMD_TOPK_H

#include <stdint.h>

#include "simd/isa.h"

#define TOPK_BLOCK_ITEMS 16
/* Most queries one kernel call scores (a kernel's call_queries is at most this). */
#define TOPK_MAX_QUERIES 24

/* A score that reached its query's threshold. */
typedef struct topk_hit {
    float score;
    int32_t query; /* 0 .. nq-1 within the call */
    int32_t item;  /* 0 .. n_items-1 within the call */
} topk_hit;

typedef struct topk_kernels {
    /* Scores queries i < nq (1..TOPK_MAX_QUERIES; query i at q + i * q_stride,
     * dim >= 1 floats) against items 0..n_items-1 (n_items >= 1) held in the
     * ceil(n_items / 16) packed blocks at blocks (any alignment; padding
     * lanes are read, never reported); appends (score, i, item) to hits for
     * every score >= thr[i] (room for nq * n_items hits) and returns how many. */
    int (*score_filter)(const float *q, int64_t q_stride, int nq, const float *blocks, int n_items, int dim,
                        const float *thr, topk_hit *hits);
    /* The queries a call should get (a whole number of the kernel's
     * register tiles; any nq <= TOPK_MAX_QUERIES works): the search hands
     * out queries in blocks of this many. */
    int call_queries;
} topk_kernels;

extern const topk_kernels topk_kernels_scalar, topk_kernels_avx2, topk_kernels_avx512;

/* The kernels of the active ISA. */
const topk_kernels *topk_kernels_get(void);

/* The kernels of a given ISA (the caller checks the CPU has it). */
const topk_kernels *topk_kernels_for(isa_level level);

#endif
