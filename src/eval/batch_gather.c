#include "eval/batch_gather.h"

#include <stdlib.h>
#include <string.h>

/* Ensures a multi field of dst holds room for nnz ids (malloc'ed, as batch_free expects). */
static dmmp_status reserve_bag(batch_multi *m, int64_t nnz)
{
    size_t want = (size_t)(nnz > 0 ? nnz : 1);
    int32_t *idx = realloc(m->indices, want * sizeof *idx);
    if (idx) m->indices = idx;
    float *w = idx ? realloc(m->weights, want * sizeof *w) : NULL;
    if (w) m->weights = w;
    if (!idx || !w) return dmmp_fail(DMMP_ENOMEM, "batch gather: out of memory for %lld bag ids", (long long)nnz);
    return DMMP_OK;
}

/* Row i of the selection: rows[i], or start + i when rows is NULL. */
static int64_t row_at(const int64_t *rows, int64_t start, int i) { return rows ? rows[i] : start + i; }

static dmmp_status gather(batch *dst, const batch *src, const int64_t *rows, int64_t start, int n)
{
    if (n < 0 || dst->n_multi != src->n_multi || dst->n_dense != src->n_dense)
        return dmmp_fail(DMMP_EINVAL, "batch gather: %d rows between batches of different layouts", n);
    for (int i = 0; i < n; i++) {
        int64_t r = row_at(rows, start, i);
        if (r < 0 || r >= src->n)
            return dmmp_fail(DMMP_EINVAL, "batch gather: row %lld outside the source's %d rows", (long long)r, src->n);
    }
    dst->n = n;
    for (int i = 0; i < n; i++) {
        int64_t r = row_at(rows, start, i);
        dst->click[i] = src->click ? src->click[r] : 0;
        dst->conversion[i] = src->conversion ? src->conversion[r] : 0;
        dst->user[i] = src->user ? src->user[r] : 0;
        dst->item[i] = src->item ? src->item[r] : 0;
        dst->row[i] = src->row ? src->row[r] : -1;
    }
    /* batch_alloc sized dst's id matrices for every column of a side, so a
     * source with the same or fewer columns (none for the corpus) fits. */
    for (int s = 0; s < 4; s++) {
        const batch_side *ss = &src->side[s];
        batch_side *ds = &dst->side[s];
        ds->n_fields = ss->n_fields;
        if (ss->n_fields == 0) continue;
        for (int i = 0; i < n; i++)
            memcpy(ds->ids + (size_t)i * ss->n_fields, ss->ids + (size_t)row_at(rows, start, i) * ss->n_fields,
                   (size_t)ss->n_fields * sizeof(int32_t));
    }
    for (int k = 0; k < src->n_multi; k++) {
        const batch_multi *sm = &src->multi[k];
        batch_multi *dm = &dst->multi[k];
        int64_t nnz = 0;
        for (int i = 0; i < n; i++) {
            int64_t r = row_at(rows, start, i);
            nnz += sm->offsets[r + 1] - sm->offsets[r];
        }
        DMMP_TRY(reserve_bag(dm, nnz));
        dm->offsets[0] = 0;
        for (int i = 0; i < n; i++) {
            int64_t r = row_at(rows, start, i);
            int64_t lo = sm->offsets[r], len = sm->offsets[r + 1] - lo, at = dm->offsets[i];
            if (len > 0) {
                memcpy(dm->indices + at, sm->indices + lo, (size_t)len * sizeof(int32_t));
                if (sm->weights)
                    memcpy(dm->weights + at, sm->weights + lo, (size_t)len * sizeof(float));
                else
                    for (int64_t p = 0; p < len; p++) dm->weights[at + p] = 1.0f;
            }
            dm->offsets[i + 1] = at + len;
        }
    }
    if (src->n_dense > 0) {
        for (int i = 0; i < n; i++)
            if (src->dense)
                memcpy(dst->dense + (size_t)i * src->n_dense, src->dense + (size_t)row_at(rows, start, i) * src->n_dense,
                       (size_t)src->n_dense * sizeof(float));
            else
                memset(dst->dense + (size_t)i * src->n_dense, 0, (size_t)src->n_dense * sizeof(float));
    }
    return DMMP_OK;
}

dmmp_status batch_gather(batch *dst, const batch *src, const int64_t *rows, int n)
{
    return gather(dst, src, rows, 0, n);
}

dmmp_status batch_slice(batch *dst, const batch *src, int64_t start, int n)
{
    return gather(dst, src, NULL, start, n);
}
