#include "bench/bench_flops.h"

#include <string.h>

/* Multiply-adds of an MLP in -> dims[0] -> ... -> dims[n-1] per sample. */
static double mlp_macs(int in, const int *dims, int n)
{
    double macs = 0;
    for (int i = 0; i < n; i++) {
        macs += (double)in * dims[i];
        in = dims[i];
    }
    return macs;
}

static double teacher_macs(const dmmp_config *cfg, int in_dim)
{
    const config_teacher *t = &cfg->teacher;
    int specific = t->specific_experts, shared = t->shared_experts, gates = 1, levels = t->levels;
    if (t->kind == CONFIG_TEACHER_SHARED_BOTTOM) {
        specific = 0;
        shared = 1;
        gates = 0;
        levels = 1;
    } else if (t->kind == CONFIG_TEACHER_MMOE) {
        specific = 0;
    }
    const int *ed = t->expert_dims.v;
    int ne = t->expert_dims.n, width = ed[ne - 1], n_all = 2 * specific + shared;
    double macs = 0;
    for (int l = 0; l < levels; l++) {
        int in = l == 0 ? in_dim : width;
        macs += n_all * mlp_macs(in, ed, ne);
        if (gates) {
            macs += 2.0 * in * (specific + shared);      /* one gate per task */
            if (l < levels - 1) macs += (double)in * n_all; /* PLE's shared gate */
        }
    }
    int tower[CONFIG_MAX_LIST + 1], nt = 0;
    for (int i = 0; i < t->tower_dims.n; i++) tower[nt++] = t->tower_dims.v[i];
    tower[nt++] = 1;
    return macs + 2.0 * mlp_macs(width, tower, nt);
}

dmmp_status model_flops_count(const dmmp_config *cfg, model_dims dims, model_flops *out)
{
    memset(out, 0, sizeof *out);
    config_model_kind kind = cfg->model.kind;
    int has_teacher = config_has_teacher(kind), has_student = config_has_student(kind);
    int item_towers = kind == CONFIG_MODEL_TWO_TOWER ? 1 : 2;
    int learned_gate = kind == CONFIG_MODEL_DMMP && cfg->student.gate;
    if (has_teacher) {
        if (dims.teacher_in < 1) return dmmp_fail(DMMP_EINVAL, "flops: teacher input width %d", dims.teacher_in);
        out->teacher_forward = 2.0 * teacher_macs(cfg, dims.teacher_in);
    }
    if (has_student) {
        if (dims.user_in < 1 || dims.item_in < 1)
            return dmmp_fail(DMMP_EINVAL, "flops: tower input widths %d and %d", dims.user_in, dims.item_in);
        const config_int_list *ut = &cfg->student.user_tower, *it = &cfg->student.item_tower;
        double macs = mlp_macs(dims.user_in, ut->v, ut->n) + item_towers * mlp_macs(dims.item_in, it->v, it->n);
        if (learned_gate) {
            int gate[CONFIG_MAX_LIST + 1], ng = 0;
            for (int i = 0; i < cfg->student.gate_dims.n; i++) gate[ng++] = cfg->student.gate_dims.v[i];
            gate[ng++] = 2;
            macs += mlp_macs(dims.user_in, gate, ng);
        }
        out->student_forward = 2.0 * macs;
    }
    out->forward = out->teacher_forward + out->student_forward;
    out->backward = 2.0 * out->forward;
    config_negatives neg = has_student ? cfg->student.negatives : CONFIG_NEGATIVES_NONE;
    const config_int_list *it = &cfg->student.item_tower;
    if (neg == CONFIG_NEGATIVES_RANDOM || neg == CONFIG_NEGATIVES_POPULARITY) {
        /* neg_ratio more item rows through the towers, forward and backward; the teacher's forward on them. */
        int r = cfg->student.neg_ratio;
        out->negatives = 3.0 * r * item_towers * 2.0 * mlp_macs(dims.item_in, it->v, it->n);
        if (has_teacher && cfg->kd.enabled && cfg->kd.on_sampled) out->negatives += r * out->teacher_forward;
    } else if (neg == CONFIG_NEGATIVES_IN_BATCH) {
        /* per row and item tower: its row of U V^T (2 B k), and dU, dV (4 B k) */
        out->negatives = 6.0 * item_towers * (double)cfg->train.batch_size * it->v[it->n - 1];
    }
    return DMMP_OK;
}
