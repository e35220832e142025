/* The towers' negatives of a training step (see negatives.h for what is
 * trained on what). */
#include "model/negatives.h"

#include <math.h>
#include <string.h>

#include "core/mem.h"
#include "model/model.h"
#include "nn/gate.h"
#include "nn/l2norm.h"
#include "nn/score.h"
#include "nn/softmax_loss.h"
#include "simd/act.h"
#include "simd/vec.h"

static dmmp_status alloc_f(float **p, size_t n, const char *what) { return mem_alloc((void **)p, n * sizeof(float), what); }

static float sigmoidf_(float x) { return 1.0f / (1.0f + expf(-x)); }

dmmp_status neg_init(model *m)
{
    model_neg *g = &m->neg;
    size_t K = (size_t)m->k, B = (size_t)m->max_batch;
    int towers = m->n_item_towers;
    if (g->mode == MODEL_NEG_PAIRS) {
        size_t P = B * (size_t)g->ratio;
        float **pk[] = {&g->u_rep, &g->u_rep_n, &g->v_n[0], &g->du_rep};
        for (size_t i = 0; i < sizeof pk / sizeof pk[0]; i++) DMMP_TRY(alloc_f(pk[i], P * K, "sampled pairs"));
        if (towers == 2) DMMP_TRY(alloc_f(&g->v_n[1], P * K, "sampled pairs"));
        float **p1[] = {&g->s[0], &g->s[1], &g->r, &g->z_f, &g->ds[0], &g->ds[1], &g->dz_f, &g->zero,
                        &g->z_t_ctr, &g->z_t_cvr, &g->kd_target[0], &g->kd_target[1]};
        for (size_t i = 0; i < sizeof p1 / sizeof p1[0]; i++) DMMP_TRY(alloc_f(p1[i], P, "sampled pairs"));
        DMMP_TRY(alloc_f(&g->w_rep, 2 * P, "sampled pairs"));
        DMMP_TRY(alloc_f(&g->dw, 2 * P, "sampled pairs"));
        for (int t = 0; t < NEG_TERMS; t++)
            for (int j = 0; j < 2; j++) DMMP_TRY(alloc_f(&g->grad[t][j], P, "sampled pair gradients"));
        memset(g->zero, 0, P * sizeof(float));
        return DMMP_OK;
    }
    DMMP_TRY(score_matrix_init(&g->sm, m->ctx, "student.in_batch_scores", m->max_batch, m->k));
    size_t BB = B * B;
    for (int t = 0; t < towers; t++) {
        DMMP_TRY(alloc_f(&g->S[t], BB, "in-batch scores"));
        DMMP_TRY(alloc_f(&g->dS[t], BB, "in-batch scores"));
    }
    DMMP_TRY(alloc_f(&g->dC, BB, "in-batch scores"));
    if (towers == 2) {
        float **pb[] = {&g->L, &g->R, &g->D[0], &g->D[1], &g->dL, &g->dR};
        for (size_t i = 0; i < sizeof pb / sizeof pb[0]; i++) DMMP_TRY(alloc_f(pb[i], BB, "in-batch scores"));
    }
    if (m->spec.l2norm) {
        DMMP_TRY(alloc_f(&g->du_n, B * K, "in-batch scores"));
        DMMP_TRY(alloc_f(&g->dv_n, B * K, "in-batch scores"));
    }
    DMMP_TRY(mem_alloc((void **)&g->iota, B * sizeof(int32_t), "in-batch targets"));
    DMMP_TRY(alloc_f(&g->w_rep, 2 * B, "in-batch gate weights"));
    for (size_t i = 0; i < B; i++) g->iota[i] = (int32_t)i;
    return DMMP_OK;
}

dmmp_status neg_teacher_forward(model *m, const float *x_t, int batch)
{
    /* batch rows at a time: the shape of the impressions' own forward. */
    size_t w = (size_t)m->dims.teacher_in;
    for (int c = 0; c < m->neg.ratio; c++) {
        size_t off = (size_t)c * (size_t)batch;
        DMMP_TRY(teacher_forward(&m->teacher, x_t + ((size_t)batch + off) * w, batch, m->neg.z_t_ctr + off,
                                 m->neg.z_t_cvr + off));
    }
    return DMMP_OK;
}

static const float *item_out(const model *m, int t) { return mlp_output(&m->item_tower[t]); }

dmmp_status neg_forward(model *m, int batch)
{
    model_neg *g = &m->neg;
    size_t K = (size_t)m->k;
    float tau = (float)m->spec.temperature;
    int l2 = m->spec.l2norm;
    const float *u = mlp_output(&m->user_tower);
    if (g->mode == MODEL_NEG_PAIRS) {
        int R = g->ratio, P = batch * R;
        g->pairs = P;
        for (int b = 0; b < batch; b++)
            for (int r = 0; r < R; r++) {
                size_t p = (size_t)b * (size_t)R + (size_t)r;
                memcpy(g->u_rep + p * K, u + (size_t)b * K, K * sizeof(float));
                if (g->gate_frozen) continue;
                g->w_rep[2 * p] = m->w[2 * b];
                g->w_rep[2 * p + 1] = m->w[2 * b + 1];
            }
        for (int t = 0; t < m->n_item_towers; t++)
            tower_score_forward(g->u_rep, item_out(m, t) + (size_t)batch * K, P, m->k, tau, l2, m->bias[t], g->s[t],
                                g->u_rep_n, g->v_n[t]);
        if (m->fused_head) {
            fuse_scores_forward(g->w_rep, g->s[0], g->s[1], P, g->r);
            for (int p = 0; p < P; p++) g->z_f[p] = g->r[p] + m->bias[2];
        }
        return DMMP_OK;
    }
    g->rows = batch;
    if (!g->gate_frozen) memcpy(g->w_rep, m->w, 2 * (size_t)batch * sizeof(float));
    const float *vn[2] = {m->vc_n, m->vv_n};
    for (int t = 0; t < m->n_item_towers; t++)
        DMMP_TRY(score_matrix_forward(&g->sm, l2 ? m->u_n : u, l2 ? vn[t] : item_out(m, t), batch, g->S[t]));
    return DMMP_OK;
}

static dmmp_status check_finite(const model *m, int t, int64_t step)
{
    if (isfinite(m->term_loss[t])) return DMMP_OK;
    return dmmp_fail(DMMP_ENUMERIC, "loss term %s is %g at step %lld", loss_term_name((loss_term)t), m->term_loss[t],
                     (long long)step);
}

static dmmp_status pair_losses(model *m, const int *active, int64_t step)
{
    model_neg *g = &m->neg;
    int P = g->pairs;
    if (active[TERM_KD_SAMPLED_CTR] && !m->kd_targets_frozen) {
        /* The teacher's outputs on the pairs are constants for the student, as on the impressions. */
        float T = (float)m->spec.kd_temperature;
        for (int p = 0; p < P; p++) {
            float pc = sigmoidf_(g->z_t_ctr[p] / T), pv = sigmoidf_(g->z_t_cvr[p] / T);
            g->kd_target[0][p] = pc;
            g->kd_target[1][p] = pc * pv;
        }
    }
    for (int k = 0; k < NEG_TERMS; k++) {
        int t = TERM_SAMPLED_CTR + k;
        if (!active[t]) continue;
        float *g0 = g->grad[k][0], *g1 = g->grad[k][1];
        memset(g0, 0, (size_t)P * sizeof(float));
        memset(g1, 0, (size_t)P * sizeof(float));
        double *L = &m->term_loss[t];
        switch ((loss_term)t) {
        case TERM_SAMPLED_CTR: DMMP_TRY(model_term_single(m, 0, g->s[0], g->zero, NULL, P, g0, L)); break;
        case TERM_SAMPLED_CTCVR: DMMP_TRY(model_term_product(m, 0, g->s[0], g->s[1], g->zero, P, g0, g1, L)); break;
        case TERM_SAMPLED_FUSED: DMMP_TRY(model_term_single(m, 0, g->z_f, g->zero, NULL, P, g0, L)); break;
        case TERM_KD_SAMPLED_CTR: DMMP_TRY(model_term_single(m, 1, g->s[0], g->kd_target[0], NULL, P, g0, L)); break;
        case TERM_KD_SAMPLED_CTCVR:
            DMMP_TRY(model_term_product(m, 1, g->s[0], g->s[1], g->kd_target[1], P, g0, g1, L));
            break;
        default: break;
        }
        DMMP_TRY(check_finite(m, t, step));
    }
    return DMMP_OK;
}

static dmmp_status in_batch_losses(model *m, int batch, const int *active, const model_negs *negs, int64_t step)
{
    model_neg *g = &m->neg;
    size_t n = (size_t)batch * (size_t)batch;
    float tau = (float)m->spec.temperature, Ts = (float)m->spec.softmax_temperature;
    const float *shift = m->spec.logq ? negs->neg_log_q : NULL;
    const int32_t *key = negs->item;
    const act_kernels *ak = act_kernels_get();
    const vec_kernels *vk = vec_kernels_get();
    if (active[TERM_SAMPLED_CTR]) {
        DMMP_TRY(softmax_xent_forward_backward(g->S[0], batch, batch, 1.0f / (tau * Ts), shift, key, g->iota, m->click_f,
                                               g->dC, &m->term_loss[TERM_SAMPLED_CTR]));
        DMMP_TRY(check_finite(m, TERM_SAMPLED_CTR, step));
    }
    if (active[TERM_SAMPLED_CTCVR]) {
        /* log pCTCVR = log sigmoid(s_c) + log sigmoid(s_v), s = S / tau + b. */
        ak->log_sigmoid(g->S[0], n, 1.0f / tau, m->bias[0], g->L, g->D[0]);
        ak->log_sigmoid(g->S[1], n, 1.0f / tau, m->bias[1], g->R, g->D[1]);
        vk->axpy(1.0f, g->R, n, g->L);
        DMMP_TRY(softmax_xent_forward_backward(g->L, batch, batch, 1.0f / Ts, shift, key, g->iota, m->conv_f, g->dL,
                                               &m->term_loss[TERM_SAMPLED_CTCVR]));
        DMMP_TRY(check_finite(m, TERM_SAMPLED_CTCVR, step));
    }
    if (active[TERM_SAMPLED_FUSED]) {
        /* r_ij = w_c,i s_c,ij + w_v,i s_v,ij; the biases add a constant per row, which the softmax drops. */
        memset(g->R, 0, n * sizeof(float));
        vk->axpy_rows(1.0f / tau, g->w_rep, 2, g->S[0], (size_t)batch, (size_t)batch, g->R);
        vk->axpy_rows(1.0f / tau, g->w_rep + 1, 2, g->S[1], (size_t)batch, (size_t)batch, g->R);
        DMMP_TRY(softmax_xent_forward_backward(g->R, batch, batch, 1.0f / Ts, shift, key, g->iota, m->targets[1], g->dR,
                                               &m->term_loss[TERM_SAMPLED_FUSED]));
        DMMP_TRY(check_finite(m, TERM_SAMPLED_FUSED, step));
    }
    return DMMP_OK;
}

dmmp_status neg_losses(model *m, int batch, const int *active, const model_negs *negs, int64_t step)
{
    if (m->neg.mode == MODEL_NEG_PAIRS) return pair_losses(m, active, step);
    return in_batch_losses(m, batch, active, negs, step);
}

static void add_scaled(float *dst, const float *src, float scale, int n)
{
    for (int i = 0; i < n; i++) dst[i] += scale * src[i];
}

void neg_backward_scores(model *m, int batch, const int *active)
{
    model_neg *g = &m->neg;
    const float *sc = m->term_scale + TERM_SAMPLED_CTR;
    if (g->mode == MODEL_NEG_PAIRS) {
        int P = g->pairs;
        size_t nb = (size_t)P * sizeof(float);
        memset(g->ds[0], 0, nb);
        memset(g->ds[1], 0, nb);
        /* sampled ctr, ctcvr, fused, kd ctr, kd ctcvr: which logits each reads. */
        static const int into[NEG_TERMS][2] = {{0, -1}, {0, 1}, {2, -1}, {0, -1}, {0, 1}};
        memset(g->dz_f, 0, nb);
        float *dst[3] = {g->ds[0], g->ds[1], g->dz_f};
        for (int k = 0; k < NEG_TERMS; k++) {
            if (!active[TERM_SAMPLED_CTR + k]) continue;
            for (int j = 0; j < 2; j++)
                if (into[k][j] >= 0) add_scaled(dst[into[k][j]], g->grad[k][j], sc[k], P);
        }
        if (m->fused_head && active[TERM_SAMPLED_FUSED]) {
            double db = 0;
            for (int p = 0; p < P; p++) db += g->dz_f[p];
            m->bias_grad[2] += (float)db;
            /* The gate weights are held fixed on sampled pairs: g->dw is dropped. */
            fuse_scores_backward(g->w_rep, g->s[0], g->s[1], g->dz_f, P, g->dw, g->ds[0], g->ds[1]);
        }
        return;
    }
    size_t n = (size_t)batch * (size_t)batch;
    float tau = (float)m->spec.temperature;
    const act_kernels *ak = act_kernels_get();
    const vec_kernels *vk = vec_kernels_get();
    for (int t = 0; t < m->n_item_towers; t++) memset(g->dS[t], 0, n * sizeof(float));
    if (active[TERM_SAMPLED_CTR]) vk->axpy(sc[0], g->dC, n, g->dS[0]);
    if (active[TERM_SAMPLED_CTCVR]) {
        m->bias_grad[0] += (float)(sc[1] * ak->log_sigmoid_backward(g->D[0], g->dL, n, sc[1] / tau, g->dS[0]));
        m->bias_grad[1] += (float)(sc[1] * ak->log_sigmoid_backward(g->D[1], g->dL, n, sc[1] / tau, g->dS[1]));
    }
    if (active[TERM_SAMPLED_FUSED]) { /* the gate is held fixed here too */
        vk->axpy_rows(sc[2] / tau, g->w_rep, 2, g->dR, (size_t)batch, (size_t)batch, g->dS[0]);
        vk->axpy_rows(sc[2] / tau, g->w_rep + 1, 2, g->dR, (size_t)batch, (size_t)batch, g->dS[1]);
    }
}

dmmp_status neg_backward_tower(model *m, int t, int batch)
{
    model_neg *g = &m->neg;
    size_t K = (size_t)m->k;
    float tau = (float)m->spec.temperature;
    int l2 = m->spec.l2norm;
    const float *v = item_out(m, t);
    if (g->mode == MODEL_NEG_PAIRS) {
        if (t == 0) memset(g->du_rep, 0, (size_t)g->pairs * K * sizeof(float));
        tower_score_backward(g->u_rep, v + (size_t)batch * K, g->u_rep_n, g->v_n[t], g->pairs, m->k, tau, l2, g->ds[t],
                             g->du_rep, m->dv[t] + (size_t)batch * K, &m->bias_grad[t]);
        return DMMP_OK;
    }
    const float *u = mlp_output(&m->user_tower);
    if (!l2) return score_matrix_backward(&g->sm, u, v, g->dS[t], batch, m->du, 1, m->dv[t], 1);
    const float *vn = t == 0 ? m->vc_n : m->vv_n;
    DMMP_TRY(score_matrix_backward(&g->sm, m->u_n, vn, g->dS[t], batch, g->du_n, t > 0, g->dv_n, 0));
    l2norm_rows_backward(v, vn, g->dv_n, batch, m->k, m->dv[t]);
    return DMMP_OK;
}

void neg_backward_user(model *m, int batch)
{
    model_neg *g = &m->neg;
    size_t K = (size_t)m->k;
    if (g->mode == MODEL_NEG_PAIRS) {
        const vec_kernels *vk = vec_kernels_get();
        for (int b = 0; b < batch; b++)
            for (int r = 0; r < g->ratio; r++)
                vk->axpy(1.0f, g->du_rep + ((size_t)b * (size_t)g->ratio + (size_t)r) * K, K, m->du + (size_t)b * K);
        return;
    }
    if (m->spec.l2norm) l2norm_rows_backward(mlp_output(&m->user_tower), m->u_n, g->du_n, batch, m->k, m->du);
}

static int all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

const char *neg_nonfinite_term(const model *m, int batch)
{
    const model_neg *g = &m->neg;
    int two = m->n_item_towers == 2;
    size_t n = g->mode == MODEL_NEG_PAIRS ? (size_t)g->pairs : (size_t)batch * (size_t)batch;
    const float *c = g->mode == MODEL_NEG_PAIRS ? g->s[0] : g->S[0], *v = g->mode == MODEL_NEG_PAIRS ? g->s[1] : g->S[1];
    for (int t = TERM_SAMPLED_CTR; t < TERM_COUNT; t++) {
        if (!m->term_active[t]) continue;
        int bad = !all_finite(c, n) || (two && t != TERM_SAMPLED_CTR && t != TERM_KD_SAMPLED_CTR && !all_finite(v, n));
        if (g->mode == MODEL_NEG_PAIRS && t == TERM_SAMPLED_FUSED) bad = !all_finite(g->z_f, n);
        if (bad) return loss_term_name((loss_term)t);
    }
    return NULL;
}

void neg_free(model *m)
{
    model_neg *g = &m->neg;
    float *bufs[] = {g->u_rep, g->u_rep_n, g->v_n[0], g->v_n[1], g->s[0], g->s[1], g->w_rep, g->r, g->z_f, g->ds[0],
                     g->ds[1], g->dz_f, g->dw, g->du_rep, g->zero, g->z_t_ctr, g->z_t_cvr, g->kd_target[0],
                     g->kd_target[1], g->S[0], g->S[1], g->L, g->R, g->D[0], g->D[1], g->dC, g->dL, g->dR, g->dS[0],
                     g->dS[1], g->du_n, g->dv_n};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) mem_free(bufs[i]);
    for (int t = 0; t < NEG_TERMS; t++) {
        mem_free(g->grad[t][0]);
        mem_free(g->grad[t][1]);
    }
    mem_free(g->iota);
    score_matrix_free(&g->sm);
    memset(g, 0, sizeof *g);
}
