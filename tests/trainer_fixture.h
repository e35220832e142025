/* Shared pieces of the train_* suites: one small synthetic dataset per
 * process (made on first use), a small configuration per variant, a
 * training call, and scoring a run on a split. */
#ifndef DMMP_TESTS_TRAINER_FIXTURE_H
#define DMMP_TESTS_TRAINER_FIXTURE_H

#include "config/config.h"
#include "train/trainer.h"
#include "train/validate.h"

/* Path of the shared synthetic dataset (2000 users, 500 items, 60000
 * impressions), or NULL when it could not be made. */
const char *tf_dataset(void);

/* A configuration small enough that an epoch takes well under a second. */
void tf_config(dmmp_config *c, config_model_kind kind);

/* A fresh empty run directory under the test's temporary directory. */
void tf_run_dir(char *buf, size_t len, const char *name);

/* Trains c into dir (options as given: stop_after_steps, resume). */
dmmp_status tf_train(const dmmp_config *c, const char *dir, int resume, int64_t stop_after_steps,
                     trainer_summary *s);

/* Loads dir/<which>.h5 and computes the ranking metrics of split. */
dmmp_status tf_score(const char *dir, const char *which, data_split split, val_metrics *out);

/* Registers the train_resume suite (test_trainer_resume.c). */
int register_trainer_resume_suites(void);

/* Registers the train_rundir suite (test_trainer_rundir.c). */
int register_trainer_rundir_suites(void);

/* 1 when the checkpoints a_path and b_path hold the same bytes in every
 * parameter, Adam moment, embedding table and its moments (shape gives the
 * sizes: a run loaded from either); prints the first that differs. */
int tf_same_arrays(const char *a_path, const char *b_path, const run_handle *shape);

/* Registers the train_negatives suite (test_trainer_negatives.c). */
int register_trainer_negatives_suites(void);

/* Removes a run directory and its files. */
void tf_remove_dir(const char *dir);

#endif
