/* One oneDNN matmul with fixed shapes and the memory objects that wrap its
 * operands: C = A B (+ bias row) (then ReLU), or C += A B.
 *
 * Operands are row-major float buffers; a transposed operand is expressed
 * through strides, so x^T or W^T is read in place without a copy. The
 * primitives and memory objects are created once; each execution only swaps
 * the data handles.
 *
 * The result does not depend on the number of threads. oneDNN's own
 * parallel split of a matmul depends on the team size (its AVX2 gemm blocks
 * the rows and columns by thread count, which changes the order of the
 * floating-point sums in the last bits), so C is cut here into row tiles
 * whose height depends only on the shape; every tile runs single-threaded on
 * its own stream and scratchpad, and the tiles are spread over the threads.
 * The same shapes and inputs give the same bits with 1 thread or 64; a
 * matmul keeps at most as many threads busy as it has tiles (four up to
 * 1024 rows, at most NN_MATMUL_MAX_TILES: nn_matmul_tile_rows). Which
 * thread runs a tile does not change its bits, so the tiles of several
 * independent matmuls can share one parallel region (the layers' dW of the
 * chains of a backward; callers that deal tiles themselves run an MLP's row
 * tiles through every layer, nn/mlp.c and nn/dense.c): one fork and one
 * join instead of one per matmul, and a thread that finishes its share
 * early takes other tiles. Against oneDNN's own
 * threading, bench train (bench_default shapes, 2 threads, Intel Xeon, three
 * alternating runs in one quiet window, medians): 24.6k vs 24.6k samples/s
 * with oneDNN limited to AVX2, 31.8k vs 31.7k with AVX-512.
 *
 * A shape with a side of at most 4 (a layer with 1 to 4 outputs) gets no
 * primitive: the same tiles run on the kernels of simd/narrow.h
 * (nn/narrow_matmul.h).
 */
#ifndef DMMP_NN_DNNL_MATMUL_H
#define DMMP_NN_DNNL_MATMUL_H

#include "nn/dnnl_ctx.h"

/* Threads that work on the tiles of one matmul or one group at a time. */
#define NN_MATMUL_MAX_TEAM NN_CTX_TEAM_SLOTS
/* A matmul has at most this many row tiles. */
#define NN_MATMUL_MAX_TILES 8

typedef struct nn_matmul_shape {
    int m, k, n;      /* C is m x n, the reduction runs over k */
    int a_transposed; /* A is stored as a k x m row-major buffer */
    int b_transposed; /* B is stored as an n x k row-major buffer */
    int bias;         /* adds a bias row of n values to every row of C */
    int relu;         /* applies ReLU after the bias (fused post-op) */
    int accumulate;   /* C += A B instead of C = A B (fused sum post-op) */
} nn_matmul_shape;

/* The operands of one tile shape as seen by one worker slot; the scratchpad
 * is the slot's buffer in the context (nn_ctx_reserve_scratch). */
typedef struct nn_matmul_slot {
    dnnl_memory_t a, b, bias, c, scratch;
} nn_matmul_slot;

/* A primitive for one tile height and its per-slot memory objects. */
typedef struct nn_matmul_tile {
    int rows;
    dnnl_primitive_t prim;
    nn_matmul_slot *slot; /* n_slots of them */
} nn_matmul_tile;

typedef struct nn_matmul {
    nn_matmul_shape shape;
    int narrow;          /* a narrow_kind (nn/narrow_matmul.h): not 0 when our kernels run the tiles, no primitive */
    int tile_rows;       /* height of every tile but the last */
    int n_tiles;         /* ceil(m / tile_rows) */
    int n_slots;         /* threads that may work at once: min(ctx slots, NN_MATMUL_MAX_TEAM) */
    nn_matmul_tile full; /* tiles of tile_rows rows */
    nn_matmul_tile tail; /* the last tile when m % tile_rows != 0 (rows 0 otherwise) */
} nn_matmul;

/* The tile height used for an m-row result: a function of m alone. */
int nn_matmul_tile_rows(int m);

/* Builds the primitives and memory objects for shape; layer and role name the
 * operation in error messages. On failure *mm is left freed. */
dmmp_status nn_matmul_create(nn_matmul *mm, nn_ctx *ctx, const nn_matmul_shape *shape, const char *layer,
                             const char *role);

/* Runs the matmul on the given buffers (bias ignored unless shape.bias) and
 * waits for it: the result is complete on return. */
dmmp_status nn_matmul_execute(nn_matmul *mm, nn_ctx *ctx, const float *a, const float *b, const float *bias,
                              float *c, const char *layer, const char *role);

/* One matmul of a group: the operands nn_matmul_execute takes. */
typedef struct nn_matmul_job {
    nn_matmul *mm;
    const float *a, *b, *bias;
    float *c;
    const char *layer, *role;
} nn_matmul_job;

/* Runs n_jobs matmuls that are independent of each other (no job writes
 * what another reads or writes) in one parallel region and waits for them. */
dmmp_status nn_matmul_execute_group(const nn_matmul_job *jobs, int n_jobs, nn_ctx *ctx);

/* The threads a group would use: min(OpenMP's team, the jobs' tiles, their
 * slots, NN_MATMUL_MAX_TEAM). A caller that fuses its own pass into the region
 * starts it with this many threads, or runs the group with
 * nn_matmul_execute_group when it is 1. */
int nn_matmul_group_team(const nn_matmul_job *jobs, int n_jobs);

/* The threads for `work` pieces of work that take one worker slot each:
 * min(OpenMP's team, work, slots, NN_MATMUL_MAX_TEAM), at least 1. */
int nn_matmul_team_size(int work, int slots);

/* The tiles of a group, for a caller that runs them inside its own parallel
 * region of at least 2 threads and at most the jobs' slots and
 * NN_MATMUL_MAX_TEAM (nn_matmul_group_team is the most that can be kept
 * busy; threads beyond the tiles take none, and no jobs at all is fine): every thread
 * of the team calls it with the same arguments, and it ends with the team's
 * barrier. The first failure is kept in *error (shared by the team, zeroed
 * before the region); nn_matmul_group_status turns it into a status. */
typedef struct nn_matmul_group_error {
    dnnl_status_t status;
    int job;
} nn_matmul_group_error;
void nn_matmul_team_tiles(const nn_matmul_job *jobs, int n_jobs, nn_ctx *ctx, nn_matmul_group_error *error);
dmmp_status nn_matmul_group_status(const nn_matmul_job *jobs, const nn_matmul_group_error *error);

/* Tile t of mm on worker slot `slot` (the calling thread's number in its
 * team, or 0 outside one), for callers that deal tiles themselves: rows
 * [row0, row0 + rows) of C from the same rows of A (nn_matmul_tile_span). */
dnnl_status_t nn_matmul_run_tile(nn_matmul *mm, nn_ctx *ctx, int t, int slot, const float *a, const float *b,
                                 const float *bias, float *c);

/* The rows of C that tile t covers. */
void nn_matmul_tile_span(const nn_matmul *mm, int t, int *row0, int *rows);

/* Releases the primitives and memory objects (a zeroed or freed nn_matmul is fine). */
void nn_matmul_free(nn_matmul *mm);

#endif
