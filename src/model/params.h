/* One parameter buffer and one gradient buffer per model.
 *
 * Building a model is two passes over the same code: a planning pass that
 * only counts (param_take returns offsets), then, once the buffers exist, a
 * binding pass that turns offsets into pointers. Every block is padded to 16
 * floats so each layer's weights start 64-byte aligned. */
#ifndef DMMP_MODEL_PARAMS_H
#define DMMP_MODEL_PARAMS_H

#include <stddef.h>

#include "core/status.h"

typedef struct param_buffer {
    float *values; /* total floats, 64-byte aligned */
    float *grads;  /* same shape as values */
    size_t total;  /* floats in use so far (planning) or in all (bound) */
    size_t capacity;
} param_buffer;

/* Returns *cursor and advances it past a block of n floats padded to 16:
 * the one layout rule, shared by planning (param_take) and binding. */
size_t param_block(size_t *cursor, size_t n);

/* Reserves n floats; returns the offset of the block (padded to 16 floats). */
size_t param_take(param_buffer *p, size_t n);

/* Allocates values and grads for the planned total (zeroed). */
dmmp_status param_alloc(param_buffer *p);

/* Pointer to the values / grads block at offset. */
static inline float *param_values(const param_buffer *p, size_t offset) { return p->values + offset; }
static inline float *param_grads(const param_buffer *p, size_t offset) { return p->grads + offset; }

/* Zeroes every gradient. */
void param_zero_grads(param_buffer *p);

/* Frees both buffers. */
void param_free(param_buffer *p);

#endif
