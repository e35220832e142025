#include "train/run_record.h"

#include "core/dist.h"

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

dmmp_status run_record_resume(run_results *r, const char *path, int epochs_done, int64_t steps_done)
{
    DMMP_TRY(results_load(r, path));
    if (r->epochs < epochs_done)
        return dmmp_fail(DMMP_EFORMAT, "%s records %lld epochs but the checkpoint has %d: the record is older than it",
                         path, (long long)r->epochs, epochs_done);
    for (size_t i = 0; i < r->n_series; i++)
        if (r->series[i].n > (size_t)epochs_done) r->series[i].n = (size_t)epochs_done;
    r->epochs = epochs_done;
    results_curves_trim(r, steps_done);
    return DMMP_OK;
}

dmmp_status run_record_step(run_results *r, const model *m, int n, int64_t step, int curve_every)
{
    if (curve_every <= 0 || step % curve_every != 0) return DMMP_OK;
    r->curves.every = curve_every;
    char names[2 * TERM_COUNT + 2][RESULTS_NAME_MAX + 1];
    const char *name_ptr[2 * TERM_COUNT + 2];
    double values[2 * TERM_COUNT + 2], weight[TERM_COUNT];
    size_t k = 0;
    weighting_current(&m->weighting, weight);
    for (int t = 0; t < TERM_COUNT; t++) {
        if (!m->term_active[t]) continue;
        snprintf(names[k], sizeof names[k], "loss/%s", loss_term_name((loss_term)t));
        values[k++] = m->term_loss[t];
        snprintf(names[k], sizeof names[k], "weight/%s", loss_term_name((loss_term)t));
        values[k++] = weight[t];
    }
    if (m->learned_gate) {
        /* This rank's rows, then (several processes) every rank's, combined
         * in rank order (Chan et al.'s pairwise update of mean and M2). */
        double mine[3] = {n, 0, 0};
        if (n > 0) {
            double sum = 0, sq = 0;
            for (int b = 0; b < n; b++) sum += m->w[2 * b + 1];
            double mean = sum / n;
            for (int b = 0; b < n; b++) sq += (m->w[2 * b + 1] - mean) * (m->w[2 * b + 1] - mean);
            mine[1] = mean;
            mine[2] = sq;
        }
        int ranks = dist_size();
        double all[3 * ranks];
        DMMP_TRY(dist_allgather(mine, sizeof mine, all));
        double cn = 0, mean = 0, m2 = 0;
        for (int q = 0; q < ranks; q++) {
            double nb = all[3 * q];
            if (nb <= 0) continue;
            double delta = all[3 * q + 1] - mean, tot = cn + nb;
            mean = cn > 0 ? mean + delta * nb / tot : all[3 * q + 1];
            m2 = cn > 0 ? m2 + all[3 * q + 2] + delta * delta * cn * nb / tot : all[3 * q + 2];
            cn = tot;
        }
        if (cn > 0) {
            snprintf(names[k], sizeof names[k], "gate/w_v_mean");
            values[k++] = mean;
            snprintf(names[k], sizeof names[k], "gate/w_v_sd");
            values[k++] = cn > 1 ? sqrt(m2 / (cn - 1)) : 0.0;
        }
    }
    for (size_t i = 0; i < k; i++) name_ptr[i] = names[i];
    return results_curve_point(r, step, name_ptr, values, k);
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
