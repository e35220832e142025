/* Which items the towers' sampled negatives are, and how likely a batch
 * holds an item.
 *
 * Draws (student.negatives = random | popularity): for every impression of
 * a training step, ratio items, uniform over the real items of the corpus
 * or in proportion to their training impressions (an alias table, built
 * once); an item of no training impression is then never drawn, and the
 * reserved unknown item 0 of imported data (dataset_first_entity) is never
 * drawn by either. A draw equal to the impression's own item is drawn again
 * (up to NEG_SAMPLER_REDRAWS times), so a pair with click 0 never repeats a
 * shown item with its label. The numbers come from the stream (seed, step)
 * alone and are drawn on the calling thread: the same seed and step give
 * the same items whatever the thread count, and a resumed run, which
 * restores the step, continues the same stream.
 *
 * log q (in_batch with student.logq_correction): q(i) = the share of the
 * training impressions that show item i, the probability that a row of a
 * training batch holds it. */
#ifndef DMMP_DATA_NEG_SAMPLER_H
#define DMMP_DATA_NEG_SAMPLER_H

#include <stdint.h>

#include "core/alias.h"
#include "core/status.h"
#include "data/dataset.h"

#define NEG_SAMPLER_REDRAWS 16

typedef enum neg_draw_kind { NEG_DRAW_UNIFORM = 0, NEG_DRAW_POPULARITY = 1 } neg_draw_kind;

typedef struct neg_sampler {
    neg_draw_kind kind;
    uint64_t seed;
    int32_t first;      /* the lowest real item (1 when item 0 is the unknown one) */
    int32_t n_items;    /* items are first..n_items-1 */
    alias_table alias;  /* popularity: over the training impressions of items 0..n_items-1 */
    float *neg_log_q;   /* per item: -log q(i); q of an item never shown is taken as half an impression */
    int64_t train_rows; /* training impressions counted */
} neg_sampler;

/* Counts d's training impressions per item (not while a batcher on d is
 * open) and builds the draws of kind from the stream of seed. A dataset
 * without a real item or without training rows is DMMP_EFORMAT naming it. */
dmmp_status neg_sampler_init(neg_sampler *s, const dataset *d, neg_draw_kind kind, uint64_t seed);

/* items[b * ratio + r] for b < rows, r < ratio: the negatives of row b,
 * whose own item is own[b], at optimiser step `step`. */
void neg_sampler_draw(const neg_sampler *s, int64_t step, const int32_t *own, int rows, int ratio, int32_t *items);

/* neg_log_q[b] = -log q(items[b]) for b < n. */
void neg_sampler_log_q(const neg_sampler *s, const int32_t *items, int n, float *neg_log_q);

void neg_sampler_free(neg_sampler *s);

#endif
