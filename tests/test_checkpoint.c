/* HDF5 checkpoints: round trips of every type and rank, chunked large
 * arrays, identical bytes for identical content, and a clear message for
 * every way a file or a request can be wrong. */
#include <errno.h>
#include <hdf5.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt_testutil.h"
#include "core/rng.h"
#include "core/status.h"
#include "suites.h"
#include "testutil.h"
#include "train/checkpoint.h"

/* ---- train_checkpoint: round trips ---------------------------------------- */

static void test_roundtrip_every_type(void)
{
    char dir[256], path[512];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.h5", dir);
    rng r;
    rng_seed(&r, 11);
    float s0 = 3.25f, v1[5], m2[12], t3[24];
    tu_fill(&r, v1, 5, -1, 1);
    tu_fill(&r, m2, 12, -1, 1);
    tu_fill(&r, t3, 24, -1e6f, 1e6f);
    /* Not representable as float: a float32 detour would change them. */
    const double d2[6] = {0.1, 1.0 / 3.0, -2.5e-300, 1e300, 0.0, -7.0};
    const int64_t i1[4] = {INT64_MIN, -1, 0, INT64_MAX};
    const int32_t i2[4] = {INT32_MIN, -7, 65536, INT32_MAX};
    const uint8_t u1[3] = {0, 255, 7};
    const int64_t step0 = 987654321012345LL;
    const int64_t dv1[] = {5}, dm2[] = {3, 4}, dt3[] = {2, 3, 4}, dd2[] = {2, 3}, di1[] = {4}, di2[] = {2, 2},
                  du1[] = {3}, dz[] = {0}, dz2[] = {4, 0};
    const char *ini = "[train]\nlearning_rate = 0.001\n# caf\xc3\xa9\n";

    ckpt_writer *w;
    CU_ASSERT_EQUAL_FATAL(ckpt_writer_open(&w, path), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_f32(w, "scalar", &s0, 0, NULL), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_f32(w, "teacher/level0/expert1/b", v1, 1, dv1), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_f32(w, "teacher/level0/expert1/W", m2, 2, dm2), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_f32(w, "student/user_tower/t3", t3, 3, dt3), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_f64(w, "optim/f64", d2, 2, dd2), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_i64(w, "optim/counts", i1, 1, di1), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_i64(w, "optim/step", &step0, 0, NULL), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_i32(w, "ids/i32", i2, 2, di2), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_u8(w, "mask", u1, 1, du1), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_f32(w, "empty", NULL, 1, dz), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_u8(w, "empty2", NULL, 2, dz2), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_string(w, "config/ini", ini), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_string(w, "config/empty", ""), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_attr_i64(w, "step", -42), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_attr_f64(w, "best_auc", 0.1), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_attr_string(w, "commit", "0b9e0da"), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_attr_string(w, "note", ""), DMMP_OK);
    /* Nothing under the final name until commit. */
    CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
    CU_ASSERT_EQUAL(access(ckpt_writer_tmp_path(w), F_OK), 0);
    CU_ASSERT_EQUAL_FATAL(ckpt_writer_commit(w), DMMP_OK);
    CU_ASSERT_EQUAL(count_prefixed(dir, ".model.h5.tmp-"), 0);

    ckpt_reader *rd;
    CU_ASSERT_EQUAL_FATAL(ckpt_reader_open(&rd, path), DMMP_OK);
    float gs0 = 0, gv1[5], gm2[12], gt3[24];
    double gd2[6];
    int64_t gi1[4], gstep = 0;
    int32_t gi2[4];
    uint8_t gu1[3];
    CU_ASSERT_EQUAL(ckpt_get_f32(rd, "scalar", &gs0, 0, NULL), DMMP_OK);
    CU_ASSERT_EQUAL(gs0, 3.25f);
    CU_ASSERT_EQUAL(ckpt_get_f32(rd, "teacher/level0/expert1/b", gv1, 1, dv1), DMMP_OK);
    CU_ASSERT_EQUAL(memcmp(gv1, v1, sizeof v1), 0);
    CU_ASSERT_EQUAL(ckpt_get_f32(rd, "teacher/level0/expert1/W", gm2, 2, dm2), DMMP_OK);
    CU_ASSERT_EQUAL(memcmp(gm2, m2, sizeof m2), 0);
    CU_ASSERT_EQUAL(ckpt_get_f32(rd, "student/user_tower/t3", gt3, 3, dt3), DMMP_OK);
    CU_ASSERT_EQUAL(memcmp(gt3, t3, sizeof t3), 0);
    CU_ASSERT_EQUAL(ckpt_get_f64(rd, "optim/f64", gd2, 2, dd2), DMMP_OK);
    CU_ASSERT_EQUAL(memcmp(gd2, d2, sizeof d2), 0);
    CU_ASSERT_EQUAL(ckpt_get_i64(rd, "optim/counts", gi1, 1, di1), DMMP_OK);
    CU_ASSERT_EQUAL(memcmp(gi1, i1, sizeof i1), 0);
    CU_ASSERT_EQUAL(ckpt_get_i64(rd, "optim/step", &gstep, 0, NULL), DMMP_OK);
    CU_ASSERT_EQUAL(gstep, step0);
    CU_ASSERT_EQUAL(ckpt_get_i32(rd, "ids/i32", gi2, 2, di2), DMMP_OK);
    CU_ASSERT_EQUAL(memcmp(gi2, i2, sizeof i2), 0);
    CU_ASSERT_EQUAL(ckpt_get_u8(rd, "mask", gu1, 1, du1), DMMP_OK);
    CU_ASSERT_EQUAL(memcmp(gu1, u1, sizeof u1), 0);
    CU_ASSERT_EQUAL(ckpt_get_f32(rd, "empty", NULL, 1, dz), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_get_u8(rd, "empty2", NULL, 2, dz2), DMMP_OK);

    int rank = -1;
    int64_t dims[CKPT_MAX_RANK];
    CU_ASSERT_EQUAL(ckpt_get_shape(rd, "student/user_tower/t3", &rank, dims), DMMP_OK);
    CU_ASSERT(rank == 3 && dims[0] == 2 && dims[1] == 3 && dims[2] == 4);
    CU_ASSERT_EQUAL(ckpt_get_shape(rd, "scalar", &rank, dims), DMMP_OK);
    CU_ASSERT_EQUAL(rank, 0);

    char *text = NULL;
    CU_ASSERT_EQUAL(ckpt_get_string(rd, "config/ini", &text), DMMP_OK);
    CU_ASSERT(text && !strcmp(text, ini));
    free(text);
    CU_ASSERT_EQUAL(ckpt_get_string(rd, "config/empty", &text), DMMP_OK);
    CU_ASSERT(text && !strcmp(text, ""));
    free(text);

    int64_t a_step = 0, version = 0;
    double auc = 0;
    CU_ASSERT_EQUAL(ckpt_get_attr_i64(rd, "step", &a_step), DMMP_OK);
    CU_ASSERT_EQUAL(a_step, -42);
    CU_ASSERT_EQUAL(ckpt_get_attr_f64(rd, "best_auc", &auc), DMMP_OK);
    CU_ASSERT_EQUAL(auc, 0.1);
    CU_ASSERT_EQUAL(ckpt_get_attr_i64(rd, "format_version", &version), DMMP_OK);
    CU_ASSERT_EQUAL(version, CKPT_FORMAT_VERSION);
    CU_ASSERT_EQUAL(ckpt_get_attr_string(rd, "commit", &text), DMMP_OK);
    CU_ASSERT(text && !strcmp(text, "0b9e0da"));
    free(text);
    CU_ASSERT_EQUAL(ckpt_get_attr_string(rd, "note", &text), DMMP_OK);
    CU_ASSERT(text && !strcmp(text, ""));
    free(text);

    CU_ASSERT_EQUAL(ckpt_has(rd, "teacher/level0/expert1/W"), 1);
    CU_ASSERT_EQUAL(ckpt_has(rd, "teacher/level0"), 1);
    CU_ASSERT_EQUAL(ckpt_has(rd, "teacher/level1/expert1/W"), 0);
    CU_ASSERT_EQUAL(ckpt_has(rd, "scalar/inside"), 0);
    CU_ASSERT_EQUAL(ckpt_has(rd, "nope"), 0);
    CU_ASSERT_EQUAL(ckpt_has(rd, "a//b"), 0);
    ckpt_reader_close(rd);
    remove_dir(dir);
}

/* Layout of dataset name as stored: H5D_CONTIGUOUS or H5D_CHUNKED, and
 * whether the deflate filter is on. */
static H5D_layout_t stored_layout(const char *path, const char *name, int *deflated)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    hid_t dcpl = H5Dget_create_plist(d);
    H5D_layout_t layout = H5Pget_layout(dcpl);
    *deflated = 0;
    for (int i = 0; i < H5Pget_nfilters(dcpl); i++) {
        unsigned flags, cd[8];
        size_t ncd = 8;
        char fname[64];
        if (H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd, sizeof fname, fname, NULL) == H5Z_FILTER_DEFLATE)
            *deflated = cd[0] == 1 ? 1 : -1;
    }
    H5Pclose(dcpl);
    H5Dclose(d);
    H5Fclose(f);
    return layout;
}

/* Filter mask of the first stored chunk of name: 0 when shuffle and deflate
 * were applied, 3 when both were skipped (stored raw). */
static unsigned first_chunk_mask(const char *path, const char *name)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    hid_t space = H5Dget_space(d);
    hsize_t offset[CKPT_MAX_RANK];
    unsigned mask = 99;
    haddr_t addr;
    hsize_t size;
    if (H5Dget_chunk_info(d, space, 0, offset, &mask, &addr, &size) < 0) mask = 99;
    H5Sclose(space);
    H5Dclose(d);
    H5Fclose(f);
    return mask;
}

/* Large arrays are chunked and deflated (level 1), with chunk edges that do
 * not divide the shape; small ones contiguous; all read back exactly. */
static void test_large_arrays_chunked(void)
{
    char dir[256], path[512];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/big.h5", dir);
    const int64_t d_wide[] = {2, 300001}, d_cube[] = {3, 701, 200}, d_small[] = {100, 10};
    const int64_t d_noise[] = {1500000}, d_zeros[] = {1000, 2000};
    size_t n_noise = 1500000, n_zeros = 2000000;
    size_t n_wide = 2 * 300001, n_cube = 3 * 701 * 200;
    float *wide = malloc(n_wide * sizeof(float)), *cube = malloc(n_cube * sizeof(float));
    float *back = malloc(n_wide * sizeof(float)), small[1000], small_back[1000];
    CU_ASSERT_PTR_NOT_NULL_FATAL(wide && cube && back);
    rng r;
    rng_seed(&r, 5);
    tu_fill(&r, wide, n_wide, -0.05f, 0.05f);
    tu_fill(&r, cube, n_cube, -3, 3);
    tu_fill(&r, small, 1000, -1, 1);
    /* Random bytes do not deflate: those chunks are stored raw. */
    uint8_t *noise = malloc(n_noise), *noise_back = malloc(n_noise);
    int32_t *zeros = calloc(n_zeros, sizeof(int32_t)), *zeros_back = malloc(n_zeros * sizeof(int32_t));
    CU_ASSERT_PTR_NOT_NULL_FATAL(noise && noise_back && zeros && zeros_back);
    for (size_t k = 0; k < n_noise; k++) noise[k] = (uint8_t)(rng_u64(&r) >> 56);
    for (size_t k = 0; k < n_zeros; k += 997) zeros[k] = (int32_t)k;
    ckpt_writer *w;
    CU_ASSERT_EQUAL_FATAL(ckpt_writer_open(&w, path), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_f32(w, "emb/wide", wide, 2, d_wide), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_f32(w, "cube", cube, 3, d_cube), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_f32(w, "small", small, 2, d_small), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_u8(w, "noise", noise, 1, d_noise), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_i32(w, "zeros", zeros, 2, d_zeros), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(ckpt_writer_commit(w), DMMP_OK);
    /* Raw size: 2.4 + 1.7 + 1.5 + 8 MB; floats in [-0.05, 0.05) and [-3, 3)
     * shrink by a few percent and the mostly-zero int32 array to almost
     * nothing, so the file must be well under the sum. */
    struct stat st;
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    size_t raw = (n_wide + n_cube) * sizeof(float) + n_noise + n_zeros * sizeof(int32_t);
    TU_ASSERT_MSG((size_t)st.st_size < raw / 2, "file %lld bytes for %zu raw", (long long)st.st_size, raw);
    int deflated;
    CU_ASSERT_EQUAL(stored_layout(path, "emb/wide", &deflated), H5D_CHUNKED);
    CU_ASSERT_EQUAL(deflated, 1);
    CU_ASSERT_EQUAL(stored_layout(path, "cube", &deflated), H5D_CHUNKED);
    CU_ASSERT_EQUAL(deflated, 1);
    /* Small arrays sit compact in their checksummed object header. */
    CU_ASSERT_EQUAL(stored_layout(path, "small", &deflated), H5D_COMPACT);
    CU_ASSERT_EQUAL(deflated, 0);
    ckpt_reader *rd;
    CU_ASSERT_EQUAL_FATAL(ckpt_reader_open(&rd, path), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_get_f32(rd, "emb/wide", back, 2, d_wide), DMMP_OK);
    CU_ASSERT_EQUAL(memcmp(back, wide, n_wide * sizeof(float)), 0);
    CU_ASSERT_EQUAL(ckpt_get_f32(rd, "cube", back, 3, d_cube), DMMP_OK);
    CU_ASSERT_EQUAL(memcmp(back, cube, n_cube * sizeof(float)), 0);
    CU_ASSERT_EQUAL(ckpt_get_f32(rd, "small", small_back, 2, d_small), DMMP_OK);
    CU_ASSERT_EQUAL(memcmp(small_back, small, sizeof small), 0);
    CU_ASSERT_EQUAL(ckpt_get_u8(rd, "noise", noise_back, 1, d_noise), DMMP_OK);
    CU_ASSERT_EQUAL(memcmp(noise_back, noise, n_noise), 0);
    CU_ASSERT_EQUAL(ckpt_get_i32(rd, "zeros", zeros_back, 2, d_zeros), DMMP_OK);
    CU_ASSERT_EQUAL(memcmp(zeros_back, zeros, n_zeros * sizeof(int32_t)), 0);
    ckpt_reader_close(rd);
    CU_ASSERT_EQUAL(stored_layout(path, "noise", &deflated), H5D_CHUNKED);
    CU_ASSERT_EQUAL(first_chunk_mask(path, "noise"), 3);
    CU_ASSERT_EQUAL(first_chunk_mask(path, "zeros"), 0);
    CU_ASSERT_EQUAL(first_chunk_mask(path, "cube"), 0);
    free(noise);
    free(noise_back);
    free(zeros);
    free(zeros_back);
    free(wide);
    free(cube);
    free(back);
    remove_dir(dir);
}

static void write_fixed_content(const char *path, const float *big, int64_t n_big)
{
    const float b[3] = {1, 2, 3};
    const int64_t db[] = {3}, dbig[] = {n_big};
    ckpt_writer *w;
    CU_ASSERT_EQUAL_FATAL(ckpt_writer_open(&w, path), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_f32(w, "teacher/level0/expert0/b", b, 1, db), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_f32(w, "teacher/embeddings/user", big, 1, dbig), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_string(w, "config", "[model]\nkind = dmmp\n"), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_attr_i64(w, "step", 7), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_writer_commit(w), DMMP_OK);
}

static herr_t find_time_stamp(hid_t obj, const char *name, const H5O_info_t *info, void *stamped)
{
    (void)obj;
    if (info->atime || info->mtime || info->ctime || info->btime) {
        printf("\n    object %s carries a time stamp\n", name);
        ++*(int *)stamped;
    }
    return 0;
}

/* Determinism tests compare checkpoint files byte for byte: identical content
 * must give identical bytes. The byte comparison alone could pass by luck
 * (both files written within one second), so the stored time stamps of every
 * object are also checked to be absent. */
static void test_identical_content_identical_bytes(void)
{
    char dir[256], a[512], b[512];
    tu_tmpdir(dir, sizeof dir);
    snprintf(a, sizeof a, "%s/a.h5", dir);
    snprintf(b, sizeof b, "%s/b.h5", dir);
    const int64_t n = 1200000; /* 5 chunks: more than one parallel batch */
    float *big = malloc((size_t)n * sizeof(float));
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    rng r;
    rng_seed(&r, 3);
    tu_fill(&r, big, (size_t)n, -1, 1);
    write_fixed_content(a, big, n);
    /* The second copy on one thread: the bytes must not depend on it. */
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    write_fixed_content(b, big, n);
    omp_set_num_threads(threads);
    TU_ASSERT_MSG(same_bytes(a, b), "%s and %s differ", a, b);
    hid_t f = H5Fopen(a, H5F_ACC_RDONLY, H5P_DEFAULT);
    int stamped = 0;
    CU_ASSERT(H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, find_time_stamp, &stamped, H5O_INFO_TIME) >= 0);
    CU_ASSERT_EQUAL(stamped, 0);
    H5Fclose(f);
    /* Different content must not give the same bytes (the comparison works). */
    big[n / 2] += 1.0f;
    write_fixed_content(b, big, n);
    CU_ASSERT_FALSE(same_bytes(a, b));
    free(big);
    remove_dir(dir);
}

/* ---- train_checkpoint: error messages ------------------------------------- */

/* Expects s to be a failure whose message holds every non-NULL part. */
static void expect_error(dmmp_status s, const char *a, const char *b, const char *c)
{
    TU_ASSERT_MSG(s != DMMP_OK, "call succeeded, expected an error mentioning '%s'", a);
    const char *m = dmmp_errmsg();
    if (a) ASSERT_HAS(m, a);
    if (b) ASSERT_HAS(m, b);
    if (c) ASSERT_HAS(m, c);
}

static void write_small_checkpoint(const char *path)
{
    float W[12] = {0};
    const double d[2] = {1, 2};
    const int64_t dW[] = {3, 4}, dd[] = {2};
    ckpt_writer *w;
    CU_ASSERT_EQUAL_FATAL(ckpt_writer_open(&w, path), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_f32(w, "W", W, 2, dW), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_f64(w, "d", d, 1, dd), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_f64(w, "g/x", d, 1, dd), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_attr_string(w, "commit", "abc"), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(ckpt_writer_commit(w), DMMP_OK);
}

static void test_reader_dataset_errors(void)
{
    char dir[256], path[512];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/ck.h5", dir);
    write_small_checkpoint(path);
    ckpt_reader *r;
    CU_ASSERT_EQUAL_FATAL(ckpt_reader_open(&r, path), DMMP_OK);
    float f[12];
    double d[12];
    int32_t i[12];
    char *s = NULL;
    int64_t v;
    double x;
    expect_error(ckpt_get_f32(r, "teacher/W", f, 2, (const int64_t[]){3, 4}), path, "dataset teacher/W is missing",
                 NULL);
    expect_error(ckpt_get_f32(r, "W", f, 2, (const int64_t[]){4, 3}), path, "W has shape [3, 4], expected [4, 3]",
                 NULL);
    expect_error(ckpt_get_f32(r, "W", f, 1, (const int64_t[]){12}), path, "W has shape [3, 4], expected [12]", NULL);
    expect_error(ckpt_get_f32(r, "W", f, 0, NULL), path, "W has shape [3, 4], expected []", NULL);
    expect_error(ckpt_get_f64(r, "W", d, 2, (const int64_t[]){3, 4}), path, "W is float32, expected float64", NULL);
    expect_error(ckpt_get_i32(r, "d", i, 1, (const int64_t[]){2}), path, "d is float64, expected int32", NULL);
    expect_error(ckpt_get_f64(r, "g", d, 1, (const int64_t[]){2}), path, "g is a group", NULL);
    expect_error(ckpt_get_string(r, "W", &s), path, "W has rank 2", NULL);
    expect_error(ckpt_get_string(r, "nope", &s), path, "nope is missing", NULL);
    expect_error(ckpt_get_shape(r, "g/y", &(int){0}, (int64_t[CKPT_MAX_RANK]){0}), path, "g/y is missing", NULL);
    expect_error(ckpt_get_attr_i64(r, "step", &v), path, "attribute step is missing", NULL);
    expect_error(ckpt_get_attr_f64(r, "commit", &x), path, "commit is string", "expected one float64");
    expect_error(ckpt_get_attr_string(r, "format_version", &s), path, "format_version is int64", "string");
    expect_error(ckpt_get_f32(r, "a//b", f, 0, NULL), path, "a//b", "empty");
    CU_ASSERT_PTR_NULL(s);
    /* The reader still works after every failure above. */
    CU_ASSERT_EQUAL(ckpt_get_f32(r, "W", f, 2, (const int64_t[]){3, 4}), DMMP_OK);
    ckpt_reader_close(r);
    remove_dir(dir);
}

static void set_format_version(const char *path, int64_t version)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t a = H5Aopen(f, "format_version", H5P_DEFAULT);
    CU_ASSERT(a >= 0 && H5Awrite(a, H5T_NATIVE_INT64, &version) >= 0);
    H5Aclose(a);
    H5Fclose(f);
}

static void test_reader_file_errors(void)
{
    char dir[256], path[512];
    ckpt_reader *r = NULL;
    tu_tmpdir(dir, sizeof dir);

    snprintf(path, sizeof path, "%s/absent.h5", dir);
    expect_error(ckpt_reader_open(&r, path), path, strerror(ENOENT), NULL);
    expect_error(ckpt_reader_open(&r, dir), dir, "not a regular file", NULL);

    snprintf(path, sizeof path, "%s/garbage.h5", dir);
    unsigned char junk[4096];
    rng g;
    rng_seed(&g, 17);
    for (size_t k = 0; k < sizeof junk; k++) junk[k] = (unsigned char)rng_u64(&g);
    write_raw(path, junk, sizeof junk);
    expect_error(ckpt_reader_open(&r, path), path, "not an HDF5 file", NULL);
    snprintf(path, sizeof path, "%s/empty.h5", dir);
    write_raw(path, "", 0);
    expect_error(ckpt_reader_open(&r, path), path, "not an HDF5 file", NULL);

    /* Half of a real checkpoint: the superblock is there, the rest is not. */
    snprintf(path, sizeof path, "%s/truncated.h5", dir);
    write_small_checkpoint(path);
    struct stat st;
    CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(truncate(path, st.st_size / 2), 0);
    expect_error(ckpt_reader_open(&r, path), path, "truncated", NULL);

    snprintf(path, sizeof path, "%s/future.h5", dir);
    write_small_checkpoint(path);
    set_format_version(path, CKPT_FORMAT_VERSION + 1);
    expect_error(ckpt_reader_open(&r, path), path, "format_version is 3, this build reads 1 to 2", NULL);

    /* A valid HDF5 file that is not a checkpoint. */
    snprintf(path, sizeof path, "%s/foreign.h5", dir);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT(f >= 0);
    H5Fclose(f);
    expect_error(ckpt_reader_open(&r, path), path, "no format_version attribute", NULL);
    CU_ASSERT_PTR_NULL(r);
    remove_dir(dir);
}

static void test_writer_request_errors(void)
{
    char dir[256], path[512], missing[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/w.h5", dir);
    float v[4] = {1, 2, 3, 4};
    const int64_t d4[] = {4}, dneg[] = {2, -2}, d9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 4};
    ckpt_writer *w;
    CU_ASSERT_EQUAL_FATAL(ckpt_writer_open(&w, path), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_f32(w, "a/b", v, 1, d4), DMMP_OK);
    expect_error(ckpt_put_f32(w, "a/b", v, 1, d4), path, "a/b is written twice", NULL);
    expect_error(ckpt_put_string(w, "a/b", "x"), path, "a/b is written twice", NULL);
    expect_error(ckpt_put_f32(w, "", v, 1, d4), path, "empty dataset name", NULL);
    expect_error(ckpt_put_f32(w, "a//c", v, 1, d4), path, "\"a//c\"", NULL);
    expect_error(ckpt_put_f32(w, "a/../c", v, 1, d4), path, "\"a/../c\"", NULL);
    expect_error(ckpt_put_f32(w, "c", v, 2, dneg), path, "dims[1] = -2", NULL);
    expect_error(ckpt_put_f32(w, "c", v, 9, d9), path, "rank 9", NULL);
    expect_error(ckpt_put_f32(w, "c", NULL, 1, d4), path, "data is NULL", NULL);
    expect_error(ckpt_put_attr_i64(w, "format_version", 3), path, "reserved", NULL);
    CU_ASSERT_EQUAL(ckpt_put_attr_i64(w, "step", 1), DMMP_OK);
    expect_error(ckpt_put_attr_f64(w, "step", 1), path, "step is written twice", NULL);
    /* Refused requests do not spoil the checkpoint: it still commits. */
    CU_ASSERT_EQUAL(ckpt_writer_commit(w), DMMP_OK);
    ckpt_reader *r;
    float back[4];
    CU_ASSERT_EQUAL_FATAL(ckpt_reader_open(&r, path), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_get_f32(r, "a/b", back, 1, d4), DMMP_OK);
    CU_ASSERT_EQUAL(memcmp(back, v, sizeof v), 0);
    CU_ASSERT_EQUAL(ckpt_has(r, "c"), 0);
    ckpt_reader_close(r);

    /* Abort leaves neither a file nor a temporary. */
    snprintf(missing, sizeof missing, "%s/aborted.h5", dir);
    CU_ASSERT_EQUAL_FATAL(ckpt_writer_open(&w, missing), DMMP_OK);
    CU_ASSERT_EQUAL(ckpt_put_f32(w, "v", v, 1, d4), DMMP_OK);
    ckpt_writer_abort(w);
    CU_ASSERT_NOT_EQUAL(access(missing, F_OK), 0);
    CU_ASSERT_EQUAL(count_prefixed(dir, ".aborted.h5.tmp-"), 0);

    snprintf(missing, sizeof missing, "%s/no/such/dir/w.h5", dir);
    expect_error(ckpt_writer_open(&w, missing), missing, NULL, NULL);
    remove_dir(dir);
}

int register_checkpoint_suites(void)
{
    static const char *const names[] = {
        "round trip of every type, ranks 0-3, groups, strings, attributes",
        "large arrays are chunked and deflated, small ones compact",
        "identical content gives identical bytes (no time stamps, any thread count)",
        "reader: missing dataset, wrong shape or dtype, group, attributes",
        "reader: absent, garbage, empty, truncated, foreign, future files",
        "writer: refused requests, abort, missing directory",
    };
    static const CU_TestFunc tests[] = {
        test_roundtrip_every_type,
        test_large_arrays_chunked,
        test_identical_content_identical_bytes,
        test_reader_dataset_errors,
        test_reader_file_errors,
        test_writer_request_errors,
    };
    if (register_atomic_file_suite() != 0) return -1;
    if (tu_add_suite("train_checkpoint", names, tests, sizeof tests / sizeof tests[0]) != 0) return -1;
    return register_checkpoint_fault_suite();
}
