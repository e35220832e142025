#include "nn/mlp.h"

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
        DMMP_TRY(mem_alloc_f32(&m->grad_ping, (size_t)m->max_batch * widest_hidden, m->name));
        DMMP_TRY(mem_alloc_f32(&m->grad_pong, (size_t)m->max_batch * widest_hidden, m->name));
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

dmmp_status mlp_forward(mlp *m, const float *x, int batch)
{
    const float *input = x;
    for (int i = 0; i < m->n_layers; i++) {
        DMMP_TRY(dense_forward(&m->layers[i], input, m->act[i], batch));
        input = m->act[i];
    }
    return DMMP_OK;
}

dmmp_status mlp_forward_group(mlp *const *ms, const float *const *xs, int n, int batch)
{
    /* More than MLP_GROUP_MAX: in groups of that many. */
    for (int first = 0; first < n; first += MLP_GROUP_MAX) {
        int count = n - first < MLP_GROUP_MAX ? n - first : MLP_GROUP_MAX;
        int depth = 0;
        for (int k = first; k < first + count; k++)
            if (ms[k]->n_layers > depth) depth = ms[k]->n_layers;
        for (int i = 0; i < depth; i++) {
            nn_matmul_job jobs[MLP_GROUP_MAX];
            int n_jobs = 0;
            for (int k = first; k < first + count; k++) {
                mlp *m = ms[k];
                if (i >= m->n_layers) continue;
                const float *input = i == 0 ? xs[k] : m->act[i - 1];
                DMMP_TRY(dense_forward_job(&m->layers[i], input, m->act[i], batch, &jobs[n_jobs++]));
            }
            DMMP_TRY(nn_matmul_execute_group(jobs, n_jobs, ms[first]->layers[0].ctx));
        }
    }
    return DMMP_OK;
}

const float *mlp_output(const mlp *m) { return m->act[m->n_layers - 1]; }

int mlp_out_dim(const mlp *m) { return m->dims[m->n_layers - 1]; }

dmmp_status mlp_backward(mlp *m, const float *x, const float *dy, float *dx, int accumulate_dx, int batch)
{
    /* Layer i reads dL/d(its output) from one scratch buffer and writes
     * dL/d(its input) into the other, so two buffers serve any depth. */
    const float *grad_out = dy;
    float *spare = m->grad_ping, *other = m->grad_pong;
    for (int i = m->n_layers - 1; i >= 0; i--) {
        const float *input = i == 0 ? x : m->act[i - 1];
        float *grad_in = i == 0 ? dx : spare;
        int accumulate = i == 0 ? accumulate_dx : 0;
        DMMP_TRY(dense_backward(&m->layers[i], input, m->act[i], grad_out, grad_in, accumulate, batch));
        grad_out = grad_in;
        spare = other;
        other = grad_in;
    }
    return DMMP_OK;
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
    mem_free(m->grad_ping);
    mem_free(m->grad_pong);
    free(m->layers);
    free(m->act);
    free(m->dims);
    memset(m, 0, sizeof *m);
}
