/* Fuzz target: the Ali-CCP raw line parsers (src/data/parse_aliccp_raw.h)
 * driven through the parallel block parser (src/data/line_reader.h), as the
 * importer drives them.
 *
 * The first byte picks skeleton or common-features lines; the rest is a
 * block of lines. Properties checked on every line: a failed parse leaves
 * the entries array as it was; a successful one appends exactly n_entries
 * entries with declared fields and finite values, and never a conversion
 * without a click. On the block: the skip counts, the line count, the stop
 * mode error and the merged entries are the same with 1 and 3 ranges (the
 * header promises they do not depend on the number of threads). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/line_reader.h"
#include "data/parse_aliccp_raw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RANGES 3

typedef struct range_out {
    int common; /* 1: common-features lines */
    aliccp_entries entries;
    int64_t rows;
    uint64_t key_sum; /* keys and sample ids folded in, to compare runs */
} range_out;

static void fail_property(const char *what)
{
    fprintf(stderr, "aliccp raw property violated: %s\n", what);
    abort();
}

static dmmp_status parse_line(void *ctx, const char *line, const char *end, const text_loc *loc)
{
    range_out *o = ctx;
    int64_t before = o->entries.n;
    int32_t n_entries = -1;
    uint64_t key = 0, key_only = 0;
    dmmp_status s;
    /* The key scan must agree with the full parse whenever both succeed. */
    dmmp_status ks = aliccp_scan_key(line, end, loc, o->common ? 0 : 3, &key_only);
    if (o->common) {
        s = aliccp_parse_common(line, end, loc, &key, &n_entries, &o->entries);
    } else {
        aliccp_skeleton row;
        s = aliccp_parse_skeleton(line, end, loc, &row, &o->entries);
        if (s == DMMP_OK) {
            if (row.click > 1 || row.conversion > row.click) fail_property("labels");
            if (row.common_key_col < 1 || row.common_key_col > end - line + 1) fail_property("key column");
            key = row.common_key;
            n_entries = row.n_entries;
            key = key * 31 + row.sample_id;
            key_only = key_only * 31 + row.sample_id;
        }
    }
    if (s != DMMP_OK) {
        if (o->entries.n != before) fail_property("a failed line changed the entries");
        if (strlen(dmmp_errmsg()) == 0) fail_property("a failure without a message");
        return s;
    }
    if (ks != DMMP_OK || key != key_only) fail_property("aliccp_scan_key disagrees with the full parse");
    if (n_entries < 0 || o->entries.n != before + n_entries) fail_property("entry count");
    for (int64_t i = before; i < o->entries.n; i++) {
        const aliccp_entry *e = &o->entries.v[i];
        if (e->field < 0 || e->field >= ALICCP_N_FIELDS || !isfinite(e->value)) fail_property("entry contents");
    }
    o->rows++;
    o->key_sum += key;
    return DMMP_OK;
}

typedef struct block_result {
    dmmp_status status;
    int64_t n_lines, skipped, rows, n_entries;
    uint64_t key_sum, entry_sum;
    char error[LINE_ERR_LEN];
} block_result;

static void run_block(const char *p, size_t len, int common, int n_ranges, int skip, block_result *r)
{
    range_out outs[MAX_RANGES];
    void *ctx[MAX_RANGES];
    line_range ranges[MAX_RANGES];
    memset(outs, 0, sizeof outs);
    for (int i = 0; i < n_ranges; i++) {
        outs[i].common = common;
        ctx[i] = &outs[i];
    }
    memset(r, 0, sizeof *r);
    dmmp_error_clear();
    r->status = line_parse_block("fuzz", p, len, 1, n_ranges, ctx, parse_line, skip, ranges, &r->n_lines);
    snprintf(r->error, sizeof r->error, "%s", r->status == DMMP_OK ? "" : dmmp_errmsg());
    for (int i = 0; i < n_ranges; i++) {
        r->skipped += ranges[i].n_skipped;
        r->rows += outs[i].rows;
        r->key_sum += outs[i].key_sum;
        for (int64_t k = 0; k < outs[i].entries.n; k++) {
            const aliccp_entry *e = &outs[i].entries.v[k];
            uint32_t bits;
            memcpy(&bits, &e->value, sizeof bits);
            r->entry_sum = r->entry_sum * 1000003u + e->feature_id * 31u + (uint64_t)e->field * 7u + bits;
        }
        r->n_entries += outs[i].entries.n;
        aliccp_entries_free(&outs[i].entries);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536) return 0;
    int common = data[0] & 1;
    const char *p = (const char *)data + 1;
    size_t len = size - 1;
    for (int skip = 0; skip <= 1; skip++) {
        block_result one, many;
        run_block(p, len, common, 1, skip, &one);
        run_block(p, len, common, MAX_RANGES, skip, &many);
        if (one.status != many.status || strcmp(one.error, many.error)) fail_property("status depends on ranges");
        if (one.n_lines != many.n_lines) fail_property("line count depends on ranges");
        if (skip && (one.skipped != many.skipped || one.rows != many.rows || one.key_sum != many.key_sum ||
                     one.n_entries != many.n_entries || one.entry_sum != many.entry_sum))
            fail_property("skip-mode output depends on ranges");
    }
    return 0;
}
