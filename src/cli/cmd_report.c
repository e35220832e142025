/* dmmp report: one table (mean ± std over seeds, best marked, paired
 * t-tests against dmmp) from several runs' results.h5. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "data/dataset_hash.h"
#include "eval/output_file.h"
#include "eval/report.h"
#include "eval/run_compare.h"
#include "eval/run_set.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: dmmp report DIR|FILE... [--format md|latex|csv] [--metrics LIST] [--split NAME]\n"
            "                   [--baseline VARIANT] [--data F.h5] [--out FILE]\n\n"
            "Reads DIR/results.h5 (or FILE) of every run; a DIR without results.h5 (a\n"
            "driver's --out folder) stands for every run below it. Groups the runs by\n"
            "variant and prints one table: a row per variant, a column per metric, each cell the mean\n"
            "and sample standard deviation over seeds; the best value per column is bold\n"
            "(higher is better, lower for logloss and clickbait@K). Every other variant is\n"
            "compared with the baseline by a two-sided paired t-test over the seeds both\n"
            "have (p shown; n/a with fewer than 2 pairs or no variance; a variant none of\n"
            "whose p-values is defined, as with one seed, gets no p row). In CSV an\n"
            "undefined mean, std or p is an empty field.\n\n"
            "  --format F     md (default), latex (booktabs) or csv\n"
            "  --metrics L    comma-separated columns, in this order; default: the metrics\n"
            "                 every run has, in the order auc_*, gauc_ctr, logloss_*, then\n"
            "                 click_recall@K, purchase_recall@K, click_ndcg@K,\n"
            "                 purchase_ndcg@K, hitrate@K, clickbait@K, exp_conversions@K\n"
            "                 (K ascending), then others alphabetically\n"
            "  --split NAME   evaluation split to report (default test)\n"
            "  --baseline V   variant the others are tested against (default dmmp when a run\n"
            "                 is dmmp; a V that no run is: exit 2 naming the variants)\n"
            "  --data F.h5    refuse any run not trained and evaluated on F.h5 (by content\n"
            "                 hash; the experiment drivers pass their dataset)\n"
            "  --out FILE     write FILE atomically instead of printing to stdout\n\n"
            "Runs of one table must share the training dataset and, for the split, the\n"
            "evaluation setting (dataset, checkpoint, eval.max_users) that dmmp eval\n"
            "records under /eval/<split>; a mix is refused naming two runs that differ\n"
            "(exit 2).\n");
}

/* Takes the value of option argv[*i]; 0 when it is missing. */
static const char *option_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "dmmp report: %s needs a value (see dmmp report --help)\n", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int cmd_report(int argc, char **argv)
{
    const char *format_text = "md", *metrics = NULL, *split = "test", *baseline = NULL, *out = NULL, *data = NULL;
    const char **paths = calloc((size_t)argc + 1, sizeof *paths);
    if (!paths) return cli_report_error("report", dmmp_fail(DMMP_ENOMEM, "out of memory"));
    size_t n_paths = 0;
    for (int i = 1; i < argc; i++) {
        const char **slot = NULL;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            free(paths);
            return 0;
        }
        if (!strcmp(argv[i], "--format")) slot = &format_text;
        else if (!strcmp(argv[i], "--metrics")) slot = &metrics;
        else if (!strcmp(argv[i], "--split")) slot = &split;
        else if (!strcmp(argv[i], "--baseline")) slot = &baseline;
        else if (!strcmp(argv[i], "--out")) slot = &out;
        else if (!strcmp(argv[i], "--data")) slot = &data;
        else if (!strncmp(argv[i], "--", 2)) {
            fprintf(stderr, "dmmp report: unknown option '%s' (see dmmp report --help)\n", argv[i]);
            free(paths);
            return 2;
        } else {
            paths[n_paths++] = argv[i];
            continue;
        }
        if (!(*slot = option_value(argc, argv, &i))) {
            free(paths);
            return 2;
        }
    }
    if (n_paths == 0) {
        usage(stderr);
        free(paths);
        return 2;
    }
    report_format format;
    dmmp_status s = report_parse_format(format_text, &format);
    run_set runs = {0};
    report_table table = {0};
    char *text = NULL;
    if (s == DMMP_OK && out) s = atomic_check_target("--out", out);
    char hash[DATASET_HASH_LEN];
    if (s == DMMP_OK && data) s = dataset_content_hash(data, hash);
    if (s == DMMP_OK) s = run_set_load(&runs, paths, n_paths);
    if (s == DMMP_OK)
        s = runs_check_comparable(runs.runs, (const char *const *)runs.sources, runs.n, split, data ? hash : NULL);
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
    free(paths);
    return s == DMMP_OK ? 0 : cli_report_error("report", s);
}
