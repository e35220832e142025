/* Checks of the values read from a dataset file against the layout's rules
 * (README: Data), so that a damaged or hand-edited file stops with a message
 * naming the file, the dataset, the row and the value instead of reaching
 * an embedding lookup with a wild index or training on NaN.
 *
 * The policy: every id must lie in its field's vocabulary [0, vocab_size);
 * users in [0, n_users), items in [0, n_items); labels are 0/1 with no
 * conversion without a click; split is 0, 1 or 2; dense features and
 * multi-valued weights are finite (NaN or Inf is refused when reading, as
 * the importers refuse them when parsing). The reader runs these checks on
 * every block it returns; they cost one pass over memory already read. */
#ifndef DMMP_DATA_DATASET_CHECK_H
#define DMMP_DATA_DATASET_CHECK_H

#include <stdint.h>

#include "core/status.h"
#include "data/dataset.h"

/* Checks every value of block b (rows b->start .. b->start + b->n of d);
 * DMMP_EFORMAT naming the first bad value's dataset, file row and field. */
dmmp_status dataset_check_block(const dataset *d, const dataset_block *b);

/* Checks a per-entity table read from path (/items/sparse or
 * /users/sparse): n_rows rows of the single-valued fields of side, schema
 * order, each id inside its field's vocabulary. */
dmmp_status dataset_check_side_table(const dataset *d, field_side side, const char *path, const int32_t *table,
                                     int64_t n_rows);

/* Checks a CSR table read from path_prefix (offsets, indices, weights) of
 * n_rows rows for field: offsets start at 0 and never decrease, every index
 * is inside the field's vocabulary and every weight is finite. */
dmmp_status dataset_check_csr(const dataset *d, int field, const char *path_prefix, const int64_t *offsets,
                              const int32_t *indices, const float *weights, int64_t n_rows, int64_t first_row);

#endif
