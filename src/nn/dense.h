/* A fully connected layer y = act(x W + b) through oneDNN.
 *
 * Shapes: x [batch x in], W [in x out] row-major, b [out], y [batch x out].
 * Parameters and gradients live in caller-owned flat buffers (one parameter
 * buffer and one gradient buffer per model); the layer only points into them.
 * The forward is one matmul with bias and ReLU fused as post-ops; the
 * backward computes dx = dz W^T as a matmul that reads W^T in place through
 * strides, db as column sums of dz, summed per row tile of the dx matmul
 * (then in tile order) in the pass that masks dy by the ReLU, and dW =
 * x^T dz either as the sum of the row tiles' shares x_t^T dz_t, each taken
 * on the thread that has just masked that tile (simd/wgrad.h), added in
 * tile order once every tile is through, or as a oneDNN product after the
 * tiles (dense_set_shares; the first with AVX-512, the second with AVX2).
 * A layer of 1 to 4 outputs takes its dW in one narrow product after the
 * tiles (nn/narrow_matmul.h).
 *
 * Primitives are built in dense_init for max_batch. A smaller batch (the
 * last batch of an epoch) uses a second set built on its first use and kept
 * for later calls with that same size; fixed shapes were measured faster
 * than oneDNN runtime dimensions (see dense.c). A layer of 1 to 4 outputs
 * runs its three products on kernels of ours instead (nn/narrow_matmul.h). */
#ifndef DMMP_NN_DENSE_H
#define DMMP_NN_DENSE_H

#include "core/rng.h"
#include "core/status.h"
#include "nn/dnnl_ctx.h"
#include "nn/dnnl_matmul.h"

typedef enum { ACT_NONE = 0, ACT_RELU = 1 } nn_act;

/* The primitives of one layer for one batch size. */
typedef struct dense_plan {
    int batch;                /* 0 while not built */
    nn_matmul forward;        /* y = act(x W + b) */
    nn_matmul backward_data;  /* dx = dz W^T */
    nn_matmul backward_data_accumulate; /* dx += dz W^T */
    nn_matmul backward_weights;         /* dW += x^T dz */
} dense_plan;

typedef struct dense_layer {
    nn_ctx *ctx;
    char name[64];
    int in, out, max_batch;
    nn_act act;
    float *W, *b, *dW, *db;
    float *dz;        /* max_batch x out: dy masked by the ReLU (owned; a hidden layer of a chain that takes
                       * shares masks its dy in place instead) */
    float *db_part;   /* the bias gradient's column sums per row tile (NN_MATMUL_MAX_TILES x out, owned) */
    float *dw_part;   /* dw_parts x in x out: the weight gradient's shares of row tiles 1, 2, ... (owned) */
    int dw_parts;     /* row tiles beyond the first that dw_part has room for */
    int shares;       /* 1: dW as the row tiles' shares (dense_set_shares); 0: dW by oneDNN after the tiles */
    dense_plan full;  /* for max_batch, built at init */
    dense_plan tail;  /* for one smaller batch, built on first use */
    int tail_builds;  /* how often the tail set was (re)built, for diagnostics */
} dense_layer;

/* Builds the layer over caller-owned W [in x out], b [out], dW, db (all
 * required, not copied); name labels error messages. On failure nothing
 * stays allocated. */
dmmp_status dense_init(dense_layer *l, nn_ctx *ctx, const char *name, int in, int out, int max_batch, nn_act act,
                       float *W, float *b, float *dW, float *db);

/* on = 1: the backward takes dW as the sum of the row tiles' shares
 * x_t^T dz_t (simd/wgrad.h), each on the thread that has just masked the
 * tile, added in tile order after the tiles; on = 0: as one oneDNN product
 * per row tile of dW after the tiles. dense_init sets what is faster with
 * the active ISA (shares with AVX-512, see dense.c); the bits differ
 * between the two, never with the thread count. A layer of 1 to 4 outputs
 * always takes the narrow product. Allocates (dw_parts x in x out floats)
 * or frees the shares' buffer; when that allocation fails the layer stays
 * on oneDNN's product and the status says why. */
dmmp_status dense_set_shares(dense_layer *l, int on);

/* y [batch x out] = act(x W + b) for 1 <= batch <= max_batch. */
dmmp_status dense_forward(dense_layer *l, const float *x, float *y, int batch);

/* The forward's matmul as a job for nn_matmul_execute_group (the primitives
 * for batch are built if they are new), to run beside other layers' forwards. */
dmmp_status dense_forward_job(dense_layer *l, const float *x, float *y, int batch, nn_matmul_job *job);

/* Given x and y of the forward and dy = dL/dy, ADDS dL/dW to dW and dL/db to
 * db; writes dL/dx to dx (overwrite, or add when accumulate_dx is 1), skipped
 * when dx is NULL. y may be NULL when act is ACT_NONE. */
dmmp_status dense_backward(dense_layer *l, const float *x, const float *y, const float *dy, float *dx,
                           int accumulate_dx, int batch);

/* Layers in a dense_chain at most. */
#define DENSE_CHAIN_MAX 16

/* The backward through n layers stacked in order (layers[i] reads the
 * output y[i - 1] of the layer before it, layers[0] reads x; y[i] is
 * layers[i]'s output): from dy = dL/d(y[n - 1]), ADDS every layer's dL/dW
 * and dL/db to its dW and db, and writes dL/dx to dx (overwrite, or add when
 * accumulate_dx is 1), skipped when dx is NULL. Every layer but the last
 * must have a ReLU. scratch holds two buffers of batch x (the widest hidden
 * layer) for the gradients between layers (NULL when n is 1). */
typedef struct dense_chain {
    dense_layer *layers;
    int n;
    const float *x;
    const float *const *y;
    const float *dy;
    float *dx;
    int accumulate_dx;
    float *const *scratch;
} dense_chain;

/* Chains in one region of dense_backward_chains at most (more go in groups of this many). */
#define DENSE_GROUP_MAX 16

/* The backward of every chain, as if run one after another in order, in
 * one parallel region: each row tile of the dx matmuls (their heights depend
 * on the batch size alone, so a tile is the same rows in every layer of
 * every chain) goes through every chain's layers, chain after chain, on one
 * thread: its ReLU masks, bias sums, dx and, for a layer that takes shares,
 * its share of dW. After a barrier, the pieces of the shares' sums and the
 * dW tiles of the other layers are dealt as threads free up, the largest
 * layers first, while one thread adds the bias sums. The db sums and dW
 * shares are taken per tile and added in tile order, and several chains may write one dx (the
 * first overwriting, the next adding), each tile's rows in chain order: the
 * bits are those of the chains run one by one, whatever the thread count.
 * No chain may read what another chain of the call writes (a dx that
 * several chains write is read by none of them), no layer may be in two
 * chains (checked), no two layers may share their dW or db, and every layer
 * must be on one nn_ctx (checked). The row-tile phase keeps at most as many
 * threads busy as a matmul of batch rows has tiles (nn_matmul_tile_rows);
 * the phase after it, as many as there are pieces of the shares' sums and
 * dW tiles of the other layers. */
dmmp_status dense_backward_chains(const dense_chain *chains, int n_chains, int batch);

/* Releases primitives and scratch buffers (a zeroed or freed layer is fine). */
void dense_free(dense_layer *l);

/* Fills W uniformly (He for ReLU: +-sqrt(6/in); Xavier/Glorot otherwise:
 * +-sqrt(6/(in+out))) and sets b to 0. */
void dense_init_weights(float *W, float *b, int in, int out, nn_act act, rng *r);

#endif
