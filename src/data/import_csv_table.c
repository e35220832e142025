/* Each parser thread turns its lines into labels, raw 64-bit ids and dense
 * values; the merge (one thread, file order) owns the vocabularies, so the
 * indices do not depend on the number of threads. A user or item without
 * its own id column is the tuple of its side's raw ids, hashed to 64 bits
 * and indexed through a vocabulary like any id. */
#include "data/import_csv_table.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "data/dataset_writer.h"
#include "data/import_rows.h"
#include "data/line_reader.h"
#include "data/vocab.h"

#define BLOCK_BYTES (16u << 20)
#define WARN_LINES 5

typedef struct csv_out {
    const csv_plan *plan;
    csv_field *cols;
    uint8_t *labels; /* 2 per row */
    uint64_t *ids;   /* n_fields per row */
    float *dense;    /* n_dense per row */
    int64_t n, cap;
} csv_out;

typedef struct csv_importer {
    const csv_plan *plan;
    const import_options *opt;
    import_report *rep;
    vocab *vocabs[CSV_MAX_COLUMNS];
    vocab *user_vocab, *item_vocab;
    int user_fields[CSV_MAX_COLUMNS], n_user_fields; /* single columns of the user side, in order */
    int item_fields[CSV_MAX_COLUMNS], n_item_fields;
    dataset_writer *w;
    row_block rows;
    entity_table users, items;
    csv_out outs[LINE_MAX_RANGES];
    int n_ranges, warned;
    int64_t train_rows_seen;
    double val_fraction, test_fraction; /* the shares of the training file drawn off (0 when a file gives the split) */
} csv_importer;

static dmmp_status grow(csv_out *o)
{
    if (o->n < o->cap) return DMMP_OK;
    int64_t cap = o->cap ? o->cap * 2 : 4096;
    const csv_plan *p = o->plan;
    uint8_t *labels = realloc(o->labels, (size_t)cap * 2);
    if (labels) o->labels = labels;
    uint64_t *ids = realloc(o->ids, (size_t)cap * (size_t)(p->n_fields + 1) * sizeof *ids);
    if (ids) o->ids = ids;
    float *dense = realloc(o->dense, (size_t)cap * (size_t)(p->n_dense + 1) * sizeof *dense);
    if (dense) o->dense = dense;
    if (!labels || !ids || !dense) return dmmp_fail(DMMP_ENOMEM, "csv parser output: out of memory");
    o->cap = cap;
    return DMMP_OK;
}

static dmmp_status parse_row(void *ctx, const char *line, const char *end, const text_loc *loc)
{
    csv_out *o = ctx;
    const csv_plan *p = o->plan;
    DMMP_TRY(grow(o));
    DMMP_TRY(csv_split(line, end, loc, o->cols, p->n_cols));
    uint8_t *lab = o->labels + o->n * 2;
    uint64_t *ids = o->ids + o->n * p->n_fields;
    float *dense = o->dense + o->n * p->n_dense;
    int conv_col = -1;
    for (int c = 0; c < p->n_cols; c++) {
        const csv_field *f = &o->cols[c];
        const char *name = p->kind[c] == CSV_SPARSE ? p->fields[p->target[c]].name : "";
        switch (p->kind[c]) {
        case CSV_CLICK: DMMP_TRY(text_parse_label(f->start, f->end, loc, "click", &lab[0])); break;
        case CSV_CONVERSION:
            DMMP_TRY(text_parse_label(f->start, f->end, loc, "conversion", &lab[1]));
            conv_col = c;
            break;
        case CSV_SPARSE: {
            int64_t v;
            DMMP_TRY(text_parse_i64(f->start, f->end, loc, name, &v));
            ids[p->target[c]] = (uint64_t)v;
            break;
        }
        case CSV_DENSE:
            DMMP_TRY(text_parse_f32(f->start, f->end, loc, p->dense_names[p->target[c]], &dense[p->target[c]]));
            break;
        case CSV_IGNORE: break;
        }
    }
    if (lab[1] && !lab[0]) return text_fail(loc, o->cols[conv_col].start, "conversion without a click");
    o->n++;
    return DMMP_OK;
}

/* Index of the row's user or item: its id field, or its side's tuple. */
static dmmp_status entity_index(csv_importer *im, vocab *v, int id_field, const int *fields, int n_fields,
                                const int32_t *sparse, const uint64_t *raw, int train, int32_t *out)
{
    if (id_field >= 0) {
        *out = sparse[id_field];
        return DMMP_OK;
    }
    uint64_t key[CSV_MAX_COLUMNS];
    key[0] = 0;
    for (int k = 0; k < n_fields; k++) key[k] = raw[fields[k]];
    uint64_t h = text_hash64((const char *)key, (size_t)n_fields * sizeof key[0]);
    *out = vocab_lookup(v, h);
    if (!train || *out) return DMMP_OK;
    /* A new entity: its raw id is the tuple of its raw ids, joined by ';'. */
    char text[CSV_MAX_COLUMNS * 21];
    size_t len = 0;
    for (int k = 0; k < n_fields; k++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%s%lld", k ? ";" : "", (long long)raw[fields[k]]);
    return vocab_insert_text(v, h, text, len, out);
}

static dmmp_status merge_rows(csv_importer *im, int split_rule)
{
    const csv_plan *p = im->plan;
    for (int i = 0; i < im->n_ranges; i++) {
        const csv_out *o = &im->outs[i];
        for (int64_t j = 0; j < o->n; j++) {
            uint8_t split = (uint8_t)split_rule;
            if (split_rule < 0)
                split = (uint8_t)import_row_split(im->opt->seed, im->train_rows_seen++, im->val_fraction,
                                                  im->test_fraction);
            int train = split == SPLIT_TRAIN;
            row_block *b = &im->rows;
            int64_t r = row_block_begin(b);
            int32_t *sparse = b->sparse + r * p->n_fields;
            const uint64_t *raw = o->ids + j * p->n_fields;
            for (int f = 0; f < p->n_fields; f++) {
                if (train) DMMP_TRY(vocab_insert(im->vocabs[f], raw[f], &sparse[f]));
                else sparse[f] = vocab_lookup(im->vocabs[f], raw[f]);
            }
            if (p->n_dense) memcpy(b->dense + r * p->n_dense, o->dense + j * p->n_dense, (size_t)p->n_dense * sizeof(float));
            b->click[r] = o->labels[j * 2];
            b->conversion[r] = o->labels[j * 2 + 1];
            b->split[r] = split;
            DMMP_TRY(entity_index(im, im->user_vocab, p->user_field, im->user_fields, im->n_user_fields, sparse, raw,
                                  train, &b->user[r]));
            DMMP_TRY(entity_index(im, im->item_vocab, p->item_field, im->item_fields, im->n_item_fields, sparse, raw,
                                  train, &b->item[r]));
            if (train) {
                int32_t uv[CSV_MAX_COLUMNS], iv[CSV_MAX_COLUMNS];
                for (int k = 0; k < im->n_user_fields; k++) uv[k] = sparse[im->user_fields[k]];
                for (int k = 0; k < im->n_item_fields; k++) iv[k] = sparse[im->item_fields[k]];
                DMMP_TRY(entity_table_offer(&im->users, b->user[r], uv));
                DMMP_TRY(entity_table_offer(&im->items, b->item[r], iv));
            }
            im->rep->rows[split]++;
            im->rep->clicks += b->click[r];
            im->rep->conversions += b->conversion[r];
            DMMP_TRY(row_block_end(b, im->w));
        }
    }
    return DMMP_OK;
}

/* Splits the header off the first block; returns its fields in header[]. */
static dmmp_status read_header(const char *path, const char *data, size_t len, csv_field *header, int *n,
                               const char **body)
{
    const char *ce;
    *body = text_next_line(data, data + len, &ce);
    text_loc loc = {path, 1, data};
    *n = csv_count_fields(data, ce);
    if (ce == data) return text_fail(&loc, data, "empty header line");
    if (*n > CSV_MAX_COLUMNS) return text_fail(&loc, data, "%d columns, at most %d", *n, CSV_MAX_COLUMNS);
    return csv_split(data, ce, &loc, header, *n);
}

/* Streams one file; the plan comes from it when im->plan is still empty. */
static dmmp_status import_file(csv_importer *im, const char *path, int split_rule, csv_plan *plan,
                               csv_plan_describe_fn describe, const void *arg);

static dmmp_status open_writer(csv_importer *im, const csv_plan *p)
{
    const char *names[CSV_MAX_COLUMNS];
    for (int f = 0; f < p->n_fields; f++) names[f] = p->fields[f].name;
    DMMP_TRY(import_check_hash_spec(im->opt->hash_spec, names, p->n_fields));
    dataset_field fields[CSV_MAX_COLUMNS];
    for (int f = 0; f < p->n_fields; f++) {
        fields[f] = p->fields[f];
        int64_t buckets;
        DMMP_TRY(import_hash_buckets(im->opt->hash_spec, p->fields[f].name, &buckets));
        DMMP_TRY(vocab_create(&im->vocabs[f], buckets, p->fields[f].name));
        fields[f].vocab_size = vocab_size(im->vocabs[f]);
        if (fields[f].side == SIDE_USER) im->user_fields[im->n_user_fields++] = f;
        if (fields[f].side == SIDE_ITEM) im->item_fields[im->n_item_fields++] = f;
    }
    DMMP_TRY(vocab_create(&im->user_vocab, 0, "user"));
    DMMP_TRY(vocab_create(&im->item_vocab, 0, "item"));
    DMMP_TRY(row_block_init(&im->rows, p->n_fields, 0, p->n_dense));
    DMMP_TRY(entity_table_init(&im->users, im->n_user_fields));
    DMMP_TRY(entity_table_init(&im->items, im->n_item_fields));
    for (int i = 0; i < LINE_MAX_RANGES; i++) {
        im->outs[i].plan = p;
        im->outs[i].cols = malloc((size_t)p->n_cols * sizeof(csv_field));
        if (!im->outs[i].cols) return dmmp_fail(DMMP_ENOMEM, "csv import: out of memory");
    }
    dataset_schema schema = {p->n_fields, fields, p->n_dense, p->n_dense ? (char(*)[DATASET_NAME_LEN])p->dense_names : NULL};
    return dataset_writer_open(&im->w, im->opt->out, &schema, p->name, p->source);
}

static dmmp_status import_file(csv_importer *im, const char *path, int split_rule, csv_plan *plan,
                               csv_plan_describe_fn describe, const void *arg)
{
    line_reader *rd;
    DMMP_TRY(line_reader_open(&rd, path, BLOCK_BYTES, path, im->opt->progress));
    dmmp_status s = DMMP_OK;
    int64_t line = 1, data_rows = 0;
    void *ctx[LINE_MAX_RANGES];
    line_range ranges[LINE_MAX_RANGES];
    for (int i = 0; i < im->n_ranges; i++) ctx[i] = &im->outs[i];
    for (int first = 1;; first = 0) {
        const char *data;
        size_t len;
        s = line_reader_next(rd, &data, &len);
        if (s != DMMP_OK) break;
        if (len == 0) {
            if (first) s = dmmp_fail(DMMP_EFORMAT, "%s: the file is empty (no header)", path);
            break;
        }
        if (first) {
            csv_field header[CSV_MAX_COLUMNS];
            int n;
            const char *body;
            s = read_header(path, data, len, header, &n, &body);
            if (s != DMMP_OK) break;
            text_loc loc = {path, 1, data};
            if (!im->plan) {
                s = describe(plan, header, n, &loc, arg);
                if (s == DMMP_OK) s = open_writer(im, plan);
                if (s != DMMP_OK) break;
                im->plan = plan;
            } else {
                csv_plan check;
                memset(&check, 0, sizeof check);
                s = describe(&check, header, n, &loc, arg);
                if (s != DMMP_OK) break;
                if (memcmp(check.kind, plan->kind, sizeof plan->kind) || memcmp(check.target, plan->target, sizeof plan->target) ||
                    check.n_cols != plan->n_cols) {
                    s = text_fail(&loc, data, "the header differs from the training file's");
                    break;
                }
            }
            len -= (size_t)(body - data);
            data = body;
            line = 2;
        }
        for (int i = 0; i < im->n_ranges; i++) im->outs[i].n = 0;
        int64_t n_lines;
        s = line_parse_block(path, data, len, line, im->n_ranges, ctx, parse_row, im->opt->skip_bad_lines, ranges,
                             &n_lines);
        if (s != DMMP_OK) break;
        line += n_lines;
        for (int i = 0; i < im->n_ranges; i++) {
            data_rows += im->outs[i].n;
            if (!ranges[i].n_skipped) continue;
            im->rep->skipped += ranges[i].n_skipped;
            if (im->warned++ < WARN_LINES) log_warn("skipped a bad line: %s", ranges[i].first_error);
        }
        s = merge_rows(im, split_rule);
        if (s != DMMP_OK) break;
    }
    im->rep->bytes += line_reader_bytes(rd);
    line_reader_close(rd);
    if (s == DMMP_OK && data_rows == 0 && split_rule <= 0)
        s = dmmp_fail(DMMP_EFORMAT, "%s: no data rows after the header", path);
    return s;
}

static dmmp_status finish(csv_importer *im)
{
    const csv_plan *p = im->plan;
    DMMP_TRY(row_block_flush(&im->rows, im->w));
    for (int f = 0; f < p->n_fields; f++) DMMP_TRY(dataset_writer_set_vocab(im->w, f, vocab_size(im->vocabs[f])));
    int64_t n_users = p->user_field >= 0 ? vocab_size(im->vocabs[p->user_field]) : vocab_size(im->user_vocab);
    int64_t n_items = p->item_field >= 0 ? vocab_size(im->vocabs[p->item_field]) : vocab_size(im->item_vocab);
    DMMP_TRY(entity_table_resize(&im->users, n_users));
    DMMP_TRY(entity_table_resize(&im->items, n_items));
    DMMP_TRY(dataset_writer_write_users(im->w, n_users, im->users.rows));
    DMMP_TRY(dataset_writer_write_items(im->w, n_items, im->items.rows));
    for (int f = 0; f < p->n_fields; f++)
        DMMP_TRY(dataset_writer_write_raw_ids(im->w, RAW_IDS_FIELD, f, vocab_raw_ids(im->vocabs[f])));
    const vocab *uv = p->user_field >= 0 ? im->vocabs[p->user_field] : im->user_vocab;
    const vocab *iv = p->item_field >= 0 ? im->vocabs[p->item_field] : im->item_vocab;
    DMMP_TRY(dataset_writer_write_raw_ids(im->w, RAW_IDS_USERS, 0, vocab_raw_ids(uv)));
    DMMP_TRY(dataset_writer_write_raw_ids(im->w, RAW_IDS_ITEMS, 0, vocab_raw_ids(iv)));
    im->rep->n_users = n_users;
    im->rep->n_items = n_items;
    dmmp_status s = dataset_writer_commit(im->w);
    im->w = NULL;
    return s;
}

dmmp_status import_csv_table(const char *train, const char *val, const char *test, csv_plan_describe_fn describe,
                             const void *arg, const import_options *opt, import_report *rep)
{
    memset(rep, 0, sizeof *rep);
    if (!train || !opt->out) return dmmp_fail(DMMP_EINVAL, "--train and --out are required");
    DMMP_TRY(import_check_fractions(opt->val_fraction, opt->test_fraction));
    if (test && opt->test_fraction > 0)
        return dmmp_fail(DMMP_EINVAL, "--test-fraction %g and a test file %s: give one or the other", opt->test_fraction,
                         test);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    csv_importer *im = calloc(1, sizeof *im);
    csv_plan *plan = calloc(1, sizeof *plan);
    if (!im || !plan) {
        free(im);
        free(plan);
        return dmmp_fail(DMMP_ENOMEM, "csv import: out of memory");
    }
    im->opt = opt;
    im->rep = rep;
    im->n_ranges = opt->threads > 0 ? (opt->threads > LINE_MAX_RANGES ? LINE_MAX_RANGES : opt->threads)
                                    : line_parse_threads();
    im->val_fraction = val ? 0.0 : opt->val_fraction;
    im->test_fraction = test ? 0.0 : opt->test_fraction;
    int train_rule = im->val_fraction > 0 || im->test_fraction > 0 ? -1 : SPLIT_TRAIN;
    dmmp_status s = import_file(im, train, train_rule, plan, describe, arg);
    if (s == DMMP_OK && val) s = import_file(im, val, SPLIT_VAL, plan, describe, arg);
    if (s == DMMP_OK && test) s = import_file(im, test, SPLIT_TEST, plan, describe, arg);
    if (s == DMMP_OK) s = finish(im);
    dataset_writer_abort(im->w);
    for (int f = 0; f < CSV_MAX_COLUMNS; f++) vocab_free(im->vocabs[f]);
    vocab_free(im->user_vocab);
    vocab_free(im->item_vocab);
    for (int i = 0; i < LINE_MAX_RANGES; i++) {
        free(im->outs[i].cols);
        free(im->outs[i].labels);
        free(im->outs[i].ids);
        free(im->outs[i].dense);
    }
    row_block_free(&im->rows);
    entity_table_free(&im->users);
    entity_table_free(&im->items);
    free(im);
    free(plan);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    rep->seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    return s;
}
