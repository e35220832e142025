/* Streaming writer of the HDF5 dataset layout (format_version 1; README: Data).
 *
 * Importers and the synthetic generator describe their fields once, append
 * rows in blocks of any size (the writer buffers whole chunks and never holds
 * the dataset in memory), write the item and user tables, then commit. The
 * file is written under a temporary name beside path (core/atomic_file.h) and
 * renamed to path only by a successful commit, after an fsync; abort (or a
 * crash) never leaves a file under path, and the next writer of path removes
 * the temporaries of writers that died. */
#ifndef DMMP_DATA_DATASET_WRITER_H
#define DMMP_DATA_DATASET_WRITER_H

#include <stdint.h>

#include "core/status.h"
#include "data/raw_ids.h"
#include "data/schema.h"

typedef struct h5_column h5_column;

/* A block of rows. Arrays are indexed by row; `sparse` holds the
 * single-valued fields in schema order (n x n_single); for the k-th
 * multi-valued field, multi_offsets[k] has n+1 entries starting at 0 and
 * indexes multi_indices[k] / multi_weights[k]. dense is n x n_dense or NULL. */
typedef struct dataset_rows {
    int64_t n;
    const uint8_t *click;
    const uint8_t *conversion;
    const uint8_t *split;
    const int32_t *user;
    const int32_t *item;
    const int32_t *sparse;
    const int64_t *const *multi_offsets;
    const int32_t *const *multi_indices;
    const float *const *multi_weights;
    const float *dense;
} dataset_rows;

typedef struct dataset_writer dataset_writer;

/* Creates the temporary file and the datasets for schema. name and source
 * become attributes of / ("synthetic", "aliccp-raw", ...). */
dmmp_status dataset_writer_open(dataset_writer **out, const char *path, const dataset_schema *schema,
                                const char *name, const char *source);

/* Storage options; dataset_writer_open uses DATASET_DEFAULT_CHUNK_ROWS and
 * DATASET_DEFAULT_DEFLATE. Small chunks are for tests of chunk boundaries. */
#define DATASET_DEFAULT_CHUNK_ROWS 16384
#define DATASET_DEFAULT_DEFLATE 1
typedef struct dataset_writer_options {
    int64_t chunk_rows; /* rows per HDF5 chunk of every /samples dataset (>= 1) */
    int deflate;        /* 0 (off) .. 9; 1-4 keeps synth and import fast */
} dataset_writer_options;

/* dataset_writer_open with explicit storage options (NULL: defaults). Chunks
 * are compressed on OpenMP's maximum number of threads; the file's bytes do
 * not depend on it. */
dmmp_status dataset_writer_open_opts(dataset_writer **out, const char *path, const dataset_schema *schema,
                                     const char *name, const char *source, const dataset_writer_options *opts);

/* Appends a block; checks ids against vocab sizes set so far only at commit. */
dmmp_status dataset_writer_append(dataset_writer *w, const dataset_rows *rows);

/* Sets the final vocabulary size of field (known only after streaming). */
dmmp_status dataset_writer_set_vocab(dataset_writer *w, int field, int64_t vocab_size);

/* Writes /items/sparse: n_items rows of the single-valued item-side fields in
 * schema order (item index i is row i). */
dmmp_status dataset_writer_write_items(dataset_writer *w, int64_t n_items, const int32_t *item_sparse);

/* Writes /users/sparse: n_users rows of the single-valued user-side fields in
 * schema order (user index u is row u). */
dmmp_status dataset_writer_write_users(dataset_writer *w, int64_t n_users, const int32_t *user_sparse);

/* Writes /users/multi/<name>/{offsets,indices,weights} for the multi-valued
 * user-side field `field` (schema index): n_users + 1 offsets from 0, so
 * retrieval queries carry the field too. */
dmmp_status dataset_writer_write_users_multi(dataset_writer *w, int field, int64_t n_users, const int64_t *offsets,
                                             const int32_t *indices, const float *weights);

/* Writes a raw-id table (data/raw_ids.h): the vocabulary of field (kind
 * RAW_IDS_FIELD; after dataset_writer_set_vocab, t->n must equal the
 * vocabulary size) or the raw ids of the users or items (after
 * write_users / write_items, t->n must equal their count). An empty table
 * (n = 0: a hashed field) writes nothing. */
dmmp_status dataset_writer_write_raw_ids(dataset_writer *w, raw_ids_kind kind, int field, const raw_ids *t);

/* The open HDF5 file id (hid_t as int64_t), for extra groups such as /truth.
 * Writes every chunk still in flight first, so the caller's own writes land
 * in the same order whatever the thread count (a failure is reported by the
 * next append or commit). */
int64_t dataset_writer_file(dataset_writer *w);

/* Makes an extra column of the file (such as /truth/p_click, created under
 * dataset_writer_file) compress and write its chunks with the writer's
 * threads and in the writer's order; close it before commit. */
void dataset_writer_attach(dataset_writer *w, h5_column *c);

/* Flushes, writes the attributes (format_version, name, n_samples, n_users,
 * n_items, source, created_with), closes and renames into place; frees w. */
dmmp_status dataset_writer_commit(dataset_writer *w);

/* Closes and deletes the temporary file; frees w. NULL is fine. */
void dataset_writer_abort(dataset_writer *w);

#endif
