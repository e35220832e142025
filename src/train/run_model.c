/* A finished run, loaded for evaluation: its configuration, features and
 * model built by the recipe, the checkpoint weights read into them. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "train/recipe.h"
#include "train/run_state.h"
#include "train/trainer.h"

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
    DMMP_TRY(recipe_build(&out->cfg, schema, out->seed, out->cfg.train.batch_size, &out->feat, &out->model));
    train_progress prog;
    memset(&prog, 0, sizeof prog);
    run_state_ref ref = {&out->cfg, out->variant, out->seed, &out->feat, &out->model, NULL, &prog, NULL};
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
    return recipe_forward(&h->feat, &h->model, b);
}

void run_close(run_handle *h)
{
    if (h->model.ctx) model_free(&h->model);
    features_free(&h->feat);
    memset(h, 0, sizeof *h);
}
