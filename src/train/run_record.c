#include "train/run_record.h"

#include "data/dataset_hash.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The build writes the commit into dmmp_git_commit.h (mk/trainer.am); a
 * build without it (or outside a git checkout) says "unknown". */
#if defined(__has_include)
#if __has_include("dmmp_git_commit.h")
#include "dmmp_git_commit.h"
#endif
#endif
#ifndef DMMP_GIT_COMMIT
#define DMMP_GIT_COMMIT "unknown"
#endif

const char *run_git_commit(void) { return DMMP_GIT_COMMIT[0] ? DMMP_GIT_COMMIT : "unknown"; }

dmmp_status run_record_start(run_results *r, const dmmp_config *cfg, const char *variant, uint64_t seed,
                             const dataset *d)
{
    DMMP_TRY(results_init(r));
    char *ini = NULL, kind[64];
    DMMP_TRY(config_to_ini(cfg, &ini));
    dmmp_status s = results_set_meta(r, "config_ini", ini);
    free(ini);
    DMMP_TRY(s);
    DMMP_TRY(config_value_text(cfg, "model.kind", kind, sizeof kind));
    DMMP_TRY(results_set_meta(r, "variant", variant));
    DMMP_TRY(results_set_meta(r, "model_kind", kind));
    DMMP_TRY(results_set_meta(r, "git_commit", run_git_commit()));
    DMMP_TRY(results_set_meta(r, "dataset_path", dataset_path(d)));
    DMMP_TRY(results_set_meta(r, "dataset_name", dataset_name(d)));
    char hash[DATASET_HASH_LEN];
    DMMP_TRY(dataset_content_hash(dataset_path(d), hash));
    DMMP_TRY(results_set_meta(r, "dataset_hash", hash));
    r->seed = (int64_t)seed;
    return DMMP_OK;
}

dmmp_status run_record_resume(run_results *r, const char *path, int epochs_done)
{
    DMMP_TRY(results_load(r, path));
    if (r->epochs < epochs_done)
        return dmmp_fail(DMMP_EFORMAT, "%s records %lld epochs but the checkpoint has %d: the record is older than it",
                         path, (long long)r->epochs, epochs_done);
    for (size_t i = 0; i < r->n_series; i++)
        if (r->series[i].n > (size_t)epochs_done) r->series[i].n = (size_t)epochs_done;
    r->epochs = epochs_done;
    return DMMP_OK;
}

/* Appends value as epoch epochs_done of series name; a series that starts
 * late (or skipped epochs) is padded with NaN first, so every series spans
 * every epoch as results_save requires. */
static dmmp_status append_at(run_results *r, const char *name, double value, int epochs_done)
{
    const results_series *s = results_series_find(r, name);
    for (size_t n = s ? s->n : 0; n + 1 < (size_t)epochs_done; n++) DMMP_TRY(results_series_append(r, name, NAN));
    return results_series_append(r, name, value);
}

dmmp_status run_record_epoch(run_results *r, const epoch_record *e, int epochs_done, int64_t steps)
{
    char name[RESULTS_NAME_MAX + 1];
    for (int t = 0; t < TERM_COUNT; t++) {
        if (!e->term_recorded[t]) continue;
        snprintf(name, sizeof name, "loss/%s", loss_term_name((loss_term)t));
        DMMP_TRY(append_at(r, name, e->term_mean[t], epochs_done));
        snprintf(name, sizeof name, "weight/%s", loss_term_name((loss_term)t));
        DMMP_TRY(append_at(r, name, e->weight[t], epochs_done));
    }
    if (e->val)
        for (int i = 0; i < e->val->n; i++) {
            snprintf(name, sizeof name, "val/%s", e->val->name[i]);
            DMMP_TRY(append_at(r, name, e->val->value[i], epochs_done));
        }
    DMMP_TRY(append_at(r, "wall_time_s", e->epoch_seconds, epochs_done));
    DMMP_TRY(append_at(r, "samples_per_s", e->samples_per_second, epochs_done));
    DMMP_TRY(append_at(r, "rss_mb", e->rss_mb, epochs_done));
    for (size_t i = 0; i < r->n_series; i++)
        while (r->series[i].n < (size_t)epochs_done) DMMP_TRY(results_series_append(r, r->series[i].name, NAN));
    return results_set_progress(r, epochs_done, steps);
}

dmmp_status run_record_best(run_results *r, const val_metrics *v, int best_epoch)
{
    for (int i = 0; i < v->n; i++) DMMP_TRY(results_set_metric(r, "val", v->name[i], v->value[i]));
    return results_set_metric(r, "val", "best_epoch", (double)best_epoch);
}
