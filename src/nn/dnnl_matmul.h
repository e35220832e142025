/* One oneDNN matmul primitive with fixed shapes and the memory objects that
 * wrap its operands: C = A B (+ bias row) (then ReLU), or C += A B.
 *
 * Operands are row-major float buffers; a transposed operand is expressed
 * through strides, so x^T or W^T is read in place without a copy. The
 * primitive and memory objects are created once; each execution only swaps
 * the data handles. */
#ifndef DMMP_NN_DNNL_MATMUL_H
#define DMMP_NN_DNNL_MATMUL_H

#include "nn/dnnl_ctx.h"

typedef struct nn_matmul_shape {
    int m, k, n;      /* C is m x n, the reduction runs over k */
    int a_transposed; /* A is stored as a k x m row-major buffer */
    int b_transposed; /* B is stored as an n x k row-major buffer */
    int bias;         /* adds a bias row of n values to every row of C */
    int relu;         /* applies ReLU after the bias (fused post-op) */
    int accumulate;   /* C += A B instead of C = A B (fused sum post-op) */
} nn_matmul_shape;

typedef struct nn_matmul {
    nn_matmul_shape shape;
    dnnl_primitive_t prim;
    dnnl_memory_t a, b, bias, c;
} nn_matmul;

/* Builds the primitive and memory objects for shape; layer and role name the
 * operation in error messages. On failure *mm is left freed. */
dmmp_status nn_matmul_create(nn_matmul *mm, nn_ctx *ctx, const nn_matmul_shape *shape, const char *layer,
                             const char *role);

/* Runs the matmul on the given buffers (bias ignored unless shape.bias);
 * does not wait for the stream. */
dmmp_status nn_matmul_execute(nn_matmul *mm, nn_ctx *ctx, const float *a, const float *b, const float *bias,
                              float *c, const char *layer, const char *role);

/* Releases the primitive and memory objects (a zeroed or freed nn_matmul is fine). */
void nn_matmul_free(nn_matmul *mm);

#endif
