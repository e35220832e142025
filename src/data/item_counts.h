/* How often each item is shown in one split: the popularity the popularity
 * negatives are drawn by and the sampling probability q of the in-batch
 * logQ correction (a training batch holds an item as often as the training
 * split shows it). */
#ifndef DMMP_DATA_ITEM_COUNTS_H
#define DMMP_DATA_ITEM_COUNTS_H

#include <stdint.h>

#include "core/status.h"
#include "data/dataset.h"

/* counts[i] = rows of split whose item is i, for every item index
 * 0..n_items-1 (counts holds dataset_n_items(d) entries); *total = their
 * sum. Reads /samples/split and /samples/item in blocks: not while a
 * batcher on d is open. */
dmmp_status dataset_item_counts(const dataset *d, data_split split, int64_t *counts, int64_t *total);

#endif
