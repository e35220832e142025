/* personal_utility@K: a per-user oracle utility of a top-K list on
 * synthetic data, defined from the truth (README, Metrics).
 *
 * For user u with true pCTR c_i and pCTR * pCVR e_i of every corpus item i
 * (default context) and purchase share pi_u (synth_world_purchase_share:
 * sigmoid of the user's intent, 0.5 in a world without intent):
 *   C_u = sum of the K largest c_i,  P_u = sum of the K largest e_i,
 *   value_u(i) = (1 - pi_u) c_i / C_u + pi_u e_i / P_u,
 *   personal_utility@K(u) = sum of value_u over the filled slots of the
 *                           first K of the list / sum of the K largest value_u.
 * The user values expected clicks and expected purchases, each measured
 * against the best K items for it, in the proportion of their own intent; a
 * list scores 1 exactly when no K items are worth more to that user. Here
 * "the K largest" means all items when the corpus has fewer than K. */
#ifndef DMMP_EVAL_PERSONAL_UTILITY_H
#define DMMP_EVAL_PERSONAL_UTILITY_H

#include <stdint.h>

#include "core/status.h"

typedef struct personal_utility {
    int64_t n_items;
    double *c, *e, *value, *work; /* n_items each */
} personal_utility;

/* Scratch for a corpus of n_items (>= 1) items. */
dmmp_status personal_utility_init(personal_utility *pu, int64_t n_items);

/* out[j] = personal_utility@ks[j] of the list topk (list_len slots, best
 * first, negative id = empty slot; every K <= list_len) for one user whose
 * true probabilities over the corpus are p_click and p_conv (n_items each)
 * and whose purchase share is share (0..1). */
void personal_utility_of_list(personal_utility *pu, const float *p_click, const float *p_conv, double share,
                              const int32_t *topk, int list_len, const int *ks, int n_ks, double *out);

void personal_utility_free(personal_utility *pu);

#endif
