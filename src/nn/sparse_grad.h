/* Row-sparse gradients of an embedding table: only the rows a batch touched.
 *
 * Produced by embedding_*_backward (src/nn/embedding.h) and consumed by the
 * lazy sparse optimisers (src/nn/optim.h), which update exactly these rows. */
#ifndef DMMP_NN_SPARSE_GRAD_H
#define DMMP_NN_SPARSE_GRAD_H

#include <stdint.h>

#include "core/status.h"

typedef struct sparse_grad {
    int32_t *rows;     /* n_rows distinct table rows, ascending */
    float *values;     /* n_rows x dim gradient rows, row-major, 64-byte aligned */
    int64_t n_rows;    /* rows filled by the last backward */
    int64_t capacity;  /* rows allocated */
    int dim;           /* embedding width */
} sparse_grad;

/* Allocates room for capacity rows of width dim (capacity may grow later). */
dmmp_status sparse_grad_init(sparse_grad *g, int64_t capacity, int dim);

/* Ensures room for at least capacity rows, keeping nothing. */
dmmp_status sparse_grad_reserve(sparse_grad *g, int64_t capacity);

/* Frees the buffers (the struct itself is the caller's). */
void sparse_grad_free(sparse_grad *g);

#endif
