/* The batch of a training step with sampled negatives: the impressions of
 * the batcher's batch, then one row per (impression, sampled item) pair.
 *
 * Rows [0, n) are the n impressions as the batcher gave them; row
 * n + b * ratio + r is the pair of impression b with its r-th sampled item:
 * the impression's user and context fields (and their multi-valued bags),
 * the sampled item's fields from the item corpus (/items/sparse and the
 * corpus bags of batch.h), the user-item cross fields missing (id 0, empty
 * bags) and dense values 0, as when the teacher ranks the corpus at
 * retrieval; click and conversion 0, user and item set, file row -1. The
 * item towers read every row, the teacher the pairs only with
 * kd.on_sampled. */
#ifndef DMMP_DATA_PAIR_BATCH_H
#define DMMP_DATA_PAIR_BATCH_H

#include <stdint.h>

#include "core/status.h"
#include "data/batch.h"
#include "data/dataset.h"

typedef struct pair_batch {
    batch rows;          /* the impressions, then the pairs */
    batch corpus;        /* every real item (batch_item_corpus) */
    int32_t first_item;  /* corpus row r is item first_item + r */
    int max_rows;
} pair_batch;

/* Reads d's item corpus (not while a batcher on d is open) and sizes the
 * rows for max_impressions impressions with ratio pairs each. */
dmmp_status pair_batch_init(pair_batch *p, const dataset *d, int max_impressions, int ratio);

/* Lays out imp and its pairs with items[b * ratio + r] (real items of the
 * corpus) in p->rows. */
dmmp_status pair_batch_fill(pair_batch *p, const batch *imp, const int32_t *items, int ratio);

void pair_batch_free(pair_batch *p);

#endif
