/* data_chunk_pool: chunks compressed on worker threads and written with
 * H5Dwrite_chunk must decode, through HDF5's own shuffle + deflate filters,
 * to exactly the rows appended, and the file's bytes must not depend on the
 * number of compression threads.
 *
 * Every column is written twice into one file: through the pool and through
 * the plain H5Dwrite path (HDF5 compresses it itself), then both are read
 * back with H5Dread and compared with the source rows. Shapes cover vectors,
 * one-column and wide matrices, element sizes 1, 4 and 8, edge chunks, and a
 * flush in the middle of a chunk followed by more rows (the edge chunk is
 * written twice). */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rng.h"
#include "data/chunk_pool.h"
#include "data/h5_column.h"
#include "suites.h"
#include "testutil.h"

static void test_shuffle_by_hand(void)
{
    /* Two little-endian int32 0x04030201, 0x08070605: bytes by plane. */
    const unsigned char in[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const unsigned char want[8] = {1, 5, 2, 6, 3, 7, 4, 8};
    unsigned char out[8];
    chunk_shuffle(in, out, 2, 4);
    CU_ASSERT(memcmp(out, want, 8) == 0);
    /* Three 3-byte elements: the generic path. */
    const unsigned char in3[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const unsigned char want3[9] = {1, 4, 7, 2, 5, 8, 3, 6, 9};
    unsigned char out3[9];
    chunk_shuffle(in3, out3, 3, 3);
    CU_ASSERT(memcmp(out3, want3, 9) == 0);
}

typedef struct col_case {
    const char *name;
    hid_t type; /* filled at run time: H5T_NATIVE_* are not constants */
    size_t elem;
    int64_t width; /* 0: vector */
    int64_t chunk_rows;
    int64_t rows, flush_at; /* flush_at < 0: no mid-stream flush */
    int level;
} col_case;

static hid_t case_type(size_t elem, int is_float)
{
    if (is_float) return H5T_NATIVE_FLOAT;
    return elem == 1 ? H5T_NATIVE_UINT8 : elem == 4 ? H5T_NATIVE_INT32 : H5T_NATIVE_INT64;
}

#define N_CASES 7
static void fill_cases(col_case *c)
{
    col_case cases[N_CASES] = {
        {"u8_vector", 0, 1, 0, 64, 1000, -1, 1},     {"i32_one_column", 0, 4, 1, 64, 1000, 130, 1},
        {"i32_wide", 0, 4, 19, 50, 777, 777, 3},     {"f32_vector", 0, 4, 0, 128, 128, -1, 1},
        {"i64_vector", 0, 8, 0, 33, 500, 40, 1},     {"i32_empty", 0, 4, 3, 16, 0, -1, 1},
        {"i32_no_filter", 0, 4, 2, 20, 95, 50, 0},
    };
    for (int i = 0; i < N_CASES; i++) {
        c[i] = cases[i];
        c[i].type = case_type(c[i].elem, i == 3);
    }
}

/* Source rows of a case: small ids (like the real columns) with some
 * large values so every byte plane varies. */
static unsigned char *case_data(const col_case *c, uint64_t seed)
{
    size_t w = (size_t)(c->width ? c->width : 1);
    size_t n = (size_t)c->rows * w;
    unsigned char *d = malloc(n * c->elem + 1);
    rng r;
    rng_stream(&r, seed, 5);
    for (size_t i = 0; i < n; i++) {
        uint64_t v = rng_below(&r, 8) == 0 ? rng_u64(&r) : rng_below(&r, 300);
        if (c->elem == 1) d[i] = (unsigned char)v;
        else if (c->elem == 4) {
            uint32_t x = (uint32_t)v;
            if (c->type == H5T_NATIVE_FLOAT) {
                float f = (float)rng_normal(&r);
                memcpy(&x, &f, 4);
            }
            memcpy(d + 4 * i, &x, 4);
        } else
            memcpy(d + 8 * i, &v, 8);
    }
    return d;
}

/* Appends the case's rows in uneven pieces (flushing at flush_at). */
static dmmp_status write_case(h5_column *col, const col_case *c, const unsigned char *d)
{
    size_t row = (size_t)(c->width ? c->width : 1) * c->elem;
    int64_t at = 0, step = 1;
    int flushed = c->flush_at < 0;
    while (at < c->rows || !flushed) {
        int64_t n = step < c->rows - at ? step : c->rows - at;
        if (!flushed && c->flush_at < at + n) n = c->flush_at - at;
        if (n > 0) DMMP_TRY(h5_column_append(col, d + (size_t)at * row, n));
        at += n;
        if (!flushed && at == c->flush_at) {
            DMMP_TRY(h5_column_flush(col));
            flushed = 1;
        }
        step = step * 3 + 1;
    }
    return h5_column_close(col);
}

static hid_t create_file(const char *path)
{
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_obj_track_times(fcpl, 0);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    H5Pclose(fcpl);
    return f;
}

/* Writes every case into path: pooled (threads workers) as "<name>", and,
 * when plain, also through H5Dwrite as "<name>_plain". */
static dmmp_status write_file(const char *path, const col_case *cases, unsigned char *const *data, int threads,
                              int plain)
{
    hid_t f = create_file(path);
    if (f < 0) return dmmp_fail(DMMP_EIO, "%s: cannot create", path);
    chunk_pool *pool;
    dmmp_status s = chunk_pool_create(&pool, threads);
    for (int i = 0; i < N_CASES && s == DMMP_OK; i++) {
        const col_case *c = &cases[i];
        h5_column col;
        s = h5_column_create(&col, f, c->name, c->type, c->width, c->chunk_rows, c->level);
        if (s != DMMP_OK) break;
        h5_column_use_pool(&col, pool);
        s = write_case(&col, c, data[i]);
        h5_column_discard(&col);
        if (s != DMMP_OK || !plain) continue;
        char name[64];
        snprintf(name, sizeof name, "%s_plain", c->name);
        s = h5_column_create(&col, f, name, c->type, c->width, c->chunk_rows, c->level);
        if (s == DMMP_OK) s = write_case(&col, c, data[i]);
        h5_column_discard(&col);
    }
    if (s == DMMP_OK) s = chunk_pool_drain(pool);
    chunk_pool_free(pool);
    if (H5Fclose(f) < 0 && s == DMMP_OK) s = dmmp_fail(DMMP_EIO, "%s: close failed", path);
    return s;
}

/* Reads dataset name whole; checks rank and extent; returns malloc'd bytes. */
static unsigned char *read_whole(hid_t f, const char *name, const col_case *c, int *bad)
{
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    if (ds < 0) {
        (*bad)++;
        return NULL;
    }
    hid_t sp = H5Dget_space(ds);
    int rank = H5Sget_simple_extent_ndims(sp);
    hsize_t dims[2] = {0, 0};
    H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Sclose(sp);
    *bad += rank != (c->width ? 2 : 1) || dims[0] != (hsize_t)c->rows ||
            (c->width && dims[1] != (hsize_t)c->width);
    size_t n = (size_t)c->rows * (size_t)(c->width ? c->width : 1);
    unsigned char *out = calloc(n * c->elem + 1, 1);
    if (n > 0 && H5Dread(ds, c->type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) (*bad)++;
    H5Dclose(ds);
    return out;
}

static void test_decodes_like_filters(void)
{
    col_case cases[N_CASES];
    fill_cases(cases);
    unsigned char *data[N_CASES];
    for (int i = 0; i < N_CASES; i++) data[i] = case_data(&cases[i], (uint64_t)i + 1);
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/pool.h5", dir);
    dmmp_status s = write_file(path, cases, data, 3, 1);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    for (int i = 0; i < N_CASES; i++) {
        const col_case *c = &cases[i];
        size_t bytes = (size_t)c->rows * (size_t)(c->width ? c->width : 1) * c->elem;
        char name[64];
        snprintf(name, sizeof name, "%s_plain", c->name);
        int bad = 0;
        unsigned char *pooled = read_whole(f, c->name, c, &bad);
        unsigned char *plain = read_whole(f, name, c, &bad);
        bad += !pooled || !plain || memcmp(pooled, data[i], bytes) != 0 || memcmp(plain, data[i], bytes) != 0;
        TU_ASSERT_MSG(bad == 0, "case %s: %d mismatches", c->name, bad);
        free(pooled);
        free(plain);
    }
    H5Fclose(f);
    unlink(path);
    rmdir(dir);
    for (int i = 0; i < N_CASES; i++) free(data[i]);
}

static unsigned char *slurp(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)*len + 1);
    if (b && fread(b, 1, (size_t)*len, f) != (size_t)*len) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

static void test_same_bytes_any_threads(void)
{
    col_case cases[N_CASES];
    fill_cases(cases);
    unsigned char *data[N_CASES];
    for (int i = 0; i < N_CASES; i++) data[i] = case_data(&cases[i], (uint64_t)i + 7);
    char dir[512], p1[600], p4[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(p1, sizeof p1, "%s/one.h5", dir);
    snprintf(p4, sizeof p4, "%s/four.h5", dir);
    dmmp_status s = write_file(p1, cases, data, 1, 0);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    s = write_file(p4, cases, data, 4, 0);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    long l1 = 0, l4 = 0;
    unsigned char *b1 = slurp(p1, &l1), *b4 = slurp(p4, &l4);
    CU_ASSERT(b1 && b4 && l1 == l4 && l1 > 0 && memcmp(b1, b4, (size_t)l1) == 0);
    free(b1);
    free(b4);
    unlink(p1);
    unlink(p4);
    rmdir(dir);
    for (int i = 0; i < N_CASES; i++) free(data[i]);
}

int register_chunk_pool_suites(void)
{
    static const char *const names[] = {
        "shuffle against hand-worked bytes",
        "pooled chunks decode like HDF5's own filters",
        "same bytes with 1 and 4 threads",
    };
    static const CU_TestFunc fns[] = {test_shuffle_by_hand, test_decodes_like_filters, test_same_bytes_any_threads};
    return tu_add_suite("data_chunk_pool", names, fns, sizeof fns / sizeof fns[0]);
}
