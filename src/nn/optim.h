/* Optimisers: dense Adam / AdamW over a model's flat parameter buffer, and
 * lazy sparse Adam / Adagrad over embedding tables that touch only the rows a
 * batch produced gradients for (src/nn/sparse_grad.h).
 *
 * All state (moments, accumulators, step counts) lives in plain arrays in the
 * structs below so a checkpoint can save and restore it verbatim. The config
 * inside a state may be edited between steps (e.g. a learning-rate schedule
 * writing cfg.lr). Large updates run under OpenMP with a static schedule; each
 * element's update is independent, so results do not depend on the number of
 * threads. */
#ifndef DMMP_NN_OPTIM_H
#define DMMP_NN_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "nn/sparse_grad.h"

/* ---- dense Adam / AdamW ------------------------------------------------ */

typedef struct adam_config {
    float lr;           /* learning rate (> 0) */
    float beta1, beta2; /* moment decay rates, in [0, 1) */
    float eps;          /* added to sqrt(v_hat) (> 0) */
    float weight_decay; /* >= 0; meaning depends on decoupled */
    int decoupled;      /* 1: AdamW, w -= lr*weight_decay*w beside the Adam step
                         * (Loshchilov & Hutter); 0: Adam with L2, weight_decay*w
                         * added to the gradient before the moments */
    float clip_norm;    /* > 0: scale g by clip_norm / ||g||_2 when ||g||_2 exceeds
                         * it (clipping by global norm); 0: no clipping */
} adam_config;

typedef struct adam_state {
    adam_config cfg;
    size_t n;              /* parameters */
    float *m;              /* first moments, n floats (64-byte aligned) */
    float *v;              /* second moments, n floats */
    int64_t step;          /* updates applied so far (t of the bias correction) */
    double last_grad_norm; /* ||g||_2 before clipping of the last step (adam_step
                            * computes it only when clipping is on) */
} adam_state;

/* Adam defaults of Kingma & Ba: lr 1e-3, betas 0.9/0.999, eps 1e-8, no decay, no clipping. */
adam_config adam_config_default(void);

/* Checks c and allocates zeroed moments for n parameters (step 0). */
dmmp_status adam_init(adam_state *s, size_t n, const adam_config *c);

/* One update of w[0..n) from gradient g[0..n) with bias correction at step+1.
 * Fails with DMMP_ENUMERIC, leaving w and the state untouched, when clipping
 * is on and ||g|| is not finite. */
dmmp_status adam_step(adam_state *s, float *w, const float *g);

/* adam_step with clipping against a norm the caller computed (e.g. over the
 * dense and embedding gradients together, with optim_sum_squares); the norm
 * is recorded even when clipping is off. DMMP_ENUMERIC, changing nothing, if
 * grad_norm is negative or not finite. */
dmmp_status adam_step_with_norm(adam_state *s, float *w, const float *g, double grad_norm);

/* Frees the moments (the struct itself is the caller's). */
void adam_free(adam_state *s);

/* ---- lazy sparse optimisers for embedding tables ------------------------ */

typedef enum sparse_opt_kind {
    SPARSE_OPT_ADAM = 0,   /* lazy Adam: per-row moments and per-row step counts */
    SPARSE_OPT_ADAGRAD = 1 /* Adagrad: per-element squared-gradient accumulator */
} sparse_opt_kind;

typedef struct sparse_opt_config {
    float lr;                  /* learning rate (> 0) */
    float beta1, beta2;        /* Adam only, in [0, 1) */
    float eps;                 /* > 0 */
    float initial_accumulator; /* Adagrad only: starting value of every accumulator (>= 0) */
    float l2;                  /* >= 0: l2 * w added to the gradient of touched rows only */
} sparse_opt_config;

typedef struct sparse_opt {
    sparse_opt_kind kind;
    sparse_opt_config cfg;
    int64_t rows; /* table rows */
    int dim;      /* table width */
    /* Lazy Adam: m and v (rows x dim) and steps (rows): how many times each
     * row was updated. A row's bias correction uses its own count, and its m
     * and v are not decayed in steps that do not touch it, as in TensorFlow's
     * LazyAdam. With a global step, a rare row's first update would be
     * divided by (1 - beta^t) for a large t, i.e. barely corrected, while
     * its m is still near zero: the row would learn far more slowly than the
     * textbook first step. The per-row count makes every row's k-th update
     * exactly dense Adam's k-th update on that row's own gradient sequence. */
    float *m;
    float *v;
    int64_t *steps;
    /* Adagrad: accumulator (rows x dim), starting at initial_accumulator. */
    float *accum;
} sparse_opt;

/* Defaults for kind: lazy Adam as Kingma & Ba (lr 1e-3, 0.9, 0.999, 1e-8);
 * Adagrad as TensorFlow (lr 1e-3, initial accumulator 0.1, eps 1e-7); l2 0. */
sparse_opt_config sparse_opt_config_default(sparse_opt_kind kind);

/* Checks c and allocates the state of a rows x dim table. */
dmmp_status sparse_opt_init(sparse_opt *o, sparse_opt_kind kind, int64_t rows, int dim, const sparse_opt_config *c);

/* Updates exactly the rows listed in g (ascending, distinct, in range, width
 * dim); every other row of table and state is left bit-identical. */
dmmp_status sparse_opt_step(sparse_opt *o, float *table, const sparse_grad *g);

/* Frees the state (the struct itself is the caller's). */
void sparse_opt_free(sparse_opt *o);

/* ---- shared ------------------------------------------------------------- */

/* Sum of x[i]^2 over n floats in double: SIMD, OpenMP over fixed blocks
 * combined in order, so the result does not depend on the thread count.
 * Callers clipping by the norm of several buffers add these up. */
double optim_sum_squares(const float *x, size_t n);

#endif
