/* Full-corpus scoring by the teacher, for teacher_only retrieval (an upper
 * bound: the teacher reads every field but costs one forward per user-item
 * pair, so this is done on small corpora or a user sample only).
 *
 * The pair (user q, item j) is a row with the user and context fields of
 * query row q, the item fields of corpus row j, every cross field 0
 * ("unknown": a cross feature is only known for an impression) and dense
 * features 0. Its score is the teacher's fused target,
 *   (1 - lambda) pCTR_T + lambda pCTR_T * pCVR_T   (lambda = fuse.conversion_weight),
 * the same mix of click and conversion the student is distilled towards. */
#ifndef DMMP_EVAL_TEACHER_SCORES_H
#define DMMP_EVAL_TEACHER_SCORES_H

#include <stdint.h>

#include "core/status.h"
#include "data/batch.h"
#include "data/dataset.h"
#include "model/features.h"
#include "model/model.h"

typedef struct teacher_scorer {
    model *m;
    features *f;
    int rows;      /* pairs per forward */
    batch pairs;   /* rows pairs, built from d's layout */
    float *p_ctr, *p_ctcvr;
} teacher_scorer;

/* Prepares the scorer for a model with a teacher and its feature layer. */
dmmp_status teacher_scorer_init(teacher_scorer *s, model *m, features *f, const dataset *d);

/* scores[u * N + j] = score of (query row rows[u] of queries, item j of
 * corpus) for u < n_users and every item j < N = corpus->n (batch_item_corpus).
 * The pairs run in that order through forwards of s->rows pairs, a forward
 * holding the pairs of several users when N is small, so only the last one
 * is short: the forward costs the same for any number of rows (its
 * primitives have a fixed height), and per-user forwards wasted the unused
 * rows of each user's last one. */
dmmp_status teacher_score_users(teacher_scorer *s, const batch *queries, const int64_t *rows, int n_users,
                                const batch *corpus, float *scores);

/* teacher_score_users for the one query row q. */
dmmp_status teacher_score_corpus(teacher_scorer *s, const batch *queries, int64_t q, const batch *corpus,
                                 float *scores);

/* Forwards one teacher_score_users call should fill at least: with this
 * many, the short last one costs at most 1/64 of the call. */
#define TEACHER_CALL_FORWARDS 64

/* Users per teacher_score_users call over a corpus of n_items: enough for
 * TEACHER_CALL_FORWARDS forwards, at least 1. */
int teacher_users_per_call(const teacher_scorer *s, int64_t n_items);

/* The k best items of scores[0..n) (best first, ties by the smaller id);
 * slots beyond n get id -1 and score -INFINITY. */
void topk_of_scores(const float *scores, int64_t n, int k, int32_t *ids, float *top);

void teacher_scorer_free(teacher_scorer *s);

#endif
