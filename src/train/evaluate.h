/* Ranking evaluation of a trained model over one split of a dataset: the
 * split's impressions in file order through the feature layer and the model,
 * the predictions (model_predictions) scored with the exact metrics of auc.h.
 *
 * Metrics (names as stored in the run record):
 *   auc_ctr, gauc_ctr, logloss_ctr   pCTR against clicks, every impression;
 *   auc_cvr                          pCVR against conversions, clicked only;
 *   auc_ctcvr, logloss_ctcvr         pCTCVR against click * conversion, all.
 * A model without a conversion head (two_tower) reports no cvr/ctcvr
 * metrics; dmmp also reports its teacher's as teacher_auc_ctr, ... A metric
 * whose labels hold one class only in the split (e.g. no conversion) is left
 * out with a warning rather than failing the evaluation. */
#ifndef DMMP_TRAIN_EVALUATE_H
#define DMMP_TRAIN_EVALUATE_H

#include "core/status.h"
#include "data/dataset.h"
#include "metrics/eval_metrics.h"
#include "model/features.h"
#include "model/model.h"

/* Rows the evaluator feeds per forward: the smaller of the model's and the
 * feature layer's max batch. */
int eval_batch_rows(const model *m, const features *f);

/* 1 when the model predicts conversions (a teacher or a conversion tower). */
int eval_has_conversion_head(const model *m);

/* Ranking metrics of m over split of d, appended to out. */
dmmp_status eval_ranking(model *m, features *f, const dataset *d, data_split split, eval_metrics *out);

/* The metrics of one set of predictions (n rows; p_cvr and p_ctcvr may be
 * NULL when the model has no conversion head); names get prefix ("" or
 * "teacher_"). Users below first_user (1: the reserved unknown user of
 * imported data, dataset_first_entity) form no gauc_ctr group; every
 * impression counts in the AUCs and loglosses. Exposed so the metrics can be
 * checked on predictions alone. */
dmmp_status eval_ranking_metrics(const float *p_ctr, const float *p_cvr, const float *p_ctcvr, const uint8_t *click,
                                 const uint8_t *conversion, const int32_t *user, int32_t first_user, int64_t n,
                                 const char *prefix, eval_metrics *out);

#endif
