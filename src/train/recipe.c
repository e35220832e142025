#include "train/recipe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

/* The first (at most max) layer widths of src into dst. */
static void copy_dims(int *dst, int *n, int max, const config_int_list *src)
{
    *n = src->n < max ? src->n : max;
    memcpy(dst, src->v, sizeof(int) * (size_t)*n);
}

static teacher_kind teacher_kind_of(config_teacher_kind k)
{
    switch (k) {
    case CONFIG_TEACHER_SHARED_BOTTOM: return TEACHER_SHARED_BOTTOM;
    case CONFIG_TEACHER_MMOE: return TEACHER_MMOE;
    case CONFIG_TEACHER_CGC: return TEACHER_CGC;
    case CONFIG_TEACHER_PLE: break;
    }
    return TEACHER_PLE;
}

static model_variant variant_of(config_model_kind k)
{
    switch (k) {
    case CONFIG_MODEL_TEACHER_ONLY: return MODEL_TEACHER_ONLY;
    case CONFIG_MODEL_TWO_TOWER: return MODEL_TWO_TOWER;
    case CONFIG_MODEL_THREE_TOWER: return MODEL_THREE_TOWER;
    case CONFIG_MODEL_DMMP: break;
    }
    return MODEL_DMMP;
}

static weighting_kind weighting_of(config_weighting_kind k)
{
    switch (k) {
    case CONFIG_WEIGHTING_DWA: return WEIGHTING_DWA;
    case CONFIG_WEIGHTING_FIXED: return WEIGHTING_FIXED;
    case CONFIG_WEIGHTING_UNCERTAINTY: break;
    }
    return WEIGHTING_UNCERTAINTY;
}

void recipe_model_spec(const dmmp_config *cfg, model_spec *s)
{
    memset(s, 0, sizeof *s);
    s->variant = variant_of(cfg->model.kind);
    teacher_config *t = &s->teacher;
    t->kind = teacher_kind_of(cfg->teacher.kind);
    t->n_shared = cfg->teacher.shared_experts;
    t->n_specific = cfg->teacher.specific_experts;
    t->levels = cfg->teacher.levels;
    copy_dims(t->expert_dims, &t->n_expert_dims, TEACHER_MAX_DIMS, &cfg->teacher.expert_dims);
    copy_dims(t->tower_dims, &t->n_tower_dims, TEACHER_MAX_DIMS, &cfg->teacher.tower_dims);
    s->teacher_aux = cfg->teacher.aux;
    copy_dims(s->user_tower, &s->n_user_tower, MODEL_MAX_DIMS, &cfg->student.user_tower);
    copy_dims(s->item_tower, &s->n_item_tower, MODEL_MAX_DIMS, &cfg->student.item_tower);
    copy_dims(s->gate_dims, &s->n_gate_dims, MODEL_MAX_DIMS, &cfg->student.gate_dims);
    s->learned_gate = cfg->student.gate;
    s->gate_user_bias = cfg->student.gate_user_bias;
    s->temperature = cfg->student.temperature;
    s->l2norm = cfg->student.l2norm;
    s->conversion_weight = cfg->fuse.conversion_weight;
    s->kd = cfg->kd.enabled;
    s->kd_loss = cfg->kd.loss == CONFIG_KD_LOSS_MSE ? MODEL_KD_MSE : MODEL_KD_BCE;
    s->kd_temperature = cfg->kd.temperature;
    s->kd_warmup_steps = cfg->kd.warmup_steps;
    s->weighting = weighting_of(cfg->weighting.kind);
    const config_weighting *w = &cfg->weighting;
    const double fixed[TERM_COUNT] = {w->w_teacher_ctr, w->w_teacher_ctcvr, w->w_teacher_cvr,
                                      w->w_student_ctr, w->w_student_ctcvr, w->w_student_fused,
                                      w->w_kd_ctr,      w->w_kd_ctcvr,      w->w_kd_fused,
                                      w->w_sampled_ctr, w->w_sampled_ctcvr, w->w_sampled_fused,
                                      w->w_kd_sampled_ctr, w->w_kd_sampled_ctcvr};
    memcpy(s->fixed_weights, fixed, sizeof fixed);
    s->dwa_temperature = w->dwa_temperature;
    const config_student *st = &cfg->student;
    s->negatives = st->negatives == CONFIG_NEGATIVES_NONE       ? MODEL_NEG_NONE
                   : st->negatives == CONFIG_NEGATIVES_IN_BATCH ? MODEL_NEG_IN_BATCH
                                                                : MODEL_NEG_PAIRS;
    if (!config_has_student(cfg->model.kind)) s->negatives = MODEL_NEG_NONE;
    s->neg_ratio = st->neg_ratio;
    s->logq = st->logq_correction;
    s->softmax_temperature = st->softmax_temperature;
    s->kd_on_sampled = cfg->kd.enabled && cfg->kd.on_sampled;
}

void recipe_features_config(const dmmp_config *cfg, int max_batch, features_config *fc)
{
    memset(fc, 0, sizeof *fc);
    fc->dim = cfg->data.embedding_dim;
    fc->pool = cfg->data.pooling == CONFIG_POOLING_MEAN ? POOL_MEAN : POOL_SUM;
    fc->teacher = config_has_teacher(cfg->model.kind);
    fc->student = config_has_student(cfg->model.kind);
    fc->dense = cfg->data.dense;
    fc->max_batch = max_batch;
    /* Sampled pairs: the item view holds the impressions and their pairs,
     * the teacher's too when it scores them. */
    if (config_has_student(cfg->model.kind) && (cfg->student.negatives == CONFIG_NEGATIVES_RANDOM ||
                                                cfg->student.negatives == CONFIG_NEGATIVES_POPULARITY)) {
        int rows = max_batch * (1 + cfg->student.neg_ratio);
        fc->view_rows[VIEW_ITEM] = rows;
        if (cfg->kd.enabled && cfg->kd.on_sampled) fc->view_rows[VIEW_TEACHER] = rows;
    }
    fc->hash_buckets = cfg->data.hash_buckets; /* from the run's own configuration: eval hashes as training did */
    /* Small enough that a sum over a dozen fields starts near the scale the
     * He-initialised first layers expect. */
    fc->init_stddev = 0.05f;
    fc->optimizer = cfg->train.sparse_optimizer == CONFIG_SPARSE_ADAGRAD ? SPARSE_OPT_ADAGRAD : SPARSE_OPT_ADAM;
    fc->opt = sparse_opt_config_default(fc->optimizer);
    fc->opt.lr = (float)cfg->train.embedding_lr;
    fc->opt.l2 = (float)cfg->train.embedding_l2;
    if (fc->optimizer == SPARSE_OPT_ADAM) {
        fc->opt.beta1 = (float)cfg->train.adam_beta1;
        fc->opt.beta2 = (float)cfg->train.adam_beta2;
    }
}

adam_config recipe_adam_config(const dmmp_config *cfg)
{
    adam_config ac = adam_config_default();
    ac.lr = (float)cfg->train.learning_rate;
    ac.beta1 = (float)cfg->train.adam_beta1;
    ac.beta2 = (float)cfg->train.adam_beta2;
    ac.eps = (float)cfg->train.adam_eps;
    ac.weight_decay = (float)cfg->train.weight_decay;
    ac.decoupled = cfg->train.optimizer == CONFIG_OPTIMIZER_ADAMW;
    ac.clip_norm = (float)cfg->train.grad_clip;
    return ac;
}

dmmp_status recipe_build(const dmmp_config *cfg, const dataset_schema *schema, uint64_t seed, int max_batch,
                         features *feat, model *m)
{
    return recipe_build_placed(cfg, schema, seed, max_batch, 0, feat, m);
}

dmmp_status recipe_build_placed(const dmmp_config *cfg, const dataset_schema *schema, uint64_t seed, int max_batch,
                                int placed, features *feat, model *m)
{
    memset(m, 0, sizeof *m);
    features_config fc;
    recipe_features_config(cfg, max_batch, &fc);
    if (placed) {
        fc.placement = cfg->model.table_placement == CONFIG_PLACEMENT_SHARDED ? FEATURES_SHARDED
                       : cfg->model.table_placement == CONFIG_PLACEMENT_AUTO  ? FEATURES_AUTO
                                                                               : FEATURES_REPLICATED;
        fc.shard_min_rows = cfg->model.shard_min_rows;
    }
    dmmp_status s = features_init(feat, schema, &fc, seed);
    if (s != DMMP_OK) {
        features_free(feat);
        return s;
    }
    model_spec spec;
    recipe_model_spec(cfg, &spec);
    model_dims dims = {feat->view[VIEW_TEACHER].width, feat->view[VIEW_USER].width, feat->view[VIEW_ITEM].width};
    s = model_init(m, &spec, dims, max_batch, seed);
    if (s != DMMP_OK) {
        model_free(m);
        features_free(feat);
    }
    return s;
}

static const float *view_input(const features *f, int view) { return f->view[view].width ? f->view[view].x : NULL; }

void recipe_negs_close(recipe_negs *n)
{
    neg_sampler_free(&n->sampler);
    pair_batch_free(&n->pairs);
    free(n->drawn);
    free(n->neg_log_q);
    memset(n, 0, sizeof *n);
}

dmmp_status recipe_negs_open(recipe_negs *n, const dmmp_config *cfg, const dataset *d, uint64_t seed, int max_batch)
{
    memset(n, 0, sizeof *n);
    model_spec spec;
    recipe_model_spec(cfg, &spec);
    n->mode = spec.negatives;
    if (n->mode == MODEL_NEG_NONE) return DMMP_OK;
    neg_draw_kind kind = cfg->student.negatives == CONFIG_NEGATIVES_POPULARITY ? NEG_DRAW_POPULARITY : NEG_DRAW_UNIFORM;
    dmmp_status s = neg_sampler_init(&n->sampler, d, kind, seed);
    if (s == DMMP_OK && n->mode == MODEL_NEG_PAIRS) {
        n->ratio = spec.neg_ratio;
        s = pair_batch_init(&n->pairs, d, max_batch, n->ratio);
        n->drawn = s == DMMP_OK ? malloc((size_t)max_batch * (size_t)n->ratio * sizeof *n->drawn) : NULL;
        if (s == DMMP_OK && !n->drawn) s = dmmp_fail(DMMP_ENOMEM, "negatives: out of memory for %d items", max_batch * n->ratio);
    }
    if (s == DMMP_OK && n->mode == MODEL_NEG_IN_BATCH) {
        n->neg_log_q = malloc((size_t)max_batch * sizeof *n->neg_log_q);
        if (!n->neg_log_q) s = dmmp_fail(DMMP_ENOMEM, "negatives: out of memory for %d rows", max_batch);
    }
    if (s != DMMP_OK) recipe_negs_close(n);
    return s;
}

dmmp_status recipe_forward(features *f, model *m, const batch *b)
{
    DMMP_TRY(features_forward(f, b));
    return model_forward(m, view_input(f, VIEW_TEACHER), view_input(f, VIEW_USER), view_input(f, VIEW_ITEM), b->n);
}

/* Adam over [lo, hi) of the buffer with the step counter the whole update shares. */
static dmmp_status adam_range(adam_state *s, size_t lo, size_t hi, float *w, const float *g, int64_t step,
                              double norm)
{
    adam_state view = *s;
    view.n = hi - lo;
    view.m = s->m + lo;
    view.v = s->v + lo;
    view.step = step;
    dmmp_status st = adam_step_with_norm(&view, w + lo, g + lo, norm);
    s->last_grad_norm = view.last_grad_norm;
    return st;
}

/* The dense update of the stage's parameters; clipping uses the norm of the
 * gradients being applied. */
static dmmp_status dense_step(adam_state *adam, model *m, int stage)
{
    param_buffer *p = &m->params;
    const model_blocks *bl = &m->blocks;
    size_t ranges[2][2];
    int n = 0;
    if (stage == STAGE_JOINT) {
        ranges[n][0] = 0, ranges[n++][1] = p->total;
    } else if (stage == STAGE_TEACHER) {
        ranges[n][0] = 0, ranges[n++][1] = bl->teacher_end;
        if (bl->has_logvar) ranges[n][0] = bl->logvar_off, ranges[n++][1] = bl->logvar_off + TERM_COUNT;
    } else {
        ranges[n][0] = bl->teacher_end, ranges[n++][1] = p->total;
    }
    double ss = 0;
    for (int i = 0; i < n; i++) ss += optim_sum_squares(p->grads + ranges[i][0], ranges[i][1] - ranges[i][0]);
    int64_t step = adam->step;
    for (int i = 0; i < n; i++)
        DMMP_TRY(adam_range(adam, ranges[i][0], ranges[i][1], p->values, p->grads, step, sqrt(ss)));
    adam->step = step + 1;
    return DMMP_OK;
}

/* Adds the time since *t0 to seconds[phase] and restarts the clock. */
static void lap(double *seconds, int phase, double *t0)
{
    if (!seconds) return;
    double t = clock_wall_seconds();
    seconds[phase] += t - *t0;
    *t0 = t;
}

/* The step's negatives: the batch the item view (and, when the teacher
 * scores the pairs, the teacher view) reads, and the model's inputs. */
static dmmp_status step_negatives(recipe_negs *negs, const model *m, const batch *b, int64_t step, const batch **items,
                                  const batch **teacher_rows, model_negs *mn)
{
    memset(mn, 0, sizeof *mn);
    *items = *teacher_rows = b;
    if (m->neg.mode == MODEL_NEG_NONE) return DMMP_OK;
    if (!negs || (int)negs->mode != m->neg.mode)
        return dmmp_fail(DMMP_EINVAL, "training step: the model trains with sampled negatives, but no sampler is open");
    if (m->neg.mode == MODEL_NEG_IN_BATCH) {
        neg_sampler_log_q(&negs->sampler, b->item, b->n, negs->neg_log_q);
        mn->neg_log_q = negs->neg_log_q;
        mn->item = b->item;
        return DMMP_OK;
    }
    neg_sampler_draw(&negs->sampler, step, b->item, b->n, negs->ratio, negs->drawn);
    DMMP_TRY(pair_batch_fill(&negs->pairs, b, negs->drawn, negs->ratio));
    *items = &negs->pairs.rows;
    if (m->term_active[TERM_KD_SAMPLED_CTR]) *teacher_rows = &negs->pairs.rows;
    return DMMP_OK;
}

/* The forward and backward passes of a step on b: the dense gradients in
 * m->params.grads and the tables' sparse gradients. */
static dmmp_status step_gradients(features *f, model *m, recipe_negs *negs, const batch *b, int64_t step, int stage,
                                  const recipe_shard *shard, double *seconds, double *t0p)
{
    const float *xt = view_input(f, VIEW_TEACHER), *xu = view_input(f, VIEW_USER), *xi = view_input(f, VIEW_ITEM);
    const batch *items_b, *teacher_b;
    model_negs mn;
    /* The ranks of a job draw from streams of their own. */
    int64_t stream = shard && shard->gx ? step * shard->gx->ranks + shard->gx->rank : step;
    DMMP_TRY(step_negatives(negs, m, b, stream, &items_b, &teacher_b, &mn));
    const model_negs *mnp = m->neg.mode != MODEL_NEG_NONE ? &mn : NULL;
    DMMP_TRY(features_forward_view(f, teacher_b, VIEW_TEACHER));
    DMMP_TRY(features_forward_view(f, b, VIEW_USER));
    DMMP_TRY(features_forward_view(f, items_b, VIEW_ITEM));
    lap(seconds, PHASE_FEATURES_FORWARD, t0p);
    DMMP_TRY(model_forward_negs(m, xt, xu, xi, b->n, mnp));
    lap(seconds, PHASE_MODEL_FORWARD, t0p);
    dmmp_status bs = model_backward_negs(m, xt, xu, xi, b->click, b->conversion, b->n, step, mnp);
    if (bs == DMMP_ENUMERIC) {
        const char *term = model_nonfinite_term(m, b->n);
        if (term) return dmmp_fail_prefix(bs, "loss term %s has a non-finite input", term);
    }
    DMMP_TRY(bs);
    if (!isfinite(m->total_loss))
        return dmmp_fail(DMMP_ENUMERIC, "the weighted total loss is %g at step %lld", m->total_loss, (long long)step);
    lap(seconds, PHASE_MODEL_BACKWARD, t0p);
    /* A frozen or idle side gets no embedding gradient, so its tables stay put. */
    const float *dx[VIEW_COUNT] = {xt && stage != STAGE_STUDENT ? m->dx_t : NULL,
                                   xu && stage != STAGE_TEACHER ? m->dx_u : NULL, NULL};
    DMMP_TRY(features_backward(f, b, dx));
    const float *dx_items[VIEW_COUNT] = {NULL, NULL, xi && stage != STAGE_TEACHER ? m->dx_i : NULL};
    DMMP_TRY(features_backward(f, items_b, dx_items));
    lap(seconds, PHASE_FEATURES_BACKWARD, t0p);
    return DMMP_OK;
}

dmmp_status recipe_train_step(features *f, model *m, adam_state *adam, recipe_negs *negs, const batch *b, int64_t step,
                              int stage, const recipe_shard *shard, double *seconds)
{
    double t0 = seconds ? clock_wall_seconds() : 0;
    int n = b ? b->n : 0;
    if (!b && !shard) return dmmp_fail(DMMP_EINVAL, "training step: no batch");
    if (n > 0 || !shard) DMMP_TRY(step_gradients(f, m, negs, b, step, stage, shard, seconds, &t0));
    else DMMP_TRY(features_take_part(f)); /* the lookups of sharded tables are collective */
    if (shard) {
        DMMP_TRY(grad_exchange_step(shard->gx, f, m, n, shard->n_total));
        lap(seconds, PHASE_EXCHANGE, &t0);
    }
    dmmp_status s = dense_step(adam, m, stage);
    if (s != DMMP_OK) return dmmp_fail_prefix(s, "dense update (a gradient is not finite)");
    lap(seconds, PHASE_ADAM, &t0);
    DMMP_TRY(features_step(f));
    lap(seconds, PHASE_SPARSE_STEP, &t0);
    return DMMP_OK;
}
