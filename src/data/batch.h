/* A batch of samples as the models read it: labels, user and item indices,
 * the single-valued ids of each side, every multi-valued field as CSR, dense
 * columns. The batcher fills one per step; the item corpus and the retrieval
 * queries come in the same shape so the towers run on them unchanged. */
#ifndef DMMP_DATA_BATCH_H
#define DMMP_DATA_BATCH_H

#include <stdint.h>

#include "core/status.h"
#include "data/dataset.h"

/* The single-valued ids of one side: n x n_fields, columns in schema order. */
typedef struct batch_side {
    int n_fields;
    const int *fields; /* schema index of each column */
    int32_t *ids;
} batch_side;

/* One multi-valued field as CSR over the batch (offsets[0] = 0, n + 1 entries). */
typedef struct batch_multi {
    int field; /* schema index */
    field_side side;
    int64_t *offsets;
    int32_t *indices;
    float *weights;
} batch_multi;

typedef struct batch {
    int n;
    uint8_t *click, *conversion;
    int32_t *user, *item; /* user and item indices */
    int64_t *row;         /* the file row of each sample (for /truth lookups) */
    batch_side side[4];   /* indexed by field_side */
    int n_multi;
    batch_multi *multi;   /* every multi-valued field, schema order */
    int n_dense;
    float *dense;         /* n x n_dense or NULL */
} batch;

/* Allocates o's arrays for n rows of d's schema (side columns and multi
 * fields set, multi indices left NULL); free with batch_free. */
dmmp_status batch_alloc(const dataset *d, batch *o, int n);

/* The item corpus as a batch: every real item (dataset_first_entity: the
 * reserved unknown item 0 of imported data is left out), row r is item
 * item[r] (ascending), side[SIDE_ITEM] from /items/sparse; multi-valued
 * item fields are each item's bag in its first training sample (in file
 * order, the rule the importers use for /items/sparse; empty for an item
 * without one), found by one pass over the samples when the schema has such
 * a field; other sides have no columns. Reads the dataset: not while a
 * batcher on it is open. Free with batch_free. */
dmmp_status batch_item_corpus(const dataset *d, batch *out);

/* Turns corpus rows ids[0..n) (as topk_search returns them) into item
 * indices in place; negative entries (no item) stay. */
void batch_corpus_item_ids(const batch *corpus, int32_t *ids, int64_t n);

/* One query row per user with at least one sample in split (ascending user
 * index; the reserved unknown user of imported data is not one): side[SIDE_USER] from /users/sparse, user-side multi fields from
 * /users/multi, side[SIDE_CONTEXT] = each context field's default id (its
 * most frequent training value, /fields/default_id). No labels. Reads the
 * dataset: not while a batcher on it is open. Free with batch_free. */
dmmp_status batch_query_rows(const dataset *d, data_split split, batch *out);

/* Frees a batch made by batch_alloc, batch_item_corpus or batch_query_rows (NULL arrays are fine). */
void batch_free(batch *b);

#endif
