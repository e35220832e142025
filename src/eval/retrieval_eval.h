/* Full-corpus retrieval evaluation (the matching stage).
 *
 * Users: every user with at least one click in the split (query rows of
 * batch_query_rows: user fields, user bags, default context). Relevant sets:
 * the items each clicked, and purchased, in that split. For each user the
 * whole item corpus is ranked and the top K = max(eval.topk) kept; per K in
 * eval.topk the metrics are
 *   click_recall@K, purchase_recall@K (users with a purchase), click_ndcg@K,
 *   purchase_ndcg@K, hitrate@K (of clicked items),
 * and on synthetic data (dataset_has_truth)
 *   clickbait@K (share of baits in the top K) and exp_conversions@K (sum of
 *   the true pCTR * pCVR of the top K in the default context).
 *
 * Tower models (two_tower, three_tower, dmmp): item vectors of the corpus are
 * computed in batches and packed once; user queries go through topk_search,
 * so no users x items matrix exists. teacher_only: the teacher scores every
 * (user, item) pair (teacher_scores.h), an upper bound that costs a forward
 * per pair; with eval.max_users = 0 it takes every user when users x items
 * <= RETRIEVAL_TEACHER_MAX_PAIRS, else a sample of RETRIEVAL_TEACHER_SAMPLE.
 * A positive eval.max_users caps the users of every model. Samples are drawn
 * with a fixed seed, so every variant is evaluated on the same users. */
#ifndef DMMP_EVAL_RETRIEVAL_EVAL_H
#define DMMP_EVAL_RETRIEVAL_EVAL_H

#include <stdint.h>

#include "core/status.h"
#include "data/batch.h"
#include "data/dataset.h"
#include "metrics/eval_metrics.h"
#include "eval/relevance.h"
#include "model/features.h"
#include "model/model.h"
#include "config/config.h"

#define RETRIEVAL_TEACHER_MAX_PAIRS 50000000LL
#define RETRIEVAL_TEACHER_SAMPLE 2000
#define RETRIEVAL_SAMPLE_SEED 0x72657472ULL

/* The users a retrieval evaluation visits: rows of the query batch (ascending)
 * whose user clicked something in the split, at most max_users of them
 * (0: all) drawn with RETRIEVAL_SAMPLE_SEED. *rows is malloc'ed. */
dmmp_status retrieval_select_users(const relevance_sets *rel, const batch *queries, int64_t max_users,
                                   int64_t **rows, int64_t *n_rows);

/* The users cap eval_retrieval applies for model m (see above). */
int64_t retrieval_user_cap(const model *m, const config_eval *ce, int64_t n_users, int64_t n_items);

/* Retrieval metrics of m over split of d for the cut-offs of ce, appended
 * to out (names above). */
dmmp_status eval_retrieval(model *m, features *f, const dataset *d, data_split split, const config_eval *ce,
                           eval_metrics *out);

/* Fills scores[0..corpus->n) with the score of every corpus item for query
 * row q of queries (higher is better). */
typedef dmmp_status (*retrieval_score_fn)(void *ctx, const batch *queries, int64_t q, const batch *corpus,
                                          float *scores);

/* The same metrics for any scorer that rates the whole corpus per user (the
 * teacher_only path; also hand-made rankings in tests); max_users as in
 * retrieval_select_users. */
dmmp_status eval_retrieval_scores(const dataset *d, data_split split, const config_eval *ce, int64_t max_users,
                                  retrieval_score_fn fn, void *ctx, eval_metrics *out);

/* The item vectors of the whole corpus (n_items x model_retrieval_dim),
 * computed in batches of eval_batch_rows; *vectors is malloc'ed. */
dmmp_status retrieval_item_vectors(model *m, features *f, const dataset *d, const batch *corpus, float **vectors);

/* Retrieval queries of rows[0..n) of the query batch (n <= eval_batch_rows)
 * into q (n x model_retrieval_dim); scratch is a batch_alloc'ed batch of at
 * least n rows. */
dmmp_status retrieval_queries(model *m, features *f, const batch *queries, const int64_t *rows, int n,
                              batch *scratch, float *q);

#endif
