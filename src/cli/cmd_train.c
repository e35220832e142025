/* dmmp train: one training run into a run directory (train/trainer.h). */
#define _GNU_SOURCE /* program_invocation_name: the program as invoked, for the resume command */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/stop_signals.h"
#include "core/log.h"
#include "config/config.h"
#include "train/trainer.h"

static const char train_help[] =
    "usage: dmmp train --config C.ini --data F.h5 --out DIR [--set section.key=value ...]\n"
    "                  [--seed S] [--threads N] [--resume] [--variant NAME]\n"
    "\n"
    "Trains the model C.ini describes on the train split of F.h5, validating on the\n"
    "val split after every epoch, and writes into DIR:\n"
    "  last.h5        the whole state after the latest epoch or interruption\n"
    "  checkpoint.h5  the best epoch by train.early_stopping_metric\n"
    "  results.h5     config, variant, seed, commit, per-epoch losses, loss weights,\n"
    "                 validation metrics, wall time, samples/s, resident memory\n"
    "                 (rss_mb) per epoch; dmmp report reads it\n"
    "  train.log      the log of the run\n"
    "\n"
    "  --config C.ini   experiment configuration (see dmmp config keys)\n"
    "  --data F.h5      dataset (default: data.path of the config)\n"
    "  --out DIR        run directory (created with its parents; a fresh run refuses one\n"
    "                   holding last.h5, and one that fails before its first epoch ends\n"
    "                   removes what it created)\n"
    "  --set k=v        override one key, applied after C.ini, in order\n"
    "  --seed S         train.seed\n"
    "  --threads N      train.threads (OpenMP threads; 0: all processors)\n"
    "  --resume         continue the run in DIR (which must exist) from last.h5; the\n"
    "                   configuration must match except train.epochs, train.patience,\n"
    "                   train.log_every, train.threads (same seed and threads give the\n"
    "                   same weights as an uninterrupted run, bit for bit)\n"
    "  --variant NAME   name of the run in reports (default: C.ini's base name)\n"
    "\n"
    "SIGINT or SIGTERM finishes the current step, writes last.h5 and prints the\n"
    "command that resumes (the command line as invoked, with --resume). Exit status: 0 done (also early-stopped), 1 failure,\n"
    "2 bad usage, configuration or data, 130 interrupted.\n";

/* Set by the signal watcher (cli/stop_signals.h); the training loop polls it between steps. */
static volatile sig_atomic_t stop_requested;

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "dmmp train: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(dmmp train --help describes the options)\n");
    return 2;
}

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
    size_t len = 32 + 4 * strlen(program);
    for (int i = 0; i < argc; i++) len += 4 * strlen(argv[i]) + 3;
    char *cmd = malloc(len);
    if (!cmd) return NULL;
    size_t at = 0;
    cmd[0] = 0;
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

static int parse_long(const char *opt, const char *v, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || !*v || *end || x < lo || x > hi) {
        fprintf(stderr, "dmmp train: %s must be an integer in [%ld, %ld], not '%s'\n", opt, lo, hi, v);
        return 0;
    }
    *out = x;
    return 1;
}

int cmd_train(int argc, char **argv)
{
    const char *config_path = NULL, *data = NULL, *out = NULL, *variant = NULL;
    const char **sets = calloc((size_t)argc + 1, sizeof *sets);
    int n_sets = 0;
    trainer_options o;
    trainer_options_default(&o);
    if (!sets) return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(train_help, stdout);
            free(sets);
            return 0;
        }
        if (!strcmp(a, "--resume")) {
            o.resume = 1;
            continue;
        }
        int known = !strcmp(a, "--config") || !strcmp(a, "--data") || !strcmp(a, "--out") || !strcmp(a, "--set") ||
                    !strcmp(a, "--seed") || !strcmp(a, "--threads") || !strcmp(a, "--variant");
        if (!known) {
            free(sets);
            return usage_error("unknown option '%s'", a);
        }
        if (i + 1 >= argc) {
            free(sets);
            return usage_error("%s needs a value", a);
        }
        const char *v = argv[++i];
        long x = 0;
        if (!strcmp(a, "--config")) config_path = v;
        else if (!strcmp(a, "--data")) data = v;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--variant")) variant = v;
        else if (!strcmp(a, "--set")) sets[n_sets++] = v;
        else if (!strcmp(a, "--seed")) {
            if (!parse_long(a, v, 0, 2147483647L, &x)) {
                free(sets);
                return 2;
            }
            o.seed = x;
        } else {
            if (!parse_long(a, v, 0, 1024, &x)) {
                free(sets);
                return 2;
            }
            o.threads = (int)x;
        }
    }
    if (!config_path || !out) {
        free(sets);
        return usage_error("%s", "--config and --out are required");
    }
    dmmp_config cfg;
    dmmp_status s = config_load(&cfg, config_path);
    for (int i = 0; s == DMMP_OK && i < n_sets; i++) s = config_set(&cfg, sets[i], "--set");
    free(sets);
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
