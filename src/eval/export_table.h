/* A table of named columns written row block by row block to a CSV file or
 * an HDF5 file, for `dmmp export predictions`.
 *
 * CSV: a header line of the column names, then one line per row; floats
 * printed with 9 significant digits (%.9g, so a float32 reads back to the
 * same value), strings quoted ("...", inner quotes doubled) when they hold
 * a comma, a quote or a line break. HDF5 (data/h5_out.h): one 1-D dataset
 * per column under the root, named as the column, with a "doc" attribute;
 * int64, int32, uint8, float32 or fixed-length strings; a column of at most
 * 16 KiB is stored compact, a larger one in chunks of 16384 rows with
 * shuffle, deflate and Fletcher32. Either is written to a temporary beside
 * the target and renamed into place by export_table_commit only. */
#ifndef DMMP_EVAL_EXPORT_TABLE_H
#define DMMP_EVAL_EXPORT_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "data/raw_ids.h"

typedef enum export_table_format { EXPORT_TABLE_CSV = 0, EXPORT_TABLE_H5 = 1 } export_table_format;

typedef enum export_col_type { EXPORT_COL_I64, EXPORT_COL_I32, EXPORT_COL_U8, EXPORT_COL_F32, EXPORT_COL_STR } export_col_type;

typedef struct export_col {
    const char *name;
    export_col_type type;
    size_t str_len;  /* EXPORT_COL_STR: bytes per value (NUL-padded) */
    const char *doc; /* what the column holds (the HDF5 "doc" attribute) */
} export_col;

typedef struct export_table export_table;

/* Opens the temporary for path; rows is the number of rows that will be
 * appended in all (checked at commit). cols is copied. */
dmmp_status export_table_open(export_table **out, const char *path, export_table_format fmt, const export_col *cols,
                              int n_cols, int64_t rows);

/* Root attributes (HDF5 only; a CSV has no place for them and ignores them). */
dmmp_status export_table_attr_str(export_table *t, const char *name, const char *value);
dmmp_status export_table_attr_i64(export_table *t, const char *name, int64_t value);

/* Appends n rows: data[c] holds column c's n values (strings: n * str_len bytes). */
dmmp_status export_table_append(export_table *t, int64_t n, const void *const *data);

/* Checks the row count, closes and renames the file into place; frees t. */
dmmp_status export_table_commit(export_table *t);

/* Removes the temporary; frees t (NULL is fine). */
void export_table_abort(export_table *t);

/* Width of a string column holding the raw id of indices 0..n-1 from t (the
 * longest entry, or of "#<n-1>" where t has no entry: raw_ids_format). */
size_t export_raw_id_width(const raw_ids *t, int64_t n);

/* Writes the raw id of index i, NUL-padded to width bytes, into dst. */
void export_raw_id_fill(const raw_ids *t, int64_t i, char *dst, size_t width);

#endif
