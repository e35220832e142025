/* The in-batch score matrix of the towers: every user of a batch against
 * every item of the same batch, S = U V^T, one oneDNN matmul (not rows^2
 * dot products), and its backward, one matmul per input.
 *
 * Shapes: u and v are rows x k row-major (the user and item tower outputs of
 * the batch's rows), S is rows x rows with S[i][j] = <u_i, v_j>. V^T and
 * dS^T are read in place through strides (nn/dnnl_matmul.h), so nothing is
 * copied. Primitives for max_rows are built at init; one smaller row count
 * (the last batch of an epoch) gets a second set, built on its first use and
 * kept while that count repeats (as the dense layers do, nn/dense.h). The
 * result does not depend on the thread count. */
#ifndef DMMP_NN_SCORE_MATRIX_H
#define DMMP_NN_SCORE_MATRIX_H

#include "core/status.h"
#include "nn/dnnl_ctx.h"
#include "nn/dnnl_matmul.h"

typedef struct score_matrix_plan {
    int rows;              /* 0 while not built */
    nn_matmul forward;     /* S = U V^T */
    nn_matmul grad_u[2];   /* dU = dS V; [1]: dU += dS V */
    nn_matmul grad_v[2];   /* dV = dS^T U; [1]: dV += dS^T U */
} score_matrix_plan;

typedef struct score_matrix {
    nn_ctx *ctx;
    char name[64];
    int k, max_rows;
    score_matrix_plan full, tail;
} score_matrix;

/* Builds the primitives for up to max_rows rows of width k (both >= 1);
 * name labels error messages. On failure nothing stays allocated. */
dmmp_status score_matrix_init(score_matrix *s, nn_ctx *ctx, const char *name, int max_rows, int k);

/* scores [rows x rows] = u v^T, OVERWRITTEN; 1 <= rows <= max_rows. */
dmmp_status score_matrix_forward(score_matrix *s, const float *u, const float *v, int rows, float *scores);

/* From dscores = dL/dS [rows x rows]: du = dS v and dv = dS^T u, each
 * OVERWRITTEN, or ACCUMULATED (+=) when its accumulate flag is 1; a NULL du
 * or dv is skipped. */
dmmp_status score_matrix_backward(score_matrix *s, const float *u, const float *v, const float *dscores, int rows,
                                  float *du, int accumulate_u, float *dv, int accumulate_v);

/* Releases the primitives (a zeroed or freed one is fine). */
void score_matrix_free(score_matrix *s);

#endif
