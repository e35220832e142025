/* The train_rundir suite: what a run leaves in its directory. The best
 * epoch when the validation metric is undefined (a val split without
 * clicks), --out with missing parents, a failed run that takes back what it
 * created, --resume into a directory that does not exist, and the real
 * Ali-CCP sample (whose val split has no clicks) from import to eval. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "test_robust.h"
#include "testutil.h"
#include "train/results.h"
#include "trainer_fixture.h"

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static dmmp_status train_on(const dmmp_config *c, const char *data, const char *dir, int resume, trainer_summary *s)
{
    trainer_options o;
    trainer_options_default(&o);
    o.config = c;
    o.data_path = data;
    o.out_dir = dir;
    o.resume = resume;
    log_level keep = log_get_level();
    log_set_level(LOG_WARN); /* the warnings reach train.log too */
    dmmp_status st = trainer_run(&o, s);
    log_set_level(keep);
    return st;
}

/* Every click and conversion removed: every validation AUC is NaN. The rule
 * (no epoch has a value: the latest is the best) makes epoch 3 of 3 the best
 * and writes checkpoint.h5 after every epoch; patience never runs out. */
static void test_undefined_metric_keeps_latest(void)
{
    const char *data = tf_dataset();
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    char dir[600], quiet[700], run[700], path[800];
    tf_run_dir(dir, sizeof dir, "no_clicks");
    CU_ASSERT_FATAL(mkdir(dir, 0777) == 0);
    snprintf(quiet, sizeof quiet, "%s/no_clicks.h5", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    const int64_t zero[3] = {0, 0, 0};
    CU_ASSERT_FATAL(robust_copy(data, quiet, -1) && robust_h5_fill_u8(quiet, "/samples/click", 0) &&
                    robust_h5_fill_u8(quiet, "/samples/conversion", 0) &&
                    robust_h5_set_attr_i64(quiet, "/samples", "split_clicks", zero, 3) &&
                    robust_h5_set_attr_i64(quiet, "/samples", "split_conversions", zero, 3));
    dmmp_config c;
    tf_config(&c, CONFIG_MODEL_TWO_TOWER);
    c.train.epochs = 3;
    c.train.patience = 1;
    trainer_summary s;
    dmmp_status st = train_on(&c, quiet, run, 0, &s);
    TU_ASSERT_MSG(st == DMMP_OK, "train: %s", dmmp_errmsg());
    CU_ASSERT_EQUAL(s.epochs_done, 3);
    CU_ASSERT_EQUAL(s.best_epoch, 3);
    CU_ASSERT_FALSE(s.early_stopped);
    snprintf(path, sizeof path, "%s/checkpoint.h5", run);
    TU_ASSERT_MSG(exists(path), "%s was not written", path);
    /* The record says the same epoch. */
    run_results r;
    snprintf(path, sizeof path, "%s/results.h5", run);
    CU_ASSERT_EQUAL_FATAL(results_load(&r, path), DMMP_OK);
    double best = 0;
    CU_ASSERT_TRUE(results_get_metric(&r, "val", "best_epoch", &best));
    CU_ASSERT_EQUAL(best, 3);
    results_free(&r);
    snprintf(path, sizeof path, "%s/train.log", run);
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char line[1024];
    int warned = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "auc_ctr is undefined") && strstr(line, "the best epoch is the latest")) warned++;
    fclose(f);
    CU_ASSERT_EQUAL(warned, 3);
    tf_remove_dir(run);
    unlink(quiet);
    rmdir(dir);
}

/* --out a/b/c with a and b missing: all three are made. */
static void test_out_parents_created(void)
{
    char dir[600], run[700], path[800];
    tf_run_dir(dir, sizeof dir, "nested");
    snprintf(run, sizeof run, "%s/a/b/c", dir);
    dmmp_config c;
    tf_config(&c, CONFIG_MODEL_TWO_TOWER);
    c.train.epochs = 1;
    dmmp_status st = train_on(&c, tf_dataset(), run, 0, NULL);
    TU_ASSERT_MSG(st == DMMP_OK, "train: %s", dmmp_errmsg());
    snprintf(path, sizeof path, "%s/checkpoint.h5", run);
    CU_ASSERT_TRUE(exists(path));
    tf_remove_dir(run);
    snprintf(path, sizeof path, "%s/a/b", dir);
    rmdir(path);
    snprintf(path, sizeof path, "%s/a", dir);
    rmdir(path);
    rmdir(dir);
}

/* A run refused after its directory was made (a metric its model lacks)
 * removes train.log and every directory it made; a directory that was
 * there before stays. */
static void test_failed_run_leaves_nothing(void)
{
    char dir[600], run[700];
    tf_run_dir(dir, sizeof dir, "failed");
    snprintf(run, sizeof run, "%s/x/y", dir);
    dmmp_config c;
    tf_config(&c, CONFIG_MODEL_TWO_TOWER);
    c.train.early_stopping_metric = CONFIG_METRIC_AUC_CVR; /* two_tower has no conversion head */
    dmmp_status st = train_on(&c, tf_dataset(), run, 0, NULL);
    CU_ASSERT_EQUAL(st, DMMP_EINVAL);
    TU_ASSERT_MSG(!exists(run), "%s was left behind", run);
    TU_ASSERT_MSG(!exists(dir), "%s was left behind", dir);

    CU_ASSERT_FATAL(mkdir(dir, 0777) == 0);
    st = train_on(&c, tf_dataset(), dir, 0, NULL);
    CU_ASSERT_EQUAL(st, DMMP_EINVAL);
    CU_ASSERT_TRUE(exists(dir));
    char log[800];
    snprintf(log, sizeof log, "%s/train.log", dir);
    CU_ASSERT_FALSE(exists(log));
    tf_remove_dir(dir);
}

/* --resume into a directory that does not exist: an error naming it, and
 * no directory made. */
static void test_resume_missing_dir(void)
{
    char dir[600];
    tf_run_dir(dir, sizeof dir, "never_trained");
    dmmp_config c;
    tf_config(&c, CONFIG_MODEL_TWO_TOWER);
    dmmp_status st = train_on(&c, tf_dataset(), dir, 1, NULL);
    CU_ASSERT_EQUAL(st, DMMP_EINVAL);
    TU_ASSERT_MSG(strstr(dmmp_errmsg(), "never_trained") != NULL, "message: %s", dmmp_errmsg());
    TU_ASSERT_MSG(!exists(dir), "--resume made %s", dir);
}

/* The real sample: 100 rows, the val split holds no click. Import, train
 * two epochs, eval from checkpoint.h5. */
static void test_aliccp_sample_end_to_end(void)
{
    const char *shared = tu_shared_dir();
    const char *dmmp = robust_dmmp();
    char csv[4096];
    if (shared) snprintf(csv, sizeof csv, "%s/data/ali-ccp/ali_ccp_train_sample.csv", shared);
    if (!shared || access(csv, R_OK) != 0) {
        tu_skip("ali-ccp sample end to end", "../shared/data/ali-ccp/ali_ccp_train_sample.csv is absent");
        return;
    }
    if (!dmmp) {
        tu_skip("ali-ccp sample end to end", "the dmmp command is not built");
        return;
    }
    char dir[600], data[700], run[700], ini[700], path[800], out[16384];
    tf_run_dir(dir, sizeof dir, "aliccp_sample");
    CU_ASSERT_FATAL(mkdir(dir, 0777) == 0);
    snprintf(data, sizeof data, "%s/ccp.h5", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(ini, sizeof ini, "%s/tiny.ini", dir);
    CU_ASSERT_FATAL(robust_tiny_ini(ini, 2));
    const char *import[] = {"data", "import", "aliccp-csv", "--train", csv, "--test", csv, "--out", data, "--quiet", NULL};
    CU_ASSERT_FATAL(robust_expect_exit(import, 0, 0, NULL, out, sizeof out));
    const char *train[] = {"train", "--config", ini, "--data", data, "--out", run, NULL};
    CU_ASSERT(robust_expect_exit(train, 0, 0, "best epoch 2", out, sizeof out));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "is undefined at epoch 1"));
    snprintf(path, sizeof path, "%s/checkpoint.h5", run);
    CU_ASSERT_TRUE(exists(path));
    const char *eval[] = {"eval", "--run", run, "--data", data, NULL};
    CU_ASSERT(robust_expect_exit(eval, 0, 0, "auc_ctr", out, sizeof out));
    tf_remove_dir(run);
    unlink(data);
    unlink(ini);
    rmdir(dir);
}

int register_trainer_rundir_suites(void)
{
    static const char *const names[] = {
        "undefined validation metric: the latest epoch is the best, checkpoint.h5 written, warned",
        "--out a/b/c creates the missing parents",
        "a failed fresh run removes train.log and the directories it made",
        "--resume into a missing directory: an error, nothing made",
        "real Ali-CCP sample (val without clicks): import, train, eval",
    };
    static const CU_TestFunc tests[] = {test_undefined_metric_keeps_latest, test_out_parents_created,
                                        test_failed_run_leaves_nothing, test_resume_missing_dir,
                                        test_aliccp_sample_end_to_end};
    return tu_add_suite("train_rundir", names, tests, sizeof tests / sizeof tests[0]);
}
