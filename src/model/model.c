#include "model/model.h"

#include <math.h>
#include <string.h>

#include "core/mem.h"
#include "nn/gate.h"
#include "nn/loss.h"
#include "nn/score.h"

static const char *const term_names[TERM_COUNT] = {
    "teacher_ctr", "teacher_ctcvr", "teacher_cvr", "student_ctr", "student_ctcvr",
    "student_fused", "kd_ctr", "kd_ctcvr", "kd_fused", "sampled_ctr", "sampled_ctcvr", "sampled_fused",
    "kd_sampled_ctr", "kd_sampled_ctcvr",
};

const char *loss_term_name(loss_term t) { return t >= 0 && t < TERM_COUNT ? term_names[t] : "unknown"; }

static dmmp_status alloc_f(float **p, size_t n, const char *what) { return mem_alloc((void **)p, n * sizeof(float), what); }

dmmp_status model_init(model *m, const model_spec *spec, model_dims dims, int max_batch, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    m->spec = *spec;
    const model_spec *sp = &m->spec;
    m->dims = dims;
    m->max_batch = max_batch;
    model_variant kind = sp->variant;
    m->has_teacher = kind == MODEL_TEACHER_ONLY || kind == MODEL_DMMP;
    m->has_student = kind != MODEL_TEACHER_ONLY;
    m->n_item_towers = kind == MODEL_TWO_TOWER ? 1 : kind == MODEL_TEACHER_ONLY ? 0 : 2;
    m->fused_head = m->n_item_towers == 2;
    m->learned_gate = kind == MODEL_DMMP && sp->learned_gate;
    m->kd = kind == MODEL_DMMP && sp->kd;
    m->neg.mode = m->has_student ? sp->negatives : MODEL_NEG_NONE;
    if (m->neg.mode == MODEL_NEG_PAIRS && (sp->neg_ratio < 1 || sp->neg_ratio > 1024))
        return dmmp_fail(DMMP_EINVAL, "student: neg_ratio %d outside [1, 1024]", sp->neg_ratio);
    m->neg.ratio = m->neg.mode == MODEL_NEG_PAIRS ? sp->neg_ratio : 0;
    if (max_batch < 1) return dmmp_fail(DMMP_EINVAL, "model: max batch must be >= 1 (got %d)", max_batch);
    if (m->has_teacher && dims.teacher_in < 1)
        return dmmp_fail(DMMP_EINVAL, "model: the teacher needs a non-empty input (got width %d)", dims.teacher_in);
    if (m->has_student && (dims.user_in < 1 || dims.item_in < 1))
        return dmmp_fail(DMMP_EINVAL, "model: the towers need user and item features (widths %d and %d)",
                         dims.user_in, dims.item_in);

    if (m->has_teacher) {
        m->term_active[TERM_TEACHER_CTR] = 1;
        m->term_active[sp->teacher_aux ? TERM_TEACHER_CTCVR : TERM_TEACHER_CVR] = 1;
    }
    if (m->has_student) m->term_active[TERM_STUDENT_CTR] = 1;
    if (m->n_item_towers == 2) m->term_active[TERM_STUDENT_CTCVR] = m->term_active[TERM_STUDENT_FUSED] = 1;
    if (m->kd) m->term_active[TERM_KD_CTR] = m->term_active[TERM_KD_CTCVR] = m->term_active[TERM_KD_FUSED] = 1;
    if (m->neg.mode != MODEL_NEG_NONE) {
        m->term_active[TERM_SAMPLED_CTR] = 1;
        if (m->n_item_towers == 2) m->term_active[TERM_SAMPLED_CTCVR] = m->term_active[TERM_SAMPLED_FUSED] = 1;
        if (m->kd && sp->kd_on_sampled && m->neg.mode == MODEL_NEG_PAIRS)
            m->term_active[TERM_KD_SAMPLED_CTR] = m->term_active[TERM_KD_SAMPLED_CTCVR] = 1;
    }
    if (sp->kd_on_sampled && !m->term_active[TERM_KD_SAMPLED_CTR])
        return dmmp_fail(DMMP_EINVAL, "kd.on_sampled needs dmmp with distillation and sampled pairs "
                                      "(student.negatives = random or popularity)");
    m->max_items = max_batch * (1 + m->neg.ratio);

    /* Planning pass: every dense parameter in one buffer. */
    const teacher_config *tc = &sp->teacher;
    size_t off_teacher = 0, off_user = 0, off_item[2] = {0, 0}, off_gate = 0, off_bias, off_logvar;
    int gate_dims[MODEL_MAX_DIMS + 1], n_gate = 0;
    param_buffer *p = &m->params;
    if (m->has_teacher) {
        DMMP_TRY(teacher_config_check(tc));
        off_teacher = p->total;
        teacher_plan(tc, dims.teacher_in, p);
    }
    m->blocks.teacher_end = p->total;
    if (m->has_student) {
        if (sp->n_user_tower < 1 || sp->n_item_tower < 1 || sp->n_user_tower > MODEL_MAX_DIMS ||
            sp->n_item_tower > MODEL_MAX_DIMS || sp->n_gate_dims < 0 || sp->n_gate_dims > MODEL_MAX_DIMS)
            return dmmp_fail(DMMP_EINVAL, "student: tower layer counts %d (user), %d (item), %d (gate) outside [1, %d]",
                             sp->n_user_tower, sp->n_item_tower, sp->n_gate_dims, MODEL_MAX_DIMS);
        const int *ut = sp->user_tower, *it = sp->item_tower;
        int nut = sp->n_user_tower, nit = sp->n_item_tower;
        m->k = ut[nut - 1];
        if (it[nit - 1] != m->k)
            return dmmp_fail(DMMP_EINVAL, "student: user tower ends in %d but item towers in %d (must match)", m->k,
                             it[nit - 1]);
        off_user = param_take(p, mlp_param_count(dims.user_in, ut, nut));
        for (int t = 0; t < m->n_item_towers; t++) off_item[t] = param_take(p, mlp_param_count(dims.item_in, it, nit));
        if (m->learned_gate) {
            for (int i = 0; i < sp->n_gate_dims; i++) gate_dims[n_gate++] = sp->gate_dims[i];
            gate_dims[n_gate++] = sp->gate_user_bias ? 3 : 2; /* softmax logits (and beta(u)) */
            off_gate = param_take(p, mlp_param_count(dims.user_in, gate_dims, n_gate));
        }
    }
    off_bias = param_take(p, 3);
    off_logvar = param_take(p, TERM_COUNT);
    DMMP_TRY(param_alloc(p));

    /* Binding pass. */
    DMMP_TRY(nn_ctx_create(&m->ctx));
    rng r;
    rng_stream(&r, seed, 0x6d6f64656cULL /* "model" */);
    if (m->has_teacher) {
        DMMP_TRY(teacher_init(&m->teacher, m->ctx, tc, dims.teacher_in, max_batch, p, off_teacher));
        teacher_init_weights(&m->teacher, &r);
    }
    if (m->has_student) {
        const int *ut = sp->user_tower, *it = sp->item_tower;
        int nut = sp->n_user_tower, nit = sp->n_item_tower;
        /* Towers end without an activation: their outputs are embeddings. */
        DMMP_TRY(mlp_init(&m->user_tower, m->ctx, "student.user_tower", dims.user_in, ut, nut, max_batch, ACT_NONE,
                          param_values(p, off_user), param_grads(p, off_user)));
        mlp_init_weights(&m->user_tower, &r);
        for (int t = 0; t < m->n_item_towers; t++) {
            DMMP_TRY(mlp_init(&m->item_tower[t], m->ctx, t == 0 ? "student.click_item_tower" : "student.conversion_item_tower",
                              dims.item_in, it, nit, m->max_items, ACT_NONE, param_values(p, off_item[t]),
                              param_grads(p, off_item[t])));
            mlp_init_weights(&m->item_tower[t], &r);
        }
        if (m->learned_gate) {
            DMMP_TRY(mlp_init(&m->gate, m->ctx, "student.gate", dims.user_in, gate_dims, n_gate, max_batch, ACT_NONE,
                              param_values(p, off_gate), param_grads(p, off_gate)));
            mlp_init_weights(&m->gate, &r);
        }
    }
    m->bias = param_values(p, off_bias);
    m->bias_grad = param_grads(p, off_bias);
    DMMP_TRY(weighting_init(&m->weighting, sp->weighting, TERM_COUNT, sp->fixed_weights, sp->dwa_temperature,
                            param_values(p, off_logvar), param_grads(p, off_logvar)));
    m->blocks.has_logvar = m->weighting.log_var != NULL;
    m->blocks.logvar_off = off_logvar;

    size_t B = (size_t)max_batch, K = (size_t)(m->k > 0 ? m->k : 1), NI = (size_t)m->max_items;
    float **vecs[] = {&m->z_t_ctr, &m->z_t_cvr, &m->s_c,     &m->s_v,     &m->r,       &m->z_f,
                      &m->dz_t_ctr, &m->dz_t_cvr, &m->ds_c, &m->ds_v,    &m->dz_f,    &m->click_f,
                      &m->conv_f,  &m->targets[0], &m->targets[1], &m->kd_target[0],
                      &m->kd_target[1], &m->kd_target[2]};
    for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) DMMP_TRY(alloc_f(vecs[i], B, "model outputs"));
    for (int t = 0; t < TERM_SAMPLED_CTR; t++)
        for (int j = 0; j < 2; j++) DMMP_TRY(alloc_f(&m->term_grad[t][j], B, "loss gradients"));
    DMMP_TRY(alloc_f(&m->w, 2 * B, "gate weights"));
    DMMP_TRY(alloc_f(&m->gate_logits, 2 * B, "gate weights"));
    DMMP_TRY(alloc_f(&m->gate_dout, 3 * B, "gate weights"));
    DMMP_TRY(alloc_f(&m->dw, 2 * B, "gate weights"));
    DMMP_TRY(alloc_f(&m->u_n, B * K, "tower outputs"));
    DMMP_TRY(alloc_f(&m->vc_n, B * K, "tower outputs"));
    DMMP_TRY(alloc_f(&m->vv_n, B * K, "tower outputs"));
    DMMP_TRY(alloc_f(&m->du, B * K, "tower gradients"));
    DMMP_TRY(alloc_f(&m->dv[0], NI * K, "tower gradients"));
    DMMP_TRY(alloc_f(&m->dv[1], NI * K, "tower gradients"));
    DMMP_TRY(alloc_f(&m->dx_t, B * (size_t)(dims.teacher_in > 0 ? dims.teacher_in : 1), "input gradients"));
    DMMP_TRY(alloc_f(&m->dx_u, B * (size_t)(dims.user_in > 0 ? dims.user_in : 1), "input gradients"));
    DMMP_TRY(alloc_f(&m->dx_i, NI * (size_t)(dims.item_in > 0 ? dims.item_in : 1), "input gradients"));
    if (m->neg.mode != MODEL_NEG_NONE) DMMP_TRY(neg_init(m));
    return DMMP_OK;
}

/* The logits each loss term reads (the second is NULL for single-logit terms). */
static void term_inputs(const model *m, int term, const float **a, const float **b)
{
    const float *in[TERM_COUNT][2] = {{m->z_t_ctr, NULL}, {m->z_t_ctr, m->z_t_cvr}, {m->z_t_cvr, NULL},
                                      {m->s_c, NULL},     {m->s_c, m->s_v},         {m->z_f, NULL},
                                      {m->s_c, NULL},     {m->s_c, m->s_v},         {m->z_f, NULL}};
    *a = in[term][0];
    *b = in[term][1];
}

const char *model_nonfinite_term(const model *m, int n)
{
    for (int k = 0; k < TERM_SAMPLED_CTR; k++) {
        if (!m->term_active[k]) continue;
        const float *in[2];
        term_inputs(m, k, &in[0], &in[1]);
        for (int j = 0; j < 2; j++)
            for (int i = 0; in[j] && i < n; i++)
                if (!isfinite(in[j][i])) return term_names[k];
    }
    return m->neg.active ? neg_nonfinite_term(m, n) : NULL;
}

static float sigmoidf_(float x) { return 1.0f / (1.0f + expf(-x)); }

/* User side of the student: u (and its normalised copy) and the gate weights w. */
static dmmp_status user_side_forward(model *m, const float *x_u, int batch)
{
    /* The user tower and the gate read the same x_u: side by side. */
    mlp *side[2] = {&m->user_tower, &m->gate};
    const float *side_in[2] = {x_u, x_u};
    DMMP_TRY(mlp_forward_group(side, side_in, m->learned_gate ? 2 : 1, batch));
    if (m->learned_gate && m->spec.gate_user_bias) {
        const float *g = mlp_output(&m->gate);
        for (int b = 0; b < batch; b++) {
            m->gate_logits[2 * b] = g[3 * b];
            m->gate_logits[2 * b + 1] = g[3 * b + 1];
        }
        softmax2_forward(m->gate_logits, batch, m->w);
    } else if (m->learned_gate) {
        softmax2_forward(mlp_output(&m->gate), batch, m->w);
    } else {
        for (int b = 0; b < 2 * batch; b++) m->w[b] = 0.5f; /* three_tower: fixed 0.5 / 0.5 */
    }
    return DMMP_OK;
}

dmmp_status model_forward(model *m, const float *x_t, const float *x_u, const float *x_i, int batch)
{
    return model_forward_negs(m, x_t, x_u, x_i, batch, NULL);
}

dmmp_status model_forward_negs(model *m, const float *x_t, const float *x_u, const float *x_i, int batch,
                               const model_negs *negs)
{
    if (batch < 1 || batch > m->max_batch)
        return dmmp_fail(DMMP_EINVAL, "model_forward: batch %d outside [1, %d]", batch, m->max_batch);
    m->neg.active = negs && m->neg.mode != MODEL_NEG_NONE;
    m->neg_items = m->neg.active && m->neg.mode == MODEL_NEG_PAIRS ? batch * (1 + m->neg.ratio) : batch;
    /* The pairs first: the impressions' forward leaves the activations the teacher's backward reads. */
    if (m->neg.active && m->term_active[TERM_KD_SAMPLED_CTR]) DMMP_TRY(neg_teacher_forward(m, x_t, batch));
    if (m->has_teacher) DMMP_TRY(teacher_forward(&m->teacher, x_t, batch, m->z_t_ctr, m->z_t_cvr));
    if (!m->has_student) return DMMP_OK;
    DMMP_TRY(user_side_forward(m, x_u, batch));
    float tau = (float)m->spec.temperature;
    int l2 = m->spec.l2norm;
    float *vn[2] = {m->vc_n, m->vv_n};
    float *s[2] = {m->s_c, m->s_v};
    mlp *items[2] = {&m->item_tower[0], &m->item_tower[1]};
    const float *items_in[2] = {x_i, x_i};
    DMMP_TRY(mlp_forward_group(items, items_in, m->n_item_towers, m->neg_items));
    for (int t = 0; t < m->n_item_towers; t++) {
        tower_score_forward(mlp_output(&m->user_tower), mlp_output(&m->item_tower[t]), batch, m->k, tau, l2,
                            m->bias[t], s[t], m->u_n, vn[t]);
    }
    if (m->fused_head) {
        fuse_scores_forward(m->w, m->s_c, m->s_v, batch, m->r);
        for (int b = 0; b < batch; b++) m->z_f[b] = m->r[b] + m->bias[2];
        if (m->learned_gate && m->spec.gate_user_bias) {
            /* beta(u) shifts a user's fused logit and no item's rank. */
            const float *g = mlp_output(&m->gate);
            for (int b = 0; b < batch; b++) m->z_f[b] += g[3 * b + 2];
        }
    }
    return m->neg.active ? neg_forward(m, batch) : DMMP_OK;
}

/* Adds scale * src to dst over n values. */
static void add_scaled(float *dst, const float *src, float scale, int n)
{
    for (int i = 0; i < n; i++) dst[i] += scale * src[i];
}

/* One distillation or hard term on a single logit: BCE (optionally at
 * temperature T) or MSE on the probability, per kd.loss. */
dmmp_status model_term_single(const model *m, int is_kd, const float *z, const float *target, const float *mask, int n,
                              float *dz, double *loss)
{
    if (!is_kd) return bce_logits_forward_backward(z, target, mask, n, dz, loss);
    float T = (float)m->spec.kd_temperature;
    if (m->spec.kd_loss == MODEL_KD_MSE) return mse_sigmoid_forward_backward(z, target, mask, n, T, dz, loss);
    return bce_logits_temp(z, target, mask, n, T, dz, loss);
}

dmmp_status model_term_product(const model *m, int is_kd, const float *z1, const float *z2, const float *target, int n,
                               float *dz1, float *dz2, double *loss)
{
    if (!is_kd) return bce_product_forward_backward(z1, z2, target, NULL, n, dz1, dz2, loss);
    float T = (float)m->spec.kd_temperature;
    if (m->spec.kd_loss == MODEL_KD_MSE)
        return mse_product_forward_backward(z1, z2, target, NULL, n, T, dz1, dz2, loss);
    return bce_product_temp(z1, z2, target, NULL, n, T, dz1, dz2, loss);
}

dmmp_status model_backward(model *m, const float *x_t, const float *x_u, const float *x_i, const uint8_t *click,
                           const uint8_t *conversion, int batch, int64_t step)
{
    return model_backward_negs(m, x_t, x_u, x_i, click, conversion, batch, step, NULL);
}

dmmp_status model_backward_negs(model *m, const float *x_t, const float *x_u, const float *x_i, const uint8_t *click,
                                const uint8_t *conversion, int batch, int64_t step, const model_negs *negs)
{
    if (m->neg.active && (!negs || (m->neg.mode == MODEL_NEG_PAIRS && m->neg.pairs != batch * m->neg.ratio) ||
                          (m->neg.mode == MODEL_NEG_IN_BATCH && m->neg.rows != batch)))
        return dmmp_fail(DMMP_EINVAL, "model_backward: the forward scored negatives of another batch (%d rows)", batch);
    size_t nb = (size_t)batch * sizeof(float);
    double lambda = m->spec.conversion_weight;
    int active[TERM_COUNT];
    memcpy(active, m->term_active, sizeof active);
    if (m->kd && step < m->spec.kd_warmup_steps)
        active[TERM_KD_CTR] = active[TERM_KD_CTCVR] = active[TERM_KD_FUSED] = active[TERM_KD_SAMPLED_CTR] =
            active[TERM_KD_SAMPLED_CTCVR] = 0;
    /* A forward without negatives (validation's) leaves the sampled terms out. */
    if (!m->neg.active)
        for (int t = TERM_SAMPLED_CTR; t < TERM_COUNT; t++) active[t] = 0;

    float *y_ctcvr = m->targets[0], *y_f = m->targets[1];
    for (int b = 0; b < batch; b++) {
        m->click_f[b] = (float)click[b];
        m->conv_f[b] = (float)(click[b] && conversion[b]);
        y_ctcvr[b] = m->conv_f[b];
        y_f[b] = (float)((1.0 - lambda) * m->click_f[b] + lambda * y_ctcvr[b]);
    }
    if (m->kd && !m->kd_targets_frozen) {
        /* Teacher outputs are constants for the student: targets, no gradient path. */
        float T = (float)m->spec.kd_temperature; /* soft targets at the KD temperature (bce and mse) */
        for (int b = 0; b < batch; b++) {
            float pc = sigmoidf_(m->z_t_ctr[b] / T), pv = sigmoidf_(m->z_t_cvr[b] / T);
            m->kd_target[0][b] = pc;
            m->kd_target[1][b] = pc * pv;
            m->kd_target[2][b] = (float)((1.0 - lambda) * pc + lambda * pc * pv);
        }
    }

    /* Each term's loss and its gradient into its own buffers. */
    for (int t = 0; t < TERM_COUNT; t++) {
        m->term_loss[t] = 0;
        if (!active[t] || t >= TERM_SAMPLED_CTR) continue;
        memset(m->term_grad[t][0], 0, nb);
        memset(m->term_grad[t][1], 0, nb);
        float *g0 = m->term_grad[t][0], *g1 = m->term_grad[t][1];
        double *L = &m->term_loss[t];
        switch ((loss_term)t) {
        case TERM_TEACHER_CTR: DMMP_TRY(bce_logits_forward_backward(m->z_t_ctr, m->click_f, NULL, batch, g0, L)); break;
        case TERM_TEACHER_CTCVR:
            DMMP_TRY(bce_product_forward_backward(m->z_t_ctr, m->z_t_cvr, y_ctcvr, NULL, batch, g0, g1, L));
            break;
        case TERM_TEACHER_CVR:
            DMMP_TRY(bce_logits_forward_backward(m->z_t_cvr, m->conv_f, m->click_f, batch, g1, L));
            break;
        case TERM_STUDENT_CTR: DMMP_TRY(model_term_single(m, 0, m->s_c, m->click_f, NULL, batch, g0, L)); break;
        case TERM_STUDENT_CTCVR: DMMP_TRY(model_term_product(m, 0, m->s_c, m->s_v, y_ctcvr, batch, g0, g1, L)); break;
        case TERM_STUDENT_FUSED: DMMP_TRY(model_term_single(m, 0, m->z_f, y_f, NULL, batch, g0, L)); break;
        case TERM_KD_CTR: DMMP_TRY(model_term_single(m, 1, m->s_c, m->kd_target[0], NULL, batch, g0, L)); break;
        case TERM_KD_CTCVR: DMMP_TRY(model_term_product(m, 1, m->s_c, m->s_v, m->kd_target[1], batch, g0, g1, L)); break;
        case TERM_KD_FUSED: DMMP_TRY(model_term_single(m, 1, m->z_f, m->kd_target[2], NULL, batch, g0, L)); break;
        default: break;
        }
        if (!isfinite(m->term_loss[t]))
            return dmmp_fail(DMMP_ENUMERIC, "loss term %s is %g at step %lld", term_names[t], m->term_loss[t],
                             (long long)step);
    }

    if (m->neg.active) DMMP_TRY(neg_losses(m, batch, active, negs, step));

    param_zero_grads(&m->params);
    weighting_combine(&m->weighting, m->term_loss, active, &m->total_loss, m->term_scale);

    /* Route each term's gradient to the logits it reads. */
    memset(m->dz_t_ctr, 0, nb);
    memset(m->dz_t_cvr, 0, nb);
    memset(m->ds_c, 0, nb);
    memset(m->ds_v, 0, nb);
    memset(m->dz_f, 0, nb);
    float *dst0[TERM_SAMPLED_CTR] = {m->dz_t_ctr, m->dz_t_ctr, NULL, m->ds_c, m->ds_c, m->dz_f, m->ds_c, m->ds_c, m->dz_f};
    float *dst1[TERM_SAMPLED_CTR] = {NULL, m->dz_t_cvr, m->dz_t_cvr, NULL, m->ds_v, NULL, NULL, m->ds_v, NULL};
    for (int t = 0; t < TERM_SAMPLED_CTR; t++) {
        if (!active[t]) continue;
        if (dst0[t]) add_scaled(dst0[t], m->term_grad[t][0], m->term_scale[t], batch);
        if (dst1[t]) add_scaled(dst1[t], m->term_grad[t][1], m->term_scale[t], batch);
    }

    if (m->has_teacher) {
        DMMP_TRY(teacher_backward(&m->teacher, x_t, m->dz_t_ctr, m->dz_t_cvr, m->dx_t, batch));
    }
    if (!m->has_student) return DMMP_OK;

    if (m->fused_head) {
        double db = 0;
        for (int b = 0; b < batch; b++) db += m->dz_f[b];
        m->bias_grad[2] += (float)db;
        /* dr = dz_f; the fusion adds into ds_c, ds_v and writes dw. */
        fuse_scores_backward(m->w, m->s_c, m->s_v, m->dz_f, batch, m->dw, m->ds_c, m->ds_v);
    }
    if (m->neg.active) neg_backward_scores(m, batch, active);
    size_t kb = nb * (size_t)m->k;
    memset(m->du, 0, kb);
    float tau = (float)m->spec.temperature;
    int l2 = m->spec.l2norm;
    const float *vn[2] = {m->vc_n, m->vv_n};
    const float *ds[2] = {m->ds_c, m->ds_v};
    /* The towers' backward in two regions, the item towers (over neg_items
     * rows) and the user tower with the gate (over the batch), once every
     * score's gradient is in. */
    dense_chain items[2]; /* item_tower[2] */
    for (int t = 0; t < m->n_item_towers; t++) {
        memset(m->dv[t], 0, (size_t)m->neg_items * (size_t)m->k * sizeof(float));
        tower_score_backward(mlp_output(&m->user_tower), mlp_output(&m->item_tower[t]), m->u_n, vn[t], batch, m->k, tau,
                             l2, ds[t], m->du, m->dv[t], &m->bias_grad[t]);
        if (m->neg.active) DMMP_TRY(neg_backward_tower(m, t, batch));
        items[t] = mlp_chain(&m->item_tower[t], x_i, m->dv[t], m->dx_i, t > 0);
    }
    DMMP_TRY(dense_backward_chains(items, m->n_item_towers, m->neg_items));
    if (m->neg.active) neg_backward_user(m, batch);
    dense_chain users[2];
    int n_users = 0;
    users[n_users++] = mlp_chain(&m->user_tower, x_u, m->du, m->dx_u, 0);
    if (m->learned_gate) {
        float *dlogits = m->dw; /* softmax2_backward may write in place */
        softmax2_backward(m->w, m->dw, batch, dlogits);
        if (m->spec.gate_user_bias) {
            for (int b = 0; b < batch; b++) {
                m->gate_dout[3 * b] = dlogits[2 * b];
                m->gate_dout[3 * b + 1] = dlogits[2 * b + 1];
                m->gate_dout[3 * b + 2] = m->dz_f[b];
            }
            dlogits = m->gate_dout;
        }
        users[n_users++] = mlp_chain(&m->gate, x_u, dlogits, m->dx_u, 1);
    }
    return dense_backward_chains(users, n_users, batch);
}

void model_predictions(const model *m, int batch, float *p_ctr, float *p_cvr, float *p_ctcvr)
{
    if (!m->has_student) {
        model_teacher_predictions(m, batch, p_ctr, p_cvr, p_ctcvr);
        return;
    }
    for (int b = 0; b < batch; b++) {
        float pc = sigmoidf_(m->s_c[b]);
        float pv = m->n_item_towers == 2 ? sigmoidf_(m->s_v[b]) : 0.0f;
        if (p_ctr) p_ctr[b] = pc;
        if (p_cvr) p_cvr[b] = pv;
        if (p_ctcvr) p_ctcvr[b] = pc * pv;
    }
}

void model_teacher_predictions(const model *m, int batch, float *p_ctr, float *p_cvr, float *p_ctcvr)
{
    for (int b = 0; b < batch; b++) {
        float pc = sigmoidf_(m->z_t_ctr[b]), pv = sigmoidf_(m->z_t_cvr[b]);
        if (p_ctr) p_ctr[b] = pc;
        if (p_cvr) p_cvr[b] = pv;
        if (p_ctcvr) p_ctcvr[b] = pc * pv;
    }
}

int model_retrieval_dim(const model *m) { return m->n_item_towers == 2 ? 2 * m->k : m->k; }

/* Tower output, L2-normalised when student.l2norm is on (cosine scores). */
static void tower_vector(const float *v, int k, int l2, float scale, float *out)
{
    double n2 = 0;
    for (int j = 0; j < k; j++) n2 += (double)v[j] * v[j];
    double inv = l2 ? 1.0 / fmax(sqrt(n2), 1e-12) : 1.0;
    for (int j = 0; j < k; j++) out[j] = (float)(v[j] * inv * scale);
}

dmmp_status model_user_query(model *m, const float *x_u, int batch, float *q)
{
    if (!m->has_student) return dmmp_fail(DMMP_EINVAL, "model_user_query: %s has no towers", "teacher_only");
    DMMP_TRY(user_side_forward(m, x_u, batch));
    const float *u = mlp_output(&m->user_tower);
    int k = m->k, dim = model_retrieval_dim(m), l2 = m->spec.l2norm;
    for (int b = 0; b < batch; b++) {
        if (m->n_item_towers == 1) {
            tower_vector(u + (size_t)b * k, k, l2, 1.0f, q + (size_t)b * dim);
        } else {
            tower_vector(u + (size_t)b * k, k, l2, m->w[2 * b], q + (size_t)b * dim);
            tower_vector(u + (size_t)b * k, k, l2, m->w[2 * b + 1], q + (size_t)b * dim + k);
        }
    }
    return DMMP_OK;
}

dmmp_status model_item_vectors(model *m, const float *x_i, int batch, float *v)
{
    if (!m->has_student) return dmmp_fail(DMMP_EINVAL, "model_item_vectors: %s has no towers", "teacher_only");
    int k = m->k, dim = model_retrieval_dim(m), l2 = m->spec.l2norm;
    for (int t = 0; t < m->n_item_towers; t++) {
        DMMP_TRY(mlp_forward(&m->item_tower[t], x_i, batch));
        const float *out = mlp_output(&m->item_tower[t]);
        for (int b = 0; b < batch; b++) tower_vector(out + (size_t)b * k, k, l2, 1.0f, v + (size_t)b * dim + t * k);
    }
    return DMMP_OK;
}

void model_free(model *m)
{
    if (m->has_teacher) teacher_free(&m->teacher);
    mlp_free(&m->user_tower);
    for (int t = 0; t < 2; t++) mlp_free(&m->item_tower[t]);
    mlp_free(&m->gate);
    float *bufs[] = {m->z_t_ctr, m->z_t_cvr, m->s_c, m->s_v, m->r, m->z_f, m->dz_t_ctr, m->dz_t_cvr, m->ds_c, m->ds_v,
                     m->dz_f, m->click_f, m->conv_f, m->targets[0], m->targets[1], m->kd_target[0],
                     m->kd_target[1], m->kd_target[2], m->w, m->dw, m->gate_logits, m->gate_dout, m->u_n, m->vc_n, m->vv_n, m->du, m->dv[0],
                     m->dv[1], m->dx_t, m->dx_u, m->dx_i};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) mem_free(bufs[i]);
    for (int t = 0; t < TERM_COUNT; t++) {
        mem_free(m->term_grad[t][0]);
        mem_free(m->term_grad[t][1]);
    }
    neg_free(m);
    if (m->ctx) nn_ctx_destroy(m->ctx);
    param_free(&m->params);
    memset(m, 0, sizeof *m);
}

const char *model_variant_name(model_variant v)
{
    switch (v) {
    case MODEL_TEACHER_ONLY: return "teacher_only";
    case MODEL_TWO_TOWER: return "two_tower";
    case MODEL_THREE_TOWER: return "three_tower";
    case MODEL_DMMP: return "dmmp";
    }
    return "?";
}
