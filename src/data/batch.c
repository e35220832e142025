/* Batches: allocation, the item corpus and the retrieval query rows. */
#include "data/batch.h"

#include <stdlib.h>
#include <string.h>

dmmp_status batch_alloc(const dataset *d, batch *o, int n)
{
    const dataset_schema *sc = dataset_get_schema(d);
    memset(o, 0, sizeof *o);
    size_t rows = (size_t)(n > 0 ? n : 1);
    o->click = calloc(rows, 1);
    o->conversion = calloc(rows, 1);
    o->user = calloc(rows, sizeof(int32_t));
    o->item = calloc(rows, sizeof(int32_t));
    o->row = calloc(rows, sizeof(int64_t));
    o->n_dense = sc->n_dense;
    o->dense = sc->n_dense ? calloc(rows * (size_t)sc->n_dense, sizeof(float)) : NULL;
    o->n_multi = dataset_n_multi(d);
    o->multi = calloc((size_t)(o->n_multi ? o->n_multi : 1), sizeof *o->multi);
    int ok = o->click && o->conversion && o->user && o->item && o->row && o->multi && (!sc->n_dense || o->dense);
    for (int s = 0; ok && s < 4; s++) {
        int nf = dataset_side_fields(d, (field_side)s, NULL);
        int *fields = calloc((size_t)(nf ? nf : 1), sizeof(int));
        o->side[s].fields = fields;
        o->side[s].ids = calloc(rows * (size_t)(nf ? nf : 1), sizeof(int32_t));
        ok = fields && o->side[s].ids;
        if (!ok) break;
        dataset_side_fields(d, (field_side)s, fields);
        o->side[s].n_fields = nf;
    }
    for (int m = 0; ok && m < o->n_multi; m++) {
        o->multi[m].field = dataset_multi_field(d, m);
        o->multi[m].side = sc->fields[o->multi[m].field].side;
        o->multi[m].offsets = calloc(rows + 1, sizeof(int64_t));
        ok = o->multi[m].offsets != NULL;
    }
    if (ok) return DMMP_OK;
    batch_free(o);
    return dmmp_fail(DMMP_ENOMEM, "batch of %d rows: out of memory", n);
}

void batch_free(batch *o)
{
    free(o->click);
    free(o->conversion);
    free(o->user);
    free(o->item);
    free(o->row);
    free(o->dense);
    for (int s = 0; s < 4; s++) {
        free(o->side[s].ids);
        free((void *)o->side[s].fields);
    }
    for (int m = 0; o->multi && m < o->n_multi; m++) {
        free(o->multi[m].offsets);
        free(o->multi[m].indices);
        free(o->multi[m].weights);
    }
    free(o->multi);
    memset(o, 0, sizeof *o);
}

/* Growable CSR of one multi-valued field over items: each item's bag is
 * taken from the first training sample that shows the item. */
typedef struct item_bags {
    int64_t *lo, *len; /* per item: where its bag starts in idx/wt, and its length (-1: no sample yet) */
    int32_t *idx;
    float *wt;
    int64_t n, cap;
} item_bags;

static dmmp_status bags_push(item_bags *g, const int32_t *idx, const float *wt, int64_t len)
{
    if (g->n + len > g->cap) {
        int64_t cap = g->cap ? g->cap : 1024;
        while (cap < g->n + len) cap *= 2;
        int32_t *i2 = realloc(g->idx, (size_t)cap * sizeof *i2);
        if (i2) g->idx = i2;
        float *w2 = realloc(g->wt, (size_t)cap * sizeof *w2);
        if (w2) g->wt = w2;
        if (!i2 || !w2) return dmmp_fail(DMMP_ENOMEM, "item corpus: out of memory for %lld bag ids", (long long)cap);
        g->cap = cap;
    }
    memcpy(g->idx + g->n, idx, (size_t)len * sizeof *idx);
    memcpy(g->wt + g->n, wt, (size_t)len * sizeof *wt);
    g->n += len;
    return DMMP_OK;
}

/* Reads the training rows chunk by chunk and records, for every item-side
 * multi-valued field (bags[m] for the m-th multi field; others untouched),
 * each item's bag in its first training sample. */
static dmmp_status scan_item_bags(const dataset *d, const batch *out, item_bags *bags)
{
    int64_t n = dataset_n_samples(d), cr = dataset_chunk_rows(d), ni = dataset_n_items(d);
    dataset_block blk;
    memset(&blk, 0, sizeof blk);
    dmmp_status s = DMMP_OK;
    for (int64_t start = 0; s == DMMP_OK && start < n; start += cr) {
        int64_t m = n - start < cr ? n - start : cr;
        s = dataset_read_block(d, start, m, &blk);
        for (int64_t r = 0; s == DMMP_OK && r < m; r++) {
            int32_t it = blk.item[r];
            if (blk.split[r] != SPLIT_TRAIN || it < 0 || it >= ni) continue;
            for (int k = 0; s == DMMP_OK && k < out->n_multi; k++) {
                item_bags *g = &bags[k];
                if (out->multi[k].side != SIDE_ITEM || g->len[it] >= 0) continue;
                int64_t lo = blk.multi_offsets[k][r], len = blk.multi_offsets[k][r + 1] - lo;
                g->lo[it] = g->n;
                g->len[it] = len;
                s = bags_push(g, blk.multi_indices[k] + lo, blk.multi_weights[k] + lo, len);
            }
        }
    }
    dataset_block_free(&blk);
    return s;
}

/* Fills the corpus's item-side bags (corpus row r is item out->item[r]). */
static dmmp_status fill_item_bags(const dataset *d, batch *out)
{
    int any = 0;
    for (int k = 0; k < out->n_multi; k++) any |= out->multi[k].side == SIDE_ITEM;
    if (!any) return DMMP_OK;
    int64_t ni = dataset_n_items(d);
    item_bags *bags = calloc((size_t)out->n_multi, sizeof *bags);
    dmmp_status s = bags ? DMMP_OK : dmmp_fail(DMMP_ENOMEM, "item corpus: out of memory");
    for (int k = 0; s == DMMP_OK && k < out->n_multi; k++) {
        if (out->multi[k].side != SIDE_ITEM) continue;
        bags[k].lo = malloc((size_t)(ni ? ni : 1) * sizeof(int64_t));
        bags[k].len = malloc((size_t)(ni ? ni : 1) * sizeof(int64_t));
        if (!bags[k].lo || !bags[k].len) s = dmmp_fail(DMMP_ENOMEM, "item corpus: out of memory for %lld items", (long long)ni);
        for (int64_t i = 0; s == DMMP_OK && i < ni; i++) bags[k].len[i] = -1;
    }
    if (s == DMMP_OK) s = scan_item_bags(d, out, bags);
    for (int k = 0; s == DMMP_OK && k < out->n_multi; k++) {
        batch_multi *bm = &out->multi[k];
        if (bm->side != SIDE_ITEM) continue;
        item_bags *g = &bags[k];
        bm->indices = malloc((size_t)(g->n ? g->n : 1) * sizeof *bm->indices);
        bm->weights = malloc((size_t)(g->n ? g->n : 1) * sizeof *bm->weights);
        if (!bm->indices || !bm->weights) {
            s = dmmp_fail(DMMP_ENOMEM, "item corpus: out of memory");
            break;
        }
        bm->offsets[0] = 0;
        for (int r = 0; r < out->n; r++) {
            int32_t it = out->item[r];
            int64_t len = g->len[it] > 0 ? g->len[it] : 0, at = bm->offsets[r];
            if (len > 0) {
                memcpy(bm->indices + at, g->idx + g->lo[it], (size_t)len * sizeof *bm->indices);
                memcpy(bm->weights + at, g->wt + g->lo[it], (size_t)len * sizeof *bm->weights);
            }
            bm->offsets[r + 1] = at + len;
        }
    }
    for (int k = 0; bags && k < out->n_multi; k++) {
        free(bags[k].lo);
        free(bags[k].len);
        free(bags[k].idx);
        free(bags[k].wt);
    }
    free(bags);
    return s;
}

dmmp_status batch_item_corpus(const dataset *d, batch *out)
{
    memset(out, 0, sizeof *out);
    int64_t ni = dataset_n_items(d);
    int32_t first;
    DMMP_TRY(dataset_first_entity(d, SIDE_ITEM, &first));
    int64_t n = ni - first;
    int width = dataset_side_fields(d, SIDE_ITEM, NULL);
    int32_t *table = malloc((size_t)(ni ? ni : 1) * (size_t)(width ? width : 1) * sizeof *table);
    if (!table) return dmmp_fail(DMMP_ENOMEM, "item corpus: out of memory for %lld items", (long long)ni);
    dmmp_status s = width ? dataset_read_items(d, table) : DMMP_OK;
    if (s == DMMP_OK) s = batch_alloc(d, out, (int)n);
    if (s != DMMP_OK) {
        free(table);
        return s;
    }
    for (int sd = 0; sd < 4; sd++)
        if (sd != SIDE_ITEM) out->side[sd].n_fields = 0;
    out->n = (int)n;
    for (int64_t r = 0; r < n; r++) {
        out->item[r] = (int32_t)(first + r);
        out->row[r] = -1;
    }
    if (width) memcpy(out->side[SIDE_ITEM].ids, table + (size_t)first * width, (size_t)n * (size_t)width * sizeof *table);
    free(table);
    s = fill_item_bags(d, out);
    if (s != DMMP_OK) batch_free(out);
    return s;
}

void batch_corpus_item_ids(const batch *corpus, int32_t *ids, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (ids[i] >= 0 && ids[i] < corpus->n) ids[i] = corpus->item[ids[i]];
}

/* Marks the users with at least one sample in split, reading two columns a chunk at a time. */
static dmmp_status users_in_split(const dataset *d, data_split split, uint8_t *mark)
{
    int64_t n = dataset_n_samples(d), cr = dataset_chunk_rows(d), nu = dataset_n_users(d);
    uint8_t *sp = malloc((size_t)cr);
    int32_t *us = malloc((size_t)cr * sizeof *us);
    dmmp_status s = sp && us ? DMMP_OK : dmmp_fail(DMMP_ENOMEM, "query rows: out of memory");
    for (int64_t start = 0; s == DMMP_OK && start < n; start += cr) {
        int64_t m = n - start < cr ? n - start : cr;
        s = dataset_read_split(d, start, m, sp);
        if (s == DMMP_OK) s = dataset_read_i32(d, "/samples/user", start, m, us);
        for (int64_t i = 0; s == DMMP_OK && i < m; i++) {
            if (sp[i] != split) continue;
            if (us[i] < 0 || us[i] >= nu)
                s = dmmp_fail(DMMP_EFORMAT, "%s: /samples/user row %lld is %d, outside 0..%lld", dataset_path(d),
                              (long long)(start + i), us[i], (long long)nu - 1);
            else
                mark[us[i]] = 1;
        }
    }
    free(sp);
    free(us);
    return s;
}

static dmmp_status fill_queries(const dataset *d, batch *out, const uint8_t *mark)
{
    int64_t nu = dataset_n_users(d);
    batch_side *us = &out->side[SIDE_USER], *cs = &out->side[SIDE_CONTEXT];
    int32_t *table = malloc((size_t)(nu ? nu : 1) * (size_t)(us->n_fields ? us->n_fields : 1) * sizeof *table);
    if (!table) return dmmp_fail(DMMP_ENOMEM, "query rows: out of memory");
    dmmp_status s = us->n_fields ? dataset_read_users(d, table) : DMMP_OK;
    for (int64_t u = 0, q = 0; s == DMMP_OK && u < nu; u++) {
        if (!mark[u]) continue;
        out->user[q] = (int32_t)u;
        out->row[q] = -1;
        memcpy(us->ids + q * us->n_fields, table + u * us->n_fields, (size_t)us->n_fields * sizeof *table);
        for (int c = 0; c < cs->n_fields; c++) cs->ids[q * cs->n_fields + c] = dataset_default_id(d, cs->fields[c]);
        q++;
    }
    free(table);
    for (int m = 0; s == DMMP_OK && m < out->n_multi; m++) {
        batch_multi *bm = &out->multi[m];
        if (bm->side != SIDE_USER) continue; /* other sides: empty bags */
        int64_t *off;
        int32_t *idx;
        float *wt;
        s = dataset_read_users_multi(d, bm->field, &off, &idx, &wt);
        if (s != DMMP_OK) break;
        int64_t nnz = 0;
        for (int q = 0; q < out->n; q++) nnz += off[out->user[q] + 1] - off[out->user[q]];
        bm->indices = malloc((size_t)(nnz ? nnz : 1) * sizeof *bm->indices);
        bm->weights = malloc((size_t)(nnz ? nnz : 1) * sizeof *bm->weights);
        if (!bm->indices || !bm->weights) s = dmmp_fail(DMMP_ENOMEM, "query rows: out of memory");
        for (int q = 0; s == DMMP_OK && q < out->n; q++) {
            int64_t lo = off[out->user[q]], len = off[out->user[q] + 1] - lo, at = bm->offsets[q];
            memcpy(bm->indices + at, idx + lo, (size_t)len * sizeof *idx);
            memcpy(bm->weights + at, wt + lo, (size_t)len * sizeof *wt);
            bm->offsets[q + 1] = at + len;
        }
        free(off);
        free(idx);
        free(wt);
    }
    return s;
}

dmmp_status batch_query_rows(const dataset *d, data_split split, batch *out)
{
    memset(out, 0, sizeof *out);
    int64_t nu = dataset_n_users(d), nq = 0;
    int32_t first;
    DMMP_TRY(dataset_first_entity(d, SIDE_USER, &first));
    uint8_t *mark = calloc((size_t)(nu ? nu : 1), 1);
    if (!mark) return dmmp_fail(DMMP_ENOMEM, "query rows: out of memory");
    dmmp_status s = users_in_split(d, split, mark);
    if (first > 0 && nu > 0) mark[0] = 0; /* the unknown user stands for every user unseen in training: not a query */
    for (int64_t u = 0; u < nu; u++) nq += mark[u];
    if (s == DMMP_OK) s = batch_alloc(d, out, (int)nq);
    if (s == DMMP_OK) {
        out->side[SIDE_ITEM].n_fields = out->side[SIDE_CROSS].n_fields = 0;
        out->n = (int)nq;
        s = fill_queries(d, out, mark);
    }
    free(mark);
    if (s != DMMP_OK) batch_free(out);
    return s;
}
