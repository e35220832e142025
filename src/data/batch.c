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

dmmp_status batch_item_corpus(const dataset *d, batch *out)
{
    int64_t n = dataset_n_items(d);
    DMMP_TRY(batch_alloc(d, out, (int)n));
    for (int s = 0; s < 4; s++)
        if (s != SIDE_ITEM) out->side[s].n_fields = 0;
    out->n = (int)n;
    for (int64_t i = 0; i < n; i++) {
        out->item[i] = (int32_t)i;
        out->row[i] = -1;
    }
    dmmp_status s = out->side[SIDE_ITEM].n_fields ? dataset_read_items(d, out->side[SIDE_ITEM].ids) : DMMP_OK;
    if (s != DMMP_OK) batch_free(out);
    return s;
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
    uint8_t *mark = calloc((size_t)(nu ? nu : 1), 1);
    if (!mark) return dmmp_fail(DMMP_ENOMEM, "query rows: out of memory");
    dmmp_status s = users_in_split(d, split, mark);
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
