/* Walker's alias method (in Vose's numerically stable construction): a
 * table built once from n non-negative weights draws an index i with
 * probability w_i / sum(w) in O(1), with two uniform numbers from the
 * caller's stream. The popularity negatives of the towers draw items from
 * their training impressions this way (data/neg_sampler.h).
 *
 * Construction is exact up to double rounding: every column's acceptance
 * probability and alias are fixed by the weights alone, so the same weights
 * give the same table and, with the same stream, the same draws. */
#ifndef DMMP_CORE_ALIAS_H
#define DMMP_CORE_ALIAS_H

#include <stdint.h>

#include "core/rng.h"
#include "core/status.h"

typedef struct alias_table {
    int64_t n;       /* columns: the indices drawn are 0..n-1 */
    double *accept;  /* n: keep column i when u < accept[i] ... */
    int64_t *alias;  /* n: ... else draw alias[i] */
} alias_table;

/* Builds t from weights[0..n) (n >= 1, each finite and >= 0, their sum
 * > 0); an index of weight 0 is never drawn. DMMP_EINVAL naming the first
 * bad weight. On failure t is left empty. */
dmmp_status alias_build(alias_table *t, const double *weights, int64_t n);

/* One index drawn from t with two numbers of r. */
int64_t alias_draw(const alias_table *t, rng *r);

/* Frees the table (a zeroed one is fine). */
void alias_free(alias_table *t);

#endif
