/* The runs a report or plot command reads: each argument is a run directory
 * (its results.h5 is read), a folder holding runs below it (a driver's
 * output: every results.h5 up to 8 levels down, in path order) or a results
 * file. */
#ifndef DMMP_EVAL_RUN_SET_H
#define DMMP_EVAL_RUN_SET_H

#include <stddef.h>

#include "core/status.h"
#include "train/results.h"

typedef struct run_set {
    size_t n;
    run_results *runs;
    char **sources; /* the file each run came from, for messages */
} run_set;

/* Loads every argument (DIR -> DIR/results.h5, or the runs below DIR when it
 * has none; else the path itself); on failure names the argument or file and
 * leaves s empty. */
dmmp_status run_set_load(run_set *s, const char *const *args, size_t n_args);

/* For every run with metrics of split whose names end in suffix (such as
 * "_mean_gate", the evaluation of the same model under another setting),
 * appends a row: variant <variant><suffix>, the same seed and dataset
 * provenance, and those metrics under their names without the suffix. The
 * report then pairs it by seed with the run it came from like any variant. */
dmmp_status run_set_add_suffix_rows(run_set *s, const char *split, const char *suffix);

/* Frees every run and name; s becomes empty. */
void run_set_free(run_set *s);

#endif
