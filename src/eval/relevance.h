/* The relevant sets of the retrieval metrics: per user, the distinct items
 * the user clicked and the items the user purchased in one split, ascending
 * (the form retrieval_metrics.h expects). The reserved unknown user and item
 * of imported data (dataset_first_entity) are in no set. Memory grows with the split's
 * clicks, never with users x items. */
#ifndef DMMP_EVAL_RELEVANCE_H
#define DMMP_EVAL_RELEVANCE_H

#include <stdint.h>

#include "core/status.h"
#include "data/dataset.h"

typedef struct relevance_sets {
    int64_t n_users;
    int64_t *click_offsets, *buy_offsets; /* n_users + 1 each */
    int32_t *click_items, *buy_items;
} relevance_sets;

/* Reads split of d (in batches of batch_rows) and builds the sets; opens its
 * own batcher, so no other batcher may be open on d meanwhile. */
dmmp_status relevance_build(relevance_sets *r, const dataset *d, data_split split, int batch_rows);

/* The clicked (or purchased) items of user: *n of them at the returned pointer. */
const int32_t *relevance_clicked(const relevance_sets *r, int64_t user, int64_t *n);
const int32_t *relevance_bought(const relevance_sets *r, int64_t user, int64_t *n);

/* Frees the sets. */
void relevance_free(relevance_sets *r);

#endif
