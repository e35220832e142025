/* Helpers of the robust_* suites: small datasets, file copies, running the
 * built dmmp command, and surgical HDF5 edits that damage a valid file in
 * one place so each test knows exactly what the reader must report. */
#include "test_robust.h"

#include <fcntl.h>
#include <hdf5.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/synth.h"
#include "suites.h"

int robust_synth(const char *path, int64_t users, int64_t items, int64_t impressions, uint64_t seed)
{
    synth_config c;
    synth_config_default(&c);
    c.n_users = users;
    c.n_items = items;
    c.n_impressions = impressions;
    c.seed = seed;
    c.chunk_rows = 512;
    synth_summary sum;
    if (synth_generate(&c, path, &sum) != DMMP_OK) {
        printf("\n    synth %s: %s\n", path, dmmp_errmsg());
        return 0;
    }
    return 1;
}

int robust_put(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    size_t n = strlen(text);
    int ok = fwrite(text, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

int robust_copy(const char *src, const char *dst, long bytes)
{
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    int ok = in && out;
    char buf[1 << 16];
    long left = bytes;
    while (ok && (bytes < 0 || left > 0)) {
        size_t want = bytes < 0 || left > (long)sizeof buf ? sizeof buf : (size_t)left;
        size_t got = fread(buf, 1, want, in);
        if (got == 0) break;
        ok = fwrite(buf, 1, got, out) == got;
        left -= (long)got;
    }
    if (in) fclose(in);
    if (out && fclose(out) != 0) ok = 0;
    return ok;
}

long robust_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

int robust_same_bytes(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb) same = 0;
        if (ca == EOF || cb == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

const char *robust_dmmp(void)
{
    static char path[PATH_MAX + 16];
    const char *dir = getenv("DMMP_BUILDDIR");
    if (dir && *dir) {
        snprintf(path, sizeof path, "%s/dmmp", dir);
    } else {
        /* The test binary is BUILDDIR/tests/dmmp_tests. */
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) return NULL;
        exe[n] = '\0';
        for (int up = 0; up < 2; up++) {
            char *slash = strrchr(exe, '/');
            if (!slash) return NULL;
            *slash = '\0';
        }
        snprintf(path, sizeof path, "%s/dmmp", exe);
    }
    return access(path, X_OK) == 0 ? path : NULL;
}

int robust_run_dmmp(const char *const *args, char *output, size_t len)
{
    return robust_run_dmmp_env(args, NULL, output, len);
}

int robust_run_dmmp_env(const char *const *args, char *const *env, char *output, size_t len)
{
    const char *exe = robust_dmmp();
    if (!exe) return -1;
    char log[] = "/tmp/dmmp-robust-out-XXXXXX";
    int fd = mkstemp(log);
    if (fd < 0) return -1;
    const char *argv[64];
    int n = 0;
    argv[n++] = exe;
    for (int i = 0; args[i] && n < 63; i++) argv[n++] = args[i];
    argv[n] = NULL;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int null_in = open("/dev/null", O_RDONLY);
        if (null_in >= 0) dup2(null_in, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (env) execve(exe, (char *const *)argv, env);
        else execv(exe, (char *const *)argv);
        _exit(127);
    }
    int status = 0, code = -1;
    if (pid > 0 && waitpid(pid, &status, 0) == pid)
        code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
    ssize_t got = pread(fd, output, len - 1, 0);
    output[got > 0 ? got : 0] = '\0';
    close(fd);
    unlink(log);
    return code;
}

/* Opens file read-write with HDF5's error printing off. */
static hid_t open_rw(const char *file)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
}

int robust_h5_delete(const char *file, const char *path)
{
    hid_t f = open_rw(file);
    if (f < 0) return 0;
    int ok = H5Ldelete(f, path, H5P_DEFAULT) >= 0;
    return H5Fclose(f) >= 0 && ok;
}

/* Replaces path by a dataset of type `type` and extent dims (rank dims). */
static int replace_dataset(const char *file, const char *path, hid_t type, int shrink)
{
    hid_t f = open_rw(file);
    if (f < 0) return 0;
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    hid_t sp = d >= 0 ? H5Dget_space(d) : -1;
    hid_t old_type = d >= 0 ? H5Dget_type(d) : -1;
    hsize_t dims[2] = {0, 0};
    int rank = sp >= 0 ? H5Sget_simple_extent_dims(sp, dims, NULL) : -1;
    int ok = rank >= 1 && dims[0] > 0;
    if (shrink) dims[0] -= 1;
    hid_t use_type = type >= 0 ? type : old_type;
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    if (ok) ok = H5Ldelete(f, path, H5P_DEFAULT) >= 0;
    if (ok) {
        hid_t nsp = H5Screate_simple(rank, dims, NULL);
        hid_t nd = H5Dcreate2(f, path, use_type, nsp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        ok = nd >= 0;
        if (nd >= 0) H5Dclose(nd);
        H5Sclose(nsp);
    }
    if (old_type >= 0) H5Tclose(old_type);
    return H5Fclose(f) >= 0 && ok;
}

int robust_h5_retype_f32(const char *file, const char *path) { return replace_dataset(file, path, H5T_IEEE_F32LE, 0); }

int robust_h5_shrink(const char *file, const char *path) { return replace_dataset(file, path, -1, 1); }

static int set_element(const char *file, const char *path, int64_t row, int64_t col, hid_t mem_type,
                       const void *value)
{
    hid_t f = open_rw(file);
    if (f < 0) return 0;
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    int ok = d >= 0;
    if (ok) {
        hid_t fs = H5Dget_space(d);
        int rank = H5Sget_simple_extent_ndims(fs);
        hsize_t start[2] = {(hsize_t)row, (hsize_t)col}, count[2] = {1, 1};
        hid_t ms = H5Screate_simple(1, count, NULL);
        ok = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 && (rank == 2 || col == 0) &&
             H5Dwrite(d, mem_type, ms, fs, H5P_DEFAULT, value) >= 0;
        H5Sclose(ms);
        H5Sclose(fs);
        H5Dclose(d);
    }
    return H5Fclose(f) >= 0 && ok;
}

int robust_h5_set_i32(const char *file, const char *path, int64_t row, int64_t col, int32_t value)
{
    return set_element(file, path, row, col, H5T_NATIVE_INT32, &value);
}

int robust_h5_set_f32(const char *file, const char *path, int64_t row, int64_t col, float value)
{
    return set_element(file, path, row, col, H5T_NATIVE_FLOAT, &value);
}

int robust_h5_fill_u8(const char *file, const char *path, uint8_t value)
{
    hid_t f = open_rw(file);
    if (f < 0) return 0;
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    int ok = d >= 0;
    if (ok) {
        hid_t sp = H5Dget_space(d);
        hssize_t n = H5Sget_simple_extent_npoints(sp);
        uint8_t *buf = malloc((size_t)(n > 0 ? n : 1));
        ok = buf != NULL;
        if (ok) {
            memset(buf, value, (size_t)(n > 0 ? n : 1));
            ok = H5Dwrite(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
        }
        free(buf);
        H5Sclose(sp);
        H5Dclose(d);
    }
    return H5Fclose(f) >= 0 && ok;
}

int robust_h5_set_attr_i64(const char *file, const char *path, const char *name, const int64_t *v, int n)
{
    hid_t f = open_rw(file);
    if (f < 0) return 0;
    hid_t obj = H5Oopen(f, path, H5P_DEFAULT);
    int ok = obj >= 0;
    if (ok && H5Aexists(obj, name) > 0) ok = H5Adelete(obj, name) >= 0;
    if (ok) {
        hsize_t dims[1] = {(hsize_t)n};
        hid_t sp = n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, NULL);
        hid_t a = H5Acreate2(obj, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
        ok = a >= 0 && H5Awrite(a, H5T_NATIVE_INT64, v) >= 0;
        if (a >= 0) H5Aclose(a);
        H5Sclose(sp);
    }
    if (obj >= 0) H5Oclose(obj);
    return H5Fclose(f) >= 0 && ok;
}

int register_robust_suites(void)
{
    if (register_robust_data_suites() != 0) return -1;
    if (register_robust_cli_suites() != 0) return -1;
    if (register_robust_omp_wait_suites() != 0) return -1;
    if (register_robust_determinism_suites() != 0) return -1;
    return register_robust_regression_suites();
}
