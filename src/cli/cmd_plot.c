/* dmmp plot: training curves and Recall@K curves of several runs in one PNG. */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/atomic_file.h"
#include "eval/plot.h"
#include "eval/run_set.h"

int cmd_plot(int argc, char **argv)
{
    const char *out = NULL;
    plot_options options = {NULL, "test"};
    const cli_option table[] = {
        CLI_OPT_STRING_REQ("--out", &out, "F.png", "the image to write (replaced atomically)"),
        CLI_OPT_STRING("--split", &options.split, "NAME", "evaluation split of the Recall@K panels (default test)"),
        CLI_OPT_STRING("--gnuplot", &options.gnuplot, "PROG",
                       "gnuplot program to run (default: gnuplot on PATH;\n"
                       "Debian/Ubuntu: apt-get install gnuplot-nox)"),
    };
    const cli_command cmd = {
        "plot", "usage: dmmp plot DIR|FILE... --out F.png [--split NAME] [--gnuplot PROGRAM]",
        "Reads DIR/results.h5 (or FILE) of every run and draws one PNG with gnuplot:\n"
        "per variant the training loss of every term per epoch, the learned loss\n"
        "weights, validation AUC per epoch (curves are means over seeds), and click\n"
        "and purchase Recall@K against K with the std over seeds as error bars.\n",
        NULL, table, 3, 1, -1, "run directories"};
    cli_list paths;
    int rc = cli_parse(&cmd, argc, argv, &paths);
    if (rc != CLI_PARSED) return rc;
    size_t n_paths = (size_t)paths.n;
    run_set runs = {0};
    /* checked first: gnuplot would otherwise report a missing directory in
     * its own terms, after the runs are read */
    dmmp_status s = atomic_check_target("--out", out);
    if (s == DMMP_OK) s = run_set_load(&runs, paths.items, n_paths);
    if (s == DMMP_OK) s = plot_runs(runs.runs, runs.n, out, &options);
    run_set_free(&runs);
    cli_list_free(&paths);
    if (s == DMMP_OK) return 0;
    int code = cli_report_error("plot", s);
    /* A missing gnuplot is the machine's fault, not bad input: exit 1. */
    return s == DMMP_EUNSUPPORTED ? 1 : code;
}
