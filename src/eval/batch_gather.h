/* Copying chosen rows of one batch into another: the evaluator cuts the item
 * corpus and the query rows (which hold every item or every user) into
 * batches the feature layer accepts, and picks the users it evaluates. */
#ifndef DMMP_EVAL_BATCH_GATHER_H
#define DMMP_EVAL_BATCH_GATHER_H

#include <stdint.h>

#include "core/status.h"
#include "data/batch.h"

/* Sets dst (made by batch_alloc for the same dataset with at least n rows)
 * to rows[0..n) of src, in that order: labels, indices, every side's ids
 * (a side src has no columns for keeps none), multi-valued bags (offsets
 * rebased to 0; dst's indices and weights grow as needed) and dense values. */
dmmp_status batch_gather(batch *dst, const batch *src, const int64_t *rows, int n);

/* batch_gather of the consecutive rows [start, start + n) of src. */
dmmp_status batch_slice(batch *dst, const batch *src, int64_t start, int n);

#endif
