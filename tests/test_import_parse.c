/* Suites data_vocab and data_parse (with tests/test_line_stream.c): the id -> index maps against a brute-force
 * list, the number parser against strtof, and the CSV and Ali-CCP raw line
 * parsers on well-formed and malformed in-memory lines (errors must name the
 * file, line and column, computed here by hand). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "data/parse_aliccp_raw.h"
#include "data/csv_record.h"
#include "data/text_scan.h"
#include "data/vocab.h"
#include "test_import.h"
#include "testutil.h"

static void test_vocab_exact_matches_brute_force(void)
{
    vocab *v;
    CU_ASSERT_FATAL(vocab_create(&v, 0, "t") == DMMP_OK);
    enum { N = 60000, DISTINCT_MAX = 20000 };
    uint64_t *seen = malloc(DISTINCT_MAX * sizeof *seen);
    int n_seen = 0, bad = 0;
    rng r;
    rng_seed(&r, 11);
    for (int i = 0; i < N; i++) {
        /* Ids from a wide range with repeats, so the table grows several times. */
        uint64_t id = rng_below(&r, 4) == 0 ? rng_u64(&r) : rng_below(&r, 15000) * 7919;
        int expect = 0;
        for (int k = 0; k < n_seen && !expect; k++)
            if (seen[k] == id) expect = k + 1;
        if (!expect) {
            if (n_seen == DISTINCT_MAX) continue;
            seen[n_seen++] = id;
            expect = n_seen;
        }
        int32_t got;
        CU_ASSERT_FATAL(vocab_insert(v, id, &got) == DMMP_OK);
        bad += got != expect;
    }
    TU_ASSERT_MSG(bad == 0, "%d ids got the wrong index", bad);
    CU_ASSERT_EQUAL(vocab_size(v), n_seen + 1);
    CU_ASSERT_EQUAL(vocab_count(v), n_seen);
    for (int k = 0; k < n_seen; k++) {
        bad += vocab_lookup(v, seen[k]) != k + 1;
        bad += vocab_id_at(v, k + 1) != seen[k];
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* An id never inserted maps to the reserved index 0 (odd, so not a multiple of 7919 * 2). */
    int unseen_nonzero = 0;
    for (uint64_t id = 1; id < 2000; id += 2) {
        int found = 0;
        for (int k = 0; k < n_seen; k++) found |= seen[k] == id;
        if (!found) unseen_nonzero += vocab_lookup(v, id) != 0;
    }
    CU_ASSERT_EQUAL(unseen_nonzero, 0);
    free(seen);
    vocab_free(v);
}

static void test_vocab_hashed(void)
{
    vocab *v;
    CU_ASSERT_FATAL(vocab_create(&v, 10, "h") == DMMP_OK);
    CU_ASSERT(vocab_is_hashed(v));
    CU_ASSERT_EQUAL(vocab_size(v), 11);
    int counts[11] = {0}, bad = 0;
    for (uint64_t id = 0; id < 10000; id++) {
        int32_t a;
        CU_ASSERT_FATAL(vocab_insert(v, id, &a) == DMMP_OK);
        bad += a < 1 || a > 10 || vocab_lookup(v, id) != a;
        if (a >= 1 && a <= 10) counts[a]++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* Chi-square over 10 buckets, 9 dof: 99.99th percentile ~ 33.7. */
    double chi = 0;
    for (int k = 1; k <= 10; k++) chi += (counts[k] - 1000.0) * (counts[k] - 1000.0) / 1000.0;
    TU_ASSERT_MSG(chi < 33.7, "chi-square %.2f", chi);
    vocab_free(v);
    CU_ASSERT(vocab_create(&v, -1, "neg") == DMMP_EINVAL);
    CU_ASSERT(strstr(dmmp_errmsg(), "neg") != NULL);
}

/* Expects s to be a format error whose message contains want. */
#define ASSERT_ERR(s, want)                                                                       \
    do {                                                                                          \
        dmmp_status s_ = (s);                                                                     \
        CU_ASSERT_EQUAL(s_, DMMP_EFORMAT);                                                        \
        TU_ASSERT_MSG(s_ != DMMP_OK && strstr(dmmp_errmsg(), want) != NULL, "message '%s' lacks '%s'", \
                      dmmp_errmsg(), want);                                                       \
    } while (0)

static dmmp_status parse_f(const char *text, float *v)
{
    text_loc loc = {"num.txt", 3, text};
    return text_parse_f32(text, text + strlen(text), &loc, "x", v);
}

static void test_parse_numbers(void)
{
    static const char *good[] = {"0", "1", "-1", "+2.5", "0.4734", ".5", "5.", "1e-3", "-2.5E+4", "0.0",
                                 "123456789012345678901234", "3.4e38", "1e-40", "0.000000000000000000000001234"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        float v = -999;
        CU_ASSERT_FATAL(parse_f(good[i], &v) == DMMP_OK);
        float ref = strtof(good[i], NULL);
        TU_ASSERT_MSG(v == ref || (ref != 0 && (v - ref) / ref < 1.2e-7 && (ref - v) / ref < 1.2e-7),
                      "'%s' -> %.9g, strtof %.9g", good[i], v, ref);
    }
    /* Random decimals in the forms writers produce, against strtof: within one
     * float ulp (the mantissa goes through a double, so at most one extra rounding). */
    rng r;
    rng_seed(&r, 5);
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        char buf[64];
        double x = (rng_uniform(&r) - 0.3) * pow(10.0, (int)rng_below(&r, 16) - 8);
        snprintf(buf, sizeof buf, i % 2 ? "%.*g" : "%.*f", 1 + (int)rng_below(&r, 12), x);
        float v, ref = strtof(buf, NULL);
        if (parse_f(buf, &v) != DMMP_OK) {
            bad++;
            continue;
        }
        float tol = fabsf(ref) * 1.2e-7f;
        if (fabsf(v - ref) > tol) bad++;
    }
    TU_ASSERT_MSG(bad == 0, "%d of 20000 random decimals disagree with strtof", bad);
    float v;
    ASSERT_ERR(parse_f("1.2.3", &v), "num.txt:3:4:");
    ASSERT_ERR(parse_f("abc", &v), "num.txt:3:1: x: bad number 'abc'");
    ASSERT_ERR(parse_f("", &v), "bad number");
    ASSERT_ERR(parse_f("1e", &v), "num.txt:3:3: x: bad exponent");
    ASSERT_ERR(parse_f("--1", &v), "bad number");
    ASSERT_ERR(parse_f("1e39", &v), "out of float range");
    const char *t = "18446744073709551616";
    text_loc loc = {"n", 1, t};
    uint64_t u;
    CU_ASSERT(text_parse_u64(t, t + 19, &loc, "id", &u) == DMMP_OK);
    CU_ASSERT_EQUAL(u, 1844674407370955161ULL);
    ASSERT_ERR(text_parse_u64(t, t + 20, &loc, "id", &u), "overflows");
    const char *neg = "-12,x7";
    loc.line_start = neg;
    int64_t i64;
    CU_ASSERT(text_parse_i64(neg, neg + 3, &loc, "id", &i64) == DMMP_OK);
    CU_ASSERT_EQUAL(i64, -12);
    ASSERT_ERR(text_parse_u64(neg + 4, neg + 6, &loc, "id", &u), "n:1:5: id: bad integer 'x7'");
    uint8_t lab;
    ASSERT_ERR(text_parse_label(neg + 1, neg + 3, &loc, "click", &lab), "n:1:2: click: expected 0 or 1");
    CU_ASSERT(text_hash64("abc", 3) != text_hash64("abd", 3));
    CU_ASSERT(text_hash64("a", 1) != text_hash64("a\0", 2));
}

static void test_parse_csv_fields(void)
{
    char line[] = "1,0,,42,0.5";
    const char *end = line + strlen(line);
    text_loc loc = {"t.csv", 7, line};
    csv_field f[5];
    CU_ASSERT_EQUAL(csv_record_count(line, end, ',', '"'), 5);
    CU_ASSERT_FATAL(csv_record_split(line, end, ',', '"', &loc, f, 5) == DMMP_OK);
    CU_ASSERT(f[2].start == f[2].end && f[2].start == line + 4);
    CU_ASSERT(f[4].start == line + 8 && f[4].end == end);
    /* Short: 5 fields, 6 expected; the column is one past the last byte (12). */
    ASSERT_ERR(csv_record_split(line, end, ',', '"', &loc, f, 6), "t.csv:7:12: short line: 5 fields, expected 6");
    /* Long: fields 1,0 then the 2nd comma at column 4. */
    ASSERT_ERR(csv_record_split(line, end, ',', '"', &loc, f, 2), "t.csv:7:4: long line");
    /* Quoted: the delimiter and "" inside, unescaped in place; a quote inside
     * an unquoted field is an ordinary byte. */
    char q[] = "1,\"a,\"\"b\"\"\",x\"y,\"\"";
    loc.line_start = q;
    const char *qe = q + strlen(q);
    CU_ASSERT_EQUAL(csv_record_count(q, qe, ',', '"'), 4);
    CU_ASSERT_FATAL(csv_record_split(q, qe, ',', '"', &loc, f, 4) == DMMP_OK);
    CU_ASSERT(f[1].end - f[1].start == 5 && !memcmp(f[1].start, "a,\"b\"", 5));
    CU_ASSERT(f[2].end - f[2].start == 3 && !memcmp(f[2].start, "x\"y", 3));
    CU_ASSERT(f[3].start == f[3].end);
    CU_ASSERT(f[2].start == q + 12); /* the fields after a shortened one keep their place */
    char open_q[] = "1,\"ab";
    loc.line_start = open_q;
    ASSERT_ERR(csv_record_split(open_q, open_q + 5, ',', '"', &loc, f, 2), "t.csv:7:3: unterminated quote");
    char after[] = "\"a\"b,c";
    loc.line_start = after;
    ASSERT_ERR(csv_record_split(after, after + 6, ',', '"', &loc, f, 2), "t.csv:7:4: text after a closing quote");
    /* Quoting off: quotes are bytes; TSV. */
    char t[] = "\"a\tb";
    loc.line_start = t;
    CU_ASSERT_FATAL(csv_record_split(t, t + 4, '\t', 0, &loc, f, 2) == DMMP_OK);
    CU_ASSERT(f[0].end - f[0].start == 2 && f[1].end - f[1].start == 1);
    const char *next, *ce;
    const char *two = "a,b\r\nc";
    next = text_next_line(two, two + 6, &ce);
    CU_ASSERT(ce == two + 3 && next == two + 5);
    next = text_next_line(next, two + 6, &ce);
    CU_ASSERT(ce == two + 6 && next == two + 6);
}

static void test_parse_aliccp_skeleton(void)
{
    /* Entries: 205 item 77 (1.0), 109_14 multi 5 (0.25), 301 position 3 (1). */
    const char *line = "9,1,1,abc123,3,205\x02" "77\x03" "1.0\x01" "109_14\x02" "5\x03" "0.25\x01" "301\x02" "3\x03" "1";
    const char *end = line + strlen(line);
    text_loc loc = {"sk.csv", 2, line};
    aliccp_entries e = {0};
    aliccp_skeleton row;
    CU_ASSERT_FATAL(aliccp_parse_skeleton(line, end, &loc, &row, &e) == DMMP_OK);
    CU_ASSERT_EQUAL(row.sample_id, 9);
    CU_ASSERT(row.click == 1 && row.conversion == 1);
    CU_ASSERT_EQUAL(row.common_key, text_hash64("abc123", 6));
    CU_ASSERT_EQUAL(row.common_key_col, 7);
    CU_ASSERT_EQUAL_FATAL(row.n_entries, 3);
    CU_ASSERT_EQUAL(e.n, 3);
    CU_ASSERT(!strcmp(aliccp_fields[e.v[0].field].name, "205") && e.v[0].feature_id == 77 && e.v[0].value == 1.0f);
    CU_ASSERT(!strcmp(aliccp_fields[e.v[1].field].name, "109_14") && aliccp_fields[e.v[1].field].multi);
    CU_ASSERT(e.v[1].feature_id == 5 && e.v[1].value == 0.25f);
    CU_ASSERT(!strcmp(aliccp_fields[e.v[2].field].name, "301") && e.v[2].feature_id == 3);
    uint64_t key;
    CU_ASSERT(aliccp_scan_key(line, end, &loc, 3, &key) == DMMP_OK && key == row.common_key);

    /* Malformed lines; each must leave the entries as they were. Columns by hand. */
    struct {
        const char *text, *want;
    } bad[] = {
        {"9,1,1,abc", "sk.csv:2:10: short line: missing feature_count"},
        {"9,x,0,k,1,205\x02" "1\x03" "1", "sk.csv:2:3: click: expected 0 or 1"},
        {"9,0,1,k,1,205\x02" "1\x03" "1", "sk.csv:2:5: conversion without a click"},
        {"9,0,0,k,1,999\x02" "1\x03" "1", "sk.csv:2:11: field id '999' is not declared"},
        {"9,0,0,k,1,205\x02" "1x\x03" "1", "sk.csv:2:16: feature_id: bad integer '1x'"},
        {"9,0,0,k,1,205\x02" "1\x03" "0.5q", "sk.csv:2:20: feature value: bad number"},
        {"9,0,0,k,2,205\x02" "1\x03" "1", "sk.csv:2:18: feature_list has 1 entries, feature_count says 2"},
        {"9,0,0,k,1,205\x02" "1\x03" "1\x01" "206\x02" "2\x03" "1", "sk.csv:2:19: feature_list has more entries"},
        {"9,0,0,k,1,205\x02" "1", "sk.csv:2:15: feature entry 1: missing 0x03"},
        {"9,0,0,,1,205\x02" "1\x03" "1", "sk.csv:2:7: empty common_feature_index"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        loc.line_start = bad[i].text;
        ASSERT_ERR(aliccp_parse_skeleton(bad[i].text, bad[i].text + strlen(bad[i].text), &loc, &row, &e), bad[i].want);
        CU_ASSERT_EQUAL(e.n, 3);
    }
    aliccp_entries_free(&e);
}

static void test_parse_aliccp_common(void)
{
    const char *line = "abc123,2,101\x02" "4242\x03" "1\x01" "150_14\x02" "8\x03" "0.693147";
    text_loc loc = {"cf.csv", 5, line};
    aliccp_entries e = {0};
    uint64_t key;
    int32_t n;
    CU_ASSERT_FATAL(aliccp_parse_common(line, line + strlen(line), &loc, &key, &n, &e) == DMMP_OK);
    CU_ASSERT_EQUAL(key, text_hash64("abc123", 6));
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT(e.v[0].field == aliccp_field_index("101", "101" + 3) && e.v[0].feature_id == 4242);
    CU_ASSERT(e.v[1].field == aliccp_field_index("150_14", "150_14" + 6) && e.v[1].feature_id == 8);
    TU_ASSERT_NEAR(e.v[1].value, 0.693147, 1e-7);
    uint64_t k2;
    CU_ASSERT(aliccp_scan_key(line, line + strlen(line), &loc, 0, &k2) == DMMP_OK && k2 == key);
    const char *bad = "abc123";
    loc.line_start = bad;
    ASSERT_ERR(aliccp_parse_common(bad, bad + 6, &loc, &key, &n, &e), "cf.csv:5:7: short line");
    CU_ASSERT_EQUAL(aliccp_field_index("127", "127" + 3), 6);
    CU_ASSERT_EQUAL(aliccp_field_index("127_14", "127_14" + 6), 11);
    CU_ASSERT_EQUAL(aliccp_field_index("127_15", "127_15" + 6), -1);
    CU_ASSERT_EQUAL(aliccp_field_index("12", "12" + 2), -1);
    aliccp_entries_free(&e);
}

int register_import_parse_suites(void)
{
    static const char *const vocab_names[] = {"exact ids match a brute-force list", "hashed ids stay in buckets"};
    static const CU_TestFunc vocab_tests[] = {test_vocab_exact_matches_brute_force, test_vocab_hashed};
    static const char *const parse_names[] = {"numbers against strtof and malformed numbers", "csv fields",
                                              "ali-ccp skeleton lines", "ali-ccp common feature lines",
                                              "line_stream: small blocks in order, once the header, errors by line"};
    static const CU_TestFunc parse_tests[] = {test_parse_numbers, test_parse_csv_fields, test_parse_aliccp_skeleton,
                                              test_parse_aliccp_common, test_line_stream_blocks};
    if (tu_add_suite("data_vocab", vocab_names, vocab_tests, 2)) return 1;
    return tu_add_suite("data_parse", parse_names, parse_tests, 5);
}
