/* Subcommands of the dmmp command. Each returns the process exit status, one
 * rule for every command:
 *   0   done;
 *   1   a failure while working: the system failed us (a write that hit a
 *       full disk or a file size limit, out of memory, a oneDNN error);
 *   2   bad usage or bad input: an unknown option or value, a bad
 *       configuration, a missing input, a directory where a file is expected,
 *       a file of the wrong kind (a checkpoint given as a dataset), a damaged
 *       or truncated input file, an output path whose directory is missing;
 *   130 interrupted.
 * Readers report damaged input as DMMP_EFORMAT, so cli_exit_code decides. */
#ifndef DMMP_CLI_COMMANDS_H
#define DMMP_CLI_COMMANDS_H

#include "core/status.h"

int cmd_env(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_data_import(int argc, char **argv);
int cmd_data_gen_aliccp_raw(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_retrieve(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_train(int argc, char **argv);

/* Exit status for a failed status: 2 for EINVAL, EFORMAT and EUNSUPPORTED,
 * 130 for EINTERRUPTED, 1 otherwise. */
int cli_exit_code(dmmp_status s);

/* Prints "dmmp <cmd>: <message>" for the current thread's error; returns the exit code. */
int cli_report_error(const char *cmd, dmmp_status s);

#endif
