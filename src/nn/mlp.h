/* A multi-layer perceptron: dense layers with ReLU between them; the last
 * layer's activation is the caller's choice. The MLP owns its intermediate
 * activations and gradient scratch; parameters and gradients live in
 * caller-owned flat buffers laid out layer after layer as W_0, b_0, W_1, b_1, ... */
#ifndef DMMP_NN_MLP_H
#define DMMP_NN_MLP_H

#include <stddef.h>

#include "core/rng.h"
#include "core/status.h"
#include "nn/dense.h"

typedef struct mlp {
    char name[64];
    int in, n_layers, max_batch;
    int *dims;            /* n_layers output widths */
    dense_layer *layers;  /* n_layers */
    float **act;          /* act[i]: max_batch x dims[i], output of layer i */
    float *grad[2];       /* max_batch x widest hidden layer: dL/d(hidden), a chain's two scratch buffers */
} mlp;

/* Number of floats of the parameters (equally of the gradients) of an MLP
 * with input width in and output widths dims[0..n_layers). */
size_t mlp_param_count(int in, const int *dims, int n_layers);

/* Builds the MLP over params and grads (mlp_param_count floats each, not
 * copied); hidden layers use ReLU, the last uses last_act. Layers are named
 * "<name>.<index>" in error messages. On failure nothing stays allocated. */
dmmp_status mlp_init(mlp *m, nn_ctx *ctx, const char *name, int in, const int *dims, int n_layers, int max_batch,
                     nn_act last_act, float *params, float *grads);

/* Runs x [batch x in] through every layer; the result is mlp_output(m). */
dmmp_status mlp_forward(mlp *m, const float *x, int batch);

/* mlp_forward_group runs at most this many MLPs in one region (more go in groups of this many). */
#define MLP_GROUP_MAX 16
/* Layers of one MLP at most. */
#define MLP_MAX_LAYERS DENSE_CHAIN_MAX

/* mlp_forward of ms[k] on xs[k] for k < n, side by side: one parallel
 * region in which each row tile of the batch of each MLP goes through all of
 * that MLP's layers on one thread (the tile heights depend on the batch size
 * alone, so a tile is the same rows in every layer), the (MLP, tile) chains
 * dealt to the threads as they free up. The same results as n calls of
 * mlp_forward, with one fork and join instead of one per layer. The MLPs
 * must share one nn_ctx, and none may read another's output. */
dmmp_status mlp_forward_group(mlp *const *ms, const float *const *xs, int n, int batch);

/* The output of the last mlp_forward: batch x mlp_out_dim(m), row-major. */
const float *mlp_output(const mlp *m);

/* Width of the output (dims[n_layers - 1]). */
int mlp_out_dim(const mlp *m);

/* Backpropagates dy = dL/d(output) of the last mlp_forward with the same x
 * and batch: ADDS every layer's dL/dW and dL/db to grads; writes dL/dx to dx
 * (overwrite, or add when accumulate_dx is 1), skipped when dx is NULL. */
dmmp_status mlp_backward(mlp *m, const float *x, const float *dy, float *dx, int accumulate_dx, int batch);

/* The chain dense_backward_chains runs for mlp_backward(m, x, dy, dx,
 * accumulate_dx, batch), to run beside other chains of the same batch. */
dense_chain mlp_chain(mlp *m, const float *x, const float *dy, float *dx, int accumulate_dx);

/* Initialises every layer's weights (dense_init_weights) from r. */
void mlp_init_weights(mlp *m, rng *r);

/* Releases layers and buffers (a zeroed or freed mlp is fine). */
void mlp_free(mlp *m);

#endif
