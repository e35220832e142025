#include "eval/export_table.h"

#include <errno.h>
#include <hdf5.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/h5_column.h"
#include "data/h5_integrity.h"
#include "data/h5_out.h"
#include "eval/output_file.h"

typedef struct h5_col {
    h5_column col; /* streamed (large columns) */
    unsigned char *all; /* or every value in memory, written compact at commit */
    hid_t type;
    size_t elem;
} h5_col;

struct export_table {
    export_table_format fmt;
    int n_cols;
    export_col *cols;
    int64_t rows, written;
    /* CSV */
    FILE *csv;
    char path[OUTPUT_PATH_MAX + 1], tmp[OUTPUT_PATH_MAX + 64];
    /* HDF5 */
    h5_out out;
    h5_col *h5;
};

static size_t elem_size(const export_col *c)
{
    switch (c->type) {
    case EXPORT_COL_I64: return 8;
    case EXPORT_COL_I32:
    case EXPORT_COL_F32: return 4;
    case EXPORT_COL_U8: return 1;
    case EXPORT_COL_STR: return c->str_len ? c->str_len : 1;
    }
    return 1;
}

static hid_t mem_type(const export_col *c)
{
    switch (c->type) {
    case EXPORT_COL_I64: return H5T_NATIVE_INT64;
    case EXPORT_COL_I32: return H5T_NATIVE_INT32;
    case EXPORT_COL_F32: return H5T_NATIVE_FLOAT;
    case EXPORT_COL_U8: return H5T_NATIVE_UINT8;
    case EXPORT_COL_STR: return h5_out_string_type(elem_size(c));
    }
    return H5I_INVALID_HID;
}

static void free_table(export_table *t)
{
    for (int c = 0; t->h5 && c < t->n_cols; c++) {
        h5_column_discard(&t->h5[c].col);
        free(t->h5[c].all);
        if (t->h5[c].type >= 0 && t->cols[c].type == EXPORT_COL_STR) H5Tclose(t->h5[c].type);
    }
    free(t->h5);
    free(t->cols);
    free(t);
}

static dmmp_status csv_fail(export_table *t, const char *what)
{
    return dmmp_fail(DMMP_EIO, "writing %s (temporary %s): %s: %s", t->path, t->tmp, what,
                     errno ? strerror(errno) : "short write");
}

static void csv_string(FILE *f, const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    int quote = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r') quote = 1;
    if (!quote) {
        fwrite(s, 1, n, f);
        return;
    }
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') fputc('"', f);
        fputc(s[i], f);
    }
    fputc('"', f);
}

static dmmp_status open_csv(export_table *t, const char *path)
{
    DMMP_TRY(output_temp_name(path, t->tmp, sizeof t->tmp));
    t->csv = fopen(t->tmp, "wbx");
    if (!t->csv) return dmmp_fail(DMMP_EIO, "writing %s: creating temporary %s: %s", path, t->tmp, strerror(errno));
    setvbuf(t->csv, NULL, _IOFBF, 1 << 20);
    errno = 0;
    for (int c = 0; c < t->n_cols; c++) {
        if (c) fputc(',', t->csv);
        csv_string(t->csv, t->cols[c].name, strlen(t->cols[c].name));
    }
    if (fputc('\n', t->csv) == EOF) return csv_fail(t, "the header");
    return DMMP_OK;
}

static dmmp_status open_h5(export_table *t, const char *path)
{
    DMMP_TRY(h5_out_create(&t->out, path));
    t->h5 = calloc((size_t)t->n_cols, sizeof *t->h5);
    if (!t->h5) return dmmp_fail(DMMP_ENOMEM, "%s: out of memory", path);
    for (int c = 0; c < t->n_cols; c++) t->h5[c].type = H5I_INVALID_HID;
    for (int c = 0; c < t->n_cols; c++) {
        h5_col *h = &t->h5[c];
        h->elem = elem_size(&t->cols[c]);
        h->type = mem_type(&t->cols[c]);
        if (h->type < 0) return dmmp_fail(DMMP_EIO, "%s: column %s: no HDF5 type", path, t->cols[c].name);
        if ((size_t)t->rows * h->elem <= H5_COMPACT_MAX_BYTES) {
            h->all = calloc((size_t)(t->rows > 0 ? t->rows : 1), h->elem);
            if (!h->all) return dmmp_fail(DMMP_ENOMEM, "%s: out of memory for column %s", path, t->cols[c].name);
            continue;
        }
        DMMP_TRY(h5_column_create(&h->col, t->out.file, t->cols[c].name, h->type, 0, 16384, 1));
        if (t->cols[c].doc) DMMP_TRY(h5_attr_str(h->col.dset, "doc", t->cols[c].doc));
    }
    return DMMP_OK;
}

dmmp_status export_table_open(export_table **out, const char *path, export_table_format fmt, const export_col *cols,
                              int n_cols, int64_t rows)
{
    *out = NULL;
    if (strlen(path) > OUTPUT_PATH_MAX) return dmmp_fail(DMMP_EINVAL, "%s: path is too long", path);
    export_table *t = calloc(1, sizeof *t);
    if (!t) return dmmp_fail(DMMP_ENOMEM, "%s: out of memory", path);
    t->out.file = H5I_INVALID_HID;
    t->fmt = fmt;
    t->rows = rows;
    t->n_cols = n_cols;
    snprintf(t->path, sizeof t->path, "%s", path);
    t->cols = malloc((size_t)n_cols * sizeof *t->cols);
    if (!t->cols) {
        free_table(t);
        return dmmp_fail(DMMP_ENOMEM, "%s: out of memory", path);
    }
    memcpy(t->cols, cols, (size_t)n_cols * sizeof *cols);
    dmmp_status s = fmt == EXPORT_TABLE_CSV ? open_csv(t, path) : open_h5(t, path);
    if (s != DMMP_OK) {
        export_table_abort(t);
        return s;
    }
    *out = t;
    return DMMP_OK;
}

dmmp_status export_table_attr_str(export_table *t, const char *name, const char *value)
{
    return t->fmt == EXPORT_TABLE_H5 ? h5_attr_str(t->out.file, name, value) : DMMP_OK;
}

dmmp_status export_table_attr_i64(export_table *t, const char *name, int64_t value)
{
    return t->fmt == EXPORT_TABLE_H5 ? h5_attr_i64(t->out.file, name, value) : DMMP_OK;
}

static void csv_value(FILE *f, const export_col *c, const void *col, int64_t i)
{
    switch (c->type) {
    case EXPORT_COL_I64: fprintf(f, "%" PRId64, ((const int64_t *)col)[i]); break;
    case EXPORT_COL_I32: fprintf(f, "%" PRId32, ((const int32_t *)col)[i]); break;
    case EXPORT_COL_U8: fprintf(f, "%u", (unsigned)((const uint8_t *)col)[i]); break;
    case EXPORT_COL_F32: fprintf(f, "%.9g", (double)((const float *)col)[i]); break;
    case EXPORT_COL_STR: csv_string(f, (const char *)col + (size_t)i * elem_size(c), elem_size(c)); break;
    }
}

dmmp_status export_table_append(export_table *t, int64_t n, const void *const *data)
{
    if (n < 0 || t->written + n > t->rows)
        return dmmp_fail(DMMP_EINVAL, "%s: %" PRId64 " more rows than the %" PRId64 " announced", t->path,
                         t->written + n - t->rows, t->rows);
    if (t->fmt == EXPORT_TABLE_CSV) {
        errno = 0;
        for (int64_t i = 0; i < n; i++) {
            for (int c = 0; c < t->n_cols; c++) {
                if (c) fputc(',', t->csv);
                csv_value(t->csv, &t->cols[c], data[c], i);
            }
            if (fputc('\n', t->csv) == EOF) return csv_fail(t, "a row");
        }
    } else {
        for (int c = 0; c < t->n_cols; c++) {
            h5_col *h = &t->h5[c];
            if (h->all) memcpy(h->all + (size_t)t->written * h->elem, data[c], (size_t)n * h->elem);
            else DMMP_TRY(h5_column_append(&h->col, data[c], n));
        }
    }
    t->written += n;
    return DMMP_OK;
}

static dmmp_status commit_h5(export_table *t)
{
    for (int c = 0; c < t->n_cols; c++) {
        h5_col *h = &t->h5[c];
        if (!h->all) {
            DMMP_TRY(h5_column_close(&h->col));
            continue;
        }
        DMMP_TRY(h5_write_array(t->out.file, t->cols[c].name, h->type, t->rows, 0, h->all));
        if (t->cols[c].doc) {
            hid_t d = H5Dopen2(t->out.file, t->cols[c].name, H5P_DEFAULT);
            if (d < 0) return dmmp_fail(DMMP_EIO, "writing %s: reopening %s", t->path, t->cols[c].name);
            dmmp_status s = h5_attr_str(d, "doc", t->cols[c].doc);
            H5Dclose(d);
            DMMP_TRY(s);
        }
    }
    return h5_out_commit(&t->out);
}

dmmp_status export_table_commit(export_table *t)
{
    dmmp_status s = DMMP_OK;
    if (t->written != t->rows)
        s = dmmp_fail(DMMP_EINVAL, "%s: %" PRId64 " of %" PRId64 " rows written", t->path, t->written, t->rows);
    if (s == DMMP_OK && t->fmt == EXPORT_TABLE_CSV) {
        errno = 0;
        int ok = fflush(t->csv) == 0;
        int closed = fclose(t->csv) == 0;
        t->csv = NULL;
        if (!ok || !closed) s = csv_fail(t, "flush");
        if (s == DMMP_OK) {
            s = output_commit(t->tmp, t->path);
            t->tmp[0] = '\0';
        }
    } else if (s == DMMP_OK) {
        s = commit_h5(t);
    }
    if (s != DMMP_OK) {
        export_table_abort(t);
        return s;
    }
    free_table(t);
    return DMMP_OK;
}

void export_table_abort(export_table *t)
{
    if (!t) return;
    if (t->csv) fclose(t->csv);
    t->csv = NULL;
    if (t->tmp[0]) remove(t->tmp);
    if (t->fmt == EXPORT_TABLE_H5) {
        for (int c = 0; t->h5 && c < t->n_cols; c++) h5_column_discard(&t->h5[c].col);
        h5_out_abort(&t->out);
    }
    free_table(t);
}

/* The raw id of index i: its entry in t, or "#<i>" (into tmp) where t has none. */
static const char *raw_id_text(const raw_ids *t, int64_t i, char *tmp, size_t cap, size_t *len)
{
    if (i >= 0 && i < t->n) return raw_ids_get(t, i, len);
    int w = snprintf(tmp, cap, "#%" PRId64, i);
    *len = w > 0 ? (size_t)w : 0;
    return tmp;
}

size_t export_raw_id_width(const raw_ids *t, int64_t n)
{
    size_t width = 1, len;
    char tmp[32];
    for (int64_t i = 0; i < n; i++) {
        raw_id_text(t, i, tmp, sizeof tmp, &len);
        if (len > width) width = len;
    }
    return width;
}

void export_raw_id_fill(const raw_ids *t, int64_t i, char *dst, size_t width)
{
    char tmp[32];
    size_t len;
    const char *s = raw_id_text(t, i, tmp, sizeof tmp, &len);
    memset(dst, 0, width);
    memcpy(dst, s, len < width ? len : width);
}
