/* The model of a run: the features and model a configuration describes, and
 * loading a finished run for evaluation. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "train/run_state.h"
#include "train/trainer.h"

void run_features_config(const dmmp_config *cfg, features_config *fc)
{
    memset(fc, 0, sizeof *fc);
    config_model_kind kind = cfg->model.kind;
    fc->dim = cfg->data.embedding_dim;
    fc->pool = cfg->data.pooling == CONFIG_POOLING_MEAN ? POOL_MEAN : POOL_SUM;
    fc->teacher = kind == CONFIG_MODEL_TEACHER_ONLY || kind == CONFIG_MODEL_DMMP;
    fc->student = kind != CONFIG_MODEL_TEACHER_ONLY;
    fc->dense = cfg->data.dense;
    fc->max_batch = cfg->train.batch_size;
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

dmmp_status run_build(const dmmp_config *cfg, const dataset_schema *schema, uint64_t seed, features *feat,
                      model *m)
{
    memset(m, 0, sizeof *m);
    features_config fc;
    run_features_config(cfg, &fc);
    dmmp_status s = features_init(feat, schema, &fc, seed);
    if (s != DMMP_OK) {
        features_free(feat);
        return s;
    }
    model_dims dims = {feat->view[VIEW_TEACHER].width, feat->view[VIEW_USER].width, feat->view[VIEW_ITEM].width};
    s = model_init(m, cfg, dims, cfg->train.batch_size, seed);
    if (s != DMMP_OK) {
        model_free(m);
        features_free(feat);
    }
    return s;
}

dmmp_status run_load(const char *dir, const char *which, const dataset *d, run_handle *out)
{
    memset(out, 0, sizeof *out);
    if (!dir || !which || !d) return dmmp_fail(DMMP_EINVAL, "run_load: dir, which and dataset are required");
    if (strcmp(which, "checkpoint") && strcmp(which, "last"))
        return dmmp_fail(DMMP_EINVAL, "run_load: which must be \"checkpoint\" or \"last\", not \"%s\"", which);
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s.h5", dir, which) >= sizeof path)
        return dmmp_fail(DMMP_EINVAL, "run_load: run directory path is too long: %s", dir);
    DMMP_TRY(run_state_read_meta(path, &out->cfg, out->variant, sizeof out->variant, &out->seed));
    const dataset_schema *schema = dataset_get_schema(d);
    DMMP_TRY(run_build(&out->cfg, schema, out->seed, &out->feat, &out->model));
    train_progress prog;
    memset(&prog, 0, sizeof prog);
    run_state_ref ref = {&out->cfg, out->variant, out->seed, &out->feat, &out->model, NULL, &prog};
    dmmp_status s = run_state_load(path, &ref, schema);
    if (s != DMMP_OK) {
        run_close(out);
        return s;
    }
    out->epochs_done = prog.epoch;
    out->steps = prog.step;
    out->max_batch = out->cfg.train.batch_size;
    return DMMP_OK;
}

dmmp_status run_forward(run_handle *h, const batch *b)
{
    if (b->n < 1 || b->n > h->max_batch)
        return dmmp_fail(DMMP_EINVAL, "run_forward: batch of %d rows outside [1, %d]", b->n, h->max_batch);
    DMMP_TRY(features_forward(&h->feat, b));
    const features *f = &h->feat;
    return model_forward(&h->model, f->view[VIEW_TEACHER].width ? f->view[VIEW_TEACHER].x : NULL,
                         f->view[VIEW_USER].width ? f->view[VIEW_USER].x : NULL,
                         f->view[VIEW_ITEM].width ? f->view[VIEW_ITEM].x : NULL, b->n);
}

void run_close(run_handle *h)
{
    if (h->model.ctx) model_free(&h->model);
    features_free(&h->feat);
    memset(h, 0, sizeof *h);
}
