/* The gradient exchange of data-parallel training (README: "Several
 * processes"): after every rank has run the forward and backward passes of
 * its own share of the step's rows, the ranks combine their gradients so
 * that every rank applies the same update, and the replicas of the model
 * stay bit-identical.
 *
 * With n_r rows on rank r and N = sum n_r, the step's loss is the mean over
 * all N rows, so its gradient is sum_r (n_r / N) g_r, where g_r is rank r's
 * gradient of its own mean loss:
 *   - dense parameters: every rank scales its flat gradient buffer by
 *     n_r / N and the buffers are summed (core/dist: dist_sum_f32_start, in rank
 *     order, the same bits on every rank);
 *   - embedding tables (replicated: every rank holds every row): every rank
 *     sends the rows it touched and their gradients to all (one gather for
 *     all tables), and each rank merges them in rank order into one
 *     row-sparse gradient per table, sum_r (n_r / N) g_r[row] over the ranks
 *     that touched the row; the lazy optimisers then update the union of
 *     the rows, the same on every rank;
 *   - sharded tables (model.table_placement; model/table_shard.h): every
 *     rank sends each row's gradient to the row's owner (one alltoallv for
 *     all sharded tables), and the owner merges the ranks' rows in rank
 *     order with the same arithmetic, so its rows get the replicated
 *     table's update bit for bit; the optimiser then steps the owner's
 *     rows only;
 *   - the loss terms: the n_r-weighted mean, so the epoch's loss sums, the
 *     loss weighting and the run record agree on every rank.
 * A rank without rows in a step (its share of the epoch ran out first)
 * takes part with n_r = 0 and no gradient. With one process every call is
 * the identity and nothing is exchanged. */
#ifndef DMMP_TRAIN_GRAD_EXCHANGE_H
#define DMMP_TRAIN_GRAD_EXCHANGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/dist.h"
#include "core/status.h"
#include "model/features.h"
#include "model/model.h"

/* What the exchange cost since the last reset (benchmarks, logs). Bytes are
 * those each rank receives from the others, which for a ring or pairwise
 * algorithm is also what it sends. */
typedef struct grad_exchange_stats {
    int64_t steps;
    double dense_bytes;   /* per rank: 2 (N - 1) / N of the dense gradient per step */
    double sparse_bytes;  /* per rank: the other ranks' rows and gradients (replicated tables) */
    double sharded_bytes; /* per rank: the other ranks' gradients of this rank's rows (sharded tables) */
    double seconds;       /* wall time inside the exchange (communication and merge) */
    double merge_seconds; /* of which: merging the gathered sparse rows */
} grad_exchange_stats;

typedef struct grad_exchange {
    int ranks, rank;
    dist_sum_op *dense;      /* the sum of the dense gradients */
    uint8_t *send, *recv;    /* packed sparse gradients: this rank's, every rank's */
    int64_t send_cap, recv_cap;
    size_t *bytes;           /* ranks: packed bytes of each rank */
    uint8_t *shard_send, *shard_recv; /* sharded tables: the packets to every owner, from every rank */
    int64_t shard_send_cap, shard_recv_cap;
    size_t *shard_send_bytes, *shard_recv_bytes; /* ranks */
    sparse_grad *merged;     /* one per table: the merge's output, swapped into the table */
    struct rank_part *parts; /* tables x ranks: where the merge reads each rank's rows */
    int n_tables;
    grad_exchange_stats stats;
} grad_exchange;

/* Sets up the exchange for the tables of f and the parameters of m on the
 * ranks of this job (one process: nothing to exchange). */
dmmp_status grad_exchange_init(grad_exchange *gx, const features *f, const model *m);

/* Combines the step's gradients (see above): m->params.grads, every
 * table's sparse gradient in f and m's term losses become those of the
 * whole step on every rank. n_local is this rank's rows, n_total the sum
 * over the ranks (> 0). */
dmmp_status grad_exchange_step(grad_exchange *gx, features *f, model *m, int n_local, int64_t n_total);

/* 1 when the job has more than one rank (the exchange does something). */
static inline int grad_exchange_active(const grad_exchange *gx) { return gx && gx->ranks > 1; }

void grad_exchange_free(grad_exchange *gx);

#endif
