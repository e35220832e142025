/* `dmmp export predictions`: one row per impression of a split, in file
 * order, with what the model predicts for it, as CSV or HDF5
 * (eval/export_table.h).
 *
 * Columns: row (the sample's row of /samples), user and item (indices),
 * user_raw_id and item_raw_id (/users/raw_id, /items/raw_id; "#<index>"
 * when the dataset has none), click, conversion; then, as the variant has
 * them, teacher_pctr, teacher_pcvr, teacher_pctcvr (teacher_only and dmmp),
 * student_pctr (every tower model), student_pcvr, student_pctcvr,
 * student_pf (sigmoid(w_c s_c + w_v s_v + b_f)), gate_wc, gate_wv (three
 * towers: three_tower and dmmp; 0.5, 0.5 without the learned gate). The
 * forward is the evaluator's (recipe_forward over the split in file order),
 * so `dmmp eval`'s auc_ctr, auc_cvr (clicked rows only) and auc_ctcvr are
 * the AUCs of the student's columns against click and conversion (the
 * teacher's for teacher_only), and dmmp's teacher_auc_* those of the
 * teacher's columns. */
#ifndef DMMP_EVAL_EXPORT_PREDICTIONS_H
#define DMMP_EVAL_EXPORT_PREDICTIONS_H

#include <stdint.h>

#include "core/status.h"
#include "data/dataset.h"
#include "eval/export_table.h"
#include "model/features.h"
#include "model/model.h"

typedef struct export_predictions_request {
    const char *out;
    export_table_format format;
    data_split split;
    const char *split_name;       /* recorded in the HDF5 attributes */
    const char *variant, *run, *checkpoint, *data;
} export_predictions_request;

/* Writes the predictions of m over rq->split of d; *rows the rows written.
 * A split without rows is refused (DMMP_EINVAL) before anything is written. */
dmmp_status export_predictions(model *m, features *f, const dataset *d, const export_predictions_request *rq,
                               int64_t *rows);

#endif
