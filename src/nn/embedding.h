/* Embedding tables: single-valued lookup, pooled (sum or mean) lookup of
 * weighted multi-valued fields, and their row-sparse backward passes.
 *
 * A model row concatenates many fields' embeddings, so every forward writes
 * into a column slice of a wider row-major buffer (out already points at the
 * field's first column, rows out_stride floats apart) and every backward reads
 * dout the same way. Forward runs batch rows in parallel (OpenMP); backward is
 * deterministic: the gradient of a row sums its contributions in batch order,
 * whatever the thread count, so repeated runs are bit-identical.
 *
 * Backward finds the distinct rows with a stable LSD radix sort of the batch's
 * ids (digits of up to 12 bits, as many passes as the largest id needs, so
 * two for tables up to 16M rows; passes whose digit is the same for every id
 * are skipped). It needs no memory sized to the
 * table, and the sorted order groups each row's contributions for the
 * parallel accumulation. */
#ifndef DMMP_NN_EMBEDDING_H
#define DMMP_NN_EMBEDDING_H

#include <stdint.h>

#include "core/rng.h"
#include "core/status.h"
#include "nn/sparse_grad.h"

typedef enum { POOL_SUM = 0, POOL_MEAN = 1 } pool_mode;

typedef struct embedding_table {
    char name[64];  /* names the table in error messages, e.g. "user_id" */
    int64_t rows;   /* number of ids; row 0 is the "unknown" id */
    int dim;        /* embedding width d */
    float *weight;  /* rows x dim, row-major, owned by the caller */
} embedding_table;

/* Reusable buffers of the backward passes: sized for a number of ids at init,
 * grown (never shrunk) only when a batch has more ids. One scratch serves one
 * backward call at a time. */
typedef struct embedding_scratch {
    int64_t capacity;    /* ids (occurrences) the buffers hold */
    int64_t batch_capacity; /* batch rows the per-bag buffers hold */
    uint64_t *pairs;     /* id << 32 | position of the id in the input; sorted */
    uint64_t *pairs_tmp; /* radix sort ping-pong buffer */
    int32_t *src_row;    /* batch row of each sorted id */
    int32_t *slot;       /* distinct-row index of each sorted id */
    float *coef;         /* weight (times 1 / bag weight for mean) of each sorted id */
    int64_t *run_start;  /* first sorted id of each distinct row, plus an end mark */
    int32_t *bag_of;     /* batch row of each position of a bag's indices */
    float *bag_scale;    /* per batch row: 1 (sum) or 1 / bag weight (mean) */
    uint32_t *hist;      /* radix digit histograms, one per pass */
} embedding_scratch;

/* Describes a table over a caller-owned weight buffer of rows x dim floats;
 * rows in [1, 2^31] (ids are int32), dim >= 1. Copies (and truncates to 63
 * characters) the name. */
dmmp_status embedding_init(embedding_table *t, const char *name, int64_t rows, int dim, float *weight);

/* Fills every row, row 0 included, with N(0, stddev^2) values drawn from r. */
void embedding_init_weights(embedding_table *t, float stddev, rng *r);

/* Draws the values embedding_init_weights would draw for all t->rows rows
 * (the same stream, so r ends where it would) but stores only rows
 * [lo, hi), as weight rows 0 .. hi - lo: one rank's block of a sharded
 * table, holding exactly what the whole table would hold there. */
void embedding_init_weights_block(embedding_table *t, float stddev, rng *r, int64_t lo, int64_t hi);

/* out[b * out_stride + 0..dim) = weight[ids[b]] for b in [0, batch). An id
 * outside [0, rows) is DMMP_EINVAL naming the table, the id and the batch row;
 * out is then unchanged. */
dmmp_status embedding_forward_single(const embedding_table *t, const int32_t *ids, int batch, float *out,
                                     int out_stride);

/* Pooled lookup of a weighted multi-valued field given as CSR: bag b holds
 * indices[offsets[b] .. offsets[b+1]) with weights at the same positions
 * (weights NULL means all 1), offsets[0] = 0. SUM writes sum_k w_k E[i_k];
 * MEAN divides that by sum_k w_k (the count when weights is NULL). An empty
 * bag, or a MEAN bag whose weights sum to 0, gives zeros. */
dmmp_status embedding_forward_bag(const embedding_table *t, const int64_t *offsets, const int32_t *indices,
                                  const float *weights, int batch, pool_mode mode, float *out, int out_stride);

/* Allocates scratch for batches of up to max_batch rows holding up to max_ids
 * ids in all (max_ids = max_batch for a single-valued field); it grows later if
 * a batch needs more. No buffer depends on the table's row count. */
dmmp_status embedding_scratch_init(embedding_scratch *s, int64_t max_ids, int max_batch);

/* Frees the scratch buffers (the struct itself is the caller's). */
void embedding_scratch_free(embedding_scratch *s);

/* Gradient of embedding_forward_single with respect to the weights given
 * dL/dout (rows dout_stride floats apart): g receives one row per distinct id,
 * ascending, duplicates summed in batch order. g must have been initialised
 * with the table's dim; it grows as needed. */
dmmp_status embedding_backward_single(const embedding_table *t, const int32_t *ids, int batch, const float *dout,
                                      int dout_stride, sparse_grad *g, embedding_scratch *s);

/* Gradient of embedding_forward_bag (same arguments) with respect to the
 * weights: one row per distinct index present in the batch, ascending. */
dmmp_status embedding_backward_bag(const embedding_table *t, const int64_t *offsets, const int32_t *indices,
                                   const float *weights, int batch, pool_mode mode, const float *dout,
                                   int dout_stride, sparse_grad *g, embedding_scratch *s);

#endif
