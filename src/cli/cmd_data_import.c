/* dmmp data import <format> and dmmp data gen-aliccp-raw. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/log.h"
#include "data/gen_aliccp_raw.h"
#include "data/import.h"

static const char import_help[] =
    "usage: dmmp data import aliccp-raw --skeleton-train A --common-train B --skeleton-test C\n"
    "                                   --common-test D --out F.h5 [common options]\n"
    "       dmmp data import aliccp-csv --train A.csv [--val B.csv] [--test C.csv | --test-fraction X]\n"
    "                                   --out F.h5 [common options]\n"
    "       dmmp data import aliexpress --train A.csv --test B.csv --out F.h5 [--user-fields LIST]\n"
    "                                   [common options]\n"
    "\n"
    "Imports a public dataset into the HDF5 layout. Vocabularies come from the training\n"
    "split; unseen ids at val/test map to 0. The file is written under a temporary name\n"
    "and renamed when complete. A split left without rows is reported as a warning.\n"
    "\n"
    "common options:\n"
    "  --val-fraction X   share of the training file sent to val (default 0.1; aliccp-csv\n"
    "                     uses it only without --val)\n"
    "  --test-fraction X  aliccp-csv without --test: share of the training file sent to test\n"
    "                     (default 0: no test split)\n"
    "  --seed S           decides which training rows go to val and test (default 1)\n"
    "  --on-error stop|skip  stop at the first bad line (default) or skip and count\n"
    "  --hash F=B[,F=B]   hash field F into B buckets instead of an exact vocabulary\n"
    "  --threads N        parser threads (default: OpenMP's)\n"
    "  --quiet            no progress lines\n"
    "\n"
    "aliexpress: --user-fields lists the user-side categorical columns (default\n"
    "  " ALIEXPRESS_DEFAULT_USER_FIELDS ";\n"
    "  the release does not label the columns, so this is our choice); the other\n"
    "  categoricals are item side. A user is the tuple of its user-side ids, an item the\n"
    "  tuple of its item-side ids.\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "dmmp data import: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n'dmmp data import --help' lists the options.\n");
    return 2;
}

int cmd_data_import(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(import_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *format = argv[1];
    import_options opt;
    import_options_default(&opt);
    aliccp_raw_paths raw = {0};
    const char *train = NULL, *val = NULL, *test = NULL, *user_fields = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(import_help, stdout);
            return 0;
        }
        if (!strcmp(a, "--quiet")) {
            opt.progress = 0;
            continue;
        }
        if (i + 1 >= argc) return usage_error("option %s needs a value", a);
        const char *v = argv[++i];
        char *end = NULL;
        if (!strcmp(a, "--out")) opt.out = v;
        else if (!strcmp(a, "--skeleton-train")) raw.skeleton_train = v;
        else if (!strcmp(a, "--common-train")) raw.common_train = v;
        else if (!strcmp(a, "--skeleton-test")) raw.skeleton_test = v;
        else if (!strcmp(a, "--common-test")) raw.common_test = v;
        else if (!strcmp(a, "--train")) train = v;
        else if (!strcmp(a, "--val")) val = v;
        else if (!strcmp(a, "--test")) test = v;
        else if (!strcmp(a, "--user-fields")) user_fields = v;
        else if (!strcmp(a, "--hash")) opt.hash_spec = v;
        else if (!strcmp(a, "--val-fraction")) {
            opt.val_fraction = strtod(v, &end);
            if (*end || !(opt.val_fraction >= 0 && opt.val_fraction < 1))
                return usage_error("--val-fraction must be a number in [0, 1), not '%s'", v);
        } else if (!strcmp(a, "--test-fraction")) {
            opt.test_fraction = strtod(v, &end);
            if (*end || end == v || !(opt.test_fraction >= 0 && opt.test_fraction < 1))
                return usage_error("--test-fraction must be a number in [0, 1), not '%s'", v);
        } else if (!strcmp(a, "--seed")) {
            opt.seed = strtoull(v, &end, 10);
            if (*end || !*v) return usage_error("--seed must be a non-negative integer, not '%s'", v);
        } else if (!strcmp(a, "--threads")) {
            long t = strtol(v, &end, 10);
            if (*end || t < 1 || t > 64) return usage_error("--threads must be an integer in [1, 64], not '%s'", v);
            opt.threads = (int)t;
        } else if (!strcmp(a, "--on-error")) {
            if (!strcmp(v, "stop")) opt.skip_bad_lines = 0;
            else if (!strcmp(v, "skip")) opt.skip_bad_lines = 1;
            else return usage_error("--on-error must be stop or skip, not '%s'", v);
        } else {
            return usage_error("unknown option '%s'", a);
        }
    }
    if (!opt.out) return usage_error("%s", "--out is required");
    if (!(opt.val_fraction + opt.test_fraction < 1))
        return usage_error("%s", "--val-fraction + --test-fraction must be below 1 (no training rows left)");
    if (opt.test_fraction > 0 && strcmp(format, "aliccp-csv"))
        return usage_error("--test-fraction is for aliccp-csv without --test (%s has a test file)", format);
    if (opt.test_fraction > 0 && test) return usage_error("%s", "give --test or --test-fraction, not both");
    import_report rep;
    dmmp_status s = atomic_check_target("--out", opt.out);
    if (s != DMMP_OK) return cli_report_error("data import", s);
    if (!strcmp(format, "aliccp-raw")) {
        if (!raw.skeleton_train || !raw.common_train || !raw.skeleton_test || !raw.common_test)
            return usage_error("%s", "aliccp-raw needs --skeleton-train, --common-train, --skeleton-test and --common-test");
        s = import_aliccp_raw(&raw, &opt, &rep);
    } else if (!strcmp(format, "aliccp-csv")) {
        if (!train) return usage_error("%s", "aliccp-csv needs --train");
        s = import_aliccp_csv(train, val, test, &opt, &rep);
    } else if (!strcmp(format, "aliexpress")) {
        if (!train || !test) return usage_error("%s", "aliexpress needs --train and --test");
        s = import_aliexpress(train, test, user_fields, &opt, &rep);
    } else {
        return usage_error("unknown format '%s' (aliccp-raw, aliccp-csv, aliexpress)", format);
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

static const char gen_help[] =
    "usage: dmmp data gen-aliccp-raw --out-dir D --rows N [--test-rows N] [--users N] [--items N] [--seed S]\n"
    "\n"
    "Writes sample_skeleton_{train,test}.csv and common_features_{train,test}.csv in the raw\n"
    "Ali-CCP format into D (which must exist): for tests of the importer and for measuring\n"
    "its speed. Defaults: test rows N/4, users N/20, items N/10, seed 1.\n";

int cmd_data_gen_aliccp_raw(int argc, char **argv)
{
    aliccp_gen_options g = {NULL, 0, -1, 0, 0, 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(gen_help, stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "dmmp data gen-aliccp-raw: option %s needs a value\n%s", a, gen_help);
            return 2;
        }
        const char *v = argv[++i];
        char *end;
        long long n = strtoll(v, &end, 10);
        int numeric = *v && !*end && n >= 0;
        if (!strcmp(a, "--out-dir")) g.out_dir = v;
        else if (!numeric) {
            fprintf(stderr, "dmmp data gen-aliccp-raw: %s needs a non-negative integer, not '%s'\n%s", a, v, gen_help);
            return 2;
        } else if (!strcmp(a, "--rows")) g.rows_train = n;
        else if (!strcmp(a, "--test-rows")) g.rows_test = n;
        else if (!strcmp(a, "--users")) g.n_users = n;
        else if (!strcmp(a, "--items")) g.n_items = n;
        else if (!strcmp(a, "--seed")) g.seed = (uint64_t)n;
        else {
            fprintf(stderr, "dmmp data gen-aliccp-raw: unknown option '%s'\n%s", a, gen_help);
            return 2;
        }
    }
    if (!g.out_dir || g.rows_train < 1) {
        fprintf(stderr, "dmmp data gen-aliccp-raw: --out-dir and --rows (>= 1) are required\n%s", gen_help);
        return 2;
    }
    if (g.rows_test < 0) g.rows_test = g.rows_train / 4;
    dmmp_status s = gen_aliccp_raw(&g);
    if (s != DMMP_OK) return cli_report_error("data gen-aliccp-raw", s);
    return 0;
}
