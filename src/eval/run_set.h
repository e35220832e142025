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

/* Frees every run and name; s becomes empty. */
void run_set_free(run_set *s);

#endif
