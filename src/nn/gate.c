/* Gate softmax and expert mixing over the act and vec kernels: the mixture
 * is a scaled row sum per expert, its backward a row dot per expert followed
 * by the softmax Jacobian. */
#include "nn/gate.h"

#include <string.h>

#include "simd/act.h"
#include "simd/vec.h"

void gate_softmax_forward(const float *logits, int batch, int n, float *probs)
{
    act_kernels_get()->softmax_rows(logits, (size_t)batch, (size_t)n, probs);
}

void gate_softmax_backward(const float *probs, const float *dprobs, int batch, int n, float *dlogits)
{
    act_kernels_get()->softmax_rows_backward(probs, dprobs, (size_t)batch, (size_t)n, dlogits);
}

/* The mixing runs over blocks of rows in parallel: every row's arithmetic
 * is the same whatever the split (the kernels work row by row), so results
 * do not depend on the thread count. Measured for 1024 rows, 3 experts of
 * width 128, 2 threads, best of 300: forward 87 -> 31 us, backward
 * 152 -> 61 us. */
#define GATE_ROW_BLOCK 64
#define GATE_PARALLEL_MIN 65536 /* floats of expert output: below, OpenMP start-up costs more */

void gate_mix_forward(const float *logits, int batch, int n_experts, const float *const *experts, int dim,
                      float *gate_probs, float *out)
{
    const act_kernels *k = act_kernels_get();
    const vec_kernels *v = vec_kernels_get();
    size_t cols = (size_t)dim, ne = (size_t)n_experts;
    int n_blocks = (batch + GATE_ROW_BLOCK - 1) / GATE_ROW_BLOCK;
#pragma omp parallel for schedule(static) if (n_blocks > 1 && (size_t)batch * cols * ne >= GATE_PARALLEL_MIN)
    for (int blk = 0; blk < n_blocks; blk++) {
        size_t r0 = (size_t)blk * GATE_ROW_BLOCK;
        size_t rows = r0 + GATE_ROW_BLOCK <= (size_t)batch ? GATE_ROW_BLOCK : (size_t)batch - r0;
        float *probs = gate_probs + r0 * ne, *o = out + r0 * cols;
        k->softmax_rows(logits + r0 * ne, rows, ne, probs);
        memset(o, 0, rows * cols * sizeof *o);
        for (size_t e = 0; e < ne; e++) v->axpy_rows(1.0f, probs + e, ne, experts[e] + r0 * cols, rows, cols, o);
    }
}

void gate_mix_backward(const float *gate_probs, int batch, int n_experts, const float *const *experts, int dim,
                       const float *dout, float *const *dexperts, const unsigned char *overwrite, float *dlogits)
{
    const act_kernels *k = act_kernels_get();
    const vec_kernels *v = vec_kernels_get();
    size_t cols = (size_t)dim, ne = (size_t)n_experts;
    int n_blocks = (batch + GATE_ROW_BLOCK - 1) / GATE_ROW_BLOCK;
#pragma omp parallel for schedule(static) if (n_blocks > 1 && (size_t)batch * cols * ne >= GATE_PARALLEL_MIN)
    for (int blk = 0; blk < n_blocks; blk++) {
        size_t r0 = (size_t)blk * GATE_ROW_BLOCK;
        size_t rows = r0 + GATE_ROW_BLOCK <= (size_t)batch ? GATE_ROW_BLOCK : (size_t)batch - r0;
        const float *probs = gate_probs + r0 * ne, *d = dout + r0 * cols;
        float *dl = dlogits + r0 * ne;
        for (size_t e = 0; e < ne; e++) {
            /* dL/dg[b,e] = <dout[b], expert_e[b]>, staged in dlogits until the Jacobian below. */
            v->dot_rows(d, experts[e] + r0 * cols, rows, cols, dl + e, ne);
            if (!dexperts[e]) continue;
            float *de = dexperts[e] + r0 * cols;
            /* Zeroed here, block by block, rather than by the caller in a pass of its own. */
            if (overwrite && overwrite[e]) memset(de, 0, rows * cols * sizeof *de);
            v->axpy_rows(1.0f, probs + e, ne, d, rows, cols, de);
        }
        k->softmax_rows_backward(probs, dl, rows, ne, dl);
    }
}

void softmax2_forward(const float *logits, int batch, float *w) { gate_softmax_forward(logits, batch, 2, w); }

void softmax2_backward(const float *w, const float *dw, int batch, float *dlogits)
{
    gate_softmax_backward(w, dw, batch, 2, dlogits);
}

void fuse_scores_forward(const float *w, const float *s_c, const float *s_v, int batch, float *r)
{
    for (int b = 0; b < batch; b++) r[b] = w[2 * b] * s_c[b] + w[2 * b + 1] * s_v[b];
}

void fuse_scores_backward(const float *w, const float *s_c, const float *s_v, const float *dr, int batch, float *dw,
                          float *ds_c, float *ds_v)
{
    for (int b = 0; b < batch; b++) {
        dw[2 * b] = dr[b] * s_c[b];
        dw[2 * b + 1] = dr[b] * s_v[b];
        ds_c[b] += dr[b] * w[2 * b];
        ds_v[b] += dr[b] * w[2 * b + 1];
    }
}
