/* The schema-driven CSV importer (`dmmp data import csv`; README: "Your own
 * data").
 *
 * Like the other importers it streams: blocks of whole lines are parsed by
 * every thread into per-range outputs (labels, the key and text of every
 * value, dense numbers), then merged in file order by one thread, which owns
 * the vocabularies; so indices, splits and raw ids do not depend on the
 * thread count. A raw value's key is the number itself for a canonical
 * non-negative decimal (so numeric ids behave exactly as in the dedicated
 * importers), else a 64-bit hash of its text with the top bit set (two
 * different texts share a key with probability about n^2 / 2^64 for n
 * distinct values). Its text is kept in the vocabulary (/vocab) the first
 * time it is seen in training.
 *
 * --split time and leave-last-out need the whole file's times first: a
 * first pass parses the file and keeps only the time range, or for each
 * user its last two interactions (memory bounded by the users). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "data/csv_record.h"
#include "data/csv_schema.h"
#include "data/dataset_writer.h"
#include "data/entity_bags.h"
#include "data/import.h"
#include "data/import_rows.h"
#include "data/line_stream.h"
#include "data/vocab.h"

#define BLOCK_BYTES (16u << 20)
#define WARN_LINES 5
#define MAX_COLS 4096
#define MISSING_KEY 0x8000000000000000ULL /* an empty value: index 0 */
#define NO_SPLIT 255
#define PREFETCH_ROWS 6

/* How a row's user or item index is found. */
typedef enum entity_mode { ENTITY_FIELD, ENTITY_COLUMN, ENTITY_TUPLE } entity_mode;

typedef struct entity_plan {
    entity_mode mode;
    int field;    /* ENTITY_FIELD: the dataset field giving the index */
    int col;      /* ENTITY_COLUMN: the record column */
    int slot;     /* ENTITY_COLUMN: its value slot */
    int n_tuple;  /* ENTITY_TUPLE: the side's single fields (dataset order) */
    int *tuple;
} entity_plan;

/* What the importer does with a file, from the schema bound to its header. */
typedef struct plan {
    const csv_schema *sc;
    int n_cols;
    int n_fields;                    /* dataset fields: the schema's non-dense ones, in order */
    int src[CSV_SCHEMA_MAX_FIELDS];  /* dataset field -> schema field */
    int slot[CSV_SCHEMA_MAX_FIELDS]; /* single dataset field -> its value slot; multi: -1 */
    int mslot[CSV_SCHEMA_MAX_FIELDS];/* multi dataset field -> its multi number; single: -1 */
    int n_single, n_multi, n_slots;  /* value slots: the single fields, then user and item key columns */
    int multi_field[CSV_SCHEMA_MAX_MULTI]; /* multi number -> dataset field */
    int n_dense;
    int dense_col[CSV_SCHEMA_MAX_FIELDS];
    int split_col;                   /* --split column:NAME, or -1 */
    int time_col;
    entity_plan user, item;
    dataset_field fields[CSV_SCHEMA_MAX_FIELDS];
    char dense_names[CSV_SCHEMA_MAX_FIELDS][DATASET_NAME_LEN];
} plan;

typedef struct value {
    uint64_t key;
    const char *text; /* into the block (valid until the next block) */
    uint32_t len;
    float weight;
} value;

/* One parser range's rows. Per row: 2 labels, a split (NO_SPLIT unless a
 * split column gives it), a time, n_slots values, then the multi values
 * (mcount[row * n_multi + m] of them, in multi order) from vstart[row]. */
typedef struct range_out {
    const plan *p;
    csv_field *cols;
    int64_t n, cap;
    uint8_t *labels, *split;
    double *time;
    int64_t *vstart;
    int32_t *mcount;
    float *dense;
    value *vals;
    int64_t nv, vcap;
} range_out;

typedef struct llo_user {
    double t[2];  /* last and second-last time */
    int64_t r[2]; /* their row numbers; -1: none */
    int64_t n;    /* the user's rows */
} llo_user;

typedef struct importer {
    const csv_import_args *a;
    const import_options *opt;
    import_report *rep;
    plan p;
    int bound;
    vocab *vocabs[CSV_SCHEMA_MAX_FIELDS];
    vocab *user_vocab, *item_vocab;
    dataset_writer *w;
    row_block rows;
    entity_table users, items;
    entity_bags user_bags;
    int user_side_multi[CSV_SCHEMA_MAX_MULTI]; /* multi number -> user bag number, or -1 */
    int n_user_multi;
    range_out outs[2][LINE_MAX_RANGES]; /* two sets: one parsed while the other is merged */
    void *ctx[2][LINE_MAX_RANGES];
    int n_ranges, warned;
    /* the file being streamed (run_file) */
    csv_schema *sc;
    const char *path;
    int split_rule;
    csv_colref *split_ref;
    int64_t data_rows;
    int64_t row_no;          /* data rows of the split-decided file so far */
    int pass;                /* 1: the time pre-pass, 2: import */
    double t_min, t_max;     /* pass 1 (time) */
    char **names;            /* the training file's column names */
    int n_names;
    vocab *llo_vocab;        /* pass 1 (leave-last-out): user identity -> slot */
    llo_user *llo;
    int64_t llo_cap;
    double cut_val, cut_test;
    double frac_val, frac_test; /* random shares of the training file (0 where a file gives the split) */
} importer;

/* ---- parsing (parallel) ---- */

static uint64_t raw_key(const char *s, size_t len)
{
    if (len == 0) return MISSING_KEY;
    if (len <= 18 && (s[0] != '0' || len == 1)) {
        uint64_t v = 0;
        size_t i = 0;
        for (; i < len; i++) {
            unsigned d = (unsigned)(unsigned char)s[i] - '0';
            if (d > 9) break;
            v = v * 10 + d;
        }
        if (i == len) return v;
    }
    return text_hash64(s, len) | MISSING_KEY;
}

static dmmp_status grow_rows(range_out *o)
{
    if (o->n < o->cap) return DMMP_OK;
    const plan *p = o->p;
    int64_t cap = o->cap ? o->cap * 2 : 4096;
    void *a = realloc(o->labels, (size_t)cap * 2);
    if (a) o->labels = a;
    void *b = realloc(o->split, (size_t)cap);
    if (b) o->split = b;
    void *c = realloc(o->time, (size_t)cap * sizeof *o->time);
    if (c) o->time = c;
    void *d = realloc(o->vstart, (size_t)cap * sizeof *o->vstart);
    if (d) o->vstart = d;
    void *e = realloc(o->mcount, (size_t)cap * (size_t)(p->n_multi + 1) * sizeof *o->mcount);
    if (e) o->mcount = e;
    void *f = realloc(o->dense, (size_t)cap * (size_t)(p->n_dense + 1) * sizeof *o->dense);
    if (f) o->dense = f;
    if (!a || !b || !c || !d || !e || !f) return dmmp_fail(DMMP_ENOMEM, "csv import: out of memory for parsed rows");
    o->cap = cap;
    return DMMP_OK;
}

static dmmp_status reserve_vals(range_out *o, int64_t more)
{
    if (o->nv + more <= o->vcap) return DMMP_OK;
    int64_t cap = o->vcap ? o->vcap : 1 << 14;
    while (cap < o->nv + more) cap *= 2;
    value *v = realloc(o->vals, (size_t)cap * sizeof *v);
    if (!v) return dmmp_fail(DMMP_ENOMEM, "csv import: out of memory for parsed values");
    o->vals = v;
    o->vcap = cap;
    return DMMP_OK;
}

/* A decimal number as a double (the cell's exact value, so a threshold
 * such as score > 0.3 compares with what the file says, not a float
 * rounding of it): integers by hand, others through strtod on a copy (the
 * program never sets a locale). */
static dmmp_status parse_number(const csv_field *f, const text_loc *loc, const char *name, double *out)
{
    size_t len = (size_t)(f->end - f->start);
    if (len > 0 && len < 19) {
        int ok = 1;
        for (const char *q = f->start + (*f->start == '-'); q < f->end; q++) ok &= *q >= '0' && *q <= '9';
        int64_t i;
        if (ok && text_parse_i64(f->start, f->end, loc, name, &i) == DMMP_OK) {
            *out = (double)i;
            return DMMP_OK;
        }
    }
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return text_fail(loc, f->start, "%s: '%.*s' is not a number", name, (int)(len > 24 ? 24 : len), f->start);
    memcpy(buf, f->start, len);
    buf[len] = '\0';
    char *end;
    *out = strtod(buf, &end);
    if (*end || !isfinite(*out) || strpbrk(buf, "xXnN"))
        return text_fail(loc, f->start, "%s: '%s' is not a number", name, buf);
    return DMMP_OK;
}

static dmmp_status parse_label(const csv_label *l, const csv_field *cols, const text_loc *loc, const char *what,
                               uint8_t *v)
{
    if (!l->set) {
        *v = 0;
        return DMMP_OK;
    }
    if (l->op == LABEL_CONST) {
        *v = (uint8_t)l->constant;
        return DMMP_OK;
    }
    const csv_field *f = &cols[l->column.col];
    if (l->op == LABEL_BINARY) return text_parse_label(f->start, f->end, loc, l->column.name, v);
    double d;
    DMMP_TRY(parse_number(f, loc, l->column.name, &d));
    *v = (uint8_t)(l->op == LABEL_GE ? d >= l->threshold : l->op == LABEL_GT ? d > l->threshold : d == l->threshold);
    (void)what;
    return DMMP_OK;
}

static dmmp_status parse_split_value(const csv_field *f, const text_loc *loc, const char *name, uint8_t *split)
{
    static const char *const names[] = {"train", "val", "test", "0", "1", "2"};
    size_t len = (size_t)(f->end - f->start);
    for (int k = 0; k < 6; k++)
        if (strlen(names[k]) == len && !memcmp(f->start, names[k], len)) {
            *split = (uint8_t)(k % 3);
            return DMMP_OK;
        }
    return text_fail(loc, f->start, "%s: '%.*s' is not a split (train, val, test or 0, 1, 2)", name,
                     (int)(len > 24 ? 24 : len), f->start);
}

/* The values of one multi-valued cell into o->vals. */
static dmmp_status parse_multi(range_out *o, const csv_schema_field *sf, const csv_field *c, const text_loc *loc,
                               int32_t *count)
{
    int32_t n = 0;
    const char *p = c->start;
    while (p < c->end) {
        const char *sep = memchr(p, sf->separator, (size_t)(c->end - p));
        const char *stop = sep ? sep : c->end;
        const char *vend = stop;
        float weight = 1.0f;
        if (sf->weight_separator) {
            const char *ws = memchr(p, sf->weight_separator, (size_t)(stop - p));
            if (ws) {
                DMMP_TRY(text_parse_f32(ws + 1, stop, loc, sf->name, &weight));
                vend = ws;
            }
        }
        if (vend > p) {
            DMMP_TRY(reserve_vals(o, 1));
            value *v = &o->vals[o->nv++];
            v->key = raw_key(p, (size_t)(vend - p));
            v->text = p;
            v->len = (uint32_t)(vend - p);
            v->weight = weight;
            n++;
        }
        p = sep ? sep + 1 : c->end;
    }
    *count = n;
    return DMMP_OK;
}

static dmmp_status parse_row(void *ctx, const char *line, const char *end, const text_loc *loc)
{
    range_out *o = ctx;
    const plan *p = o->p;
    const csv_schema *sc = p->sc;
    DMMP_TRY(grow_rows(o));
    const char *nul = memchr(line, '\0', (size_t)(end - line));
    if (nul) return text_fail(loc, nul, "a NUL byte (not a text file?)");
    /* The block belongs to the line reader and is rewritten by its next read:
     * unescaping a quoted field inside its own bytes is safe. */
    DMMP_TRY(csv_record_split((char *)line, end, sc->delimiter, sc->quote, loc, o->cols, p->n_cols));
    int64_t r = o->n, nv0 = o->nv;
    uint8_t *lab = o->labels + r * 2;
    dmmp_status s = parse_label(&sc->click, o->cols, loc, "click", &lab[0]);
    if (s == DMMP_OK) s = parse_label(&sc->conversion, o->cols, loc, "conversion", &lab[1]);
    if (s == DMMP_OK && lab[1] && !lab[0]) {
        const char *at = sc->conversion.op == LABEL_CONST ? line : o->cols[sc->conversion.column.col].start;
        s = text_fail(loc, at, "conversion without a click");
    }
    o->split[r] = NO_SPLIT;
    if (s == DMMP_OK && p->split_col >= 0)
        s = parse_split_value(&o->cols[p->split_col], loc, "split column", &o->split[r]);
    o->time[r] = 0;
    if (s == DMMP_OK && p->time_col >= 0) s = parse_number(&o->cols[p->time_col], loc, sc->time.name, &o->time[r]);
    if (s == DMMP_OK) s = reserve_vals(o, p->n_slots);
    if (s == DMMP_OK) {
        o->vstart[r] = o->nv;
        value *v = o->vals + o->nv;
        for (int f = 0; f < p->n_fields; f++) {
            if (p->slot[f] < 0) continue;
            const csv_field *c = &o->cols[sc->fields[p->src[f]].column.col];
            value *x = &v[p->slot[f]];
            x->len = (uint32_t)(c->end - c->start);
            x->text = c->start;
            x->key = raw_key(c->start, x->len);
            x->weight = 1.0f;
        }
        const entity_plan *ents[2] = {&p->user, &p->item};
        for (int e = 0; e < 2; e++) {
            if (ents[e]->mode != ENTITY_COLUMN) continue;
            const csv_field *c = &o->cols[ents[e]->col];
            value *x = &v[ents[e]->slot];
            x->len = (uint32_t)(c->end - c->start);
            x->text = c->start;
            x->key = raw_key(c->start, x->len);
            x->weight = 1.0f;
        }
        o->nv += p->n_slots;
    }
    for (int m = 0; s == DMMP_OK && m < p->n_multi; m++) {
        const csv_schema_field *sf = &sc->fields[p->src[p->multi_field[m]]];
        s = parse_multi(o, sf, &o->cols[sf->column.col], loc, &o->mcount[r * p->n_multi + m]);
    }
    float *dense = o->dense + r * p->n_dense;
    for (int k = 0; s == DMMP_OK && k < p->n_dense; k++) {
        const csv_field *c = &o->cols[p->dense_col[k]];
        if (c->end == c->start) dense[k] = 0.0f; /* an empty dense value is 0 */
        else s = text_parse_f32(c->start, c->end, loc, p->dense_names[k], &dense[k]);
    }
    if (s != DMMP_OK) {
        o->nv = nv0; /* the line leaves nothing behind */
        return s;
    }
    o->n++;
    return DMMP_OK;
}

/* ---- the plan ---- */

static dmmp_status entity_plan_of(plan *p, const csv_colref *key, field_side side, const char *what, int *next_slot)
{
    entity_plan *e = side == SIDE_USER ? &p->user : &p->item;
    memset(e, 0, sizeof *e);
    if (key->name[0]) {
        for (int f = 0; f < p->n_fields; f++) {
            const csv_schema_field *sf = &p->sc->fields[p->src[f]];
            if (sf->column.col == key->col && sf->kind == CSV_KIND_CATEGORICAL && !sf->hash_buckets) {
                e->mode = ENTITY_FIELD;
                e->field = f;
                return DMMP_OK;
            }
        }
        e->mode = ENTITY_COLUMN;
        e->col = key->col;
        e->slot = (*next_slot)++;
        return DMMP_OK;
    }
    e->mode = ENTITY_TUPLE;
    e->tuple = malloc(sizeof(int) * (size_t)(p->n_fields + 1));
    if (!e->tuple) return dmmp_fail(DMMP_ENOMEM, "csv import: out of memory");
    for (int f = 0; f < p->n_fields; f++)
        if (p->slot[f] >= 0 && p->fields[f].side == side) e->tuple[e->n_tuple++] = f;
    if (e->n_tuple == 0)
        return dmmp_fail(DMMP_EINVAL, "%s: no single-valued %s-side field and no [keys] %s: the %ss cannot be told apart",
                         p->sc->path, what, what, what);
    return DMMP_OK;
}

static dmmp_status make_plan(importer *im, const csv_schema *sc, int n_cols)
{
    plan *p = &im->p;
    p->sc = sc;
    p->n_cols = n_cols;
    p->split_col = -1;
    p->time_col = sc->time.name[0] ? sc->time.col : -1;
    for (int k = 0; k < sc->n_fields; k++) {
        const csv_schema_field *sf = &sc->fields[k];
        if (sf->kind == CSV_KIND_DENSE) {
            p->dense_col[p->n_dense] = sf->column.col;
            snprintf(p->dense_names[p->n_dense], DATASET_NAME_LEN, "%s", sf->name);
            p->n_dense++;
            continue;
        }
        int f = p->n_fields++;
        p->src[f] = k;
        dataset_field *df = &p->fields[f];
        memset(df, 0, sizeof *df);
        snprintf(df->name, sizeof df->name, "%s", sf->name);
        df->side = sf->side;
        df->multi = sf->kind == CSV_KIND_MULTI;
        if (df->multi) {
            p->slot[f] = -1;
            p->mslot[f] = p->n_multi;
            p->multi_field[p->n_multi++] = f;
        } else {
            p->slot[f] = p->n_single++;
            p->mslot[f] = -1;
        }
    }
    int next = p->n_single;
    DMMP_TRY(entity_plan_of(p, &sc->user, SIDE_USER, "user", &next));
    DMMP_TRY(entity_plan_of(p, &sc->item, SIDE_ITEM, "item", &next));
    p->n_slots = next;
    return DMMP_OK;
}

/* ---- merging (one thread, file order) ---- */

static dmmp_status index_of(vocab *v, const value *x, int train, int32_t *idx)
{
    if (x->key == MISSING_KEY) {
        *idx = 0;
        return DMMP_OK;
    }
    if (train) return vocab_insert_text(v, x->key, x->text, x->len, idx);
    *idx = vocab_lookup(v, x->key);
    return DMMP_OK;
}

/* The identity of a tuple entity: the hash of its fields' raw keys. */
static uint64_t tuple_key(const entity_plan *e, const plan *p, const value *v)
{
    uint64_t key[CSV_SCHEMA_MAX_FIELDS];
    key[0] = 0;
    for (int k = 0; k < e->n_tuple; k++) key[k] = v[p->slot[e->tuple[k]]].key;
    return text_hash64((const char *)key, (size_t)e->n_tuple * sizeof key[0]);
}

static dmmp_status entity_index(const entity_plan *e, const plan *p, vocab *v, const value *vals,
                                const int32_t *sparse, int train, int32_t *out)
{
    if (e->mode == ENTITY_FIELD) {
        *out = sparse[p->slot[e->field]];
        return DMMP_OK;
    }
    if (e->mode == ENTITY_COLUMN) return index_of(v, &vals[e->slot], train, out);
    int any = 0;
    for (int k = 0; k < e->n_tuple; k++) any |= vals[p->slot[e->tuple[k]]].key != MISSING_KEY;
    if (!any) {
        *out = 0; /* every value empty: the unknown entity, as an empty id is */
        return DMMP_OK;
    }
    uint64_t h = tuple_key(e, p, vals);
    *out = vocab_lookup(v, h);
    if (!train || *out) return DMMP_OK;
    /* A new entity: its raw id is the tuple of its raw values, joined by ';'. */
    size_t len = 0;
    for (int k = 0; k < e->n_tuple; k++) len += vals[p->slot[e->tuple[k]]].len + 1;
    char stack[1024], *text = len <= sizeof stack ? stack : malloc(len);
    if (!text) return dmmp_fail(DMMP_ENOMEM, "csv import: out of memory");
    len = 0;
    for (int k = 0; k < e->n_tuple; k++) {
        const value *x = &vals[p->slot[e->tuple[k]]];
        if (k) text[len++] = ';';
        memcpy(text + len, x->text, x->len);
        len += x->len;
    }
    dmmp_status s = vocab_insert_text(v, h, text, len, out);
    if (text != stack) free(text);
    return s;
}

/* The identity of the row's user for leave-last-out (any stable 64 bits). */
static uint64_t user_identity(const plan *p, const value *vals)
{
    if (p->user.mode == ENTITY_FIELD) return vals[p->slot[p->user.field]].key;
    if (p->user.mode == ENTITY_COLUMN) return vals[p->user.slot].key;
    return tuple_key(&p->user, p, vals);
}

static dmmp_status llo_offer(importer *im, uint64_t user, double t, int64_t row)
{
    int32_t u;
    DMMP_TRY(vocab_insert(im->llo_vocab, user, &u));
    if (u >= im->llo_cap) {
        int64_t cap = im->llo_cap ? im->llo_cap * 2 : 4096;
        while (cap <= u) cap *= 2;
        llo_user *l = realloc(im->llo, (size_t)cap * sizeof *l);
        if (!l) return dmmp_fail(DMMP_ENOMEM, "leave-last-out: out of memory for %lld users", (long long)cap);
        for (int64_t i = im->llo_cap; i < cap; i++) l[i] = (llo_user){{0, 0}, {-1, -1}, 0};
        im->llo = l;
        im->llo_cap = cap;
    }
    llo_user *x = &im->llo[u];
    x->n++;
    /* Later in time, or the same time later in the file, is later. */
    if (x->r[0] < 0 || t >= x->t[0]) {
        x->t[1] = x->t[0];
        x->r[1] = x->r[0];
        x->t[0] = t;
        x->r[0] = row;
    } else if (x->r[1] < 0 || t >= x->t[1]) {
        x->t[1] = t;
        x->r[1] = row;
    }
    return DMMP_OK;
}

/* The split of data row `row` of the training file (pass 2). */
static uint8_t decide_split(importer *im, const range_out *o, int64_t j, const value *vals, int64_t row)
{
    if (o->split[j] != NO_SPLIT) return o->split[j];
    switch (im->a->split) {
    case IMPORT_SPLIT_TIME: {
        double t = o->time[j];
        if (im->frac_test > 0 && t >= im->cut_test) return SPLIT_TEST;
        if (im->frac_val > 0 && t >= im->cut_val) return SPLIT_VAL;
        return SPLIT_TRAIN;
    }
    case IMPORT_SPLIT_LEAVE_LAST_OUT: {
        /* n = 1: train; n = 2: the last to test; n >= 3: also the one before to val. */
        const llo_user *x = &im->llo[vocab_lookup(im->llo_vocab, user_identity(&im->p, vals))];
        if (x->r[0] == row && x->n >= 2) return SPLIT_TEST;
        if (x->r[1] == row && x->n >= 3) return SPLIT_VAL;
        return SPLIT_TRAIN;
    }
    case IMPORT_SPLIT_RANDOM: return (uint8_t)import_row_split(im->opt->seed, row, im->frac_val, im->frac_test);
    case IMPORT_SPLIT_COLUMN: break;
    }
    return SPLIT_TRAIN;
}

/* Pass 1: the time range or each user's last two rows. */
static dmmp_status scan_rows(importer *im, int set)
{
    for (int i = 0; i < im->n_ranges; i++) {
        const range_out *o = &im->outs[set][i];
        for (int64_t j = 0; j < o->n; j++, im->row_no++) {
            double t = o->time[j];
            if (im->a->split == IMPORT_SPLIT_TIME) {
                if (im->row_no == 0 || t < im->t_min) im->t_min = t;
                if (im->row_no == 0 || t > im->t_max) im->t_max = t;
            } else {
                DMMP_TRY(llo_offer(im, user_identity(&im->p, o->vals + o->vstart[j]), t, im->row_no));
            }
        }
    }
    return DMMP_OK;
}

/* split_rule: a fixed split for the rows of a val or test file, or -1 for
 * the training file (decide_split). */
static dmmp_status merge_rows(importer *im, int set, int split_rule)
{
    const plan *p = &im->p;
    for (int i = 0; i < im->n_ranges; i++) {
        const range_out *o = &im->outs[set][i];
        const value *mv = NULL;
        for (int64_t j = 0; j < o->n; j++) {
            const value *vals = o->vals + o->vstart[j];
            /* Start loading the vocabulary slots a few rows ahead: big
             * vocabularies do not fit the caches, and the merge is serial. */
            if (j + PREFETCH_ROWS < o->n) {
                const value *ahead = o->vals + o->vstart[j + PREFETCH_ROWS];
                for (int f = 0; f < p->n_fields; f++)
                    if (p->slot[f] >= 0) vocab_prefetch(im->vocabs[f], ahead[p->slot[f]].key);
                if (p->user.mode == ENTITY_COLUMN) vocab_prefetch(im->user_vocab, ahead[p->user.slot].key);
                if (p->item.mode == ENTITY_COLUMN) vocab_prefetch(im->item_vocab, ahead[p->item.slot].key);
            }
            uint8_t split = split_rule >= 0 ? (uint8_t)split_rule : decide_split(im, o, j, vals, im->row_no++);
            int train = split == SPLIT_TRAIN;
            row_block *b = &im->rows;
            int64_t r = row_block_begin(b);
            int32_t *sparse = b->sparse + r * p->n_single;
            for (int f = 0; f < p->n_fields; f++)
                if (p->slot[f] >= 0) DMMP_TRY(index_of(im->vocabs[f], &vals[p->slot[f]], train, &sparse[p->slot[f]]));
            mv = vals + p->n_slots;
            int64_t multi_at[CSV_SCHEMA_MAX_MULTI];
            for (int m = 0; m < p->n_multi; m++) {
                int f = p->multi_field[m];
                int32_t cnt = o->mcount[j * p->n_multi + m];
                multi_at[m] = b->offsets[m][b->n];
                for (int32_t k = 0; k < cnt; k++) {
                    int32_t idx;
                    DMMP_TRY(index_of(im->vocabs[f], &mv[k], train, &idx));
                    DMMP_TRY(row_block_push_multi(b, m, idx, mv[k].weight));
                }
                mv += cnt;
            }
            if (p->n_dense)
                memcpy(b->dense + r * p->n_dense, o->dense + j * p->n_dense, (size_t)p->n_dense * sizeof(float));
            b->click[r] = o->labels[j * 2];
            b->conversion[r] = o->labels[j * 2 + 1];
            b->split[r] = split;
            DMMP_TRY(entity_index(&p->user, p, im->user_vocab, vals, sparse, train, &b->user[r]));
            DMMP_TRY(entity_index(&p->item, p, im->item_vocab, vals, sparse, train, &b->item[r]));
            if (train) {
                int32_t uv[CSV_SCHEMA_MAX_FIELDS], iv[CSV_SCHEMA_MAX_FIELDS];
                int nu = 0, ni = 0;
                for (int f = 0; f < p->n_fields; f++) {
                    if (p->slot[f] < 0) continue;
                    if (p->fields[f].side == SIDE_USER) uv[nu++] = sparse[p->slot[f]];
                    if (p->fields[f].side == SIDE_ITEM) iv[ni++] = sparse[p->slot[f]];
                }
                DMMP_TRY(entity_table_offer(&im->users, b->user[r], uv));
                DMMP_TRY(entity_table_offer(&im->items, b->item[r], iv));
                for (int m = 0; m < p->n_multi; m++) {
                    int ub = im->user_side_multi[m];
                    if (ub < 0 || b->user[r] <= 0) continue;
                    int64_t lo = multi_at[m], n = b->offsets[m][b->n + 1] - lo;
                    DMMP_TRY(entity_bags_offer(&im->user_bags, b->user[r], ub, b->indices[m] + lo, b->weights[m] + lo, n));
                }
            }
            im->rep->rows[split]++;
            im->rep->clicks += b->click[r];
            im->rep->conversions += b->conversion[r];
            DMMP_TRY(row_block_end(b, im->w));
        }
    }
    return DMMP_OK;
}

/* ---- files ---- */

/* The column names of a file: its header's fields, or c1..cN. */
static dmmp_status column_names(const csv_schema *sc, const char *path, char *data, const char *line_end,
                                char ***names, int *n)
{
    text_loc loc = {path, 1, data};
    int cols = csv_record_count(data, line_end, sc->delimiter, sc->quote);
    if (cols > MAX_COLS) return text_fail(&loc, data, "%d columns, at most %d", cols, MAX_COLS);
    csv_field *f = malloc(sizeof *f * (size_t)cols);
    char **out = calloc((size_t)cols, sizeof *out);
    char *copy = malloc((size_t)(line_end - data) + 1);
    dmmp_status s = !f || !out || !copy ? dmmp_fail(DMMP_ENOMEM, "csv import: out of memory") : DMMP_OK;
    if (s == DMMP_OK) {
        memcpy(copy, data, (size_t)(line_end - data));
        loc.line_start = copy;
        s = csv_record_split(copy, copy + (line_end - data), sc->delimiter, sc->quote, &loc, f, cols);
    }
    for (int k = 0; s == DMMP_OK && k < cols; k++) {
        size_t len = (size_t)(f[k].end - f[k].start);
        out[k] = malloc(len + 16);
        if (!out[k]) {
            s = dmmp_fail(DMMP_ENOMEM, "csv import: out of memory");
            break;
        }
        if (sc->header) {
            memcpy(out[k], f[k].start, len);
            out[k][len] = '\0';
            for (int j = 0; j < k; j++)
                if (!strcmp(out[j], out[k])) {
                    s = text_fail(&loc, f[k].start, "column '%s' appears twice in the header", out[k]);
                    break;
                }
        } else {
            snprintf(out[k], len + 16, "c%d", k + 1);
        }
    }
    free(f);
    free(copy);
    if (s != DMMP_OK) {
        for (int k = 0; out && k < cols; k++) free(out[k]);
        free(out);
        return s;
    }
    *names = out;
    *n = cols;
    return DMMP_OK;
}

static dmmp_status open_writer(importer *im)
{
    const plan *p = &im->p;
    int n_user_single = 0, n_item_single = 0;
    for (int f = 0; f < p->n_fields; f++) {
        const csv_schema_field *sf = &p->sc->fields[p->src[f]];
        DMMP_TRY(vocab_create(&im->vocabs[f], sf->hash_buckets, sf->name));
        im->p.fields[f].vocab_size = vocab_size(im->vocabs[f]);
        if (p->slot[f] >= 0) {
            n_user_single += p->fields[f].side == SIDE_USER;
            n_item_single += p->fields[f].side == SIDE_ITEM;
        }
    }
    for (int m = 0; m < p->n_multi; m++)
        im->user_side_multi[m] = p->fields[p->multi_field[m]].side == SIDE_USER ? im->n_user_multi++ : -1;
    DMMP_TRY(vocab_create(&im->user_vocab, 0, "user"));
    DMMP_TRY(vocab_create(&im->item_vocab, 0, "item"));
    DMMP_TRY(row_block_init(&im->rows, p->n_single, p->n_multi, p->n_dense));
    DMMP_TRY(entity_table_init(&im->users, n_user_single));
    DMMP_TRY(entity_table_init(&im->items, n_item_single));
    DMMP_TRY(entity_bags_init(&im->user_bags, im->n_user_multi));
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < LINE_MAX_RANGES; i++) {
            im->outs[k][i].p = p;
            im->outs[k][i].cols = malloc((size_t)p->n_cols * sizeof(csv_field));
            if (!im->outs[k][i].cols) return dmmp_fail(DMMP_ENOMEM, "csv import: out of memory");
        }
    dataset_schema schema = {p->n_fields, im->p.fields, p->n_dense,
                             p->n_dense ? (char(*)[DATASET_NAME_LEN])im->p.dense_names : NULL};
    return dataset_writer_open(&im->w, im->opt->out, &schema, p->sc->name, p->sc->source);
}

/* Reads the header of the first file and sets everything up; a layout
 * without a schema file describes itself from the header first. */
static dmmp_status bind_first(importer *im, csv_schema *sc, const char *path, char *data, const char *line_end,
                              csv_colref *split_ref)
{
    if (im->a->describe) {
        text_loc loc = {path, 1, data};
        int n = csv_record_count(data, line_end, sc->delimiter, sc->quote);
        if (n > MAX_COLS) return text_fail(&loc, data, "%d columns, at most %d", n, MAX_COLS);
        csv_field *f = malloc(sizeof *f * (size_t)n);
        char *copy = malloc((size_t)(line_end - data) + 1);
        dmmp_status s = !f || !copy ? dmmp_fail(DMMP_ENOMEM, "csv import: out of memory") : DMMP_OK;
        if (s == DMMP_OK) {
            memcpy(copy, data, (size_t)(line_end - data));
            loc.line_start = copy;
            s = csv_record_split(copy, copy + (line_end - data), sc->delimiter, sc->quote, &loc, f, n);
        }
        if (s == DMMP_OK) s = im->a->describe(sc, f, n, &loc, im->a->describe_arg);
        free(f);
        free(copy);
        DMMP_TRY(s);
    }
    char **names;
    int n;
    DMMP_TRY(column_names(sc, path, data, line_end, &names, &n));
    dmmp_status s = csv_schema_bind(sc, (const char *const *)names, n, split_ref, path);
    im->names = names;
    im->n_names = n;
    DMMP_TRY(s);
    if ((im->a->split == IMPORT_SPLIT_TIME || im->a->split == IMPORT_SPLIT_LEAVE_LAST_OUT) && !sc->time.name[0])
        return dmmp_fail(DMMP_EINVAL, "%s: --split %s needs [keys] time", sc->path,
                         im->a->split == IMPORT_SPLIT_TIME ? "time" : "leave-last-out");
    DMMP_TRY(make_plan(im, sc, n));
    if (split_ref) im->p.split_col = split_ref->col;
    im->bound = 1;
    return open_writer(im);
}

/* A later file's column names must be the first file's. */
static dmmp_status check_same_columns(importer *im, const char *path, char *data, const char *line_end)
{
    char **names;
    int n;
    DMMP_TRY(column_names(im->p.sc, path, data, line_end, &names, &n));
    dmmp_status s = DMMP_OK;
    int same = n == im->n_names;
    for (int k = 0; same && k < n; k++) same = !strcmp(names[k], im->names[k]);
    if (!same) {
        text_loc loc = {path, 1, data};
        s = text_fail(&loc, data, "the header differs from the training file's (%d columns, %d there)", n, im->n_names);
    }
    for (int k = 0; k < n; k++) free(names[k]);
    free(names);
    return s;
}

/* The first block of a file: a byte order mark, then the header (binding
 * the schema on the first file, checking the columns on later ones). */
static dmmp_status first_block(void *user, char **data, size_t *len, int64_t *first_line)
{
    importer *im = user;
    if (*len >= 3 && !memcmp(*data, "\xEF\xBB\xBF", 3)) {
        *data += 3; /* a UTF-8 byte order mark, as spreadsheets write them */
        *len -= 3;
    }
    const char *ce;
    const char *body = text_next_line(*data, *data + *len, &ce);
    if (!im->bound) DMMP_TRY(bind_first(im, im->sc, im->path, *data, ce, im->split_ref));
    else DMMP_TRY(check_same_columns(im, im->path, *data, ce));
    if (im->sc->header) {
        *len -= (size_t)(body - *data);
        *data = (char *)body;
        *first_line = 2;
    }
    return DMMP_OK;
}

static void reset_set(void *user, int set)
{
    importer *im = user;
    for (int i = 0; i < im->n_ranges; i++) im->outs[set][i].n = im->outs[set][i].nv = 0;
}

static dmmp_status merge_block(void *user, const line_block *b)
{
    importer *im = user;
    for (int i = 0; i < b->n_ranges; i++) {
        im->data_rows += im->outs[b->set][i].n;
        if (!b->ranges[i].n_skipped || im->pass == 1) continue;
        im->rep->skipped += b->ranges[i].n_skipped;
        if (im->warned++ < WARN_LINES) log_warn("skipped a bad line: %s", b->ranges[i].first_error);
    }
    return im->pass == 1 ? scan_rows(im, b->set) : merge_rows(im, b->set, im->split_rule);
}

/* Streams one file. pass 1 scans it (scan_rows); pass 2 imports it, with a
 * fixed split (split_rule >= 0) or the training file's rule (-1). */
static dmmp_status run_file(importer *im, csv_schema *sc, const char *path, int split_rule, csv_colref *split_ref)
{
    im->sc = sc;
    im->path = path;
    im->split_rule = split_rule;
    im->split_ref = split_ref;
    im->data_rows = 0;
    line_stream st;
    memset(&st, 0, sizeof st);
    st.path = path;
    st.progress = im->opt->progress;
    st.block_bytes = BLOCK_BYTES;
    st.n_ranges = im->n_ranges;
    st.ctx[0] = im->ctx[0];
    st.ctx[1] = im->ctx[1];
    st.parse = parse_row;
    st.skip = im->opt->skip_bad_lines;
    st.user = im;
    st.first = first_block;
    st.reset = reset_set;
    st.merge = merge_block;
    int64_t bytes;
    dmmp_status s = line_stream_run(&st, &bytes);
    im->rep->bytes += bytes;
    if (s == DMMP_OK && bytes == 0) s = dmmp_fail(DMMP_EFORMAT, "%s: the file is empty", path);
    if (s == DMMP_OK && im->data_rows == 0 && split_rule < 0)
        s = dmmp_fail(DMMP_EFORMAT, "%s: no data rows%s", path, sc->header ? " after the header" : "");
    return s;
}

static dmmp_status finish(importer *im)
{
    const plan *p = &im->p;
    DMMP_TRY(row_block_flush(&im->rows, im->w));
    for (int f = 0; f < p->n_fields; f++) DMMP_TRY(dataset_writer_set_vocab(im->w, f, vocab_size(im->vocabs[f])));
    const vocab *uv = p->user.mode == ENTITY_FIELD ? im->vocabs[p->user.field] : im->user_vocab;
    const vocab *iv = p->item.mode == ENTITY_FIELD ? im->vocabs[p->item.field] : im->item_vocab;
    int64_t n_users = vocab_size(uv), n_items = vocab_size(iv);
    DMMP_TRY(entity_table_resize(&im->users, n_users));
    DMMP_TRY(entity_table_resize(&im->items, n_items));
    DMMP_TRY(dataset_writer_write_users(im->w, n_users, im->users.rows));
    DMMP_TRY(dataset_writer_write_items(im->w, n_items, im->items.rows));
    for (int m = 0; m < p->n_multi; m++) {
        if (im->user_side_multi[m] < 0) continue;
        int64_t *off;
        int32_t *idx;
        float *wt;
        DMMP_TRY(entity_bags_csr(&im->user_bags, im->user_side_multi[m], n_users, &off, &idx, &wt));
        dmmp_status s = dataset_writer_write_users_multi(im->w, p->multi_field[m], n_users, off, idx, wt);
        free(off);
        free(idx);
        free(wt);
        DMMP_TRY(s);
    }
    for (int f = 0; f < p->n_fields; f++)
        DMMP_TRY(dataset_writer_write_raw_ids(im->w, RAW_IDS_FIELD, f, vocab_raw_ids(im->vocabs[f])));
    DMMP_TRY(dataset_writer_write_raw_ids(im->w, RAW_IDS_USERS, 0, vocab_raw_ids(uv)));
    DMMP_TRY(dataset_writer_write_raw_ids(im->w, RAW_IDS_ITEMS, 0, vocab_raw_ids(iv)));
    im->rep->n_users = n_users;
    im->rep->n_items = n_items;
    dmmp_status s = dataset_writer_commit(im->w);
    im->w = NULL;
    return s;
}

static void importer_free(importer *im)
{
    for (int k = 0; k < im->n_names; k++) free(im->names[k]);
    free(im->names);
    dataset_writer_abort(im->w);
    for (int f = 0; f < CSV_SCHEMA_MAX_FIELDS; f++) vocab_free(im->vocabs[f]);
    vocab_free(im->user_vocab);
    vocab_free(im->item_vocab);
    vocab_free(im->llo_vocab);
    free(im->llo);
    free(im->p.user.tuple);
    free(im->p.item.tuple);
    for (int i = 0; i < 2 * LINE_MAX_RANGES; i++) {
        range_out *o = &im->outs[i / LINE_MAX_RANGES][i % LINE_MAX_RANGES];
        free(o->cols);
        free(o->labels);
        free(o->split);
        free(o->time);
        free(o->vstart);
        free(o->mcount);
        free(o->dense);
        free(o->vals);
    }
    row_block_free(&im->rows);
    entity_table_free(&im->users);
    entity_table_free(&im->items);
    entity_bags_free(&im->user_bags);
    free(im);
}

static dmmp_status check_args(const csv_import_args *a, const import_options *opt)
{
    if ((!a->schema && !a->describe) || !a->train || !opt->out)
        return dmmp_fail(DMMP_EINVAL, "--schema, --train and --out are required");
    DMMP_TRY(import_check_fractions(opt->val_fraction, opt->test_fraction));
    if (a->test && opt->test_fraction > 0)
        return dmmp_fail(DMMP_EINVAL, "--test-fraction %g and a test file %s: give one or the other", opt->test_fraction,
                         a->test);
    if ((a->val || a->test) && a->split != IMPORT_SPLIT_RANDOM)
        return dmmp_fail(DMMP_EINVAL, "--split %s splits one file: give it without --val and --test",
                         import_split_name(a->split));
    if (a->split == IMPORT_SPLIT_COLUMN && (!a->split_column || !*a->split_column))
        return dmmp_fail(DMMP_EINVAL, "--split column:NAME needs a column name");
    return DMMP_OK;
}

dmmp_status import_csv(const csv_import_args *a, const import_options *opt, import_report *rep)
{
    memset(rep, 0, sizeof *rep);
    DMMP_TRY(check_args(a, opt));
    double t0 = clock_wall_seconds();
    csv_schema *sc = malloc(sizeof *sc);
    importer *im = calloc(1, sizeof *im);
    if (!sc || !im) {
        free(sc);
        free(im);
        return dmmp_fail(DMMP_ENOMEM, "csv import: out of memory");
    }
    im->a = a;
    im->opt = opt;
    im->rep = rep;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < LINE_MAX_RANGES; i++) im->ctx[k][i] = &im->outs[k][i];
    im->n_ranges = opt->threads > 0 ? (opt->threads > LINE_MAX_RANGES ? LINE_MAX_RANGES : opt->threads)
                                    : line_parse_threads();
    im->frac_val = a->val ? 0.0 : opt->val_fraction;
    im->frac_test = a->test ? 0.0 : opt->test_fraction;
    csv_colref split_ref;
    memset(&split_ref, 0, sizeof split_ref);
    split_ref.col = -1;
    dmmp_status s = DMMP_OK;
    if (a->describe) csv_schema_init(sc, a->train);
    else s = csv_schema_load(sc, a->schema);
    if (s == DMMP_OK && a->split == IMPORT_SPLIT_COLUMN) {
        if (strlen(a->split_column) >= sizeof split_ref.name)
            s = dmmp_fail(DMMP_EINVAL, "--split column:%s: the name is too long", a->split_column);
        else snprintf(split_ref.name, sizeof split_ref.name, "%s", a->split_column);
    }
    csv_colref *extra = a->split == IMPORT_SPLIT_COLUMN ? &split_ref : NULL;
    int two_pass = a->split == IMPORT_SPLIT_TIME || a->split == IMPORT_SPLIT_LEAVE_LAST_OUT;
    if (s == DMMP_OK && two_pass) {
        im->pass = 1;
        if (a->split == IMPORT_SPLIT_LEAVE_LAST_OUT) s = vocab_create(&im->llo_vocab, 0, "leave-last-out users");
        if (s == DMMP_OK) s = run_file(im, sc, a->train, -1, extra);
        double range = im->t_max - im->t_min;
        if (s == DMMP_OK && a->split == IMPORT_SPLIT_TIME && !(range > 0))
            s = dmmp_fail(DMMP_EINVAL, "%s: --split time: every row has the time %g (column %s); nothing to split by",
                          a->train, im->t_min, sc->time.name);
        im->cut_test = im->t_max - im->frac_test * range;
        im->cut_val = im->cut_test - im->frac_val * range;
        im->row_no = 0;
    }
    im->pass = 2;
    if (s == DMMP_OK) s = run_file(im, sc, a->train, -1, extra);
    if (s == DMMP_OK && a->val) s = run_file(im, sc, a->val, SPLIT_VAL, extra);
    if (s == DMMP_OK && a->test) s = run_file(im, sc, a->test, SPLIT_TEST, extra);
    if (s == DMMP_OK) s = finish(im);
    importer_free(im);
    free(sc);
    rep->seconds = clock_wall_seconds() - t0;
    return s;
}

const char *import_split_name(import_split_rule r)
{
    static const char *const names[] = {"random", "time", "leave-last-out", "column"};
    return (int)r >= 0 && (int)r < 4 ? names[r] : "?";
}
