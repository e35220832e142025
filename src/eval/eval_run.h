/* Everything `dmmp eval` computes for one model: the ranking metrics
 * (evaluate.h) then the retrieval metrics (retrieval_eval.h), and their
 * storage in a run record under the split's name. */
#ifndef DMMP_EVAL_EVAL_RUN_H
#define DMMP_EVAL_EVAL_RUN_H

#include "core/status.h"
#include "data/dataset.h"
#include "metrics/eval_metrics.h"
#include "model/features.h"
#include "model/model.h"
#include "config/config.h"
#include "train/results.h"

/* "train", "val" or "test". */
const char *eval_split_name(data_split split);

/* Parses a split name; fails naming the value. */
dmmp_status eval_split_parse(const char *name, data_split *split);

/* Every metric that applies to m (ranking, then retrieval with ce's cut-offs) over split of d. */
dmmp_status eval_all(model *m, features *f, const dataset *d, data_split split, const config_eval *ce,
                     eval_metrics *out);

/* Sets every metric of l in r under split (results_set_metric). */
dmmp_status eval_store(const eval_metrics *l, data_split split, run_results *r);

#endif
