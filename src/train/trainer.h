/* The trainer: runs one experiment from a configuration and a dataset into a
 * run directory, and loads a finished run back for evaluation.
 *
 * A step is batcher_next -> features_forward -> model_forward ->
 * model_backward -> features_backward -> Adam on the dense parameter buffer
 * -> the lazy sparse optimiser on the embedding rows of the batch. Each epoch
 * ends with the loss-weighting update, validation on the val split, early
 * stopping and the run record. The run directory holds
 *   last.h5        the whole training state after the latest epoch (or
 *                  interruption): what --resume continues from;
 *   checkpoint.h5  the state of the best validation epoch;
 *   results.h5     the run record (train/results.h);
 *   train.log      every log line of the run.
 * A run stopped (signal, stop_after_steps) and resumed ends with the same
 * weights, bit for bit, as one that was not stopped (same seed and threads).
 *
 * Under mpirun (README: "Several processes") every rank runs trainer_run:
 * each trains on its share of every epoch's chunks (train.batch_size rows a
 * step each), the gradients are exchanged every step
 * (train/grad_exchange.h) so the replicas stay bit-identical, the ranks
 * agree on every stop and epoch end, rank 0 validates and alone writes the
 * run directory, and last.h5 keeps every rank's batcher position.
 *
 * schedule = two_stage trains the teacher alone for teacher_epochs epochs,
 * then freezes it (its part of the parameter buffer and its embedding tables
 * are left out of the optimiser steps) and trains the student against it for
 * train.epochs epochs; validation and early stopping watch the student stage
 * only, the teacher stage always runs to the end. */
#ifndef DMMP_TRAIN_TRAINER_H
#define DMMP_TRAIN_TRAINER_H

#include <signal.h>
#include <stdint.h>

#include "core/status.h"
#include "data/dataset.h"
#include "model/features.h"
#include "model/model.h"
#include "config/config.h"

/* Longest variant name (bytes, without the NUL). */
#define TRAINER_VARIANT_MAX 127

typedef struct trainer_options {
    const dmmp_config *config;  /* validated configuration (required) */
    const char *config_origin;  /* where it came from, for messages (may be NULL) */
    const char *data_path;      /* dataset; NULL: config->data.path */
    const char *out_dir;        /* run directory, created with its parents when missing (required) */
    const char *variant;        /* run name; NULL: the model kind ("dmmp", ...) */
    int64_t seed;               /* < 0: config->train.seed */
    int threads;                /* < 0: config->train.threads (0 there: all processors) */
    int resume;                 /* 1: continue from out_dir/last.h5 */
    int64_t stop_after_steps;   /* > 0: behave as if interrupted once this many steps are done (tests) */
    volatile sig_atomic_t *stop_flag; /* polled between steps; nonzero: save last.h5 and stop (may be NULL) */
    const char *resume_command; /* how to resume, quoted in the interruption message (may be NULL) */
} trainer_options;

/* Fills o with the defaults: no overrides, no resume, no stop. */
void trainer_options_default(trainer_options *o);

typedef struct trainer_summary {
    int epochs_done;          /* epochs completed (both stages) */
    int64_t steps;            /* optimiser steps taken in total */
    int interrupted;          /* 1: stopped by a signal or stop_after_steps, last.h5 written */
    int early_stopped;        /* 1: patience ran out */
    int best_epoch;           /* 1-based epoch of checkpoint.h5, 0 when none */
    double best_metric;       /* early-stopping metric at best_epoch (NaN when off) */
    double samples_per_second;/* training throughput of the run (validation excluded) */
    double wall_seconds;      /* of the whole run, resumed parts included */
} trainer_summary;

/* Trains as o says. DMMP_EINTERRUPTED (s->interrupted = 1) when stopped by the
 * flag or stop_after_steps after writing last.h5; DMMP_ENUMERIC naming the
 * epoch, batch, step and loss term when a loss is not finite (nothing is
 * written after the bad step); DMMP_EINVAL / DMMP_EFORMAT for a bad config,
 * dataset or run directory (a fresh run refuses a directory that already
 * holds last.h5; --resume refuses a directory that does not exist). A fresh
 * run that fails before its first last.h5 removes its train.log and the
 * directories it created. s may be NULL. */
dmmp_status trainer_run(const trainer_options *o, trainer_summary *s);

/* A trained model ready to score batches. */
typedef struct run_handle {
    dmmp_config cfg;
    char variant[TRAINER_VARIANT_MAX + 1];
    uint64_t seed;
    int epochs_done;     /* epochs completed when the checkpoint was written */
    int64_t steps;
    features feat;
    model model;
    int max_batch;       /* largest batch run_forward accepts (train.batch_size) */
} run_handle;

/* Loads dir/checkpoint.h5 (which = "checkpoint") or dir/last.h5 ("last") for
 * dataset d: builds the features and model of its config and fills them with
 * the saved weights. Fails naming what differs when d's schema (field names,
 * sides, vocabulary sizes, dense columns) is not the one trained on. */
dmmp_status run_load(const char *dir, const char *which, const dataset *d, run_handle *out);

/* Embeds batch b (b->n <= h->max_batch) and runs the model on it; read the
 * outputs with model_predictions(&h->model, ...). */
dmmp_status run_forward(run_handle *h, const batch *b);

/* Frees the model and features of h (a zeroed handle is fine). */
void run_close(run_handle *h);

#endif
