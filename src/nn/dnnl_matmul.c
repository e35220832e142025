#include "nn/dnnl_matmul.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nn/narrow_matmul.h"

/* Tiles: four of them while that keeps them at most MAX_PREFERRED_ROWS
 * high, more of that height beyond (at most NN_MATMUL_MAX_TILES), each a
 * multiple of TILE_ALIGN rows (a 16-row tile still fills the AVX-512 and
 * AVX2 gemm kernels' row blocks). At batch 1024, four tiles of 256 rows ran
 * the training step 3-6% faster than eight of 128 on two threads (paired
 * runs, either ISA): fewer executions, each reading its weights once for
 * twice the rows. The height is a function of m alone, so the order of
 * every sum is fixed whatever the team size; the price is that up to 1024
 * rows the row tiles of one matmul (and a backward's row-tile phase) keep at
 * most four threads busy; dW tiles of several layers are dealt to any team. */
enum { TILE_ALIGN = 16, FEW_TILES = 4, MAX_PREFERRED_ROWS = 256 };

static int rows_for(int m, int tiles)
{
    int rows = (m + tiles - 1) / tiles;
    return (rows + TILE_ALIGN - 1) / TILE_ALIGN * TILE_ALIGN;
}

int nn_matmul_tile_rows(int m)
{
    if (m <= TILE_ALIGN) return m;
    int rows = rows_for(m, FEW_TILES);
    if (rows > MAX_PREFERRED_ROWS) {
        rows = rows_for(m, NN_MATMUL_MAX_TILES);
        if (rows < MAX_PREFERRED_ROWS) rows = MAX_PREFERRED_ROWS;
    }
    return rows > m ? m : rows;
}

/* A rows x cols row-major matrix with leading dimension ld, or its transpose
 * when stored_transposed (element (i, j) then at j * ld + i). */
static dnnl_status_t matrix_desc(dnnl_memory_desc_t *md, int rows, int cols, int ld, int stored_transposed)
{
    dnnl_dims_t dims = {rows, cols};
    dnnl_dims_t strides = {ld, 1};
    if (stored_transposed) {
        strides[0] = 1;
        strides[1] = ld;
    }
    return dnnl_memory_desc_init_by_strides(md, 2, dims, dnnl_f32, strides);
}

typedef struct tile_descs {
    dnnl_memory_desc_t a, b, bias, c;
} tile_descs;

/* The operand descriptors of a tile of `rows` rows of C: A's rows are a
 * slice of the full A (same leading dimension), B and the bias are whole. */
static dmmp_status tile_descs_init(tile_descs *d, const nn_matmul_shape *s, int rows, const char *layer,
                                   const char *role)
{
    dnnl_dims_t bias_dims = {1, s->n};
    NN_DNNL_TRY(matrix_desc(&d->a, rows, s->k, s->a_transposed ? s->m : s->k, s->a_transposed), layer, role);
    NN_DNNL_TRY(matrix_desc(&d->b, s->k, s->n, s->b_transposed ? s->k : s->n, s->b_transposed), layer, role);
    NN_DNNL_TRY(matrix_desc(&d->c, rows, s->n, s->n, 0), layer, role);
    NN_DNNL_TRY(dnnl_memory_desc_init_by_tag(&d->bias, 2, bias_dims, dnnl_f32, dnnl_ab), layer, role);
    return DMMP_OK;
}

/* The primitive descriptor of a tile, with the scratchpad left to the caller
 * so that tiles can run on several threads at once. */
static dnnl_status_t tile_pd(dnnl_primitive_desc_t *pd, const nn_matmul_shape *s, const tile_descs *d,
                             dnnl_engine_t engine, const char **call)
{
    dnnl_matmul_desc_t desc;
    *call = "dnnl_matmul_desc_init";
    dnnl_status_t st = dnnl_matmul_desc_init(&desc, &d->a, &d->b, s->bias ? &d->bias : NULL, &d->c);
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t post_ops = NULL;
    if (st == dnnl_success) {
        *call = "dnnl_primitive_attr_create";
        st = dnnl_primitive_attr_create(&attr);
    }
    if (st == dnnl_success) {
        *call = "dnnl_primitive_attr_set_scratchpad_mode";
        st = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    }
    if (st == dnnl_success) {
        *call = "dnnl_post_ops_create";
        st = dnnl_post_ops_create(&post_ops);
    }
    if (st == dnnl_success && s->accumulate) {
        *call = "dnnl_post_ops_append_sum";
        st = dnnl_post_ops_append_sum(post_ops, 1.0f);
    }
    if (st == dnnl_success && s->relu) {
        *call = "dnnl_post_ops_append_eltwise";
        st = dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
    }
    if (st == dnnl_success) {
        *call = "dnnl_primitive_attr_set_post_ops";
        st = dnnl_primitive_attr_set_post_ops(attr, post_ops);
    }
    if (st == dnnl_success) {
        *call = "dnnl_primitive_desc_create";
        st = dnnl_primitive_desc_create(pd, &desc, attr, engine, NULL);
    }
    if (post_ops) dnnl_post_ops_destroy(post_ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return st;
}

static void tile_free(nn_matmul_tile *t, int n_slots)
{
    if (t->prim) dnnl_primitive_destroy(t->prim);
    for (int i = 0; t->slot && i < n_slots; i++) {
        nn_matmul_slot *sl = &t->slot[i];
        if (sl->a) dnnl_memory_destroy(sl->a);
        if (sl->b) dnnl_memory_destroy(sl->b);
        if (sl->bias) dnnl_memory_destroy(sl->bias);
        if (sl->c) dnnl_memory_destroy(sl->c);
        if (sl->scratch) dnnl_memory_destroy(sl->scratch);
    }
    free(t->slot);
    memset(t, 0, sizeof *t);
}

/* The primitive of a `rows`-row tile, built for one thread (oneDNN reads the
 * team size when it plans a primitive), and each slot's memory objects. */
static dmmp_status tile_create(nn_matmul_tile *t, const nn_matmul_shape *s, int rows, int n_slots, nn_ctx *ctx,
                               const char *layer, const char *role)
{
    memset(t, 0, sizeof *t);
    t->rows = rows;
    tile_descs d;
    DMMP_TRY(tile_descs_init(&d, s, rows, layer, role));
    const char *call = "";
    dnnl_primitive_desc_t pd = NULL;
    int threads_before = omp_get_max_threads();
    omp_set_num_threads(1);
    dnnl_status_t st = tile_pd(&pd, s, &d, ctx->engine, &call);
    if (st == dnnl_success) {
        call = "dnnl_primitive_create";
        st = dnnl_primitive_create(&t->prim, pd);
    }
    omp_set_num_threads(threads_before);
    size_t scratch_bytes = 0;
    dnnl_memory_desc_t scratch_md;
    if (st == dnnl_success) {
        const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        if (md) {
            scratch_md = *md;
            scratch_bytes = dnnl_memory_desc_get_size(md);
        }
    }
    if (pd) dnnl_primitive_desc_destroy(pd);
    DMMP_TRY(nn_dnnl_check(st, call, layer, role));

    t->slot = calloc((size_t)n_slots, sizeof *t->slot);
    if (!t->slot) return dmmp_fail(DMMP_ENOMEM, "layer '%s' (%s): out of memory for %d matmul slots", layer, role,
                                   n_slots);
    if (scratch_bytes > 0) DMMP_TRY(nn_ctx_reserve_scratch(ctx, scratch_bytes, layer, role));
    for (int i = 0; i < n_slots; i++) {
        nn_matmul_slot *sl = &t->slot[i];
        /* DNNL_MEMORY_NONE: the handles are the caller's buffers (and the
         * slot's scratchpad in ctx), set per execution. */
        NN_DNNL_TRY(dnnl_memory_create(&sl->a, &d.a, ctx->engine, DNNL_MEMORY_NONE), layer, role);
        NN_DNNL_TRY(dnnl_memory_create(&sl->b, &d.b, ctx->engine, DNNL_MEMORY_NONE), layer, role);
        NN_DNNL_TRY(dnnl_memory_create(&sl->c, &d.c, ctx->engine, DNNL_MEMORY_NONE), layer, role);
        if (s->bias) NN_DNNL_TRY(dnnl_memory_create(&sl->bias, &d.bias, ctx->engine, DNNL_MEMORY_NONE), layer, role);
        if (scratch_bytes > 0)
            NN_DNNL_TRY(dnnl_memory_create(&sl->scratch, &scratch_md, ctx->engine, DNNL_MEMORY_NONE), layer, role);
    }
    return DMMP_OK;
}

dmmp_status nn_matmul_create(nn_matmul *mm, nn_ctx *ctx, const nn_matmul_shape *shape, const char *layer,
                             const char *role)
{
    memset(mm, 0, sizeof *mm);
    mm->shape = *shape;
    const nn_matmul_shape *s = &mm->shape;
    if (s->m < 1 || s->k < 1 || s->n < 1)
        return dmmp_fail(DMMP_EINVAL, "layer '%s' (%s): matmul dimensions m=%d k=%d n=%d must be >= 1", layer, role,
                         s->m, s->k, s->n);
    mm->tile_rows = nn_matmul_tile_rows(s->m);
    mm->n_tiles = (s->m + mm->tile_rows - 1) / mm->tile_rows;
    /* Every slot a group's team may use, not just n_tiles: in a group a
     * thread can run this matmul's tiles whatever its number. */
    mm->n_slots = ctx->n_slots < NN_MATMUL_MAX_TEAM ? ctx->n_slots : NN_MATMUL_MAX_TEAM;
    if (mm->n_slots < 1) mm->n_slots = 1;
    int tail_rows = s->m % mm->tile_rows;
    mm->narrow = narrow_matmul_kind(s);
    if (mm->narrow != NARROW_NONE) {
        mm->full.rows = mm->tile_rows;
        mm->tail.rows = tail_rows;
        dmmp_status st = nn_ctx_reserve_scratch(ctx, narrow_matmul_scratch_bytes(s, mm->narrow), layer, role);
        if (st != DMMP_OK) nn_matmul_free(mm);
        return st;
    }
    dmmp_status st = tile_create(&mm->full, s, mm->tile_rows, mm->n_slots, ctx, layer, role);
    if (st == DMMP_OK && tail_rows) st = tile_create(&mm->tail, s, tail_rows, mm->n_slots, ctx, layer, role);
    if (st != DMMP_OK) nn_matmul_free(mm);
    return st;
}

/* Tile t on worker slot `slot`: the handles point at its rows of A and C. */
dnnl_status_t nn_matmul_run_tile(nn_matmul *mm, nn_ctx *ctx, int t, int slot, const float *a, const float *b,
                                 const float *bias, float *c)
{
    const nn_matmul_shape *s = &mm->shape;
    if (mm->narrow != NARROW_NONE) {
        int row0, rows;
        nn_matmul_tile_span(mm, t, &row0, &rows);
        narrow_matmul_tile(mm->narrow, s, row0, rows, a, b, bias, c, ctx->slot_scratch[slot]);
        return dnnl_success;
    }
    int last = t == mm->n_tiles - 1 && mm->tail.rows;
    nn_matmul_tile *tile = last ? &mm->tail : &mm->full;
    nn_matmul_slot *sl = &tile->slot[slot];
    size_t row0 = (size_t)t * mm->tile_rows;
    const float *a_tile = s->a_transposed ? a + row0 : a + row0 * (size_t)s->k;
    /* oneDNN takes void * handles; it only reads the source operands. */
    dnnl_status_t st = dnnl_memory_set_data_handle(sl->a, (void *)a_tile);
    if (st == dnnl_success) st = dnnl_memory_set_data_handle(sl->b, (void *)b);
    if (st == dnnl_success) st = dnnl_memory_set_data_handle(sl->c, c + row0 * (size_t)s->n);
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, sl->a}, {DNNL_ARG_WEIGHTS, sl->b}, {DNNL_ARG_DST, sl->c}};
    int nargs = 3;
    if (s->bias && st == dnnl_success) {
        st = dnnl_memory_set_data_handle(sl->bias, (void *)bias);
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, sl->bias};
    }
    if (sl->scratch) {
        if (st == dnnl_success) st = dnnl_memory_set_data_handle(sl->scratch, ctx->slot_scratch[slot]);
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, sl->scratch};
    }
    if (st == dnnl_success) st = dnnl_primitive_execute(tile->prim, ctx->slot_stream[slot], nargs, args);
    if (st == dnnl_success) st = dnnl_stream_wait(ctx->slot_stream[slot]);
    return st;
}

void nn_matmul_tile_span(const nn_matmul *mm, int t, int *row0, int *rows)
{
    *row0 = t * mm->tile_rows;
    *rows = t == mm->n_tiles - 1 ? mm->shape.m - *row0 : mm->tile_rows;
}

int nn_matmul_team_size(int work, int slots)
{
    int team = omp_get_max_threads();
    if (team > slots) team = slots;
    if (team > work) team = work;
    if (team > NN_MATMUL_MAX_TEAM) team = NN_MATMUL_MAX_TEAM;
    return team < 1 ? 1 : team;
}

int nn_matmul_group_team(const nn_matmul_job *jobs, int n_jobs)
{
    int tiles = 0, slots = NN_MATMUL_MAX_TEAM;
    for (int j = 0; j < n_jobs; j++) {
        tiles += jobs[j].mm->n_tiles;
        if (jobs[j].mm->n_slots < slots) slots = jobs[j].mm->n_slots;
    }
    return nn_matmul_team_size(tiles, slots);
}

/* The tiles of one job on the calling team, without a barrier after. */
static void team_job_tiles(const nn_matmul_job *jb, nn_ctx *ctx, int slot, dnnl_status_t *st)
{
    nn_matmul *mm = jb->mm;
    if (mm->shape.a_transposed) {
        /* A weight gradient: every tile reads all the rows of both operands,
         * so no thread holds its inputs in cache; a thread takes the next
         * tile when it is done with its last. */
#pragma omp for schedule(dynamic, 1) nowait
        for (int t = 0; t < mm->n_tiles; t++)
            if (*st == dnnl_success) *st = nn_matmul_run_tile(mm, ctx, t, slot, jb->a, jb->b, jb->bias, jb->c);
    } else {
        /* Tiles of batch rows, in the static split: with several jobs a
         * thread takes the same rows of each. */
#pragma omp for schedule(static) nowait
        for (int t = 0; t < mm->n_tiles; t++)
            if (*st == dnnl_success) *st = nn_matmul_run_tile(mm, ctx, t, slot, jb->a, jb->b, jb->bias, jb->c);
    }
}

void nn_matmul_team_tiles(const nn_matmul_job *jobs, int n_jobs, nn_ctx *ctx, nn_matmul_group_error *error)
{
    int slot = omp_get_thread_num();
    dnnl_status_t st = dnnl_success;
    int failed_job = -1;
    /* Every thread reaches every job's loop; after a failure it takes no more tiles. */
    for (int j = 0; j < n_jobs; j++) {
        team_job_tiles(&jobs[j], ctx, slot, &st);
        if (st != dnnl_success && failed_job < 0) failed_job = j;
    }
    if (st != dnnl_success) {
#pragma omp critical(nn_matmul_error)
        if (error->status == dnnl_success) {
            error->status = st;
            error->job = failed_job;
        }
    }
#pragma omp barrier
}

dmmp_status nn_matmul_group_status(const nn_matmul_job *jobs, const nn_matmul_group_error *error)
{
    if (error->status == dnnl_success) return DMMP_OK;
    const nn_matmul_job *jb = &jobs[error->job];
    return nn_dnnl_check(error->status, "dnnl_primitive_execute", jb->layer, jb->role);
}

dmmp_status nn_matmul_execute_group(const nn_matmul_job *jobs, int n_jobs, nn_ctx *ctx)
{
    if (n_jobs < 1) return DMMP_OK;
    if (omp_in_parallel())
        return dmmp_fail(DMMP_EINVAL, "layer '%s' (%s): a matmul runs its own threads and cannot be called from a parallel region",
                         jobs[0].layer, jobs[0].role);
    nn_matmul_group_error error = {dnnl_success, 0};
    int team = nn_matmul_group_team(jobs, n_jobs);
    if (team == 1) {
        /* oneDNN's gemm sizes its own team from the caller's setting: run it on this thread alone. */
        int threads_before = omp_get_max_threads();
        omp_set_num_threads(1);
        for (int j = 0; j < n_jobs && error.status == dnnl_success; j++) {
            const nn_matmul_job *jb = &jobs[j];
            for (int t = 0; t < jb->mm->n_tiles && error.status == dnnl_success; t++) {
                error.status = nn_matmul_run_tile(jb->mm, ctx, t, 0, jb->a, jb->b, jb->bias, jb->c);
                error.job = j;
            }
        }
        omp_set_num_threads(threads_before);
    } else {
#pragma omp parallel num_threads(team)
        nn_matmul_team_tiles(jobs, n_jobs, ctx, &error);
    }
    return nn_matmul_group_status(jobs, &error);
}

dmmp_status nn_matmul_execute(nn_matmul *mm, nn_ctx *ctx, const float *a, const float *b, const float *bias,
                              float *c, const char *layer, const char *role)
{
    const nn_matmul_job job = {mm, a, b, bias, c, layer, role};
    return nn_matmul_execute_group(&job, 1, ctx);
}

void nn_matmul_free(nn_matmul *mm)
{
    tile_free(&mm->full, mm->n_slots);
    tile_free(&mm->tail, mm->n_slots);
    memset(mm, 0, sizeof *mm);
}
