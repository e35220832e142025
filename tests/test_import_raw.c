/* data_import, Ali-CCP raw: generated files imported and read back, compared
 * with a reference built here by a deliberately plain parser (strtok_r,
 * strtoull, strtof, linear-search vocabularies); malformed files must fail
 * with file, line and column, or be skipped and counted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "data/dataset.h"
#include "data/gen_aliccp_raw.h"
#include "data/import.h"
#include "data/import_rows.h"
#include "test_import.h"
#include "testutil.h"

static const char *const field_names[23] = {"101", "121", "122", "124", "125", "126", "127", "128",
                                            "129", "109_14", "110_14", "127_14", "150_14", "205",
                                            "206", "207", "210", "216", "301", "508", "509", "702", "853"};

/* A linear-search vocabulary: ids in order of first insertion, index = position + 1. */
typedef struct ref_vocab {
    uint64_t *ids;
    int n, cap;
} ref_vocab;

static int32_t ref_map(ref_vocab *v, uint64_t id, int insert)
{
    for (int i = v->n - 1; i >= 0; i--)
        if (v->ids[i] == id) return i + 1;
    if (!insert) return 0;
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 64;
        v->ids = realloc(v->ids, (size_t)v->cap * sizeof *v->ids);
    }
    v->ids[v->n++] = id;
    return v->n;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) n = 0;
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* The reference dataset: per row labels, split, 19 single ids, 4 bags. */
typedef struct ref_data {
    int64_t n;
    uint8_t *click, *conv, *split;
    int32_t *sparse; /* n x 19 */
    int64_t *off[4];
    int32_t *idx[4];
    float *wt[4];
    int64_t n_multi[4], cap_multi[4];
    ref_vocab vocab[23];
} ref_data;

static int field_of(const char *name)
{
    for (int f = 0; f < 23; f++)
        if (!strcmp(field_names[f], name)) return f;
    return -1;
}

/* Column in /samples/sparse (single) or bag number (multi) of field f. */
static int column_of(int f) { return f < 9 ? f : f < 13 ? f - 9 : f - 4; }

/* Adds the entries of a feature list (modified in place) to row r. */
static void ref_add_entries(ref_data *d, int64_t r, char *list, int train, int *have)
{
    char *save = NULL;
    for (char *e = strtok_r(list, "\x01", &save); e; e = strtok_r(NULL, "\x01", &save)) {
        char *f2 = strchr(e, 0x02), *f3 = strchr(e, 0x03);
        *f2 = 0;
        int f = field_of(e);
        uint64_t fid = strtoull(f2 + 1, NULL, 10);
        float w = strtof(f3 + 1, NULL);
        int32_t idx = ref_map(&d->vocab[f], fid, train);
        int c = column_of(f);
        if (f >= 9 && f < 13) {
            if (d->n_multi[c] == d->cap_multi[c]) {
                d->cap_multi[c] = d->cap_multi[c] ? 2 * d->cap_multi[c] : 1024;
                d->idx[c] = realloc(d->idx[c], (size_t)d->cap_multi[c] * sizeof(int32_t));
                d->wt[c] = realloc(d->wt[c], (size_t)d->cap_multi[c] * sizeof(float));
            }
            d->idx[c][d->n_multi[c]] = idx;
            d->wt[c][d->n_multi[c]++] = w;
        } else if (!have[c]) {
            have[c] = 1;
            d->sparse[r * 19 + c] = idx;
        }
    }
}

/* Appends the rows of one (skeleton, common) pair. */
static void ref_add_pair(ref_data *d, const char *skel_path, const char *common_path, int is_test, uint64_t seed,
                         double val_fraction, int64_t *train_seen)
{
    size_t len;
    char *common = slurp(common_path, &len);
    char *skel = slurp(skel_path, &len);
    int n_common = 0;
    char **keys = NULL, **lists = NULL;
    char *save = NULL;
    for (char *line = strtok_r(common, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        keys = realloc(keys, (size_t)(n_common + 1) * sizeof *keys);
        lists = realloc(lists, (size_t)(n_common + 1) * sizeof *lists);
        char *c1 = strchr(line, ','), *c2 = strchr(c1 + 1, ',');
        *c1 = 0;
        keys[n_common] = line;
        lists[n_common++] = c2 + 1;
    }
    int64_t rows = 0;
    for (char *p = skel; *p; p++) rows += *p == '\n';
    int64_t n0 = d->n, total = d->n + rows;
    d->click = realloc(d->click, (size_t)total);
    d->conv = realloc(d->conv, (size_t)total);
    d->split = realloc(d->split, (size_t)total);
    d->sparse = realloc(d->sparse, (size_t)total * 19 * sizeof(int32_t));
    for (int k = 0; k < 4; k++) d->off[k] = realloc(d->off[k], (size_t)(total + 1) * sizeof(int64_t));
    save = NULL;
    int64_t r = n0;
    for (char *line = strtok_r(skel, "\n", &save); line; line = strtok_r(NULL, "\n", &save), r++) {
        char *col[6];
        col[0] = line;
        for (int c = 1; c < 6; c++) {
            col[c] = strchr(col[c - 1], ',') + 1;
            col[c][-1] = 0;
        }
        d->click[r] = (uint8_t)atoi(col[1]);
        d->conv[r] = (uint8_t)atoi(col[2]);
        d->split[r] = is_test ? 2 : import_row_is_val(seed, (*train_seen)++, val_fraction) ? 1 : 0;
        int train = d->split[r] == 0, have[19] = {0};
        memset(d->sparse + r * 19, 0, 19 * sizeof(int32_t));
        if (r == 0)
            for (int k = 0; k < 4; k++) d->off[k][0] = 0;
        char *list = strdup(col[5]);
        ref_add_entries(d, r, list, train, have);
        free(list);
        for (int i = 0; i < n_common; i++)
            if (!strcmp(keys[i], col[3])) {
                list = strdup(lists[i]);
                ref_add_entries(d, r, list, train, have);
                free(list);
                break;
            }
        for (int k = 0; k < 4; k++) d->off[k][r + 1] = d->n_multi[k];
    }
    d->n = r;
    free(keys);
    free(lists);
    free(common);
    free(skel);
}

static void ref_free(ref_data *d)
{
    free(d->click);
    free(d->conv);
    free(d->split);
    free(d->sparse);
    for (int k = 0; k < 4; k++) {
        free(d->off[k]);
        free(d->idx[k]);
        free(d->wt[k]);
    }
    for (int f = 0; f < 23; f++) free(d->vocab[f].ids);
}

static void paths_in(const char *dir, char p[4][512], aliccp_raw_paths *paths)
{
    snprintf(p[0], 512, "%s/sample_skeleton_train.csv", dir);
    snprintf(p[1], 512, "%s/common_features_train.csv", dir);
    snprintf(p[2], 512, "%s/sample_skeleton_test.csv", dir);
    snprintf(p[3], 512, "%s/common_features_test.csv", dir);
    paths->skeleton_train = p[0];
    paths->common_train = p[1];
    paths->skeleton_test = p[2];
    paths->common_test = p[3];
}

/* Compares the file at path with the reference, value by value. */
static void compare_with_reference(const char *path, const ref_data *d)
{
    dataset *ds;
    CU_ASSERT_FATAL(dataset_open(&ds, path) == DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(dataset_n_samples(ds), d->n);
    const dataset_schema *sc = dataset_get_schema(ds);
    CU_ASSERT_EQUAL_FATAL(sc->n_fields, 23);
    int bad_schema = 0;
    for (int f = 0; f < 23; f++) {
        bad_schema += strcmp(sc->fields[f].name, field_names[f]) != 0;
        bad_schema += sc->fields[f].multi != (f >= 9 && f < 13);
        bad_schema += sc->fields[f].vocab_size != d->vocab[f].n + 1;
        field_side want = f < 13 ? SIDE_USER : f < 18 ? SIDE_ITEM : f == 18 ? SIDE_CONTEXT : SIDE_CROSS;
        bad_schema += sc->fields[f].side != want;
    }
    CU_ASSERT_EQUAL(bad_schema, 0);
    CU_ASSERT_EQUAL(dataset_n_users(ds), d->vocab[0].n + 1);
    CU_ASSERT_EQUAL(dataset_n_items(ds), d->vocab[13].n + 1);
    dataset_block b = {0};
    CU_ASSERT_FATAL(dataset_read_block(ds, 0, d->n, &b) == DMMP_OK);
    int64_t bad = 0, bad_multi = 0;
    for (int64_t r = 0; r < d->n; r++) {
        bad += b.click[r] != d->click[r] || b.conversion[r] != d->conv[r] || b.split[r] != d->split[r];
        bad += b.user[r] != d->sparse[r * 19] || b.item[r] != d->sparse[r * 19 + 9];
        bad += memcmp(b.sparse + r * 19, d->sparse + r * 19, 19 * sizeof(int32_t)) != 0;
    }
    for (int k = 0; k < 4; k++) {
        bad_multi += memcmp(b.multi_offsets[k], d->off[k], (size_t)(d->n + 1) * sizeof(int64_t)) != 0;
        for (int64_t j = 0; j < d->n_multi[k]; j++)
            bad_multi += b.multi_indices[k][j] != d->idx[k][j] || b.multi_weights[k][j] != d->wt[k][j];
    }
    TU_ASSERT_MSG(bad == 0, "%lld rows differ from the reference", (long long)bad);
    TU_ASSERT_MSG(bad_multi == 0, "%lld multi-valued entries differ", (long long)bad_multi);
    /* /users and /items: the features of the first training row naming each. */
    int64_t nu = dataset_n_users(ds), ni = dataset_n_items(ds);
    int32_t *users = calloc((size_t)nu * 9, sizeof(int32_t)), *items = calloc((size_t)ni * 5, sizeof(int32_t));
    CU_ASSERT_FATAL(dataset_read_users(ds, users) == DMMP_OK);
    CU_ASSERT_FATAL(dataset_read_items(ds, items) == DMMP_OK);
    int64_t bad_entity = 0;
    for (int64_t r = 0; r < d->n; r++) {
        if (d->split[r] != 0) continue;
        const int32_t *s = d->sparse + r * 19;
        bad_entity += memcmp(users + (int64_t)s[0] * 9, s, 9 * sizeof(int32_t)) != 0;
        bad_entity += memcmp(items + (int64_t)s[9] * 5, s + 9, 5 * sizeof(int32_t)) != 0;
    }
    for (int c = 0; c < 9; c++) bad_entity += users[c] != 0;
    /* /users/multi: the generator gives every user fixed bags and puts none in
     * the skeleton, so each training row's bag is its user's bag. */
    for (int k = 0; k < 4; k++) {
        int64_t *uo;
        int32_t *ui;
        float *uw;
        CU_ASSERT_FATAL(dataset_read_users_multi(ds, 9 + k, &uo, &ui, &uw) == DMMP_OK);
        for (int64_t r = 0; r < d->n; r++) {
            if (d->split[r] != 0) continue;
            int32_t u = d->sparse[r * 19];
            int64_t n = d->off[k][r + 1] - d->off[k][r];
            bad_entity += uo[u + 1] - uo[u] != n;
            if (uo[u + 1] - uo[u] != n) continue;
            bad_entity += memcmp(ui + uo[u], d->idx[k] + d->off[k][r], (size_t)n * sizeof(int32_t)) != 0;
            bad_entity += memcmp(uw + uo[u], d->wt[k] + d->off[k][r], (size_t)n * sizeof(float)) != 0;
        }
        bad_entity += uo[1] != 0; /* user 0 (unknown) has an empty bag */
        free(uo);
        free(ui);
        free(uw);
    }
    TU_ASSERT_MSG(bad_entity == 0, "%lld user/item table rows differ", (long long)bad_entity);
    free(users);
    free(items);
    dataset_block_free(&b);
    dataset_close(ds);
}

void test_import_raw_roundtrip(void)
{
    char dir[512], p[4][512], out[600];
    tu_tmpdir(dir, sizeof dir);
    CU_ASSERT_FATAL(dir[0] != 0);
    aliccp_gen_options g = {dir, 1500, 400, 0, 0, 7};
    CU_ASSERT_FATAL(gen_aliccp_raw(&g) == DMMP_OK);
    aliccp_raw_paths paths;
    paths_in(dir, p, &paths);
    snprintf(out, sizeof out, "%s/raw.h5", dir);
    import_options opt;
    import_options_default(&opt);
    opt.out = out;
    opt.seed = 3;
    opt.val_fraction = 0.2;
    opt.progress = 0;
    opt.threads = 3;
    import_report rep;
    dmmp_status s = import_aliccp_raw(&paths, &opt, &rep);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    if (s != DMMP_OK) return;
    ref_data d = {0};
    int64_t train_seen = 0;
    ref_add_pair(&d, p[0], p[1], 0, 3, 0.2, &train_seen);
    ref_add_pair(&d, p[2], p[3], 1, 3, 0.2, &train_seen);
    CU_ASSERT_EQUAL(d.n, 1900);
    CU_ASSERT_EQUAL(rep.rows[0] + rep.rows[1], 1500);
    CU_ASSERT_EQUAL(rep.rows[2], 400);
    /* 300 val rows expected; binomial sd ~15.5, so 5 sd is 78. */
    TU_ASSERT_NEAR(rep.rows[1], 300, 78);
    compare_with_reference(out, &d);

    /* One thread gives the same file content as three. */
    char out1[600];
    snprintf(out1, sizeof out1, "%s/raw1.h5", dir);
    opt.out = out1;
    opt.threads = 1;
    CU_ASSERT_FATAL(import_aliccp_raw(&paths, &opt, &rep) == DMMP_OK);
    compare_with_reference(out1, &d);
    ref_free(&d);
    for (int i = 0; i < 4; i++) unlink(p[i]);
    unlink(out);
    unlink(out1);
    rmdir(dir);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

#define E(f, id, v) f "\x02" id "\x03" v
#define SKEL_OK "1,0,0,u1,2," E("205", "10", "1") "\x01" E("301", "1", "1") "\n"
#define SKEL_OK2 "2,1,0,u2,1," E("205", "11", "1") "\n"
#define COMMON_OK "u1,2," E("101", "5", "1") "\x01" E("109_14", "3", "0.5") "\nu2,1," E("101", "6", "1") "\n"

/* Writes the four files with the given train skeleton; expects the import to
 * fail with a message containing want (or, with want NULL, to succeed). */
static void expect_raw(const char *dir, const char *skel_train, const char *common_train, int skip, const char *want,
                       int64_t want_skipped, int64_t want_rows)
{
    char p[4][512], out[600];
    aliccp_raw_paths paths;
    paths_in(dir, p, &paths);
    write_file(p[0], skel_train);
    write_file(p[1], common_train);
    write_file(p[2], SKEL_OK SKEL_OK2);
    write_file(p[3], COMMON_OK);
    snprintf(out, sizeof out, "%s/bad.h5", dir);
    import_options opt;
    import_options_default(&opt);
    opt.out = out;
    opt.progress = 0;
    opt.skip_bad_lines = skip;
    import_report rep;
    log_level lv = log_get_level();
    log_set_level(LOG_ERROR);
    dmmp_status s = import_aliccp_raw(&paths, &opt, &rep);
    log_set_level(lv);
    if (want) {
        CU_ASSERT(s != DMMP_OK);
        TU_ASSERT_MSG(strstr(dmmp_errmsg(), want) != NULL, "message '%s' lacks '%s'", dmmp_errmsg(), want);
        CU_ASSERT(access(out, F_OK) != 0); /* nothing under the final name */
    } else {
        TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
        CU_ASSERT_EQUAL(rep.skipped, want_skipped);
        CU_ASSERT_EQUAL(rep.rows[0] + rep.rows[1] + rep.rows[2], want_rows);
        unlink(out);
    }
    for (int i = 0; i < 4; i++) unlink(p[i]);
}

void test_import_raw_malformed(void)
{
    char dir[512], want[700];
    tu_tmpdir(dir, sizeof dir);
    CU_ASSERT_FATAL(dir[0] != 0);
    expect_raw(dir, SKEL_OK SKEL_OK2, COMMON_OK, 0, NULL, 0, 4);
    /* Line 2: conversion without click; column 5. */
    snprintf(want, sizeof want, "%s/sample_skeleton_train.csv:2:5: conversion without a click", dir);
    expect_raw(dir, SKEL_OK "2,0,1,u2,1," E("205", "11", "1") "\n", COMMON_OK, 0, want, 0, 0);
    expect_raw(dir, SKEL_OK "2,0,1,u2,1," E("205", "11", "1") "\n" SKEL_OK2, COMMON_OK, 1, NULL, 1, 4);
    /* Line 3: short line (no feature list). */
    snprintf(want, sizeof want, "%s/sample_skeleton_train.csv:3:9: short line: missing feature_count", dir);
    expect_raw(dir, SKEL_OK SKEL_OK2 "3,0,0,u1\n", COMMON_OK, 0, want, 0, 0);
    /* Line 1: undeclared field 999 at column 12. */
    snprintf(want, sizeof want, "%s/sample_skeleton_train.csv:1:12: field id '999' is not declared", dir);
    expect_raw(dir, "1,0,0,u1,2," E("999", "10", "1") "\x01" E("301", "1", "1") "\n" SKEL_OK2, COMMON_OK, 0, want,
               0, 0);
    /* Bad number in the common file, line 2 column 10 ('x'). */
    snprintf(want, sizeof want, "%s/common_features_train.csv:2:10: feature_id: bad integer", dir);
    expect_raw(dir, SKEL_OK SKEL_OK2, "u1,2," E("101", "5", "1") "\x01" E("109_14", "3", "0.5") "\nu2,1," E("101", "x", "1") "\n",
               0, want, 0, 0);
    /* A key missing from the common file: line 2, column 7. */
    snprintf(want, sizeof want, "%s/sample_skeleton_train.csv:2:7: common_feature_index 'u9'", dir);
    expect_raw(dir, SKEL_OK "2,1,0,u9,1," E("205", "11", "1") "\n", COMMON_OK, 0, want, 0, 0);
    expect_raw(dir, SKEL_OK "2,1,0,u9,1," E("205", "11", "1") "\n", COMMON_OK, 1, NULL, 1, 3);
    /* Empty training skeleton. */
    expect_raw(dir, "", COMMON_OK, 0, "the file is empty", 0, 0);
    rmdir(dir);
}
