/* The trainer's side of the run record (train/results.h): what a run writes
 * to DIR/results.h5 when it starts and after every epoch. */
#ifndef DMMP_TRAIN_RUN_RECORD_H
#define DMMP_TRAIN_RUN_RECORD_H

#include <stdint.h>

#include "data/dataset.h"
#include "model/model.h"
#include "config/config.h"
#include "train/results.h"
#include "train/validate.h"

/* The commit the library was built from ("unknown" outside a git checkout). */
const char *run_git_commit(void);

/* Starts the record of a fresh run: config text, variant, model kind, seed,
 * dataset (path, name, content hash) and commit. */
dmmp_status run_record_start(run_results *r, const dmmp_config *cfg, const char *variant, uint64_t seed,
                             const dataset *d);

/* Continues the record at path for a resumed run that completed
 * epochs_done epochs and steps_done optimiser steps: loads it and drops any
 * epoch and curve point recorded after the checkpoint (results.h5 is
 * written before last.h5). */
dmmp_status run_record_resume(run_results *r, const char *path, int epochs_done, int64_t steps_done);

/* After optimiser step `step` (counted from 1) of a run with curve_every
 * > 0, when step is a multiple of it: one point of the per-step curves,
 * the last batch's (n rows) loss/<term> (unweighted) and weight/<term> of
 * every active term, and for a learned gate gate/w_v_mean and gate/w_v_sd
 * (the batch's mean and standard deviation of the conversion weight). */
dmmp_status run_record_step(run_results *r, const model *m, int n, int64_t step, int curve_every);

/* What one epoch adds to the record. */
typedef struct epoch_record {
    const double *term_mean;   /* TERM_COUNT unweighted epoch means (NaN: term off this epoch) */
    const int *term_recorded;  /* TERM_COUNT: 1 for every term the model has */
    const double *weight;      /* TERM_COUNT current loss weights */
    const val_metrics *val;    /* NULL: no validation */
    double epoch_seconds;      /* wall time of the epoch (validation included) */
    double samples_per_second; /* training throughput of the epoch */
    double rss_mb;             /* resident memory at the epoch's end (NaN: unknown) */
} epoch_record;

/* Appends epoch e (epochs_done after it, steps in total) to the series:
 * loss/<term>, weight/<term>, val/<metric>, wall_time_s, samples_per_s, rss_mb. */
dmmp_status run_record_epoch(run_results *r, const epoch_record *e, int epochs_done, int64_t steps);

/* Records the best epoch's validation metrics as the "val" split's metrics
 * (and best_epoch), so a report can read them without the series. */
dmmp_status run_record_best(run_results *r, const val_metrics *v, int best_epoch);

#endif
