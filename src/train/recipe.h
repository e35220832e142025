/* The run recipe: the one place that turns a configuration into the objects
 * a run needs (the feature layer, the model, the dense optimiser) and the
 * one training step over them. The trainer, validation, evaluation,
 * retrieval and the benchmark all build and step through it, so they run
 * the same model with the same optimiser. */
#ifndef DMMP_TRAIN_RECIPE_H
#define DMMP_TRAIN_RECIPE_H

#include <stdint.h>

#include "data/batch.h"
#include "data/dataset.h"
#include "data/neg_sampler.h"
#include "data/pair_batch.h"
#include "model/features.h"
#include "model/model.h"
#include "nn/optim.h"
#include "config/config.h"
#include "train/grad_exchange.h"

/* The model's share of cfg. */
void recipe_model_spec(const dmmp_config *cfg, model_spec *spec);

/* The feature layer of cfg for batches of at most max_batch rows: the
 * teacher view for a teacher, the user and item views for towers. */
void recipe_features_config(const dmmp_config *cfg, int max_batch, features_config *fc);

/* The dense optimiser of cfg: Adam or AdamW, its betas, epsilon, weight
 * decay and gradient clipping. */
adam_config recipe_adam_config(const dmmp_config *cfg);

/* Builds the features and the model of cfg over schema for batches of at
 * most max_batch rows, initialised from seed; on failure both are freed. */
dmmp_status recipe_build(const dmmp_config *cfg, const dataset_schema *schema, uint64_t seed, int max_batch,
                         features *feat, model *m);

/* recipe_build for training: with placed, the tables follow
 * model.table_placement on the ranks of this job (sharded tables, see
 * model/table_shard.h); without, every table is whole (evaluation, export
 * and every other reader of a run hold whole tables). */
dmmp_status recipe_build_placed(const dmmp_config *cfg, const dataset_schema *schema, uint64_t seed, int max_batch,
                                int placed, features *feat, model *m);

/* What a training step with student.negatives needs besides its batch: the
 * sampler of the items and the pair rows (random, popularity), or the log
 * sampling probabilities of the batch's items (in_batch). */
typedef struct recipe_negs {
    model_negatives mode; /* MODEL_NEG_NONE: nothing is open */
    int ratio;
    neg_sampler sampler;
    pair_batch pairs;
    int32_t *drawn;       /* max_batch * ratio sampled items */
    float *neg_log_q;     /* max_batch: -log q of each row's item */
} recipe_negs;

/* Opens what cfg's negatives need over d (not while a batcher on d is
 * open; the draws come from the stream of seed) for batches of at most
 * max_batch rows; with student.negatives = none it opens nothing and
 * succeeds. On failure n is closed. */
dmmp_status recipe_negs_open(recipe_negs *n, const dmmp_config *cfg, const dataset *d, uint64_t seed, int max_batch);

/* Frees it (a zeroed one is fine). */
void recipe_negs_close(recipe_negs *n);

/* The forward pass over one batch: its features, then the model. */
dmmp_status recipe_forward(features *f, model *m, const batch *b);

/* The phases of one training step, timed by recipe_train_step. */
typedef enum recipe_phase {
    PHASE_FEATURES_FORWARD,
    PHASE_MODEL_FORWARD,
    PHASE_MODEL_BACKWARD,
    PHASE_FEATURES_BACKWARD,
    PHASE_ADAM,
    PHASE_SPARSE_STEP,
    PHASE_EXCHANGE,     /* data-parallel jobs: the gradient exchange (train/grad_exchange.h) */
    RECIPE_PHASES
} recipe_phase;

/* Which parameters a step trains: everything (joint), or one stage of
 * train.schedule = two_stage: 0 the teacher and the loss-weighting s_i, 1
 * everything but the teacher, which stays frozen. */
enum { STAGE_JOINT = -1, STAGE_TEACHER = 0, STAGE_STUDENT = 1 };

/* A step of a data-parallel job (several ranks): b is this rank's share
 * of the step's rows, n_total the rows of all ranks together, and the
 * gradients are exchanged before the updates. */
typedef struct recipe_shard {
    grad_exchange *gx;
    int64_t n_total;
} recipe_shard;

/* One training step on b: features and model forward, the losses and the
 * backward pass, the dense update (clipping on the norm of the gradients
 * applied) and the sparse updates of the tables the stage trains. step is
 * the optimiser step (it gates kd.warmup_steps and picks the stream of the
 * sampled negatives). negs is what recipe_negs_open opened for the model's
 * negatives (NULL when it has none). shard is NULL for one process; with
 * one, the step's gradients are those of every rank's rows and b may be
 * NULL (this rank has no rows in the step: it only takes part). A
 * non-finite loss input is DMMP_ENUMERIC naming the term. When seconds is
 * not NULL, adds each phase's wall time to seconds[phase]. */
dmmp_status recipe_train_step(features *f, model *m, adam_state *adam, recipe_negs *negs, const batch *b, int64_t step,
                              int stage, const recipe_shard *shard, double *seconds);

#endif
