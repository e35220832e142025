/* The reader of the HDF5 dataset layout (format_version 1; README: Data).
 *
 * dataset_open checks the format version and every required dataset (type and
 * shape), naming the first one that is missing or wrong, then loads the
 * schema and the per-split statistics. Rows are read in blocks by
 * dataset_read_block; the batcher builds on it.
 *
 * Values are checked as they are read (data/dataset_check.h): an id outside
 * its field's vocabulary, a user or item outside the corpus, a label other
 * than 0/1 or a conversion without a click, a split other than 0..2, and a
 * NaN or Inf dense feature or multi-valued weight stop the read with
 * DMMP_EFORMAT naming the file, the dataset, the row and the field. The
 * importers refuse NaN and Inf already when parsing (file:line:column).
 *
 * Threads: a dataset may be read from one thread at a time. The batcher's
 * prefetch thread is the only reader of its dataset while the batcher is
 * open (the caller must not read the same dataset meanwhile). */
#ifndef DMMP_DATA_DATASET_H
#define DMMP_DATA_DATASET_H

#include <stdint.h>

#include "core/status.h"
#include "data/raw_ids.h"
#include "data/schema.h"

typedef struct dataset dataset;

typedef struct dataset_split_stats {
    int64_t rows, clicks, conversions;
} dataset_split_stats;

/* A block of consecutive rows in memory. Buffers grow as needed and are
 * reused across reads; multi_offsets[k] has n+1 entries starting at 0. */
typedef struct dataset_block {
    int64_t start, n, cap;
    uint8_t *click, *conversion, *split;
    int32_t *user, *item;
    int32_t *sparse; /* n x n_single, schema order */
    float *dense;    /* n x n_dense or NULL */
    int n_multi;
    int64_t **multi_offsets;
    int32_t **multi_indices;
    float **multi_weights;
    int64_t *multi_cap;
} dataset_block;

/* Opens and validates path; on failure the message names the file and the
 * dataset or attribute at fault. */
dmmp_status dataset_open(dataset **out, const char *path);

/* Closes the file and frees d (NULL is fine). */
void dataset_close(dataset *d);

/* The fields in file order (single-valued ones are /samples/sparse's columns). */
const dataset_schema *dataset_get_schema(const dataset *d);

const char *dataset_path(const dataset *d);
const char *dataset_name(const dataset *d);
const char *dataset_source(const dataset *d);
int64_t dataset_n_samples(const dataset *d);
int64_t dataset_n_users(const dataset *d);
int64_t dataset_n_items(const dataset *d);

/* Rows per HDF5 chunk of /samples (the natural unit of streaming). */
int64_t dataset_chunk_rows(const dataset *d);

/* Rows, clicks and conversions of one split (from /samples attributes). */
dataset_split_stats dataset_split_stats_of(const dataset *d, data_split split);

/* Number of single-valued fields (columns of /samples/sparse). */
int dataset_n_single(const dataset *d);

/* Column of field in /samples/sparse, or -1 for a multi-valued field. */
int dataset_single_column(const dataset *d, int field);

/* Number of multi-valued fields, and the schema index of the k-th. */
int dataset_n_multi(const dataset *d);
int dataset_multi_field(const dataset *d, int k);

/* Most frequent training id of a context field (0 when unknown or not context). */
int32_t dataset_default_id(const dataset *d, int field);

/* 1 when the file has /truth (synthetic data). */
int dataset_has_truth(const dataset *d);

/* The open HDF5 file id (hid_t as int64_t), for readers of extra groups. */
int64_t dataset_file(const dataset *d);

/* Reads rows [start, start + n) of every /samples dataset into b. */
dmmp_status dataset_read_block(const dataset *d, int64_t start, int64_t n, dataset_block *b);

/* Frees a block's buffers (the struct itself is the caller's). */
void dataset_block_free(dataset_block *b);

/* Reads rows [start, start + n) of /samples/split. */
dmmp_status dataset_read_split(const dataset *d, int64_t start, int64_t n, uint8_t *out);

/* Reads rows [start, start + n) of a 1-D float dataset such as /truth/p_click. */
dmmp_status dataset_read_f32(const dataset *d, const char *path, int64_t start, int64_t n, float *out);

/* Reads rows [start, start + n) of a 1-D int32 dataset such as /samples/user. */
dmmp_status dataset_read_i32(const dataset *d, const char *path, int64_t start, int64_t n, int32_t *out);

/* Reads a whole int32/float/uint8 dataset (rank 1 or 2) of exactly count
 * elements into out (mem_type: 0 int32, 1 float, 2 uint8); names the dataset
 * when it is missing or of another size. */
dmmp_status dataset_read_all(const dataset *d, const char *path, int mem_type, int64_t count, void *out);

/* Number of single-valued fields of a side, and their schema indices in order. */
int dataset_side_fields(const dataset *d, field_side side, int *fields);

/* Reads /items/sparse (n_items x the single-valued item fields, schema order). */
dmmp_status dataset_read_items(const dataset *d, int32_t *out);

/* Reads /users/sparse (n_users x the single-valued user fields, schema order). */
dmmp_status dataset_read_users(const dataset *d, int32_t *out);

/* The lowest index of a real user (side SIDE_USER) or item (SIDE_ITEM): 1
 * when row 0 of /users/sparse or /items/sparse is the reserved unknown entity
 * (every id 0: what the importers map users and items unseen in training to),
 * 0 when row 0 is a real one (the synthetic world numbers its users and items
 * from 0 and gives each an id field from 1). The unknown entity is neither
 * retrieved nor counted in any metric. */
dmmp_status dataset_first_entity(const dataset *d, field_side side, int32_t *first);

/* Reads /users/multi/<field> into malloc'd arrays (offsets n_users + 1); when
 * the file has no such table every user gets an empty bag. */
dmmp_status dataset_read_users_multi(const dataset *d, int field, int64_t **offsets, int32_t **indices,
                                     float **weights);

/* Reads a raw-id table (data/raw_ids.h): a field's vocabulary (kind
 * RAW_IDS_FIELD, field = its schema index) or the raw ids of every user or
 * item (field ignored). A file without that table (written before raw ids,
 * or a field hashed into buckets) gives an empty table (out->n = 0), which
 * raw_ids_format prints as "#<index>". A table of the wrong length or with
 * bad offsets is DMMP_EFORMAT naming it. Free out with raw_ids_free. */
dmmp_status dataset_read_raw_ids(const dataset *d, raw_ids_kind kind, int field, raw_ids *out);

#endif
