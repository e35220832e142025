/* Gates: softmax over gate logits and the mixing of expert outputs (CGC /
 * PLE), and the student's user preference gate, a softmax over two
 * task scores that fuses s_c and s_v into r = w_c s_c + w_v s_v.
 *
 * The gate's linear layer is a dense layer (src/nn/dense.h); these functions
 * take its logits. Shapes: logits and probabilities are batch x n_experts,
 * every expert output and the mixture are batch x dim, all row-major.
 * Preconditions (not checked per batch): batch >= 0, n_experts >= 1, dim >= 1,
 * non-NULL arrays of those shapes. */
#ifndef DMMP_NN_GATE_H
#define DMMP_NN_GATE_H

/* probs = softmax(logits) per row (batch x n); probs may alias logits. */
void gate_softmax_forward(const float *logits, int batch, int n, float *probs);

/* dlogits = softmax Jacobian applied to dprobs, OVERWRITTEN; dlogits may alias dprobs. */
void gate_softmax_backward(const float *probs, const float *dprobs, int batch, int n, float *dlogits);

/* gate_probs = softmax(logits) per row; out[b] = sum_k gate_probs[b,k] experts[k][b], OVERWRITTEN. */
void gate_mix_forward(const float *logits, int batch, int n_experts, const float *const *experts, int dim,
                      float *gate_probs, float *out);

/* From dout (batch x dim): dexperts[k] ACCUMULATED (+=; an expert may feed several gates,
 * a NULL dexperts[k] is skipped), or OVERWRITTEN where overwrite[k] is 1 (the
 * first gate an expert feeds; overwrite may be NULL: all accumulated), and
 * dlogits (batch x n_experts) OVERWRITTEN. */
void gate_mix_backward(const float *gate_probs, int batch, int n_experts, const float *const *experts, int dim,
                       const float *dout, float *const *dexperts, const unsigned char *overwrite, float *dlogits);

/* The user preference gate: w = softmax(logits) per row, both batch x 2. */
void softmax2_forward(const float *logits, int batch, float *w);

/* dlogits (batch x 2) OVERWRITTEN from dw (batch x 2); dlogits may alias dw. */
void softmax2_backward(const float *w, const float *dw, int batch, float *dlogits);

/* r[b] = w[b,0] s_c[b] + w[b,1] s_v[b]; r OVERWRITTEN. */
void fuse_scores_forward(const float *w, const float *s_c, const float *s_v, int batch, float *r);

/* From dr: dw (batch x 2) OVERWRITTEN (w feeds only the fusion), ds_c and ds_v
 * ACCUMULATED (the task scores also feed their own losses). */
void fuse_scores_backward(const float *w, const float *s_c, const float *s_v, const float *dr, int batch, float *dw,
                          float *ds_c, float *ds_v);

#endif
