/* line_stream (suite data_parse): a file of many small blocks, with a header
 * and a line longer than a block, streams through parse and merge in file
 * order with the right line numbers on any number of ranges; the first-block
 * callback runs once; a bad line stops the stream with its file:line, or is
 * counted in skip mode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/line_stream.h"
#include "test_import.h"
#include "testutil.h"

enum { N_VALUES = 20000, LONG_AFTER = 10000, LONG_LEN = 6000, BAD_VALUE = 15000, OUT_CAP = 8192 };

typedef struct out {
    int64_t n;
    int64_t value[OUT_CAP], line[OUT_CAP];
} out;

typedef struct run {
    out outs[2][3];
    void *ctx[2][3];
    int64_t next_value, next_line, skipped, blocks_parsed, blocks_merged, last_parsed_line;
    int firsts, bad_order, skip;
} run;

static dmmp_status parse_value(void *ctx, const char *line, const char *end, const text_loc *loc)
{
    out *o = ctx;
    int64_t v = -1;
    if (line[0] == 'i') {
        if (end - line < 3 || line[1] != ',') return text_fail(loc, line, "not a value line");
        v = 0;
        for (const char *p = line + 2; p < end; p++) {
            if (*p < '0' || *p > '9') return text_fail(loc, p, "bad digit");
            v = v * 10 + (*p - '0');
        }
    } else if (line[0] != 'L' || end - line != LONG_LEN) {
        return text_fail(loc, line, "unexpected line");
    }
    if (o->n == OUT_CAP) return dmmp_fail(DMMP_ENOMEM, "test output full");
    o->value[o->n] = v;
    o->line[o->n++] = loc->line;
    return DMMP_OK;
}

static dmmp_status skip_header(void *user, char **data, size_t *len, int64_t *first_line)
{
    run *r = user;
    r->firsts++;
    if (*len < 2 || memcmp(*data, "h\n", 2) != 0) return dmmp_fail(DMMP_EFORMAT, "no header");
    *data += 2;
    *len -= 2;
    *first_line = 2;
    return DMMP_OK;
}

static void reset_set(void *user, int set)
{
    run *r = user;
    for (int i = 0; i < 3; i++) r->outs[set][i].n = 0;
}

static dmmp_status note_parsed(void *user, const line_block *b)
{
    run *r = user;
    if (b->first_line <= r->last_parsed_line) r->bad_order = 1;
    r->last_parsed_line = b->first_line;
    r->blocks_parsed++;
    return DMMP_OK;
}

static dmmp_status check_merge(void *user, const line_block *b)
{
    run *r = user;
    if (b->first_line != r->next_line) r->bad_order = 1;
    for (int i = 0; i < b->n_ranges; i++) {
        const out *o = &r->outs[b->set][i];
        r->skipped += b->ranges[i].n_skipped;
        for (int64_t j = 0; j < o->n; j++) {
            int64_t v = o->value[j];
            if (v < 0) continue; /* the long line */
            if (r->skip && r->next_value == BAD_VALUE) r->next_value++; /* the skipped line */
            if (v != r->next_value++) r->bad_order = 1;
            /* line 1 is the header; the long line follows value LONG_AFTER */
            if (o->line[j] != v + 2 + (v > LONG_AFTER)) r->bad_order = 1;
        }
    }
    r->next_line = b->first_line + b->n_lines;
    r->blocks_merged++;
    return DMMP_OK;
}

static dmmp_status stream(const char *path, int n_ranges, int skip, run *r, int64_t *bytes)
{
    memset(r, 0, sizeof *r);
    r->next_line = 2;
    r->skip = skip;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 3; i++) r->ctx[k][i] = &r->outs[k][i];
    line_stream st;
    memset(&st, 0, sizeof st);
    st.path = path;
    st.block_bytes = 4096;
    st.n_ranges = n_ranges;
    st.ctx[0] = r->ctx[0];
    st.ctx[1] = r->ctx[1];
    st.parse = parse_value;
    st.skip = skip;
    st.user = r;
    st.first = skip_header;
    st.reset = reset_set;
    st.parsed = note_parsed;
    st.merge = check_merge;
    return line_stream_run(&st, bytes);
}

static void write_values(const char *path, int bad)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    fputs("h\n", f);
    for (int i = 0; i < N_VALUES; i++) {
        if (bad && i == BAD_VALUE) fputs("i,1z\n", f);
        else fprintf(f, "i,%d\n", i);
        if (i == LONG_AFTER) {
            fputc('L', f);
            for (int k = 1; k < LONG_LEN; k++) fputc('a', f);
            fputc('\n', f);
        }
    }
    fclose(f);
}

void test_line_stream_blocks(void)
{
    char dir[512], path[600], want[700];
    tu_tmpdir(dir, sizeof dir);
    CU_ASSERT_FATAL(dir[0] != 0);
    snprintf(path, sizeof path, "%s/values.txt", dir);
    run *r = malloc(sizeof *r);
    CU_ASSERT_FATAL(r != NULL);
    write_values(path, 0);
    for (int n_ranges = 1; n_ranges <= 3; n_ranges++) {
        int64_t bytes;
        TU_ASSERT_MSG(stream(path, n_ranges, 0, r, &bytes) == DMMP_OK, "%s", dmmp_errmsg());
        CU_ASSERT_EQUAL(r->firsts, 1);
        CU_ASSERT_EQUAL(r->bad_order, 0);
        CU_ASSERT_EQUAL(r->next_value, N_VALUES);
        CU_ASSERT_EQUAL(r->next_line, N_VALUES + 3); /* header, values, the long line */
        CU_ASSERT(r->blocks_merged > 20); /* blocks of 4096 bytes, 8192 after the long line */
        CU_ASSERT_EQUAL(r->blocks_parsed, r->blocks_merged);
        struct stat sb;
        CU_ASSERT_FATAL(stat(path, &sb) == 0);
        CU_ASSERT_EQUAL(bytes, (int64_t)sb.st_size);
    }
    write_values(path, 1);
    snprintf(want, sizeof want, "%s:%d:4: bad digit", path, BAD_VALUE + 3);
    for (int n_ranges = 1; n_ranges <= 3; n_ranges++) {
        int64_t bytes;
        CU_ASSERT(stream(path, n_ranges, 0, r, &bytes) == DMMP_EFORMAT);
        TU_ASSERT_MSG(strstr(dmmp_errmsg(), want) != NULL, "message '%s' lacks '%s'", dmmp_errmsg(), want);
        CU_ASSERT(r->next_value <= BAD_VALUE); /* nothing after the bad line's block was merged */
        CU_ASSERT_EQUAL(r->bad_order, 0);
        TU_ASSERT_MSG(stream(path, n_ranges, 1, r, &bytes) == DMMP_OK, "%s", dmmp_errmsg());
        CU_ASSERT_EQUAL(r->skipped, 1);
        CU_ASSERT_EQUAL(r->next_value, N_VALUES);
        CU_ASSERT_EQUAL(r->bad_order, 0);
    }
    free(r);
    unlink(path);
    rmdir(dir);
}
