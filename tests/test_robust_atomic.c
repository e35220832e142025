/* robust_atomic: writers of the framework dying or running out of disk while
 * they replace a file that already exists. A dataset written by dmmp data
 * synth and a run record (results.h5) are killed with SIGKILL midway; dmmp
 * train resumes with a file-size limit too small for its checkpoint. In every
 * case the previous file must read back unchanged, nothing half-written may
 * appear under its name, and the next writer of the path removes what the
 * dead one left behind. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckpt_testutil.h"
#include "data/dataset.h"
#include "test_robust.h"
#include "testutil.h"
#include "train/results.h"

/* Starts dmmp with args, output to log, stdin from /dev/null; with
 * fsize_limit > 0 every file it writes may grow to that many bytes only and
 * SIGXFSZ is ignored, so a write past it fails with EFBIG as on a full disk.
 * Returns the pid, -1 when it could not start. */
static pid_t spawn_dmmp(const char *const *args, const char *log, long fsize_limit)
{
    const char *exe = robust_dmmp();
    const char *argv[32];
    int n = 0;
    argv[n++] = exe;
    for (int i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    fflush(stdout);
    pid_t pid = fork();
    if (pid != 0) return pid;
    int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644), in = open("/dev/null", O_RDONLY);
    if (out < 0 || in < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    if (fsize_limit > 0) {
        struct rlimit lim = {(rlim_t)fsize_limit, (rlim_t)fsize_limit};
        signal(SIGXFSZ, SIG_IGN); /* inherited through exec: ignored stays ignored */
        if (setrlimit(RLIMIT_FSIZE, &lim) != 0) _exit(125);
    }
    execv(exe, (char *const *)argv);
    _exit(127);
}

/* Path of the entry of dir starting with prefix (first found) into buf. */
static int find_prefixed(const char *dir, const char *prefix, char *buf, size_t len)
{
    DIR *d = opendir(dir);
    int found = 0;
    for (struct dirent *e = d ? readdir(d) : NULL; e && !found; e = readdir(d))
        if (!strncmp(e->d_name, prefix, strlen(prefix))) {
            snprintf(buf, len, "%s/%s", dir, e->d_name);
            found = 1;
        }
    if (d) closedir(d);
    return found;
}

/* Waits (up to 20 s) until process pid has a temporary of prefix in dir
 * larger than min_bytes, then kills it with SIGKILL. 1 when it was killed
 * that way, 0 when it ended before (too fast, or failed). */
static int kill_when_writing(pid_t pid, const char *dir, const char *prefix, long min_bytes)
{
    char tmp[1024];
    struct stat st;
    int status = 0;
    for (int waited = 0; waited < 20000; waited += 2) {
        if (find_prefixed(dir, prefix, tmp, sizeof tmp) && stat(tmp, &st) == 0 && st.st_size > min_bytes) {
            kill(pid, SIGKILL);
            break;
        }
        if (waitpid(pid, &status, WNOHANG) == pid) {
            printf("\n    writer %ld ended before it was killed (status %#x)\n", (long)pid, status);
            return 0;
        }
        sleep_ms(2);
    }
    kill(pid, SIGKILL); /* after 20 s regardless: the test must not hang */
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

static int64_t dataset_rows_in(const char *path)
{
    dataset *d;
    if (dataset_open(&d, path) != DMMP_OK) return -1;
    int64_t n = dataset_n_samples(d);
    dataset_close(d);
    return n;
}

static void test_synth_killed(void)
{
    if (!robust_dmmp()) {
        tu_skip("dataset writer killed", "the dmmp command is not built (set DMMP_BUILDDIR)");
        return;
    }
    char dir[512], path[600], copy[600], log[600], prefix[128], out[8192];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/data.h5", dir);
    snprintf(copy, sizeof copy, "%s/copy", dir);
    snprintf(log, sizeof log, "%s/synth.log", dir);
    CU_ASSERT_FATAL(robust_synth(path, 300, 120, 20000, 7) && robust_copy(path, copy, -1));
    /* 2e6 impressions are ~80 MB: seconds of writing, killed after 1 MiB. */
    const char *big[] = {"data", "synth", "--out", path, "--users", "20000", "--items", "5000",
                         "--impressions", "2000000", "--seed", "3", NULL};
    pid_t pid = spawn_dmmp(big, log, 0);
    CU_ASSERT_FATAL(pid > 0);
    snprintf(prefix, sizeof prefix, ".data.h5.tmp-%ld-", (long)pid);
    TU_ASSERT_MSG(kill_when_writing(pid, dir, prefix, 1 << 20), "dmmp data synth was not killed midway");
    TU_ASSERT_MSG(same_bytes(path, copy), "%s changed under a killed writer", path);
    CU_ASSERT_EQUAL(dataset_rows_in(path), 20000);
    CU_ASSERT_EQUAL(count_prefixed(dir, prefix), 1); /* the dead writer's temporary, hidden */
    CU_ASSERT_EQUAL(count_prefixed(dir, "data.h5"), 1);

    /* The next writer of the path replaces it and removes the leftover. */
    const char *again[] = {"data", "synth", "--out", path, "--users", "200", "--items", "100",
                           "--impressions", "5000", "--seed", "4", NULL};
    CU_ASSERT(robust_expect_exit(again, 0, 0, NULL, out, sizeof out));
    CU_ASSERT_EQUAL(count_prefixed(dir, ".data.h5.tmp-"), 0);
    CU_ASSERT_EQUAL(dataset_rows_in(path), 5000);
    remove_dir(dir);
}

enum { BIG_SERIES = 64, BIG_EPOCHS = 16384 }; /* 8 MiB of doubles */

/* The forked child: saves a large record over path again and again until
 * it is killed. */
static void save_forever(const char *path)
{
    omp_set_num_threads(1); /* forked after OpenMP ran: see train/checkpoint.h */
    run_results r;
    char name[64];
    if (results_init(&r) != DMMP_OK || results_set_meta(&r, "variant", "new") != DMMP_OK) _exit(9);
    r.seed = 2;
    for (int s = 0; s < BIG_SERIES; s++) {
        snprintf(name, sizeof name, "loss/term%d", s);
        for (int e = 0; e < BIG_EPOCHS; e++)
            if (results_series_append(&r, name, s + e * 1e-4) != DMMP_OK) _exit(9);
    }
    if (results_set_progress(&r, BIG_EPOCHS, 10 * BIG_EPOCHS) != DMMP_OK) _exit(9);
    for (;;)
        if (results_save(&r, path) != DMMP_OK) _exit(8);
}

static void test_results_killed(void)
{
    char dir[512], path[600], prefix[128];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/results.h5", dir);
    run_results old;
    CU_ASSERT_FATAL(results_init(&old) == DMMP_OK && results_set_meta(&old, "variant", "old") == DMMP_OK);
    old.seed = 1;
    CU_ASSERT_FATAL(results_series_append(&old, "loss/term0", 0.25) == DMMP_OK &&
                    results_set_progress(&old, 1, 10) == DMMP_OK && results_save(&old, path) == DMMP_OK);
    results_free(&old);
    fflush(stdout);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) save_forever(path);
    snprintf(prefix, sizeof prefix, ".results.h5.tmp-%ld-", (long)pid);
    TU_ASSERT_MSG(kill_when_writing(pid, dir, prefix, 1 << 20), "the results writer was not killed midway");
    /* Killed during some save: results.h5 is the old record or a whole new
     * one (when an earlier save of the loop completed), never a mix. */
    run_results back;
    dmmp_status s = results_load(&back, path);
    TU_ASSERT_MSG(s == DMMP_OK, "results.h5 unreadable after the kill: %s", dmmp_errmsg());
    if (s == DMMP_OK) {
        int is_old = back.seed == 1 && back.epochs == 1 && !strcmp(back.variant, "old");
        int is_new = back.seed == 2 && back.epochs == BIG_EPOCHS && !strcmp(back.variant, "new") &&
                     back.n_series == BIG_SERIES;
        TU_ASSERT_MSG(is_old || is_new, "results.h5 is neither record: seed %lld, %lld epochs",
                      (long long)back.seed, (long long)back.epochs);
        if (is_new) {
            const results_series *last = results_series_find(&back, "loss/term63");
            CU_ASSERT(last && last->n == BIG_EPOCHS && last->values[BIG_EPOCHS - 1] == 63 + (BIG_EPOCHS - 1) * 1e-4);
        }
        results_free(&back);
    }
    CU_ASSERT(count_prefixed(dir, prefix) <= 1);
    /* The next save of the path removes what the dead writer left. */
    CU_ASSERT_FATAL(results_init(&old) == DMMP_OK);
    CU_ASSERT(results_save(&old, path) == DMMP_OK);
    results_free(&old);
    CU_ASSERT_EQUAL(count_prefixed(dir, ".results.h5.tmp-"), 0);
    CU_ASSERT_EQUAL(count_prefixed(dir, ""), 3); /* ".", ".." and results.h5 */
    remove_dir(dir);
}

/* dmmp train --resume for a second epoch, allowed files of 600 KiB while
 * its checkpoints are ~1.2 MB: the save fails with EFBIG, dmmp says so and
 * exits 1, last.h5 of the first epoch stays as it was, no temporary is left;
 * without the limit the same command then finishes the run. */
static void test_train_full_disk(void)
{
    if (!robust_dmmp()) {
        tu_skip("train on a full disk", "the dmmp command is not built (set DMMP_BUILDDIR)");
        return;
    }
    char dir[512], data[600], ini[600], run[600], last[700], copy[600], log[600], out[8192];
    CU_ASSERT_FATAL(robust_e2e_fixture(dir, sizeof dir, data, ini, sizeof data));
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(last, sizeof last, "%s/last.h5", run);
    snprintf(copy, sizeof copy, "%s/last.copy", dir);
    snprintf(log, sizeof log, "%s/full.log", dir);
    const char *first[] = {"train", "--config", ini, "--data", data, "--out", run, NULL};
    CU_ASSERT_FATAL(robust_expect_exit(first, 0, 0, NULL, out, sizeof out));
    CU_ASSERT_FATAL(robust_copy(last, copy, -1));
    long limit = 600 << 10;
    TU_ASSERT_MSG(robust_file_size(last) > limit, "last.h5 is %ld bytes, not above the limit", robust_file_size(last));

    const char *resume[] = {"train", "--config", ini, "--data", data, "--out", run, "--resume",
                            "--set", "train.epochs=2", NULL};
    pid_t pid = spawn_dmmp(resume, log, limit);
    CU_ASSERT_FATAL(pid > 0);
    int status = 0;
    waitpid(pid, &status, 0);
    size_t n = 0;
    unsigned char *text = slurp(log, &n);
    if (!text) n = 0;
    if (n >= sizeof out) n = sizeof out - 1;
    if (n) memcpy(out, text, n);
    out[n] = '\0';
    free(text);
    TU_ASSERT_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %#x, expected exit 1; output:\n%s", status,
                  out);
    ASSERT_HAS(out, strerror(EFBIG));
    ASSERT_HAS(out, run);
    /* HDF5's raw multi-line dump is condensed to the reason. */
    TU_ASSERT_MSG(strstr(out, "time =") == NULL && strstr(out, "buf = 0x") == NULL, "raw HDF5 dump:\n%s", out);
    TU_ASSERT_MSG(same_bytes(last, copy), "%s changed under a failed save", last);
    CU_ASSERT_EQUAL(count_prefixed(run, ".last.h5.tmp-"), 0);
    CU_ASSERT_EQUAL(count_prefixed(run, ".checkpoint.h5.tmp-"), 0);
    CU_ASSERT_EQUAL(count_prefixed(run, ".results.h5.tmp-"), 0);

    CU_ASSERT(robust_expect_exit(resume, 0, 0, "trained 2 epochs", out, sizeof out));
    CU_ASSERT(!same_bytes(last, copy));
}

int register_robust_atomic_suites(void)
{
    static const char *const names[] = {
        "dmmp data synth over a dataset, SIGKILL midway: old file intact, leftover removed next time",
        "results.h5 rewritten, SIGKILL midway: old or whole new record, never a mix",
        "dmmp train on a full disk (RLIMIT_FSIZE): exit 1 naming EFBIG, last.h5 intact, resumable",
    };
    static const CU_TestFunc tests[] = {test_synth_killed, test_results_killed, test_train_full_disk};
    return tu_add_suite("robust_atomic", names, tests, sizeof tests / sizeof tests[0]);
}
