/* A checkpoint writer dying or running out of disk midway, in a forked child
 * over an existing good checkpoint: the good file must read back unchanged,
 * nothing half-written may appear under its name, and a killed writer's
 * temporary must be removed by the next writer of the same path. */
#include <dirent.h>
#include <omp.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckpt_testutil.h"
#include "core/rng.h"
#include "core/status.h"
#include "testutil.h"
#include "train/checkpoint.h"

#define GOOD_N 5000

static void good_values(float *v)
{
    rng r;
    rng_seed(&r, 99);
    tu_fill(&r, v, GOOD_N, -1, 1);
}

static void write_good(const char *path)
{
    float v[GOOD_N];
    const int64_t d[] = {GOOD_N};
    good_values(v);
    ckpt_writer *w;
    CU_ASSERT_EQUAL_FATAL(ckpt_writer_open(&w, path), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_f32(w, "student/user_tower/W", v, 1, d), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_attr_i64(w, "step", 1000), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(ckpt_writer_commit(w), DMMP_OK);
}

/* The good checkpoint reads back exactly, and its bytes equal the copy. */
static void expect_good(const char *path, const char *copy)
{
    float v[GOOD_N], back[GOOD_N];
    const int64_t d[] = {GOOD_N};
    int64_t step = 0;
    good_values(v);
    ckpt_reader *r;
    CU_ASSERT_EQUAL_FATAL(ckpt_reader_open(&r, path), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_get_f32(r, "student/user_tower/W", back, 1, d), DMMP_OK);
    CU_ASSERT_EQUAL(memcmp(back, v, sizeof v), 0);
    CU_ASSERT_EQUAL(ckpt_get_attr_i64(r, "step", &step), DMMP_OK);
    CU_ASSERT_EQUAL(step, 1000);
    ckpt_reader_close(r);
    TU_ASSERT_MSG(same_bytes(path, copy), "%s changed", path);
}

static void copy_file(const char *from, const char *to)
{
    size_t n;
    unsigned char *b = slurp(from, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    write_raw(to, b, n);
    free(b);
}

/* Writes 128 KiB datasets, pausing between them, for far longer than the
 * parent waits before SIGKILL (800 of them would be 100 MiB). */
static void slow_writer(const char *path)
{
    enum { N = 32768 };
    float *v = malloc(N * sizeof(float));
    const int64_t d[] = {N};
    char name[64];
    ckpt_writer *w;
    if (!v || ckpt_writer_open(&w, path) != DMMP_OK) _exit(9);
    for (int i = 0; i < N; i++) v[i] = (float)i;
    for (int k = 0; k < 800; k++) {
        snprintf(name, sizeof name, "layer%d/W", k);
        if (ckpt_put_f32(w, name, v, 1, d) != DMMP_OK) _exit(8);
        sleep_ms(2);
    }
    _exit(ckpt_writer_commit(w) == DMMP_OK ? 0 : 7);
}

static void test_sigkill_midway(void)
{
    char dir[256], path[512], copy[512], child_prefix[128];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/ckpt.h5", dir);
    snprintf(copy, sizeof copy, "%s/copy", dir);
    write_good(path);
    copy_file(path, copy);
    fflush(stdout);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) slow_writer(path);
    snprintf(child_prefix, sizeof child_prefix, ".ckpt.h5.tmp-%ld-", (long)pid);
    /* Kill once the child has put more than 1 MiB into its temporary. */
    char tmp[700] = "";
    struct stat st;
    int ready = 0;
    for (int waited = 0; waited < 10000 && !ready; waited += 2) {
        if (!tmp[0] && count_prefixed(dir, child_prefix) == 1) {
            DIR *d = opendir(dir);
            for (struct dirent *e = d ? readdir(d) : NULL; e; e = readdir(d))
                if (!strncmp(e->d_name, child_prefix, strlen(child_prefix)))
                    snprintf(tmp, sizeof tmp, "%s/%s", dir, e->d_name);
            if (d) closedir(d);
        }
        ready = tmp[0] && stat(tmp, &st) == 0 && st.st_size > (1 << 20);
        if (!ready) sleep_ms(2);
    }
    TU_ASSERT_MSG(ready, "the child's temporary never passed 1 MiB");
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    TU_ASSERT_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child was not killed midway (status %#x)",
                  status);
    expect_good(path, copy);
    CU_ASSERT_EQUAL(count_prefixed(dir, child_prefix), 1);
    /* The next writer of the path removes the dead writer's temporary. */
    ckpt_writer *w;
    CU_ASSERT_EQUAL_FATAL(ckpt_writer_open(&w, path), DMMP_OK);
    CU_ASSERT_EQUAL(count_prefixed(dir, child_prefix), 0);
    ckpt_writer_abort(w);
    CU_ASSERT_EQUAL(count_prefixed(dir, ".ckpt.h5.tmp-"), 0);
    expect_good(path, copy);
    remove_dir(dir);
}

/* Children of the full-disk test: files may grow to 256 KiB only; SIGXFSZ
 * is ignored so writes fail with EFBIG as on a full disk. The child commits
 * whatever happened, as a trainer would, and reports the first error. */
static int write_over_limit(const char *path, char *msg, size_t len, int big)
{
    struct rlimit lim = {256 << 10, 256 << 10};
    omp_set_num_threads(1); /* forked after OpenMP ran: see checkpoint.h */
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0) return 9;
    enum { N = 1 << 20, SMALL = 1000 };
    float *v = malloc(N * sizeof(float));
    if (!v) return 9;
    rng r;
    rng_seed(&r, 4);
    /* Random mantissas: deflate cannot squeeze 4 MiB under the limit. */
    tu_fill(&r, v, N, -1, 1);
    ckpt_writer *w;
    if (ckpt_writer_open(&w, path) != DMMP_OK) return 9;
    dmmp_status first = DMMP_OK;
    char name[64];
    if (big) {
        const int64_t d[] = {N};
        first = ckpt_put_f32(w, "emb/table", v, 1, d);
    } else {
        /* Small contiguous datasets go through HDF5's buffers, so the
         * failure may surface at a later put or only at flush. */
        const int64_t d[] = {SMALL};
        for (int k = 0; k < 200 && first == DMMP_OK; k++) {
            snprintf(name, sizeof name, "mlp/layer%d/W", k);
            first = ckpt_put_f32(w, name, v + (size_t)k * SMALL, 1, d);
        }
    }
    if (first != DMMP_OK) snprintf(msg, len, "%s", dmmp_errmsg());
    dmmp_status s = ckpt_writer_commit(w);
    if (first == DMMP_OK) snprintf(msg, len, "%s", dmmp_errmsg());
    free(v);
    return s == DMMP_OK ? 0 : 3;
}

static int write_big_over_limit(const char *path, char *msg, size_t len) { return write_over_limit(path, msg, len, 1); }

static int write_small_over_limit(const char *path, char *msg, size_t len)
{
    return write_over_limit(path, msg, len, 0);
}

static void full_disk_case(int (*child)(const char *, char *, size_t))
{
    char dir[256], path[512], copy[512], msg[2048], expect[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/ckpt.h5", dir);
    snprintf(copy, sizeof copy, "%s/copy", dir);
    write_good(path);
    copy_file(path, copy);
    int status = run_forked(child, path, msg, sizeof msg);
    TU_ASSERT_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 3, "child status %#x: %s", status, msg);
    snprintf(expect, sizeof expect, "writing checkpoint %s: ", path);
    ASSERT_HAS(msg, expect);
    ASSERT_HAS(msg, strerror(EFBIG));
    expect_good(path, copy);
    CU_ASSERT_EQUAL(count_prefixed(dir, ".ckpt.h5.tmp-"), 0);
    remove_dir(dir);
}

static void test_full_disk_large_put(void) { full_disk_case(write_big_over_limit); }

static void test_full_disk_small_puts(void) { full_disk_case(write_small_over_limit); }

int register_checkpoint_fault_suite(void)
{
    static const char *const names[] = {
        "SIGKILL midway keeps the old checkpoint; next writer cleans up",
        "full disk in a large put: error, old checkpoint intact",
        "full disk across small puts: error, old checkpoint intact",
    };
    static const CU_TestFunc tests[] = {
        test_sigkill_midway,
        test_full_disk_large_put,
        test_full_disk_small_puts,
    };
    return tu_add_suite("train_checkpoint_faults", names, tests, sizeof tests / sizeof tests[0]);
}
