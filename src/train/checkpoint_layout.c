#include "train/checkpoint_layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_layout.h"

#define LAYOUT "model/layout"

dmmp_status layout_vocab_load(layout_vocab *v, const dataset *d)
{
    memset(v, 0, sizeof *v);
    const dataset_schema *s = dataset_get_schema(d);
    int n = s->n_fields;
    v->field = calloc((size_t)(n > 0 ? n : 1), sizeof *v->field);
    v->default_id = calloc((size_t)(n > 0 ? n : 1), sizeof *v->default_id);
    if (!v->field || !v->default_id) {
        layout_vocab_free(v);
        return dmmp_fail(DMMP_ENOMEM, "%s: out of memory for the vocabularies", dataset_path(d));
    }
    v->n_fields = n;
    for (int i = 0; i < n; i++) {
        dmmp_status st = dataset_read_raw_ids(d, RAW_IDS_FIELD, i, &v->field[i]);
        if (st != DMMP_OK) {
            layout_vocab_free(v);
            return st;
        }
        v->default_id[i] = dataset_default_id(d, i);
    }
    return DMMP_OK;
}

void layout_vocab_free(layout_vocab *v)
{
    for (int i = 0; v->field && i < v->n_fields; i++) raw_ids_free(&v->field[i]);
    free(v->field);
    free(v->default_id);
    memset(v, 0, sizeof *v);
}

static void safe_name(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s", name);
    for (char *p = buf; *p; p++)
        if (*p == '/') *p = '_';
}

void ckpt_table_key(char *buf, size_t len, const feature_table *t, const char *what)
{
    char name[sizeof t->emb.name];
    safe_name(name, sizeof name, t->emb.name);
    snprintf(buf, len, "features/%s/%s", name, what);
}

static const char *side_name(field_side s)
{
    static const char *const names[] = {"user", "item", "context", "cross"};
    return s >= 0 && s < 4 ? names[s] : "?";
}

static const char *const view_names[VIEW_COUNT] = {"teacher", "user", "item"};

static dmmp_status put_params(ckpt_writer *w, const model *m)
{
    model_layout l;
    DMMP_TRY(model_layout_build(m, &l));
    int64_t n = l.n;
    const char **names = malloc((size_t)n * sizeof *names), **acts = malloc((size_t)n * sizeof *acts);
    int64_t *off = malloc((size_t)n * sizeof *off), *rows = malloc((size_t)n * sizeof *rows),
            *cols = malloc((size_t)n * sizeof *cols);
    dmmp_status s = names && acts && off && rows && cols ? DMMP_OK
                                                       : dmmp_fail(DMMP_ENOMEM, "checkpoint layout: out of memory");
    for (int64_t i = 0; s == DMMP_OK && i < n; i++) {
        names[i] = l.entries[i].name;
        acts[i] = l.entries[i].activation;
        off[i] = (int64_t)l.entries[i].offset;
        rows[i] = (int64_t)l.entries[i].rows;
        cols[i] = (int64_t)l.entries[i].cols;
    }
    if (s == DMMP_OK) s = ckpt_put_strings(w, LAYOUT "/params/name", names, n);
    if (s == DMMP_OK) s = ckpt_put_i64(w, LAYOUT "/params/offset", off, 1, &n);
    if (s == DMMP_OK) s = ckpt_put_i64(w, LAYOUT "/params/rows", rows, 1, &n);
    if (s == DMMP_OK) s = ckpt_put_i64(w, LAYOUT "/params/cols", cols, 1, &n);
    if (s == DMMP_OK) s = ckpt_put_strings(w, LAYOUT "/params/activation", acts, n);
    free(names);
    free(acts);
    free(off);
    free(rows);
    free(cols);
    model_layout_free(&l);
    return s;
}

/* The vocabulary of field i as /model/layout/vocab/<field>; path gets its name ("" when there is none). */
static dmmp_status put_vocab(ckpt_writer *w, const dataset_schema *schema, const layout_vocab *v, int i, char *path,
                             size_t len)
{
    path[0] = '\0';
    if (!v || i >= v->n_fields || v->field[i].n == 0) return DMMP_OK;
    char name[DATASET_NAME_LEN], key[256];
    safe_name(name, sizeof name, schema->fields[i].name);
    snprintf(path, len, "/" LAYOUT "/vocab/%s", name);
    const raw_ids *r = &v->field[i];
    int64_t n1 = r->n + 1, nb = r->offsets[r->n];
    snprintf(key, sizeof key, LAYOUT "/vocab/%s/offsets", name);
    DMMP_TRY(ckpt_put_i64(w, key, r->offsets, 1, &n1));
    snprintf(key, sizeof key, LAYOUT "/vocab/%s/bytes", name);
    return ckpt_put_u8(w, key, (const uint8_t *)r->bytes, 1, &nb);
}

static dmmp_status put_hash(ckpt_writer *w, const feature_table *t, int64_t vocab_size)
{
    char name[sizeof t->emb.name], key[256];
    safe_name(name, sizeof name, t->emb.name);
    snprintf(key, sizeof key, LAYOUT "/hash/%s/row", name);
    int32_t *rows = malloc((size_t)(vocab_size > 0 ? vocab_size : 1) * sizeof *rows);
    if (!rows) return dmmp_fail(DMMP_ENOMEM, "checkpoint layout: out of memory for %s", key);
    for (int64_t id = 0; id < vocab_size; id++) rows[id] = features_row_of(t, (int32_t)id);
    dmmp_status s = ckpt_put_i32(w, key, rows, 1, &vocab_size);
    free(rows);
    return s;
}

/* Each table's slot: the view that reads it and the column where it starts. */
static int table_offset(const features *f, int table)
{
    for (int v = 0; v < VIEW_COUNT; v++)
        for (int k = 0; k < f->view[v].n_slots; k++)
            if (f->view[v].slots[k].table == table) return f->view[v].slots[k].offset;
    return -1;
}

static dmmp_status put_embeddings(ckpt_writer *w, const features *f, const dataset_schema *schema,
                                  const layout_vocab *v)
{
    int64_t n = f->n_tables;
    if (n == 0) return DMMP_OK;
    const char **table = calloc((size_t)n, sizeof *table), **field = calloc((size_t)n, sizeof *field),
               **side = calloc((size_t)n, sizeof *side), **input = calloc((size_t)n, sizeof *input),
               **vocab = calloc((size_t)n, sizeof *vocab);
    char (*keys)[160] = calloc((size_t)n, sizeof *keys);
    char (*vpaths)[160] = calloc((size_t)schema->n_fields + 1, sizeof *vpaths);
    int64_t *cols[6];
    int ok = table && field && side && input && vocab && keys && vpaths;
    for (int c = 0; c < 6; c++) ok &= (cols[c] = calloc((size_t)n, sizeof(int64_t))) != NULL;
    dmmp_status s = ok ? DMMP_OK : dmmp_fail(DMMP_ENOMEM, "checkpoint layout: out of memory");
    for (int i = 0; s == DMMP_OK && i < schema->n_fields; i++) s = put_vocab(w, schema, v, i, vpaths[i], sizeof vpaths[i]);
    for (int64_t i = 0; s == DMMP_OK && i < n; i++) {
        const feature_table *t = &f->tables[i];
        const dataset_field *fd = &schema->fields[t->field];
        ckpt_table_key(keys[i], sizeof keys[i], t, "weight");
        memmove(keys[i] + 1, keys[i], strlen(keys[i]) + 1);
        keys[i][0] = '/';
        table[i] = keys[i];
        field[i] = fd->name;
        side[i] = side_name(fd->side);
        input[i] = view_names[t->view];
        vocab[i] = vpaths[t->field];
        cols[0][i] = table_offset(f, (int)i);
        cols[1][i] = t->emb.rows;
        cols[2][i] = t->emb.dim;
        cols[3][i] = fd->multi;
        cols[4][i] = t->hashed;
        cols[5][i] = v && t->field < v->n_fields ? v->default_id[t->field] : 0;
        if (t->hashed) s = put_hash(w, t, fd->vocab_size);
    }
    static const char *const col_names[6] = {"input_offset", "rows", "dim", "multi", "hashed", "default_id"};
    char key[128];
    if (s == DMMP_OK) s = ckpt_put_strings(w, LAYOUT "/embeddings/table", table, n);
    if (s == DMMP_OK) s = ckpt_put_strings(w, LAYOUT "/embeddings/field", field, n);
    if (s == DMMP_OK) s = ckpt_put_strings(w, LAYOUT "/embeddings/side", side, n);
    if (s == DMMP_OK) s = ckpt_put_strings(w, LAYOUT "/embeddings/input", input, n);
    if (s == DMMP_OK) s = ckpt_put_strings(w, LAYOUT "/embeddings/vocab", vocab, n);
    for (int c = 0; s == DMMP_OK && c < 6; c++) {
        snprintf(key, sizeof key, LAYOUT "/embeddings/%s", col_names[c]);
        s = ckpt_put_i64(w, key, cols[c], 1, &n);
    }
    free(table);
    free(field);
    free(side);
    free(input);
    free(vocab);
    free(keys);
    free(vpaths);
    for (int c = 0; c < 6; c++) free(cols[c]);
    return s;
}

static dmmp_status put_inputs(ckpt_writer *w, const features *f)
{
    int64_t n = VIEW_COUNT, width[VIEW_COUNT], dense_off[VIEW_COUNT], dense_cols[VIEW_COUNT];
    const char *names[VIEW_COUNT];
    for (int v = 0; v < VIEW_COUNT; v++) {
        const feature_view *fv = &f->view[v];
        names[v] = view_names[v];
        width[v] = fv->width;
        dense_off[v] = -1;
        dense_cols[v] = 0;
        for (int k = 0; k < fv->n_slots; k++)
            if (fv->slots[k].table < 0) {
                dense_off[v] = fv->slots[k].offset;
                dense_cols[v] = f->n_dense;
            }
    }
    DMMP_TRY(ckpt_put_strings(w, LAYOUT "/inputs/name", names, n));
    DMMP_TRY(ckpt_put_i64(w, LAYOUT "/inputs/width", width, 1, &n));
    DMMP_TRY(ckpt_put_i64(w, LAYOUT "/inputs/dense_offset", dense_off, 1, &n));
    return ckpt_put_i64(w, LAYOUT "/inputs/dense_cols", dense_cols, 1, &n);
}

dmmp_status ckpt_put_layout(ckpt_writer *w, const model *m, const features *f, const dataset_schema *schema,
                            const char *variant, const layout_vocab *vocab)
{
    DMMP_TRY(put_params(w, m));
    DMMP_TRY(put_embeddings(w, f, schema, vocab));
    DMMP_TRY(put_inputs(w, f));
    DMMP_TRY(ckpt_put_string(w, LAYOUT "/variant", variant ? variant : ""));
    DMMP_TRY(ckpt_put_string(w, LAYOUT "/model_kind", model_variant_name(m->spec.variant)));
    DMMP_TRY(ckpt_put_string(w, LAYOUT "/pooling", f->pool == POOL_MEAN ? "mean" : "sum"));
    int64_t k = m->k, l2 = m->spec.l2norm, gate = m->learned_gate;
    double tau = m->spec.temperature;
    DMMP_TRY(ckpt_put_i64(w, LAYOUT "/k", &k, 0, NULL));
    DMMP_TRY(ckpt_put_i64(w, LAYOUT "/l2norm", &l2, 0, NULL));
    DMMP_TRY(ckpt_put_i64(w, LAYOUT "/learned_gate", &gate, 0, NULL));
    return ckpt_put_f64(w, LAYOUT "/temperature", &tau, 0, NULL);
}
