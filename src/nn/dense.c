/* Dense layer over oneDNN matmuls.
 *
 * Why fixed shapes and a cached second set instead of DNNL_RUNTIME_DIM_VAL for
 * the batch: measured on the target CPU (2 threads, AVX-512) per call,
 * batch 1024, in 400, out 256: fixed 0.58/0.60/0.63 ms (forward, dx, dW),
 * runtime 0.60/0.58/0.68 ms; but for in 128, out 64 fixed shapes took
 * 0.10/0.07/0.14 ms against 0.21/0.51/0.48 ms, because oneDNN only offers its
 * generic gemm for runtime shapes and picks brgemm kernels for fixed ones.
 * Through this API (1024 x 400 x 256, ReLU, 2 threads on an idle machine):
 * forward 0.56 ms, backward with dx 1.4 ms. */
#include "nn/dense.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "simd/narrow.h"
#include "simd/vec.h"
#include "simd/wgrad.h"

static void plan_free(dense_plan *p)
{
    nn_matmul_free(&p->forward);
    nn_matmul_free(&p->backward_data);
    nn_matmul_free(&p->backward_data_accumulate);
    nn_matmul_free(&p->backward_weights);
    p->batch = 0;
}

static dmmp_status plan_build(dense_layer *l, dense_plan *p, int batch)
{
    const nn_matmul_shape forward = {
        .m = batch, .k = l->in, .n = l->out, .bias = 1, .relu = l->act == ACT_RELU,
    };
    /* dx [batch x in] = dz [batch x out] W^T: W [in x out] is read as out x in. */
    const nn_matmul_shape backward_data = {.m = batch, .k = l->out, .n = l->in, .b_transposed = 1};
    nn_matmul_shape backward_data_accumulate = backward_data;
    backward_data_accumulate.accumulate = 1;
    /* dW [in x out] += x^T dz: x [batch x in] is read as in x batch. */
    const nn_matmul_shape backward_weights = {
        .m = l->in, .k = batch, .n = l->out, .a_transposed = 1, .accumulate = 1,
    };
    dmmp_status st = nn_matmul_create(&p->forward, l->ctx, &forward, l->name, "forward");
    if (st == DMMP_OK) st = nn_matmul_create(&p->backward_data, l->ctx, &backward_data, l->name, "backward dx");
    if (st == DMMP_OK)
        st = nn_matmul_create(&p->backward_data_accumulate, l->ctx, &backward_data_accumulate, l->name,
                              "backward dx accumulate");
    if (st == DMMP_OK)
        st = nn_matmul_create(&p->backward_weights, l->ctx, &backward_weights, l->name, "backward dW");
    if (st != DMMP_OK) {
        plan_free(p);
        return st;
    }
    p->batch = batch;
    return DMMP_OK;
}

/* Whether a new layer takes its dW by shares: with AVX-512 it is faster,
 * with AVX2 oneDNN's gemm after the tiles is. Measured in pairs (bench
 * train, bench_default, 8 pairs of 10 timed runs, Intel Xeon with AVX-512,
 * the AVX2 side with ONEDNN_MAX_CPU_ISA=AVX2 DMMP_ISA=avx2): by shares the
 * backward took 0.965x of the time with AVX-512 (the step 1.03x as fast)
 * and 1.05x with AVX2 (the step 0.97x), where wgrad's AVX2 kernel runs a
 * little below oneDNN's AVX2 gemm even on operands in cache. */
static int shares_by_default(void) { return isa_active() >= ISA_AVX512; }

/* A layer whose dW is the sum of the row tiles' shares for plan p: it was
 * set to (more than NARROW_MAX outputs; a narrower one takes its dW in one
 * narrow product) and dw_part has room for every tile but the first. */
static int takes_shares(const dense_layer *l, const dense_plan *p)
{
    return l->shares && p->backward_data.n_tiles - 1 <= l->dw_parts;
}

/* Room in dw_part for the shares of every row tile of p's batch but the first. */
static dmmp_status reserve_shares(dense_layer *l, const dense_plan *p)
{
    int parts = p->backward_data.n_tiles - 1;
    if (!l->shares || parts <= l->dw_parts) return DMMP_OK;
    float *grown = NULL;
    DMMP_TRY(mem_alloc_f32(&grown, (size_t)parts * l->in * l->out, l->name));
    mem_free(l->dw_part);
    l->dw_part = grown;
    l->dw_parts = parts;
    return DMMP_OK;
}

dmmp_status dense_set_shares(dense_layer *l, int on)
{
    l->shares = on && l->out > NARROW_MAX;
    if (!l->shares) {
        mem_free(l->dw_part);
        l->dw_part = NULL;
        l->dw_parts = 0;
        return DMMP_OK;
    }
    dmmp_status st = reserve_shares(l, &l->full);
    if (st == DMMP_OK && l->tail.batch) st = reserve_shares(l, &l->tail);
    if (st != DMMP_OK) l->shares = 0; /* no room: the layer stays on oneDNN's dW, and says so */
    return st;
}

/* The plan for batch, building the tail set when batch is new. */
static dmmp_status plan_for(dense_layer *l, int batch, dense_plan **out)
{
    if (batch < 1 || batch > l->max_batch)
        return dmmp_fail(DMMP_EINVAL, "layer '%s': batch %d outside [1, max_batch = %d]", l->name, batch,
                         l->max_batch);
    if (batch == l->max_batch) {
        *out = &l->full;
        return DMMP_OK;
    }
    if (l->tail.batch != batch) {
        plan_free(&l->tail);
        log_debug("layer '%s': building primitives for batch %d", l->name, batch);
        DMMP_TRY(plan_build(l, &l->tail, batch));
        l->tail_builds++;
        dmmp_status st = reserve_shares(l, &l->tail);
        if (st != DMMP_OK) {
            plan_free(&l->tail); /* the next call at this batch tries again, rather than taking the other dW */
            return st;
        }
    }
    *out = &l->tail;
    return DMMP_OK;
}

dmmp_status dense_init(dense_layer *l, nn_ctx *ctx, const char *name, int in, int out, int max_batch, nn_act act,
                       float *W, float *b, float *dW, float *db)
{
    memset(l, 0, sizeof *l);
    snprintf(l->name, sizeof l->name, "%s", name ? name : "dense");
    if (!ctx) return dmmp_fail(DMMP_EINVAL, "layer '%s': ctx is NULL", l->name);
    if (in < 1 || out < 1 || max_batch < 1)
        return dmmp_fail(DMMP_EINVAL, "layer '%s': in = %d, out = %d, max_batch = %d must all be >= 1", l->name, in,
                         out, max_batch);
    if (act != ACT_NONE && act != ACT_RELU)
        return dmmp_fail(DMMP_EINVAL, "layer '%s': unknown activation %d", l->name, (int)act);
    if (!W || !b || !dW || !db)
        return dmmp_fail(DMMP_EINVAL, "layer '%s': parameter or gradient buffer %s is NULL", l->name,
                         !W ? "W" : !b ? "b" : !dW ? "dW" : "db");
    l->ctx = ctx;
    l->in = in;
    l->out = out;
    l->max_batch = max_batch;
    l->act = act;
    l->W = W;
    l->b = b;
    l->dW = dW;
    l->db = db;
    dmmp_status st = DMMP_OK;
    if (act == ACT_RELU) st = mem_alloc_f32(&l->dz, (size_t)max_batch * out, l->name);
    if (st == DMMP_OK)
        st = mem_alloc_f32(&l->db_part, (size_t)NN_MATMUL_MAX_TILES * out, l->name);
    if (st == DMMP_OK) st = plan_build(l, &l->full, max_batch);
    if (st == DMMP_OK) st = dense_set_shares(l, shares_by_default());
    if (st != DMMP_OK) dense_free(l);
    return st;
}

dmmp_status dense_forward(dense_layer *l, const float *x, float *y, int batch)
{
    nn_matmul_job job;
    DMMP_TRY(dense_forward_job(l, x, y, batch, &job));
    return nn_matmul_execute_group(&job, 1, l->ctx);
}

dmmp_status dense_forward_job(dense_layer *l, const float *x, float *y, int batch, nn_matmul_job *job)
{
    dense_plan *p = NULL;
    DMMP_TRY(plan_for(l, batch, &p));
    *job = (nn_matmul_job){&p->forward, x, l->W, l->b, y, l->name, "forward"};
    return DMMP_OK;
}

static dmmp_status backward_plan(dense_layer *l, const float *y, int batch, dense_plan **p)
{
    DMMP_TRY(plan_for(l, batch, p));
    if (l->act == ACT_RELU && !y)
        return dmmp_fail(DMMP_EINVAL, "layer '%s': backward through ReLU needs the forward output y", l->name);
    return DMMP_OK;
}

/* The bias gradient and the ReLU mask in one pass over dy, by the row
 * tiles of the layer's dx matmul (a function of the batch size alone): for
 * tile t, dz = dy where the ReLU was active (y > 0; all of dy when the layer
 * has no ReLU, and then dz is dy itself), and the column sums of those rows
 * of dz go to row t of db_part; add_bias_sums adds the rows in tile order,
 * so the bits do not depend on the thread count. The mask and the sum of a
 * row are the vec kernel relu_mask_add (a bit mask: the branchy form
 * mispredicted on every other element, 1.6 ms against 0.1 ms for 1024 x
 * 256). One pass instead of a mask pass and a sum pass reads dz once less.
 * dz goes to `into`: the layer's own buffer, or dy itself (see
 * backward_chain_tile). Returns dz (dy itself without ReLU). */
static const float *mask_tile(dense_layer *l, dense_plan *p, int t, const float *dy, const float *y, float *into)
{
    const vec_kernels *k = vec_kernels_get();
    int row0, rows;
    nn_matmul_tile_span(&p->backward_data, t, &row0, &rows);
    size_t cols = (size_t)l->out;
    float *acc = l->db_part + (size_t)t * cols;
    memset(acc, 0, cols * sizeof *acc);
    int relu = l->act == ACT_RELU;
    for (int i = row0; i < row0 + rows; i++) {
        size_t at = (size_t)i * cols;
        if (relu) k->relu_mask_add(dy + at, y + at, cols, into + at, acc);
        else k->axpy(1.0f, dy + at, cols, acc); /* 1 x dy + acc: exact, the same bits as an add */
    }
    return relu ? into : dy;
}

/* db += the tiles' sums, in tile order, once every tile is masked. */
static void add_bias_sums(dense_layer *l, const dense_plan *p)
{
    const vec_kernels *k = vec_kernels_get();
    for (int t = 0; t < p->backward_data.n_tiles; t++)
        k->axpy(1.0f, l->db_part + (size_t)t * l->out, (size_t)l->out, l->db);
}

/* Tile t's share of dW: x_t^T dz_t over the tile's rows, while they are in
 * this thread's cache. Tile 0 adds its share to dW itself, tile t > 0
 * writes it to its part of dw_part, which add_share_piece adds to dW in
 * tile order: the bits depend on the tiles (a function of the batch) alone,
 * not on the thread that ran each one. */
static void weight_share_tile(dense_layer *l, dense_plan *p, int t, const float *x, const float *dz)
{
    int row0, rows;
    nn_matmul_tile_span(&p->backward_data, t, &row0, &rows);
    size_t in = (size_t)l->in, out = (size_t)l->out;
    float *c = t == 0 ? l->dW : l->dw_part + (size_t)(t - 1) * in * out;
    wgrad_kernels_get()->atb(x + (size_t)row0 * in, in, in, (size_t)rows, dz + (size_t)row0 * out, out, out,
                             t == 0, c, out);
}

/* Tile t of the backward through every layer of a chain, last to first:
 * the tile's rows of dy are masked, their bias sums taken and their rows of
 * the input gradient computed, which the layer below masks next, all on one
 * thread. Layer i (i > 0) writes dL/d(input) into one scratch buffer and
 * layer i - 1 reads it and writes the other, so two buffers serve any depth;
 * a thread touches only its tile's rows of them. */
static dnnl_status_t backward_chain_tile(const dense_chain *c, dense_plan *const *plans, int t, int slot,
                                         const char **failed)
{
    const float *grad_out = c->dy;
    for (int i = c->n - 1; i >= 0; i--) {
        dense_layer *l = &c->layers[i];
        /* A hidden layer that takes shares masks its dy in place: dy is the
         * scratch buffer the layer above has just written these rows of (in
         * this thread's cache, where the layer's own dz buffer was last
         * touched a step ago), its dx goes to the other buffer, and its dz is
         * read by its dx and its share only, both on this thread before the
         * layer below writes its dx over them. A layer whose dW comes after
         * the tiles keeps dz in its own buffer. */
        float *into = i < c->n - 1 && takes_shares(l, plans[i]) ? c->scratch[(i + 1) % 2] : l->dz;
        const float *dz = mask_tile(l, plans[i], t, grad_out, c->y[i], into);
        float *grad_in = i == 0 ? c->dx : c->scratch[i % 2];
        if (grad_in) {
            nn_matmul *mm =
                i == 0 && c->accumulate_dx ? &plans[i]->backward_data_accumulate : &plans[i]->backward_data;
            dnnl_status_t st = nn_matmul_run_tile(mm, l->ctx, t, slot, dz, l->W, NULL, grad_in);
            if (st != dnnl_success) {
                *failed = l->name;
                return st;
            }
        }
        /* After dx: the layer below masks next and reads the same rows of
         * its output, this layer's input, which the share has just read. */
        if (takes_shares(l, plans[i])) weight_share_tile(l, plans[i], t, i == 0 ? c->x : c->y[i - 1], dz);
        grad_out = grad_in;
    }
    return dnnl_success;
}

/* Tile t of every chain, in chain order. */
static dnnl_status_t backward_tile(const dense_chain *chains, int n_chains, dense_plan *(*plans)[DENSE_CHAIN_MAX],
                                   int t, int slot, const char **failed)
{
    for (int k = 0; k < n_chains; k++) {
        dnnl_status_t st = backward_chain_tile(&chains[k], plans[k], t, slot, failed);
        if (st != dnnl_success) return st;
    }
    return dnnl_success;
}

/* Checks a chain and finds its plans for batch, its layers and their dW jobs
 * (the job of a layer that takes shares is not run, only checked). */
static dmmp_status chain_jobs(const dense_chain *c, const nn_ctx *ctx, int batch, dense_plan **plans,
                              nn_matmul_job *dw, dense_layer **layers, dense_plan **layer_plans)
{
    if (!c->layers || c->n < 1 || c->n > DENSE_CHAIN_MAX)
        return dmmp_fail(DMMP_EINVAL, "layer '%s': a chain of %d layers, not 1 to %d",
                         c->layers ? c->layers[0].name : "?", c->n, DENSE_CHAIN_MAX);
    if (!c->y) return dmmp_fail(DMMP_EINVAL, "layer '%s': the chain's layer outputs y are NULL", c->layers[0].name);
    if (c->n > 1 && (!c->scratch || !c->scratch[0] || !c->scratch[1]))
        return dmmp_fail(DMMP_EINVAL, "layer '%s': a chain of %d layers needs its two scratch buffers",
                         c->layers[0].name, c->n);
    for (int i = 0; i < c->n; i++) {
        if (c->layers[i].ctx != ctx)
            return dmmp_fail(DMMP_EINVAL, "layer '%s': the chains of one backward must share one nn_ctx",
                             c->layers[i].name);
        DMMP_TRY(backward_plan(&c->layers[i], c->y[i], batch, &plans[i]));
    }
    /* dz of each layer once every tile is through: the layer's own masked
     * buffer, or dy itself for a last layer without ReLU (a hidden layer's
     * dy is a scratch buffer the layers below overwrite). */
    for (int i = 0; i < c->n; i++) {
        dense_layer *l = &c->layers[i];
        const float *dz = l->act == ACT_RELU ? l->dz : i == c->n - 1 ? c->dy : NULL;
        if (!dz) return dmmp_fail(DMMP_EINVAL, "layer '%s': a hidden layer of a chain needs a ReLU", l->name);
        dw[i] = (nn_matmul_job){&plans[i]->backward_weights, i == 0 ? c->x : c->y[i - 1], dz, NULL, l->dW, l->name,
                                "backward dW"};
        layers[i] = l;
        layer_plans[i] = plans[i];
    }
    return DMMP_OK;
}

/* The dW jobs, largest first (stable): the last tiles dealt are the
 * smallest, so the threads reach the end of the region together. The
 * order changes no bits: every dW is its own matmul. */
static void largest_first(nn_matmul_job *jobs, int n)
{
    for (int i = 1; i < n; i++) {
        nn_matmul_job jb = jobs[i];
        const nn_matmul_shape *s = &jb.mm->shape;
        long long size = (long long)s->m * s->n;
        int j = i;
        for (; j > 0; j--) {
            const nn_matmul_shape *p = &jobs[j - 1].mm->shape;
            if ((long long)p->m * p->n >= size) break;
            jobs[j] = jobs[j - 1];
        }
        jobs[j] = jb;
    }
}

/* Floats of dW a thread adds the shares to at a time: 16 KiB, so the
 * tiles' shares of a piece are added while it stays in L1. */
#define SHARE_PIECE 4096

/* The layers whose dW is the sum of shares, and how many pieces they make. */
typedef struct share_sum {
    dense_layer *layers[DENSE_GROUP_MAX * DENSE_CHAIN_MAX];
    int first_piece[DENSE_GROUP_MAX * DENSE_CHAIN_MAX + 1]; /* layer j's pieces: [first_piece[j], first_piece[j + 1]) */
    int n_layers, n_tiles;
} share_sum;

static int share_pieces(const dense_layer *l)
{
    return (int)(((size_t)l->in * l->out + SHARE_PIECE - 1) / SHARE_PIECE);
}

/* dW += the shares of tiles 1, 2, ... in tile order, over piece `piece` of
 * the layers' pieces: every element's sum is in the same order whichever
 * thread adds which piece. */
static void add_share_piece(const share_sum *sh, int piece)
{
    int j = 0;
    while (sh->first_piece[j + 1] <= piece) j++;
    dense_layer *l = sh->layers[j];
    size_t size = (size_t)l->in * l->out, at = (size_t)(piece - sh->first_piece[j]) * SHARE_PIECE;
    size_t len = size - at < SHARE_PIECE ? size - at : SHARE_PIECE;
    const vec_kernels *k = vec_kernels_get();
    for (int t = 1; t < sh->n_tiles; t++)
        k->axpy(1.0f, l->dw_part + (size_t)(t - 1) * size + at, len, l->dW + at); /* 1 x share + dW: an exact add */
}

static void add_chain_bias_sums(const dense_chain *chains, int n_chains, dense_plan *(*plans)[DENSE_CHAIN_MAX])
{
    for (int k = 0; k < n_chains; k++)
        for (int i = 0; i < chains[k].n; i++) add_bias_sums(&chains[k].layers[i], plans[k][i]);
}

/* Up to DENSE_GROUP_MAX chains in one region. */
static dmmp_status backward_some(const dense_chain *chains, int n_chains, int batch)
{
    dense_plan *plans[DENSE_GROUP_MAX][DENSE_CHAIN_MAX];
    nn_matmul_job all[DENSE_GROUP_MAX * DENSE_CHAIN_MAX], dw[DENSE_GROUP_MAX * DENSE_CHAIN_MAX];
    dense_layer *layers[DENSE_GROUP_MAX * DENSE_CHAIN_MAX];
    dense_plan *plans_of[DENSE_GROUP_MAX * DENSE_CHAIN_MAX];
    int n_all = 0;
    nn_ctx *ctx = chains[0].layers ? chains[0].layers[0].ctx : NULL;
    for (int k = 0; k < n_chains; k++) {
        DMMP_TRY(chain_jobs(&chains[k], ctx, batch, plans[k], all + n_all, layers + n_all, plans_of + n_all));
        n_all += chains[k].n;
    }
    /* A layer twice would have two threads write its dz, db_part and dW. */
    for (int i = 0; i < n_all; i++)
        for (int j = i + 1; j < n_all; j++)
            if (all[i].c == all[j].c)
                return dmmp_fail(DMMP_EINVAL, "layer '%s': its weight gradient is in two chains of one backward",
                                 all[i].layer);
    int n_tiles = plans[0][0]->backward_data.n_tiles; /* the same for every layer: a function of batch */
    /* The layers that take shares add them after the tiles; the others run
     * their dW jobs then. */
    share_sum sh = {.n_tiles = n_tiles};
    int n_dw = 0, dw_tiles = 0;
    for (int i = 0; i < n_all; i++) {
        if (takes_shares(layers[i], plans_of[i])) {
            sh.first_piece[sh.n_layers + 1] = sh.first_piece[sh.n_layers] + share_pieces(layers[i]);
            sh.layers[sh.n_layers++] = layers[i];
        } else {
            dw_tiles += all[i].mm->n_tiles;
            dw[n_dw++] = all[i];
        }
    }
    int pieces = n_tiles > 1 ? sh.first_piece[sh.n_layers] : 0;
    largest_first(dw, n_dw);
    /* The team: as many threads as the largest phase has row tiles, pieces
     * to add or dW tiles (every matmul of the context has the same slots). */
    int work = n_tiles > pieces ? n_tiles : pieces;
    if (dw_tiles > work) work = dw_tiles;
    int team = nn_matmul_team_size(work, plans[0][0]->backward_data.n_slots);
    dnnl_status_t error = dnnl_success;
    const char *failed = "?";
    if (team <= 1) {
        int threads_before = omp_get_max_threads();
        omp_set_num_threads(1); /* oneDNN's gemm sizes its own team from the caller's setting */
        for (int t = 0; t < n_tiles && error == dnnl_success; t++)
            error = backward_tile(chains, n_chains, plans, t, 0, &failed);
        omp_set_num_threads(threads_before);
        if (error != dnnl_success) return nn_dnnl_check(error, "dnnl_primitive_execute", failed, "backward dx");
        add_chain_bias_sums(chains, n_chains, plans);
        for (int p = 0; p < pieces; p++) add_share_piece(&sh, p);
        return nn_matmul_execute_group(dw, n_dw, ctx);
    }
    /* One region: the tiles, a tile of every chain to a thread (its masks,
     * bias sums, dx and dW shares); after the loop's barrier, the pieces of
     * the summed shares and the dW of the narrow layers, dealt as threads
     * free up, while one thread adds the bias sums. A failed tile is
     * recorded inside the loop, so after its barrier every thread sees it
     * and all skip the rest (the gradients of a failed step are not
     * completed). */
    nn_matmul_group_error dw_error = {dnnl_success, 0};
#pragma omp parallel num_threads(team)
    {
        int slot = omp_get_thread_num();
#pragma omp for schedule(static)
        for (int t = 0; t < n_tiles; t++) {
            const char *mine = "?";
            dnnl_status_t st = backward_tile(chains, n_chains, plans, t, slot, &mine);
            if (st != dnnl_success) {
#pragma omp critical(nn_matmul_error)
                if (error == dnnl_success) {
                    error = st;
                    failed = mine;
                }
            }
        }
        if (error == dnnl_success) {
#pragma omp single nowait
            add_chain_bias_sums(chains, n_chains, plans);
#pragma omp for schedule(dynamic, 8) nowait
            for (int p = 0; p < pieces; p++) add_share_piece(&sh, p);
            nn_matmul_team_tiles(dw, n_dw, ctx, &dw_error);
        }
    }
    if (error != dnnl_success) return nn_dnnl_check(error, "dnnl_primitive_execute", failed, "backward dx");
    return nn_matmul_group_status(dw, &dw_error);
}

dmmp_status dense_backward_chains(const dense_chain *chains, int n_chains, int batch)
{
    if (n_chains < 1) return DMMP_OK;
    if (omp_in_parallel())
        return dmmp_fail(DMMP_EINVAL, "layer '%s': the backward runs its own threads and cannot be called from a parallel region",
                         chains[0].layers ? chains[0].layers[0].name : "?");
    for (int first = 0; first < n_chains; first += DENSE_GROUP_MAX)
        DMMP_TRY(backward_some(chains + first, n_chains - first < DENSE_GROUP_MAX ? n_chains - first : DENSE_GROUP_MAX,
                               batch));
    return DMMP_OK;
}

dmmp_status dense_backward(dense_layer *l, const float *x, const float *y, const float *dy, float *dx,
                           int accumulate_dx, int batch)
{
    const dense_chain c = {l, 1, x, &y, dy, dx, accumulate_dx, NULL};
    return dense_backward_chains(&c, 1, batch);
}

void dense_free(dense_layer *l)
{
    plan_free(&l->full);
    plan_free(&l->tail);
    mem_free(l->dz);
    l->dz = NULL;
    mem_free(l->db_part);
    l->db_part = NULL;
    mem_free(l->dw_part);
    l->dw_part = NULL;
    l->dw_parts = 0;
}

void dense_init_weights(float *W, float *b, int in, int out, nn_act act, rng *r)
{
    double limit = act == ACT_RELU ? sqrt(6.0 / in) : sqrt(6.0 / (in + out));
    rng_fill_uniform(r, W, (size_t)in * out, (float)-limit, (float)limit);
    memset(b, 0, (size_t)out * sizeof *b);
}
