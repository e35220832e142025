/* The top items of one user, for `dmmp retrieve`: the tower models search
 * the packed corpus with the user's query, teacher_only ranks the teacher's
 * full-corpus scores (teacher_scores.h). The user's query row comes from the
 * first split (train, val, test) in which the user has a sample. */
#ifndef DMMP_EVAL_RETRIEVE_USER_H
#define DMMP_EVAL_RETRIEVE_USER_H

#include <stdint.h>

#include "core/status.h"
#include "data/dataset.h"
#include "model/features.h"
#include "model/model.h"

typedef struct retrieved {
    int k;            /* slots; ids -1 past the corpus */
    int64_t n_ranked; /* items in the corpus ranked (the unknown item of imported data is not one) */
    int32_t *ids;
    float *scores;    /* inner product (towers) or the teacher's fused score */
    int has_gate;     /* dmmp with the learned gate: */
    float gate[2];    /*   the user's w_c, w_v */
    int has_truth;    /* synthetic data: per slot */
    float *p_ctr, *p_cvr; /* true probabilities in the default context */
    uint8_t *bait;
} retrieved;

/* Fills out with user's k best items (k >= 1); fails naming the user when it
 * is out of range or has no sample at all. */
dmmp_status retrieve_user(model *m, features *f, const dataset *d, int64_t user, int k, retrieved *out);

/* Frees what retrieve_user allocated. */
void retrieved_free(retrieved *r);

#endif
