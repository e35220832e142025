/* Subcommands of the dmmp command. Each returns the process exit status:
 * 0 success, 1 failure while working, 2 bad usage or bad input. */
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
int cmd_report(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_train(int argc, char **argv);

/* Exit status for a failed status: 2 for bad input/usage, 1 otherwise. */
int cli_exit_code(dmmp_status s);

/* Prints "dmmp <cmd>: <message>" for the current thread's error; returns the exit code. */
int cli_report_error(const char *cmd, dmmp_status s);

#endif
