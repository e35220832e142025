/* data_import, CSV layouts: hand-written Ali-CCP CSV and AliExpress files with
 * indices worked out by hand, malformed files, and the real Ali-CCP sample
 * (when ../shared is present) against totals counted here with strtok. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "data/dataset.h"
#include "data/import.h"
#include "test_import.h"
#include "test_robust.h"
#include "testutil.h"

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

static import_options quiet_options(const char *out)
{
    import_options opt;
    import_options_default(&opt);
    opt.out = out;
    opt.progress = 0;
    opt.threads = 2;
    return opt;
}

void test_import_csv_by_hand(void)
{
    char dir[512], tr[600], va[600], te[600], out[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(tr, sizeof tr, "%s/train.csv", dir);
    snprintf(va, sizeof va, "%s/val.csv", dir);
    snprintf(te, sizeof te, "%s/test.csv", dir);
    snprintf(out, sizeof out, "%s/csv.h5", dir);
    /* Columns out of Ali-CCP order on purpose: the schema is 101, 205, 206, 301. */
    put(tr, "click,purchase,205,101,206,D508,301,D509\n"
            "1,1,50,7,3,0.25,1,5\n"
            "0,0,51,9,3,0.5,2,5\n"
            "1,0,50,7,4,0.125,1,5\r\n"); /* item 50 seen again with another category: the first row wins */
    put(va, "click,purchase,205,101,206,D508,301,D509\n0,0,52,7,3,1.5,9,5\n");
    put(te, "click,purchase,205,101,206,D508,301,D509\n1,0,51,8,4,-2,2,5");
    import_options opt = quiet_options(out);
    import_report rep;
    dmmp_status s = import_aliccp_csv(tr, va, te, &opt, &rep);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    if (s != DMMP_OK) return;
    CU_ASSERT(rep.rows[0] == 3 && rep.rows[1] == 1 && rep.rows[2] == 1);
    dataset *ds;
    s = dataset_open(&ds, out);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    if (s != DMMP_OK) return;
    const dataset_schema *sc = dataset_get_schema(ds);
    CU_ASSERT_EQUAL_FATAL(sc->n_fields, 4);
    CU_ASSERT(!strcmp(sc->fields[0].name, "101") && sc->fields[0].side == SIDE_USER && sc->fields[0].vocab_size == 3);
    CU_ASSERT(!strcmp(sc->fields[1].name, "205") && sc->fields[1].side == SIDE_ITEM && sc->fields[1].vocab_size == 3);
    CU_ASSERT(!strcmp(sc->fields[2].name, "206") && sc->fields[2].vocab_size == 3);
    CU_ASSERT(!strcmp(sc->fields[3].name, "301") && sc->fields[3].side == SIDE_CONTEXT && sc->fields[3].vocab_size == 3);
    /* Two dense columns: data-core's writer stores a one-column /samples/dense
     * as rank 1, which its reader rejects (reported). */
    CU_ASSERT_EQUAL(sc->n_dense, 2);
    dataset_block b = {0};
    CU_ASSERT_FATAL(dataset_read_block(ds, 0, 5, &b) == DMMP_OK);
    /* By hand: users 7->1, 9->2 (8 unseen: 0); items 50->1, 51->2 (52: 0);
     * categories 3->1, 4->2; positions 1->1, 2->2 (9: 0). */
    static const int32_t want_sparse[5][4] = {{1, 1, 1, 1}, {2, 2, 1, 2}, {1, 1, 2, 1}, {1, 0, 1, 0}, {0, 2, 2, 2}};
    static const float want_dense[5] = {0.25f, 0.5f, 0.125f, 1.5f, -2.0f};
    static const uint8_t want_click[5] = {1, 0, 1, 0, 1}, want_conv[5] = {1, 0, 0, 0, 0}, want_split[5] = {0, 0, 0, 1, 2};
    int bad = 0;
    for (int r = 0; r < 5; r++) {
        bad += memcmp(b.sparse + r * 4, want_sparse[r], sizeof want_sparse[r]) != 0;
        bad += b.user[r] != want_sparse[r][0] || b.item[r] != want_sparse[r][1];
        bad += b.dense[r * 2] != want_dense[r] || b.dense[r * 2 + 1] != 5.0f || b.click[r] != want_click[r] || b.conversion[r] != want_conv[r];
        bad += b.split[r] != want_split[r];
    }
    TU_ASSERT_MSG(bad == 0, "%d mismatches against the hand-worked indices", bad);
    int32_t items[3 * 2], users[3];
    CU_ASSERT_FATAL(dataset_n_items(ds) == 3 && dataset_n_users(ds) == 3);
    CU_ASSERT(dataset_read_items(ds, items) == DMMP_OK);
    CU_ASSERT(dataset_read_users(ds, users) == DMMP_OK);
    static const int32_t want_items[6] = {0, 0, 1, 1, 2, 1}, want_users[3] = {0, 1, 2};
    CU_ASSERT(!memcmp(items, want_items, sizeof items));
    CU_ASSERT(!memcmp(users, want_users, sizeof users));
    /* Raw ids, by hand: each vocabulary in order of first appearance in
     * training, index 0 empty; users and items are their id fields. */
    static const char *const want_vocab[4][3] = {{"", "7", "9"}, {"", "50", "51"}, {"", "3", "4"}, {"", "1", "2"}};
    for (int f = 0; f < 4; f++) {
        raw_ids v;
        CU_ASSERT_FATAL(dataset_read_raw_ids(ds, RAW_IDS_FIELD, f, &v) == DMMP_OK);
        CU_ASSERT_EQUAL(v.n, 3);
        char buf[32];
        for (int i = 0; i < 3 && i < v.n; i++)
            TU_ASSERT_MSG(!strcmp(raw_ids_format(&v, i, buf, sizeof buf), want_vocab[f][i]),
                          "field %d index %d: raw '%s', want '%s'", f, i, buf, want_vocab[f][i]);
        raw_ids_free(&v);
    }
    raw_ids ru, ri;
    CU_ASSERT_FATAL(dataset_read_raw_ids(ds, RAW_IDS_USERS, 0, &ru) == DMMP_OK);
    CU_ASSERT_FATAL(dataset_read_raw_ids(ds, RAW_IDS_ITEMS, 0, &ri) == DMMP_OK);
    char rb[32];
    CU_ASSERT(ru.n == 3 && !strcmp(raw_ids_format(&ru, 2, rb, sizeof rb), "9"));
    CU_ASSERT(ri.n == 3 && !strcmp(raw_ids_format(&ri, 1, rb, sizeof rb), "50"));
    CU_ASSERT(!strcmp(raw_ids_format(&ri, 3, rb, sizeof rb), "#3"));
    raw_ids_free(&ru);
    raw_ids_free(&ri);
    dataset_block_free(&b);
    dataset_close(ds);
    unlink(out);

    /* Malformed files: the error names file, line and column; skip counts. */
    struct {
        const char *train, *want;
    } bad_files[] = {
        {"click,purchase,101,205\n1,0,1\n", "train.csv:2:6: short line: 3 fields, expected 4"},
        {"click,purchase,101,205\n1,0,1,2\n1,0,\"1,2\n", "train.csv:3:5: unterminated quote"},
        {"click,purchase,101,205\n1,0,1,2\n1,x,1,2\n", "train.csv:3:3: purchase: expected 0 or 1, found 'x'"},
        {"click,purchase,101,205\n0,1,1,2\n", "train.csv:2:3: conversion without a click"},
        {"click,purchase,101,205,999\n1,0,1,2,3\n", "train.csv:1:24: column '999' is not a declared Ali-CCP field"},
        {"click,purchase,101,205,D1\n1,0,1,2,0.5.1\n", "train.csv:2:12: D1: bad number"},
        {"", "train.csv: the file is empty"},
        {"click,purchase,101,205\n", "train.csv: no data rows"},
    };
    log_level lv = log_get_level();
    log_set_level(LOG_ERROR);
    for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
        put(tr, bad_files[i].train);
        s = import_aliccp_csv(tr, NULL, NULL, &opt, &rep);
        CU_ASSERT(s != DMMP_OK);
        TU_ASSERT_MSG(strstr(dmmp_errmsg(), bad_files[i].want) != NULL, "message '%s' lacks '%s'", dmmp_errmsg(),
                      bad_files[i].want);
        CU_ASSERT(access(out, F_OK) != 0);
    }
    put(tr, "click,purchase,101,205\n1,0,1,2\n");
    put(va, "click,purchase,205,101\n1,0,1,2\n");
    s = import_aliccp_csv(tr, va, NULL, &opt, &rep);
    TU_ASSERT_MSG(s != DMMP_OK && strstr(dmmp_errmsg(), "val.csv:1:1: the header differs"), "%s", dmmp_errmsg());
    put(tr, "click,purchase,101,205\n1,0,1,2\n0,1,1,2\n1,0,1\n0,0,3,4\n");
    opt.skip_bad_lines = 1;
    s = import_aliccp_csv(tr, NULL, NULL, &opt, &rep);
    log_set_level(lv);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    CU_ASSERT_EQUAL(rep.skipped, 2);
    CU_ASSERT_EQUAL(rep.rows[0] + rep.rows[1], 2);
    unlink(out);
    unlink(tr);
    unlink(va);
    unlink(te);
    rmdir(dir);
}

void test_import_aliexpress(void)
{
    char dir[512], tr[600], te[600], out[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(tr, sizeof tr, "%s/train.csv", dir);
    snprintf(te, sizeof te, "%s/test.csv", dir);
    snprintf(out, sizeof out, "%s/ae.h5", dir);
    put(tr, "search_id,categorical_1,categorical_2,categorical_3,numerical_1,numerical_2,click,conversion\n"
            "100,5,6,70,0.5,1e2,1,1\n"
            "100,5,6,71,0.25,-1,0,0\n"
            "101,5,7,70,0,0,1,0\n");
    put(te, "search_id,categorical_1,categorical_2,categorical_3,numerical_1,numerical_2,click,conversion\n"
            "200,5,6,71,1,2,0,0\n"
            "201,9,6,70,1,2,1,0\n");
    import_options opt = quiet_options(out);
    opt.val_fraction = 0;
    import_report rep;
    dmmp_status s = import_aliexpress(tr, te, "categorical_1,categorical_2", &opt, &rep);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    if (s != DMMP_OK) return;
    dataset *ds;
    CU_ASSERT_FATAL(dataset_open(&ds, out) == DMMP_OK);
    const dataset_schema *sc = dataset_get_schema(ds);
    CU_ASSERT_EQUAL_FATAL(sc->n_fields, 3);
    CU_ASSERT(sc->fields[0].side == SIDE_USER && sc->fields[1].side == SIDE_USER && sc->fields[2].side == SIDE_ITEM);
    CU_ASSERT_EQUAL(sc->n_dense, 2);
    /* Users are (c1, c2) tuples: (5,6)->1, (5,7)->2, (9,6) unseen -> 0.
     * Items are c3: 70->1, 71->2. */
    CU_ASSERT_EQUAL(dataset_n_users(ds), 3);
    CU_ASSERT_EQUAL(dataset_n_items(ds), 3);
    dataset_block b = {0};
    CU_ASSERT_FATAL(dataset_read_block(ds, 0, 5, &b) == DMMP_OK);
    static const int32_t want_user[5] = {1, 1, 2, 1, 0}, want_item[5] = {1, 2, 1, 2, 1};
    static const int32_t want_sparse[5][3] = {{1, 1, 1}, {1, 1, 2}, {1, 2, 1}, {1, 1, 2}, {0, 1, 1}};
    static const float want_dense[5][2] = {{0.5f, 100}, {0.25f, -1}, {0, 0}, {1, 2}, {1, 2}};
    int bad = 0;
    for (int r = 0; r < 5; r++) {
        bad += b.user[r] != want_user[r] || b.item[r] != want_item[r];
        bad += memcmp(b.sparse + r * 3, want_sparse[r], sizeof want_sparse[r]) != 0;
        bad += b.dense[r * 2] != want_dense[r][0] || b.dense[r * 2 + 1] != want_dense[r][1];
        bad += b.split[r] != (r < 3 ? 0 : 2);
    }
    TU_ASSERT_MSG(bad == 0, "%d mismatches against the hand-worked indices", bad);
    int32_t users[3 * 2];
    CU_ASSERT(dataset_read_users(ds, users) == DMMP_OK);
    static const int32_t want_users[6] = {0, 0, 1, 1, 1, 2};
    CU_ASSERT(!memcmp(users, want_users, sizeof users));
    dataset_block_free(&b);
    dataset_close(ds);
    unlink(out);
    s = import_aliexpress(tr, te, "categorical_9", &opt, &rep);
    TU_ASSERT_MSG(s == DMMP_EINVAL && strstr(dmmp_errmsg(), "categorical_9"), "%s", dmmp_errmsg());
    unlink(tr);
    unlink(te);
    rmdir(dir);
}

void test_import_aliccp_sample(void)
{
    const char *shared = tu_shared_dir();
    char path[4096];
    if (shared) snprintf(path, sizeof path, "%s/data/ali-ccp/ali_ccp_train_sample.csv", shared);
    if (!shared || access(path, R_OK) != 0) {
        tu_skip("ali-ccp sample", "../shared/data/ali-ccp/ali_ccp_train_sample.csv is absent");
        return;
    }
    /* Totals counted independently: lines after the header, columns 1 and 2. */
    FILE *f = fopen(path, "r");
    char line[4096];
    int64_t rows = 0, clicks = 0, purchases = 0;
    CU_ASSERT_FATAL(fgets(line, sizeof line, f) != NULL);
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '\n') continue;
        rows++;
        clicks += atoi(strtok(line, ","));
        purchases += atoi(strtok(NULL, ","));
    }
    fclose(f);
    char dir[512], out[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/sample.h5", dir);
    import_options opt = quiet_options(out);
    import_report rep;
    dmmp_status s = import_aliccp_csv(path, NULL, NULL, &opt, &rep);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    if (s != DMMP_OK) return;
    dataset *ds;
    CU_ASSERT_FATAL(dataset_open(&ds, out) == DMMP_OK);
    CU_ASSERT_EQUAL(dataset_n_samples(ds), rows);
    CU_ASSERT_EQUAL(dataset_get_schema(ds)->n_fields, 23);
    CU_ASSERT_EQUAL(dataset_get_schema(ds)->n_dense, 8);
    dataset_block b = {0};
    CU_ASSERT_FATAL(dataset_read_block(ds, 0, rows, &b) == DMMP_OK);
    int64_t c = 0, p = 0, val = 0;
    for (int64_t r = 0; r < rows; r++) {
        c += b.click[r];
        p += b.conversion[r];
        val += b.split[r] == 1;
    }
    CU_ASSERT_EQUAL(c, clicks);
    CU_ASSERT_EQUAL(p, purchases);
    CU_ASSERT_EQUAL(rep.rows[1], val);
    CU_ASSERT(val > 0 && val < rows);
    printf(" (%lld rows, %lld clicks, %lld purchases) ", (long long)rows, (long long)clicks, (long long)purchases);
    dataset_block_free(&b);
    dataset_close(ds);
    unlink(out);
    rmdir(dir);
}

/* The split rule written out here from its definition (splitmix64 of
 * seed * golden ^ row, second draw, top 53 bits), not through the importer. */
static int expected_split(uint64_t seed, int64_t row, double val, double test)
{
    uint64_t st = seed * 0x9e3779b97f4a7c15ULL ^ (uint64_t)row, z = 0;
    for (int k = 0; k < 2; k++) {
        z = (st += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
    }
    double u = (double)(z >> 11) / 9007199254740992.0;
    return u < val ? 1 : u < val + test ? 2 : 0;
}

void test_import_csv_test_fraction(void)
{
    char dir[512], tr[600], out[600], te[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(tr, sizeof tr, "%s/train.csv", dir);
    snprintf(te, sizeof te, "%s/test.csv", dir);
    snprintf(out, sizeof out, "%s/tf.h5", dir);
    enum { ROWS = 400 };
    FILE *f = fopen(tr, "wb");
    fputs("click,purchase,101,205\n", f);
    for (int r = 0; r < ROWS; r++) fprintf(f, "%d,0,%d,%d\n", r % 3 == 0, 1 + r % 7, 1000 + r);
    fclose(f);
    put(te, "click,purchase,101,205\n1,0,1,1000\n");
    import_options opt = quiet_options(out);
    opt.val_fraction = 0.1;
    opt.test_fraction = 0.25;
    opt.seed = 7;
    import_report rep;
    dmmp_status s = import_aliccp_csv(tr, NULL, NULL, &opt, &rep);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    if (s != DMMP_OK) return;
    int64_t want[3] = {0, 0, 0};
    for (int r = 0; r < ROWS; r++) want[expected_split(7, r, 0.1, 0.25)]++;
    CU_ASSERT(rep.rows[0] == want[0] && rep.rows[1] == want[1] && rep.rows[2] == want[2]);
    /* 25 % of 400 rows: 100 expected, a binomial sd of 8.7. */
    TU_ASSERT_MSG(want[2] > 65 && want[2] < 135, "%lld test rows of %d", (long long)want[2], ROWS);
    dataset *ds;
    CU_ASSERT_FATAL(dataset_open(&ds, out) == DMMP_OK);
    dataset_block b = {0};
    CU_ASSERT_FATAL(dataset_read_block(ds, 0, ROWS, &b) == DMMP_OK);
    int bad = 0, unknown_test_items = 0;
    for (int r = 0; r < ROWS; r++) {
        bad += b.split[r] != expected_split(7, r, 0.1, 0.25);
        /* Every item appears once: a test row's item was never seen in training. */
        unknown_test_items += b.split[r] == 2 && b.item[r] == 0;
    }
    TU_ASSERT_MSG(bad == 0, "%d rows in another split than the rule gives", bad);
    CU_ASSERT_EQUAL(unknown_test_items, want[2]);
    CU_ASSERT_EQUAL(dataset_split_stats_of(ds, SPLIT_TEST).rows, want[2]);
    dataset_block_free(&b);
    dataset_close(ds);
    unlink(out);
    /* A test fraction leaves the val rows of the same seed where they were. */
    opt.test_fraction = 0;
    s = import_aliccp_csv(tr, NULL, NULL, &opt, &rep);
    CU_ASSERT_FATAL(s == DMMP_OK);
    CU_ASSERT(rep.rows[1] == want[1] && rep.rows[2] == 0 && rep.rows[0] == want[0] + want[2]);
    unlink(out);
    /* Refused: a fraction and a test file, fractions adding up to 1. */
    opt.test_fraction = 0.2;
    s = import_aliccp_csv(tr, NULL, te, &opt, &rep);
    TU_ASSERT_MSG(s == DMMP_EINVAL && strstr(dmmp_errmsg(), "--test-fraction"), "%s", dmmp_errmsg());
    opt.val_fraction = 0.5;
    opt.test_fraction = 0.5;
    s = import_aliccp_csv(tr, NULL, NULL, &opt, &rep);
    TU_ASSERT_MSG(s == DMMP_EINVAL && strstr(dmmp_errmsg(), "below 1"), "%s", dmmp_errmsg());
    CU_ASSERT(access(out, F_OK) != 0);
    unlink(tr);
    unlink(te);
    rmdir(dir);
}

void test_import_cli_counts(void)
{
    if (!robust_dmmp()) {
        tu_skip("import counts", "the dmmp command is not built (set DMMP_BUILDDIR)");
        return;
    }
    char dir[512], tr[600], out[600], text[8192];
    tu_tmpdir(dir, sizeof dir);
    snprintf(tr, sizeof tr, "%s/train.csv", dir);
    snprintf(out, sizeof out, "%s/c.h5", dir);
    /* Two users (7, 9) and three items (50, 51, 52), all in training. */
    put(tr, "click,purchase,101,205\n1,0,7,50\n0,0,9,51\n1,1,7,52\n0,0,9,50\n");
    const char *imp[] = {"data", "import", "aliccp-csv", "--train", tr, "--val-fraction", "0", "--out", out,
                         "--quiet", NULL};
    int code = robust_run_dmmp(imp, text, sizeof text);
    TU_ASSERT_MSG(code == 0, "import: exit %d\n%s", code, text);
    TU_ASSERT_MSG(strstr(text, "2 users, 3 items") != NULL, "import counts the unknown id:\n%s", text);
    TU_ASSERT_MSG(strstr(text, "val split") && strstr(text, "test split") && strstr(text, "empty") != NULL,
                  "no warning about the empty val and test splits:\n%s", text);
    TU_ASSERT_MSG(strstr(text, "train split") == NULL, "warns about a train split that has rows:\n%s", text);
    const char *ins[] = {"data", "inspect", out, NULL};
    code = robust_run_dmmp(ins, text, sizeof text);
    TU_ASSERT_MSG(code == 0, "inspect: exit %d\n%s", code, text);
    TU_ASSERT_MSG(strstr(text, "users: 2, items: 3") != NULL, "inspect counts the unknown id:\n%s", text);
    const char *both[] = {"data", "import", "aliccp-csv", "--train", tr, "--test", tr, "--test-fraction", "0.2",
                          "--out", out, NULL};
    code = robust_run_dmmp(both, text, sizeof text);
    TU_ASSERT_MSG(code == 2 && strstr(text, "--test-fraction"), "--test with --test-fraction: exit %d\n%s", code, text);
    unlink(out);
    unlink(tr);
    rmdir(dir);
}
