/* Validation during training: the model over one split in file order and
 * the ranking metrics on its predictions (AUC of CTR over every
 * impression, of CVR over clicked ones, of CTCVR over every impression,
 * GAUC of CTR, log losses), and for dmmp the teacher's as teacher_<name>. */
#ifndef DMMP_TRAIN_VALIDATE_H
#define DMMP_TRAIN_VALIDATE_H

#include "data/dataset.h"
#include "model/features.h"
#include "model/model.h"
#include "config/config.h"

#define VAL_MAX_METRICS 16

typedef struct val_metrics {
    int n;
    char name[VAL_MAX_METRICS][32];
    double value[VAL_MAX_METRICS]; /* NaN when undefined (e.g. one class only) */
    int64_t rows;
} val_metrics;

/* Scores every row of split (no batcher may be open on d meanwhile) in
 * batches of at most f->max_batch rows. Metrics without a head to read are
 * left out (two_tower has no CVR). DMMP_ENUMERIC when a prediction is not
 * finite; an empty split gives no metrics. */
dmmp_status validate_split(features *f, model *m, const dataset *d, data_split split, val_metrics *out);

/* The value of metric name, or NaN when out has none. */
double val_metrics_get(const val_metrics *v, const char *name);

/* "auc_ctr", "logloss_ctcvr", ... for a config metric ("" for none). */
const char *validate_metric_name(config_metric m);

#endif
