#include "data/pair_batch.h"

#include <stdlib.h>
#include <string.h>

dmmp_status pair_batch_init(pair_batch *p, const dataset *d, int max_impressions, int ratio)
{
    memset(p, 0, sizeof *p);
    if (max_impressions < 1 || ratio < 1)
        return dmmp_fail(DMMP_EINVAL, "pair batch: %d impressions with %d pairs each", max_impressions, ratio);
    p->max_rows = max_impressions * (1 + ratio);
    DMMP_TRY(dataset_first_entity(d, SIDE_ITEM, &p->first_item));
    dmmp_status s = batch_item_corpus(d, &p->corpus);
    if (s == DMMP_OK) s = batch_alloc(d, &p->rows, p->max_rows);
    if (s != DMMP_OK) pair_batch_free(p);
    return s;
}

/* Room for nnz bag entries in one multi-valued field of the rows. */
static dmmp_status reserve_bag(batch_multi *m, int64_t nnz)
{
    size_t n = (size_t)(nnz > 0 ? nnz : 1);
    int32_t *idx = realloc(m->indices, n * sizeof *idx);
    if (idx) m->indices = idx;
    float *w = idx ? realloc(m->weights, n * sizeof *w) : NULL;
    if (w) m->weights = w;
    if (!idx || !w) return dmmp_fail(DMMP_ENOMEM, "pair batch: out of memory for %lld bag ids", (long long)nnz);
    return DMMP_OK;
}

/* Row i's bag source: the impression itself, the pair's impression (user
 * and context sides), its item's corpus row (item side), or none (cross). */
static const batch_multi *bag_source(const pair_batch *p, const batch *imp, int k, int i, int ratio, int64_t *src_row)
{
    int n = imp->n;
    if (i < n) {
        *src_row = i;
        return &imp->multi[k];
    }
    field_side side = p->rows.multi[k].side;
    if (side == SIDE_USER || side == SIDE_CONTEXT) {
        *src_row = (i - n) / ratio;
        return &imp->multi[k];
    }
    if (side == SIDE_ITEM) {
        *src_row = p->rows.item[i] - p->first_item;
        return &p->corpus.multi[k];
    }
    return NULL;
}

dmmp_status pair_batch_fill(pair_batch *p, const batch *imp, const int32_t *items, int ratio)
{
    int n = imp->n, total = n * (1 + ratio);
    if (n < 1 || total > p->max_rows)
        return dmmp_fail(DMMP_EINVAL, "pair batch: %d impressions with %d pairs each do not fit %d rows", n, ratio,
                         p->max_rows);
    batch *o = &p->rows;
    o->n = total;
    for (int i = 0; i < n * ratio; i++) {
        int32_t it = items[i];
        if (it < p->first_item || it - p->first_item >= p->corpus.n)
            return dmmp_fail(DMMP_EINVAL, "pair batch: sampled item %d is not in the corpus (items %d..%d)", (int)it,
                             (int)p->first_item, (int)(p->first_item + p->corpus.n - 1));
    }
    memcpy(o->click, imp->click, (size_t)n);
    memcpy(o->conversion, imp->conversion, (size_t)n);
    memset(o->click + n, 0, (size_t)(total - n));
    memset(o->conversion + n, 0, (size_t)(total - n));
    memcpy(o->user, imp->user, (size_t)n * sizeof *o->user);
    memcpy(o->item, imp->item, (size_t)n * sizeof *o->item);
    memcpy(o->row, imp->row, (size_t)n * sizeof *o->row);
    for (int i = n; i < total; i++) {
        int b = (i - n) / ratio;
        o->user[i] = imp->user[b];
        o->item[i] = items[i - n];
        o->row[i] = -1;
    }
    for (int side = 0; side < 4; side++) {
        batch_side *os = &o->side[side];
        size_t w = (size_t)os->n_fields;
        if (!w) continue;
        if (imp->side[side].n_fields != os->n_fields)
            return dmmp_fail(DMMP_EINVAL, "pair batch: the impressions have %d columns of side %d, the dataset %d",
                             imp->side[side].n_fields, side, os->n_fields);
        memcpy(os->ids, imp->side[side].ids, (size_t)n * w * sizeof *os->ids);
        for (int i = n; i < total; i++) {
            int32_t *dst = os->ids + (size_t)i * w;
            if (side == SIDE_CROSS) memset(dst, 0, w * sizeof *dst);
            else if (side == SIDE_ITEM)
                memcpy(dst, p->corpus.side[side].ids + (size_t)(o->item[i] - p->first_item) * w, w * sizeof *dst);
            else
                memcpy(dst, imp->side[side].ids + (size_t)((i - n) / ratio) * w, w * sizeof *dst);
        }
    }
    for (int k = 0; k < o->n_multi; k++) {
        batch_multi *om = &o->multi[k];
        int64_t nnz = 0, src;
        for (int i = 0; i < total; i++) {
            const batch_multi *sm = bag_source(p, imp, k, i, ratio, &src);
            if (sm) nnz += sm->offsets[src + 1] - sm->offsets[src];
        }
        DMMP_TRY(reserve_bag(om, nnz));
        om->offsets[0] = 0;
        for (int i = 0; i < total; i++) {
            const batch_multi *sm = bag_source(p, imp, k, i, ratio, &src);
            int64_t at = om->offsets[i], lo = sm ? sm->offsets[src] : 0, len = sm ? sm->offsets[src + 1] - lo : 0;
            if (len > 0) {
                memcpy(om->indices + at, sm->indices + lo, (size_t)len * sizeof *om->indices);
                for (int64_t t = 0; t < len; t++) om->weights[at + t] = sm->weights ? sm->weights[lo + t] : 1.0f;
            }
            om->offsets[i + 1] = at + len;
        }
    }
    if (o->n_dense > 0) {
        memcpy(o->dense, imp->dense, (size_t)n * (size_t)o->n_dense * sizeof *o->dense);
        memset(o->dense + (size_t)n * (size_t)o->n_dense, 0, (size_t)(total - n) * (size_t)o->n_dense * sizeof *o->dense);
    }
    return DMMP_OK;
}

void pair_batch_free(pair_batch *p)
{
    batch_free(&p->rows);
    batch_free(&p->corpus);
    memset(p, 0, sizeof *p);
}
