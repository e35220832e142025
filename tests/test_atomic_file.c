/* Atomic files: temporary names, replacement, a failed rename, stale
 * temporaries of dead writers, and a full disk (RLIMIT_FSIZE) in a forked
 * writer keeping the previous file. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckpt_testutil.h"
#include "core/atomic_file.h"
#include "core/status.h"
#include "testutil.h"

/* ---- data_atomic ---------------------------------------------------------- */

static void test_tmp_path_names(void)
{
    char a[256], b[256], expect[64];
    snprintf(expect, sizeof expect, "dir/sub/.ck.h5.tmp-%ld-", (long)getpid());
    CU_ASSERT_EQUAL(atomic_tmp_path("dir/sub/ck.h5", a, sizeof a), DMMP_OK);
    CU_ASSERT_EQUAL(atomic_tmp_path("dir/sub/ck.h5", b, sizeof b), DMMP_OK);
    ASSERT_HAS(a, expect);
    TU_ASSERT_MSG(strcmp(a, b) != 0, "two temporaries share the name %s", a);
    CU_ASSERT_EQUAL(atomic_tmp_path("ck.h5", a, sizeof a), DMMP_OK);
    CU_ASSERT_EQUAL(strncmp(a, ".ck.h5.tmp-", 11), 0);
    CU_ASSERT_EQUAL(atomic_tmp_path("/ck.h5", a, sizeof a), DMMP_OK);
    CU_ASSERT_EQUAL(strncmp(a, "/.ck.h5.tmp-", 12), 0);
    CU_ASSERT_NOT_EQUAL(atomic_tmp_path("dir/", a, sizeof a), DMMP_OK);
    ASSERT_HAS(dmmp_errmsg(), "dir/");
    CU_ASSERT_NOT_EQUAL(atomic_tmp_path("dir/ck.h5", a, 12), DMMP_OK);
    ASSERT_HAS(dmmp_errmsg(), "12 bytes");
}

static void test_write_text_replaces(void)
{
    char dir[256], path[512];
    size_t n;
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/report.txt", dir);
    CU_ASSERT_EQUAL(atomic_write_text(path, "first\n", 6), DMMP_OK);
    CU_ASSERT_EQUAL(atomic_write_text(path, "second line\n", 12), DMMP_OK);
    unsigned char *got = slurp(path, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_EQUAL(n, 12);
    CU_ASSERT_EQUAL(memcmp(got, "second line\n", 12), 0);
    free(got);
    CU_ASSERT_EQUAL(atomic_write_text(path, "", 0), DMMP_OK);
    got = slurp(path, &n);
    CU_ASSERT_EQUAL(n, 0);
    free(got);
    CU_ASSERT_EQUAL(count_prefixed(dir, ".report.txt.tmp-"), 0);
    /* A directory that does not exist: the message names the path. */
    snprintf(path, sizeof path, "%s/missing/report.txt", dir);
    CU_ASSERT_NOT_EQUAL(atomic_write_text(path, "x", 1), DMMP_OK);
    ASSERT_HAS(dmmp_errmsg(), path);
    ASSERT_HAS(dmmp_errmsg(), strerror(ENOENT));
    remove_dir(dir);
}

static void test_commit_failure_keeps_both(void)
{
    /* rename(2) of a file over a non-empty directory fails (EISDIR): the
     * target must survive and the temporary be gone. */
    char dir[256], target[512], inner[600], tmp[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(target, sizeof target, "%s/final", dir);
    snprintf(inner, sizeof inner, "%s/keep", target);
    CU_ASSERT_EQUAL_FATAL(mkdir(target, 0755), 0);
    write_raw(inner, "k", 1);
    CU_ASSERT_EQUAL(atomic_tmp_path(target, tmp, sizeof tmp), DMMP_OK);
    write_raw(tmp, "new", 3);
    CU_ASSERT_NOT_EQUAL(atomic_commit(tmp, target), DMMP_OK);
    ASSERT_HAS(dmmp_errmsg(), tmp);
    ASSERT_HAS(dmmp_errmsg(), target);
    ASSERT_HAS(dmmp_errmsg(), "rename");
    CU_ASSERT_NOT_EQUAL(access(tmp, F_OK), 0);
    CU_ASSERT_EQUAL(access(inner, F_OK), 0);
    unlink(inner);
    rmdir(target);
    remove_dir(dir);
}

/* A pid that certainly belonged to a process that has exited: a reaped child. */
static pid_t dead_pid(void)
{
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    waitpid(pid, NULL, 0);
    return pid;
}

static void test_clean_stale_only_dead(void)
{
    char dir[256], path[512], p[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/x.h5", dir);
    pid_t dead = dead_pid();
    const char *keep_fmt[] = {"%s/.x.h5.tmp-%ld-0", "%s/.y.h5.tmp-%ld-0", "%s/.x.h5.tmp-%ld-zz", "%s/x.h5.tmp-%ld-1"};
    long keep_pid[] = {(long)getpid(), (long)dead, (long)dead, (long)dead};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, keep_fmt[i], dir, keep_pid[i]);
        write_raw(p, "k", 1);
    }
    char stale[600];
    snprintf(stale, sizeof stale, "%s/.x.h5.tmp-%ld-3", dir, (long)dead);
    write_raw(stale, "s", 1);
    int removed = -1;
    CU_ASSERT_EQUAL(atomic_clean_stale(path, &removed), DMMP_OK);
    CU_ASSERT_EQUAL(removed, 1);
    CU_ASSERT_NOT_EQUAL(access(stale, F_OK), 0);
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, keep_fmt[i], dir, keep_pid[i]);
        TU_ASSERT_MSG(access(p, F_OK) == 0, "%s was removed", p);
    }
    remove_dir(dir);
}

/* Child of the full-disk test: files may grow to 4 KiB only. */
static int write_text_over_limit(const char *path, char *msg, size_t len)
{
    struct rlimit lim = {4096, 4096};
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0) return 9;
    size_t n = 64 * 1024;
    char *text = malloc(n);
    if (!text) return 9;
    memset(text, 'y', n);
    dmmp_status s = atomic_write_text(path, text, n);
    free(text);
    snprintf(msg, len, "%s", dmmp_errmsg());
    return s == DMMP_OK ? 0 : 3;
}

static void test_write_text_full_disk(void)
{
    char dir[256], path[512], msg[2048];
    size_t n;
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/summary.txt", dir);
    CU_ASSERT_EQUAL(atomic_write_text(path, "old\n", 4), DMMP_OK);
    int status = run_forked(write_text_over_limit, path, msg, sizeof msg);
    TU_ASSERT_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 3, "child status %#x: %s", status, msg);
    ASSERT_HAS(msg, path);
    ASSERT_HAS(msg, strerror(EFBIG));
    ASSERT_HAS(msg, "of 65536 bytes");
    unsigned char *got = slurp(path, &n);
    CU_ASSERT(got && n == 4 && !memcmp(got, "old\n", 4));
    free(got);
    CU_ASSERT_EQUAL(count_prefixed(dir, ".summary.txt.tmp-"), 0);
    remove_dir(dir);
}

/* The up-front check of an output path: a directory, a missing directory and
 * a parent that is a file are refused naming the option and the path; a new
 * or an existing file in a writable directory passes. */
static void test_check_target(void)
{
    char dir[256], path[512], parent[512];
    tu_tmpdir(dir, sizeof dir);
    CU_ASSERT_EQUAL(atomic_check_target("--out", dir), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "--out");
    ASSERT_HAS(dmmp_errmsg(), "is a directory");
    snprintf(path, sizeof path, "%s/missing/x.h5", dir);
    snprintf(parent, sizeof parent, "%s/missing", dir);
    CU_ASSERT_EQUAL(atomic_check_target("--out", path), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), parent);
    ASSERT_HAS(dmmp_errmsg(), "does not exist");
    snprintf(path, sizeof path, "%s/x.h5", dir);
    CU_ASSERT_EQUAL(atomic_check_target("--out", path), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(atomic_write_text(path, "x", 1), DMMP_OK);
    CU_ASSERT_EQUAL(atomic_check_target("--out", path), DMMP_OK);
    snprintf(parent, sizeof parent, "%s/x.h5/y.h5", dir);
    CU_ASSERT_EQUAL(atomic_check_target("--out", parent), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "is not a directory");
    CU_ASSERT_EQUAL(atomic_check_target("--out", "x.h5/"), DMMP_EINVAL);
    remove_dir(dir);
}

int register_atomic_file_suite(void)
{
    static const char *const names[] = {
        "temporary names are hidden, per pid and unique",
        "write_text replaces the file and leaves no temporary",
        "a failed rename keeps the target and removes the temporary",
        "stale temporaries of dead writers only are removed",
        "write_text on a full disk (EFBIG) keeps the previous file",
        "an output path is checked before work: directory, missing directory",
    };
    static const CU_TestFunc tests[] = {
        test_tmp_path_names,
        test_write_text_replaces,
        test_commit_failure_keeps_both,
        test_clean_stale_only_dead,
        test_write_text_full_disk,
        test_check_target,
    };
    return tu_add_suite("data_atomic", names, tests, sizeof tests / sizeof tests[0]);
}
