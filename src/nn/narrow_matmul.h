/* The matmuls with a side of at most NARROW_MAX (a linear layer with 1 to
 * 4 outputs: a gate's logits over the experts, a tower's score) run on the
 * kernels of simd/narrow.h instead of a oneDNN primitive. Per
 * `ONEDNN_VERBOSE` oneDNN ran the gates' 368 x 3 forward, input gradient
 * and weight gradient at 17-39 GFLOP/s a core and the 1- and 2-output
 * layers at 6-20, where the step's wide layers run at 100-200.
 *
 * nn_matmul (nn/dnnl_matmul.h) asks narrow_matmul_kind at creation and,
 * for a narrow shape, runs its row tiles through narrow_matmul_tile; the
 * tiles, their heights and the threads that run them stay as for oneDNN.
 * Every element of C is its own sum in a fixed order, so the bits do not
 * depend on the tiles or the thread count either. */
#ifndef DMMP_NN_NARROW_MATMUL_H
#define DMMP_NN_NARROW_MATMUL_H

#include <stddef.h>

#include "nn/dnnl_matmul.h"

typedef enum narrow_kind {
    NARROW_NONE = 0, /* oneDNN runs it */
    NARROW_DOT,      /* C = A B, B of at most NARROW_MAX columns: bias, ReLU and accumulate allowed */
    NARROW_AXPY,     /* C = A B, A of at most NARROW_MAX columns: accumulate allowed */
    NARROW_OUTER,    /* C = A^T B, B of at most NARROW_MAX columns: accumulate allowed */
} narrow_kind;

/* Which narrow kernel computes shape, NARROW_NONE for oneDNN's. */
narrow_kind narrow_matmul_kind(const nn_matmul_shape *shape);

/* Bytes of a worker slot's scratchpad a tile of shape needs (a transposed
 * copy of B when the kernel wants B the other way round; 0 when not). */
size_t narrow_matmul_scratch_bytes(const nn_matmul_shape *shape, narrow_kind kind);

/* Rows [row0, row0 + rows) of C, with A, B and the bias as
 * nn_matmul_run_tile takes them; scratch holds
 * narrow_matmul_scratch_bytes. */
void narrow_matmul_tile(narrow_kind kind, const nn_matmul_shape *shape, int row0, int rows, const float *a,
                        const float *b, const float *bias, float *c, void *scratch);

#endif
