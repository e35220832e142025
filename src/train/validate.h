/* Validation during training: the ranking evaluator of train/evaluate.h
 * (the one `dmmp eval` runs) over one split, its metrics in the fixed-size
 * form the trainer and the run record keep per epoch. */
#ifndef DMMP_TRAIN_VALIDATE_H
#define DMMP_TRAIN_VALIDATE_H

#include "data/dataset.h"
#include "metrics/eval_metrics.h"
#include "model/features.h"
#include "model/model.h"
#include "config/config.h"

#define VAL_MAX_METRICS 16

typedef struct val_metrics {
    int n;
    char name[VAL_MAX_METRICS][EVAL_METRIC_NAME_MAX + 1];
    double value[VAL_MAX_METRICS];
    int64_t rows;
} val_metrics;

/* eval_ranking over split (no batcher may be open on d meanwhile). Metrics
 * without a head to read (two_tower has no CVR) and undefined ones (one
 * class only in the split) are left out, as in dmmp eval; an empty split
 * gives no metrics. DMMP_ENUMERIC when a prediction is not finite. */
dmmp_status validate_split(features *f, model *m, const dataset *d, data_split split, val_metrics *out);

/* The value of metric name, or NaN when out has none (undefined). */
double val_metrics_get(const val_metrics *v, const char *name);

/* "auc_ctr", "logloss_ctcvr", ... for a config metric ("" for none). */
const char *validate_metric_name(config_metric m);

#endif
