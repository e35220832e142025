/* The dataset reader: validation on open, block reads afterwards. */
#include "data/dataset.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset_check.h"
#include "data/file_kind.h"
#include "data/h5_integrity.h"

typedef struct multi_dsets {
    hid_t offsets, indices, weights;
} multi_dsets;

struct dataset {
    char path[4096];
    char name[256], source[256];
    hid_t file;
    dataset_schema schema;
    int64_t n_samples, n_users, n_items, chunk_rows;
    dataset_split_stats stats[3];
    int n_single, n_multi;
    int *single_col, *multi_field;
    int32_t *default_id;
    hid_t click, conversion, split, user, item, sparse, dense;
    multi_dsets *multi;
    int has_truth;
};

/* Expected element kind of a dataset. */
typedef enum { K_U8, K_I32, K_I64, K_F32, K_STR } kind;

static const char *kind_name(kind k)
{
    static const char *names[] = {"uint8", "int32", "int64", "float32", "string"};
    return names[k];
}

/* Opens path (relative to the file root) and checks element kind, rank and
 * the first dimension (dim0 < 0: any) and second (dim1 < 0: rank 1). */
static dmmp_status open_checked(dataset *d, const char *path, kind k, int64_t dim0, int64_t dim1, hid_t *out)
{
    *out = H5I_INVALID_HID;
    if (H5Lexists(d->file, path, H5P_DEFAULT) <= 0 || H5Oexists_by_name(d->file, path, H5P_DEFAULT) <= 0) {
        H5_RETURN_IF_DAMAGED(d->path, path);
        return dmmp_fail(DMMP_EFORMAT, "%s: required dataset %s is missing", d->path, path);
    }
    hid_t ds = H5Dopen2(d->file, path, H5P_DEFAULT);
    if (ds < 0) {
        H5_RETURN_IF_DAMAGED(d->path, path);
        return dmmp_fail(DMMP_EFORMAT, "%s: %s is not a dataset", d->path, path);
    }
    hid_t t = H5Dget_type(ds), sp = H5Dget_space(ds);
    H5T_class_t cls = H5Tget_class(t);
    size_t size = H5Tget_size(t);
    int ok;
    switch (k) {
    case K_U8: ok = cls == H5T_INTEGER && size == 1; break;
    case K_I32: ok = cls == H5T_INTEGER && size == 4 && H5Tget_sign(t) == H5T_SGN_2; break;
    case K_I64: ok = cls == H5T_INTEGER && size == 8 && H5Tget_sign(t) == H5T_SGN_2; break;
    case K_F32: ok = cls == H5T_FLOAT && size == 4; break;
    default: ok = cls == H5T_STRING; break;
    }
    int rank = H5Sget_simple_extent_ndims(sp);
    hsize_t dims[2] = {0, 0};
    if (rank >= 1 && rank <= 2) H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Tclose(t);
    H5Sclose(sp);
    dmmp_status s = DMMP_OK;
    int want_rank = dim1 < 0 ? 1 : 2;
    /* h5_column writes a one-column table (one dense column, one
     * single-valued field) as rank 1: the same rows, read the same way. */
    if (dim1 == 1 && rank == 1) {
        want_rank = 1;
        dims[1] = 1;
    }
    if (!ok)
        s = dmmp_fail(DMMP_EFORMAT, "%s: dataset %s has the wrong type (expected %s)", d->path, path, kind_name(k));
    else if (rank != want_rank)
        s = dmmp_fail(DMMP_EFORMAT, "%s: dataset %s has rank %d (expected %d)", d->path, path, rank, want_rank);
    else if ((dim0 >= 0 && dims[0] != (hsize_t)dim0) || (dim1 >= 0 && dims[1] != (hsize_t)dim1))
        s = dmmp_fail(DMMP_EFORMAT, "%s: dataset %s has shape %llu x %llu (expected %lld x %lld)", d->path, path,
                      (unsigned long long)dims[0], (unsigned long long)dims[1], (long long)dim0,
                      (long long)(dim1 < 0 ? 1 : dim1));
    if (s != DMMP_OK) {
        H5Dclose(ds);
        return s;
    }
    *out = ds;
    return DMMP_OK;
}

static int64_t extent0(hid_t ds)
{
    hid_t sp = H5Dget_space(ds);
    hsize_t dims[2] = {0, 0};
    H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Sclose(sp);
    return (int64_t)dims[0];
}

static dmmp_status read_attr_i64(dataset *d, hid_t loc, const char *where, const char *name, int64_t *v, int n)
{
    if (H5Aexists(loc, name) <= 0) {
        H5_RETURN_IF_DAMAGED(d->path, where);
        return dmmp_fail(DMMP_EFORMAT, "%s: attribute %s%s is missing", d->path, where, name);
    }
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t sp = H5Aget_space(a), t = H5Aget_type(a);
    int ok = H5Tget_class(t) == H5T_INTEGER && H5Sget_simple_extent_npoints(sp) == n;
    ok = ok && H5Aread(a, H5T_NATIVE_INT64, v) >= 0;
    H5Tclose(t);
    H5Sclose(sp);
    H5Aclose(a);
    if (!ok) return dmmp_fail(DMMP_EFORMAT, "%s: attribute %s%s is not %d integer(s)", d->path, where, name, n);
    return DMMP_OK;
}

static void read_attr_str(hid_t loc, const char *name, char *buf, size_t len)
{
    buf[0] = '\0';
    if (H5Aexists(loc, name) <= 0) return;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t t = H5Aget_type(a);
    size_t size = H5Tget_size(t);
    if (H5Tget_class(t) == H5T_STRING && !H5Tis_variable_str(t) && size < len) {
        H5Aread(a, t, buf);
        buf[size] = '\0';
    }
    H5Tclose(t);
    H5Aclose(a);
}

static dmmp_status read_fields(dataset *d)
{
    hid_t names, side, vocab, multi;
    DMMP_TRY(open_checked(d, "/fields/name", K_STR, -1, -1, &names));
    int64_t n = extent0(names);
    dmmp_status s = open_checked(d, "/fields/side", K_I32, n, -1, &side);
    if (s != DMMP_OK) {
        H5Dclose(names);
        return s;
    }
    s = open_checked(d, "/fields/vocab_size", K_I64, n, -1, &vocab);
    if (s == DMMP_OK) {
        s = open_checked(d, "/fields/multi", K_U8, n, -1, &multi);
        if (s != DMMP_OK) H5Dclose(vocab);
    }
    if (s != DMMP_OK) {
        H5Dclose(names);
        H5Dclose(side);
        return s;
    }
    size_t cnt = (size_t)(n ? n : 1);
    d->schema.n_fields = (int)n;
    d->schema.fields = calloc(cnt, sizeof *d->schema.fields);
    char (*nm)[DATASET_NAME_LEN] = calloc(cnt, DATASET_NAME_LEN);
    int32_t *sd = calloc(cnt, sizeof *sd);
    int64_t *vc = calloc(cnt, sizeof *vc);
    uint8_t *mu = calloc(cnt, 1);
    d->single_col = calloc(cnt, sizeof(int));
    d->multi_field = calloc(cnt, sizeof(int));
    d->default_id = calloc(cnt, sizeof(int32_t));
    hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, DATASET_NAME_LEN);
    H5Tset_strpad(str, H5T_STR_NULLTERM);
    if (!d->schema.fields || !nm || !sd || !vc || !mu || !d->single_col || !d->multi_field || !d->default_id)
        s = dmmp_fail(DMMP_ENOMEM, "%s: out of memory reading /fields", d->path);
    else if (n > 0 && (H5Dread(names, str, H5S_ALL, H5S_ALL, H5P_DEFAULT, nm) < 0 ||
                       H5Dread(side, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, sd) < 0 ||
                       H5Dread(vocab, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, vc) < 0 ||
                       H5Dread(multi, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, mu) < 0))
        s = h5_read_failure(d->path, "/fields");
    for (int f = 0; s == DMMP_OK && f < n; f++) {
        dataset_field *fd = &d->schema.fields[f];
        memcpy(fd->name, nm[f], DATASET_NAME_LEN);
        fd->name[DATASET_NAME_LEN - 1] = '\0';
        fd->side = (field_side)sd[f];
        fd->vocab_size = vc[f];
        fd->multi = mu[f] != 0;
        if (sd[f] < SIDE_USER || sd[f] > SIDE_CROSS)
            s = dmmp_fail(DMMP_EFORMAT, "%s: /fields/side of field '%s' is %d (expected 0..3)", d->path, fd->name,
                          sd[f]);
        else if (vc[f] < 1)
            s = dmmp_fail(DMMP_EFORMAT, "%s: /fields/vocab_size of field '%s' is %lld (expected >= 1)", d->path,
                          fd->name, (long long)vc[f]);
        if (fd->multi) {
            d->single_col[f] = -1;
            d->multi_field[d->n_multi++] = f;
        } else {
            d->single_col[f] = d->n_single++;
        }
    }
    H5Tclose(str);
    free(nm);
    free(sd);
    free(vc);
    free(mu);
    H5Dclose(names);
    H5Dclose(side);
    H5Dclose(vocab);
    H5Dclose(multi);
    DMMP_TRY(s);
    int present = h5_link_present(d->file, "/fields/default_id", d->path);
    if (present < 0) return DMMP_EFORMAT;
    if (present) {
        hid_t def;
        DMMP_TRY(open_checked(d, "/fields/default_id", K_I32, n, -1, &def));
        herr_t r = n > 0 ? H5Dread(def, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, d->default_id) : 0;
        H5Dclose(def);
        if (r < 0) return h5_read_failure(d->path, "/fields/default_id");
        for (int f = 0; f < n; f++)
            if (d->default_id[f] < 0 || d->default_id[f] >= d->schema.fields[f].vocab_size)
                return dmmp_fail(DMMP_EFORMAT, "%s: /fields/default_id of field '%s' is %d, outside [0, %lld)",
                                 d->path, d->schema.fields[f].name, d->default_id[f],
                                 (long long)d->schema.fields[f].vocab_size);
    }
    present = h5_link_present(d->file, "/fields/dense_name", d->path);
    if (present < 0) return DMMP_EFORMAT;
    if (present) {
        hid_t dn;
        DMMP_TRY(open_checked(d, "/fields/dense_name", K_STR, -1, -1, &dn));
        int64_t nd = extent0(dn);
        d->schema.n_dense = (int)nd;
        d->schema.dense_names = calloc((size_t)(nd ? nd : 1), DATASET_NAME_LEN);
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, DATASET_NAME_LEN);
        herr_t r = !d->schema.dense_names ? -1 : nd ? H5Dread(dn, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, d->schema.dense_names) : 0;
        H5Tclose(t);
        H5Dclose(dn);
        if (r < 0) return h5_read_failure(d->path, "/fields/dense_name");
    }
    return DMMP_OK;
}

static dmmp_status open_samples(dataset *d)
{
    int64_t n = d->n_samples;
    DMMP_TRY(open_checked(d, "/samples/click", K_U8, n, -1, &d->click));
    DMMP_TRY(open_checked(d, "/samples/conversion", K_U8, n, -1, &d->conversion));
    DMMP_TRY(open_checked(d, "/samples/split", K_U8, n, -1, &d->split));
    DMMP_TRY(open_checked(d, "/samples/user", K_I32, n, -1, &d->user));
    DMMP_TRY(open_checked(d, "/samples/item", K_I32, n, -1, &d->item));
    if (d->n_single > 0) DMMP_TRY(open_checked(d, "/samples/sparse", K_I32, n, d->n_single, &d->sparse));
    if (d->schema.n_dense > 0) DMMP_TRY(open_checked(d, "/samples/dense", K_F32, n, d->schema.n_dense, &d->dense));
    d->chunk_rows = n > 0 ? n : 1;
    hid_t dcpl = H5Dget_create_plist(d->click);
    hsize_t chunk[1];
    if (H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, 1, chunk) == 1) d->chunk_rows = (int64_t)chunk[0];
    H5Pclose(dcpl);
    if (d->n_multi > 0) {
        d->multi = calloc((size_t)d->n_multi, sizeof *d->multi);
        if (!d->multi) return dmmp_fail(DMMP_ENOMEM, "%s: out of memory", d->path);
        for (int k = 0; k < d->n_multi; k++) d->multi[k].offsets = d->multi[k].indices = d->multi[k].weights = -1;
    }
    for (int k = 0; k < d->n_multi; k++) {
        char p[256];
        const char *fname = d->schema.fields[d->multi_field[k]].name;
        multi_dsets *m = &d->multi[k];
        snprintf(p, sizeof p, "/samples/multi/%s/offsets", fname);
        DMMP_TRY(open_checked(d, p, K_I64, n + 1, -1, &m->offsets));
        snprintf(p, sizeof p, "/samples/multi/%s/indices", fname);
        DMMP_TRY(open_checked(d, p, K_I32, -1, -1, &m->indices));
        snprintf(p, sizeof p, "/samples/multi/%s/weights", fname);
        DMMP_TRY(open_checked(d, p, K_F32, extent0(m->indices), -1, &m->weights));
    }
    hid_t samples = H5Gopen2(d->file, "/samples", H5P_DEFAULT);
    int64_t rows[3], clicks[3], convs[3];
    dmmp_status s = read_attr_i64(d, samples, "/samples:", "split_rows", rows, 3);
    if (s == DMMP_OK) s = read_attr_i64(d, samples, "/samples:", "split_clicks", clicks, 3);
    if (s == DMMP_OK) s = read_attr_i64(d, samples, "/samples:", "split_conversions", convs, 3);
    H5Gclose(samples);
    DMMP_TRY(s);
    for (int i = 0; i < 3; i++) {
        if (rows[i] < 0 || clicks[i] < 0 || convs[i] < 0 || clicks[i] > rows[i] || convs[i] > clicks[i])
            return dmmp_fail(DMMP_EFORMAT, "%s: /samples split %d counts %lld rows, %lld clicks, %lld conversions",
                             d->path, i, (long long)rows[i], (long long)clicks[i], (long long)convs[i]);
        d->stats[i] = (dataset_split_stats){rows[i], clicks[i], convs[i]};
    }
    if (rows[0] + rows[1] + rows[2] != n)
        return dmmp_fail(DMMP_EFORMAT, "%s: /samples:split_rows add up to %lld, n_samples is %lld", d->path,
                         (long long)(rows[0] + rows[1] + rows[2]), (long long)n);
    return DMMP_OK;
}

static dmmp_status open_all(dataset *d)
{
    hid_t root = d->file;
    int64_t version = 0;
    DMMP_TRY(read_attr_i64(d, root, "/:", "format_version", &version, 1));
    if (version != DATASET_FORMAT_VERSION)
        return dmmp_fail(DMMP_EFORMAT, "%s: format_version is %lld, this build reads version %d", d->path,
                         (long long)version, DATASET_FORMAT_VERSION);
    DMMP_TRY(read_attr_i64(d, root, "/:", "n_samples", &d->n_samples, 1));
    DMMP_TRY(read_attr_i64(d, root, "/:", "n_users", &d->n_users, 1));
    DMMP_TRY(read_attr_i64(d, root, "/:", "n_items", &d->n_items, 1));
    if (d->n_samples < 0 || d->n_users < 0 || d->n_items < 0 || d->n_users > INT32_MAX || d->n_items > INT32_MAX)
        return dmmp_fail(DMMP_EFORMAT, "%s: n_samples %lld, n_users %lld, n_items %lld: each must be in [0, 2^31)",
                         d->path, (long long)d->n_samples, (long long)d->n_users, (long long)d->n_items);
    read_attr_str(root, "name", d->name, sizeof d->name);
    read_attr_str(root, "source", d->source, sizeof d->source);
    DMMP_TRY(read_fields(d));
    DMMP_TRY(open_samples(d));
    d->has_truth = h5_link_present(d->file, "/truth", d->path);
    return d->has_truth < 0 ? DMMP_EFORMAT : DMMP_OK;
}

dmmp_status dataset_open(dataset **out, const char *path)
{
    *out = NULL;
    dataset *d = calloc(1, sizeof *d);
    if (!d) return dmmp_fail(DMMP_ENOMEM, "%s: out of memory", path);
    snprintf(d->path, sizeof d->path, "%s", path);
    d->click = d->conversion = d->split = d->user = d->item = d->sparse = d->dense = H5I_INVALID_HID;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    /* A directory, a text file, a truncated file or a checkpoint is refused
     * by what it is, before the layout is checked; the structure is checked
     * as the file is opened (data/h5_open.h). */
    dmmp_status s = file_kind_open(path, FILE_KIND_DATASET, H5P_DEFAULT, &d->file);
    if (s != DMMP_OK) {
        free(d);
        return s;
    }
    s = open_all(d);
    if (s != DMMP_OK) {
        dataset_close(d);
        return s;
    }
    *out = d;
    return DMMP_OK;
}

void dataset_close(dataset *d)
{
    if (!d) return;
    hid_t ids[] = {d->click, d->conversion, d->split, d->user, d->item, d->sparse, d->dense};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (ids[i] >= 0) H5Dclose(ids[i]);
    for (int k = 0; d->multi && k < d->n_multi; k++) {
        if (d->multi[k].offsets >= 0) H5Dclose(d->multi[k].offsets);
        if (d->multi[k].indices >= 0) H5Dclose(d->multi[k].indices);
        if (d->multi[k].weights >= 0) H5Dclose(d->multi[k].weights);
    }
    if (d->file >= 0) H5Fclose(d->file);
    free(d->multi);
    free(d->schema.fields);
    free(d->schema.dense_names);
    free(d->single_col);
    free(d->multi_field);
    free(d->default_id);
    free(d);
}

const dataset_schema *dataset_get_schema(const dataset *d) { return &d->schema; }
const char *dataset_path(const dataset *d) { return d->path; }
const char *dataset_name(const dataset *d) { return d->name; }
const char *dataset_source(const dataset *d) { return d->source; }
int64_t dataset_n_samples(const dataset *d) { return d->n_samples; }
int64_t dataset_n_users(const dataset *d) { return d->n_users; }
int64_t dataset_n_items(const dataset *d) { return d->n_items; }
int64_t dataset_chunk_rows(const dataset *d) { return d->chunk_rows; }
dataset_split_stats dataset_split_stats_of(const dataset *d, data_split split) { return d->stats[split]; }
int dataset_n_single(const dataset *d) { return d->n_single; }
int dataset_single_column(const dataset *d, int field) { return d->single_col[field]; }
int dataset_n_multi(const dataset *d) { return d->n_multi; }
int dataset_multi_field(const dataset *d, int k) { return d->multi_field[k]; }
int32_t dataset_default_id(const dataset *d, int field) { return d->default_id[field]; }
int dataset_has_truth(const dataset *d) { return d->has_truth; }
int64_t dataset_file(const dataset *d) { return (int64_t)d->file; }

/* Reads rows [start, start + n) x width of ds into out. */
static dmmp_status read_rows(const dataset *d, hid_t ds, const char *what, hid_t mem_type, int64_t start, int64_t n,
                             int64_t width, void *out)
{
    if (n == 0) return DMMP_OK;
    hid_t fs = H5Dget_space(ds);
    int rank = H5Sget_simple_extent_ndims(fs);
    hsize_t st[2] = {(hsize_t)start, 0}, cnt[2] = {(hsize_t)n, (hsize_t)width};
    hid_t ms = H5Screate_simple(rank, cnt, NULL);
    dmmp_status s = DMMP_OK;
    if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, st, NULL, cnt, NULL) < 0 ||
        H5Dread(ds, mem_type, ms, fs, H5P_DEFAULT, out) < 0) {
        char obj[400];
        snprintf(obj, sizeof obj, "%s (rows %lld..%lld)", what, (long long)start, (long long)(start + n));
        s = h5_read_failure(d->path, obj);
    }
    H5Sclose(ms);
    H5Sclose(fs);
    return s;
}

static int grow(void **p, int64_t count, size_t elem)
{
    void *q = realloc(*p, (size_t)(count ? count : 1) * elem);
    if (!q) return 0;
    *p = q;
    return 1;
}

static dmmp_status reserve_block(const dataset *d, dataset_block *b, int64_t n)
{
    if (b->n_multi != d->n_multi) {
        dataset_block_free(b);
        b->n_multi = d->n_multi;
        size_t k = (size_t)(d->n_multi ? d->n_multi : 1);
        b->multi_offsets = calloc(k, sizeof *b->multi_offsets);
        b->multi_indices = calloc(k, sizeof *b->multi_indices);
        b->multi_weights = calloc(k, sizeof *b->multi_weights);
        b->multi_cap = calloc(k, sizeof *b->multi_cap);
        if (!b->multi_offsets || !b->multi_indices || !b->multi_weights || !b->multi_cap)
            return dmmp_fail(DMMP_ENOMEM, "dataset block: out of memory");
    }
    if (n <= b->cap && b->click) return DMMP_OK;
    int ok = grow((void **)&b->click, n, 1) && grow((void **)&b->conversion, n, 1) && grow((void **)&b->split, n, 1) &&
             grow((void **)&b->user, n, 4) && grow((void **)&b->item, n, 4) &&
             grow((void **)&b->sparse, n * d->n_single, 4) && grow((void **)&b->dense, n * d->schema.n_dense, 4);
    for (int k = 0; ok && k < d->n_multi; k++) ok = grow((void **)&b->multi_offsets[k], n + 1, 8);
    if (!ok) return dmmp_fail(DMMP_ENOMEM, "dataset block of %lld rows: out of memory", (long long)n);
    b->cap = n;
    return DMMP_OK;
}

dmmp_status dataset_read_block(const dataset *d, int64_t start, int64_t n, dataset_block *b)
{
    if (start < 0 || n < 0 || start + n > d->n_samples)
        return dmmp_fail(DMMP_EINVAL, "%s: rows %lld..%lld are outside 0..%lld", d->path, (long long)start,
                         (long long)(start + n), (long long)d->n_samples);
    DMMP_TRY(reserve_block(d, b, n));
    b->start = start;
    b->n = n;
    DMMP_TRY(read_rows(d, d->click, "/samples/click", H5T_NATIVE_UINT8, start, n, 1, b->click));
    DMMP_TRY(read_rows(d, d->conversion, "/samples/conversion", H5T_NATIVE_UINT8, start, n, 1, b->conversion));
    DMMP_TRY(read_rows(d, d->split, "/samples/split", H5T_NATIVE_UINT8, start, n, 1, b->split));
    DMMP_TRY(read_rows(d, d->user, "/samples/user", H5T_NATIVE_INT32, start, n, 1, b->user));
    DMMP_TRY(read_rows(d, d->item, "/samples/item", H5T_NATIVE_INT32, start, n, 1, b->item));
    if (d->n_single)
        DMMP_TRY(read_rows(d, d->sparse, "/samples/sparse", H5T_NATIVE_INT32, start, n, d->n_single, b->sparse));
    if (d->schema.n_dense)
        DMMP_TRY(read_rows(d, d->dense, "/samples/dense", H5T_NATIVE_FLOAT, start, n, d->schema.n_dense, b->dense));
    for (int k = 0; k < d->n_multi; k++) {
        const char *fname = d->schema.fields[d->multi_field[k]].name;
        int64_t *off = b->multi_offsets[k];
        DMMP_TRY(read_rows(d, d->multi[k].offsets, fname, H5T_NATIVE_INT64, start, n + 1, 1, off));
        int64_t base = off[0], nnz = off[n] - off[0];
        for (int64_t i = 0; i <= n; i++) off[i] -= base;
        for (int64_t i = 0; i < n; i++)
            if (off[i + 1] < off[i])
                return dmmp_fail(DMMP_EFORMAT, "%s: /samples/multi/%s/offsets decrease at row %lld", d->path, fname,
                                 (long long)(start + i));
        if (base < 0 || base + nnz > extent0(d->multi[k].indices))
            return dmmp_fail(DMMP_EFORMAT, "%s: /samples/multi/%s/offsets point past the indices", d->path, fname);
        if (nnz > b->multi_cap[k]) {
            if (!grow((void **)&b->multi_indices[k], nnz, 4) || !grow((void **)&b->multi_weights[k], nnz, 4))
                return dmmp_fail(DMMP_ENOMEM, "dataset block: out of memory");
            b->multi_cap[k] = nnz;
        }
        DMMP_TRY(read_rows(d, d->multi[k].indices, fname, H5T_NATIVE_INT32, base, nnz, 1, b->multi_indices[k]));
        DMMP_TRY(read_rows(d, d->multi[k].weights, fname, H5T_NATIVE_FLOAT, base, nnz, 1, b->multi_weights[k]));
    }
    return dataset_check_block(d, b);
}

void dataset_block_free(dataset_block *b)
{
    free(b->click);
    free(b->conversion);
    free(b->split);
    free(b->user);
    free(b->item);
    free(b->sparse);
    free(b->dense);
    for (int k = 0; k < b->n_multi; k++) {
        if (b->multi_offsets) free(b->multi_offsets[k]);
        if (b->multi_indices) free(b->multi_indices[k]);
        if (b->multi_weights) free(b->multi_weights[k]);
    }
    free(b->multi_offsets);
    free(b->multi_indices);
    free(b->multi_weights);
    free(b->multi_cap);
    memset(b, 0, sizeof *b);
}

dmmp_status dataset_read_split(const dataset *d, int64_t start, int64_t n, uint8_t *out)
{
    if (start < 0 || n < 0 || start + n > d->n_samples)
        return dmmp_fail(DMMP_EINVAL, "%s: split rows %lld..%lld out of range", d->path, (long long)start,
                         (long long)(start + n));
    return read_rows(d, d->split, "/samples/split", H5T_NATIVE_UINT8, start, n, 1, out);
}

static dmmp_status read_1d(const dataset *d, const char *path, kind k, hid_t mem_type, int64_t start, int64_t n,
                           void *out)
{
    hid_t ds;
    DMMP_TRY(open_checked((dataset *)d, path, k, -1, -1, &ds));
    dmmp_status s = DMMP_OK;
    if (start < 0 || n < 0 || start + n > extent0(ds))
        s = dmmp_fail(DMMP_EINVAL, "%s: %s rows %lld..%lld out of range", d->path, path, (long long)start,
                      (long long)(start + n));
    else
        s = read_rows(d, ds, path, mem_type, start, n, 1, out);
    H5Dclose(ds);
    return s;
}

dmmp_status dataset_read_f32(const dataset *d, const char *path, int64_t start, int64_t n, float *out)
{
    return read_1d(d, path, K_F32, H5T_NATIVE_FLOAT, start, n, out);
}

dmmp_status dataset_read_i32(const dataset *d, const char *path, int64_t start, int64_t n, int32_t *out)
{
    return read_1d(d, path, K_I32, H5T_NATIVE_INT32, start, n, out);
}

dmmp_status dataset_read_all(const dataset *d, const char *path, int mem_type, int64_t count, void *out)
{
    static const kind kinds[] = {K_I32, K_F32, K_U8};
    hid_t mt = mem_type == 0 ? H5T_NATIVE_INT32 : mem_type == 1 ? H5T_NATIVE_FLOAT : H5T_NATIVE_UINT8;
    if (mem_type < 0 || mem_type > 2) return dmmp_fail(DMMP_EINVAL, "dataset_read_all: bad memory type %d", mem_type);
    if (H5Lexists(d->file, path, H5P_DEFAULT) <= 0) {
        H5_RETURN_IF_DAMAGED(d->path, path);
        return dmmp_fail(DMMP_EFORMAT, "%s: required dataset %s is missing", d->path, path);
    }
    hid_t ds = H5Dopen2(d->file, path, H5P_DEFAULT);
    if (ds < 0) {
        H5_RETURN_IF_DAMAGED(d->path, path);
        return dmmp_fail(DMMP_EFORMAT, "%s: %s is not a dataset", d->path, path);
    }
    hid_t sp = H5Dget_space(ds), t = H5Dget_type(ds);
    hssize_t npts = H5Sget_simple_extent_npoints(sp);
    H5T_class_t cls = H5Tget_class(t);
    size_t size = H5Tget_size(t);
    kind k = kinds[mem_type];
    int type_ok = (k == K_F32) ? (cls == H5T_FLOAT && size == 4) : (cls == H5T_INTEGER && size == (k == K_U8 ? 1u : 4u));
    dmmp_status s = DMMP_OK;
    if (!type_ok)
        s = dmmp_fail(DMMP_EFORMAT, "%s: dataset %s has the wrong type (expected %s)", d->path, path, kind_name(k));
    else if (npts != count)
        s = dmmp_fail(DMMP_EFORMAT, "%s: dataset %s has %lld elements (expected %lld)", d->path, path,
                      (long long)npts, (long long)count);
    else if (count > 0 && H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
        s = h5_read_failure(d->path, path);
    H5Tclose(t);
    H5Sclose(sp);
    H5Dclose(ds);
    return s;
}

int dataset_side_fields(const dataset *d, field_side side, int *fields)
{
    int n = 0;
    for (int f = 0; f < d->schema.n_fields; f++)
        if (!d->schema.fields[f].multi && d->schema.fields[f].side == side) {
            if (fields) fields[n] = f;
            n++;
        }
    return n;
}

dmmp_status dataset_read_items(const dataset *d, int32_t *out)
{
    int width = dataset_side_fields(d, SIDE_ITEM, NULL);
    DMMP_TRY(dataset_read_all(d, "/items/sparse", 0, d->n_items * (width ? width : 1), out));
    return dataset_check_side_table(d, SIDE_ITEM, "/items/sparse", out, d->n_items);
}

dmmp_status dataset_read_users(const dataset *d, int32_t *out)
{
    int width = dataset_side_fields(d, SIDE_USER, NULL);
    DMMP_TRY(dataset_read_all(d, "/users/sparse", 0, d->n_users * (width ? width : 1), out));
    return dataset_check_side_table(d, SIDE_USER, "/users/sparse", out, d->n_users);
}

dmmp_status dataset_first_entity(const dataset *d, field_side side, int32_t *first)
{
    *first = 0;
    if (side != SIDE_USER && side != SIDE_ITEM)
        return dmmp_fail(DMMP_EINVAL, "%s: side %d has no entity table", d->path, (int)side);
    const char *path = side == SIDE_USER ? "/users/sparse" : "/items/sparse";
    int64_t n = side == SIDE_USER ? d->n_users : d->n_items;
    if (n == 0) return DMMP_OK;
    /* With raw ids the file says it: the reserved unknown entity's raw id is
     * the empty string, a real one's never is. */
    const char *raw = side == SIDE_USER ? "/users/raw_id/offsets" : "/items/raw_id/offsets";
    const char *top = side == SIDE_USER ? "/users/raw_id" : "/items/raw_id";
    if (H5Lexists(d->file, top, H5P_DEFAULT) > 0 && H5Lexists(d->file, raw, H5P_DEFAULT) > 0) {
        int64_t off[2];
        hid_t ds;
        dmmp_status s = open_checked((dataset *)d, raw, K_I64, n + 1, -1, &ds);
        if (s == DMMP_OK) {
            s = read_rows(d, ds, raw, H5T_NATIVE_INT64, 0, 2, 0, off);
            H5Dclose(ds);
        }
        if (s == DMMP_OK) *first = off[1] == off[0] ? 1 : 0;
        return s;
    }
    H5_RETURN_IF_DAMAGED(d->path, top);
    int width = dataset_side_fields(d, side, NULL);
    if (width == 0) return DMMP_OK; /* nothing tells row 0 apart: take it as real */
    int32_t *row0 = malloc((size_t)width * sizeof *row0);
    if (!row0) return dmmp_fail(DMMP_ENOMEM, "%s: out of memory", path);
    hid_t ds;
    dmmp_status s = open_checked((dataset *)d, path, K_I32, n, width, &ds);
    if (s == DMMP_OK) {
        s = read_rows(d, ds, path, H5T_NATIVE_INT32, 0, 1, width, row0);
        H5Dclose(ds);
    }
    int all_zero = 1;
    for (int k = 0; s == DMMP_OK && k < width; k++) all_zero &= row0[k] == 0;
    if (s == DMMP_OK) *first = all_zero ? 1 : 0;
    free(row0);
    return s;
}

dmmp_status dataset_read_users_multi(const dataset *d, int field, int64_t **offsets, int32_t **indices,
                                     float **weights)
{
    *offsets = NULL;
    *indices = NULL;
    *weights = NULL;
    if (field < 0 || field >= d->schema.n_fields || !d->schema.fields[field].multi)
        return dmmp_fail(DMMP_EINVAL, "%s: field %d is not multi-valued", d->path, field);
    char p[256];
    snprintf(p, sizeof p, "/users/multi/%s/offsets", d->schema.fields[field].name);
    *offsets = calloc((size_t)d->n_users + 1, sizeof **offsets);
    if (!*offsets) return dmmp_fail(DMMP_ENOMEM, "%s: out of memory", p);
    dmmp_status s = DMMP_OK;
    int present = h5_link_present(d->file, "/users/multi", d->path);
    if (present > 0) present = h5_link_present(d->file, p, d->path);
    if (present < 0) s = DMMP_EFORMAT;
    if (present > 0) {
        hid_t ds;
        s = open_checked((dataset *)d, p, K_I64, d->n_users + 1, -1, &ds);
        if (s == DMMP_OK) {
            if (H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, *offsets) < 0)
                s = h5_read_failure(d->path, p);
            H5Dclose(ds);
        }
    }
    /* The offsets size the reads below: check them before trusting nnz. */
    for (int64_t u = 0; s == DMMP_OK && u < d->n_users; u++)
        if ((*offsets)[0] != 0 || (*offsets)[u + 1] < (*offsets)[u])
            s = dmmp_fail(DMMP_EFORMAT, "%s: %s decrease at row %lld or do not start at 0", d->path, p, (long long)u);
    int64_t nnz = s == DMMP_OK ? (*offsets)[d->n_users] : 0;
    *indices = malloc((size_t)(nnz ? nnz : 1) * sizeof **indices);
    *weights = malloc((size_t)(nnz ? nnz : 1) * sizeof **weights);
    if (s == DMMP_OK && (!*indices || !*weights)) s = dmmp_fail(DMMP_ENOMEM, "%s: out of memory", p);
    if (s == DMMP_OK && nnz > 0) {
        snprintf(p, sizeof p, "/users/multi/%s/indices", d->schema.fields[field].name);
        s = dataset_read_all(d, p, 0, nnz, *indices);
        snprintf(p, sizeof p, "/users/multi/%s/weights", d->schema.fields[field].name);
        if (s == DMMP_OK) s = dataset_read_all(d, p, 1, nnz, *weights);
        snprintf(p, sizeof p, "/users/multi/%s", d->schema.fields[field].name);
        if (s == DMMP_OK) s = dataset_check_csr(d, field, p, *offsets, *indices, *weights, d->n_users, 0);
    }
    if (s != DMMP_OK) {
        free(*offsets);
        free(*indices);
        free(*weights);
        *offsets = NULL;
        *indices = NULL;
        *weights = NULL;
    }
    return s;
}

dmmp_status dataset_read_raw_ids(const dataset *d, raw_ids_kind which, int field, raw_ids *out)
{
    raw_ids_init(out);
    char group[256];
    int64_t n;
    if (which == RAW_IDS_FIELD) {
        if (field < 0 || field >= d->schema.n_fields)
            return dmmp_fail(DMMP_EINVAL, "%s: no field %d for a vocabulary", d->path, field);
        snprintf(group, sizeof group, "/vocab/%s", d->schema.fields[field].name);
        n = d->schema.fields[field].vocab_size;
    } else {
        snprintf(group, sizeof group, "%s", which == RAW_IDS_USERS ? "/users/raw_id" : "/items/raw_id");
        n = which == RAW_IDS_USERS ? d->n_users : d->n_items;
    }
    const char *top = which == RAW_IDS_FIELD ? "/vocab" : which == RAW_IDS_USERS ? "/users" : "/items";
    if (H5Lexists(d->file, top, H5P_DEFAULT) <= 0 || H5Lexists(d->file, group, H5P_DEFAULT) <= 0) {
        H5_RETURN_IF_DAMAGED(d->path, group);
        return DMMP_OK;
    }
    char path[300];
    snprintf(path, sizeof path, "%s/offsets", group);
    out->offsets = malloc((size_t)(n + 1) * sizeof *out->offsets);
    if (!out->offsets) return dmmp_fail(DMMP_ENOMEM, "%s: out of memory for %s", d->path, path);
    hid_t ds;
    dmmp_status s = open_checked((dataset *)d, path, K_I64, n + 1, -1, &ds);
    if (s == DMMP_OK) {
        if (H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, out->offsets) < 0)
            s = h5_read_failure(d->path, path);
        H5Dclose(ds);
    }
    out->n = n;
    out->cap = n + 1;
    if (s == DMMP_OK && (out->offsets[0] != 0 || out->offsets[n] < 0 || out->offsets[n] > ((int64_t)1 << 40)))
        s = dmmp_fail(DMMP_EFORMAT, "%s: %s does not start at 0 or ends at %lld", d->path, path,
                      (long long)out->offsets[n]);
    if (s == DMMP_OK) {
        int64_t total = out->offsets[n];
        out->bytes = malloc((size_t)total + 1);
        out->bytes_cap = total + 1;
        if (!out->bytes) s = dmmp_fail(DMMP_ENOMEM, "%s: out of memory for %s/bytes", d->path, group);
        snprintf(path, sizeof path, "%s/bytes", group);
        if (s == DMMP_OK) s = dataset_read_all(d, path, 2, total, out->bytes);
        if (s == DMMP_OK) {
            out->bytes[total] = '\0';
            s = raw_ids_check(out, d->path, group);
        }
    }
    if (s != DMMP_OK) raw_ids_free(out);
    return s;
}
