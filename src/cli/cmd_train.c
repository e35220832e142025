/* dmmp train: one training run into a run directory (train/trainer.h). */
#define _GNU_SOURCE /* program_invocation_name: the program as invoked, for the resume command */
#include <errno.h> /* program_invocation_name */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/dist.h"
#include "cli/stop_signals.h"
#include "cli/options.h"
#include "core/log.h"
#include "config/config.h"
#include "train/trainer.h"

static const char train_usage[] =
    "usage: dmmp train --config C.ini --data F.h5 --out DIR [--set section.key=value ...]\n"
    "                  [--seed S] [--threads N] [--resume] [--variant NAME]";

static const char train_about[] =
    "Trains the model C.ini describes on the train split of F.h5, validating on the\n"
    "val split after every epoch, and writes into DIR:\n"
    "  last.h5        the whole state after the latest epoch or interruption\n"
    "  checkpoint.h5  the best epoch by train.early_stopping_metric\n"
    "  results.h5     config, variant, seed, commit, per-epoch losses, loss weights,\n"
    "                 validation metrics, wall time, samples/s, resident memory\n"
    "                 (rss_mb) per epoch; dmmp report reads it\n"
    "  train.log      the log of the run\n";

static const char train_notes[] =
    "SIGINT or SIGTERM finishes the current step, writes last.h5 and prints the\n"
    "command that resumes (the command line as invoked, with --resume). Exit status: 0 done (also early-stopped), 1 failure,\n"
    "2 bad usage, configuration or data, 130 interrupted.\n";

/* Set by the signal watcher (cli/stop_signals.h); the training loop polls it between steps. */
static volatile sig_atomic_t stop_requested;

/* Appends arg to cmd at *at, quoted for a shell when it needs to be. */
static void append_shell_word(char *cmd, size_t len, size_t *at, const char *arg)
{
    int plain = arg[0] != 0;
    for (const char *p = arg; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=,:@+", *p)) plain = 0;
    if (plain) {
        *at += (size_t)snprintf(cmd + *at, len - *at, "%s", arg);
        return;
    }
    cmd[(*at)++] = '\'';
    for (const char *p = arg; *p; p++) {
        if (*p == '\'') *at += (size_t)snprintf(cmd + *at, len - *at, "'\\''");
        else cmd[(*at)++] = *p;
    }
    cmd[(*at)++] = '\'';
    cmd[*at] = 0;
}

/* The command line again, as it was invoked (the program as the shell was
 * given it: ./dmmp, a full path or dmmp on the PATH), with --resume added. */
static char *resume_command(int argc, char **argv)
{
    const char *program = program_invocation_name && *program_invocation_name ? program_invocation_name : "dmmp";
    size_t len = 64 + 4 * strlen(program);
    for (int i = 0; i < argc; i++) len += 4 * strlen(argv[i]) + 3;
    char *cmd = malloc(len);
    if (!cmd) return NULL;
    size_t at = 0;
    cmd[0] = 0;
    if (dist_size() > 1) at = (size_t)snprintf(cmd, len, "mpirun -np %d ", dist_size());
    append_shell_word(cmd, len, &at, program);
    int has_resume = 0;
    for (int i = 0; i < argc; i++) {
        has_resume |= !strcmp(argv[i], "--resume");
        cmd[at++] = ' ';
        cmd[at] = 0;
        append_shell_word(cmd, len, &at, argv[i]);
    }
    if (!has_resume) snprintf(cmd + at, len - at, " --resume");
    return cmd;
}

/* "experiments/configs/dmmp.ini" -> "dmmp". */
static void base_name(const char *path, char *out, size_t len)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(out, len, "%s", b);
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = 0;
}

int cmd_train(int argc, char **argv)
{
    const char *config_path = NULL, *data = NULL, *out = NULL, *variant = NULL;
    trainer_options o;
    trainer_options_default(&o);
    int64_t seed = (int64_t)o.seed;
    cli_list sets, none;
    const cli_option options[] = {
        CLI_OPT_STRING_REQ("--config", &config_path, "C.ini", "experiment configuration (see dmmp config keys)"),
        CLI_OPT_STRING("--data", &data, "F.h5", "dataset (default: data.path of the config)"),
        CLI_OPT_STRING_REQ("--out", &out, "DIR",
                           "run directory (created with its parents; a fresh run refuses one\n"
                           "holding last.h5, and one that fails before its first epoch ends\n"
                           "removes what it created)"),
        CLI_OPT_LIST("--set", &sets, "k=v", "override one key, applied after C.ini, in order"),
        CLI_OPT_INT64("--seed", &seed, "S", "train.seed", 0, 2147483647.0),
        CLI_OPT_INT("--threads", &o.threads, "N", "train.threads (OpenMP threads; 0: the free processors)", 0, 1024),
        CLI_OPT_FLAG("--resume", &o.resume,
                     "continue the run in DIR (which must exist) from last.h5; the\n"
                     "configuration must match except train.epochs, train.patience,\n"
                     "train.log_every, train.threads (same seed and threads give the\n"
                     "same weights as an uninterrupted run, bit for bit)"),
        CLI_OPT_STRING("--variant", &variant, "NAME", "name of the run in reports (default: C.ini's base name)"),
    };
    const cli_command cmd = {"train", train_usage, train_about, train_notes, options,
                             (int)(sizeof options / sizeof options[0]), 0, 0, NULL};
    int rc = cli_parse(&cmd, argc, argv, &none);
    if (rc != CLI_PARSED) return rc;
    cli_list_free(&none);
    o.seed = seed;
    dmmp_config cfg;
    dmmp_status s = config_load(&cfg, config_path);
    for (int i = 0; s == DMMP_OK && i < sets.n; i++) s = config_set(&cfg, sets.items[i], "--set");
    cli_list_free(&sets);
    if (s == DMMP_OK) s = config_validate(&cfg);
    if (s != DMMP_OK) {
        cli_report_error("train", s);
        return 2; /* whatever went wrong, it is the configuration the user gave */
    }
    char default_variant[TRAINER_VARIANT_MAX + 1];
    if (!variant && !o.resume) {
        base_name(config_path, default_variant, sizeof default_variant);
        variant = default_variant;
    }

    o.config = &cfg;
    o.config_origin = config_path;
    o.data_path = data;
    o.out_dir = out;
    o.variant = variant;
    o.stop_flag = &stop_requested;
    char *resume = resume_command(argc, argv);
    o.resume_command = resume;

    /* Before any thread starts: they all inherit the blocked mask. */
    if (stop_signals_start(&stop_requested) != 0) log_warn("cannot watch SIGINT and SIGTERM: Ctrl-C stops without saving");
    trainer_summary sum;
    s = trainer_run(&o, &sum);
    stop_signals_stop();

    int code = 0;
    if (s == DMMP_EINTERRUPTED) {
        fprintf(stderr, "dmmp train: interrupted after %lld steps; %s/last.h5 holds the state. Resume with:\n  %s\n",
                (long long)sum.steps, out, resume ? resume : "the same command with --resume");
        code = 130;
    } else if (s != DMMP_OK) {
        code = cli_report_error("train", s);
    } else {
        printf("trained %d epochs (%lld steps)%s, %.0f samples/s, %.1f s; best epoch %d in %s/checkpoint.h5\n",
               sum.epochs_done, (long long)sum.steps, sum.early_stopped ? ", stopped early" : "",
               sum.samples_per_second, sum.wall_seconds, sum.best_epoch, out);
    }
    free(resume);
    return code;
}
