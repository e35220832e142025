/* The tiny synthetic world and the briefly trained models the evaluation
 * suites check (features + model + Adam driven directly). */
#include "eval_fixture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/batcher.h"
#include "data/synth.h"
#include "train/evaluate.h"
#include "nn/optim.h"
#include "testutil.h"

int world_open(world *w) { return world_open_spread(w, 0.0); }

int world_open_spread(world *w, double intent_spread)
{
    memset(w, 0, sizeof *w);
    tu_tmpdir(w->dir, sizeof w->dir);
    snprintf(w->path, sizeof w->path, "%s/eval.h5", w->dir);
    synth_config c;
    synth_config_default(&c);
    c.n_users = N_USERS;
    c.n_items = N_ITEMS;
    c.n_impressions = N_IMPRESSIONS;
    c.seed = 11;
    c.chunk_rows = 4096;
    c.intent_spread = intent_spread;
    dmmp_status s = synth_generate(&c, w->path, NULL);
    if (s == DMMP_OK) s = dataset_open(&w->d, w->path);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    return s == DMMP_OK;
}

void world_close(world *w)
{
    dataset_close(w->d);
    unlink(w->path);
    rmdir(w->dir);
}

void eval_small_config(dmmp_config *c, config_model_kind kind)
{
    config_defaults(c);
    c->model.kind = kind;
    c->data.embedding_dim = 8;
    c->teacher.expert_dims = (config_int_list){2, {16, 8}};
    c->teacher.tower_dims = (config_int_list){1, {8}};
    c->student.user_tower = (config_int_list){2, {16, 8}};
    c->student.item_tower = c->student.user_tower;
    c->student.gate_dims = (config_int_list){1, {8}};
    c->eval.topk = (config_int_list){3, {5, 20, 100}}; /* 100 > N_ITEMS: empty slots */
    if (kind != CONFIG_MODEL_DMMP) {
        c->kd.enabled = 0;
        c->student.gate = 0;
    }
}

/* Trains kind for TRAIN_STEPS steps on the training split. */
int eval_train(trained *t, const dataset *d, config_model_kind kind)
{
    memset(t, 0, sizeof *t);
    eval_small_config(&t->cfg, kind);
    features_config fc;
    memset(&fc, 0, sizeof fc);
    fc.dim = t->cfg.data.embedding_dim;
    fc.pool = POOL_SUM;
    fc.teacher = kind == CONFIG_MODEL_TEACHER_ONLY || kind == CONFIG_MODEL_DMMP;
    fc.student = kind != CONFIG_MODEL_TEACHER_ONLY;
    fc.dense = 0;
    fc.max_batch = TRAIN_BATCH;
    fc.init_stddev = 0.05f;
    fc.optimizer = SPARSE_OPT_ADAGRAD;
    fc.opt = sparse_opt_config_default(SPARSE_OPT_ADAGRAD);
    fc.opt.lr = 0.05f;
    dmmp_status s = features_init(&t->f, dataset_get_schema(d), &fc, 5);
    model_dims dims = {t->f.view[VIEW_TEACHER].width, t->f.view[VIEW_USER].width, t->f.view[VIEW_ITEM].width};
    model_spec spec;
    recipe_model_spec(&t->cfg, &spec);
    if (s == DMMP_OK) s = model_init(&t->m, &spec, dims, TRAIN_BATCH, 9);
    adam_state adam;
    memset(&adam, 0, sizeof adam);
    adam_config ac = adam_config_default();
    ac.lr = 0.01f;
    if (s == DMMP_OK) s = adam_init(&adam, t->m.params.total, &ac);
    batcher *bt = NULL;
    if (s == DMMP_OK) s = batcher_open(&bt, d, SPLIT_TRAIN, TRAIN_BATCH, 1, 3);
    for (int step = 0, epoch = 0; s == DMMP_OK && step < TRAIN_STEPS;) {
        const batch *b = NULL;
        s = batcher_next(bt, &b);
        if (s == DMMP_OK && !b) {
            s = batcher_start_epoch(bt, ++epoch);
            continue;
        }
        if (s == DMMP_OK) s = recipe_forward(&t->f, &t->m, b);
        const float *xt = t->f.view[VIEW_TEACHER].width ? t->f.view[VIEW_TEACHER].x : NULL;
        const float *xu = t->f.view[VIEW_USER].width ? t->f.view[VIEW_USER].x : NULL;
        const float *xi = t->f.view[VIEW_ITEM].width ? t->f.view[VIEW_ITEM].x : NULL;
        if (s == DMMP_OK) s = model_backward(&t->m, xt, xu, xi, b->click, b->conversion, b->n, step);
        const float *dx[VIEW_COUNT] = {xt ? t->m.dx_t : NULL, xu ? t->m.dx_u : NULL, xi ? t->m.dx_i : NULL};
        if (s == DMMP_OK) s = features_backward(&t->f, b, dx);
        if (s == DMMP_OK) s = adam_step(&adam, t->m.params.values, t->m.params.grads);
        if (s == DMMP_OK) s = features_step(&t->f);
        step++;
    }
    batcher_close(bt);
    adam_free(&adam);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    return s == DMMP_OK;
}

void trained_free(trained *t)
{
    model_free(&t->m);
    features_free(&t->f);
}


double eval_metric_value(const eval_metrics *l, const char *name)
{
    double v = NAN;
    TU_ASSERT_MSG(eval_metrics_get(l, name, &v), "metric %s missing", name);
    return v;
}
