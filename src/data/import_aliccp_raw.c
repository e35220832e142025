/* Ali-CCP raw importer.
 *
 * Each (skeleton, common features) pair is streamed once per file:
 *  1. the common-features file: every line is parsed (so bad lines are
 *     reported or counted as they come), and the first good line of each
 *     common_feature_index is noted by place: its key gets a record number
 *     and the record its byte offset, length and line number, no features;
 *  2. the skeleton: after a block is parsed (on the helper thread, while
 *     the block before is merged), its rows' records are looked up and
 *     those not held yet are read back from the common file (pread of
 *     their lines, parsed in parallel) into a store of raw entries that
 *     never moves (the user side of a sample); then the merge joins each
 *     sample's own entries with its common record, ids go through the
 *     field vocabularies (inserted for train rows, looked up otherwise) and
 *     rows stream to the writer.
 * Memory holds the features of the common lines the skeleton really uses
 * (plus a small index of every common line), and nothing relies on the
 * files being grouped or sorted. Every file is parsed in 16 MB blocks in
 * parallel ranges and merged in file order on one thread (line_stream: the
 * next block is parsed while one is merged); that thread owns the
 * vocabularies and the writer, so the output does not depend on the thread
 * count. */
#include <errno.h>
#include <fcntl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "data/dataset_writer.h"
#include "data/entity_bags.h"
#include "data/import.h"
#include "data/import_rows.h"
#include "data/line_stream.h"
#include "data/parse_aliccp_raw.h"

#define BLOCK_BYTES (16u << 20)
#define N_SINGLE (ALICCP_N_FIELDS - ALICCP_N_MULTI)
#define N_USER_SINGLE 9 /* also the schema index of the first multi-valued field */
#define N_ITEM_SINGLE 5
#define WARN_LINES 5
#define SEGMENT_ENTRIES (1 << 20) /* the store grows by segments of this many entries */

typedef struct skel_row {
    aliccp_skeleton s;
    int32_t rec; /* its common record (0: no line for its key), set by hold_block_records */
    int64_t entry_off;
    int64_t line;
    const char *line_start, *line_end;
} skel_row;

typedef struct common_row {
    uint64_t key;
    const char *line_start, *line_end;
    int64_t line;
} common_row;

/* What one parser thread produces from its range of a block. */
typedef struct range_out {
    aliccp_entries entries;
    skel_row *skel;
    common_row *common;
    int64_t n, cap_skel, cap_common;
} range_out;

/* A held common record: its entries and, per entry, its vocabulary index
 * once known (else 0); n = -1 while not held. One struct, so a sample's
 * record costs the merge one cache miss, not three. */
typedef struct held_rec {
    aliccp_entry *v;
    int32_t *idx;
    int32_t n;
} held_rec;

/* A record to hold: what its thread parsed (entries from off in the
 * thread's scratch) and how that went. */
typedef struct pending_rec {
    int32_t rec, n;
    int thread;
    uint64_t key;
    int64_t off;
    dmmp_status status;
} pending_rec;

/* Where a common record's line is in the common file. */
typedef struct common_place {
    int64_t offset, line;
    int64_t len;
} common_place;

typedef struct raw_importer {
    const import_options *opt;
    import_report *rep;
    vocab *vocabs[ALICCP_N_FIELDS];
    int column[ALICCP_N_FIELDS]; /* sparse column or multi-valued field number */
    dataset_writer *w;
    row_block rows;
    entity_table users, items;
    /* the common features of the current pair */
    const char *common_path;
    int common_fd;
    vocab *records;        /* common_feature_index key -> record number */
    common_place *place;   /* per record: its first good line */
    int64_t place_cap;
    /* The held records: their entries and, per entry, its vocabulary index
     * once known (else 0), in segments that never move, because records
     * are held (on the parser's helper thread) while earlier ones are
     * merged. */
    held_rec *held; /* per record */
    int64_t n_held, n_held_entries;
    aliccp_entry **seg_v;
    int32_t **seg_idx;
    int64_t n_seg, seg_cap, seg_used, seg_size; /* segments, the last one's use and size */
    /* holding a block's new records: per parser thread, a common line read
     * back and the entries parsed from its lines; the records in row order */
    char *line_buf[LINE_MAX_RANGES];
    int64_t line_cap[LINE_MAX_RANGES];
    aliccp_entries scratch[LINE_MAX_RANGES];
    pending_rec *pending;
    int64_t n_pending, pending_cap;
    int64_t train_rows_seen;
    int64_t dup_single;
    entity_bags bags; /* the multi-valued user fields of each user's first training row */
    int warned;
    int is_test;
    int64_t data_lines; /* of the file being streamed: parsed or skipped */
    range_out outs[2][LINE_MAX_RANGES];
    void *ctx[2][LINE_MAX_RANGES];
    int n_ranges;
} raw_importer;

static dmmp_status grow_out(int64_t n, int64_t *cap, size_t elem, void **arr)
{
    if (n < *cap) return DMMP_OK;
    int64_t new_cap = *cap ? *cap * 2 : 4096;
    void *p = realloc(*arr, (size_t)new_cap * elem);
    if (!p) return dmmp_fail(DMMP_ENOMEM, "parser output: out of memory");
    *arr = p;
    *cap = new_cap;
    return DMMP_OK;
}

/* Parses a common line in full (its errors are the file's) but keeps only
 * its key and place: the features are read again if the skeleton uses them. */
static dmmp_status parse_common_line(void *ctx, const char *line, const char *end, const text_loc *loc)
{
    range_out *o = ctx;
    DMMP_TRY(grow_out(o->n, &o->cap_common, sizeof *o->common, (void **)&o->common));
    common_row *c = &o->common[o->n];
    int32_t n_entries;
    int64_t mark = o->entries.n;
    DMMP_TRY(aliccp_parse_common(line, end, loc, &c->key, &n_entries, &o->entries));
    o->entries.n = mark;
    c->line_start = line;
    c->line_end = end;
    c->line = loc->line;
    o->n++;
    return DMMP_OK;
}

static dmmp_status parse_skeleton_line(void *ctx, const char *line, const char *end, const text_loc *loc)
{
    range_out *o = ctx;
    DMMP_TRY(grow_out(o->n, &o->cap_skel, sizeof *o->skel, (void **)&o->skel));
    skel_row *r = &o->skel[o->n];
    r->entry_off = o->entries.n;
    r->line = loc->line;
    r->line_start = line;
    r->line_end = end;
    DMMP_TRY(aliccp_parse_skeleton(line, end, loc, &r->s, &o->entries));
    o->n++;
    return DMMP_OK;
}

static void reset_set(void *user, int set)
{
    raw_importer *im = user;
    for (int i = 0; i < im->n_ranges; i++) {
        im->outs[set][i].n = 0;
        im->outs[set][i].entries.n = 0;
    }
}

/* The skip counts of a block (into the report, a few logged) and its lines. */
static void count_block(raw_importer *im, const line_block *b)
{
    for (int i = 0; i < b->n_ranges; i++) {
        im->data_lines += im->outs[b->set][i].n + b->ranges[i].n_skipped;
        if (!b->ranges[i].n_skipped) continue;
        im->rep->skipped += b->ranges[i].n_skipped;
        if (im->warned++ < WARN_LINES) log_warn("skipped a bad line: %s", b->ranges[i].first_error);
    }
}

/* Streams path through parse (in parallel) and merge (in file order). */
static dmmp_status run_stream(raw_importer *im, const char *path, const char *label, line_parse_fn parse,
                              dmmp_status (*parsed)(void *, const line_block *),
                              dmmp_status (*merge)(void *, const line_block *))
{
    line_stream st;
    memset(&st, 0, sizeof st);
    st.path = path;
    st.label = label;
    st.progress = im->opt->progress;
    st.block_bytes = BLOCK_BYTES;
    st.n_ranges = im->n_ranges;
    st.ctx[0] = im->ctx[0];
    st.ctx[1] = im->ctx[1];
    st.parse = parse;
    st.skip = im->opt->skip_bad_lines;
    st.user = im;
    st.reset = reset_set;
    st.parsed = parsed;
    st.merge = merge;
    im->data_lines = 0;
    int64_t bytes;
    dmmp_status s = line_stream_run(&st, &bytes);
    im->rep->bytes += bytes;
    if (s == DMMP_OK && im->data_lines == 0) s = dmmp_fail(DMMP_EFORMAT, "%s: the file is empty", path);
    return s;
}

/* Notes the first good line of each key. */
static dmmp_status merge_common(void *user, const line_block *b)
{
    raw_importer *im = user;
    count_block(im, b);
    for (int i = 0; i < b->n_ranges; i++) {
        const range_out *o = &im->outs[b->set][i];
        for (int64_t j = 0; j < o->n; j++) {
            const common_row *c = &o->common[j];
            int64_t before = vocab_size(im->records);
            int32_t rec;
            DMMP_TRY(vocab_insert(im->records, c->key, &rec));
            if (vocab_size(im->records) == before) continue; /* a repeated key: the first line counts */
            DMMP_TRY(grow_out(rec, &im->place_cap, sizeof *im->place, (void **)&im->place));
            im->place[rec].offset = b->offset + (c->line_start - b->data);
            im->place[rec].len = c->line_end - c->line_start;
            im->place[rec].line = c->line;
        }
    }
    return DMMP_OK;
}

/* Room for n entries in the store's last segment (a new one when full). */
static dmmp_status store_reserve(raw_importer *im, int64_t n, aliccp_entry **v, int32_t **idx)
{
    if (!im->n_seg || im->seg_used + n > im->seg_size) {
        if (im->n_seg == im->seg_cap) {
            int64_t cap = im->seg_cap ? im->seg_cap * 2 : 16;
            aliccp_entry **sv = realloc(im->seg_v, (size_t)cap * sizeof *sv);
            if (sv) im->seg_v = sv;
            int32_t **si = sv ? realloc(im->seg_idx, (size_t)cap * sizeof *si) : NULL;
            if (!si) return dmmp_fail(DMMP_ENOMEM, "%s: out of memory holding common features", im->common_path);
            im->seg_idx = si;
            im->seg_cap = cap;
        }
        int64_t size = n > SEGMENT_ENTRIES ? n : SEGMENT_ENTRIES;
        aliccp_entry *segv = malloc((size_t)size * sizeof *segv);
        int32_t *segi = malloc((size_t)size * sizeof *segi);
        if (!segv || !segi) {
            free(segv);
            free(segi);
            return dmmp_fail(DMMP_ENOMEM, "%s: out of memory holding common features", im->common_path);
        }
        im->seg_v[im->n_seg] = segv;
        im->seg_idx[im->n_seg] = segi;
        im->n_seg++;
        im->seg_used = 0;
        im->seg_size = size;
    }
    *v = im->seg_v[im->n_seg - 1] + im->seg_used;
    *idx = im->seg_idx[im->n_seg - 1] + im->seg_used;
    im->seg_used += n;
    return DMMP_OK;
}

static void store_clear(raw_importer *im)
{
    for (int64_t i = 0; i < im->n_seg; i++) {
        free(im->seg_v[i]);
        free(im->seg_idx[i]);
    }
    im->n_seg = 0;
    im->n_held = im->n_held_entries = 0;
}

/* Reads record rec's line back from the common file into *buf (grown as
 * needed) and appends its entries to out (unchanged on failure). */
static dmmp_status read_record(const raw_importer *im, int32_t rec, uint64_t key, char **buf, int64_t *cap,
                               aliccp_entries *out, int32_t *n)
{
    const common_place *pl = &im->place[rec];
    const char *file = im->common_path;
    if (pl->len + 1 > *cap) {
        char *grown = realloc(*buf, (size_t)pl->len + 1);
        if (!grown) return dmmp_fail(DMMP_ENOMEM, "%s: out of memory for a %lld-byte line", file, (long long)pl->len);
        *buf = grown;
        *cap = pl->len + 1;
    }
    char *line = *buf;
    int64_t got = 0;
    while (got < pl->len) {
        ssize_t r = pread(im->common_fd, line + got, (size_t)(pl->len - got), (off_t)(pl->offset + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0)
            return dmmp_fail(DMMP_EIO, "%s:%lld: reading the line again failed: %s", file, (long long)pl->line,
                             r < 0 ? strerror(errno) : "the file is shorter than before");
        got += r;
    }
    line[pl->len] = '\0';
    text_loc loc = {file, pl->line, line};
    uint64_t again;
    int64_t mark = out->n;
    DMMP_TRY(aliccp_parse_common(line, line + pl->len, &loc, &again, n, out));
    if (again != key) {
        out->n = mark;
        return dmmp_fail(DMMP_EIO, "%s:%lld: the line changed while importing", file, (long long)pl->line);
    }
    return DMMP_OK;
}

/* Holds the pending records: their lines are read and parsed in parallel
 * (each thread into its own scratch), then copied into the store in row
 * order. A failure is reported for the first failing record in that order,
 * read again on this thread for its message. */
static dmmp_status hold_pending(raw_importer *im)
{
    int64_t n_pending = im->n_pending;
    if (n_pending == 0) return DMMP_OK;
    for (int t = 0; t < im->n_ranges; t++) im->scratch[t].n = 0;
#pragma omp parallel for schedule(dynamic, 64) num_threads(im->n_ranges)
    for (int64_t p = 0; p < n_pending; p++) {
        int t = omp_get_thread_num();
        pending_rec *pr = &im->pending[p];
        pr->thread = t;
        pr->off = im->scratch[t].n;
        pr->status = read_record(im, pr->rec, pr->key, &im->line_buf[t], &im->line_cap[t], &im->scratch[t], &pr->n);
    }
    for (int64_t p = 0; p < n_pending; p++) {
        const pending_rec *pr = &im->pending[p];
        if (pr->status != DMMP_OK) {
            aliccp_entries again = {NULL, 0, 0};
            int32_t n;
            dmmp_status s = read_record(im, pr->rec, pr->key, &im->line_buf[0], &im->line_cap[0], &again, &n);
            aliccp_entries_free(&again);
            return s != DMMP_OK ? s : dmmp_fail(pr->status, "%s: reading common records failed", im->common_path);
        }
        aliccp_entry *v = NULL;
        int32_t *idx = NULL;
        DMMP_TRY(store_reserve(im, pr->n, &v, &idx));
        memcpy(v, im->scratch[pr->thread].v + pr->off, (size_t)pr->n * sizeof *v);
        memset(idx, 0, (size_t)pr->n * sizeof *idx);
        held_rec *h = &im->held[pr->rec];
        h->v = v;
        h->idx = idx;
        h->n = pr->n;
        im->n_held++;
        im->n_held_entries += pr->n;
    }
    return DMMP_OK;
}

/* Looks up the record of each row of a block and holds those not held yet,
 * in row order. It runs on the helper thread while the previous block is
 * merged: that merge reads only records held before, which never move, and
 * the rows of its own block. The table slots and the held[] entries are
 * prefetched a few rows ahead: both tables are many MB, so every access
 * would otherwise be a cache miss. */
#define LOOKAHEAD 8
static dmmp_status hold_block_records(void *user, const line_block *b)
{
    raw_importer *im = user;
    for (int i = 0; i < b->n_ranges; i++) {
        range_out *o = &im->outs[b->set][i];
        for (int64_t j = 0; j < o->n; j++) {
            if (j + LOOKAHEAD < o->n) vocab_prefetch(im->records, o->skel[j + LOOKAHEAD].s.common_key);
            o->skel[j].rec = vocab_lookup(im->records, o->skel[j].s.common_key);
        }
        for (int64_t j = 0; j < o->n; j++) {
            if (j + LOOKAHEAD < o->n) __builtin_prefetch(&im->held[o->skel[j + LOOKAHEAD].rec]);
            int32_t rec = o->skel[j].rec;
            if (!rec || im->held[rec].n != -1) continue;
            im->held[rec].n = -2; /* pending: listed once */
            DMMP_TRY(grow_out(im->n_pending, &im->pending_cap, sizeof *im->pending, (void **)&im->pending));
            pending_rec *pr = &im->pending[im->n_pending++];
            pr->rec = rec;
            pr->key = o->skel[j].s.common_key;
        }
    }
    dmmp_status s = hold_pending(im);
    for (int64_t p = 0; p < im->n_pending; p++)
        if (im->held[im->pending[p].rec].n == -2) im->held[im->pending[p].rec].n = -1; /* not held after a failure */
    im->n_pending = 0;
    return s;
}

/* Adds one entry to the row being built; single-valued fields keep their
 * first value (a repeated one is counted). known, when not NULL, caches the
 * entry's index across the many samples that share a common record: an index
 * once assigned never changes, so a non-zero one skips the hash table, and
 * 0 (not yet seen) is looked up again; the vocabularies see the same
 * insertions in the same order either way. */
static dmmp_status add_entry(raw_importer *im, const aliccp_entry *e, int train, int32_t *sparse, uint8_t *have,
                             int32_t *known)
{
    int f = e->field, col = im->column[f];
    int multi = aliccp_fields[f].multi;
    if (!multi && have[col]) {
        im->dup_single++;
        return DMMP_OK;
    }
    int32_t idx = known ? *known : 0;
    if (!idx) {
        if (train) DMMP_TRY(vocab_insert(im->vocabs[f], e->feature_id, &idx));
        else idx = vocab_lookup(im->vocabs[f], e->feature_id);
        if (known) *known = idx;
    }
    if (multi) return row_block_push_multi(&im->rows, col, idx, e->value);
    have[col] = 1;
    sparse[col] = idx;
    return DMMP_OK;
}

/* Writes /users/multi/<field>: user u's bags in user order. */
static dmmp_status write_user_bags(raw_importer *im, int64_t n_users)
{
    for (int k = 0; k < ALICCP_N_MULTI; k++) {
        int64_t *offsets;
        int32_t *idx;
        float *wt;
        DMMP_TRY(entity_bags_csr(&im->bags, k, n_users, &offsets, &idx, &wt));
        dmmp_status s = dataset_writer_write_users_multi(im->w, N_USER_SINGLE + k, n_users, offsets, idx, wt);
        free(offsets);
        free(idx);
        free(wt);
        DMMP_TRY(s);
    }
    return DMMP_OK;
}

/* Starts loading what row j of o will touch: its common record (entries and
 * cached indices, a random place in a store of many MB) and the vocabulary
 * slots of its own entries. The merge is one thread walking big tables, so
 * issuing these a row early hides most of its cache misses. */
static void prefetch_row(const raw_importer *im, const range_out *o, int64_t j)
{
    const skel_row *sr = &o->skel[j];
    int32_t rec = sr->rec;
    const held_rec *h = &im->held[rec];
    if (rec && h->n > 0) {
        const char *e = (const char *)h->v;
        size_t bytes = (size_t)h->n * sizeof *h->v;
        for (size_t b = 0; b < bytes; b += 64) __builtin_prefetch(e + b);
        const char *x = (const char *)h->idx;
        size_t xbytes = (size_t)h->n * sizeof *h->idx;
        for (size_t b = 0; b < xbytes; b += 64) __builtin_prefetch(x + b);
        __builtin_prefetch(x + xbytes - 1); /* the range may straddle one more line */
    }
    for (int32_t k = 0; k < sr->s.n_entries; k++) {
        const aliccp_entry *en = &o->entries.v[sr->entry_off + k];
        vocab_prefetch(im->vocabs[en->field], en->feature_id);
    }
}

static dmmp_status merge_samples(void *user, const line_block *b)
{
    raw_importer *im = user;
    const char *file = b->path;
    int is_test = im->is_test;
    count_block(im, b);
    for (int i = 0; i < b->n_ranges; i++) {
        const range_out *o = &im->outs[b->set][i];
        if (o->n > 0) prefetch_row(im, o, 0);
        for (int64_t j = 0; j < o->n; j++) {
            const skel_row *sr = &o->skel[j];
            int32_t rec = sr->rec;
            if (j + 3 < o->n) __builtin_prefetch(&im->held[o->skel[j + 3].rec]);
            if (j + 1 < o->n) prefetch_row(im, o, j + 1);
            if (!rec || im->held[rec].n < 0) {
                text_loc loc = {file, sr->line, sr->line_start};
                const char *at = sr->line_start + sr->s.common_key_col - 1;
                const char *stop = memchr(at, ',', (size_t)(sr->line_end - at));
                dmmp_status s = text_fail(&loc, at, "common_feature_index '%.*s' has no line in the common features file",
                                          stop ? (int)(stop - at) : 0, at);
                if (!im->opt->skip_bad_lines) return s;
                im->rep->skipped++;
                if (im->warned++ < WARN_LINES) log_warn("skipped a bad line: %s", dmmp_errmsg());
                continue;
            }
            uint8_t split = SPLIT_TEST;
            if (!is_test) split = import_row_is_val(im->opt->seed, im->train_rows_seen++, im->opt->val_fraction) ? SPLIT_VAL : SPLIT_TRAIN;
            int train = split == SPLIT_TRAIN;
            row_block *rb = &im->rows;
            int64_t r = row_block_begin(rb);
            int32_t *sparse = rb->sparse + r * N_SINGLE;
            uint8_t have[N_SINGLE] = {0};
            rb->click[r] = sr->s.click;
            rb->conversion[r] = sr->s.conversion;
            rb->split[r] = split;
            for (int32_t k = 0; k < sr->s.n_entries; k++)
                DMMP_TRY(add_entry(im, &o->entries.v[sr->entry_off + k], train, sparse, have, NULL));
            const held_rec *h = &im->held[rec];
            const aliccp_entry *ce = h->v;
            int32_t *known = h->idx;
            for (int32_t k = 0; k < h->n; k++)
                DMMP_TRY(add_entry(im, &ce[k], train, sparse, have, &known[k]));
            rb->user[r] = sparse[0];            /* field 101 */
            rb->item[r] = sparse[N_USER_SINGLE]; /* field 205 */
            if (train) {
                for (int k = 0; rb->user[r] > 0 && k < ALICCP_N_MULTI; k++) {
                    int64_t from = rb->offsets[k][r];
                    DMMP_TRY(entity_bags_offer(&im->bags, rb->user[r], k, rb->indices[k] + from, rb->weights[k] + from,
                                               rb->offsets[k][r + 1] - from));
                }
                DMMP_TRY(entity_table_offer(&im->users, rb->user[r], sparse));
                DMMP_TRY(entity_table_offer(&im->items, rb->item[r], sparse + N_USER_SINGLE));
            }
            im->rep->rows[split]++;
            im->rep->clicks += sr->s.click;
            im->rep->conversions += sr->s.conversion;
            DMMP_TRY(row_block_end(rb, im->w));
        }
    }
    return DMMP_OK;
}

/* One (skeleton, common) pair: the common file's index, then the samples. */
static dmmp_status import_pair(raw_importer *im, const char *skeleton, const char *common, int is_test)
{
    vocab_free(im->records);
    im->records = NULL;
    store_clear(im);
    im->is_test = is_test;
    im->common_path = common;
    DMMP_TRY(vocab_create(&im->records, 0, "common_feature_index"));
    DMMP_TRY(run_stream(im, common, "common features", parse_common_line, NULL, merge_common));
    int64_t n_rec = vocab_size(im->records);
    free(im->held);
    im->held = calloc((size_t)n_rec, sizeof *im->held);
    if (!im->held) return dmmp_fail(DMMP_ENOMEM, "out of memory for %lld common records", (long long)n_rec);
    for (int64_t i = 0; i < n_rec; i++) im->held[i].n = -1;
    im->common_fd = open(common, O_RDONLY);
    if (im->common_fd < 0) return dmmp_fail(DMMP_EIO, "%s: cannot open again: %s", common, strerror(errno));
    dmmp_status s = run_stream(im, skeleton, "samples", parse_skeleton_line, hold_block_records, merge_samples);
    close(im->common_fd);
    im->common_fd = -1;
    if (s == DMMP_OK)
        log_info("%s: %lld common feature lines, %lld needed by the skeleton, %lld entries held", common,
                 (long long)(n_rec - 1), (long long)im->n_held, (long long)im->n_held_entries);
    return s;
}

static dmmp_status open_writer(raw_importer *im)
{
    dataset_field fields[ALICCP_N_FIELDS];
    const char *names[ALICCP_N_FIELDS];
    int n_single = 0, n_multi = 0;
    for (int f = 0; f < ALICCP_N_FIELDS; f++) names[f] = aliccp_fields[f].name;
    DMMP_TRY(import_check_hash_spec(im->opt->hash_spec, names, ALICCP_N_FIELDS));
    for (int f = 0; f < ALICCP_N_FIELDS; f++) {
        memset(&fields[f], 0, sizeof fields[f]);
        snprintf(fields[f].name, sizeof fields[f].name, "%s", aliccp_fields[f].name);
        fields[f].side = aliccp_fields[f].side;
        fields[f].multi = aliccp_fields[f].multi;
        im->column[f] = aliccp_fields[f].multi ? n_multi++ : n_single++;
        int64_t buckets;
        DMMP_TRY(import_hash_buckets(im->opt->hash_spec, aliccp_fields[f].name, &buckets));
        DMMP_TRY(vocab_create(&im->vocabs[f], buckets, aliccp_fields[f].name));
        fields[f].vocab_size = vocab_size(im->vocabs[f]);
    }
    dataset_schema schema = {ALICCP_N_FIELDS, fields, 0, NULL};
    DMMP_TRY(row_block_init(&im->rows, n_single, n_multi, 0));
    DMMP_TRY(entity_table_init(&im->users, N_USER_SINGLE));
    DMMP_TRY(entity_table_init(&im->items, N_ITEM_SINGLE));
    DMMP_TRY(entity_bags_init(&im->bags, ALICCP_N_MULTI));
    return dataset_writer_open(&im->w, im->opt->out, &schema, "aliccp", "aliccp-raw");
}

static dmmp_status finish(raw_importer *im)
{
    DMMP_TRY(row_block_flush(&im->rows, im->w));
    for (int f = 0; f < ALICCP_N_FIELDS; f++) DMMP_TRY(dataset_writer_set_vocab(im->w, f, vocab_size(im->vocabs[f])));
    int64_t n_users = vocab_size(im->vocabs[0]), n_items = vocab_size(im->vocabs[13]);
    DMMP_TRY(entity_table_resize(&im->users, n_users));
    DMMP_TRY(entity_table_resize(&im->items, n_items));
    DMMP_TRY(dataset_writer_write_users(im->w, n_users, im->users.rows));
    DMMP_TRY(dataset_writer_write_items(im->w, n_items, im->items.rows));
    DMMP_TRY(write_user_bags(im, n_users));
    for (int f = 0; f < ALICCP_N_FIELDS; f++)
        DMMP_TRY(dataset_writer_write_raw_ids(im->w, RAW_IDS_FIELD, f, vocab_raw_ids(im->vocabs[f])));
    DMMP_TRY(dataset_writer_write_raw_ids(im->w, RAW_IDS_USERS, 0, vocab_raw_ids(im->vocabs[0])));
    DMMP_TRY(dataset_writer_write_raw_ids(im->w, RAW_IDS_ITEMS, 0, vocab_raw_ids(im->vocabs[13])));
    im->rep->n_users = n_users;
    im->rep->n_items = n_items;
    dmmp_status s = dataset_writer_commit(im->w);
    im->w = NULL;
    return s;
}

dmmp_status import_aliccp_raw(const aliccp_raw_paths *paths, const import_options *opt, import_report *rep)
{
    memset(rep, 0, sizeof *rep);
    if (!paths->skeleton_train || !paths->common_train || !paths->skeleton_test || !paths->common_test || !opt->out)
        return dmmp_fail(DMMP_EINVAL, "aliccp-raw: the four input files and the output are required");
    if (!(opt->val_fraction >= 0 && opt->val_fraction < 1))
        return dmmp_fail(DMMP_EINVAL, "--val-fraction %g outside [0, 1)", opt->val_fraction);
    if (opt->test_fraction > 0)
        return dmmp_fail(DMMP_EINVAL, "aliccp-raw: --test-fraction %g, but the test split is the raw test files",
                         opt->test_fraction);
    double t0 = clock_wall_seconds();
    raw_importer *im = calloc(1, sizeof *im);
    if (!im) return dmmp_fail(DMMP_ENOMEM, "aliccp-raw: out of memory");
    im->opt = opt;
    im->rep = rep;
    im->common_fd = -1;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < LINE_MAX_RANGES; i++) im->ctx[k][i] = &im->outs[k][i];
    im->n_ranges = opt->threads > 0 ? (opt->threads > LINE_MAX_RANGES ? LINE_MAX_RANGES : opt->threads)
                                    : line_parse_threads();
    dmmp_status s = open_writer(im);
    if (s == DMMP_OK) s = import_pair(im, paths->skeleton_train, paths->common_train, 0);
    if (s == DMMP_OK) s = import_pair(im, paths->skeleton_test, paths->common_test, 1);
    if (s == DMMP_OK) s = finish(im);
    if (s == DMMP_OK && im->dup_single)
        log_warn("aliccp-raw: %lld repeated values of single-valued fields ignored (first kept)",
                 (long long)im->dup_single);
    dataset_writer_abort(im->w);
    for (int f = 0; f < ALICCP_N_FIELDS; f++) vocab_free(im->vocabs[f]);
    vocab_free(im->records);
    free(im->place);
    for (int t = 0; t < LINE_MAX_RANGES; t++) {
        free(im->line_buf[t]);
        aliccp_entries_free(&im->scratch[t]);
    }
    free(im->pending);
    free(im->held);
    entity_bags_free(&im->bags);
    store_clear(im);
    free(im->seg_v);
    free(im->seg_idx);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < LINE_MAX_RANGES; i++) {
            aliccp_entries_free(&im->outs[k][i].entries);
            free(im->outs[k][i].skel);
            free(im->outs[k][i].common);
        }
    row_block_free(&im->rows);
    entity_table_free(&im->users);
    entity_table_free(&im->items);
    free(im);
    rep->seconds = clock_wall_seconds() - t0;
    return s;
}
