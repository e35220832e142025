/* The state of a training run and its checkpoint files (last.h5 and
 * checkpoint.h5): building the features and the model a configuration
 * describes, and saving / loading everything needed to continue bit for bit.
 *
 * File layout (one HDF5 file, h5ls -r shows it all):
 *   attributes    kind "dmmp-run", variant, seed, step, epoch, epochs_done,
 *                 stage, batcher_{epoch,window,offset}, best_metric,
 *                 best_epoch, bad_epochs, wall_seconds, adam_step, ...
 *   /config       the configuration as INI text
 *   /schema/...   field names (newline-joined), side, multi, vocab_size,
 *                 n_dense: what the run was trained on
 *   /model/params every dense parameter (the flat buffer, the loss-weighting
 *                 s_i included); /optim/adam_m, /optim/adam_v its moments
 *   /model/layout what every block of /model/params and every embedding
 *                 table is (train/checkpoint_layout.h; not read back)
 *   /weighting/   current weights and the dwa epoch-mean history
 *   /epoch/       the running sums of the epoch in progress
 *   /train/rank_positions  a job of N processes: N x 3 (epoch, window,
 *                 offset), each rank's batcher position. Stopped inside an
 *                 epoch, the run resumes only with the same N; at an
 *                 epoch's end (every rank at window 0, offset 0) with any.
 *   /features/<table>/weight and its optimiser state (m, v, steps or accum) */
#ifndef DMMP_TRAIN_RUN_STATE_H
#define DMMP_TRAIN_RUN_STATE_H

#include <stdint.h>

#include "data/batcher.h"
#include "data/dataset.h"
#include "model/features.h"
#include "model/model.h"
#include "nn/optim.h"
#include "config/config.h"
#include "train/checkpoint_layout.h"

/* Where a run stands: everything of the loop besides weights and optimisers. */
typedef struct train_progress {
    int64_t step;               /* optimiser steps taken */
    int epoch;                  /* epoch in progress, 0-based (= epochs completed at an epoch boundary) */
    batcher_position pos;       /* where the next training batch starts */
    double best_metric;         /* NaN: none yet */
    int best_epoch;             /* 1-based, 0: none */
    int bad_epochs;             /* epochs since the best one (patience counter) */
    int finished;               /* 1: the run ended (all epochs or early stop) */
    double loss_sum[TERM_COUNT];/* unweighted term losses summed over the epoch's batches */
    int64_t epoch_batches;
    int64_t epoch_samples;
    double epoch_train_seconds; /* training time of the epoch so far (validation excluded) */
    double wall_seconds;        /* whole run so far */
    int64_t total_samples;
    double total_train_seconds;
    /* A job of several processes: each rank's batcher position (pos is
     * this rank's); rank_pos holds `ranks` entries, owned by the caller.
     * ranks 0 or 1 and rank_pos NULL: one process. */
    int ranks;
    batcher_position *rank_pos;
} train_progress;

/* What a checkpoint holds, by reference; adam and progress may be NULL when
 * loading for evaluation (weights only), vocab always when loading. */
typedef struct run_state_ref {
    const dmmp_config *cfg;
    const char *variant;
    uint64_t seed;
    features *feat;
    model *model;
    adam_state *adam;
    train_progress *progress;
    const layout_vocab *vocab; /* saving: the dataset's vocabularies for the layout (may be NULL) */
} run_state_ref;

/* Writes the whole state to path atomically (temporary file, rename). With
 * sharded tables (several ranks) it is collective: rank 0 writes and
 * gathers each sharded table from its owners while the other ranks call
 * run_state_send_tables. The file is the same as with whole tables. */
dmmp_status run_state_save(const char *path, const run_state_ref *r, const dataset_schema *schema);

/* A rank other than 0 while rank 0 runs run_state_save: sends its blocks
 * of every sharded table (nothing without sharded tables). */
dmmp_status run_state_send_tables(const features *f);

/* Reads the config, variant (into a buffer of variant_len bytes) and seed of
 * the checkpoint at path. */
dmmp_status run_state_read_meta(const char *path, dmmp_config *cfg, char *variant, size_t variant_len,
                                uint64_t *seed);

/* Loads path into the built state r (progress and adam optional): checks
 * the schema it was trained on against schema first, naming every field
 * that differs. */
dmmp_status run_state_load(const char *path, const run_state_ref *r, const dataset_schema *schema);

/* Fails naming every key whose value differs between the configuration a
 * run was started with and the one given now, except the keys that may
 * change on resume (train.epochs, train.patience, train.log_every,
 * train.threads, data.path). */
dmmp_status run_config_check_resume(const dmmp_config *saved, const dmmp_config *now, const char *path);

#endif
