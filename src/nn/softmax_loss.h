/* The sampled softmax loss of the in-batch negatives (Yi et al., RecSys
 * 2019): each weighted row of a score matrix is a softmax over its columns
 * with one target column, optionally with a per-column logit shift (the
 * log-sampling-probability correction, -log q_j) and with the columns that
 * hold the target's own item a second time left out.
 *
 *   l_ij = scale * x_ij + shift_j         (shift NULL: 0)
 *   L    = sum_i w_i (log sum_{j in row i} exp(l_ij) - l_i,t_i) / sum_i w_i
 *
 * Column j is left out of row i when j != t_i and key[j] == key[t_i] (key
 * NULL: none). Rows of weight 0 cost nothing; when the weights sum to 0 the
 * loss is 0 and the gradient 0. dx is OVERWRITTEN with dL/dx (it is the
 * only consumer of x's gradient in a step that builds x from a matmul).
 * DMMP_EINVAL for bad arguments (a target column outside the row, a
 * negative or non-finite weight, scale <= 0 or not finite: the message
 * names the row); DMMP_ENUMERIC when the loss is not finite. */
#ifndef DMMP_NN_SOFTMAX_LOSS_H
#define DMMP_NN_SOFTMAX_LOSS_H

#include <stdint.h>

#include "core/status.h"

/* x and dx are rows x cols row-major; target and w have rows entries,
 * shift and key cols entries. dx must not alias x. */
dmmp_status softmax_xent_forward_backward(const float *x, int rows, int cols, float scale, const float *shift,
                                          const int32_t *key, const int32_t *target, const float *w, float *dx,
                                          double *loss);

#endif
