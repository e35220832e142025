/* Whether runs may share a table: a report compares like with like, so every
 * run must have been trained on the same dataset and its split evaluated
 * with the same setting (dataset, checkpoint, eval.max_users).
 *
 * Two datasets are the same when their content hashes (data/dataset_hash.h)
 * are equal; a run written before hashes were recorded is compared by path.
 * Runs that record no evaluation setting for the split (older files) may
 * only be reported among themselves. */
#ifndef DMMP_EVAL_RUN_COMPARE_H
#define DMMP_EVAL_RUN_COMPARE_H

#include <stddef.h>

#include "core/status.h"
#include "train/results.h"

/* DMMP_OK when runs[0..n) may share a table for split; else DMMP_EINVAL
 * naming the two files (sources[i]) and what differs. data_hash, when not
 * NULL, is the hash every run's training and evaluation dataset must have
 * (a run without hashes is refused then). */
dmmp_status runs_check_comparable(const run_results *runs, const char *const *sources, size_t n, const char *split,
                                  const char *data_hash);

#endif
