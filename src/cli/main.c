/* dmmp: the command-line entry point; dispatches to one subcommand. */
#include <config.h> /* autoconf's PACKAGE_VERSION */
#include <hdf5.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/dist.h"
#include "core/log.h"
#include "core/omp_wait.h"
#include "simd/isa.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
    int ranks; /* 1: runs on several MPI processes (README: "Several processes") */
} command;

static const command commands[] = {
    {"env", cmd_env, "print the chosen ISA, CPU features, library versions and threads", 1},
    {"config", cmd_config, "show the resolved configuration (defaults, INI file, --set overrides)", 0},
    {"bench", cmd_bench, "benchmarks: gemm ceiling, training step, retrieval, data path", 1},
    {"data", cmd_data, "dataset tools: synth, inspect, verify, import, gen-aliccp-raw", 0},
    {"report", cmd_report, "tabulate runs: mean ± std over seeds per variant, paired t-tests vs dmmp", 0},
    {"plot", cmd_plot, "draw training curves and Recall@K curves of runs into one PNG (gnuplot)", 0},
    {"train", cmd_train, "train a variant into a run directory (checkpoints, results, resume)", 1},
    {"eval", cmd_eval, "evaluate a run: ranking metrics and full-corpus retrieval", 1},
    {"retrieve", cmd_retrieve, "top items for one user from a trained run", 1},
    {"export", cmd_export, "write a run's retrieval vectors (npy, h5) or per-impression predictions (csv, h5)", 0},
};

/* Runs a command on the ranks of an MPI job: rank 0 speaks (the others'
 * standard output is dropped and their log shows errors only), and a rank
 * that fails ends the whole job, so none waits in a collective for it. */
static int run_command(const command *c, int argc, char **argv)
{
    if (dist_size() > 1 && !c->ranks) {
        if (dist_is_root())
            fprintf(stderr, "dmmp %s: does not run on several processes (started with %d); run it without mpirun\n",
                    c->name, dist_size());
        dist_finalize();
        return 2;
    }
    if (dist_size() > 1 && !dist_is_root()) {
        if (!freopen("/dev/null", "w", stdout)) dist_abort(1, "cannot silence standard output");
        log_set_level(LOG_ERROR);
    }
    int rc = c->run(argc, argv);
    /* 130: stopped on request, which the ranks agree on (every rank stops
     * at the same step and returns it), so nobody is left waiting. */
    if (rc != 0 && rc != 130 && dist_size() > 1) {
        char msg[96];
        snprintf(msg, sizeof msg, "dmmp %s exited %d: ending every rank", c->name, rc);
        dist_abort(rc, msg);
    }
    dist_finalize();
    return rc;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: dmmp <command> [options]\n       dmmp --version\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-15s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'dmmp <command> --help' describes a command's options.\n"
                 "DMMP_ISA=scalar|avx2|avx512 forces a kernel path; DMMP_LOG=debug|info|warn|error|quiet.\n");
}

int cli_exit_code(dmmp_status s)
{
    switch (s) {
    case DMMP_OK: return 0;
    case DMMP_EINVAL:
    case DMMP_EFORMAT:
    case DMMP_EUNSUPPORTED: return 2;
    case DMMP_EINTERRUPTED: return 130;
    default: return 1;
    }
}

int cli_report_error(const char *cmd, dmmp_status s)
{
    fprintf(stderr, "dmmp %s: %s\n", cmd, dmmp_errmsg());
    /* A bad argument (an option value, a path naming no file) is a usage
     * error: point to the usage. */
    if (s == DMMP_EINVAL) cli_print_help_hint(stderr, cmd);
    return cli_exit_code(s);
}

int main(int argc, char **argv)
{
    /* First: may re-execute the program with OMP_WAIT_POLICY=passive (core/omp_wait.h). */
    omp_wait_init(argv);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (cli_is_help(argv[1]) || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("dmmp %s\n", PACKAGE_VERSION);
        return 0;
    }
    /* A misspelt level is refused rather than silently read as the default. */
    if (log_level_from_env() != DMMP_OK) {
        fprintf(stderr, "dmmp: %s\n", dmmp_errmsg());
        return 2;
    }
    /* HDF5 1.10's H5Fclose that fails to flush (full disk, file size limit)
     * leaves a half-destroyed file id behind, and the library's exit-time
     * cleanup then dereferences it: a SIGSEGV after the error was reported.
     * Every file the framework opens is closed by its own code, so the
     * cleanup has nothing to do; it is turned off before HDF5 starts. */
    H5dont_atexit();
    dmmp_status s = isa_init();
    if (s != DMMP_OK) {
        fprintf(stderr, "dmmp: %s\n", dmmp_errmsg());
        return 2;
    }
    s = dist_init(&argc, &argv);
    if (s != DMMP_OK) {
        fprintf(stderr, "dmmp: %s\n", dmmp_errmsg());
        return 2;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return run_command(&commands[i], argc - 1, argv + 1);
    dist_finalize();
    fprintf(stderr, "dmmp: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
