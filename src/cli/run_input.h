/* What eval, retrieve and export read: a run directory (the --out of dmmp
 * train) with one of its checkpoints, and a dataset. */
#ifndef DMMP_CLI_RUN_INPUT_H
#define DMMP_CLI_RUN_INPUT_H

#include "data/dataset.h"
#include "train/trainer.h"

/* 1 when path is a regular file. */
int cli_file_exists(const char *path);

/* Checks, before any work, that run is a run directory holding which.h5
 * ("checkpoint" or "last") and that data is a dataset; 0 or the exit status
 * (the message printed names what is wrong). */
int cli_check_run_input(const char *cmd, const char *run, const char *which, const char *data);

/* Opens data and loads the run for it; 0 or the exit status (a run that
 * cannot take this dataset is bad input, exit 2). */
int cli_open_run_input(const char *cmd, const char *run, const char *which, const char *data, dataset **d,
                       run_handle *h);

#endif
