/* Gate softmax and expert mixing over the act kernels: the mixture is a
 * scaled row sum per expert, its backward a row dot per expert followed by
 * the softmax Jacobian. */
#include "nn/gate.h"

#include <string.h>

#include "simd/act.h"

void gate_softmax_forward(const float *logits, int batch, int n, float *probs)
{
    act_kernels_get()->softmax_rows(logits, (size_t)batch, (size_t)n, probs);
}

void gate_softmax_backward(const float *probs, const float *dprobs, int batch, int n, float *dlogits)
{
    act_kernels_get()->softmax_rows_backward(probs, dprobs, (size_t)batch, (size_t)n, dlogits);
}

void gate_mix_forward(const float *logits, int batch, int n_experts, const float *const *experts, int dim,
                      float *gate_probs, float *out)
{
    const act_kernels *k = act_kernels_get();
    size_t rows = (size_t)batch, cols = (size_t)dim, ne = (size_t)n_experts;
    k->softmax_rows(logits, rows, ne, gate_probs);
    memset(out, 0, rows * cols * sizeof *out);
    for (size_t e = 0; e < ne; e++) k->axpy_rows(1.0f, gate_probs + e, ne, experts[e], rows, cols, out);
}

void gate_mix_backward(const float *gate_probs, int batch, int n_experts, const float *const *experts, int dim,
                       const float *dout, float *const *dexperts, float *dlogits)
{
    const act_kernels *k = act_kernels_get();
    size_t rows = (size_t)batch, cols = (size_t)dim, ne = (size_t)n_experts;
    for (size_t e = 0; e < ne; e++) {
        /* dL/dg[b,e] = <dout[b], expert_e[b]>, staged in dlogits until the Jacobian below. */
        k->dot_rows(dout, experts[e], rows, cols, dlogits + e, ne);
        if (dexperts[e]) k->axpy_rows(1.0f, gate_probs + e, ne, dout, rows, cols, dexperts[e]);
    }
    k->softmax_rows_backward(gate_probs, dlogits, rows, ne, dlogits);
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
