/* One pass per column; the first bad value is reported with its file row
 * (block start + row), which is what a user can look up with h5dump. */
#include "data/dataset_check.h"

#include <math.h>
#include <stdio.h>

static dmmp_status bad_id(const dataset *d, const char *path, int64_t row, const char *field, int64_t id,
                          int64_t limit)
{
    return dmmp_fail(DMMP_EFORMAT, "%s: %s row %lld, field '%s': id %lld is outside the vocabulary [0, %lld)",
                     dataset_path(d), path, (long long)row, field, (long long)id, (long long)limit);
}

static dmmp_status check_labels(const dataset *d, const dataset_block *b)
{
    for (int64_t i = 0; i < b->n; i++) {
        int64_t row = b->start + i;
        if (b->click[i] > 1 || b->conversion[i] > 1)
            return dmmp_fail(DMMP_EFORMAT, "%s: /samples/%s row %lld is %d (expected 0 or 1)", dataset_path(d),
                             b->click[i] > 1 ? "click" : "conversion", (long long)row,
                             b->click[i] > 1 ? b->click[i] : b->conversion[i]);
        if (b->conversion[i] && !b->click[i])
            return dmmp_fail(DMMP_EFORMAT, "%s: /samples row %lld has a conversion without a click", dataset_path(d),
                             (long long)row);
        if (b->split[i] > SPLIT_TEST)
            return dmmp_fail(DMMP_EFORMAT, "%s: /samples/split row %lld is %d (expected 0 train, 1 val, 2 test)",
                             dataset_path(d), (long long)row, b->split[i]);
        if (b->user[i] < 0 || b->user[i] >= dataset_n_users(d))
            return dmmp_fail(DMMP_EFORMAT, "%s: /samples/user row %lld is %d, outside [0, %lld)", dataset_path(d),
                             (long long)row, b->user[i], (long long)dataset_n_users(d));
        if (b->item[i] < 0 || b->item[i] >= dataset_n_items(d))
            return dmmp_fail(DMMP_EFORMAT, "%s: /samples/item row %lld is %d, outside [0, %lld)", dataset_path(d),
                             (long long)row, b->item[i], (long long)dataset_n_items(d));
    }
    return DMMP_OK;
}

static dmmp_status check_sparse(const dataset *d, const dataset_block *b)
{
    const dataset_schema *sc = dataset_get_schema(d);
    int width = dataset_n_single(d);
    for (int f = 0; f < sc->n_fields; f++) {
        int c = dataset_single_column(d, f);
        if (c < 0) continue;
        int64_t limit = sc->fields[f].vocab_size;
        for (int64_t i = 0; i < b->n; i++) {
            int32_t id = b->sparse[i * width + c];
            if (id < 0 || id >= limit) return bad_id(d, "/samples/sparse", b->start + i, sc->fields[f].name, id, limit);
        }
    }
    return DMMP_OK;
}

static dmmp_status check_dense(const dataset *d, const dataset_block *b)
{
    const dataset_schema *sc = dataset_get_schema(d);
    int width = sc->n_dense;
    for (int64_t i = 0; i < b->n; i++)
        for (int k = 0; k < width; k++) {
            float v = b->dense[i * width + k];
            if (!isfinite(v))
                return dmmp_fail(DMMP_EFORMAT, "%s: /samples/dense row %lld, column '%s': %g is not finite",
                                 dataset_path(d), (long long)(b->start + i), sc->dense_names[k], (double)v);
        }
    return DMMP_OK;
}

dmmp_status dataset_check_csr(const dataset *d, int field, const char *path_prefix, const int64_t *offsets,
                              const int32_t *indices, const float *weights, int64_t n_rows, int64_t first_row)
{
    const dataset_field *fd = &dataset_get_schema(d)->fields[field];
    if (offsets[0] != 0)
        return dmmp_fail(DMMP_EFORMAT, "%s: %s/offsets row %lld is %lld (expected 0)", dataset_path(d), path_prefix,
                         (long long)first_row, (long long)offsets[0]);
    for (int64_t i = 0; i < n_rows; i++) {
        if (offsets[i + 1] < offsets[i])
            return dmmp_fail(DMMP_EFORMAT, "%s: %s/offsets decrease at row %lld", dataset_path(d), path_prefix,
                             (long long)(first_row + i));
        for (int64_t k = offsets[i]; k < offsets[i + 1]; k++) {
            if (indices[k] < 0 || indices[k] >= fd->vocab_size) {
                char where[300];
                snprintf(where, sizeof where, "%s/indices", path_prefix);
                return bad_id(d, where, first_row + i, fd->name, indices[k], fd->vocab_size);
            }
            if (!isfinite(weights[k]))
                return dmmp_fail(DMMP_EFORMAT, "%s: %s/weights row %lld, field '%s': %g is not finite",
                                 dataset_path(d), path_prefix, (long long)(first_row + i), fd->name,
                                 (double)weights[k]);
        }
    }
    return DMMP_OK;
}

dmmp_status dataset_check_block(const dataset *d, const dataset_block *b)
{
    DMMP_TRY(check_labels(d, b));
    if (dataset_n_single(d) > 0) DMMP_TRY(check_sparse(d, b));
    if (dataset_get_schema(d)->n_dense > 0) DMMP_TRY(check_dense(d, b));
    for (int k = 0; k < b->n_multi; k++) {
        int f = dataset_multi_field(d, k);
        char prefix[300];
        snprintf(prefix, sizeof prefix, "/samples/multi/%s", dataset_get_schema(d)->fields[f].name);
        DMMP_TRY(dataset_check_csr(d, f, prefix, b->multi_offsets[k], b->multi_indices[k], b->multi_weights[k], b->n,
                                   b->start));
    }
    return DMMP_OK;
}

dmmp_status dataset_check_side_table(const dataset *d, field_side side, const char *path, const int32_t *table,
                                     int64_t n_rows)
{
    const dataset_schema *sc = dataset_get_schema(d);
    int fields[256];
    int width = dataset_side_fields(d, side, NULL);
    if (width > (int)(sizeof fields / sizeof fields[0]))
        return dmmp_fail(DMMP_EFORMAT, "%s: %d fields on one side, at most 256", dataset_path(d), width);
    dataset_side_fields(d, side, fields);
    for (int64_t r = 0; r < n_rows; r++)
        for (int c = 0; c < width; c++) {
            const dataset_field *fd = &sc->fields[fields[c]];
            int32_t id = table[r * width + c];
            if (id < 0 || id >= fd->vocab_size) return bad_id(d, path, r, fd->name, id, fd->vocab_size);
        }
    return DMMP_OK;
}
