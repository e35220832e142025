/* The streaming HDF5 dataset writer (format_version 1; README: Data).
 *
 * Every /samples dataset is an h5_column: extendible, chunked, shuffle +
 * deflate, written a whole chunk at a time. The writer validates each block
 * as it arrives (labels, split, non-negative ids, CSR offsets) and tracks the
 * largest id per field so commit can check them against the final vocabulary
 * sizes. It also counts rows, clicks and conversions per split (stored as
 * attributes of /samples so readers get the statistics without a scan) and
 * the most frequent training id of each context field (/fields/default_id:
 * the context retrieval queries use). Chunks are shuffled and deflated by a
 * chunk_pool on worker threads while the caller prepares the next block;
 * every direct HDF5 write here drains the pool first, which keeps the file's
 * bytes independent of the thread count. */
#include "data/h5_integrity.h"
#include "data/dataset_writer.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "config.h"
#include "core/atomic_file.h"
#include "core/mem.h"
#include "data/chunk_pool.h"
#include "data/h5_column.h"

/* Context ids above this are not counted for the default (context fields are
 * small: positions, scenarios). */
#define CONTEXT_COUNT_CAP (1 << 20)
#define MULTI_CHUNK_ELEMS 65536

typedef struct multi_column {
    int field;
    h5_column offsets, indices, weights;
    int64_t nnz;
    int32_t max_id;
} multi_column;

struct dataset_writer {
    char path[4096];
    char tmp_path[4200];
    char name[DATASET_NAME_LEN * 4];
    char source[DATASET_NAME_LEN * 4];
    hid_t file;
    chunk_pool *pool;
    dataset_schema schema; /* deep copy */
    int n_single, n_multi;
    int *single_col;       /* per field: column in /samples/sparse or -1 */
    int *multi_col;        /* per field: index into multi or -1 */
    int32_t *max_id;       /* per single column */
    h5_column click, conversion, split, user, item, sparse, dense;
    multi_column *multi;
    int64_t n_samples;
    int64_t split_rows[3], split_clicks[3], split_conversions[3];
    int32_t max_user, max_item;
    int64_t n_users, n_items; /* -1 until write_users / write_items */
    int64_t **context_counts; /* per single column: counts by id for context fields, else NULL */
    int64_t *context_cap;
    int64_t *scratch;
    int64_t scratch_len;
};

static void writer_free(dataset_writer *w)
{
    if (!w) return;
    chunk_pool_free(w->pool);
    for (int c = 0; c < w->n_single; c++) free(w->context_counts ? w->context_counts[c] : NULL);
    free(w->context_counts);
    free(w->context_cap);
    free(w->multi);
    free(w->single_col);
    free(w->multi_col);
    free(w->max_id);
    free(w->schema.fields);
    free(w->schema.dense_names);
    free(w->scratch);
    free(w);
}

static void close_columns(dataset_writer *w)
{
    h5_column *cols[] = {&w->click, &w->conversion, &w->split, &w->user, &w->item, &w->sparse, &w->dense};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) h5_column_discard(cols[i]);
    for (int k = 0; k < w->n_multi && w->multi; k++) {
        h5_column_discard(&w->multi[k].offsets);
        h5_column_discard(&w->multi[k].indices);
        h5_column_discard(&w->multi[k].weights);
    }
}

void dataset_writer_abort(dataset_writer *w)
{
    if (!w) return;
    close_columns(w);
    if (w->file >= 0) H5Fclose(w->file);
    w->file = H5I_INVALID_HID;
    if (w->tmp_path[0]) atomic_discard(w->tmp_path);
    writer_free(w);
}

static dmmp_status copy_schema(dataset_writer *w, const dataset_schema *schema)
{
    if (!schema || schema->n_fields < 0 || schema->n_dense < 0 || (schema->n_fields > 0 && !schema->fields) ||
        (schema->n_dense > 0 && !schema->dense_names))
        return dmmp_fail(DMMP_EINVAL, "dataset schema: missing fields or dense names");
    int n = schema->n_fields;
    w->schema.n_fields = n;
    w->schema.n_dense = schema->n_dense;
    w->schema.fields = calloc((size_t)(n ? n : 1), sizeof *w->schema.fields);
    w->schema.dense_names = calloc((size_t)(schema->n_dense ? schema->n_dense : 1), DATASET_NAME_LEN);
    w->single_col = calloc((size_t)(n ? n : 1), sizeof(int));
    w->multi_col = calloc((size_t)(n ? n : 1), sizeof(int));
    if (!w->schema.fields || !w->schema.dense_names || !w->single_col || !w->multi_col)
        return dmmp_fail(DMMP_ENOMEM, "dataset schema: out of memory");
    if (n) memcpy(w->schema.fields, schema->fields, (size_t)n * sizeof *w->schema.fields);
    if (schema->n_dense) memcpy(w->schema.dense_names, schema->dense_names, (size_t)schema->n_dense * DATASET_NAME_LEN);
    for (int f = 0; f < n; f++) {
        dataset_field *fd = &w->schema.fields[f];
        fd->name[DATASET_NAME_LEN - 1] = '\0';
        if (!fd->name[0] || strchr(fd->name, '/') || strchr(fd->name, '.') == fd->name)
            return dmmp_fail(DMMP_EINVAL, "dataset schema: field %d has an empty or invalid name '%s'", f, fd->name);
        for (int g = 0; g < f; g++)
            if (!strcmp(w->schema.fields[g].name, fd->name))
                return dmmp_fail(DMMP_EINVAL, "dataset schema: field name '%s' appears twice", fd->name);
        if ((int)fd->side < SIDE_USER || (int)fd->side > SIDE_CROSS)
            return dmmp_fail(DMMP_EINVAL, "dataset schema: field '%s' has side %d (expected 0..3)", fd->name,
                             (int)fd->side);
        if (fd->multi) {
            w->multi_col[f] = w->n_multi++;
            w->single_col[f] = -1;
        } else {
            w->single_col[f] = w->n_single++;
            w->multi_col[f] = -1;
        }
    }
    for (int d = 0; d < schema->n_dense; d++) w->schema.dense_names[d][DATASET_NAME_LEN - 1] = '\0';
    return DMMP_OK;
}

static dmmp_status create_columns(dataset_writer *w, const dataset_writer_options *o)
{
    hid_t samples, multi_grp = H5I_INVALID_HID;
    DMMP_TRY(h5_create_group(w->file, "samples", &samples));
    dmmp_status s = DMMP_OK;
    int64_t cr = o->chunk_rows;
    int z = o->deflate;
#define TRY_COL(expr)               \
    do {                            \
        s = (expr);                 \
        if (s != DMMP_OK) goto out; \
    } while (0)
#define POOLED(col) h5_column_use_pool((col), w->pool)
    TRY_COL(h5_column_create(&w->click, samples, "click", H5T_NATIVE_UINT8, 0, cr, z));
    POOLED(&w->click);
    TRY_COL(h5_column_create(&w->conversion, samples, "conversion", H5T_NATIVE_UINT8, 0, cr, z));
    POOLED(&w->conversion);
    TRY_COL(h5_column_create(&w->split, samples, "split", H5T_NATIVE_UINT8, 0, cr, z));
    POOLED(&w->split);
    TRY_COL(h5_column_create(&w->user, samples, "user", H5T_NATIVE_INT32, 0, cr, z));
    POOLED(&w->user);
    TRY_COL(h5_column_create(&w->item, samples, "item", H5T_NATIVE_INT32, 0, cr, z));
    POOLED(&w->item);
    if (w->n_single > 0) {
        TRY_COL(h5_column_create(&w->sparse, samples, "sparse", H5T_NATIVE_INT32, w->n_single, cr, z));
        POOLED(&w->sparse);
    }
    if (w->schema.n_dense > 0) {
        TRY_COL(h5_column_create(&w->dense, samples, "dense", H5T_NATIVE_FLOAT, w->schema.n_dense, cr, z));
        POOLED(&w->dense);
    }
    if (w->n_multi > 0) {
        w->multi = calloc((size_t)w->n_multi, sizeof *w->multi);
        if (!w->multi) {
            s = dmmp_fail(DMMP_ENOMEM, "dataset writer: out of memory");
            goto out;
        }
        TRY_COL(h5_create_group(samples, "multi", &multi_grp));
        for (int f = 0, k = 0; f < w->schema.n_fields; f++) {
            if (w->multi_col[f] < 0) continue;
            multi_column *m = &w->multi[k++];
            hid_t g;
            m->field = f;
            TRY_COL(h5_create_group(multi_grp, w->schema.fields[f].name, &g));
            s = h5_column_create(&m->offsets, g, "offsets", H5T_NATIVE_INT64, 0, cr, z);
            if (s == DMMP_OK) s = h5_column_create(&m->indices, g, "indices", H5T_NATIVE_INT32, 0, MULTI_CHUNK_ELEMS, z);
            if (s == DMMP_OK) s = h5_column_create(&m->weights, g, "weights", H5T_NATIVE_FLOAT, 0, MULTI_CHUNK_ELEMS, z);
            H5Gclose(g);
            if (s != DMMP_OK) goto out;
            POOLED(&m->offsets);
            POOLED(&m->indices);
            POOLED(&m->weights);
            int64_t zero = 0;
            TRY_COL(h5_column_append(&m->offsets, &zero, 1));
        }
    }
#undef POOLED
#undef TRY_COL
out:
    if (multi_grp >= 0) H5Gclose(multi_grp);
    H5Gclose(samples);
    return s;
}

dmmp_status dataset_writer_open_opts(dataset_writer **out, const char *path, const dataset_schema *schema,
                                     const char *name, const char *source, const dataset_writer_options *opts)
{
    *out = NULL;
    dataset_writer_options o = {DATASET_DEFAULT_CHUNK_ROWS, DATASET_DEFAULT_DEFLATE};
    if (opts) o = *opts;
    if (o.chunk_rows < 1 || o.deflate < 0 || o.deflate > 9)
        return dmmp_fail(DMMP_EINVAL, "dataset writer: chunk_rows %lld must be >= 1 and deflate %d in 0..9",
                         (long long)o.chunk_rows, o.deflate);
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    if (!path || !*path || strlen(path) >= 4096) return dmmp_fail(DMMP_EINVAL, "dataset writer: bad output path");
    dataset_writer *w = calloc(1, sizeof *w);
    if (!w) return dmmp_fail(DMMP_ENOMEM, "dataset writer: out of memory");
    w->file = H5I_INVALID_HID;
    w->n_users = w->n_items = -1;
    w->max_user = w->max_item = -1;
    snprintf(w->path, sizeof w->path, "%s", path);
    snprintf(w->name, sizeof w->name, "%s", name ? name : "");
    snprintf(w->source, sizeof w->source, "%s", source ? source : "");
    dmmp_status s = copy_schema(w, schema);
    if (s != DMMP_OK) {
        writer_free(w);
        return s;
    }
    w->max_id = calloc((size_t)(w->n_single ? w->n_single : 1), sizeof *w->max_id);
    w->context_counts = calloc((size_t)(w->n_single ? w->n_single : 1), sizeof *w->context_counts);
    w->context_cap = calloc((size_t)(w->n_single ? w->n_single : 1), sizeof *w->context_cap);
    if (!w->max_id || !w->context_counts || !w->context_cap) {
        writer_free(w);
        return dmmp_fail(DMMP_ENOMEM, "dataset writer: out of memory");
    }
    /* A writer killed earlier (SIGKILL, power loss) left its temporary of
     * this path behind: remove it before adding ours. */
    s = atomic_clean_stale(path, NULL);
    if (s == DMMP_OK) s = atomic_tmp_path(path, w->tmp_path, sizeof w->tmp_path);
    if (s != DMMP_OK) {
        w->tmp_path[0] = '\0';
        writer_free(w);
        return s;
    }
    /* Quiet HDF5's own error stack printing: our messages name the object. */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_obj_track_times(fcpl, 0);
    hid_t fapl = h5_fapl_checksummed(); /* checksummed metadata */
    w->file = fapl >= 0 ? H5Fcreate(w->tmp_path, H5F_ACC_EXCL, fcpl, fapl) : H5I_INVALID_HID;
    if (fapl >= 0) H5Pclose(fapl);
    H5Pclose(fcpl);
    if (w->file < 0) {
        s = dmmp_fail(DMMP_EIO, "%s: cannot create the temporary file (directory missing or not writable?)",
                      w->tmp_path);
        writer_free(w);
        return s;
    }
    s = chunk_pool_create(&w->pool, threads);
    if (s == DMMP_OK) s = create_columns(w, &o);
    if (s != DMMP_OK) {
        dmmp_fail_prefix(s, "%s", path);
        dataset_writer_abort(w);
        return s;
    }
    *out = w;
    return DMMP_OK;
}

dmmp_status dataset_writer_open(dataset_writer **out, const char *path, const dataset_schema *schema,
                                const char *name, const char *source)
{
    return dataset_writer_open_opts(out, path, schema, name, source, NULL);
}

static dmmp_status count_context(dataset_writer *w, int col, int32_t id)
{
    if (id >= CONTEXT_COUNT_CAP) return DMMP_OK;
    if (id >= w->context_cap[col]) {
        int64_t cap = w->context_cap[col] ? w->context_cap[col] : 64;
        while (cap <= id) cap *= 2;
        int64_t *grown = realloc(w->context_counts[col], (size_t)cap * sizeof *grown);
        if (!grown) return dmmp_fail(DMMP_ENOMEM, "dataset writer: out of memory");
        memset(grown + w->context_cap[col], 0, (size_t)(cap - w->context_cap[col]) * sizeof *grown);
        w->context_counts[col] = grown;
        w->context_cap[col] = cap;
    }
    w->context_counts[col][id]++;
    return DMMP_OK;
}

static dmmp_status check_rows(dataset_writer *w, const dataset_rows *r)
{
    if (r->n < 0) return dmmp_fail(DMMP_EINVAL, "dataset writer: negative row count %lld", (long long)r->n);
    if (r->n == 0) return DMMP_OK;
    if (!r->click || !r->conversion || !r->split || !r->user || !r->item || (w->n_single && !r->sparse) ||
        (w->schema.n_dense && !r->dense) ||
        (w->n_multi && (!r->multi_offsets || !r->multi_indices || !r->multi_weights)))
        return dmmp_fail(DMMP_EINVAL, "dataset writer: a required array of the row block is NULL");
    for (int64_t i = 0; i < r->n; i++) {
        int64_t row = w->n_samples + i;
        if (r->click[i] > 1 || r->conversion[i] > 1)
            return dmmp_fail(DMMP_EINVAL, "row %lld: click %u / conversion %u must be 0 or 1", (long long)row,
                             r->click[i], r->conversion[i]);
        if (r->conversion[i] && !r->click[i])
            return dmmp_fail(DMMP_EINVAL, "row %lld: a conversion without a click", (long long)row);
        if (r->split[i] > SPLIT_TEST)
            return dmmp_fail(DMMP_EINVAL, "row %lld: split %u (expected 0 train, 1 val, 2 test)", (long long)row,
                             r->split[i]);
        if (r->user[i] < 0 || r->item[i] < 0)
            return dmmp_fail(DMMP_EINVAL, "row %lld: negative user %d or item %d index", (long long)row, r->user[i],
                             r->item[i]);
        if (r->user[i] > w->max_user) w->max_user = r->user[i];
        if (r->item[i] > w->max_item) w->max_item = r->item[i];
        w->split_rows[r->split[i]]++;
        w->split_clicks[r->split[i]] += r->click[i];
        w->split_conversions[r->split[i]] += r->conversion[i];
    }
    for (int f = 0; f < w->schema.n_fields; f++) {
        const dataset_field *fd = &w->schema.fields[f];
        int c = w->single_col[f];
        if (c >= 0) {
            int counted = fd->side == SIDE_CONTEXT;
            for (int64_t i = 0; i < r->n; i++) {
                int32_t id = r->sparse[i * w->n_single + c];
                if (id < 0)
                    return dmmp_fail(DMMP_EINVAL, "row %lld, field '%s': negative id %d",
                                     (long long)(w->n_samples + i), fd->name, id);
                if (id > w->max_id[c]) w->max_id[c] = id;
                if (counted && r->split[i] == SPLIT_TRAIN) DMMP_TRY(count_context(w, c, id));
            }
            continue;
        }
        int k = w->multi_col[f];
        const int64_t *off = r->multi_offsets[k];
        const int32_t *idx = r->multi_indices[k];
        if (!off || (off[r->n] > 0 && (!idx || !r->multi_weights[k])))
            return dmmp_fail(DMMP_EINVAL, "field '%s': multi-valued arrays are NULL", fd->name);
        if (off[0] != 0)
            return dmmp_fail(DMMP_EINVAL, "field '%s': block offsets start at %lld, expected 0", fd->name,
                             (long long)off[0]);
        for (int64_t i = 0; i < r->n; i++)
            if (off[i + 1] < off[i])
                return dmmp_fail(DMMP_EINVAL, "row %lld, field '%s': offsets decrease", (long long)(w->n_samples + i),
                                 fd->name);
        for (int64_t j = 0; j < off[r->n]; j++) {
            if (idx[j] < 0) return dmmp_fail(DMMP_EINVAL, "field '%s': negative id %d", fd->name, idx[j]);
            if (idx[j] > w->multi[k].max_id) w->multi[k].max_id = idx[j];
        }
    }
    return DMMP_OK;
}

dmmp_status dataset_writer_append(dataset_writer *w, const dataset_rows *rows)
{
    DMMP_TRY(check_rows(w, rows));
    int64_t n = rows->n;
    if (n == 0) return DMMP_OK;
    DMMP_TRY(h5_column_append(&w->click, rows->click, n));
    DMMP_TRY(h5_column_append(&w->conversion, rows->conversion, n));
    DMMP_TRY(h5_column_append(&w->split, rows->split, n));
    DMMP_TRY(h5_column_append(&w->user, rows->user, n));
    DMMP_TRY(h5_column_append(&w->item, rows->item, n));
    if (w->n_single) DMMP_TRY(h5_column_append(&w->sparse, rows->sparse, n));
    if (w->schema.n_dense) DMMP_TRY(h5_column_append(&w->dense, rows->dense, n));
    if (w->n_multi && w->scratch_len < n) {
        free(w->scratch);
        w->scratch = malloc((size_t)n * sizeof *w->scratch);
        w->scratch_len = w->scratch ? n : 0;
        if (!w->scratch) return dmmp_fail(DMMP_ENOMEM, "dataset writer: out of memory");
    }
    for (int k = 0; k < w->n_multi; k++) {
        multi_column *m = &w->multi[k];
        const int64_t *off = rows->multi_offsets[k];
        /* The file's offsets are global: shift the block's by what came before. */
        for (int64_t i = 0; i < n; i++) w->scratch[i] = m->nnz + off[i + 1];
        DMMP_TRY(h5_column_append(&m->offsets, w->scratch, n));
        DMMP_TRY(h5_column_append(&m->indices, rows->multi_indices[k], off[n]));
        DMMP_TRY(h5_column_append(&m->weights, rows->multi_weights[k], off[n]));
        m->nnz += off[n];
    }
    w->n_samples += n;
    return DMMP_OK;
}

dmmp_status dataset_writer_set_vocab(dataset_writer *w, int field, int64_t vocab_size)
{
    if (field < 0 || field >= w->schema.n_fields)
        return dmmp_fail(DMMP_EINVAL, "dataset writer: field index %d out of range 0..%d", field,
                         w->schema.n_fields - 1);
    if (vocab_size < 1)
        return dmmp_fail(DMMP_EINVAL, "field '%s': vocabulary size %lld must be >= 1 (index 0 is reserved)",
                         w->schema.fields[field].name, (long long)vocab_size);
    w->schema.fields[field].vocab_size = vocab_size;
    return DMMP_OK;
}

/* Columns of the single-valued fields of one side, in schema order. */
static int side_columns(const dataset_writer *w, field_side side, int *cols)
{
    int n = 0;
    for (int f = 0; f < w->schema.n_fields; f++)
        if (w->single_col[f] >= 0 && w->schema.fields[f].side == side) cols[n++] = f;
    return n;
}

static dmmp_status write_side_table(dataset_writer *w, const char *group, field_side side, int64_t n_rows,
                                    const int32_t *table)
{
    int *fields = malloc((size_t)(w->schema.n_fields + 1) * sizeof *fields);
    if (!fields) return dmmp_fail(DMMP_ENOMEM, "dataset writer: out of memory");
    int width = side_columns(w, side, fields);
    int32_t *zeros = NULL;
    dmmp_status s = DMMP_OK;
    if (n_rows < 0 || (n_rows > 0 && width > 0 && !table)) {
        s = dmmp_fail(DMMP_EINVAL, "/%s/sparse: %lld rows with no table", group, (long long)n_rows);
        goto out;
    }
    for (int64_t r = 0; r < n_rows; r++)
        for (int c = 0; c < width; c++) {
            int32_t id = table[r * width + c];
            if (id < 0) {
                s = dmmp_fail(DMMP_EINVAL, "/%s/sparse row %lld, field '%s': negative id %d", group, (long long)r,
                              w->schema.fields[fields[c]].name, id);
                goto out;
            }
            int col = w->single_col[fields[c]];
            if (id > w->max_id[col]) w->max_id[col] = id;
        }
    /* A side without single-valued fields still gets its n_rows x 1 table
     * (all "unknown"), the shape readers expect. */
    if (width == 0 && n_rows > 0) {
        zeros = calloc((size_t)n_rows, sizeof *zeros);
        if (!zeros) {
            s = dmmp_fail(DMMP_ENOMEM, "/%s/sparse: out of memory", group);
            goto out;
        }
        table = zeros;
    }
    s = chunk_pool_drain(w->pool);
    if (s != DMMP_OK) goto out;
    hid_t g;
    s = h5_create_group(w->file, group, &g);
    if (s != DMMP_OK) goto out;
    s = h5_write_array(g, "sparse", H5T_NATIVE_INT32, n_rows, width > 0 ? width : 1, table);
    H5Gclose(g);
out:
    free(zeros);
    free(fields);
    return s;
}

dmmp_status dataset_writer_write_items(dataset_writer *w, int64_t n_items, const int32_t *item_sparse)
{
    if (w->n_items >= 0) return dmmp_fail(DMMP_EINVAL, "/items/sparse: written twice");
    DMMP_TRY(write_side_table(w, "items", SIDE_ITEM, n_items, item_sparse));
    w->n_items = n_items;
    return DMMP_OK;
}

dmmp_status dataset_writer_write_users(dataset_writer *w, int64_t n_users, const int32_t *user_sparse)
{
    if (w->n_users >= 0) return dmmp_fail(DMMP_EINVAL, "/users/sparse: written twice");
    DMMP_TRY(write_side_table(w, "users", SIDE_USER, n_users, user_sparse));
    w->n_users = n_users;
    return DMMP_OK;
}

dmmp_status dataset_writer_write_users_multi(dataset_writer *w, int field, int64_t n_users, const int64_t *offsets,
                                             const int32_t *indices, const float *weights)
{
    if (field < 0 || field >= w->schema.n_fields || w->multi_col[field] < 0 ||
        w->schema.fields[field].side != SIDE_USER)
        return dmmp_fail(DMMP_EINVAL, "/users/multi: field %d is not a multi-valued user-side field", field);
    if (w->n_users < 0) return dmmp_fail(DMMP_EINVAL, "/users/multi: write /users/sparse first");
    const char *name = w->schema.fields[field].name;
    if (n_users != w->n_users)
        return dmmp_fail(DMMP_EINVAL, "/users/multi/%s: %lld users, /users/sparse has %lld", name,
                         (long long)n_users, (long long)w->n_users);
    if (offsets[0] != 0) return dmmp_fail(DMMP_EINVAL, "/users/multi/%s: offsets must start at 0", name);
    multi_column *m = &w->multi[w->multi_col[field]];
    for (int64_t u = 0; u < n_users; u++)
        if (offsets[u + 1] < offsets[u])
            return dmmp_fail(DMMP_EINVAL, "/users/multi/%s: offsets decrease at user %lld", name, (long long)u);
    for (int64_t j = 0; j < offsets[n_users]; j++) {
        if (indices[j] < 0) return dmmp_fail(DMMP_EINVAL, "/users/multi/%s: negative id %d", name, indices[j]);
        if (indices[j] > m->max_id) m->max_id = indices[j];
    }
    DMMP_TRY(chunk_pool_drain(w->pool));
    hid_t users = H5Gopen2(w->file, "users", H5P_DEFAULT);
    if (users < 0) return dmmp_fail(DMMP_EIO, "/users: cannot open group");
    hid_t multi = H5Lexists(users, "multi", H5P_DEFAULT) > 0 ? H5Gopen2(users, "multi", H5P_DEFAULT) : -1;
    dmmp_status s = DMMP_OK;
    if (multi < 0) s = h5_create_group(users, "multi", &multi);
    hid_t g = H5I_INVALID_HID;
    if (s == DMMP_OK) s = h5_create_group(multi, name, &g);
    if (s == DMMP_OK) s = h5_write_array(g, "offsets", H5T_NATIVE_INT64, n_users + 1, 0, offsets);
    if (s == DMMP_OK) s = h5_write_array(g, "indices", H5T_NATIVE_INT32, offsets[n_users], 0, indices);
    if (s == DMMP_OK) s = h5_write_array(g, "weights", H5T_NATIVE_FLOAT, offsets[n_users], 0, weights);
    if (g >= 0) H5Gclose(g);
    if (multi >= 0) H5Gclose(multi);
    H5Gclose(users);
    return s;
}

/* Opens group name under loc, creating it when absent. */
static dmmp_status open_or_create_group(hid_t loc, const char *name, hid_t *g)
{
    if (H5Lexists(loc, name, H5P_DEFAULT) > 0) {
        *g = H5Gopen2(loc, name, H5P_DEFAULT);
        return *g < 0 ? dmmp_fail(DMMP_EIO, "group %s: cannot open", name) : DMMP_OK;
    }
    return h5_create_group(loc, name, g);
}

dmmp_status dataset_writer_write_raw_ids(dataset_writer *w, raw_ids_kind kind, int field, const raw_ids *t)
{
    if (t->n == 0) return DMMP_OK;
    const char *top, *name;
    int64_t want;
    if (kind == RAW_IDS_FIELD) {
        if (field < 0 || field >= w->schema.n_fields)
            return dmmp_fail(DMMP_EINVAL, "/vocab: field %d is not a field of the schema", field);
        top = "vocab";
        name = w->schema.fields[field].name;
        want = w->schema.fields[field].vocab_size;
    } else {
        top = kind == RAW_IDS_USERS ? "users" : "items";
        name = "raw_id";
        want = kind == RAW_IDS_USERS ? w->n_users : w->n_items;
        if (want < 0) return dmmp_fail(DMMP_EINVAL, "/%s/raw_id: write /%s/sparse first", top, top);
    }
    if (t->n != want)
        return dmmp_fail(DMMP_EINVAL, "/%s/%s: %lld raw ids for %lld entries", top, name, (long long)t->n,
                         (long long)want);
    DMMP_TRY(raw_ids_check(t, w->path, name));
    DMMP_TRY(chunk_pool_drain(w->pool));
    hid_t g0, g = H5I_INVALID_HID;
    DMMP_TRY(open_or_create_group(w->file, top, &g0));
    dmmp_status s = h5_create_group(g0, name, &g);
    if (s == DMMP_OK) s = h5_write_array(g, "offsets", H5T_NATIVE_INT64, t->n + 1, 0, t->offsets);
    if (s == DMMP_OK) s = h5_write_array(g, "bytes", H5T_NATIVE_UINT8, t->offsets[t->n], 0, t->bytes);
    if (s != DMMP_OK) dmmp_fail_prefix(s, "/%s/%s", top, name);
    if (g >= 0) H5Gclose(g);
    H5Gclose(g0);
    return s;
}

int64_t dataset_writer_file(dataset_writer *w)
{
    /* A failure leaves the pool broken, so the next append or commit reports it. */
    (void)chunk_pool_drain(w->pool);
    return (int64_t)w->file;
}

void dataset_writer_attach(dataset_writer *w, h5_column *c) { h5_column_use_pool(c, w->pool); }

static dmmp_status check_vocab(const dataset_writer *w)
{
    for (int f = 0; f < w->schema.n_fields; f++) {
        const dataset_field *fd = &w->schema.fields[f];
        int64_t max = w->single_col[f] >= 0 ? w->max_id[w->single_col[f]] : w->multi[w->multi_col[f]].max_id;
        if (fd->vocab_size < 1)
            return dmmp_fail(DMMP_EINVAL, "field '%s': vocabulary size %lld was never set", fd->name,
                             (long long)fd->vocab_size);
        if (max >= fd->vocab_size)
            return dmmp_fail(DMMP_EINVAL, "field '%s': id %lld is outside the vocabulary of size %lld", fd->name,
                             (long long)max, (long long)fd->vocab_size);
    }
    if (w->n_users >= 0 && w->max_user >= w->n_users)
        return dmmp_fail(DMMP_EINVAL, "/samples/user: index %d but /users/sparse has %lld users", w->max_user,
                         (long long)w->n_users);
    if (w->n_items >= 0 && w->max_item >= w->n_items)
        return dmmp_fail(DMMP_EINVAL, "/samples/item: index %d but /items/sparse has %lld items", w->max_item,
                         (long long)w->n_items);
    return DMMP_OK;
}

static dmmp_status write_fields(dataset_writer *w)
{
    int n = w->schema.n_fields;
    hid_t g;
    DMMP_TRY(h5_create_group(w->file, "fields", &g));
    char (*names)[DATASET_NAME_LEN] = calloc((size_t)(n ? n : 1), DATASET_NAME_LEN);
    int32_t *side = calloc((size_t)(n ? n : 1), sizeof *side);
    int64_t *vocab = calloc((size_t)(n ? n : 1), sizeof *vocab);
    uint8_t *multi = calloc((size_t)(n ? n : 1), 1);
    int32_t *def = calloc((size_t)(n ? n : 1), sizeof *def);
    hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, DATASET_NAME_LEN);
    H5Tset_strpad(str, H5T_STR_NULLTERM);
    dmmp_status s = DMMP_OK;
    if (!names || !side || !vocab || !multi || !def) {
        s = dmmp_fail(DMMP_ENOMEM, "dataset writer: out of memory");
        goto out;
    }
    for (int f = 0; f < n; f++) {
        const dataset_field *fd = &w->schema.fields[f];
        memcpy(names[f], fd->name, DATASET_NAME_LEN);
        side[f] = (int32_t)fd->side;
        vocab[f] = fd->vocab_size;
        multi[f] = fd->multi ? 1 : 0;
        int c = w->single_col[f];
        if (c >= 0 && fd->side == SIDE_CONTEXT) {
            /* The most frequent training id; ties and an unseen field give 0. */
            int64_t best = 0;
            for (int64_t id = 0; id < w->context_cap[c]; id++)
                if (w->context_counts[c][id] > best) {
                    best = w->context_counts[c][id];
                    def[f] = (int32_t)id;
                }
        }
    }
    s = h5_write_array(g, "name", str, n, 0, names);
    if (s == DMMP_OK) s = h5_write_array(g, "side", H5T_NATIVE_INT32, n, 0, side);
    if (s == DMMP_OK) s = h5_write_array(g, "vocab_size", H5T_NATIVE_INT64, n, 0, vocab);
    if (s == DMMP_OK) s = h5_write_array(g, "multi", H5T_NATIVE_UINT8, n, 0, multi);
    if (s == DMMP_OK) s = h5_write_array(g, "default_id", H5T_NATIVE_INT32, n, 0, def);
    if (s == DMMP_OK && w->schema.n_dense > 0)
        s = h5_write_array(g, "dense_name", str, w->schema.n_dense, 0, w->schema.dense_names);
out:
    H5Tclose(str);
    free(names);
    free(side);
    free(vocab);
    free(multi);
    free(def);
    H5Gclose(g);
    return s;
}

static dmmp_status finish_file(dataset_writer *w)
{
    DMMP_TRY(check_vocab(w));
    h5_column *cols[] = {&w->click, &w->conversion, &w->split, &w->user, &w->item, &w->sparse, &w->dense};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) DMMP_TRY(h5_column_close(cols[i]));
    for (int k = 0; k < w->n_multi; k++) {
        DMMP_TRY(h5_column_close(&w->multi[k].offsets));
        DMMP_TRY(h5_column_close(&w->multi[k].indices));
        DMMP_TRY(h5_column_close(&w->multi[k].weights));
    }
    DMMP_TRY(chunk_pool_drain(w->pool));
    DMMP_TRY(write_fields(w));
    if (w->n_items < 0) w->n_items = w->max_item + 1;
    if (w->n_users < 0) w->n_users = w->max_user + 1;
    hid_t samples = H5Gopen2(w->file, "samples", H5P_DEFAULT);
    if (samples < 0) return dmmp_fail(DMMP_EIO, "/samples: cannot open group");
    dmmp_status s = h5_attr_i64_array(samples, "split_rows", w->split_rows, 3);
    if (s == DMMP_OK) s = h5_attr_i64_array(samples, "split_clicks", w->split_clicks, 3);
    if (s == DMMP_OK) s = h5_attr_i64_array(samples, "split_conversions", w->split_conversions, 3);
    H5Gclose(samples);
    DMMP_TRY(s);
    DMMP_TRY(h5_attr_i64(w->file, "format_version", DATASET_FORMAT_VERSION));
    DMMP_TRY(h5_attr_str(w->file, "name", w->name));
    DMMP_TRY(h5_attr_i64(w->file, "n_samples", w->n_samples));
    DMMP_TRY(h5_attr_i64(w->file, "n_users", w->n_users));
    DMMP_TRY(h5_attr_i64(w->file, "n_items", w->n_items));
    DMMP_TRY(h5_attr_str(w->file, "source", w->source));
    DMMP_TRY(h5_attr_str(w->file, "created_with", "dmmp " PACKAGE_VERSION));
    return DMMP_OK;
}

dmmp_status dataset_writer_commit(dataset_writer *w)
{
    dmmp_status s = finish_file(w);
    if (s != DMMP_OK) {
        dmmp_fail_prefix(s, "%s", w->path);
        dataset_writer_abort(w);
        return s;
    }
    herr_t closed = H5Fclose(w->file);
    w->file = H5I_INVALID_HID;
    if (closed < 0) {
        s = dmmp_fail(DMMP_EIO, "%s: closing the file failed (disk full?)", w->tmp_path);
        dataset_writer_abort(w);
        return s;
    }
    /* atomic_commit removes the temporary itself when it fails. */
    s = atomic_commit(w->tmp_path, w->path);
    w->tmp_path[0] = '\0';
    if (s != DMMP_OK) {
        dataset_writer_abort(w);
        return s;
    }
    writer_free(w);
    return DMMP_OK;
}
