/* The towers' negatives in a training step (student.negatives), the part of
 * the model that model.c hands the sampled pairs and the in-batch scores.
 *
 * Sampled pairs (random, popularity): each impression b brings neg_ratio
 * items j; the pair (user of b, j) is scored with the impression's user
 * vector u_b and the item towers' v_j, and trained as a pair with click 0
 * and conversion 0: the click tower on sampled_ctr = BCE(pCTR, 0), both
 * towers on sampled_ctcvr = BCE(pCTR pCVR, 0), and, with two item towers,
 * the fused score r = w_c s_c + w_v s_v on sampled_fused = BCE(p_f, 0),
 * with the gate weights w of the impression's user held fixed (no gradient
 * reaches the gate from a sampled pair). With kd.on_sampled the teacher
 * scores the pairs too (forward only) and kd_sampled_ctr and
 * kd_sampled_ctcvr pull the student's pCTR and pCTCVR there to the
 * teacher's.
 *
 * In-batch (in_batch): S = U V^T over the batch (nn/score_matrix.h), one
 * matrix per item tower, and a softmax over each row (nn/softmax_loss.h)
 * whose target is the row's own item, with -log q of each column's item
 * added when logQ is on and the columns holding the target's item again
 * left out: sampled_ctr over the clicked rows with logits s_c / T,
 * sampled_ctcvr over the converted rows with logits (log pCTR + log pCVR)
 * / T, sampled_fused over the rows weighted by y_f with logits r / T (the
 * gate again held fixed). The biases cancel in a softmax but not inside
 * log pCTR, which is what trains them here.
 *
 * Buffers are sized once (model_init) for max_batch impressions. */
#ifndef DMMP_MODEL_NEGATIVES_H
#define DMMP_MODEL_NEGATIVES_H

#include <stdint.h>

#include "core/status.h"
#include "nn/score_matrix.h"

struct model;
struct model_negs;

/* The sampled terms, in the order of loss_term from TERM_SAMPLED_CTR. */
enum { NEG_TERMS = 5 };

typedef struct model_neg {
    int mode;          /* model_negatives */
    int ratio;         /* pairs per impression */
    int pairs;         /* pairs of the last forward (MODEL_NEG_PAIRS) */
    int rows;          /* rows of the last in-batch forward */
    int active;        /* 1: the last forward scored negatives */
    int gate_frozen;   /* 1: the sampled terms keep the gate weights of the step before (gradient checks hold
                          them constant this way, as training does by not back-propagating them into the gate) */
    /* sampled pairs: max_batch * ratio rows each */
    float *u_rep, *u_rep_n, *v_n[2], *s[2], *w_rep, *r, *z_f, *ds[2], *dz_f, *dw, *du_rep, *zero;
    float *z_t_ctr, *z_t_cvr, *kd_target[2];
    float *grad[NEG_TERMS][2];
    /* in-batch: max_batch^2 each */
    score_matrix sm;
    float *S[2], *L, *R, *D[2], *dC, *dL, *dR, *dS[2];
    float *du_n, *dv_n; /* max_batch x k, l2norm */
    int32_t *iota;
} model_neg;

/* Sizes the buffers of m's negatives (after the towers are built). */
dmmp_status neg_init(struct model *m);

/* kd_on_sampled: the teacher's logits on the pair rows of x_t (after the
 * impressions' batch rows); must run before the teacher's forward on the
 * impressions, whose activations the backward needs. */
dmmp_status neg_teacher_forward(struct model *m, const float *x_t, int batch);

/* The negatives' scores, after the towers ran on the impressions' and the
 * sampled items. */
dmmp_status neg_forward(struct model *m, int batch);

/* The sampled terms' losses into m->term_loss and their unweighted
 * gradients into the model_neg buffers (active: the terms switched on). */
dmmp_status neg_losses(struct model *m, int batch, const int *active, const struct model_negs *negs, int64_t step);

/* With the term weights known (m->term_scale): the gradients at the
 * negatives' scores, the fused head's and biases' included. */
void neg_backward_scores(struct model *m, int batch, const int *active);

/* Tower t's share: ADDS into m->du (the user vectors) and the item rows of
 * m->dv[t] (the sampled items' rows, or the impressions' for in-batch). */
dmmp_status neg_backward_tower(struct model *m, int t, int batch);

/* l2norm in-batch: the user vectors' gradient through the normalisation,
 * once both towers have added theirs. */
void neg_backward_user(struct model *m, int batch);

/* The first sampled term whose inputs are not finite, or NULL. */
const char *neg_nonfinite_term(const struct model *m, int batch);

void neg_free(struct model *m);

/* The single- and two-logit loss terms of model.c (hard BCE, or the
 * distillation loss of kd.loss at kd.temperature), shared with the sampled
 * terms. */
dmmp_status model_term_single(const struct model *m, int is_kd, const float *z, const float *target, const float *mask,
                              int n, float *dz, double *loss);
dmmp_status model_term_product(const struct model *m, int is_kd, const float *z1, const float *z2, const float *target,
                               int n, float *dz1, float *dz2, double *loss);

#endif
