/* robust_dataset: damaged and hostile HDF5 datasets. Each test damages a
 * valid file in one known place and checks that the reader stops with a
 * status (never a crash) and a message naming the file and what is wrong:
 * the dataset, the row, the field, the value. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/batch.h"
#include "data/batcher.h"
#include "data/dataset.h"
#include "data/import.h"
#include "eval/retrieval_metrics.h"
#include "test_robust.h"
#include "testutil.h"

#define USERS 60
#define ITEMS 40
#define IMPRESSIONS 3000

/* A fresh directory holding a valid synthetic file; path receives its name. */
static int fresh_synth(char *dir, size_t dlen, char *path, size_t plen)
{
    tu_tmpdir(dir, dlen);
    snprintf(path, plen, "%s/valid.h5", dir);
    return robust_synth(path, USERS, ITEMS, IMPRESSIONS, 5);
}

/* Reads everything a run reads (all sample rows in chunks, the item and user
 * tables, each multi-valued user table); the first failure's status. */
static dmmp_status read_everything(const dataset *d)
{
    dataset_block b = {0};
    dmmp_status s = DMMP_OK;
    int64_t n = dataset_n_samples(d);
    for (int64_t start = 0; s == DMMP_OK && start < n; start += 512)
        s = dataset_read_block(d, start, n - start < 512 ? n - start : 512, &b);
    dataset_block_free(&b);
    batch corpus;
    if (s == DMMP_OK && (s = batch_item_corpus(d, &corpus)) == DMMP_OK) batch_free(&corpus);
    batch queries;
    if (s == DMMP_OK && (s = batch_query_rows(d, SPLIT_TEST, &queries)) == DMMP_OK) batch_free(&queries);
    return s;
}

/* Opens path and reads it all: the status of the first failure (or OK). */
static dmmp_status open_and_read(const char *path)
{
    dataset *d;
    dmmp_status s = dataset_open(&d, path);
    if (s != DMMP_OK) return s;
    s = read_everything(d);
    dataset_close(d);
    return s;
}

static void test_truncated(void)
{
    char dir[512], valid[600], cut[600];
    CU_ASSERT_FATAL(fresh_synth(dir, sizeof dir, valid, sizeof valid));
    long size = robust_file_size(valid);
    const long cuts[] = {size / 2, size / 10, size * 9 / 10, size - 1, 0};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        snprintf(cut, sizeof cut, "%s/cut%zu.h5", dir, i);
        CU_ASSERT_FATAL(robust_copy(valid, cut, cuts[i]));
        dmmp_status s = open_and_read(cut);
        /* damaged input, not a failure while working: EFORMAT, exit 2 */
        TU_ASSERT_MSG(s == DMMP_EFORMAT && strstr(dmmp_errmsg(), cut), "cut at %ld of %ld bytes: status %d, '%s'",
                      cuts[i], size, (int)s, dmmp_errmsg());
    }
    /* The CLI: a clean failure with the file named, exit status 2 (bad input). */
    snprintf(cut, sizeof cut, "%s/cut0.h5", dir);
    char out[4096];
    const char *args[] = {"data", "inspect", cut, NULL};
    int code = robust_run_dmmp(args, out, sizeof out);
    if (code == -1) {
        tu_skip("truncated file through dmmp data inspect", "the dmmp command is not built");
        return;
    }
    TU_ASSERT_MSG(code == 2 && strstr(out, cut) && strstr(out, "truncated"), "exit %d, output '%s'", code, out);
}

static void test_missing_dataset(void)
{
    char dir[512], valid[600], bad[600];
    CU_ASSERT_FATAL(fresh_synth(dir, sizeof dir, valid, sizeof valid));
    dataset *d;
    CU_ASSERT_FATAL(dataset_open(&d, valid) == DMMP_OK);
    char multi_offsets[300];
    CU_ASSERT_FATAL(dataset_n_multi(d) > 0);
    snprintf(multi_offsets, sizeof multi_offsets, "/samples/multi/%s/offsets",
             dataset_get_schema(d)->fields[dataset_multi_field(d, 0)].name);
    dataset_close(d);
    const char *paths[] = {"/samples/click", "/samples/conversion", "/samples/split", "/samples/user",
                           "/samples/item", "/samples/sparse", "/fields/name", "/fields/vocab_size", multi_offsets};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        snprintf(bad, sizeof bad, "%s/missing%zu.h5", dir, i);
        CU_ASSERT_FATAL(robust_copy(valid, bad, -1) && robust_h5_delete(bad, paths[i]));
        dmmp_status s = dataset_open(&d, bad);
        TU_ASSERT_MSG(s == DMMP_EFORMAT && strstr(dmmp_errmsg(), bad) && strstr(dmmp_errmsg(), paths[i]) &&
                          strstr(dmmp_errmsg(), "missing"),
                      "without %s: status %d, '%s'", paths[i], (int)s, dmmp_errmsg());
        if (s == DMMP_OK) dataset_close(d);
    }
    /* Tables read later, when the models need them. */
    const char *late[] = {"/items/sparse", "/users/sparse"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(bad, sizeof bad, "%s/late%zu.h5", dir, i);
        CU_ASSERT_FATAL(robust_copy(valid, bad, -1) && robust_h5_delete(bad, late[i]));
        dmmp_status s = open_and_read(bad);
        TU_ASSERT_MSG(s == DMMP_EFORMAT && strstr(dmmp_errmsg(), late[i]), "without %s: status %d, '%s'", late[i],
                      (int)s, dmmp_errmsg());
    }
    /* A format this build does not read. */
    snprintf(bad, sizeof bad, "%s/version.h5", dir);
    int64_t v2 = 2;
    CU_ASSERT_FATAL(robust_copy(valid, bad, -1) && robust_h5_set_attr_i64(bad, "/", "format_version", &v2, 1));
    dmmp_status s = dataset_open(&d, bad);
    TU_ASSERT_MSG(s == DMMP_EFORMAT && strstr(dmmp_errmsg(), "format_version is 2"), "'%s'", dmmp_errmsg());
}

static void test_wrong_type_or_shape(void)
{
    char dir[512], valid[600], bad[600];
    CU_ASSERT_FATAL(fresh_synth(dir, sizeof dir, valid, sizeof valid));
    const char *retyped[] = {"/samples/user", "/samples/sparse", "/samples/click"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(bad, sizeof bad, "%s/type%zu.h5", dir, i);
        CU_ASSERT_FATAL(robust_copy(valid, bad, -1) && robust_h5_retype_f32(bad, retyped[i]));
        dataset *d;
        dmmp_status s = dataset_open(&d, bad);
        TU_ASSERT_MSG(s == DMMP_EFORMAT && strstr(dmmp_errmsg(), retyped[i]) && strstr(dmmp_errmsg(), "wrong type"),
                      "float %s: status %d, '%s'", retyped[i], (int)s, dmmp_errmsg());
        if (s == DMMP_OK) dataset_close(d);
    }
    const char *shrunk[] = {"/samples/click", "/samples/item", "/fields/side"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(bad, sizeof bad, "%s/shape%zu.h5", dir, i);
        CU_ASSERT_FATAL(robust_copy(valid, bad, -1) && robust_h5_shrink(bad, shrunk[i]));
        dataset *d;
        dmmp_status s = dataset_open(&d, bad);
        TU_ASSERT_MSG(s == DMMP_EFORMAT && strstr(dmmp_errmsg(), shrunk[i]) && strstr(dmmp_errmsg(), "shape"),
                      "short %s: status %d, '%s'", shrunk[i], (int)s, dmmp_errmsg());
        if (s == DMMP_OK) dataset_close(d);
    }
}

/* Opens bad, reads every row through a batcher over the split of `row`
 * and returns the status of the first failure. */
static dmmp_status batch_through(const char *bad, int64_t row)
{
    dataset *d;
    dmmp_status s = dataset_open(&d, bad);
    if (s != DMMP_OK) return s;
    uint8_t split;
    s = dataset_read_split(d, row, 1, &split);
    batcher *b = NULL;
    if (s == DMMP_OK) s = batcher_open(&b, d, (data_split)split, 64, 1, 9);
    const batch *bt = NULL;
    while (s == DMMP_OK && (s = batcher_next(b, &bt)) == DMMP_OK && bt) {
    }
    batcher_close(b);
    dataset_close(d);
    return s;
}

static void test_id_out_of_range(void)
{
    char dir[512], valid[600], bad[600], want[128];
    CU_ASSERT_FATAL(fresh_synth(dir, sizeof dir, valid, sizeof valid));
    dataset *d;
    CU_ASSERT_FATAL(dataset_open(&d, valid) == DMMP_OK);
    const dataset_schema *sc = dataset_get_schema(d);
    int field = -1;
    for (int f = 0; f < sc->n_fields && field < 0; f++)
        if (!sc->fields[f].multi && sc->fields[f].side == SIDE_ITEM) field = f;
    CU_ASSERT_FATAL(field >= 0);
    int col = dataset_single_column(d, field), mfield = dataset_multi_field(d, 0);
    int64_t vocab = sc->fields[field].vocab_size, mvocab = sc->fields[mfield].vocab_size;
    char fname[64], mname[64], mpath[300];
    snprintf(fname, sizeof fname, "%s", sc->fields[field].name);
    snprintf(mname, sizeof mname, "%s", sc->fields[mfield].name);
    snprintf(mpath, sizeof mpath, "/samples/multi/%s/indices", mname);
    dataset_close(d);

    /* One id past the vocabulary in the second chunk, through a whole read
     * and through the batcher (its prefetch thread reports it). */
    const int64_t row = 700;
    const int32_t wild[] = {(int32_t)vocab, -3, 2000000000};
    for (size_t i = 0; i < 3; i++) {
        snprintf(bad, sizeof bad, "%s/sparse%zu.h5", dir, i);
        CU_ASSERT_FATAL(robust_copy(valid, bad, -1) && robust_h5_set_i32(bad, "/samples/sparse", row, col, wild[i]));
        snprintf(want, sizeof want, "id %d is outside", wild[i]);
        dmmp_status s = open_and_read(bad);
        TU_ASSERT_MSG(s == DMMP_EFORMAT && strstr(dmmp_errmsg(), "row 700") && strstr(dmmp_errmsg(), fname) &&
                          strstr(dmmp_errmsg(), want) && strstr(dmmp_errmsg(), bad),
                      "id %d: status %d, '%s'", wild[i], (int)s, dmmp_errmsg());
        s = batch_through(bad, row);
        TU_ASSERT_MSG(s == DMMP_EFORMAT && strstr(dmmp_errmsg(), "row 700") && strstr(dmmp_errmsg(), want),
                      "batcher, id %d: status %d, '%s'", wild[i], (int)s, dmmp_errmsg());
    }
    /* A multi-valued index, a user and an item index, an item table id. */
    snprintf(bad, sizeof bad, "%s/multi.h5", dir);
    CU_ASSERT_FATAL(robust_copy(valid, bad, -1) && robust_h5_set_i32(bad, mpath, 0, 0, (int32_t)mvocab));
    dmmp_status s = open_and_read(bad);
    TU_ASSERT_MSG(s == DMMP_EFORMAT && strstr(dmmp_errmsg(), mname) && strstr(dmmp_errmsg(), "outside the vocabulary"),
                  "'%s'", dmmp_errmsg());
    snprintf(bad, sizeof bad, "%s/user.h5", dir);
    CU_ASSERT_FATAL(robust_copy(valid, bad, -1) && robust_h5_set_i32(bad, "/samples/user", 5, 0, USERS + 7));
    s = open_and_read(bad);
    TU_ASSERT_MSG(s == DMMP_EFORMAT && strstr(dmmp_errmsg(), "/samples/user row 5"), "'%s'", dmmp_errmsg());
    snprintf(bad, sizeof bad, "%s/item.h5", dir);
    CU_ASSERT_FATAL(robust_copy(valid, bad, -1) && robust_h5_set_i32(bad, "/samples/item", 2999, 0, -1));
    s = open_and_read(bad);
    TU_ASSERT_MSG(s == DMMP_EFORMAT && strstr(dmmp_errmsg(), "/samples/item row 2999"), "'%s'", dmmp_errmsg());
    snprintf(bad, sizeof bad, "%s/items.h5", dir);
    CU_ASSERT_FATAL(robust_copy(valid, bad, -1) && robust_h5_set_i32(bad, "/items/sparse", 3, 0, 1 << 30));
    batch corpus;
    CU_ASSERT_FATAL(dataset_open(&d, bad) == DMMP_OK);
    s = batch_item_corpus(d, &corpus);
    TU_ASSERT_MSG(s == DMMP_EFORMAT && strstr(dmmp_errmsg(), "/items/sparse row 3"), "'%s'", dmmp_errmsg());
    if (s == DMMP_OK) batch_free(&corpus);
    dataset_close(d);
}

/* An Ali-CCP CSV with two dense columns (D508, D509), imported to out. */
static int import_dense(const char *dir, const char *out, const char *rows)
{
    char train[600], text[2048];
    snprintf(train, sizeof train, "%s/dense.csv", dir);
    snprintf(text, sizeof text, "click,purchase,101,205,D508,D509\n%s", rows);
    if (!robust_put(train, text)) return 0;
    import_options opt;
    import_options_default(&opt);
    opt.out = out;
    opt.progress = 0;
    opt.threads = 1;
    opt.val_fraction = 0;
    import_report rep;
    return import_aliccp_csv(train, NULL, NULL, &opt, &rep) == DMMP_OK;
}

static void test_non_finite_dense(void)
{
    char dir[512], valid[600], bad[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(valid, sizeof valid, "%s/dense.h5", dir);
    CU_ASSERT_FATAL(import_dense(dir, valid, "1,0,7,50,0.5,1\n0,0,8,51,1.5,2\n1,1,9,52,-2,3\n"));
    CU_ASSERT_FATAL(open_and_read(valid) == DMMP_OK);
    /* The reader refuses NaN and Inf, naming the row and the column. */
    const float values[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < 3; i++) {
        snprintf(bad, sizeof bad, "%s/nan%zu.h5", dir, i);
        CU_ASSERT_FATAL(robust_copy(valid, bad, -1) && robust_h5_set_f32(bad, "/samples/dense", 1, 1, values[i]));
        dmmp_status s = open_and_read(bad);
        TU_ASSERT_MSG(s == DMMP_EFORMAT && strstr(dmmp_errmsg(), "/samples/dense row 1") &&
                          strstr(dmmp_errmsg(), "'D509'") && strstr(dmmp_errmsg(), "not finite"),
                      "value %g: status %d, '%s'", (double)values[i], (int)s, dmmp_errmsg());
    }
    /* The importers refuse them while parsing, naming file, line and column
     * (line 3 is the second data row; the column is where D509's text starts). */
    const char *texts[] = {"nan", "inf", "1e39", "-Infinity"};
    for (size_t i = 0; i < 4; i++) {
        char rows[256], want[64];
        snprintf(rows, sizeof rows, "1,0,7,50,0.5,1\n0,0,8,51,1.5,%s\n", texts[i]);
        snprintf(bad, sizeof bad, "%s/text%zu.h5", dir, i);
        int ok = import_dense(dir, bad, rows);
        snprintf(want, sizeof want, "dense.csv:3:%d: D509", (int)strlen("0,0,8,51,1.5,") + 1);
        TU_ASSERT_MSG(!ok && strstr(dmmp_errmsg(), want) && robust_file_size(bad) < 0, "'%s': '%s'", texts[i],
                      dmmp_errmsg());
    }
}

int robust_move_all_rows(const char *valid, const char *bad, int to)
{
    dataset *d;
    if (dataset_open(&d, valid) != DMMP_OK) return 0;
    int64_t rows[3] = {0, 0, 0}, clicks[3] = {0, 0, 0}, convs[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        dataset_split_stats st = dataset_split_stats_of(d, (data_split)k);
        rows[to] += st.rows;
        clicks[to] += st.clicks;
        convs[to] += st.conversions;
    }
    dataset_close(d);
    return robust_copy(valid, bad, -1) && robust_h5_fill_u8(bad, "/samples/split", (uint8_t)to) &&
           robust_h5_set_attr_i64(bad, "/samples", "split_rows", rows, 3) &&
           robust_h5_set_attr_i64(bad, "/samples", "split_clicks", clicks, 3) &&
           robust_h5_set_attr_i64(bad, "/samples", "split_conversions", convs, 3);
}

static void test_empty_split(void)
{
    char dir[512], valid[600], bad[600];
    CU_ASSERT_FATAL(fresh_synth(dir, sizeof dir, valid, sizeof valid));
    snprintf(bad, sizeof bad, "%s/no_train.h5", dir);
    CU_ASSERT_FATAL(robust_move_all_rows(valid, bad, SPLIT_TEST));
    dataset *d;
    CU_ASSERT_FATAL(dataset_open(&d, bad) == DMMP_OK);
    CU_ASSERT_EQUAL(dataset_split_stats_of(d, SPLIT_TRAIN).rows, 0);
    /* An empty split is a valid input to the batcher (val may be empty): it
     * opens, has no rows and ends its epoch at once, without spinning. */
    batcher *b;
    CU_ASSERT_FATAL(batcher_open(&b, d, SPLIT_TRAIN, 32, 1, 1) == DMMP_OK);
    CU_ASSERT_EQUAL(batcher_split_rows(b), 0);
    const batch *bt = (const batch *)1;
    CU_ASSERT(batcher_next(b, &bt) == DMMP_OK && bt == NULL);
    CU_ASSERT(batcher_start_epoch(b, 1) == DMMP_OK && batcher_next(b, &bt) == DMMP_OK && bt == NULL);
    batcher_close(b);
    batch q;
    CU_ASSERT_FATAL(batch_query_rows(d, SPLIT_TRAIN, &q) == DMMP_OK);
    CU_ASSERT_EQUAL(q.n, 0);
    batch_free(&q);
    dataset_close(d);
    /* Split statistics that disagree with n_samples are refused at open. */
    int64_t wrong[3] = {1, 2, 3};
    CU_ASSERT_FATAL(robust_h5_set_attr_i64(bad, "/samples", "split_rows", wrong, 3));
    dmmp_status s = dataset_open(&d, bad);
    TU_ASSERT_MSG(s == DMMP_EFORMAT && strstr(dmmp_errmsg(), "split"), "'%s'", dmmp_errmsg());
}

static void test_one_row(void)
{
    char dir[512], train[600], out[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(train, sizeof train, "%s/one.csv", dir);
    snprintf(out, sizeof out, "%s/one.h5", dir);
    CU_ASSERT_FATAL(robust_put(train, "click,purchase,101,205,301\n1,1,42,77,3\n"));
    import_options opt;
    import_options_default(&opt);
    opt.out = out;
    opt.progress = 0;
    opt.val_fraction = 0;
    import_report rep;
    dmmp_status s = import_aliccp_csv(train, NULL, NULL, &opt, &rep);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    if (s != DMMP_OK) return;
    dataset *d;
    CU_ASSERT_FATAL(dataset_open(&d, out) == DMMP_OK);
    CU_ASSERT_EQUAL(dataset_n_samples(d), 1);
    /* One batch of one row per epoch, whatever the batch size, with shuffle. */
    batcher *b;
    CU_ASSERT_FATAL(batcher_open(&b, d, SPLIT_TRAIN, 256, 1, 3) == DMMP_OK);
    for (int epoch = 0; epoch < 2; epoch++) {
        const batch *bt;
        CU_ASSERT(batcher_start_epoch(b, epoch) == DMMP_OK);
        CU_ASSERT(batcher_next(b, &bt) == DMMP_OK && bt && bt->n == 1 && bt->click[0] == 1 && bt->conversion[0] == 1 &&
                  bt->user[0] == 1 && bt->item[0] == 1);
        CU_ASSERT(batcher_next(b, &bt) == DMMP_OK && bt == NULL);
    }
    batcher_close(b);
    batch corpus, q;
    /* Item 77 alone: index 0, the unknown item, is not in the corpus. */
    CU_ASSERT(batch_item_corpus(d, &corpus) == DMMP_OK && corpus.n == 1 && corpus.item[0] == 1);
    batch_free(&corpus);
    CU_ASSERT(batch_query_rows(d, SPLIT_TRAIN, &q) == DMMP_OK && q.n == 1 && q.user[0] == 1);
    batch_free(&q);
    dataset_close(d);
}

/* Retrieval over users of whom some clicked nothing in test: they are
 * skipped, the means are over the others (hand-computed), and with no
 * clicking user at all the mean is NaN, never a division by zero. */
static void test_user_without_clicks(void)
{
    retrieval_accum acc;
    const int ks[] = {1, 2};
    CU_ASSERT_FATAL(retrieval_accum_init(&acc, ks, 2) == DMMP_OK);
    const int32_t top_a[] = {5, 1}, top_b[] = {3, 4}, top_c[] = {1, 7};
    const int32_t clicked_a[] = {5}, clicked_c[] = {7};
    CU_ASSERT(retrieval_accum_add(&acc, top_a, 2, clicked_a, 1, NULL, 0, NULL, 0, NULL) == DMMP_OK);
    CU_ASSERT(retrieval_accum_add(&acc, top_b, 2, NULL, 0, NULL, 0, NULL, 0, NULL) == DMMP_OK);
    CU_ASSERT(retrieval_accum_add(&acc, top_c, 2, clicked_c, 1, NULL, 0, NULL, 0, NULL) == DMMP_OK);
    CU_ASSERT_EQUAL(acc.users[RM_RECALL_CLICK], 2);
    /* recall@1: a 1, c 0 -> 0.5; recall@2: 1, 1 -> 1; ndcg@2 of c: 1/log2(3). */
    TU_ASSERT_NEAR(retrieval_accum_mean(&acc, RM_RECALL_CLICK, 0), 0.5, 1e-12);
    TU_ASSERT_NEAR(retrieval_accum_mean(&acc, RM_RECALL_CLICK, 1), 1.0, 1e-12);
    TU_ASSERT_NEAR(retrieval_accum_mean(&acc, RM_NDCG_CLICK, 1), 0.5 * (1.0 + 1.0 / log2(3.0)), 1e-12);
    CU_ASSERT(isnan(retrieval_accum_mean(&acc, RM_RECALL_BUY, 0)));
    CU_ASSERT(isnan(recall_at_k(top_b, 2, NULL, 0)) && isnan(ndcg_at_k(top_b, 2, NULL, 0)));
}

int register_robust_data_suites(void)
{
    static const char *const names[] = {
        "truncated file: clean failure naming the file (library and CLI)",
        "missing dataset or attribute: named at open",
        "wrong dtype or shape: named at open",
        "id outside its vocabulary: field, row and id named (reader, batcher, tables)",
        "NaN/Inf dense: refused by the reader (row, column) and the importer (file:line:column)",
        "empty train split: no batches, no queries, no hang",
        "dataset of one row: one batch per epoch, corpus and queries",
        "users without test clicks: skipped by retrieval means",
    };
    static const CU_TestFunc tests[] = {test_truncated,        test_missing_dataset, test_wrong_type_or_shape,
                                        test_id_out_of_range,  test_non_finite_dense, test_empty_split,
                                        test_one_row,          test_user_without_clicks};
    return tu_add_suite("robust_dataset", names, tests, sizeof tests / sizeof tests[0]);
}
