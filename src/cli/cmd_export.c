/* dmmp export vectors|predictions: a trained run's retrieval vectors and
 * per-impression predictions as files other tools read (numpy, h5py, FAISS,
 * any CSV reader). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/run_input.h"
#include "core/atomic_file.h"
#include "core/clock.h"
#include "data/dataset.h"
#include "data/file_kind.h"
#include "eval/eval_run.h"
#include "eval/export_predictions.h"
#include "eval/export_vectors.h"
#include "train/trainer.h"

static const char vectors_usage[] =
    "usage: dmmp export vectors --run DIR --data F.h5 --out PREFIX [--which checkpoint|last] [--format npy|h5]";

static const char vectors_about[] =
    "Writes the item corpus vectors and the user query vectors that dmmp retrieve\n"
    "searches, float32, one row per item (every item of the corpus, ascending\n"
    "index) and per user (every user with a sample in some split, ascending\n"
    "index), with each row's index and raw id:\n"
    "  two_tower:          items v_c, users u (k floats);\n"
    "  three_tower, dmmp:  items [v_c, v_v], users [w_c u, w_v u] (2k floats;\n"
    "                      w the user's preference gate, 0.5 and 0.5 when fixed);\n"
    "each tower output L2-normalised when student.l2norm is on. The score dmmp\n"
    "retrieve ranks by is the inner product of a user row and an item row, so an\n"
    "exact inner-product index (FAISS IndexFlatIP) over the items, queried with the\n"
    "users, returns its top K.\n"
    "npy: PREFIX.items.npy, PREFIX.items_index.npy, PREFIX.items_raw_id.npy and the\n"
    "same three for users (numpy.load reads them). h5: PREFIX.h5 (PREFIX itself when\n"
    "it ends in .h5) with /items/{vector,index,raw_id}, /users/{vector,index,raw_id}\n"
    "and attributes naming the variant, dimension, scoring rule, run and dataset.\n"
    "teacher_only has no towers: it is refused (exit 2).\n"
    "Exit: 0 done, 1 failure while working, 2 bad usage or input.\n";

static const char predictions_usage[] =
    "usage: dmmp export predictions --run DIR --data F.h5 --out F.csv|F.h5 [--split test] [--which checkpoint|last]";

static const char predictions_about[] =
    "Writes one row per impression of the split (file order): row, user,\n"
    "user_raw_id, item, item_raw_id, click, conversion, and every probability the\n"
    "model has: teacher_pctr, teacher_pcvr, teacher_pctcvr (teacher_only, dmmp);\n"
    "student_pctr (tower models), student_pcvr, student_pctcvr, student_pf (the\n"
    "fused sigmoid(w_c s_c + w_v s_v + b_f)), gate_wc, gate_wv (three_tower, dmmp).\n"
    "The AUCs of these columns are the ones dmmp eval reports (auc_cvr over the\n"
    "clicked rows). F.csv: a CSV with a header line; F.h5: one dataset per column.\n"
    "Exit: 0 done, 1 failure while working, 2 bad usage or input (a split with no\n"
    "rows included).\n";

typedef struct export_args {
    const char *run, *data, *out, *which, *format, *split;
} export_args;

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && !strcmp(s + n - m, tail);
}

/* The checks every export makes before any work; 0 or the exit status. */
static int check_run_and_data(const char *cmd, export_args *a)
{
    if (!strcmp(a->which, "best")) a->which = "checkpoint";
    return cli_check_run_input(cmd, a->run, a->which, a->data);
}

static int open_run(const char *cmd, const export_args *a, dataset **d, run_handle *h)
{
    return cli_open_run_input(cmd, a->run, a->which, a->data, d, h);
}

static long file_bytes(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int export_vectors_cmd(int argc, char **argv)
{
    const char *cmd = "export vectors";
    export_args a = {NULL, NULL, NULL, "checkpoint", "npy", NULL};
    const cli_option options[] = {
        CLI_OPT_STRING_REQ("--run", &a.run, "DIR", "the run directory (the --out of dmmp train)"),
        CLI_OPT_STRING_REQ("--data", &a.data, "F.h5", "the dataset (its corpus and users)"),
        CLI_OPT_STRING_REQ("--out", &a.out, "PREFIX", "where the files go (PREFIX.items.npy, ... or PREFIX.h5)"),
        CLI_OPT_CHOICE("--which", &a.which, "checkpoint|last",
                       "DIR/checkpoint.h5, the best epoch (default; 'best' says the same), or DIR/last.h5",
                       "checkpoint|best|last"),
        CLI_OPT_CHOICE("--format", &a.format, "npy|h5", "NumPy .npy files (default) or one HDF5 file", "npy|h5"),
    };
    const cli_command c = {cmd, vectors_usage, vectors_about, NULL, options, 5, 0, 0, NULL};
    cli_list none;
    int rc = cli_parse(&c, argc, argv, &none);
    if (rc != CLI_PARSED) return rc;
    cli_list_free(&none);
    if ((rc = check_run_and_data(cmd, &a))) return rc;
    export_vectors_request rq = {a.out, !strcmp(a.format, "h5") ? EXPORT_VECTORS_H5 : EXPORT_VECTORS_NPY, NULL,
                                 a.run, a.which, a.data};
    export_vectors_summary sum;
    dmmp_status s = export_vectors_paths(&rq, &sum);
    for (int i = 0; s == DMMP_OK && i < sum.n_files; i++) s = atomic_check_target("--out", sum.files[i]);
    if (s != DMMP_OK) return cli_report_error(cmd, s);
    dataset *d = NULL;
    run_handle h;
    memset(&h, 0, sizeof h);
    if ((rc = open_run(cmd, &a, &d, &h))) return rc;
    rq.variant = h.variant;
    double t0 = clock_wall_seconds();
    s = export_vectors(&h.model, &h.feat, d, &rq, &sum);
    if (s == DMMP_OK) {
        printf("%s (%s.h5): %lld item and %lld user vectors of dim %d in %.2f s\n", h.variant, a.which,
               (long long)sum.n_items, (long long)sum.n_users, sum.dim, clock_wall_seconds() - t0);
        for (int i = 0; i < sum.n_files; i++) printf("  %s (%ld bytes)\n", sum.files[i], file_bytes(sum.files[i]));
    }
    rc = s == DMMP_OK ? 0 : cli_report_error(cmd, s);
    run_close(&h);
    dataset_close(d);
    return rc;
}

static int export_predictions_cmd(int argc, char **argv)
{
    const char *cmd = "export predictions";
    export_args a = {NULL, NULL, NULL, "checkpoint", NULL, "test"};
    const cli_option options[] = {
        CLI_OPT_STRING_REQ("--run", &a.run, "DIR", "the run directory (the --out of dmmp train)"),
        CLI_OPT_STRING_REQ("--data", &a.data, "F.h5", "the dataset"),
        CLI_OPT_STRING_REQ("--out", &a.out, "F.csv|F.h5", "the output file; its extension picks CSV or HDF5"),
        CLI_OPT_STRING("--split", &a.split, "NAME", "train, val or test (default test)"),
        CLI_OPT_CHOICE("--which", &a.which, "checkpoint|last",
                       "DIR/checkpoint.h5, the best epoch (default; 'best' says the same), or DIR/last.h5",
                       "checkpoint|best|last"),
    };
    const cli_command c = {cmd, predictions_usage, predictions_about, NULL, options, 5, 0, 0, NULL};
    cli_list none;
    int rc = cli_parse(&c, argc, argv, &none);
    if (rc != CLI_PARSED) return rc;
    cli_list_free(&none);
    export_table_format fmt;
    if (ends_with(a.out, ".csv")) fmt = EXPORT_TABLE_CSV;
    else if (ends_with(a.out, ".h5")) fmt = EXPORT_TABLE_H5;
    else return cli_usage_error(cmd, "--out %s: give a file name ending in .csv or .h5", a.out);
    data_split split;
    dmmp_status s = eval_split_parse(a.split, &split);
    if (s != DMMP_OK) return cli_report_error(cmd, dmmp_fail_prefix(s, "--split"));
    if ((rc = check_run_and_data(cmd, &a))) return rc;
    s = atomic_check_target("--out", a.out);
    if (s != DMMP_OK) return cli_report_error(cmd, s);
    dataset *d = NULL;
    run_handle h;
    memset(&h, 0, sizeof h);
    if ((rc = open_run(cmd, &a, &d, &h))) return rc;
    export_predictions_request rq = {a.out, fmt, split, a.split, h.variant, a.run, a.which, a.data};
    int64_t rows = 0;
    double t0 = clock_wall_seconds();
    s = export_predictions(&h.model, &h.feat, d, &rq, &rows);
    if (s == DMMP_OK)
        printf("%s (%s.h5): %lld predictions of split %s in %.2f s\n  %s (%ld bytes)\n", h.variant, a.which,
               (long long)rows, a.split, clock_wall_seconds() - t0, a.out, file_bytes(a.out));
    rc = s == DMMP_OK ? 0 : cli_report_error(cmd, s);
    run_close(&h);
    dataset_close(d);
    return rc;
}

static void export_usage(FILE *out)
{
    fprintf(out, "usage: dmmp export vectors|predictions [options]\n\n"
                 "subcommands:\n"
                 "  vectors      the item and user vectors retrieval searches (npy or h5)\n"
                 "  predictions  every probability the model has, per impression of a split (csv or h5)\n"
                 "\n'dmmp export <subcommand> --help' describes its options.\n");
}

int cmd_export(int argc, char **argv)
{
    if (argc < 2) {
        export_usage(stderr);
        return 2;
    }
    if (cli_is_help(argv[1])) {
        export_usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "vectors")) return export_vectors_cmd(argc - 1, argv + 1);
    if (!strcmp(argv[1], "predictions")) return export_predictions_cmd(argc - 1, argv + 1);
    fprintf(stderr, "dmmp export: unknown subcommand '%s'\n\n", argv[1]);
    export_usage(stderr);
    return 2;
}
