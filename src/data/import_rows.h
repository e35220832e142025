/* Pieces every importer shares: the block of output rows handed to the
 * dataset writer, the per-user and per-item feature tables, the seeded
 * train/val decision and the hashed-field option. */
#ifndef DMMP_DATA_IMPORT_ROWS_H
#define DMMP_DATA_IMPORT_ROWS_H

#include <stdint.h>

#include "core/status.h"
#include "data/dataset_writer.h"
#include "data/import.h"
#include "data/vocab.h"

#define ROW_BLOCK_ROWS 16384
#define ROW_BLOCK_MAX_MULTI 8

/* Rows being assembled for dataset_writer_append. Fill row r =
 * row_block_begin(b): the label/user/item arrays at r, sparse + r * n_single,
 * dense + r * n_dense, row_block_push_multi for multi-valued entries; then
 * row_block_end. */
typedef struct row_block {
    int n_single, n_multi, n_dense;
    int64_t n, cap;
    uint8_t *click, *conversion, *split;
    int32_t *user, *item, *sparse;
    float *dense;
    int64_t *offsets[ROW_BLOCK_MAX_MULTI];
    int32_t *indices[ROW_BLOCK_MAX_MULTI];
    float *weights[ROW_BLOCK_MAX_MULTI];
    int64_t multi_cap[ROW_BLOCK_MAX_MULTI];
} row_block;

/* Allocates a block of ROW_BLOCK_ROWS rows. */
dmmp_status row_block_init(row_block *b, int n_single, int n_multi, int n_dense);
void row_block_free(row_block *b);

/* Index of a fresh zeroed row (the block must not be full). */
int64_t row_block_begin(row_block *b);

/* Appends (index, weight) to multi-valued field k of the current row. */
dmmp_status row_block_push_multi(row_block *b, int k, int32_t index, float weight);

/* Closes the current row; appends the block to w when it is full. */
dmmp_status row_block_end(row_block *b, dataset_writer *w);

/* Appends the rows held (if any) to w and empties the block. */
dmmp_status row_block_flush(row_block *b, dataset_writer *w);

/* Feature rows of users or items by index; a row is set by the first
 * training row that names the entity, row 0 stays zero (unknown). */
typedef struct entity_table {
    int width;
    int64_t n, cap;
    int32_t *rows;
    uint8_t *set;
} entity_table;

dmmp_status entity_table_init(entity_table *t, int width);
void entity_table_free(entity_table *t);

/* Records values (width entries) for index unless it already has a row. */
dmmp_status entity_table_offer(entity_table *t, int32_t index, const int32_t *values);

/* Makes the table hold exactly n rows (rows never offered stay zero). */
dmmp_status entity_table_resize(entity_table *t, int64_t n);

/* 1 when the row_index-th row of a training file goes to val: a hash of
 * (seed, row_index) below fraction, so the choice depends on nothing else. */
int import_row_is_val(uint64_t seed, int64_t row_index, double fraction);

/* The split of the row_index-th row of a training file: the same hash u in
 * [0, 1) as import_row_is_val; val when u < val_fraction, test when
 * val_fraction <= u < val_fraction + test_fraction, train otherwise (so a
 * test_fraction leaves the val rows of the same seed unchanged). */
data_split import_row_split(uint64_t seed, int64_t row_index, double val_fraction, double test_fraction);

/* Checks val_fraction in [0, 1), test_fraction in [0, 1) and their sum below 1. */
dmmp_status import_check_fractions(double val_fraction, double test_fraction);

/* Hash buckets for field name in spec ("F=B,F=B"; 0 when absent), or an
 * error naming the malformed entry. */
dmmp_status import_hash_buckets(const char *spec, const char *name, int64_t *buckets);

/* Checks that every field named in spec is one of names[0..n). */
dmmp_status import_check_hash_spec(const char *spec, const char *const *names, int n);

#endif
