/* data_import_csv: the schema-driven importer. Schema and data errors name
 * file, line and key or column; a hand-worked file checks quoting, TSV,
 * multi-valued and dense fields and raw ids; the splits are checked against
 * the seeded rule, a hand computation and a brute-force leave-last-out; the
 * shipped schema files write the same samples as the aliccp-csv and
 * aliexpress commands, which describe their layouts in code (their own
 * hand-worked tests are in tests/test_import_csv.c); the
 * MovieLens-style fixture is re-parsed here with a plain RFC 4180 reader. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/rng.h"
#include "data/csv_schema.h"
#include "data/dataset.h"
#include "data/import.h"
#include "data/import_rows.h"
#include "suites.h"
#include "test_import.h"
#include "test_robust.h"
#include "testutil.h"

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

static import_options quiet(const char *out, int threads)
{
    import_options opt;
    import_options_default(&opt);
    opt.out = out;
    opt.progress = 0;
    opt.threads = threads;
    opt.val_fraction = 0;
    opt.test_fraction = 0;
    return opt;
}

static dmmp_status run_import(const char *schema, const char *train, const char *val, const char *test,
                              import_split_rule split, const char *column, const import_options *opt)
{
    csv_import_args a = {schema, train, val, test, split, column, NULL, NULL};
    import_report rep;
    return import_csv(&a, opt, &rep);
}

/* The whole dataset in memory, for comparisons. */
typedef struct loaded {
    dataset *d;
    dataset_block b;
    int32_t *items, *users;
    int64_t n_items, n_users, item_w, user_w;
} loaded;

static int load(loaded *l, const char *path)
{
    memset(l, 0, sizeof *l);
    if (dataset_open(&l->d, path) != DMMP_OK) return 0;
    int64_t n = dataset_n_samples(l->d);
    if (dataset_read_block(l->d, 0, n, &l->b) != DMMP_OK) return 0;
    l->n_items = dataset_n_items(l->d);
    l->n_users = dataset_n_users(l->d);
    l->item_w = dataset_side_fields(l->d, SIDE_ITEM, NULL);
    l->user_w = dataset_side_fields(l->d, SIDE_USER, NULL);
    l->items = malloc(sizeof(int32_t) * (size_t)(l->n_items * (l->item_w ? l->item_w : 1) + 1));
    l->users = malloc(sizeof(int32_t) * (size_t)(l->n_users * (l->user_w ? l->user_w : 1) + 1));
    return l->items && l->users && dataset_read_items(l->d, l->items) == DMMP_OK &&
           dataset_read_users(l->d, l->users) == DMMP_OK;
}

static void unload(loaded *l)
{
    dataset_block_free(&l->b);
    free(l->items);
    free(l->users);
    dataset_close(l->d);
}

/* Number of differences between two datasets' samples, fields, tables and
 * (with raw set) raw-id tables. */
static int differences(const char *pa, const char *pb, int raw)
{
    loaded a, b;
    int ok = load(&a, pa) && load(&b, pb);
    CU_ASSERT_FATAL(ok);
    const dataset_schema *sa = dataset_get_schema(a.d), *sb = dataset_get_schema(b.d);
    int bad = 0;
    if (sa->n_fields != sb->n_fields || sa->n_dense != sb->n_dense || a.b.n != b.b.n || a.n_items != b.n_items ||
        a.n_users != b.n_users) {
        unload(&a);
        unload(&b);
        return 1000000;
    }
    for (int f = 0; f < sa->n_fields; f++) {
        bad += strcmp(sa->fields[f].name, sb->fields[f].name) != 0 || sa->fields[f].side != sb->fields[f].side ||
               sa->fields[f].multi != sb->fields[f].multi || sa->fields[f].vocab_size != sb->fields[f].vocab_size;
        if (!raw) continue;
        raw_ids va, vb;
        CU_ASSERT_FATAL(dataset_read_raw_ids(a.d, RAW_IDS_FIELD, f, &va) == DMMP_OK);
        CU_ASSERT_FATAL(dataset_read_raw_ids(b.d, RAW_IDS_FIELD, f, &vb) == DMMP_OK);
        bad += va.n != vb.n || (va.n && (memcmp(va.offsets, vb.offsets, sizeof(int64_t) * (size_t)(va.n + 1)) ||
                                         memcmp(va.bytes, vb.bytes, (size_t)va.offsets[va.n])));
        raw_ids_free(&va);
        raw_ids_free(&vb);
    }
    for (int k = 0; raw && k < 2; k++) {
        raw_ids va, vb;
        raw_ids_kind kind = k ? RAW_IDS_ITEMS : RAW_IDS_USERS;
        CU_ASSERT_FATAL(dataset_read_raw_ids(a.d, kind, 0, &va) == DMMP_OK);
        CU_ASSERT_FATAL(dataset_read_raw_ids(b.d, kind, 0, &vb) == DMMP_OK);
        bad += va.n != vb.n || (va.n && (memcmp(va.offsets, vb.offsets, sizeof(int64_t) * (size_t)(va.n + 1)) ||
                                         memcmp(va.bytes, vb.bytes, (size_t)va.offsets[va.n])));
        raw_ids_free(&va);
        raw_ids_free(&vb);
    }
    int64_t n = a.b.n;
    int ns = dataset_n_single(a.d);
    bad += memcmp(a.b.click, b.b.click, (size_t)n) != 0;
    bad += memcmp(a.b.conversion, b.b.conversion, (size_t)n) != 0;
    bad += memcmp(a.b.split, b.b.split, (size_t)n) != 0;
    bad += memcmp(a.b.user, b.b.user, sizeof(int32_t) * (size_t)n) != 0;
    bad += memcmp(a.b.item, b.b.item, sizeof(int32_t) * (size_t)n) != 0;
    bad += memcmp(a.b.sparse, b.b.sparse, sizeof(int32_t) * (size_t)(n * ns)) != 0;
    if (sa->n_dense) bad += memcmp(a.b.dense, b.b.dense, sizeof(float) * (size_t)(n * sa->n_dense)) != 0;
    for (int k = 0; k < a.b.n_multi; k++) {
        bad += memcmp(a.b.multi_offsets[k], b.b.multi_offsets[k], sizeof(int64_t) * (size_t)(n + 1)) != 0;
        int64_t nnz = a.b.multi_offsets[k][n];
        bad += memcmp(a.b.multi_indices[k], b.b.multi_indices[k], sizeof(int32_t) * (size_t)nnz) != 0;
        bad += memcmp(a.b.multi_weights[k], b.b.multi_weights[k], sizeof(float) * (size_t)nnz) != 0;
    }
    bad += memcmp(a.items, b.items, sizeof(int32_t) * (size_t)(a.n_items * a.item_w)) != 0;
    bad += memcmp(a.users, b.users, sizeof(int32_t) * (size_t)(a.n_users * a.user_w)) != 0;
    unload(&a);
    unload(&b);
    return bad;
}

static const char movie_schema[] = "[dataset]\nname = films\n"
                                   "[csv]\ndelimiter = ,\nheader = yes\nquote = \"\n"
                                   "[labels]\nclick = rating >= 4   ; liked\nconversion = rating >= 5\n"
                                   "[keys]\nuser = uid\nitem = mid\ntime = ts\n"
                                   "[field uid]\nside = user\n"
                                   "[field mid]\nside = item\n"
                                   "[field genres]\nside = item\nkind = multi\nseparator = |\nweight_separator = :\n"
                                   "[field budget]\nkind = dense\n";

static void test_schema_errors(void)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"[csv]\ndelimiter = ,,\n", "s.ini:2: delimiter: ',,' is not one character"},
        {"[csv]\nbogus = 1\n", "s.ini:2: bogus: unknown key in [csv]"},
        {"[labels]\nclick = c\n[field f]\nside = left\n", "s.ini:4: side: unknown side 'left'"},
        {"[labels]\nclick = rating >= four\n", "s.ini:2: click: 'four' is not a number"},
        {"[labels]\nclick = rating < 4\n", "s.ini:2: click: cannot parse 'rating < 4'"},
        {"[labels]\nclick = c\n[field f]\nkind = bag\n", "s.ini:4: kind: unknown kind 'bag'"},
        {"[labels]\nclick = c\n[fields]\n", "s.ini:3: unknown section [fields]"},
        {"[labels]\nclick = c\n[field f]\nside = user\n[field f]\n", "s.ini:5: [field f] appears twice"},
        {"[labels]\nclick = c\n\n[field g]\nside = item\nkind = multi\n", "s.ini:4: [field g]: kind = multi needs separator"},
        {"[labels]\nclick = c\n[field a/b]\n", "s.ini:3: field name 'a/b' may not hold '/'"},
        {"[labels]\nclick = c\n[field f]\n", "s.ini:3: [field f]: side is required"},
        {"[field f]\nside = user\n", "s.ini: [labels] click is required"},
        {"click = c\n", "s.ini:1: click: a key before any [section]"},
        {"[labels]\nclick = c\n[field f]\nside = user\nhash_buckets = -3\n", "s.ini:5: hash_buckets: '-3' is not an integer"},
        {"[labels]\nclick = c\n[keys]\nshop = s\n", "s.ini:4: shop: unknown key in [keys]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        csv_schema sc;
        dmmp_status s = csv_schema_parse(&sc, cases[i].text, "s.ini");
        TU_ASSERT_MSG(s != DMMP_OK && strstr(dmmp_errmsg(), cases[i].want), "case %zu: got '%s', want '%s'", i,
                      s == DMMP_OK ? "success" : dmmp_errmsg(), cases[i].want);
    }
    /* Inline comments end a value; a delimiter may itself be ';' and \t is a tab. */
    csv_schema sc;
    CU_ASSERT_FATAL(csv_schema_parse(&sc, "[csv]\ndelimiter = ;   ; semicolons\nquote = none\n[labels]\nclick = 1\n"
                                          "[field f]\nside = user ; the user\n",
                                     "s.ini") == DMMP_OK);
    CU_ASSERT(sc.delimiter == ';' && sc.quote == 0 && sc.click.op == LABEL_CONST && sc.click.constant == 1);
    CU_ASSERT(sc.fields[0].side == SIDE_USER && !strcmp(sc.fields[0].column.name, "f"));
    CU_ASSERT_FATAL(csv_schema_parse(&sc, "[csv]\ndelimiter = \\t\n[labels]\nclick = c\n[field f]\nside = item\n", "s.ini") ==
                    DMMP_OK);
    CU_ASSERT(sc.delimiter == '\t' && !strcmp(sc.name, "s"));

    /* A schema column the header lacks names the schema line and the data file. */
    char dir[512], sp[600], tr[600], out[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(sp, sizeof sp, "%s/m.ini", dir);
    snprintf(tr, sizeof tr, "%s/r.csv", dir);
    snprintf(out, sizeof out, "%s/o.h5", dir);
    put(sp, movie_schema);
    put(tr, "uid,mid,rating,ts,genres\n1,2,5,10,a\n");
    import_options opt = quiet(out, 2);
    dmmp_status s = run_import(sp, tr, NULL, NULL, IMPORT_SPLIT_RANDOM, NULL, &opt);
    TU_ASSERT_MSG(s != DMMP_OK && strstr(dmmp_errmsg(), "m.ini:23: column: column 'budget' is not in the header of") &&
                      strstr(dmmp_errmsg(), "r.csv"),
                  "%s", dmmp_errmsg());
    CU_ASSERT(access(out, F_OK) != 0);
    put(tr, "uid,mid,rating,ts,genres,budget\n1,2,5,10,a,1\n");
    s = run_import(sp, tr, NULL, NULL, IMPORT_SPLIT_COLUMN, "fold", &opt);
    TU_ASSERT_MSG(s != DMMP_OK && strstr(dmmp_errmsg(), "--split column: column 'fold' is not in the header"), "%s",
                  dmmp_errmsg());
    unlink(sp);
    unlink(tr);
    rmdir(dir);
}

static void test_data_errors(void)
{
    char dir[512], sp[600], tr[600], out[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(sp, sizeof sp, "%s/m.ini", dir);
    snprintf(tr, sizeof tr, "%s/r.csv", dir);
    snprintf(out, sizeof out, "%s/o.h5", dir);
    put(sp, movie_schema);
    static const char head[] = "uid,mid,rating,ts,genres,budget\n";
    static const struct {
        const char *row, *want;
    } cases[] = {
        {"1,2,5,10\n", "r.csv:2:9: short line: 4 fields, expected 6"},
        {"1,2,x,10,a,1\n", "r.csv:2:5: rating: 'x' is not a number"},
        {"1,2,5,10,\"a|b,1\n", "r.csv:2:10: unterminated quote"},
        {"1,2,5,10,\"a\"b,1\n", "r.csv:2:13: text after a closing quote"},
        {"1,2,5,ten,a,1\n", "r.csv:2:7: ts: 'ten' is not a number"},
        {"1,2,5,10,a:x,1\n", "r.csv:2:12: genres: bad number"},
        {"1,2,5,10,a,1,9\n", "r.csv:2:13: long line: more than 6 fields"},
        {"1,2,5,10,a,1e\n", "r.csv:2:14: budget: bad exponent in '1e'"},
    };
    log_level lv = log_get_level();
    log_set_level(LOG_ERROR);
    import_options opt = quiet(out, 2);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "%s%s", head, cases[i].row);
        put(tr, text);
        dmmp_status s = run_import(sp, tr, NULL, NULL, IMPORT_SPLIT_RANDOM, NULL, &opt);
        TU_ASSERT_MSG(s != DMMP_OK && strstr(dmmp_errmsg(), cases[i].want), "case %zu: got '%s', want '%s'", i,
                      s == DMMP_OK ? "success" : dmmp_errmsg(), cases[i].want);
        CU_ASSERT(access(out, F_OK) != 0);
    }
    /* A conversion without a click: the schema says conversion = c. */
    char sp2[600];
    snprintf(sp2, sizeof sp2, "%s/c.ini", dir);
    put(sp2, "[labels]\nclick = k\nconversion = c\n[field u]\nside = user\n[field i]\nside = item\n");
    put(tr, "u,i,k,c\n1,2,1,1\n1,3,0,1\n");
    dmmp_status s = run_import(sp2, tr, NULL, NULL, IMPORT_SPLIT_RANDOM, NULL, &opt);
    TU_ASSERT_MSG(s != DMMP_OK && strstr(dmmp_errmsg(), "r.csv:3:7: conversion without a click"), "%s",
                  dmmp_errmsg());
    put(tr, "u,i,k,c\n1,2,1,1\n1,3,2,0\n");
    s = run_import(sp2, tr, NULL, NULL, IMPORT_SPLIT_RANDOM, NULL, &opt);
    TU_ASSERT_MSG(s != DMMP_OK && strstr(dmmp_errmsg(), "r.csv:3:5: k"), "%s", dmmp_errmsg());
    /* Skip mode: bad rows are counted, the others written. */
    put(tr, "u,i,k,c\n1,2,1,1\n1,3,0,1\n1,4\n2,2,0,0\n");
    opt.skip_bad_lines = 1;
    csv_import_args a = {sp2, tr, NULL, NULL, IMPORT_SPLIT_RANDOM, NULL, NULL, NULL};
    import_report rep;
    s = import_csv(&a, &opt, &rep);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    CU_ASSERT(rep.skipped == 2 && rep.rows[0] == 2);
    opt.skip_bad_lines = 0;
    /* The header: a repeated column name is an error at its column. */
    put(tr, "u,i,u\n1,2,1\n");
    s = run_import(sp2, tr, NULL, NULL, IMPORT_SPLIT_RANDOM, NULL, &opt);
    TU_ASSERT_MSG(s != DMMP_OK && strstr(dmmp_errmsg(), "r.csv:1:5: column 'u' appears twice"), "%s", dmmp_errmsg());
    /* A NUL byte in a cell, in a test file too (where nothing is inserted). */
    char te[600];
    snprintf(te, sizeof te, "%s/t.csv", dir);
    put(tr, "u,i,k,c\n1,2,1,1\n");
    FILE *nf = fopen(te, "wb");
    fwrite("u,i,k,c\n1,2\0,1,0\n", 1, 18, nf);
    fclose(nf);
    s = run_import(sp2, tr, NULL, te, IMPORT_SPLIT_RANDOM, NULL, &opt);
    TU_ASSERT_MSG(s != DMMP_OK && strstr(dmmp_errmsg(), "t.csv:2:4: a NUL byte"), "%s", dmmp_errmsg());
    unlink(te);
    log_set_level(lv);
    unlink(out);
    unlink(sp);
    unlink(sp2);
    unlink(tr);
    rmdir(dir);
}

static void check_raw(dataset *d, raw_ids_kind kind, int field, const char *const *want, int n)
{
    raw_ids v;
    CU_ASSERT_FATAL(dataset_read_raw_ids(d, kind, field, &v) == DMMP_OK);
    CU_ASSERT_EQUAL(v.n, n);
    char buf[64];
    for (int i = 0; i < n && i < v.n; i++)
        TU_ASSERT_MSG(!strcmp(raw_ids_format(&v, i, buf, sizeof buf), want[i]), "table %d/%d index %d: '%s', want '%s'",
                      (int)kind, field, i, buf, want[i]);
    raw_ids_free(&v);
}

static void test_by_hand(void)
{
    char dir[512], sp[600], tr[600], te[600], out[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(sp, sizeof sp, "%s/m.ini", dir);
    snprintf(tr, sizeof tr, "%s/r.csv", dir);
    snprintf(te, sizeof te, "%s/t.csv", dir);
    snprintf(out, sizeof out, "%s/o.h5", dir);
    put(sp, movie_schema);
    /* Quoted ids with the delimiter and "" inside, an empty id (missing: 0),
     * weighted genres, an empty bag, an empty dense value (0), CRLF. */
    put(tr, "rating,uid,mid,ts,genres,budget,title\n"
            "5,u1,\"m,1\",10,\"Action:2|Comedy\",1.5,\"Heat, The\"\n"
            "3,u2,\"say \"\"hi\"\"\",11,Comedy,,x\r\n"
            "4,u1,m3,12,,2,\"\"\n"
            "2,,m3,13,Drama:0.5,3,y\n");
    put(te, "rating,uid,mid,ts,genres,budget,title\n5,u3,m3,14,Action|Horror,4,z\n");
    import_options opt = quiet(out, 2);
    dmmp_status s = run_import(sp, tr, NULL, te, IMPORT_SPLIT_RANDOM, NULL, &opt);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    if (s != DMMP_OK) return;
    loaded l;
    CU_ASSERT_FATAL(load(&l, out));
    const dataset_schema *sc = dataset_get_schema(l.d);
    CU_ASSERT_EQUAL_FATAL(sc->n_fields, 3);
    CU_ASSERT(!strcmp(dataset_name(l.d), "films") && !strcmp(dataset_source(l.d), "csv"));
    CU_ASSERT(sc->n_dense == 1 && !strcmp(sc->dense_names[0], "budget"));
    CU_ASSERT(sc->fields[2].multi && sc->fields[2].side == SIDE_ITEM);
    /* By hand: uid u1->1 u2->2 (empty: 0; u3 unseen: 0); mid "m,1"->1,
     * "say "hi""->2, m3->3; genres Action->1 Comedy->2 Drama->3 (Horror unseen: 0). */
    static const int32_t want_sparse[5][2] = {{1, 1}, {2, 2}, {1, 3}, {0, 3}, {0, 3}};
    static const uint8_t click[5] = {1, 0, 1, 0, 1}, conv[5] = {1, 0, 0, 0, 1}, split[5] = {0, 0, 0, 0, 2};
    static const float dense[5] = {1.5f, 0.0f, 2.0f, 3.0f, 4.0f};
    static const int64_t off[6] = {0, 2, 3, 3, 4, 6};
    static const int32_t idx[6] = {1, 2, 2, 3, 1, 0};
    static const float wt[6] = {2.0f, 1.0f, 1.0f, 0.5f, 1.0f, 1.0f};
    CU_ASSERT_EQUAL_FATAL(l.b.n, 5);
    int bad = 0;
    for (int r = 0; r < 5; r++) {
        bad += l.b.sparse[r * 2] != want_sparse[r][0] || l.b.sparse[r * 2 + 1] != want_sparse[r][1];
        bad += l.b.user[r] != want_sparse[r][0] || l.b.item[r] != want_sparse[r][1];
        bad += l.b.click[r] != click[r] || l.b.conversion[r] != conv[r] || l.b.split[r] != split[r];
        bad += l.b.dense[r] != dense[r];
    }
    bad += memcmp(l.b.multi_offsets[0], off, sizeof off) != 0;
    bad += memcmp(l.b.multi_indices[0], idx, sizeof idx) != 0 || memcmp(l.b.multi_weights[0], wt, sizeof wt) != 0;
    TU_ASSERT_MSG(bad == 0, "%d mismatches against the hand-worked rows", bad);
    const char *const uid[] = {"", "u1", "u2"}, *const mid[] = {"", "m,1", "say \"hi\"", "m3"};
    const char *const genres[] = {"", "Action", "Comedy", "Drama"};
    check_raw(l.d, RAW_IDS_FIELD, 0, uid, 3);
    check_raw(l.d, RAW_IDS_FIELD, 1, mid, 4);
    check_raw(l.d, RAW_IDS_FIELD, 2, genres, 4);
    check_raw(l.d, RAW_IDS_USERS, 0, uid, 3);
    check_raw(l.d, RAW_IDS_ITEMS, 0, mid, 4);
    unload(&l);

    /* The same file as TSV without a header (columns c1..c7), hashed mid. */
    char tsv[600], sp2[600], out2[600];
    snprintf(tsv, sizeof tsv, "%s/r.tsv", dir);
    snprintf(sp2, sizeof sp2, "%s/t.ini", dir);
    snprintf(out2, sizeof out2, "%s/o2.h5", dir);
    put(tsv, "5\tu1\tm1\t10\tAction:2|Comedy\t1.5\n3\tu2\tm2\t11\tComedy\t\n");
    put(sp2, "[csv]\ndelimiter = \\t\nheader = no\nquote = none\n[labels]\nclick = c1 >= 4\n"
             "[keys]\nuser = c2\n[field uid]\ncolumn = c2\nside = user\n[field mid]\ncolumn = c3\nside = item\n"
             "hash_buckets = 5\n");
    opt = quiet(out2, 1);
    s = run_import(sp2, tsv, NULL, NULL, IMPORT_SPLIT_RANDOM, NULL, &opt);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    CU_ASSERT_FATAL(load(&l, out2));
    sc = dataset_get_schema(l.d);
    CU_ASSERT(sc->n_fields == 2 && sc->fields[1].vocab_size == 6 && l.b.n == 2);
    CU_ASSERT(l.b.click[0] == 1 && l.b.click[1] == 0 && l.b.user[0] == 1 && l.b.user[1] == 2);
    /* A hashed field keeps no vocabulary; items (the tuple of item fields) keep their raw tuple. */
    raw_ids v;
    CU_ASSERT(dataset_read_raw_ids(l.d, RAW_IDS_FIELD, 1, &v) == DMMP_OK && v.n == 0);
    const char *const items[] = {"", "m1", "m2"};
    if (l.b.sparse[1] != l.b.sparse[3]) check_raw(l.d, RAW_IDS_ITEMS, 0, items, 3);
    unload(&l);
    /* Thresholds compare the cell's decimal value, not a float rounding of
     * it: 0.3 > 0.3 is false, 3.3 >= 3.3 true. A UTF-8 byte order mark
     * before the header is skipped. */
    put(sp2, "[labels]\nclick = score > 0.3\n[field u]\nside = user\n[field i]\nside = item\n");
    put(tsv, "\xEF\xBB\xBFu,i,score,rating\n1,a,0.3,3.3\n1,b,0.31,3.2999\n2,a,0.2,1\n");
    s = run_import(sp2, tsv, NULL, NULL, IMPORT_SPLIT_RANDOM, NULL, &opt);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    CU_ASSERT_FATAL(load(&l, out2));
    CU_ASSERT(l.b.n == 3 && l.b.click[0] == 0 && l.b.click[1] == 1 && l.b.click[2] == 0);
    unload(&l);
    put(sp2, "[labels]\nclick = 1\nconversion = rating >= 3.3\n[field u]\nside = user\n[field i]\nside = item\n");
    s = run_import(sp2, tsv, NULL, NULL, IMPORT_SPLIT_RANDOM, NULL, &opt);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    CU_ASSERT_FATAL(load(&l, out2));
    CU_ASSERT(l.b.n == 3 && l.b.conversion[0] == 1 && l.b.conversion[1] == 0 && l.b.conversion[2] == 0);
    unload(&l);
    /* Items known only by a key column, with a multi-valued field: no
     * single-valued item field tells the unknown item 0 apart, the empty raw
     * id does. A user whose tuple fields are all empty is the unknown user. */
    put(sp2, "[labels]\nclick = k\n[keys]\nitem = mid\n[field u]\nside = user\n[field g]\nside = item\nkind = multi\n"
             "separator = |\n");
    put(tsv, "u,mid,k,g\n1,a,1,x|y\n,b,0,x\n2,a,1,y\n");
    s = run_import(sp2, tsv, NULL, NULL, IMPORT_SPLIT_RANDOM, NULL, &opt);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    CU_ASSERT_FATAL(load(&l, out2));
    int32_t first_item = -1, first_user = -1;
    CU_ASSERT(dataset_first_entity(l.d, SIDE_ITEM, &first_item) == DMMP_OK && first_item == 1);
    CU_ASSERT(dataset_first_entity(l.d, SIDE_USER, &first_user) == DMMP_OK && first_user == 1);
    CU_ASSERT(l.b.user[0] == 1 && l.b.user[1] == 0 && l.b.user[2] == 2 && dataset_n_users(l.d) == 3);
    unload(&l);
    /* A user-side multi-valued field: /users/multi holds each user's bag of
     * its first training row (user 1: x y; user 2: empty). */
    put(sp2, "[labels]\nclick = k\n[keys]\nuser = u\n[field u]\nside = user\n[field i]\nside = item\n"
             "[field tags]\nside = user\nkind = multi\nseparator = ;\n");
    put(tsv, "u,i,k,tags\n1,a,1,x;y\n1,b,0,z\n2,a,1,\n");
    s = run_import(sp2, tsv, NULL, NULL, IMPORT_SPLIT_RANDOM, NULL, &opt);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    dataset *d;
    CU_ASSERT_FATAL(dataset_open(&d, out2) == DMMP_OK);
    int64_t *uo;
    int32_t *ui;
    float *uw;
    CU_ASSERT_FATAL(dataset_read_users_multi(d, 2, &uo, &ui, &uw) == DMMP_OK);
    CU_ASSERT(dataset_n_users(d) == 3 && uo[0] == 0 && uo[1] == 0 && uo[2] == 2 && uo[3] == 2);
    CU_ASSERT(ui[0] == 1 && ui[1] == 2 && uw[0] == 1.0f);
    free(uo);
    free(ui);
    free(uw);
    dataset_close(d);
    unlink(out);
    unlink(out2);
    unlink(sp);
    unlink(sp2);
    unlink(tr);
    unlink(te);
    unlink(tsv);
    rmdir(dir);
}

/* A generated log: users 1..U, rows with times out of order, and a split column. */
static void write_log(const char *path, int rows, uint64_t seed)
{
    FILE *f = fopen(path, "wb");
    fprintf(f, "u,i,k,t,fold\n");
    uint64_t st = seed;
    static const char *const folds[] = {"train", "val", "test", "0", "1", "2"};
    for (int r = 0; r < rows; r++) {
        uint64_t h = rng_splitmix64(&st);
        fprintf(f, "%d,%d,%d,%d,%s\n", (int)(h % 37) + 1, (int)(h >> 20) % 50 + 1, (int)(h >> 40) % 2,
                (int)(h >> 8) % 1000, folds[(h >> 50) % 6]);
    }
    fclose(f);
}

static void test_splits(void)
{
    char dir[512], sp[600], tr[600], out[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(sp, sizeof sp, "%s/s.ini", dir);
    snprintf(tr, sizeof tr, "%s/r.csv", dir);
    snprintf(out, sizeof out, "%s/o.h5", dir);
    put(sp, "[labels]\nclick = k\n[keys]\nuser = u\ntime = t\n[field u]\nside = user\n[field i]\nside = item\n");
    enum { ROWS = 3000 };
    write_log(tr, ROWS, 7);
    /* Re-read the log here with sscanf. */
    int user[ROWS], time_[ROWS], fold[ROWS];
    FILE *f = fopen(tr, "rb");
    char line[128];
    CU_ASSERT_FATAL(fgets(line, sizeof line, f) != NULL);
    for (int r = 0; r < ROWS; r++) {
        char fs[16];
        int item, k;
        CU_ASSERT_FATAL(fgets(line, sizeof line, f) && sscanf(line, "%d,%d,%d,%d,%15s", &user[r], &item, &k, &time_[r], fs) == 5);
        fold[r] = !strcmp(fs, "train") || !strcmp(fs, "0") ? 0 : !strcmp(fs, "val") || !strcmp(fs, "1") ? 1 : 2;
    }
    fclose(f);
    loaded l;
    int bad;
    /* random: the seeded rule of the other importers. */
    import_options opt = quiet(out, 3);
    opt.val_fraction = 0.2;
    opt.test_fraction = 0.1;
    opt.seed = 9;
    CU_ASSERT_FATAL(run_import(sp, tr, NULL, NULL, IMPORT_SPLIT_RANDOM, NULL, &opt) == DMMP_OK);
    CU_ASSERT_FATAL(load(&l, out));
    bad = 0;
    for (int r = 0; r < ROWS; r++) bad += l.b.split[r] != (uint8_t)import_row_split(9, r, 0.2, 0.1);
    TU_ASSERT_MSG(bad == 0, "random: %d rows off the seeded rule", bad);
    unload(&l);
    /* time: times 0..999 (range from the file): test t >= max - 0.1 range, val t >= that - 0.2 range. */
    int tmin = time_[0], tmax = time_[0];
    for (int r = 0; r < ROWS; r++) {
        if (time_[r] < tmin) tmin = time_[r];
        if (time_[r] > tmax) tmax = time_[r];
    }
    double cut_test = tmax - 0.1 * (tmax - tmin), cut_val = cut_test - 0.2 * (tmax - tmin);
    CU_ASSERT_FATAL(run_import(sp, tr, NULL, NULL, IMPORT_SPLIT_TIME, NULL, &opt) == DMMP_OK);
    CU_ASSERT_FATAL(load(&l, out));
    bad = 0;
    int per[3] = {0, 0, 0};
    for (int r = 0; r < ROWS; r++) {
        int want = time_[r] >= cut_test ? 2 : time_[r] >= cut_val ? 1 : 0;
        bad += l.b.split[r] != want;
        per[l.b.split[r]]++;
    }
    TU_ASSERT_MSG(bad == 0 && per[1] > 0 && per[2] > 0, "time: %d rows off the hand rule (%d/%d/%d)", bad, per[0],
                  per[1], per[2]);
    unload(&l);
    /* leave-last-out against a brute force: per user, sort rows by (time, row). */
    CU_ASSERT_FATAL(run_import(sp, tr, NULL, NULL, IMPORT_SPLIT_LEAVE_LAST_OUT, NULL, &opt) == DMMP_OK);
    CU_ASSERT_FATAL(load(&l, out));
    bad = 0;
    for (int r = 0; r < ROWS; r++) {
        int n = 0, later = 0;
        for (int q = 0; q < ROWS; q++) {
            if (user[q] != user[r]) continue;
            n++;
            later += time_[q] > time_[r] || (time_[q] == time_[r] && q > r);
        }
        int want = later == 0 && n >= 2 ? 2 : later == 1 && n >= 3 ? 1 : 0;
        bad += l.b.split[r] != want;
    }
    TU_ASSERT_MSG(bad == 0, "leave-last-out: %d rows off the brute force", bad);
    unload(&l);
    /* column: train/val/test and 0/1/2. */
    CU_ASSERT_FATAL(run_import(sp, tr, NULL, NULL, IMPORT_SPLIT_COLUMN, "fold", &opt) == DMMP_OK);
    CU_ASSERT_FATAL(load(&l, out));
    bad = 0;
    for (int r = 0; r < ROWS; r++) bad += l.b.split[r] != fold[r];
    TU_ASSERT_MSG(bad == 0, "column: %d rows off the fold column", bad);
    unload(&l);
    /* The thread count changes nothing. */
    char out1[600];
    snprintf(out1, sizeof out1, "%s/o1.h5", dir);
    import_options one = opt;
    one.out = out1;
    one.threads = 1;
    CU_ASSERT_FATAL(run_import(sp, tr, NULL, NULL, IMPORT_SPLIT_COLUMN, "fold", &one) == DMMP_OK);
    CU_ASSERT_EQUAL(differences(out, out1, 1), 0);
    /* time without [keys] time; a split rule with a val file. */
    char sp2[600];
    snprintf(sp2, sizeof sp2, "%s/n.ini", dir);
    put(sp2, "[labels]\nclick = k\n[field u]\nside = user\n[field i]\nside = item\n");
    dmmp_status s = run_import(sp2, tr, NULL, NULL, IMPORT_SPLIT_LEAVE_LAST_OUT, NULL, &opt);
    TU_ASSERT_MSG(s != DMMP_OK && strstr(dmmp_errmsg(), "--split leave-last-out needs [keys] time"), "%s",
                  dmmp_errmsg());
    s = run_import(sp, tr, tr, NULL, IMPORT_SPLIT_TIME, NULL, &opt);
    TU_ASSERT_MSG(s != DMMP_OK && strstr(dmmp_errmsg(), "without --val and --test"), "%s", dmmp_errmsg());
    /* A time column with one value cannot split by time. */
    put(tr, "u,i,k,t,fold\n1,1,1,5,train\n1,2,0,5,val\n");
    s = run_import(sp, tr, NULL, NULL, IMPORT_SPLIT_TIME, NULL, &opt);
    TU_ASSERT_MSG(s != DMMP_OK && strstr(dmmp_errmsg(), "every row has the time 5"), "%s", dmmp_errmsg());
    /* A bad split value names its cell. */
    put(tr, "u,i,k,t,fold\n1,1,1,5,train\n1,2,0,6,later\n");
    s = run_import(sp, tr, NULL, NULL, IMPORT_SPLIT_COLUMN, "fold", &opt);
    TU_ASSERT_MSG(s != DMMP_OK && strstr(dmmp_errmsg(), "r.csv:3:9: split column: 'later' is not a split"), "%s",
                  dmmp_errmsg());
    unlink(out);
    unlink(out1);
    unlink(sp);
    unlink(sp2);
    unlink(tr);
    rmdir(dir);
}

/* experiments/schemas/NAME */
static void shipped_schema(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/experiments/schemas/%s", tu_srcdir(), name);
}

static void test_same_as_dedicated(void)
{
    char dir[512], sp[1024], tr[600], va[600], te[600], a[600], b[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(tr, sizeof tr, "%s/train.csv", dir);
    snprintf(va, sizeof va, "%s/val.csv", dir);
    snprintf(te, sizeof te, "%s/test.csv", dir);
    snprintf(a, sizeof a, "%s/a.h5", dir);
    snprintf(b, sizeof b, "%s/b.h5", dir);
    /* Ali-CCP CSV: a generated file in the published column order. */
    shipped_schema(sp, sizeof sp, "aliccp-csv.ini");
    static const char *const cols = "click,purchase,101,121,122,124,125,126,127,128,129,205,206,207,210,216,508,509,"
                                    "702,853,301,109_14,110_14,127_14,150_14,D109_14,D110_14,D127_14,D150_14,D508,"
                                    "D509,D702,D853";
    const char *files[3] = {tr, va, te};
    uint64_t st = 3;
    for (int k = 0; k < 3; k++) {
        FILE *f = fopen(files[k], "wb");
        fprintf(f, "%s\n", cols);
        for (int r = 0; r < (k ? 300 : 2000); r++) {
            int click = rng_splitmix64(&st) % 4 == 0;
            fprintf(f, "%d,%d", click, click && rng_splitmix64(&st) % 3 == 0);
            for (int c = 0; c < 23; c++) fprintf(f, ",%d", (int)(rng_splitmix64(&st) % (uint64_t)(c == 9 ? 400 : 30)));
            for (int c = 0; c < 8; c++) fprintf(f, ",%.4f", (double)(rng_splitmix64(&st) % 10000) / 10000.0);
            fprintf(f, "\n");
        }
        fclose(f);
    }
    import_options opt = quiet(a, 2);
    opt.val_fraction = 0.1;
    opt.test_fraction = 0.0;
    import_report rep;
    CU_ASSERT_FATAL(import_aliccp_csv(tr, NULL, te, &opt, &rep) == DMMP_OK);
    opt.out = b;
    dmmp_status s = run_import(sp, tr, NULL, te, IMPORT_SPLIT_RANDOM, NULL, &opt);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    CU_ASSERT_EQUAL(differences(a, b, 1), 0);
    opt.out = a;
    CU_ASSERT_FATAL(import_aliccp_csv(tr, va, te, &opt, &rep) == DMMP_OK);
    opt.out = b;
    CU_ASSERT_FATAL(run_import(sp, tr, va, te, IMPORT_SPLIT_RANDOM, NULL, &opt) == DMMP_OK);
    CU_ASSERT_EQUAL(differences(a, b, 1), 0);
    /* The real sample, when ../shared is beside the project. */
    const char *shared = tu_shared_dir();
    char real[1024];
    if (shared) snprintf(real, sizeof real, "%s/data/ali-ccp/ali_ccp_train_sample.csv", shared);
    if (shared && access(real, R_OK) == 0) {
        opt.out = a;
        CU_ASSERT_FATAL(import_aliccp_csv(real, NULL, NULL, &opt, &rep) == DMMP_OK);
        opt.out = b;
        CU_ASSERT_FATAL(run_import(sp, real, NULL, NULL, IMPORT_SPLIT_RANDOM, NULL, &opt) == DMMP_OK);
        CU_ASSERT_EQUAL(differences(a, b, 1), 0);
    } else {
        tu_skip("aliccp-csv schema on the real sample", "../shared/data/ali-ccp is absent");
    }
    /* AliExpress: users and items are tuples (no id column). */
    shipped_schema(sp, sizeof sp, "aliexpress.ini");
    for (int k = 0; k < 2; k++) {
        FILE *f = fopen(files[k == 0 ? 0 : 2], "wb");
        fprintf(f, "search_id");
        for (int c = 1; c <= 16; c++) fprintf(f, ",categorical_%d", c);
        for (int c = 1; c <= 63; c++) fprintf(f, ",numerical_%d", c);
        fprintf(f, ",click,conversion\n");
        for (int r = 0; r < (k ? 200 : 1500); r++) {
            fprintf(f, "%d", r / 7);
            for (int c = 0; c < 16; c++) fprintf(f, ",%d", (int)(rng_splitmix64(&st) % (uint64_t)(c < 6 ? 4 : 12)));
            for (int c = 0; c < 63; c++) fprintf(f, ",%.3f", (double)(rng_splitmix64(&st) % 1000) / 100.0);
            int click = rng_splitmix64(&st) % 5 == 0;
            fprintf(f, ",%d,%d\n", click, click && rng_splitmix64(&st) % 2);
        }
        fclose(f);
    }
    opt.out = a;
    CU_ASSERT_FATAL(import_aliexpress(tr, te, NULL, &opt, &rep) == DMMP_OK);
    opt.out = b;
    s = run_import(sp, tr, NULL, te, IMPORT_SPLIT_RANDOM, NULL, &opt);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    CU_ASSERT_EQUAL(differences(a, b, 0), 0);
    unlink(a);
    unlink(b);
    unlink(tr);
    unlink(va);
    unlink(te);
    rmdir(dir);
}

/* A plain RFC 4180 reader of one line into fields (for the fixture check). */
static int split_line(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        char *w;
        if (*p == '"') {
            fields[n++] = w = ++p;
            for (;;) {
                if (*p == '"' && p[1] == '"') *w++ = '"', p += 2;
                else if (*p == '"') break;
                else *w++ = *p++;
            }
            *w = 0;
            p++;
        } else {
            fields[n++] = p;
            p += strcspn(p, ",\n\r");
        }
        if (*p != ',') {
            *p = 0;
            break;
        }
        *p++ = 0;
    }
    return n;
}

static void test_movielens_fixture(void)
{
    char sp[1024], csv[1024], dir[512], out[600];
    shipped_schema(sp, sizeof sp, "movielens.ini");
    shipped_schema(csv, sizeof csv, "movielens-fixture.csv");
    tu_tmpdir(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/ml.h5", dir);
    import_options opt = quiet(out, 2);
    dmmp_status s = run_import(sp, csv, NULL, NULL, IMPORT_SPLIT_LEAVE_LAST_OUT, NULL, &opt);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    if (s != DMMP_OK) return;
    loaded l;
    CU_ASSERT_FATAL(load(&l, out));
    const dataset_schema *sc = dataset_get_schema(l.d);
    int f_movie = -1, f_genres = -1, f_user = -1;
    for (int f = 0; f < sc->n_fields; f++) {
        if (!strcmp(sc->fields[f].name, "movie_id")) f_movie = f;
        if (!strcmp(sc->fields[f].name, "genres")) f_genres = f;
        if (!strcmp(sc->fields[f].name, "user_id")) f_user = f;
    }
    CU_ASSERT_FATAL(f_movie >= 0 && f_genres >= 0 && f_user >= 0);
    raw_ids items, users, genres;
    CU_ASSERT_FATAL(dataset_read_raw_ids(l.d, RAW_IDS_ITEMS, 0, &items) == DMMP_OK);
    CU_ASSERT_FATAL(dataset_read_raw_ids(l.d, RAW_IDS_USERS, 0, &users) == DMMP_OK);
    CU_ASSERT_FATAL(dataset_read_raw_ids(l.d, RAW_IDS_FIELD, f_genres, &genres) == DMMP_OK);
    FILE *f = fopen(csv, "rb");
    CU_ASSERT_FATAL(f != NULL);
    char line[1024], *cols[16];
    CU_ASSERT_FATAL(fgets(line, sizeof line, f) != NULL);
    int64_t r = 0;
    int bad = 0, quoted = 0, multi = 0;
    while (fgets(line, sizeof line, f)) {
        quoted += strstr(line, "\"\"") != NULL;
        int n = split_line(line, cols, 16);
        CU_ASSERT_FATAL(n == 8 && r < l.b.n);
        int rating = atoi(cols[2]);
        bad += l.b.click[r] != (rating >= 4) || l.b.conversion[r] != (rating >= 5);
        char buf[256];
        if (l.b.split[r] == SPLIT_TRAIN) {
            bad += strcmp(raw_ids_format(&items, l.b.item[r], buf, sizeof buf), cols[1]) != 0;
            bad += strcmp(raw_ids_format(&users, l.b.user[r], buf, sizeof buf), cols[0]) != 0;
            /* The genres bag, in order, as raw strings joined by '|'. */
            int k = dataset_multi_field(l.d, 0) == f_genres ? 0 : 1;
            char joined[256] = "";
            for (int64_t j = l.b.multi_offsets[k][r]; j < l.b.multi_offsets[k][r + 1]; j++) {
                if (j > l.b.multi_offsets[k][r]) strcat(joined, "|");
                strcat(joined, raw_ids_format(&genres, l.b.multi_indices[k][j], buf, sizeof buf));
            }
            bad += strcmp(joined, cols[5]) != 0;
            multi += strchr(cols[5], '|') != NULL;
        }
        r++;
    }
    fclose(f);
    CU_ASSERT_EQUAL(r, l.b.n);
    TU_ASSERT_MSG(bad == 0 && quoted > 0 && multi > 0, "%d rows differ from the fixture (%d quoted, %d multi)", bad,
                  quoted, multi);
    raw_ids_free(&items);
    raw_ids_free(&users);
    raw_ids_free(&genres);
    unload(&l);
    unlink(out);
    rmdir(dir);
}

static void test_cli(void)
{
    if (!robust_dmmp()) {
        tu_skip("dmmp data import csv", "the dmmp command is not built (set DMMP_BUILDDIR)");
        return;
    }
    char out[4096], sp[1024], csv[1024], dir[512], h5[600];
    shipped_schema(sp, sizeof sp, "movielens.ini");
    shipped_schema(csv, sizeof csv, "movielens-fixture.csv");
    tu_tmpdir(dir, sizeof dir);
    snprintf(h5, sizeof h5, "%s/ml.h5", dir);
    const char *no_schema[] = {"data", "import", "csv", "--train", csv, "--out", h5, NULL};
    robust_expect_exit(no_schema, 2, 2, "csv needs --schema and --train", out, sizeof out);
    const char *bad_split[] = {"data", "import", "csv", "--schema", sp, "--train", csv, "--out", h5, "--split", "weekly", NULL};
    robust_expect_exit(bad_split, 2, 2, "--split 'weekly'", out, sizeof out);
    const char *split_val[] = {"data", "import", "csv", "--schema", sp, "--train", csv, "--val", csv,
                               "--out", h5, "--split", "time", NULL};
    robust_expect_exit(split_val, 2, 2, "without --val and --test", out, sizeof out);
    const char *hash[] = {"data", "import", "csv", "--schema", sp, "--train", csv, "--out", h5, "--hash", "genres=4", NULL};
    robust_expect_exit(hash, 2, 2, "hash_buckets", out, sizeof out);
    const char *missing[] = {"data", "import", "csv", "--schema", "/nonexistent.ini", "--train", csv, "--out", h5, NULL};
    robust_expect_exit(missing, 2, 2, "/nonexistent.ini: cannot open", out, sizeof out);
    CU_ASSERT(access(h5, F_OK) != 0);
    /* The defaults: a random split with 0.1 to val and 0.1 to test. */
    const char *ok[] = {"data", "import", "csv", "--schema", sp, "--train", csv, "--out", h5, "--quiet", NULL};
    robust_expect_exit(ok, 0, 0, "users, 120 items", out, sizeof out);
    loaded l;
    CU_ASSERT_FATAL(load(&l, h5));
    int bad = 0;
    for (int64_t r = 0; r < l.b.n; r++) bad += l.b.split[r] != (uint8_t)import_row_split(1, r, 0.1, 0.1);
    TU_ASSERT_MSG(bad == 0, "%d rows off the default split", bad);
    unload(&l);
    unlink(h5);
    rmdir(dir);
}

int register_import_schema_suites(void)
{
    static const char *const names[] = {
        "schema errors name the schema file, line and key",
        "data errors name file:line:column; skip mode counts them",
        "quotes, TSV, multi-valued and dense fields, hashing and raw ids worked by hand",
        "splits: the seeded rule, the time range, a brute-force leave-last-out, a column",
        "the shipped schema files describe what aliccp-csv and aliexpress build in",
        "the MovieLens-style fixture against a plain RFC 4180 re-parse",
        "dmmp data import csv: usage errors exit 2, defaults split 0.1/0.1",
    };
    static const CU_TestFunc tests[] = {test_schema_errors, test_data_errors,       test_by_hand, test_splits,
                                        test_same_as_dedicated, test_movielens_fixture, test_cli};
    return tu_add_suite("data_import_csv", names, tests, sizeof tests / sizeof tests[0]);
}
