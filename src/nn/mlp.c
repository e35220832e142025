#include "nn/mlp.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

size_t mlp_param_count(int in, const int *dims, int n_layers)
{
    size_t count = 0;
    int width = in;
    for (int i = 0; i < n_layers; i++) {
        count += (size_t)width * dims[i] + dims[i];
        width = dims[i];
    }
    return count;
}

static dmmp_status mlp_build(mlp *m, nn_ctx *ctx, const int *dims, nn_act last_act, float *params, float *grads)
{
    int n = m->n_layers;
    m->dims = calloc((size_t)n, sizeof *m->dims);
    m->layers = calloc((size_t)n, sizeof *m->layers);
    m->act = calloc((size_t)n, sizeof *m->act);
    if (!m->dims || !m->layers || !m->act) return dmmp_fail(DMMP_ENOMEM, "mlp '%s': out of memory", m->name);
    memcpy(m->dims, dims, (size_t)n * sizeof *dims);

    int widest_hidden = 1;
    for (int i = 0; i + 1 < n; i++)
        if (dims[i] > widest_hidden) widest_hidden = dims[i];
    if (n > 1) {
        DMMP_TRY(mem_alloc_f32(&m->grad[0], (size_t)m->max_batch * widest_hidden, m->name));
        DMMP_TRY(mem_alloc_f32(&m->grad[1], (size_t)m->max_batch * widest_hidden, m->name));
    }
    size_t offset = 0;
    int width = m->in;
    for (int i = 0; i < n; i++) {
        char layer_name[sizeof m->name + 16];
        snprintf(layer_name, sizeof layer_name, "%s.%d", m->name, i);
        float *W = params + offset, *dW = grads + offset;
        offset += (size_t)width * dims[i];
        float *b = params + offset, *db = grads + offset;
        offset += (size_t)dims[i];
        nn_act act = i + 1 == n ? last_act : ACT_RELU;
        DMMP_TRY(dense_init(&m->layers[i], ctx, layer_name, width, dims[i], m->max_batch, act, W, b, dW, db));
        DMMP_TRY(mem_alloc_f32(&m->act[i], (size_t)m->max_batch * dims[i], layer_name));
        width = dims[i];
    }
    return DMMP_OK;
}

dmmp_status mlp_init(mlp *m, nn_ctx *ctx, const char *name, int in, const int *dims, int n_layers, int max_batch,
                     nn_act last_act, float *params, float *grads)
{
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name ? name : "mlp");
    if (in < 1 || n_layers < 1 || max_batch < 1 || !dims)
        return dmmp_fail(DMMP_EINVAL, "mlp '%s': in = %d, n_layers = %d, max_batch = %d must be >= 1 and dims given",
                         m->name, in, n_layers, max_batch);
    if (n_layers > MLP_MAX_LAYERS)
        return dmmp_fail(DMMP_EINVAL, "mlp '%s': %d layers, at most %d", m->name, n_layers, MLP_MAX_LAYERS);
    for (int i = 0; i < n_layers; i++)
        if (dims[i] < 1) return dmmp_fail(DMMP_EINVAL, "mlp '%s': dims[%d] = %d must be >= 1", m->name, i, dims[i]);
    if (!params || !grads)
        return dmmp_fail(DMMP_EINVAL, "mlp '%s': %s buffer is NULL", m->name, !params ? "parameter" : "gradient");
    m->in = in;
    m->n_layers = n_layers;
    m->max_batch = max_batch;
    dmmp_status st = mlp_build(m, ctx, dims, last_act, params, grads);
    if (st != DMMP_OK) mlp_free(m);
    return st;
}

/* Tile t of every layer of m, in order: the rows of one tile of the batch go
 * through the whole MLP on one thread, each layer reading what the layer
 * before left in that thread's cache (the tile heights depend on the batch
 * size alone, so tile t covers the same rows in every layer). */
static dnnl_status_t forward_chain(mlp *m, nn_matmul_job *jobs, int t, int slot, const char **failed)
{
    for (int i = 0; i < m->n_layers; i++) {
        const nn_matmul_job *jb = &jobs[i];
        dnnl_status_t st = nn_matmul_run_tile(jb->mm, m->layers[i].ctx, t, slot, jb->a, jb->b, jb->bias, jb->c);
        if (st != dnnl_success) {
            *failed = jb->layer;
            return st;
        }
    }
    return dnnl_success;
}

/* Up to MLP_GROUP_MAX MLPs: one chain per (MLP, tile), dealt to the threads
 * as they free up (a chain keeps its rows on its thread from the first layer
 * to the last). */
static dmmp_status forward_some(mlp *const *ms, const float *const *xs, int n, int batch)
{
    nn_matmul_job jobs[MLP_GROUP_MAX][MLP_MAX_LAYERS];
    int n_tiles = 0;
    for (int k = 0; k < n; k++) {
        mlp *m = ms[k];
        for (int i = 0; i < m->n_layers; i++) { /* n_layers <= MLP_MAX_LAYERS: mlp_init checks it */
            const float *input = i == 0 ? xs[k] : m->act[i - 1];
            DMMP_TRY(dense_forward_job(&m->layers[i], input, m->act[i], batch, &jobs[k][i]));
        }
        n_tiles = jobs[k][0].mm->n_tiles;
    }
    if (omp_in_parallel())
        return dmmp_fail(DMMP_EINVAL, "mlp '%s': the forward runs its own threads and cannot be called from a parallel region",
                         ms[0]->name);
    /* The team: OpenMP's, at most one thread per chain and per slot. */
    int chains = n * n_tiles;
    int team = omp_get_max_threads();
    if (team > NN_MATMUL_MAX_TEAM) team = NN_MATMUL_MAX_TEAM;
    if (team > chains) team = chains;
    for (int k = 0; k < n; k++)
        for (int i = 0; i < ms[k]->n_layers; i++)
            if (jobs[k][i].mm->n_slots < team) team = jobs[k][i].mm->n_slots;
    dnnl_status_t error = dnnl_success;
    const char *failed = "?";
    if (team <= 1) {
        int threads_before = omp_get_max_threads();
        omp_set_num_threads(1); /* oneDNN's gemm sizes its own team from the caller's setting */
        for (int c = 0; c < chains && error == dnnl_success; c++)
            error = forward_chain(ms[c / n_tiles], jobs[c / n_tiles], c % n_tiles, 0, &failed);
        omp_set_num_threads(threads_before);
    } else {
#pragma omp parallel num_threads(team)
        {
            int slot = omp_get_thread_num();
            dnnl_status_t st = dnnl_success;
            const char *mine = "?";
#pragma omp for schedule(dynamic, 1)
            for (int c = 0; c < chains; c++)
                if (st == dnnl_success) st = forward_chain(ms[c / n_tiles], jobs[c / n_tiles], c % n_tiles, slot, &mine);
            if (st != dnnl_success) {
#pragma omp critical(nn_matmul_error)
                if (error == dnnl_success) {
                    error = st;
                    failed = mine;
                }
            }
        }
    }
    return nn_dnnl_check(error, "dnnl_primitive_execute", failed, "forward");
}

dmmp_status mlp_forward_group(mlp *const *ms, const float *const *xs, int n, int batch)
{
    for (int first = 0; first < n; first += MLP_GROUP_MAX)
        DMMP_TRY(forward_some(ms + first, xs + first, n - first < MLP_GROUP_MAX ? n - first : MLP_GROUP_MAX, batch));
    return DMMP_OK;
}

dmmp_status mlp_forward(mlp *m, const float *x, int batch) { return mlp_forward_group(&m, &x, 1, batch); }

const float *mlp_output(const mlp *m) { return m->act[m->n_layers - 1]; }

int mlp_out_dim(const mlp *m) { return m->dims[m->n_layers - 1]; }

dense_chain mlp_chain(mlp *m, const float *x, const float *dy, float *dx, int accumulate_dx)
{
    return (dense_chain){m->layers, m->n_layers, x, (const float *const *)m->act, dy, dx, accumulate_dx, m->grad};
}

dmmp_status mlp_backward(mlp *m, const float *x, const float *dy, float *dx, int accumulate_dx, int batch)
{
    const dense_chain c = mlp_chain(m, x, dy, dx, accumulate_dx);
    return dense_backward_chains(&c, 1, batch);
}

void mlp_init_weights(mlp *m, rng *r)
{
    for (int i = 0; i < m->n_layers; i++) {
        dense_layer *l = &m->layers[i];
        dense_init_weights(l->W, l->b, l->in, l->out, l->act, r);
    }
}

void mlp_free(mlp *m)
{
    if (m->layers)
        for (int i = 0; i < m->n_layers; i++) dense_free(&m->layers[i]);
    if (m->act)
        for (int i = 0; i < m->n_layers; i++) mem_free(m->act[i]);
    mem_free(m->grad[0]);
    mem_free(m->grad[1]);
    free(m->layers);
    free(m->act);
    free(m->dims);
    memset(m, 0, sizeof *m);
}
