#include "model/teacher.h"

#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "nn/gate.h"

enum { IN_TASK0 = 0, IN_TASK1 = 1, IN_SHARED = 2 };

dmmp_status teacher_config_check(const teacher_config *c)
{
    if (c->n_expert_dims < 1 || c->n_expert_dims > TEACHER_MAX_DIMS)
        return dmmp_fail(DMMP_EINVAL, "teacher.expert_dims: need 1 to %d layers (got %d)", TEACHER_MAX_DIMS,
                         c->n_expert_dims);
    if (c->n_tower_dims < 0 || c->n_tower_dims > TEACHER_MAX_DIMS - 1)
        return dmmp_fail(DMMP_EINVAL, "teacher.tower_dims: at most %d layers (got %d)", TEACHER_MAX_DIMS - 1,
                         c->n_tower_dims);
    for (int i = 0; i < c->n_expert_dims; i++)
        if (c->expert_dims[i] <= 0)
            return dmmp_fail(DMMP_EINVAL, "teacher.expert_dims: layer %d has width %d", i + 1, c->expert_dims[i]);
    for (int i = 0; i < c->n_tower_dims; i++)
        if (c->tower_dims[i] <= 0)
            return dmmp_fail(DMMP_EINVAL, "teacher.tower_dims: layer %d has width %d", i + 1, c->tower_dims[i]);
    switch (c->kind) {
    case TEACHER_SHARED_BOTTOM:
        if (c->levels != 1) return dmmp_fail(DMMP_EINVAL, "teacher.levels: shared_bottom has 1 level (got %d)", c->levels);
        return DMMP_OK;
    case TEACHER_MMOE:
        if (c->levels != 1) return dmmp_fail(DMMP_EINVAL, "teacher.levels: mmoe has 1 level (got %d)", c->levels);
        if (c->n_shared < 1 || c->n_shared > TEACHER_MAX_EXPERTS)
            return dmmp_fail(DMMP_EINVAL, "teacher.shared_experts: mmoe needs 1 to %d experts (got %d)",
                             TEACHER_MAX_EXPERTS, c->n_shared);
        return DMMP_OK;
    case TEACHER_CGC:
    case TEACHER_PLE:
        if (c->kind == TEACHER_CGC && c->levels != 1)
            return dmmp_fail(DMMP_EINVAL, "teacher.levels: cgc has 1 level (got %d); use kind = ple for more",
                             c->levels);
        if (c->kind == TEACHER_PLE && (c->levels < 2 || c->levels > TEACHER_MAX_LEVELS))
            return dmmp_fail(DMMP_EINVAL, "teacher.levels: ple needs 2 to %d levels (got %d)", TEACHER_MAX_LEVELS,
                             c->levels);
        if (c->n_shared < 0 || c->n_specific < 0 || c->n_shared > TEACHER_MAX_EXPERTS ||
            c->n_specific > TEACHER_MAX_EXPERTS)
            return dmmp_fail(DMMP_EINVAL, "teacher experts: shared %d and specific %d must be in [0, %d]",
                             c->n_shared, c->n_specific, TEACHER_MAX_EXPERTS);
        if (c->n_specific + c->n_shared < 1)
            return dmmp_fail(DMMP_EINVAL, "teacher experts: each task needs at least one expert (shared %d, specific %d)",
                             c->n_shared, c->n_specific);
        return DMMP_OK;
    }
    return dmmp_fail(DMMP_EINVAL, "teacher.kind: unknown kind %d", (int)c->kind);
}

/* The expert layout every pass agrees on: task 0's specific experts, task
 * 1's, then the shared ones. */
static void level_layout(const teacher_config *c, int *n_specific, int *n_shared, int *has_gates)
{
    switch (c->kind) {
    case TEACHER_SHARED_BOTTOM: *n_specific = 0; *n_shared = 1; *has_gates = 0; break;
    case TEACHER_MMOE: *n_specific = 0; *n_shared = c->n_shared; *has_gates = 1; break;
    default: *n_specific = c->n_specific; *n_shared = c->n_shared; *has_gates = 1; break;
    }
}

static int tower_dims(const teacher_config *c, int *dims)
{
    for (int i = 0; i < c->n_tower_dims; i++) dims[i] = c->tower_dims[i];
    dims[c->n_tower_dims] = 1;
    return c->n_tower_dims + 1;
}

size_t teacher_plan(const teacher_config *c, int in_dim, param_buffer *p)
{
    int ns, nsh, gates, tdims[TEACHER_MAX_DIMS];
    size_t before = p->total;
    int width = c->expert_dims[c->n_expert_dims - 1];
    level_layout(c, &ns, &nsh, &gates);
    for (int l = 0; l < c->levels; l++) {
        int in = l == 0 ? in_dim : width;
        int n_all = 2 * ns + nsh;
        for (int e = 0; e < n_all; e++) param_take(p, mlp_param_count(in, c->expert_dims, c->n_expert_dims));
        if (gates) {
            for (int t = 0; t < TEACHER_TASKS; t++) param_take(p, (size_t)in * (ns + nsh) + (ns + nsh));
            if (l < c->levels - 1) param_take(p, (size_t)in * n_all + n_all);
        }
    }
    int nt = tower_dims(c, tdims);
    for (int t = 0; t < TEACHER_TASKS; t++) param_take(p, mlp_param_count(width, tdims, nt));
    return p->total - before;
}

static dmmp_status gate_init(teacher_gate *g, nn_ctx *ctx, const char *name, int in, int n_experts, int width,
                             int max_batch, param_buffer *p, size_t *offset)
{
    size_t nW = (size_t)in * n_experts;
    size_t off = param_block(offset, nW + (size_t)n_experts);
    g->n_experts = n_experts;
    DMMP_TRY(dense_init(&g->linear, ctx, name, in, n_experts, max_batch, ACT_NONE, param_values(p, off),
                        param_values(p, off + nW), param_grads(p, off), param_grads(p, off + nW)));
    size_t gsz = (size_t)max_batch * n_experts * sizeof(float), osz = (size_t)max_batch * width * sizeof(float);
    DMMP_TRY(mem_alloc((void **)&g->logits, gsz, name));
    DMMP_TRY(mem_alloc((void **)&g->probs, gsz, name));
    DMMP_TRY(mem_alloc((void **)&g->dlogits, gsz, name));
    DMMP_TRY(mem_alloc((void **)&g->out, osz, name));
    DMMP_TRY(mem_alloc((void **)&g->dout, osz, name));
    return DMMP_OK;
}

static void gate_free(teacher_gate *g)
{
    dense_free(&g->linear);
    mem_free(g->logits);
    mem_free(g->probs);
    mem_free(g->dlogits);
    mem_free(g->out);
    mem_free(g->dout);
}

dmmp_status teacher_init(teacher *t, nn_ctx *ctx, const teacher_config *c, int in_dim, int max_batch,
                         param_buffer *p, size_t offset)
{
    int ns, nsh, gates, tdims[TEACHER_MAX_DIMS];
    char name[64];
    memset(t, 0, sizeof *t);
    DMMP_TRY(teacher_config_check(c));
    t->cfg = *c;
    t->in_dim = in_dim;
    t->max_batch = max_batch;
    t->width = c->expert_dims[c->n_expert_dims - 1];
    level_layout(c, &ns, &nsh, &gates);
    size_t osz = (size_t)max_batch * t->width * sizeof(float);
    for (int l = 0; l < c->levels; l++) {
        teacher_level *lv = &t->level[l];
        int in = l == 0 ? in_dim : t->width;
        lv->in_dim = in;
        lv->n_experts = 2 * ns + nsh;
        lv->has_gates = gates;
        lv->has_shared_gate = gates && l < c->levels - 1;
        for (int e = 0; e < lv->n_experts; e++) {
            lv->expert_task[e] = e < ns ? IN_TASK0 : e < 2 * ns ? IN_TASK1 : IN_SHARED;
            size_t off = param_block(&offset, mlp_param_count(in, c->expert_dims, c->n_expert_dims));
            snprintf(name, sizeof name, "teacher.level%d.expert%d", l, e);
            DMMP_TRY(mlp_init(&lv->experts[e], ctx, name, in, c->expert_dims, c->n_expert_dims, max_batch, ACT_RELU,
                              param_values(p, off), param_grads(p, off)));
            DMMP_TRY(mem_alloc((void **)&lv->dexpert[e], osz, name));
        }
        if (gates) {
            for (int task = 0; task < TEACHER_TASKS; task++) {
                teacher_gate *g = &lv->gate[task];
                int k = 0;
                for (int e = 0; e < ns; e++) g->expert_ids[k++] = task * ns + e;
                for (int e = 0; e < nsh; e++) g->expert_ids[k++] = 2 * ns + e;
                snprintf(name, sizeof name, "teacher.level%d.gate%d", l, task);
                DMMP_TRY(gate_init(g, ctx, name, in, k, t->width, max_batch, p, &offset));
            }
            if (lv->has_shared_gate) {
                teacher_gate *g = &lv->shared_gate;
                for (int e = 0; e < lv->n_experts; e++) g->expert_ids[e] = e;
                snprintf(name, sizeof name, "teacher.level%d.shared_gate", l);
                DMMP_TRY(gate_init(g, ctx, name, in, lv->n_experts, t->width, max_batch, p, &offset));
            }
        }
    }
    int nt = tower_dims(c, tdims);
    for (int task = 0; task < TEACHER_TASKS; task++) {
        size_t off = param_block(&offset, mlp_param_count(t->width, tdims, nt));
        snprintf(name, sizeof name, "teacher.tower%d", task);
        DMMP_TRY(mlp_init(&t->tower[task], ctx, name, t->width, tdims, nt, max_batch, ACT_NONE,
                          param_values(p, off), param_grads(p, off)));
        DMMP_TRY(mem_alloc((void **)&t->dtower_in[task], osz, name));
    }
    return DMMP_OK;
}

void teacher_init_weights(teacher *t, rng *r)
{
    for (int l = 0; l < t->cfg.levels; l++) {
        teacher_level *lv = &t->level[l];
        for (int e = 0; e < lv->n_experts; e++) mlp_init_weights(&lv->experts[e], r);
        if (lv->has_gates)
            for (int task = 0; task < TEACHER_TASKS; task++) {
                dense_layer *d = &lv->gate[task].linear;
                dense_init_weights(d->W, d->b, d->in, d->out, ACT_NONE, r);
            }
        if (lv->has_shared_gate) {
            dense_layer *d = &lv->shared_gate.linear;
            dense_init_weights(d->W, d->b, d->in, d->out, ACT_NONE, r);
        }
    }
    for (int task = 0; task < TEACHER_TASKS; task++) mlp_init_weights(&t->tower[task], r);
}

static dmmp_status gate_forward(teacher_gate *g, const teacher_level *lv, const float *in, int width, int batch)
{
    const float *ex[3 * TEACHER_MAX_EXPERTS];
    DMMP_TRY(dense_forward(&g->linear, in, g->logits, batch));
    for (int k = 0; k < g->n_experts; k++) ex[k] = mlp_output(&lv->experts[g->expert_ids[k]]);
    gate_mix_forward(g->logits, batch, g->n_experts, ex, width, g->probs, g->out);
    return DMMP_OK;
}

dmmp_status teacher_forward(teacher *t, const float *x, int batch, float *z_ctr, float *z_cvr)
{
    const float *in[3] = {x, x, x};
    for (int l = 0; l < t->cfg.levels; l++) {
        teacher_level *lv = &t->level[l];
        mlp *ex[3 * TEACHER_MAX_EXPERTS];
        const float *ex_in[3 * TEACHER_MAX_EXPERTS];
        for (int e = 0; e < lv->n_experts; e++) {
            ex[e] = &lv->experts[e];
            ex_in[e] = in[lv->expert_task[e]];
        }
        DMMP_TRY(mlp_forward_group(ex, ex_in, lv->n_experts, batch));
        if (!lv->has_gates) {
            in[IN_TASK0] = in[IN_TASK1] = mlp_output(&lv->experts[0]);
            continue;
        }
        for (int task = 0; task < TEACHER_TASKS; task++)
            DMMP_TRY(gate_forward(&lv->gate[task], lv, in[task], t->width, batch));
        if (lv->has_shared_gate) DMMP_TRY(gate_forward(&lv->shared_gate, lv, in[IN_SHARED], t->width, batch));
        in[IN_TASK0] = lv->gate[0].out;
        in[IN_TASK1] = lv->gate[1].out;
        in[IN_SHARED] = lv->has_shared_gate ? lv->shared_gate.out : NULL;
    }
    float *z[TEACHER_TASKS] = {z_ctr, z_cvr};
    mlp *towers[TEACHER_TASKS];
    for (int task = 0; task < TEACHER_TASKS; task++) {
        t->task_in[task] = in[task];
        towers[task] = &t->tower[task];
    }
    DMMP_TRY(mlp_forward_group(towers, in, TEACHER_TASKS, batch));
    for (int task = 0; task < TEACHER_TASKS; task++)
        memcpy(z[task], mlp_output(&t->tower[task]), (size_t)batch * sizeof(float));
    return DMMP_OK;
}

/* The input gradients of a level are written by the first layer that
 * reaches them and added to by the rest, so no pass zeroes them first:
 * input_grads keeps which buffers (they may alias: every input of level 0 is
 * x) have been written. */
typedef struct input_grads {
    float *buf[3];
    int written[3];
} input_grads;

/* 1 when buf has been written before (the caller adds), else marks it and returns 0. */
static int input_grad_accumulate(input_grads *g, const float *buf)
{
    for (int k = 0; k < 3; k++)
        if (g->buf[k] == buf) {
            int before = g->written[k];
            for (int j = 0; j < 3; j++)
                if (g->buf[j] == buf) g->written[j] = 1;
            return before;
        }
    return 1;
}

/* A gate's mixing backward (into the experts' gradients and the gate's
 * logits' gradient), and the chain of its linear layer for the level's
 * dense_backward_chains. */
static dense_chain gate_backward(teacher_gate *g, teacher_level *lv, const float *in, const float *dout, float *din,
                                 input_grads *ig, unsigned char *expert_written, int width, int batch)
{
    const float *ex[3 * TEACHER_MAX_EXPERTS];
    float *dex[3 * TEACHER_MAX_EXPERTS];
    unsigned char overwrite[3 * TEACHER_MAX_EXPERTS];
    for (int k = 0; k < g->n_experts; k++) {
        int e = g->expert_ids[k];
        ex[k] = mlp_output(&lv->experts[e]);
        dex[k] = lv->dexpert[e];
        overwrite[k] = !expert_written[e];
        expert_written[e] = 1;
    }
    gate_mix_backward(g->probs, batch, g->n_experts, ex, width, dout, dex, overwrite, g->dlogits);
    int accumulate = din ? input_grad_accumulate(ig, din) : 1;
    return (dense_chain){&g->linear, 1, in, (const float *const *)&g->logits, g->dlogits, din, accumulate, NULL};
}

/* A level's backward: the gates' mixing, then one dense_backward_chains of
 * the gates' linear layers and the experts, in the order (and so with the
 * input gradients' first writers) of running them one by one. */
static dmmp_status level_backward(teacher_level *lv, const float *const in[3], const float *const dout[3],
                                  float *const din[3], int width, int batch)
{
    dense_chain chains[3 + 3 * TEACHER_MAX_EXPERTS];
    int n = 0;
    input_grads ig = {{din[0], din[1], din[2]}, {0, 0, 0}};
    unsigned char expert_written[3 * TEACHER_MAX_EXPERTS] = {0};
    size_t wbytes = (size_t)batch * width * sizeof(float);
    if (lv->has_gates) {
        for (int task = 0; task < TEACHER_TASKS; task++)
            chains[n++] = gate_backward(&lv->gate[task], lv, in[task], dout[task], din[task], &ig, expert_written,
                                        width, batch);
        if (lv->has_shared_gate)
            chains[n++] = gate_backward(&lv->shared_gate, lv, in[IN_SHARED], dout[IN_SHARED], din[IN_SHARED], &ig,
                                        expert_written, width, batch);
    } else {
        float *d = lv->dexpert[0];
        size_t cells = (size_t)batch * width;
        for (size_t i = 0; i < cells; i++) d[i] = dout[0][i] + dout[1][i];
        expert_written[0] = 1;
    }
    for (int e = 0; e < lv->n_experts; e++) {
        /* An expert no gate reads gets no gradient (none does in the built-in layouts). */
        if (!expert_written[e]) memset(lv->dexpert[e], 0, wbytes);
        int src = lv->expert_task[e];
        int accumulate = din[src] ? input_grad_accumulate(&ig, din[src]) : 1;
        chains[n++] = mlp_chain(&lv->experts[e], in[src], lv->dexpert[e], din[src], accumulate);
    }
    DMMP_TRY(dense_backward_chains(chains, n, batch));
    /* An input no layer of this level reads has a zero gradient. */
    size_t in_bytes = (size_t)batch * lv->in_dim * sizeof(float);
    for (int k = 0; k < 3; k++)
        if (din[k] && !ig.written[k]) memset(din[k], 0, in_bytes);
    return DMMP_OK;
}

dmmp_status teacher_backward(teacher *t, const float *x, const float *dz_ctr, const float *dz_cvr, float *dx,
                             int batch)
{
    const float *dz[TEACHER_TASKS] = {dz_ctr, dz_cvr};
    dense_chain towers[TEACHER_TASKS];
    for (int task = 0; task < TEACHER_TASKS; task++)
        towers[task] = mlp_chain(&t->tower[task], t->task_in[task], dz[task], t->dtower_in[task], 0);
    DMMP_TRY(dense_backward_chains(towers, TEACHER_TASKS, batch));
    const float *dout[3] = {t->dtower_in[0], t->dtower_in[1], NULL};
    for (int l = t->cfg.levels - 1; l >= 0; l--) {
        teacher_level *lv = &t->level[l];
        teacher_level *below = l > 0 ? &t->level[l - 1] : NULL;
        const float *in[3];
        float *din[3];
        if (below) {
            in[IN_TASK0] = below->gate[0].out;
            in[IN_TASK1] = below->gate[1].out;
            in[IN_SHARED] = below->shared_gate.out;
            din[IN_TASK0] = below->gate[0].dout;
            din[IN_TASK1] = below->gate[1].dout;
            din[IN_SHARED] = below->shared_gate.dout;
        } else {
            in[0] = in[1] = in[2] = x;
            din[0] = din[1] = din[2] = dx;
        }
        DMMP_TRY(level_backward(lv, in, dout, din, t->width, batch));
        if (below) {
            dout[0] = below->gate[0].dout;
            dout[1] = below->gate[1].dout;
            dout[2] = below->shared_gate.dout;
        }
    }
    return DMMP_OK;
}

void teacher_free(teacher *t)
{
    for (int l = 0; l < t->cfg.levels; l++) {
        teacher_level *lv = &t->level[l];
        for (int e = 0; e < lv->n_experts; e++) {
            mlp_free(&lv->experts[e]);
            mem_free(lv->dexpert[e]);
        }
        if (lv->has_gates)
            for (int task = 0; task < TEACHER_TASKS; task++) gate_free(&lv->gate[task]);
        if (lv->has_shared_gate) gate_free(&lv->shared_gate);
    }
    for (int task = 0; task < TEACHER_TASKS; task++) {
        mlp_free(&t->tower[task]);
        mem_free(t->dtower_in[task]);
    }
    memset(t, 0, sizeof *t);
}
