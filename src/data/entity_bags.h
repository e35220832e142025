/* The multi-valued bags of each user (or item), as the importers keep them
 * for /users/multi: an entity's bag of field k is the one of its first
 * training row that offers it; later offers are ignored, like
 * entity_table_offer for the single-valued fields. */
#ifndef DMMP_DATA_ENTITY_BAGS_H
#define DMMP_DATA_ENTITY_BAGS_H

#include <stdint.h>

#include "core/status.h"

typedef struct entity_bags {
    int n_fields;
    int64_t cap;      /* entities with room in off/len */
    int64_t *off;     /* cap x n_fields: start in idx/wt */
    int32_t *len;     /* cap x n_fields: -1 = not set yet */
    int32_t *idx;
    float *wt;
    int64_t n, pool_cap;
} entity_bags;

dmmp_status entity_bags_init(entity_bags *b, int n_fields);
void entity_bags_free(entity_bags *b);

/* Keeps (idx, wt)[0 .. n) as entity's bag of field k unless it has one. */
dmmp_status entity_bags_offer(entity_bags *b, int32_t entity, int k, const int32_t *idx, const float *wt, int64_t n);

/* Field k as CSR over entities 0 .. n_entities (an entity never offered has
 * an empty bag): malloc'd arrays, offsets n_entities + 1 from 0. */
dmmp_status entity_bags_csr(const entity_bags *b, int k, int64_t n_entities, int64_t **offsets, int32_t **indices,
                            float **weights);

#endif
