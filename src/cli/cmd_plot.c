/* dmmp plot: training curves and Recall@K curves of several runs in one PNG. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "eval/plot.h"
#include "eval/run_set.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: dmmp plot DIR|FILE... --out F.png [--split NAME] [--gnuplot PROGRAM]\n\n"
            "Reads DIR/results.h5 (or FILE) of every run and draws one PNG with gnuplot:\n"
            "per variant the training loss of every term per epoch, the learned loss\n"
            "weights, validation AUC per epoch (curves are means over seeds), and click\n"
            "and purchase Recall@K against K with the std over seeds as error bars.\n\n"
            "  --out F.png      the image to write (replaced atomically)\n"
            "  --split NAME     evaluation split of the Recall@K panels (default test)\n"
            "  --gnuplot PROG   gnuplot program to run (default: gnuplot on PATH;\n"
            "                   Debian/Ubuntu: apt-get install gnuplot-nox)\n");
}

int cmd_plot(int argc, char **argv)
{
    const char *out = NULL;
    plot_options options = {NULL, "test"};
    const char **paths = calloc((size_t)argc + 1, sizeof *paths);
    if (!paths) return cli_report_error("plot", dmmp_fail(DMMP_ENOMEM, "out of memory"));
    size_t n_paths = 0;
    for (int i = 1; i < argc; i++) {
        const char **slot = NULL;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            free(paths);
            return 0;
        }
        if (!strcmp(argv[i], "--out")) slot = &out;
        else if (!strcmp(argv[i], "--split")) slot = &options.split;
        else if (!strcmp(argv[i], "--gnuplot")) slot = &options.gnuplot;
        else if (!strncmp(argv[i], "--", 2)) {
            fprintf(stderr, "dmmp plot: unknown option '%s' (see dmmp plot --help)\n", argv[i]);
            free(paths);
            return 2;
        } else {
            paths[n_paths++] = argv[i];
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "dmmp plot: %s needs a value (see dmmp plot --help)\n", argv[i]);
            free(paths);
            return 2;
        }
        *slot = argv[++i];
    }
    if (n_paths == 0 || !out) {
        fprintf(stderr, "dmmp plot: %s\n\n", n_paths == 0 ? "no run directories given" : "--out F.png is required");
        usage(stderr);
        free(paths);
        return 2;
    }
    run_set runs = {0};
    /* checked first: gnuplot would otherwise report a missing directory in
     * its own terms, after the runs are read */
    dmmp_status s = atomic_check_target("--out", out);
    if (s == DMMP_OK) s = run_set_load(&runs, paths, n_paths);
    if (s == DMMP_OK) s = plot_runs(runs.runs, runs.n, out, &options);
    run_set_free(&runs);
    free(paths);
    if (s == DMMP_OK) return 0;
    int code = cli_report_error("plot", s);
    /* A missing gnuplot is the machine's fault, not bad input: exit 1. */
    return s == DMMP_EUNSUPPORTED ? 1 : code;
}
