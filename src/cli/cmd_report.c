/* dmmp report: one table (mean ± std over seeds, best marked, paired
 * t-tests against dmmp) from several runs' results.h5. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/atomic_file.h"
#include "data/dataset_hash.h"
#include "eval/output_file.h"
#include "eval/report.h"
#include "eval/run_compare.h"
#include "eval/run_set.h"

static const char report_usage[] =
    "usage: dmmp report DIR|FILE... [--format md|latex|csv] [--metrics LIST] [--split NAME]\n"
    "                   [--baseline VARIANT] [--data F.h5] [--out FILE] [--mean-gate-rows]";

static const char report_about[] =
    "Reads DIR/results.h5 (or FILE) of every run; a DIR without results.h5 (a\n"
    "driver's --out folder) stands for every run below it. Groups the runs by\n"
    "variant and prints one table: a row per variant, a column per metric, each cell the mean\n"
    "and sample standard deviation over seeds; the best value per column is bold\n"
    "(higher is better, lower for logloss and clickbait@K). Every other variant is\n"
    "compared with the baseline by a two-sided paired t-test over the seeds both\n"
    "have (p shown; n/a with fewer than 2 pairs or no variance; a variant none of\n"
    "whose p-values is defined, as with one seed, gets no p row). In CSV an\n"
    "undefined mean, std or p is an empty field.\n";

static const char report_notes[] =
    "Runs of one table must share the training dataset and, for the split, the\n"
    "evaluation setting (dataset, checkpoint, eval.max_users) that dmmp eval\n"
    "records under /eval/<split>; a mix is refused naming two runs that differ\n"
    "(exit 2).\n";

int cmd_report(int argc, char **argv)
{
    const char *format_text = "md", *metrics = NULL, *split = "test", *baseline = NULL, *out = NULL, *data = NULL;
    int mean_gate_rows = 0;
    const cli_option options[] = {
        CLI_OPT_STRING("--format", &format_text, "F", "md (default), latex (booktabs) or csv"),
        CLI_OPT_STRING("--metrics", &metrics, "L",
                       "comma-separated columns, in this order; default: the metrics\n"
                       "every run has, in the order auc_*, gauc_ctr, logloss_*, then\n"
                       "click_recall@K, purchase_recall@K, click_ndcg@K,\n"
                       "purchase_ndcg@K, hitrate@K, clickbait@K, exp_conversions@K\n"
                       "(K ascending), then others alphabetically"),
        CLI_OPT_STRING("--split", &split, "NAME", "evaluation split to report (default test)"),
        CLI_OPT_STRING("--baseline", &baseline, "V",
                       "variant the others are tested against (default dmmp when a run\n"
                       "is dmmp; a V that no run is: exit 2 naming the variants)"),
        CLI_OPT_STRING("--data", &data, "F.h5",
                       "refuse any run not trained and evaluated on F.h5 (by content\n"
                       "hash; the experiment drivers pass their dataset)"),
        CLI_OPT_STRING("--out", &out, "FILE", "write FILE atomically instead of printing to stdout"),
        CLI_OPT_FLAG("--mean-gate-rows", &mean_gate_rows,
                     "add a row <variant>_mean_gate for every run with a learned gate:\n"
                     "the same model with every user's gate at the users' mean (its\n"
                     "*_mean_gate metrics), paired by seed with the run itself"),
    };
    const cli_command cmd = {"report", report_usage, report_about, report_notes, options, 7, 1, -1,
                             "run directories"};
    cli_list paths;
    int rc = cli_parse(&cmd, argc, argv, &paths);
    if (rc != CLI_PARSED) return rc;
    size_t n_paths = (size_t)paths.n;
    report_format format;
    dmmp_status s = report_parse_format(format_text, &format);
    run_set runs = {0};
    report_table table = {0};
    char *text = NULL;
    if (s == DMMP_OK && out) s = atomic_check_target("--out", out);
    char hash[DATASET_HASH_LEN];
    if (s == DMMP_OK && data) s = dataset_content_hash(data, hash);
    if (s == DMMP_OK) s = run_set_load(&runs, paths.items, n_paths);
    if (s == DMMP_OK)
        s = runs_check_comparable(runs.runs, (const char *const *)runs.sources, runs.n, split, data ? hash : NULL);
    if (s == DMMP_OK && mean_gate_rows) s = run_set_add_suffix_rows(&runs, split, "_mean_gate");
    if (s == DMMP_OK)
        s = report_build(&table, runs.runs, (const char *const *)runs.sources, runs.n, split, metrics, baseline);
    if (s == DMMP_OK) s = report_render(&table, format, &text);
    if (s == DMMP_OK) {
        if (out) s = output_write_atomic(out, text, strlen(text));
        else fputs(text, stdout);
    }
    free(text);
    report_table_free(&table);
    run_set_free(&runs);
    cli_list_free(&paths);
    return s == DMMP_OK ? 0 : cli_report_error("report", s);
}
