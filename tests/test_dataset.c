/* data_dataset: the HDF5 writer and reader.
 *
 * A small file with every kind of column (single-valued ids, two weighted
 * multi-valued fields, dense) is written in append blocks of odd sizes over a
 * tiny chunk size, then read back in blocks of several sizes and compared
 * value by value with the arrays it was written from. Broken files must give
 * errors that name the dataset at fault, and a failed or aborted write must
 * leave nothing under the final name. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "core/rng.h"
#include "data/dataset.h"
#include "data/dataset_writer.h"
#include "suites.h"
#include "testutil.h"

#define RT_ROWS 1003
#define RT_CHUNK 64
#define RT_DENSE 3

/* Fields: u_id, u_tags (multi), i_id, i_cat, pos, ux (cross), i_tags (multi). */
static const dataset_field rt_fields[] = {
    {"u_id", SIDE_USER, 0, 50},  {"u_tags", SIDE_USER, 1, 30}, {"i_id", SIDE_ITEM, 0, 40},
    {"i_cat", SIDE_ITEM, 0, 10}, {"pos", SIDE_CONTEXT, 0, 6},  {"ux", SIDE_CROSS, 0, 100},
    {"i_tags", SIDE_ITEM, 1, 20},
};
#define RT_FIELDS 7
#define RT_SINGLE 5
static const int rt_multi_field[2] = {1, 6};
static const int rt_multi_vocab[2] = {30, 20};

/* The reference content, generated from a fixed stream. */
typedef struct rt_data {
    uint8_t click[RT_ROWS], conv[RT_ROWS], split[RT_ROWS];
    int32_t user[RT_ROWS], item[RT_ROWS], sparse[RT_ROWS * RT_SINGLE];
    float dense[RT_ROWS * RT_DENSE];
    int64_t off[2][RT_ROWS + 1];
    int32_t idx[2][RT_ROWS * 4];
    float wt[2][RT_ROWS * 4];
    int32_t items[40 * 2], users[50];
} rt_data;

static void rt_generate(rt_data *d)
{
    rng r;
    rng_stream(&r, 11, 1);
    static const int vocab[RT_SINGLE] = {50, 40, 10, 6, 100};
    for (int i = 0; i < RT_ROWS; i++) {
        d->click[i] = rng_below(&r, 4) == 0;
        d->conv[i] = d->click[i] && rng_below(&r, 3) == 0;
        d->split[i] = (uint8_t)rng_below(&r, 3);
        d->user[i] = (int32_t)rng_below(&r, 50);
        d->item[i] = (int32_t)rng_below(&r, 40);
        for (int c = 0; c < RT_SINGLE; c++) d->sparse[i * RT_SINGLE + c] = (int32_t)rng_below(&r, (uint64_t)vocab[c]);
        for (int c = 0; c < RT_DENSE; c++) d->dense[i * RT_DENSE + c] = (float)rng_normal(&r);
    }
    for (int k = 0; k < 2; k++) {
        d->off[k][0] = 0;
        for (int i = 0; i < RT_ROWS; i++) {
            int len = (int)rng_below(&r, 5); /* 0..4 values, empty bags included */
            for (int j = 0; j < len; j++) {
                d->idx[k][d->off[k][i] + j] = (int32_t)rng_below(&r, (uint64_t)rt_multi_vocab[k]);
                d->wt[k][d->off[k][i] + j] = (float)rng_uniform(&r);
            }
            d->off[k][i + 1] = d->off[k][i] + len;
        }
    }
    for (int i = 0; i < 80; i++) d->items[i] = (int32_t)rng_below(&r, 10);
    for (int i = 0; i < 50; i++) d->users[i] = i;
}

static dataset_schema rt_schema(char (*dense_names)[DATASET_NAME_LEN])
{
    for (int c = 0; c < RT_DENSE; c++) snprintf(dense_names[c], DATASET_NAME_LEN, "d%d", c);
    dataset_schema s = {RT_FIELDS, (dataset_field *)rt_fields, RT_DENSE, dense_names};
    return s;
}

/* Appends rows [a, b) of d as one block, rebasing the CSR offsets to 0. */
static dmmp_status rt_append(dataset_writer *w, const rt_data *d, int a, int b)
{
    static int64_t off[2][RT_ROWS + 1];
    const int64_t *offp[2] = {off[0], off[1]};
    const int32_t *idxp[2];
    const float *wtp[2];
    for (int k = 0; k < 2; k++) {
        for (int i = a; i <= b; i++) off[k][i - a] = d->off[k][i] - d->off[k][a];
        idxp[k] = d->idx[k] + d->off[k][a];
        wtp[k] = d->wt[k] + d->off[k][a];
    }
    dataset_rows rows = {b - a,           d->click + a, d->conv + a, d->split + a, d->user + a, d->item + a,
                         d->sparse + (size_t)a * RT_SINGLE, offp, idxp, wtp, d->dense + (size_t)a * RT_DENSE};
    return dataset_writer_append(w, &rows);
}

/* Writes the reference file to path in blocks of odd sizes. */
static dmmp_status rt_write(const rt_data *d, const char *path)
{
    char dn[RT_DENSE][DATASET_NAME_LEN];
    dataset_schema schema = rt_schema(dn);
    dataset_writer_options o = {RT_CHUNK, 3};
    dataset_writer *w;
    DMMP_TRY(dataset_writer_open_opts(&w, path, &schema, "roundtrip", "test", &o));
    static const int blocks[] = {1, 7, 13, 64, 100, 333, 2, 129};
    int at = 0;
    for (int b = 0; at < RT_ROWS; b = (b + 1) % 8) {
        int n = blocks[b] < RT_ROWS - at ? blocks[b] : RT_ROWS - at;
        dmmp_status s = rt_append(w, d, at, at + n);
        if (s != DMMP_OK) {
            dataset_writer_abort(w);
            return s;
        }
        at += n;
    }
    dmmp_status s = dataset_writer_write_items(w, 40, d->items);
    if (s == DMMP_OK) s = dataset_writer_write_users(w, 50, d->users);
    if (s != DMMP_OK) {
        dataset_writer_abort(w);
        return s;
    }
    return dataset_writer_commit(w);
}

static void test_roundtrip(void)
{
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/rt.h5", dir);
    rt_data *d = calloc(1, sizeof *d);
    rt_generate(d);
    dmmp_status s = rt_write(d, path);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    dataset *ds = NULL;
    s = dataset_open(&ds, path);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    if (!ds) goto out;
    CU_ASSERT_EQUAL(dataset_n_samples(ds), RT_ROWS);
    CU_ASSERT_EQUAL(dataset_chunk_rows(ds), RT_CHUNK);
    CU_ASSERT_EQUAL(dataset_n_items(ds), 40);
    CU_ASSERT_EQUAL(dataset_n_users(ds), 50);
    CU_ASSERT_STRING_EQUAL(dataset_name(ds), "roundtrip");
    CU_ASSERT_STRING_EQUAL(dataset_source(ds), "test");
    const dataset_schema *sc = dataset_get_schema(ds);
    CU_ASSERT_EQUAL(sc->n_fields, RT_FIELDS);
    CU_ASSERT_EQUAL(sc->n_dense, RT_DENSE);
    for (int f = 0; f < RT_FIELDS && f < sc->n_fields; f++) {
        CU_ASSERT_STRING_EQUAL(sc->fields[f].name, rt_fields[f].name);
        CU_ASSERT_EQUAL(sc->fields[f].side, rt_fields[f].side);
        CU_ASSERT_EQUAL(sc->fields[f].multi, rt_fields[f].multi);
        CU_ASSERT_EQUAL(sc->fields[f].vocab_size, rt_fields[f].vocab_size);
    }
    CU_ASSERT_STRING_EQUAL(sc->dense_names[2], "d2");
    CU_ASSERT_EQUAL(dataset_n_multi(ds), 2);
    CU_ASSERT_EQUAL(dataset_multi_field(ds, 1), rt_multi_field[1]);
    /* Split statistics against a count over the reference arrays. */
    for (int sp = 0; sp < 3; sp++) {
        dataset_split_stats st = dataset_split_stats_of(ds, (data_split)sp);
        int64_t rows = 0, clicks = 0, convs = 0;
        for (int i = 0; i < RT_ROWS; i++)
            if (d->split[i] == sp) rows++, clicks += d->click[i], convs += d->conv[i];
        CU_ASSERT_EQUAL(st.rows, rows);
        CU_ASSERT_EQUAL(st.clicks, clicks);
        CU_ASSERT_EQUAL(st.conversions, convs);
    }
    /* Default context id: the most frequent training value of "pos" (column 3). */
    int64_t cnt[6] = {0};
    for (int i = 0; i < RT_ROWS; i++)
        if (d->split[i] == SPLIT_TRAIN) cnt[d->sparse[i * RT_SINGLE + 3]]++;
    int best = 0;
    for (int v = 1; v < 6; v++)
        if (cnt[v] > cnt[best]) best = v;
    CU_ASSERT_EQUAL(dataset_default_id(ds, 4), best);
    CU_ASSERT_EQUAL(dataset_default_id(ds, 0), 0);

    static const int sizes[] = {1, 7, 1000, 45};
    dataset_block b = {0};
    for (int si = 0; si < 4; si++) {
        int bad = 0;
        for (int at = 0; at < RT_ROWS; at += sizes[si]) {
            int n = sizes[si] < RT_ROWS - at ? sizes[si] : RT_ROWS - at;
            s = dataset_read_block(ds, at, n, &b);
            if (s != DMMP_OK) {
                TU_ASSERT_MSG(0, "%s", dmmp_errmsg());
                break;
            }
            bad += b.n != n || b.start != at;
            for (int i = 0; i < n; i++) {
                int r = at + i;
                bad += b.click[i] != d->click[r] || b.conversion[i] != d->conv[r] || b.split[i] != d->split[r];
                bad += b.user[i] != d->user[r] || b.item[i] != d->item[r];
                bad += memcmp(b.sparse + i * RT_SINGLE, d->sparse + r * RT_SINGLE, RT_SINGLE * 4) != 0;
                bad += memcmp(b.dense + i * RT_DENSE, d->dense + r * RT_DENSE, RT_DENSE * 4) != 0;
                for (int k = 0; k < 2; k++) {
                    int64_t len = d->off[k][r + 1] - d->off[k][r];
                    bad += b.multi_offsets[k][i + 1] - b.multi_offsets[k][i] != len;
                    bad += memcmp(b.multi_indices[k] + b.multi_offsets[k][i], d->idx[k] + d->off[k][r], (size_t)len * 4) != 0;
                    bad += memcmp(b.multi_weights[k] + b.multi_offsets[k][i], d->wt[k] + d->off[k][r], (size_t)len * 4) != 0;
                }
            }
            bad += b.multi_offsets[0][0] != 0;
        }
        TU_ASSERT_MSG(bad == 0, "block size %d: %d mismatches", sizes[si], bad);
    }
    dataset_block_free(&b);
    int32_t items[80], users[50];
    CU_ASSERT_EQUAL(dataset_read_items(ds, items), DMMP_OK);
    CU_ASSERT(memcmp(items, d->items, sizeof items) == 0);
    CU_ASSERT_EQUAL(dataset_read_users(ds, users), DMMP_OK);
    CU_ASSERT(memcmp(users, d->users, sizeof users) == 0);
    dataset_close(ds);
out:
    free(d);
    unlink(path);
    rmdir(dir);
}

/* Rank of dataset path in file path (-1 when it cannot be opened). */
static int file_rank(const char *file, const char *path)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return -1;
    hid_t ds = H5Dopen2(f, path, H5P_DEFAULT);
    int rank = -1;
    if (ds >= 0) {
        hid_t sp = H5Dget_space(ds);
        rank = H5Sget_simple_extent_ndims(sp);
        H5Sclose(sp);
        H5Dclose(ds);
    }
    H5Fclose(f);
    return rank;
}

/* The narrowest schema: one single-valued field (the item id, so /items is
 * one column too), one dense column and a multi-valued user field, so no
 * user side single field (the /users table gets its one "unknown" column).
 * Every matrix must be written with rank 2 and read back value by value. */
#define NC_ROWS 100
#define NC_ITEMS 9
#define NC_USERS 4
static void test_one_column(void)
{
    static const dataset_field fields[] = {{"u_tags", SIDE_USER, 1, 5}, {"i_id", SIDE_ITEM, 0, NC_ITEMS}};
    char dn[1][DATASET_NAME_LEN] = {"price"};
    dataset_schema schema = {2, (dataset_field *)fields, 1, dn};
    uint8_t click[NC_ROWS], conv[NC_ROWS], split[NC_ROWS];
    int32_t user[NC_ROWS], item[NC_ROWS], idx[NC_ROWS], items[NC_ITEMS];
    float dense[NC_ROWS], wt[NC_ROWS];
    int64_t off[NC_ROWS + 1];
    rng r;
    rng_stream(&r, 12, 1);
    off[0] = 0;
    for (int i = 0; i < NC_ROWS; i++) {
        click[i] = (uint8_t)(i % 3 == 0);
        conv[i] = 0;
        split[i] = (uint8_t)(i % 3);
        user[i] = (int32_t)rng_below(&r, NC_USERS);
        item[i] = (int32_t)rng_below(&r, NC_ITEMS);
        dense[i] = (float)rng_normal(&r);
        off[i + 1] = off[i] + (i % 2); /* every other row has one tag */
        idx[off[i]] = (int32_t)rng_below(&r, 5);
        wt[off[i]] = 0.5f;
    }
    for (int i = 0; i < NC_ITEMS; i++) items[i] = i;
    const int64_t *offp[1] = {off};
    const int32_t *idxp[1] = {idx};
    const float *wtp[1] = {wt};
    /* The single-valued column is the item id itself. */
    dataset_rows rows = {NC_ROWS, click, conv, split, user, item, item, offp, idxp, wtp, dense};
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/one.h5", dir);
    dataset_writer_options o = {16, 1};
    dataset_writer *w;
    dmmp_status s = dataset_writer_open_opts(&w, path, &schema, "one", "test", &o);
    if (s == DMMP_OK) s = dataset_writer_append(w, &rows);
    if (s == DMMP_OK) s = dataset_writer_write_items(w, NC_ITEMS, items);
    if (s == DMMP_OK) s = dataset_writer_write_users(w, NC_USERS, NULL);
    if (s == DMMP_OK) s = dataset_writer_commit(w);
    else dataset_writer_abort(w);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    CU_ASSERT_EQUAL(file_rank(path, "/samples/sparse"), 2);
    CU_ASSERT_EQUAL(file_rank(path, "/samples/dense"), 2);
    CU_ASSERT_EQUAL(file_rank(path, "/items/sparse"), 2);
    CU_ASSERT_EQUAL(file_rank(path, "/users/sparse"), 2);
    CU_ASSERT_EQUAL(file_rank(path, "/samples/item"), 1);
    CU_ASSERT_EQUAL(file_rank(path, "/samples/multi/u_tags/offsets"), 1);
    dataset *ds = NULL;
    s = dataset_open(&ds, path);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    if (ds) {
        dataset_block b = {0};
        s = dataset_read_block(ds, 0, NC_ROWS, &b);
        TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
        if (s == DMMP_OK) {
            CU_ASSERT(memcmp(b.sparse, item, sizeof item) == 0);
            CU_ASSERT(memcmp(b.dense, dense, sizeof dense) == 0);
            CU_ASSERT(memcmp(b.multi_offsets[0], off, sizeof off) == 0);
        }
        dataset_block_free(&b);
        int32_t items_back[NC_ITEMS], users_back[NC_USERS] = {1, 1, 1, 1};
        CU_ASSERT_EQUAL(dataset_read_items(ds, items_back), DMMP_OK);
        CU_ASSERT(memcmp(items_back, items, sizeof items) == 0);
        CU_ASSERT_EQUAL(dataset_read_users(ds, users_back), DMMP_OK);
        for (int u = 0; u < NC_USERS; u++) CU_ASSERT_EQUAL(users_back[u], 0);
        dataset_close(ds);
    }
    unlink(path);
    rmdir(dir);
}

/* Writes the reference file, applies edit to it with HDF5 directly, and
 * returns dataset_open's status and message. */
static dmmp_status open_after_edit(void (*edit)(hid_t), char *msg, size_t len)
{
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/bad.h5", dir);
    rt_data *d = calloc(1, sizeof *d);
    rt_generate(d);
    dmmp_status s = rt_write(d, path);
    free(d);
    if (s != DMMP_OK) return s;
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    edit(f);
    H5Fclose(f);
    dataset *ds = NULL;
    s = dataset_open(&ds, path);
    snprintf(msg, len, "%s", dmmp_errmsg());
    dataset_close(ds);
    unlink(path);
    rmdir(dir);
    return s;
}

static void drop_item(hid_t f) { H5Ldelete(f, "/samples/item", H5P_DEFAULT); }
static void drop_multi_weights(hid_t f) { H5Ldelete(f, "/samples/multi/i_tags/weights", H5P_DEFAULT); }

static void bump_version(hid_t f)
{
    hid_t a = H5Aopen(f, "format_version", H5P_DEFAULT);
    int64_t v = 2;
    H5Awrite(a, H5T_NATIVE_INT64, &v);
    H5Aclose(a);
}

static void user_as_float(hid_t f)
{
    H5Ldelete(f, "/samples/user", H5P_DEFAULT);
    hsize_t dims[1] = {RT_ROWS};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t ds = H5Dcreate2(f, "/samples/user", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(ds);
    H5Sclose(sp);
}

static void short_sparse(hid_t f)
{
    H5Ldelete(f, "/samples/sparse", H5P_DEFAULT);
    hsize_t dims[2] = {RT_ROWS, RT_SINGLE - 1};
    hid_t sp = H5Screate_simple(2, dims, NULL);
    hid_t ds = H5Dcreate2(f, "/samples/sparse", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(ds);
    H5Sclose(sp);
}

static void test_broken_files(void)
{
    char msg[1024];
    dmmp_status s = open_after_edit(drop_item, msg, sizeof msg);
    CU_ASSERT_EQUAL(s, DMMP_EFORMAT);
    TU_ASSERT_MSG(strstr(msg, "/samples/item") && strstr(msg, "missing"), "message: %s", msg);
    s = open_after_edit(drop_multi_weights, msg, sizeof msg);
    TU_ASSERT_MSG(s == DMMP_EFORMAT && strstr(msg, "/samples/multi/i_tags/weights"), "message: %s", msg);
    s = open_after_edit(bump_version, msg, sizeof msg);
    TU_ASSERT_MSG(s == DMMP_EFORMAT && strstr(msg, "format_version is 2"), "message: %s", msg);
    s = open_after_edit(user_as_float, msg, sizeof msg);
    TU_ASSERT_MSG(s == DMMP_EFORMAT && strstr(msg, "/samples/user") && strstr(msg, "wrong type"), "message: %s", msg);
    s = open_after_edit(short_sparse, msg, sizeof msg);
    TU_ASSERT_MSG(s == DMMP_EFORMAT && strstr(msg, "/samples/sparse") && strstr(msg, "shape"), "message: %s", msg);
    dataset *ds = NULL;
    s = dataset_open(&ds, "/nonexistent/dir/none.h5");
    TU_ASSERT_MSG(s == DMMP_EINVAL && strstr(dmmp_errmsg(), "none.h5"), "message: %s", dmmp_errmsg());
    CU_ASSERT_PTR_NULL(ds);
}

/* Number of entries in dir besides . and .. */
static int dir_entries(const char *dir)
{
    DIR *dp = opendir(dir);
    int n = 0;
    if (!dp) return -1;
    for (struct dirent *e = readdir(dp); e; e = readdir(dp)) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(dp);
    return n;
}

static void test_abort_and_failed_commit(void)
{
    char dir[512], path[600];
    struct stat st;
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/never.h5", dir);
    rt_data *d = calloc(1, sizeof *d);
    rt_generate(d);
    char dn[RT_DENSE][DATASET_NAME_LEN];
    dataset_schema schema = rt_schema(dn);
    dataset_writer *w;
    CU_ASSERT_EQUAL_FATAL(dataset_writer_open(&w, path, &schema, "x", "test"), DMMP_OK);
    CU_ASSERT_EQUAL(rt_append(w, d, 0, 500), DMMP_OK);
    CU_ASSERT_EQUAL(dir_entries(dir), 1); /* the temporary file exists while writing */
    CU_ASSERT(stat(path, &st) != 0);
    dataset_writer_abort(w);
    CU_ASSERT_EQUAL(dir_entries(dir), 0);

    /* An id beyond its field's final vocabulary fails the commit, names the field, leaves nothing. */
    CU_ASSERT_EQUAL_FATAL(dataset_writer_open(&w, path, &schema, "x", "test"), DMMP_OK);
    CU_ASSERT_EQUAL(rt_append(w, d, 0, RT_ROWS), DMMP_OK);
    CU_ASSERT_EQUAL(dataset_writer_set_vocab(w, 3, 5), DMMP_OK); /* i_cat has ids up to 9 */
    dmmp_status s = dataset_writer_commit(w);
    TU_ASSERT_MSG(s == DMMP_EINVAL && strstr(dmmp_errmsg(), "'i_cat'"), "message: %s", dmmp_errmsg());
    CU_ASSERT_EQUAL(dir_entries(dir), 0);

    /* Bad rows are refused at append with the row named. */
    CU_ASSERT_EQUAL_FATAL(dataset_writer_open(&w, path, &schema, "x", "test"), DMMP_OK);
    d->conv[3] = 1;
    d->click[3] = 0;
    s = rt_append(w, d, 0, 10);
    TU_ASSERT_MSG(s == DMMP_EINVAL && strstr(dmmp_errmsg(), "row 3"), "message: %s", dmmp_errmsg());
    dataset_writer_abort(w);
    CU_ASSERT_EQUAL(dir_entries(dir), 0);
    free(d);
    rmdir(dir);
}

int register_dataset_suites(void)
{
    static const char *const names[] = {
        "round trip of every column kind",
        "broken files name the dataset at fault",
        "abort and failed commit leave no file",
        "one-column matrices are written and read as rank 2",
    };
    static const CU_TestFunc fns[] = {test_roundtrip, test_broken_files, test_abort_and_failed_commit,
                                      test_one_column};
    return tu_add_suite("data_dataset", names, fns, sizeof fns / sizeof fns[0]);
}
