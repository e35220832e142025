/* dmmp data import <format> and dmmp data gen-aliccp-raw. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/atomic_file.h"
#include "core/log.h"
#include "data/gen_aliccp_raw.h"
#include "data/import.h"

static const char import_usage[] =
    "usage: dmmp data import aliccp-raw --skeleton-train A --common-train B --skeleton-test C\n"
    "                                   --common-test D --out F.h5 [common options]\n"
    "       dmmp data import aliccp-csv --train A.csv [--val B.csv] [--test C.csv | --test-fraction X]\n"
    "                                   --out F.h5 [common options]\n"
    "       dmmp data import aliexpress --train A.csv --test B.csv --out F.h5 [--user-fields LIST]\n"
    "                                   [common options]\n"
    "       dmmp data import csv --schema S.ini --train A.csv [--val B.csv] [--test C.csv] --out F.h5\n"
    "                            [--split random|time|leave-last-out|column:NAME] [common options]";

static const char import_about[] =
    "Imports a public dataset into the HDF5 layout. Vocabularies come from the training\n"
    "split; unseen ids at val/test map to 0. The file is written under a temporary name\n"
    "and renamed when complete. A split left without rows is reported as a warning.\n";

static const char import_notes[] =
    "csv: any CSV/TSV log of impressions; the schema file S.ini says which columns are\n"
    "  the labels, the user, item and time keys and the fields (README: \"Your own data\";\n"
    "  experiments/schemas/ has examples). Raw ids are kept (/vocab, /users/raw_id,\n"
    "  /items/raw_id). --split decides the splits of a single file: random (seeded, by\n"
    "  row; the default), time (the last --test-fraction of the time range to test, the\n"
    "  --val-fraction before it to val), leave-last-out (each user's last row by time to\n"
    "  test and, for users with 3 rows or more, the one before to val), column:NAME (a\n"
    "  column of train/val/test or 0/1/2). Without --val and --test the fractions default\n"
    "  to 0.1 each. time and leave-last-out read the file twice.\n"
    "aliexpress: --user-fields lists the user-side categorical columns (default\n"
    "  " ALIEXPRESS_DEFAULT_USER_FIELDS ";\n"
    "  the release does not label the columns, so this is our choice); the other\n"
    "  categoricals are item side. A user is the tuple of its user-side ids, an item the\n"
    "  tuple of its item-side ids.\n";

static int import_run(const char *format, import_options *o, const aliccp_raw_paths *raw, const char *train,
                      const char *val, const char *test, const char *user_fields, const char *schema,
                      const char *split);

/* "F=B" values of every --hash joined by commas: one spec for the importer. */
static char *join_hash_specs(const cli_list *hash)
{
    size_t len = 1;
    for (int i = 0; i < hash->n; i++) len += strlen(hash->items[i]) + 1;
    char *spec = malloc(len);
    if (!spec) return NULL;
    spec[0] = 0;
    for (int i = 0; i < hash->n; i++) {
        if (i) strcat(spec, ",");
        strcat(spec, hash->items[i]);
    }
    return spec;
}

int cmd_data_import(int argc, char **argv)
{
    import_options opt;
    import_options_default(&opt);
    aliccp_raw_paths raw = {0};
    const char *train = NULL, *val = NULL, *test = NULL, *user_fields = NULL, *on_error = "stop";
    const char *schema = NULL, *split = NULL;
    opt.val_fraction = -1; /* not given: each format's default */
    opt.test_fraction = -1;
    int64_t seed = (int64_t)opt.seed;
    int quiet = 0;
    cli_list hash, formats;
    const cli_option options[] = {
        CLI_OPT_STRING_REQ("--out", &opt.out, "F.h5", "the dataset to write"),
        CLI_OPT_STRING("--skeleton-train", &raw.skeleton_train, "A", "aliccp-raw: sample_skeleton_train.csv"),
        CLI_OPT_STRING("--common-train", &raw.common_train, "B", "aliccp-raw: common_features_train.csv"),
        CLI_OPT_STRING("--skeleton-test", &raw.skeleton_test, "C", "aliccp-raw: sample_skeleton_test.csv"),
        CLI_OPT_STRING("--common-test", &raw.common_test, "D", "aliccp-raw: common_features_test.csv"),
        CLI_OPT_STRING("--train", &train, "A.csv", "aliccp-csv, aliexpress: the training file"),
        CLI_OPT_STRING("--val", &val, "B.csv", "aliccp-csv: the validation file"),
        CLI_OPT_STRING("--test", &test, "C.csv", "aliccp-csv, aliexpress: the test file"),
        CLI_OPT_STRING("--user-fields", &user_fields, "LIST", "aliexpress: the user-side columns (below)"),
        CLI_OPT_STRING("--schema", &schema, "S.ini", "csv: the schema file"),
        CLI_OPT_STRING("--split", &split, "RULE", "csv: random (default), time, leave-last-out or column:NAME"),
        {"--val-fraction", CLI_DOUBLE, &opt.val_fraction, "X",
         "share of the training file sent to val (default 0.1; used only\nwithout --val)", 0, 1, 1, 0, NULL},
        {"--test-fraction", CLI_DOUBLE, &opt.test_fraction, "X",
         "aliccp-csv, csv without --test: share of the training file sent to\ntest (default: aliccp-csv 0, csv 0.1)",
         0, 1, 1, 0, NULL},
        CLI_OPT_INT64("--seed", &seed, "S", "decides which training rows go to val and test (default 1)", 0, 9e18),
        CLI_OPT_CHOICE("--on-error", &on_error, "stop|skip",
                       "stop at the first bad line (default) or skip and count", "stop|skip"),
        CLI_OPT_LIST("--hash", &hash, "F=B[,F=B]",
                     "hash field F into B buckets instead of an exact vocabulary\n(repeatable)"),
        CLI_OPT_INT("--threads", &opt.threads, "N", "parser threads (default: OpenMP's)", 1, 64),
        CLI_OPT_FLAG("--quiet", &quiet, "no progress lines"),
    };
    const cli_command cmd = {"data import", import_usage, import_about, import_notes, options,
                             (int)(sizeof options / sizeof options[0]), 1, 1, "format"};
    int rc = cli_parse(&cmd, argc, argv, &formats);
    if (rc != CLI_PARSED) return rc;
    const char *format = formats.items[0];
    cli_list_free(&formats);
    opt.seed = (uint64_t)seed;
    opt.progress = !quiet;
    opt.skip_bad_lines = !strcmp(on_error, "skip");
    char *hash_spec = NULL;
    if (hash.n > 0 && !(hash_spec = join_hash_specs(&hash))) {
        cli_list_free(&hash);
        return cli_report_error("data import", dmmp_fail(DMMP_ENOMEM, "out of memory for --hash"));
    }
    cli_list_free(&hash);
    opt.hash_spec = hash_spec;
    rc = import_run(format, &opt, &raw, train, val, test, user_fields, schema, split);
    free(hash_spec);
    return rc;
}

/* Checks the options of format and imports; the exit status. */
/* Parses --split for csv; 0 or the exit status. */
static int parse_split(const char *split, csv_import_args *a)
{
    a->split = IMPORT_SPLIT_RANDOM;
    if (!split || !strcmp(split, "random")) return 0;
    if (!strcmp(split, "time")) a->split = IMPORT_SPLIT_TIME;
    else if (!strcmp(split, "leave-last-out")) a->split = IMPORT_SPLIT_LEAVE_LAST_OUT;
    else if (!strncmp(split, "column:", 7) && split[7]) {
        a->split = IMPORT_SPLIT_COLUMN;
        a->split_column = split + 7;
    } else
        return cli_usage_error("data import", "--split '%s': expected random, time, leave-last-out or column:NAME",
                               split);
    return 0;
}

static int import_run(const char *format, import_options *o, const aliccp_raw_paths *raw, const char *train,
                      const char *val, const char *test, const char *user_fields, const char *schema,
                      const char *split)
{
    import_options opt = *o;
    int csv = !strcmp(format, "csv");
    if (strcmp(format, "aliccp-raw") && strcmp(format, "aliccp-csv") && strcmp(format, "aliexpress") && !csv)
        return cli_usage_error("data import", "unknown format '%s' (aliccp-raw, aliccp-csv, aliexpress, csv)", format);
    if (!csv && (schema || split))
        return cli_usage_error("data import", "--schema and --split are for the csv format");
    if (csv && opt.hash_spec)
        return cli_usage_error("data import", "csv: hash a field with hash_buckets in its [field] section, not --hash");
    int fraction_given = opt.test_fraction >= 0;
    if (opt.val_fraction < 0) opt.val_fraction = 0.1;
    if (opt.test_fraction < 0) opt.test_fraction = csv && !test ? 0.1 : 0.0;
    if (!(opt.val_fraction + opt.test_fraction < 1))
        return cli_usage_error("data import",
                               "--val-fraction + --test-fraction must be below 1 (no training rows left)");
    if (opt.test_fraction > 0 && strcmp(format, "aliccp-csv") && !csv)
        return cli_usage_error("data import", "--test-fraction is for aliccp-csv and csv without --test (%s has a test file)",
                               format);
    if (fraction_given && opt.test_fraction > 0 && test)
        return cli_usage_error("data import", "give --test or --test-fraction, not both");
    import_report rep;
    int rc;
    dmmp_status s = atomic_check_target("--out", opt.out);
    if (s != DMMP_OK) return cli_report_error("data import", s);
    if (!strcmp(format, "aliccp-raw")) {
        if (!raw->skeleton_train || !raw->common_train || !raw->skeleton_test || !raw->common_test)
            return cli_usage_error("data import", "aliccp-raw needs --skeleton-train, --common-train, --skeleton-test "
                                                  "and --common-test");
        s = import_aliccp_raw(raw, &opt, &rep);
    } else if (!strcmp(format, "aliccp-csv")) {
        if (!train) return cli_usage_error("data import", "aliccp-csv needs --train");
        s = import_aliccp_csv(train, val, test, &opt, &rep);
    } else if (!strcmp(format, "aliexpress")) {
        if (!train || !test) return cli_usage_error("data import", "aliexpress needs --train and --test");
        s = import_aliexpress(train, test, user_fields, &opt, &rep);
    } else {
        csv_import_args a = {schema, train, val, test, IMPORT_SPLIT_RANDOM, NULL, NULL, NULL};
        if (!schema || !train) return cli_usage_error("data import", "csv needs --schema and --train");
        if ((rc = parse_split(split, &a))) return rc;
        if (a.split != IMPORT_SPLIT_RANDOM && (val || test))
            return cli_usage_error("data import", "--split %s splits one file: give it without --val and --test", split);
        s = import_csv(&a, &opt, &rep);
    }
    if (s != DMMP_OK) return cli_report_error("data import", s);
    static const char *const split_names[] = {"train", "val", "test"};
    static const char *const split_hint[] = {"", " (give --val or a --val-fraction above 0)",
                                             " (give --test, or --test-fraction for aliccp-csv)"};
    for (int k = 0; k < 3; k++)
        if (rep.rows[k] == 0)
            log_warn("data import: the %s split of %s is empty%s; dmmp eval --split %s will refuse it", split_names[k],
                     opt.out, split_hint[k], split_names[k]);
    double mb = (double)rep.bytes / 1e6;
    /* rep counts rows of /users and /items; row 0 is the reserved unknown id, not a user or an item. */
    printf("%s: %lld train, %lld val, %lld test rows; %lld clicks, %lld conversions; %lld users, %lld items\n",
           opt.out, (long long)rep.rows[0], (long long)rep.rows[1], (long long)rep.rows[2], (long long)rep.clicks,
           (long long)rep.conversions, (long long)(rep.n_users > 0 ? rep.n_users - 1 : 0),
           (long long)(rep.n_items > 0 ? rep.n_items - 1 : 0));
    printf("read %.1f MB in %.2f s (%.1f MB/s)", mb, rep.seconds, rep.seconds > 0 ? mb / rep.seconds : 0.0);
    if (opt.skip_bad_lines) printf("; %lld bad lines skipped", (long long)rep.skipped);
    printf("\n");
    return 0;
}

int cmd_data_gen_aliccp_raw(int argc, char **argv)
{
    aliccp_gen_options g = {NULL, 0, -1, 0, 0, 1};
    int64_t seed = (int64_t)g.seed;
    const cli_option options[] = {
        CLI_OPT_STRING_REQ("--out-dir", &g.out_dir, "D", "the directory to write into (it must exist)"),
        {"--rows", CLI_INT64, &g.rows_train, "N", "training skeleton lines", 1, 9e18, 0, 1, NULL},
        CLI_OPT_INT64("--test-rows", &g.rows_test, "N", "test skeleton lines (default N/4)", 0, 9e18),
        CLI_OPT_INT64("--users", &g.n_users, "N", "users (default N/20)", 0, 9e18),
        CLI_OPT_INT64("--items", &g.n_items, "N", "items (default N/10)", 0, 9e18),
        CLI_OPT_INT64("--seed", &seed, "S", "seed (default 1)", 0, 9e18),
    };
    static const char about[] =
        "Writes sample_skeleton_{train,test}.csv and common_features_{train,test}.csv in the raw\n"
        "Ali-CCP format into D (which must exist): for tests of the importer and for measuring\n"
        "its speed. Defaults: test rows N/4, users N/20, items N/10, seed 1.\n";
    const cli_command cmd = {"data gen-aliccp-raw",
                             "usage: dmmp data gen-aliccp-raw --out-dir D --rows N [--test-rows N] [--users N] "
                             "[--items N] [--seed S]",
                             about, NULL, options, (int)(sizeof options / sizeof options[0]), 0, 0, NULL};
    cli_list none;
    int rc = cli_parse(&cmd, argc, argv, &none);
    if (rc != CLI_PARSED) return rc;
    cli_list_free(&none);
    g.seed = (uint64_t)seed;
    if (g.rows_test < 0) g.rows_test = g.rows_train / 4;
    dmmp_status s = gen_aliccp_raw(&g);
    if (s != DMMP_OK) return cli_report_error("data gen-aliccp-raw", s);
    return 0;
}
