/* The eval_provenance suite: which dataset and evaluation setting a run
 * records, and the refusal to tabulate runs that differ. The content hash
 * against its definition computed here by hand, results.h5 round trips,
 * runs_check_comparable case by case, and the commands end to end (train,
 * eval, report --data). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/dataset_hash.h"
#include "data/text_scan.h"
#include "eval/run_compare.h"
#include "results_fixture.h"
#include "suites.h"
#include "test_robust.h"
#include "testutil.h"

#define ASSERT_HAS(text, part) TU_ASSERT_MSG(strstr((text), (part)) != NULL, "'%s' lacks '%s'", (text), (part))

static int write_bytes(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(b, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

/* The documented definition, written out: size (8 bytes, little endian on
 * x86-64) then 64 blocks of 4096 bytes at (size - 4096) * b / 63 (the last
 * ends at the last byte), or the whole file when it is at most 64 blocks
 * long, through text_hash64. */
static void expected_hash(const unsigned char *file, size_t size, char *out, size_t len)
{
    size_t cap = 8 + 64 * 4096;
    char *buf = malloc(cap);
    uint64_t sz = size;
    memcpy(buf, &sz, 8);
    size_t used = 8;
    if (size <= 64 * 4096) {
        memcpy(buf + used, file, size);
        used += size;
    } else {
        for (size_t b = 0; b < 64; b++) {
            size_t at = (size - 4096) * b / 63;
            memcpy(buf + used, file + at, 4096);
            used += 4096;
        }
    }
    snprintf(out, len, "sample-64x4KiB:%016llx", (unsigned long long)text_hash64(buf, used));
    free(buf);
}

static void test_content_hash(void)
{
    char dir[256], a[400], b[400];
    tu_tmpdir(dir, sizeof dir);
    snprintf(a, sizeof a, "%s/a.bin", dir);
    snprintf(b, sizeof b, "%s/b.bin", dir);
    size_t sizes[2] = {1000, 3 * 1024 * 1024 + 17};
    for (int k = 0; k < 2; k++) {
        size_t n = sizes[k];
        unsigned char *bytes = malloc(n);
        CU_ASSERT_FATAL(bytes != NULL);
        for (size_t i = 0; i < n; i++) bytes[i] = (unsigned char)((i * 2654435761u) >> 13);
        CU_ASSERT_FATAL(write_bytes(a, bytes, n));
        char got[DATASET_HASH_LEN], want[DATASET_HASH_LEN], other[DATASET_HASH_LEN];
        CU_ASSERT_EQUAL_FATAL(dataset_content_hash(a, got), DMMP_OK);
        expected_hash(bytes, n, want, sizeof want);
        CU_ASSERT_STRING_EQUAL(got, want);
        /* A copy elsewhere is the same dataset. */
        CU_ASSERT_FATAL(write_bytes(b, bytes, n));
        CU_ASSERT_EQUAL(dataset_content_hash(b, other), DMMP_OK);
        CU_ASSERT_STRING_EQUAL(got, other);
        /* One byte of the last block changed, or one byte more: another one. */
        bytes[n - 1] ^= 0x5a;
        CU_ASSERT_FATAL(write_bytes(b, bytes, n));
        CU_ASSERT_EQUAL(dataset_content_hash(b, other), DMMP_OK);
        CU_ASSERT_STRING_NOT_EQUAL(got, other);
        CU_ASSERT_FATAL(write_bytes(b, bytes, n - 1));
        CU_ASSERT_EQUAL(dataset_content_hash(b, other), DMMP_OK);
        CU_ASSERT_STRING_NOT_EQUAL(got, other);
        free(bytes);
    }
    char h[DATASET_HASH_LEN];
    snprintf(a, sizeof a, "%s/absent.h5", dir);
    CU_ASSERT_EQUAL(dataset_content_hash(a, h), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "absent.h5");
    fx_rm_rf(dir);
}

static results_eval_setting setting(const char *path, const char *hash, const char *which, int64_t max_users)
{
    results_eval_setting e;
    memset(&e, 0, sizeof e);
    snprintf(e.split, sizeof e.split, "test");
    snprintf(e.dataset_path, sizeof e.dataset_path, "%s", path);
    snprintf(e.dataset_hash, sizeof e.dataset_hash, "%s", hash);
    snprintf(e.checkpoint, sizeof e.checkpoint, "%s", which);
    e.max_users = max_users;
    return e;
}

/* The training hash and the split's setting survive save and load; clearing
 * a split drops its metrics and setting only. */
static void test_results_round_trip(void)
{
    char dir[256], path[400];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/results.h5", dir);
    run_results r, back;
    const char *names[1] = {"auc_ctr"};
    const double values[1] = {0.75};
    CU_ASSERT_EQUAL_FATAL(fx_make_run(&r, "dmmp", 1, 1, names, values), 0);
    CU_ASSERT_EQUAL(results_set_meta(&r, "dataset_hash", "sample-64x4KiB:00000000000000aa"), DMMP_OK);
    results_eval_setting e = setting("d/world.h5", "sample-64x4KiB:00000000000000aa", "last", 1000);
    CU_ASSERT_EQUAL(results_set_eval_setting(&r, &e), DMMP_OK);
    CU_ASSERT_EQUAL(results_set_metric(&r, "val", "auc_ctr", 0.7), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(results_save(&r, path), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(results_load(&back, path), DMMP_OK);
    CU_ASSERT_STRING_EQUAL(back.dataset_hash, "sample-64x4KiB:00000000000000aa");
    const results_eval_setting *got = results_eval_setting_find(&back, "test");
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got->dataset_path, "d/world.h5");
    CU_ASSERT_STRING_EQUAL(got->checkpoint, "last");
    CU_ASSERT_EQUAL(got->max_users, 1000);
    CU_ASSERT_PTR_NULL(results_eval_setting_find(&back, "val"));
    results_clear_split(&back, "test");
    CU_ASSERT_FALSE(results_get_metric(&back, "test", "auc_ctr", NULL));
    CU_ASSERT_TRUE(results_get_metric(&back, "val", "auc_ctr", NULL));
    CU_ASSERT_PTR_NULL(results_eval_setting_find(&back, "test"));
    results_free(&back);
    results_free(&r);
    fx_rm_rf(dir);
}

/* Two runs that differ in one respect at a time. */
static void test_comparable_cases(void)
{
    run_results r[2];
    const char *names[1] = {"auc_ctr"};
    const double values[1] = {0.75};
    const char *src[2] = {"a/results.h5", "b/results.h5"};
    const char *h1 = "sample-64x4KiB:0000000000000001", *h2 = "sample-64x4KiB:0000000000000002";
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL_FATAL(fx_make_run(&r[i], i ? "two_tower" : "dmmp", 1, 1, names, values), 0);
        CU_ASSERT_EQUAL(results_set_meta(&r[i], "dataset_path", "world.h5"), DMMP_OK);
        CU_ASSERT_EQUAL(results_set_meta(&r[i], "dataset_hash", h1), DMMP_OK);
        results_eval_setting e = setting("world.h5", h1, "checkpoint", 0);
        CU_ASSERT_EQUAL(results_set_eval_setting(&r[i], &e), DMMP_OK);
    }
    CU_ASSERT_EQUAL(runs_check_comparable(r, src, 2, "test", NULL), DMMP_OK);
    CU_ASSERT_EQUAL(runs_check_comparable(r, src, 2, "test", h1), DMMP_OK);
    /* --data naming another dataset. */
    CU_ASSERT_EQUAL(runs_check_comparable(r, src, 2, "test", h2), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "a/results.h5 was trained on world.h5");

    /* The same content at another path: the same dataset. */
    CU_ASSERT_EQUAL(results_set_meta(&r[1], "dataset_path", "copy/world.h5"), DMMP_OK);
    CU_ASSERT_EQUAL(runs_check_comparable(r, src, 2, "test", NULL), DMMP_OK);
    /* Other content. */
    CU_ASSERT_EQUAL(results_set_meta(&r[1], "dataset_hash", h2), DMMP_OK);
    CU_ASSERT_EQUAL(runs_check_comparable(r, src, 2, "test", NULL), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "a/results.h5 and b/results.h5 were trained on different datasets");
    /* No hashes (older files): the paths decide. */
    CU_ASSERT_EQUAL(results_set_meta(&r[0], "dataset_hash", ""), DMMP_OK);
    CU_ASSERT_EQUAL(results_set_meta(&r[1], "dataset_hash", ""), DMMP_OK);
    CU_ASSERT_EQUAL(runs_check_comparable(r, src, 2, "test", NULL), DMMP_EINVAL);
    CU_ASSERT_EQUAL(results_set_meta(&r[1], "dataset_path", "world.h5"), DMMP_OK);
    CU_ASSERT_EQUAL(runs_check_comparable(r, src, 2, "test", NULL), DMMP_OK);
    CU_ASSERT_EQUAL(results_set_meta(&r[0], "dataset_hash", h1), DMMP_OK);
    CU_ASSERT_EQUAL(results_set_meta(&r[1], "dataset_hash", h1), DMMP_OK);

    /* The evaluation settings, one difference at a time. */
    results_eval_setting e = setting("world.h5", h1, "checkpoint", 1000);
    CU_ASSERT_EQUAL(results_set_eval_setting(&r[1], &e), DMMP_OK);
    CU_ASSERT_EQUAL(runs_check_comparable(r, src, 2, "test", NULL), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "different eval.max_users (0, 1000");
    e = setting("world.h5", h1, "last", 0);
    CU_ASSERT_EQUAL(results_set_eval_setting(&r[1], &e), DMMP_OK);
    CU_ASSERT_EQUAL(runs_check_comparable(r, src, 2, "test", NULL), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "different checkpoints (checkpoint.h5, last.h5)");
    e = setting("other.h5", h2, "checkpoint", 0);
    CU_ASSERT_EQUAL(results_set_eval_setting(&r[1], &e), DMMP_OK);
    CU_ASSERT_EQUAL(runs_check_comparable(r, src, 2, "test", NULL), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "evaluated split test on different datasets");
    CU_ASSERT_EQUAL(runs_check_comparable(r, src, 2, "test", h1), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "b/results.h5: split test was evaluated on other.h5");
    /* One run without a setting (evaluated by an older build). */
    results_clear_split(&r[1], "test");
    CU_ASSERT_EQUAL(runs_check_comparable(r, src, 2, "test", NULL), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "evaluate b/results.h5 again");
    /* A split neither has a setting for: nothing to compare there. */
    CU_ASSERT_EQUAL(runs_check_comparable(r, src, 2, "val", NULL), DMMP_OK);
    results_free(&r[0]);
    results_free(&r[1]);
}

/* The commands: eval records its setting, and report refuses a mix of
 * datasets, checkpoints, or a --data the runs were not made on (exit 2). */
static void test_commands(void)
{
    if (!robust_dmmp()) {
        tu_skip("provenance commands", "the dmmp command is not built");
        return;
    }
    char dir[256], data[400], ini[400], other[400], run_a[400], run_b[400], run_c[400], path[500], out[16384];
    CU_ASSERT_FATAL(robust_e2e_fixture(dir, sizeof dir, data, ini, sizeof data));
    snprintf(other, sizeof other, "%s/other.h5", dir);
    CU_ASSERT_FATAL(robust_synth(other, 300, 120, 20000, 8));
    snprintf(run_a, sizeof run_a, "%s/out/a/seed1", dir);
    snprintf(run_b, sizeof run_b, "%s/out/b/seed1", dir);
    snprintf(run_c, sizeof run_c, "%s/c", dir);
    const char *train_a[] = {"train", "--config", ini, "--data", data, "--out", run_a, "--variant", "a", NULL};
    const char *train_b[] = {"train", "--config", ini, "--data", data, "--out", run_b, "--variant", "b", NULL};
    const char *train_c[] = {"train", "--config", ini, "--data", other, "--out", run_c, "--variant", "c", NULL};
    CU_ASSERT_FATAL(robust_expect_exit(train_a, 0, 0, NULL, out, sizeof out));
    CU_ASSERT_FATAL(robust_expect_exit(train_b, 0, 0, NULL, out, sizeof out));
    CU_ASSERT_FATAL(robust_expect_exit(train_c, 0, 0, NULL, out, sizeof out));
    const char *eval_a[] = {"eval", "--run", run_a, "--data", data, NULL};
    const char *eval_b[] = {"eval", "--run", run_b, "--data", data, "--which", "last", NULL};
    const char *eval_c[] = {"eval", "--run", run_c, "--data", other, NULL};
    CU_ASSERT_FATAL(robust_expect_exit(eval_a, 0, 0, NULL, out, sizeof out));
    CU_ASSERT_FATAL(robust_expect_exit(eval_b, 0, 0, NULL, out, sizeof out));
    CU_ASSERT_FATAL(robust_expect_exit(eval_c, 0, 0, NULL, out, sizeof out));

    /* What eval and train recorded, against the hash computed here. */
    char hash[DATASET_HASH_LEN];
    CU_ASSERT_EQUAL_FATAL(dataset_content_hash(data, hash), DMMP_OK);
    run_results r;
    snprintf(path, sizeof path, "%s/results.h5", run_b);
    CU_ASSERT_EQUAL_FATAL(results_load(&r, path), DMMP_OK);
    CU_ASSERT_STRING_EQUAL(r.dataset_hash, hash);
    const results_eval_setting *e = results_eval_setting_find(&r, "test");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_STRING_EQUAL(e->dataset_hash, hash);
    CU_ASSERT_STRING_EQUAL(e->dataset_path, data);
    CU_ASSERT_STRING_EQUAL(e->checkpoint, "last");
    CU_ASSERT_EQUAL(e->max_users, 0);
    results_free(&r);

    char folder[400];
    snprintf(folder, sizeof folder, "%s/out", dir);
    /* a (checkpoint.h5) beside b (last.h5): refused. */
    const char *mixed_which[] = {"report", folder, NULL};
    robust_expect_exit(mixed_which, 2, 2, "different checkpoints", out, sizeof out);
    /* b evaluated again from checkpoint.h5: the driver's folder reports. */
    const char *eval_b2[] = {"eval", "--run", run_b, "--data", data, NULL};
    CU_ASSERT_FATAL(robust_expect_exit(eval_b2, 0, 0, NULL, out, sizeof out));
    const char *same[] = {"report", folder, "--data", data, "--baseline", "a", NULL};
    robust_expect_exit(same, 0, 0, "| b |", out, sizeof out);
    /* Another dataset's run, or --data naming another dataset. */
    const char *mixed_data[] = {"report", folder, run_c, NULL};
    robust_expect_exit(mixed_data, 2, 2, "were trained on different datasets", out, sizeof out);
    const char *wrong_data[] = {"report", folder, "--data", other, NULL};
    robust_expect_exit(wrong_data, 2, 2, "not on the dataset given", out, sizeof out);
    /* --resume of a's run on the other dataset: refused by content hash. */
    const char *resume_other[] = {"train", "--config", ini, "--data", other, "--out", run_a, "--resume", NULL};
    robust_expect_exit(resume_other, 2, 2, "another dataset", out, sizeof out);
    fx_rm_rf(dir);
}

int register_provenance_suites(void)
{
    static const char *const names[] = {
        "dataset content hash: size and sampled blocks, by hand",
        "results.h5 keeps the dataset hash and the evaluation setting",
        "runs_check_comparable: dataset, checkpoint, max_users, --data",
        "train, eval, report: a mix of datasets or settings exits 2",
    };
    static const CU_TestFunc tests[] = {test_content_hash, test_results_round_trip, test_comparable_cases,
                                        test_commands};
    return tu_add_suite("eval_provenance", names, tests, sizeof tests / sizeof tests[0]);
}
