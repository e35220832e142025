/* robust_e2e: hostile inputs through the built dmmp command, end to end.
 * Each case runs dmmp train, eval or retrieve on a damaged dataset, a bad
 * configuration or a run that does not fit, and expects a clean exit status
 * (2: the input is wrong, 1: failure while working) with a message naming
 * what is wrong; never a signal. Also the helpers the robust_atomic and
 * robust_train_determinism suites share (declared in test_robust.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "suites.h"
#include "test_robust.h"
#include "testutil.h"

int robust_tiny_ini(const char *path, int epochs)
{
    /* Small enough that an epoch over a 20000-impression dataset takes a
     * fraction of a second; one thread because the machine is shared. */
    char text[512];
    snprintf(text, sizeof text,
             "[data]\nembedding_dim = 8\n"
             "[teacher]\nexpert_dims = 16\ntower_dims = 8\n"
             "[student]\nuser_tower = 16,8\nitem_tower = 16,8\ngate_dims = 8\n"
             "[train]\nepochs = %d\nbatch_size = 512\nthreads = 1\nlog_every = 0\n",
             epochs);
    return robust_put(path, text);
}

int robust_e2e_fixture(char *dir, size_t len, char *data, char *ini, size_t path_len)
{
    tu_tmpdir(dir, len);
    snprintf(data, path_len, "%s/data.h5", dir);
    snprintf(ini, path_len, "%s/tiny.ini", dir);
    return robust_synth(data, 300, 120, 20000, 7) && robust_tiny_ini(ini, 1);
}

int robust_expect_exit(const char *const *args, int code_lo, int code_hi, const char *says, char *out, size_t len)
{
    char shown[1024] = "";
    for (int j = 0; args[j]; j++) snprintf(shown + strlen(shown), sizeof shown - strlen(shown), " %s", args[j]);
    int code = robust_run_dmmp(args, out, len);
    TU_ASSERT_MSG(code >= 0 && code < 128, "dmmp%s: killed by signal %d; output:\n%s", shown, code - 128, out);
    int ok = code >= code_lo && code <= code_hi;
    TU_ASSERT_MSG(ok, "dmmp%s: exit %d, expected %d..%d; output:\n%s", shown, code, code_lo, code_hi, out);
    if (says) {
        TU_ASSERT_MSG(strstr(out, says) != NULL, "dmmp%s: output lacks '%s':\n%s", shown, says, out);
        ok = ok && strstr(out, says) != NULL;
    }
    return ok;
}

static int have_dmmp(const char *test)
{
    if (robust_dmmp()) return 1;
    tu_skip(test, "the dmmp command is not built (set DMMP_BUILDDIR)");
    return 0;
}

/* Trains the tiny config on data into run; 1 on exit status 0. */
static int train_ok(const char *ini, const char *data, const char *run)
{
    char out[8192];
    const char *args[] = {"train", "--config", ini, "--data", data, "--out", run, NULL};
    return robust_expect_exit(args, 0, 0, NULL, out, sizeof out);
}

static void test_train_bad_data(void)
{
    if (!have_dmmp("train on bad data")) return;
    char dir[512], data[600], ini[600], bad[700], run[600], out[8192];
    CU_ASSERT_FATAL(robust_e2e_fixture(dir, sizeof dir, data, ini, sizeof data));

    /* Every impression in test: nothing to train on. */
    snprintf(bad, sizeof bad, "%s/no_train.h5", dir);
    snprintf(run, sizeof run, "%s/run_no_train", dir);
    CU_ASSERT_FATAL(robust_move_all_rows(data, bad, SPLIT_TEST));
    const char *no_train[] = {"train", "--config", ini, "--data", bad, "--out", run, NULL};
    robust_expect_exit(no_train, 2, 2, "no training rows", out, sizeof out);
    robust_expect_exit(no_train, 2, 2, "no_train.h5", out, sizeof out);
    snprintf(bad, sizeof bad, "%s/last.h5", run);
    TU_ASSERT_MSG(robust_file_size(bad) < 0, "a refused run wrote %s", bad);

    /* The first half of the file only. */
    snprintf(bad, sizeof bad, "%s/truncated.h5", dir);
    snprintf(run, sizeof run, "%s/run_truncated", dir);
    CU_ASSERT_FATAL(robust_copy(data, bad, robust_file_size(data) / 2));
    const char *truncated[] = {"train", "--config", ini, "--data", bad, "--out", run, NULL};
    robust_expect_exit(truncated, 2, 2, "truncated.h5", out, sizeof out);

    /* A dataset that is not there at all. */
    snprintf(bad, sizeof bad, "%s/absent.h5", dir);
    const char *absent[] = {"train", "--config", ini, "--data", bad, "--out", run, NULL};
    robust_expect_exit(absent, 2, 2, "absent.h5", out, sizeof out);
}

static void test_train_bad_config(void)
{
    if (!have_dmmp("train with a bad config")) return;
    char dir[512], data[600], ini[600], run[600], path[700], out[8192];
    CU_ASSERT_FATAL(robust_e2e_fixture(dir, sizeof dir, data, ini, sizeof data));
    snprintf(run, sizeof run, "%s/run", dir);
    static const char *const files[][3] = {
        {"unknown.ini", "[train]\nepochs = 1\nbatchsize = 64\n", "batchsize"},
        {"negative.ini", "[train]\nepochs = 1\nbatch_size = -4\n", "batch_size"},
        {"experts.ini", "[teacher]\nshared_experts = 0\nspecific_experts = 0\n", "experts"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i][0]);
        CU_ASSERT_FATAL(robust_put(path, files[i][1]));
        const char *args[] = {"train", "--config", path, "--data", data, "--out", run, NULL};
        robust_expect_exit(args, 2, 2, files[i][2], out, sizeof out);
    }
    /* The same mistakes given with --set over a good file. */
    static const char *const sets[][2] = {
        {"train.batchsize=64", "batchsize"},
        {"train.batch_size=-4", "batch_size"},
        {"teacher.shared_experts=0", "experts"},
    };
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        const char *args[] = {"train", "--config", ini, "--data", data, "--out", run, "--set", sets[i][0],
                              "--set", "teacher.specific_experts=0", NULL};
        if (i != 2) args[9] = NULL; /* only the experts case zeroes both kinds */
        robust_expect_exit(args, 2, 2, sets[i][1], out, sizeof out);
    }
    snprintf(path, sizeof path, "%s/last.h5", run);
    TU_ASSERT_MSG(robust_file_size(path) < 0, "a refused run wrote %s", path);
}

/* A dataset of one impression (in train; val and test empty) trains: one
 * step per epoch, the latest epoch kept as checkpoint.h5 since there is no
 * validation to judge by. Evaluating its empty test split is refused. */
static void test_one_row_dataset(void)
{
    if (!have_dmmp("one-row dataset")) return;
    char dir[512], csv[600], data[600], ini[600], run[600], path[700], out[8192];
    tu_tmpdir(dir, sizeof dir);
    snprintf(csv, sizeof csv, "%s/one.csv", dir);
    snprintf(data, sizeof data, "%s/one.h5", dir);
    snprintf(ini, sizeof ini, "%s/tiny.ini", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    CU_ASSERT_FATAL(robust_put(csv, "click,purchase,101,205,301\n1,1,42,77,3\n") && robust_tiny_ini(ini, 2));
    const char *import[] = {"data", "import", "aliccp-csv", "--train", csv, "--out", data, "--val-fraction", "0",
                            "--quiet", NULL};
    CU_ASSERT_FATAL(robust_expect_exit(import, 0, 0, "1 train, 0 val, 0 test rows", out, sizeof out));
    CU_ASSERT_FATAL(train_ok(ini, data, run));
    snprintf(path, sizeof path, "%s/checkpoint.h5", run);
    CU_ASSERT(robust_file_size(path) > 0);
    const char *eval_train[] = {"eval", "--run", run, "--data", data, "--split", "train", NULL};
    robust_expect_exit(eval_train, 0, 0, "click_recall@20", out, sizeof out);
    const char *eval_test[] = {"eval", "--run", run, "--data", data, NULL};
    robust_expect_exit(eval_test, 2, 2, "no rows", out, sizeof out);
}

static void test_eval_hostile(void)
{
    if (!have_dmmp("eval and retrieve on hostile input")) return;
    char dir[512], data[600], ini[600], run[600], other[600], quiet[600], path[700], out[8192];
    CU_ASSERT_FATAL(robust_e2e_fixture(dir, sizeof dir, data, ini, sizeof data));
    snprintf(run, sizeof run, "%s/run", dir);
    CU_ASSERT_FATAL(train_ok(ini, data, run));

    snprintf(path, sizeof path, "%s/absent_run", dir);
    const char *missing[] = {"eval", "--run", path, "--data", data, NULL};
    robust_expect_exit(missing, 2, 2, "absent_run", out, sizeof out);

    /* A dataset with other fields (an imported CSV) than the run's. */
    snprintf(path, sizeof path, "%s/other.csv", dir);
    snprintf(other, sizeof other, "%s/other.h5", dir);
    CU_ASSERT_FATAL(robust_put(path, "click,purchase,101,205,301\n1,0,4,7,3\n0,0,5,8,3\n1,1,4,8,2\n"));
    const char *import[] = {"data", "import", "aliccp-csv", "--train", path, "--test", path, "--out", other,
                            "--quiet", NULL};
    CU_ASSERT_FATAL(robust_expect_exit(import, 0, 0, NULL, out, sizeof out));
    const char *mismatch[] = {"eval", "--run", run, "--data", other, NULL};
    robust_expect_exit(mismatch, 2, 2, "another dataset", out, sizeof out);
    const char *mismatch_retrieve[] = {"retrieve", "--run", run, "--data", other, "--user", "0", NULL};
    robust_expect_exit(mismatch_retrieve, 2, 2, "another dataset", out, sizeof out);

    /* The same dataset with every click and conversion removed: no user of
     * the test split has a click to retrieve. */
    snprintf(quiet, sizeof quiet, "%s/no_clicks.h5", dir);
    const int64_t zero[3] = {0, 0, 0};
    CU_ASSERT_FATAL(robust_copy(data, quiet, -1) && robust_h5_fill_u8(quiet, "/samples/click", 0) &&
                    robust_h5_fill_u8(quiet, "/samples/conversion", 0) &&
                    robust_h5_set_attr_i64(quiet, "/samples", "split_clicks", zero, 3) &&
                    robust_h5_set_attr_i64(quiet, "/samples", "split_conversions", zero, 3));
    const char *no_clicks[] = {"eval", "--run", run, "--data", quiet, NULL};
    robust_expect_exit(no_clicks, 2, 2, "no user clicked", out, sizeof out);
    /* The real split has users without clicks among those with: they are
     * skipped, the others evaluated. */
    const char *some_clicks[] = {"eval", "--run", run, "--data", data, NULL};
    robust_expect_exit(some_clicks, 0, 0, "click_recall@20", out, sizeof out);

    const char *user_high[] = {"retrieve", "--run", run, "--data", data, "--user", "300", NULL};
    robust_expect_exit(user_high, 2, 2, "outside 0..299", out, sizeof out);
    const char *user_huge[] = {"retrieve", "--run", run, "--data", data, "--user", "99999999999999999999", NULL};
    robust_expect_exit(user_huge, 2, 2, "--user", out, sizeof out);
    const char *user_negative[] = {"retrieve", "--run", run, "--data", data, "--user", "-1", NULL};
    robust_expect_exit(user_negative, 2, 2, "--user '-1': expected an integer >= 0", out, sizeof out);
    const char *user_last[] = {"retrieve", "--run", run, "--data", data, "--user", "299", "--k", "3", NULL};
    robust_expect_exit(user_last, 0, 0, "user 299 (raw id u299), top 3", out, sizeof out);
    /* The same user by its raw id prints the same list. */
    char *by_index = strdup(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(by_index);
    const char *user_raw[] = {"retrieve", "--run", run, "--data", data, "--user-id", "u299", "--k", "3", NULL};
    robust_expect_exit(user_raw, 0, 0, "user 299 (raw id u299), top 3", out, sizeof out);
    TU_ASSERT_MSG(!strcmp(out, by_index), "--user-id u299 and --user 299 differ:\n%s\n---\n%s", out, by_index);
    free(by_index);
    const char *user_unknown[] = {"retrieve", "--run", run, "--data", data, "--user-id", "u300", NULL};
    robust_expect_exit(user_unknown, 2, 2, "--user-id u300: no such user", out, sizeof out);
    const char *user_both[] = {"retrieve", "--run", run, "--data", data, "--user", "1", "--user-id", "u1", NULL};
    robust_expect_exit(user_both, 2, 2, "one of --user U or --user-id RAW", out, sizeof out);
    const char *user_none[] = {"retrieve", "--run", run, "--data", data, NULL};
    robust_expect_exit(user_none, 2, 2, "one of --user U or --user-id RAW", out, sizeof out);
}

int register_robust_e2e_suites(void)
{
    static const char *const names[] = {
        "dmmp train: empty train split, truncated or missing dataset exit 2 naming it",
        "dmmp train: unknown key, negative batch, zero experts exit 2 naming the key",
        "one-row dataset: trains; its empty test split is refused",
        "dmmp eval/retrieve: missing run, other dataset, no clicks, user out of range",
    };
    static const CU_TestFunc tests[] = {test_train_bad_data, test_train_bad_config, test_one_row_dataset,
                                        test_eval_hostile};
    if (tu_add_suite("robust_e2e", names, tests, sizeof tests / sizeof tests[0]) != 0) return -1;
    if (register_robust_atomic_suites() != 0) return -1;
    return register_robust_train_determinism_suites();
}
