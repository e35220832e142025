/* Losses of the teacher and the student: BCE with logits for
 * hard and soft targets, the ESMM product BCE (pCTCVR = pCTR * pCVR), the
 * distillation variants at temperature T, and MSE.
 *
 * Conventions shared by every function here:
 * - The loss is the MEAN over the rows that count: with mask == NULL every
 *   row has weight 1; otherwise mask[i] >= 0 is row i's weight (0/1 selects
 *   rows, e.g. clicked-only CVR) and the mean divides by the sum of weights.
 *   When the weights sum to 0 the loss is 0 and no gradient is written.
 *   Rows of weight 0 are still read, so they must hold finite numbers.
 * - Gradients of that mean are ACCUMULATED (+=) into dz / dp: a logit gets
 *   gradient from several terms (pCTR feeds the CTR, CTCVR and KD losses),
 *   so the caller zeroes the gradient buffers once per step. A NULL gradient
 *   pointer computes the loss only.
 * - Temperature variants (Hinton et al., 2015) evaluate the probability at
 *   z / T and multiply the loss by T^2, so the gradient keeps its magnitude
 *   as T changes; their gradient is that of the reported (scaled) loss.
 * - DMMP_EINVAL for bad arguments (n < 0, T <= 0, a target outside [0, 1],
 *   a negative or NaN weight: the message names the function and row);
 *   DMMP_ENUMERIC when the loss is not finite (a NaN or Inf input). */
#ifndef DMMP_NN_LOSS_H
#define DMMP_NN_LOSS_H

#include "core/status.h"

/* Probabilities are clamped to [LOSS_PROB_EPS, 1 - LOSS_PROB_EPS] where a
 * loss takes the log of a product of probabilities. */
#define LOSS_PROB_EPS 1e-7

/* L = mean BCE(sigmoid(z), t) for hard or soft t; dz += (sigmoid(z) - t) w / sum(w).
 * Stable for any finite z: after a check of targets and weights, one fused
 * pass computes loss and gradient (act_kernels.bce_logits). */
dmmp_status bce_logits_forward_backward(const float *z, const float *target, const float *mask, int n, float *dz,
                                        double *loss);

/* L = T^2 mean BCE(sigmoid(z / T), t); dz += T (sigmoid(z / T) - t) w / sum(w). */
dmmp_status bce_logits_temp(const float *z, const float *target, const float *mask, int n, float temperature,
                            float *dz, double *loss);

/* L = mean BCE(q, t) with q = sigmoid(z1) sigmoid(z2) clamped to [eps, 1-eps]
 * for the log only. Gradients dz1 += (q - t)(1 - p1)/(1 - q) w / sum(w) and
 * dz2 += (q - t)(1 - p2)/(1 - q) w / sum(w) use the unclamped q, with
 * 1 - q = (1 - p1) + p1 (1 - p2) formed without cancellation, so each ratio
 * lies in [0, 1] and nothing is divided by a tiny number. Where the clamp is
 * active (q < 1e-7 or q > 1 - 1e-7) the gradient is therefore that of the
 * unclamped BCE, not of the reported value, on purpose: a confidently wrong
 * product must keep a gradient. */
dmmp_status bce_product_forward_backward(const float *z1, const float *z2, const float *target, const float *mask,
                                         int n, float *dz1, float *dz2, double *loss);

/* As bce_product_forward_backward with p1 = sigmoid(z1 / T), p2 = sigmoid(z2 / T),
 * the loss times T^2 and the gradients times T. */
dmmp_status bce_product_temp(const float *z1, const float *z2, const float *target, const float *mask, int n,
                             float temperature, float *dz1, float *dz2, double *loss);

/* L = mean (p - t)^2; dp += 2 (p - t) w / sum(w). */
dmmp_status mse_forward_backward(const float *p, const float *target, const float *mask, int n, float *dp,
                                 double *loss);

/* kd.loss = mse on probabilities: L = T^2 mean (sigmoid(z / T) - t)^2, gradient into z
 * (T = 1 for no temperature). */
dmmp_status mse_sigmoid_forward_backward(const float *z, const float *target, const float *mask, int n,
                                         float temperature, float *dz, double *loss);

/* kd.loss = mse on the product: L = T^2 mean (sigmoid(z1 / T) sigmoid(z2 / T) - t)^2,
 * gradients into z1 and z2. */
dmmp_status mse_product_forward_backward(const float *z1, const float *z2, const float *target, const float *mask,
                                         int n, float temperature, float *dz1, float *dz2, double *loss);

#endif
