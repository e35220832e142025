/* The training loop (see trainer.h for what a run does and writes). */
#include "train/trainer.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/dist.h"
#include "core/free_cores.h"
#include "core/log.h"
#include "core/rss.h"
#include "data/dataset_hash.h"
#include "train/grad_exchange.h"
#include "train/progress.h"
#include "train/recipe.h"
#include "train/run_record.h"
#include "train/run_state.h"
#include "train/validate.h"

#define PATH_LEN 4096

typedef struct trainer {
    const trainer_options *o;
    dmmp_config cfg;
    char variant[TRAINER_VARIANT_MAX + 1];
    uint64_t seed;
    char last_path[PATH_LEN], best_path[PATH_LEN], results_path[PATH_LEN], log_path[PATH_LEN];
    dataset *d;
    const dataset_schema *schema;
    layout_vocab vocab; /* the dataset's vocabularies, for the checkpoints' layout table */
    features feat;
    model model;
    adam_state adam;
    recipe_negs negs;            /* the sampled negatives' sampler (student.negatives) */
    train_progress prog;
    batcher *bt;
    int64_t batches_per_epoch;
    run_results rec;
    int rec_open;
    FILE *log;
    progress_line pl;
    int base_active[TERM_COUNT]; /* the model's terms; a stage of two_stage switches some off */
    int two_stage;
    int teacher_epochs;          /* two_stage: epochs of the teacher stage */
    int n_epochs;                /* both stages */
    double t_start, wall_at_start;
    int dirs_made;               /* directory levels of out_dir this run created */
    int log_made;                /* 1: this run created train.log */
    /* Several processes (README: "Several processes"): each rank trains on
     * its share of every epoch's chunks, the gradients are exchanged every
     * step, and rank 0 alone writes the run directory. */
    int ranks, rank;
    batcher_position *rank_pos;  /* ranks entries: every rank's position, for last.h5 */
    grad_exchange gx;
    int shard_done;              /* this rank's share of the epoch is used up */
    free_cores fc;               /* the team sized to the free processors (threads chosen by dmmp) */
} trainer;

void trainer_options_default(trainer_options *o)
{
    memset(o, 0, sizeof *o);
    o->seed = -1;
    o->threads = -1;
}

static int stage_of(const trainer *t, int epoch)
{
    return t->two_stage ? (epoch < t->teacher_epochs ? STAGE_TEACHER : STAGE_STUDENT) : STAGE_JOINT;
}

static int is_teacher_term(int term)
{
    return term == TERM_TEACHER_CTR || term == TERM_TEACHER_CTCVR || term == TERM_TEACHER_CVR;
}

/* two_stage: the teacher's terms in stage 0, the others in stage 1. */
static void set_stage_terms(trainer *t, int stage)
{
    for (int k = 0; k < TERM_COUNT; k++)
        t->model.term_active[k] =
            t->base_active[k] && (stage == STAGE_JOINT || (stage == STAGE_TEACHER) == is_teacher_term(k));
}

static int early_stopping_on(const trainer *t) { return t->cfg.train.early_stopping_metric != CONFIG_METRIC_NONE; }

static void update_finished(trainer *t)
{
    train_progress *p = &t->prog;
    p->finished = p->epoch >= t->n_epochs || (early_stopping_on(t) && p->best_epoch > 0 &&
                                                p->bad_epochs >= t->cfg.train.patience);
}

static dmmp_status save_state(trainer *t, const char *path)
{
    /* Rank 0 writes the run directory; sharded tables are gathered from
     * their owners while it writes. */
    if (t->rank != 0) return run_state_send_tables(&t->feat);
    t->prog.wall_seconds = t->wall_at_start + (clock_wall_seconds() - t->t_start);
    run_state_ref ref = {&t->cfg, t->variant, t->seed, &t->feat, &t->model, &t->adam, &t->prog, &t->vocab};
    return run_state_save(path, &ref, t->schema);
}

/* ---- one step ---------------------------------------------------------------- */

/* One step on b, this rank's share (NULL: none this step) of the step's
 * n_total rows. */
static dmmp_status train_step(trainer *t, const batch *b, int64_t n_total)
{
    model *m = &t->model;
    recipe_shard shard = {&t->gx, n_total};
    DMMP_TRY(recipe_train_step(&t->feat, m, &t->adam, &t->negs, b, t->prog.step, stage_of(t, t->prog.epoch),
                               t->ranks > 1 ? &shard : NULL, NULL));
    for (int k = 0; k < TERM_COUNT; k++) t->prog.loss_sum[k] += m->term_loss[k];
    t->prog.epoch_batches++;
    t->prog.epoch_samples += n_total;
    t->prog.step++;
    free_cores_update(&t->fc);
    return run_record_step(&t->rec, m, b ? b->n : 0, t->prog.step, t->cfg.train.curve_every);
}

/* ---- epochs -------------------------------------------------------------------- */

static dmmp_status open_batcher(trainer *t)
{
    batcher_close(t->bt);
    t->bt = NULL;
    batcher_options bo;
    batcher_options_default(&bo);
    bo.shard_rank = t->rank;
    bo.shard_count = t->ranks;
    DMMP_TRY(batcher_open_opts(&t->bt, t->d, SPLIT_TRAIN, t->cfg.train.batch_size, 1, t->seed, &bo));
    DMMP_TRY(batcher_set_position(t->bt, t->prog.pos));
    t->shard_done = 0;
    int64_t rows = batcher_split_rows(t->bt);
    if (rows == 0) return dmmp_fail(DMMP_EFORMAT, "%s has no training rows", dataset_path(t->d));
    int64_t per_step = (int64_t)t->cfg.train.batch_size * t->ranks;
    t->batches_per_epoch = (rows + per_step - 1) / per_step;
    return DMMP_OK;
}

static void report_progress(trainer *t, double epoch_t0)
{
    progress_info in;
    memset(&in, 0, sizeof in);
    const train_progress *p = &t->prog;
    in.epoch = p->epoch + 1;
    in.n_epochs = t->n_epochs;
    in.batch = p->epoch_batches;
    in.batches_per_epoch = t->batches_per_epoch;
    in.step = p->step;
    double secs = p->epoch_train_seconds + (clock_wall_seconds() - epoch_t0);
    in.samples_per_second = secs > 0 ? (double)p->epoch_samples / secs : 0;
    double per_batch = p->epoch_batches > 0 ? secs / (double)p->epoch_batches : -1;
    int64_t left = (int64_t)(t->n_epochs - p->epoch - 1) * t->batches_per_epoch + t->batches_per_epoch - p->epoch_batches;
    in.eta_seconds = per_batch >= 0 ? per_batch * (double)left : -1;
    for (int k = 0; k < TERM_COUNT && in.n_terms < 16; k++) {
        if (!t->model.term_active[k]) continue;
        in.term_name[in.n_terms] = loss_term_name((loss_term)k);
        in.term_loss[in.n_terms++] = p->loss_sum[k] / (double)(p->epoch_batches > 0 ? p->epoch_batches : 1);
    }
    progress_update(&t->pl, &in);
}

static dmmp_status save_results(trainer *t)
{
    return t->rank == 0 ? results_save(&t->rec, t->results_path) : DMMP_OK;
}

/* FNV-1a over bytes, continuing from h. */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 1099511628211ull;
    return h;
}

/* The replicas of a job must hold the same weights after every step (each
 * rank applies the same update); told at each epoch's end from a hash of
 * the dense parameters and every replicated table (sharded tables differ
 * by design: each rank holds its own rows). They differ only when the ranks
 * compute differently, e.g. on CPUs of different kinds. */
static dmmp_status check_replicas(trainer *t)
{
    if (t->ranks <= 1) return DMMP_OK;
    uint64_t h = hash_bytes(1469598103934665603ull, t->model.params.values, t->model.params.total * sizeof(float));
    for (int i = 0; i < t->feat.n_tables; i++) {
        if (t->feat.tables[i].sharded) continue; /* each rank holds its own block */
        const embedding_table *e = &t->feat.tables[i].emb;
        h = hash_bytes(h, e->weight, (size_t)e->rows * (size_t)e->dim * sizeof(float));
    }
    uint64_t all[t->ranks];
    DMMP_TRY(dist_allgather(&h, sizeof h, all));
    for (int r = 1; r < t->ranks; r++)
        if (all[r] != all[0])
            return dmmp_fail(DMMP_ENUMERIC, "after epoch %d the weights of rank %d differ from rank 0's: the ranks must "
                             "compute alike (the same DMMP_ISA and ONEDNN_MAX_CPU_ISA on every machine)",
                             t->prog.epoch + 1, r);
    return DMMP_OK;
}

/* Validation, early stopping, the record and both checkpoints at the end of
 * an epoch. results.h5 goes before last.h5: a crash between the two leaves
 * a record one epoch ahead, which resuming trims. */
static dmmp_status end_epoch(trainer *t, double epoch_wall_t0)
{
    train_progress *p = &t->prog;
    model *m = &t->model;
    int stage = stage_of(t, p->epoch);
    double mean[TERM_COUNT], weight[TERM_COUNT];
    for (int k = 0; k < TERM_COUNT; k++) mean[k] = p->epoch_batches ? p->loss_sum[k] / (double)p->epoch_batches : 0;
    weighting_end_epoch(&m->weighting, mean, m->term_active);
    weighting_current(&m->weighting, weight);
    for (int k = 0; k < TERM_COUNT; k++)
        if (!m->term_active[k]) mean[k] = NAN;

    batcher_close(t->bt); /* validation reads the dataset: no other reader may be open */
    t->bt = NULL;
    val_metrics val;
    /* Rank 0 validates and tells the others, so every rank judges the
     * epoch by the same numbers. With sharded tables every rank runs the
     * validation, since its lookups are collective (each rank answers the
     * others' fetches of its rows); the ranks compute the same metrics,
     * and rank 0's are the ones sent. */
    if (t->rank == 0 || t->feat.n_sharded > 0) DMMP_TRY(validate_split(&t->feat, m, t->d, SPLIT_VAL, &val));
    DMMP_TRY(dist_broadcast(&val, sizeof val));
    DMMP_TRY(check_replicas(t));
    int improved = 0;
    const char *metric = validate_metric_name(t->cfg.train.early_stopping_metric);
    if (stage != STAGE_TEACHER) {
        if (!early_stopping_on(t) || val.rows == 0) {
            improved = 1; /* no judge: the latest epoch is the one to keep */
        } else {
            double v = val_metrics_get(&val, metric);
            int higher = config_metric_higher_is_better(t->cfg.train.early_stopping_metric);
            int defined_best = p->best_epoch > 0 && isfinite(p->best_metric);
            if (isfinite(v)) {
                improved = !defined_best || (higher ? v > p->best_metric : v < p->best_metric);
            } else {
                /* An undefined metric (the val split holds one class of its
                 * label, e.g. no clicks) judges nothing: until some epoch has
                 * a value the latest epoch is the best, so checkpoint.h5 is
                 * always written; after that it does not beat the best. */
                improved = !defined_best;
                if (improved)
                    log_warn("validation %s is undefined at epoch %d (the val split has only one class of its label, "
                             "e.g. no clicks): no epoch has a value yet, so the best epoch is the latest one",
                             metric, p->epoch + 1);
                else
                    log_warn("validation %s is undefined at epoch %d (the val split has only one class of its label): "
                             "the epoch does not count as an improvement; the best stays epoch %d (%.6g)",
                             metric, p->epoch + 1, p->best_epoch, p->best_metric);
            }
            if (improved) p->best_metric = v;
        }
        if (improved) {
            p->best_epoch = p->epoch + 1;
            p->bad_epochs = 0;
        } else {
            p->bad_epochs++;
        }
    }
    double train_secs = p->epoch_train_seconds;
    double sps = train_secs > 0 ? (double)p->epoch_samples / train_secs : 0;
    p->total_samples += p->epoch_samples;
    p->total_train_seconds += train_secs;
    char line[512];
    int at = snprintf(line, sizeof line, "epoch %d/%d done: %lld steps, %.0f samples/s", p->epoch + 1, t->n_epochs,
                      (long long)p->step, sps);
    for (int i = 0; i < val.n && at > 0 && (size_t)at < sizeof line; i++)
        if (!strncmp(val.name[i], "auc", 3) || !strncmp(val.name[i], "teacher_auc", 11))
            at += snprintf(line + at, sizeof line - (size_t)at, " %s %.4f", val.name[i], val.value[i]);
    double rss_mb = rss_current_mb();
    if (at > 0 && (size_t)at < sizeof line) snprintf(line + at, sizeof line - (size_t)at, " rss %.0f MB", rss_mb);
    log_info("%s%s", line, improved && stage != STAGE_TEACHER && early_stopping_on(t) ? " (best)" : "");

    /* The state as of the next epoch's start. */
    p->epoch++;
    memset(p->loss_sum, 0, sizeof p->loss_sum);
    p->epoch_batches = p->epoch_samples = 0;
    p->epoch_train_seconds = 0;
    p->pos.epoch = p->epoch;
    p->pos.window = p->pos.offset = 0;
    for (int r = 0; r < t->ranks && t->rank_pos; r++) t->rank_pos[r] = p->pos;
    update_finished(t);
    if (p->finished && p->epoch < t->n_epochs)
        log_info("early stopping: %s has not improved for %d epochs (best %.6g at epoch %d)", metric, p->bad_epochs,
                 p->best_metric, p->best_epoch);
    if (t->two_stage && p->epoch == t->teacher_epochs) {
        /* The student stage starts its own Adam count (its moments are still
         * zero) and the teacher's s_i keep no momentum, so nothing of the
         * teacher moves from here on. */
        t->adam.step = 0;
        for (int k = 0; k < TERM_COUNT; k++)
            if (m->blocks.has_logvar && is_teacher_term(k))
                t->adam.m[m->blocks.logvar_off + (size_t)k] = t->adam.v[m->blocks.logvar_off + (size_t)k] = 0;
        set_stage_terms(t, STAGE_STUDENT);
        log_info("two_stage: the teacher is frozen; training the student for %d epochs", t->n_epochs - p->epoch);
    }

    epoch_record er = {mean, t->base_active, weight, &val, clock_wall_seconds() - epoch_wall_t0, sps, rss_mb};
    DMMP_TRY(run_record_epoch(&t->rec, &er, p->epoch, p->step));
    if (improved && stage != STAGE_TEACHER) {
        DMMP_TRY(run_record_best(&t->rec, &val, p->best_epoch));
        DMMP_TRY(save_state(t, t->best_path));
    }
    DMMP_TRY(save_results(t));
    return save_state(t, t->last_path);
}

static int stop_requested(const trainer *t)
{
    const trainer_options *o = t->o;
    if (o->stop_flag && *o->stop_flag) return 1;
    return o->stop_after_steps > 0 && t->prog.step >= o->stop_after_steps;
}

/* Stops at pos, where the next batch of this rank starts. */
static dmmp_status interrupt(trainer *t, batcher_position pos)
{
    t->prog.pos = pos;
    if (t->ranks > 1) DMMP_TRY(dist_allgather(&pos, sizeof pos, t->rank_pos));
    /* The reader's prefetch thread stops before anything is written, as at
     * an epoch's end: no dataset read runs beside the checkpoint writer. */
    batcher_close(t->bt);
    t->bt = NULL;
    /* The record too, so a run stopped in its first epoch has one to resume. */
    DMMP_TRY(save_results(t));
    DMMP_TRY(save_state(t, t->last_path));
    log_info("interrupted at epoch %d, step %lld; the state is saved in %s. Resume with: %s", t->prog.epoch + 1,
             (long long)t->prog.step, t->last_path,
             t->o->resume_command ? t->o->resume_command : "the same command with --resume");
    return dmmp_fail(DMMP_EINTERRUPTED, "interrupted at step %lld; resume from %s", (long long)t->prog.step,
                     t->last_path);
}

/* The next step: this rank's batch (NULL when its share of the epoch is
 * used up), the rows of every rank together (0: the epoch is over), and
 * whether any rank was asked to stop. *before is where the batch started. */
static dmmp_status next_step(trainer *t, const batch **b, int64_t *n_total, int *stop, batcher_position *before)
{
    *b = NULL;
    *before = batcher_get_position(t->bt);
    if (t->ranks <= 1) {
        *stop = stop_requested(t);
        if (*stop) return DMMP_OK;
        DMMP_TRY(batcher_next(t->bt, b));
        *n_total = *b ? (*b)->n : 0;
        return DMMP_OK;
    }
    if (!t->shard_done) {
        DMMP_TRY(batcher_next(t->bt, b));
        t->shard_done = *b == NULL;
    }
    /* One agreement per step: the rows of the step and a stop request of
     * any rank, so every rank stops, ends the epoch or steps together. */
    double ctl[2] = {*b ? (double)(*b)->n : 0, stop_requested(t) ? 1 : 0};
    DMMP_TRY(dist_sum_f64(ctl, 2));
    *n_total = (int64_t)ctl[0];
    *stop = ctl[1] > 0;
    return DMMP_OK;
}

static dmmp_status train_loop(trainer *t)
{
    train_progress *p = &t->prog;
    if (p->finished) return DMMP_OK;
    DMMP_TRY(open_batcher(t));
    double epoch_wall_t0 = clock_wall_seconds();
    while (!p->finished) {
        const batch *b = NULL;
        int64_t n_total = 0;
        int stop = 0;
        batcher_position before;
        double t0 = clock_wall_seconds();
        DMMP_TRY(next_step(t, &b, &n_total, &stop, &before));
        if (stop) {
            progress_finish(&t->pl);
            return interrupt(t, before);
        }
        if (n_total == 0) {
            progress_finish(&t->pl);
            DMMP_TRY(end_epoch(t, epoch_wall_t0));
            epoch_wall_t0 = clock_wall_seconds();
            if (!p->finished) DMMP_TRY(open_batcher(t));
            continue;
        }
        dmmp_status s = train_step(t, b, n_total);
        if (s != DMMP_OK) {
            progress_finish(&t->pl);
            if (s == DMMP_ENUMERIC) {
                dmmp_fail_prefix(s, "training stopped at epoch %d, batch %lld, step %lld", p->epoch + 1,
                                 (long long)p->epoch_batches + 1, (long long)p->step);
                char why[1024];
                snprintf(why, sizeof why, "%s", dmmp_errmsg()); /* dmmp_fail rewrites the buffer it would read */
                return dmmp_fail(s, "%s (nothing was written after this step: %s keeps the last good state)", why,
                                 t->last_path);
            }
            return s;
        }
        p->epoch_train_seconds += clock_wall_seconds() - t0;
        report_progress(t, clock_wall_seconds());
    }
    return DMMP_OK;
}

/* ---- setup ------------------------------------------------------------------- */

/* mkdir -p dir. The directories made are always the deepest *made levels
 * of the path (a parent made implies its children are made too), so a
 * failed run can remove exactly those. */
static dmmp_status make_dirs(const char *dir, int *made)
{
    char path[PATH_LEN];
    *made = 0;
    if ((size_t)snprintf(path, sizeof path, "%s", dir) >= sizeof path)
        return dmmp_fail(DMMP_EINVAL, "--out %s: the path is too long", dir);
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/') path[--len] = 0;
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != 0) continue;
        char keep = path[i];
        path[i] = 0;
        if (mkdir(path, 0777) == 0) {
            (*made)++;
        } else if (errno != EEXIST) {
            int err = errno;
            return dmmp_fail(err == ENOTDIR ? DMMP_EINVAL : DMMP_EIO, "--out %s: cannot create the directory %s: %s",
                             dir, path, strerror(err));
        }
        path[i] = keep;
    }
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return DMMP_OK;
    return dmmp_fail(DMMP_EINVAL, "--out %s exists and is not a directory", dir);
}

/* Removes the `made` deepest directories of dir, innermost first; rmdir
 * leaves any that still holds a file. */
static void remove_made_dirs(const char *dir, int made)
{
    char path[PATH_LEN];
    snprintf(path, sizeof path, "%s", dir);
    size_t len = strlen(path);
    for (int k = 0; k < made; k++) {
        while (len > 1 && path[len - 1] == '/') path[--len] = 0;
        if (rmdir(path) != 0) return;
        while (len > 0 && path[len - 1] != '/') path[--len] = 0;
    }
}

static dmmp_status join(char *buf, const char *dir, const char *name)
{
    if ((size_t)snprintf(buf, PATH_LEN, "%s/%s", dir, name) >= PATH_LEN)
        return dmmp_fail(DMMP_EINVAL, "run directory path is too long: %s", dir);
    return DMMP_OK;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A training split in which every row is a click (a log of implicit
 * feedback: watches, purchases, ratings) gives the towers nothing to tell
 * apart unless sampled negatives are drawn; told from the split's counts,
 * so it holds for any dataset. One row says nothing about the log (and a
 * one-row dataset trains, README: Guarantees), so it takes two. */
static dmmp_status check_implicit_positives(const trainer *t)
{
    dataset_split_stats st = dataset_split_stats_of(t->d, SPLIT_TRAIN);
    if (st.rows < 2 || st.clicks < st.rows) return DMMP_OK;
    const char *path = dataset_path(t->d);
    if (!config_has_student(t->cfg.model.kind))
        return dmmp_fail(DMMP_EINVAL, "%s: every one of the %lld training rows is a click (a log of positives only): "
                         "model.kind = teacher_only has no negative to learn from; train a model with towers "
                         "(two_tower, three_tower, dmmp) with student.negatives = random, popularity or in_batch",
                         path, (long long)st.rows);
    if (t->cfg.student.negatives == CONFIG_NEGATIVES_NONE)
        return dmmp_fail(DMMP_EINVAL, "%s: every one of the %lld training rows is a click (a log of positives only), "
                         "so without sampled negatives the towers have nothing to learn: set student.negatives = "
                         "random, popularity or in_batch", path, (long long)st.rows);
    if (config_has_teacher(t->cfg.model.kind))
        log_warn("%s: every training row is a click: the teacher trains on positives only (sampled negatives train "
                 "the towers), so its pCTR carries no signal%s", path,
                 t->cfg.kd.enabled ? " and distillation passes that on" : "");
    return DMMP_OK;
}

/* The ranks of a job must train the same model on the same data: told
 * from the seed, the batch size, the split sizes and the model's size. */
static dmmp_status check_same_job(const trainer *t, const char *data)
{
    int64_t mine[7] = {(int64_t)t->seed, t->cfg.train.batch_size, dataset_split_stats_of(t->d, SPLIT_TRAIN).rows,
                       dataset_split_stats_of(t->d, SPLIT_VAL).rows, (int64_t)t->model.params.total,
                       features_param_count(&t->feat), t->cfg.model.kind};
    int64_t all[7 * t->ranks];
    DMMP_TRY(dist_allgather(mine, sizeof mine, all));
    static const char *const what[7] = {"seed", "train.batch_size", "training rows", "validation rows",
                                        "dense parameters", "embedding weights", "model.kind"};
    for (int r = 1; r < t->ranks; r++)
        for (int k = 0; k < 7; k++)
            if (all[7 * r + k] != all[k])
                return dmmp_fail(DMMP_EINVAL, "the processes of the job differ: rank %d has %s %lld, rank 0 %lld "
                                 "(every rank needs the same configuration and dataset; %s here)",
                                 r, what[k], (long long)all[7 * r + k], (long long)all[k], data);
    return DMMP_OK;
}

static dmmp_status setup(trainer *t)
{
    const trainer_options *o = t->o;
    if (!o->config || !o->out_dir) return dmmp_fail(DMMP_EINVAL, "trainer: a config and an output directory are required");
    t->cfg = *o->config;
    if (o->seed >= 0) t->cfg.train.seed = (int)o->seed;
    if (o->threads >= 0) t->cfg.train.threads = o->threads;
    DMMP_TRY(config_validate(&t->cfg));
    t->seed = (uint64_t)t->cfg.train.seed;
    const char *data = o->data_path ? o->data_path : t->cfg.data.path;
    if (!data || !*data) return dmmp_fail(DMMP_EINVAL, "trainer: no dataset (give --data or data.path)");
    if (o->resume) {
        struct stat st;
        if (stat(o->out_dir, &st) != 0 || !S_ISDIR(st.st_mode))
            return dmmp_fail(DMMP_EINVAL, "--resume: there is no run directory %s (no %s/last.h5 to continue from)",
                             o->out_dir, o->out_dir);
    }
    t->ranks = dist_size();
    t->rank = dist_rank();
    if (t->rank == 0) DMMP_TRY(make_dirs(o->out_dir, &t->dirs_made));
    DMMP_TRY(join(t->last_path, o->out_dir, "last.h5"));
    DMMP_TRY(join(t->best_path, o->out_dir, "checkpoint.h5"));
    DMMP_TRY(join(t->results_path, o->out_dir, "results.h5"));
    DMMP_TRY(join(t->log_path, o->out_dir, "train.log"));
    if (!o->resume && file_exists(t->last_path))
        return dmmp_fail(DMMP_EINVAL, "%s already holds a run (%s): continue it with --resume or choose another --out",
                         o->out_dir, t->last_path);
    if (o->resume && !file_exists(t->last_path))
        return dmmp_fail(DMMP_EINVAL, "--resume: %s does not exist (no run to continue in %s)", t->last_path, o->out_dir);
    if (t->rank == 0) {
        t->log_made = !file_exists(t->log_path);
        t->log = fopen(t->log_path, "a");
        if (!t->log) return dmmp_fail(DMMP_EIO, "cannot open %s: %s", t->log_path, strerror(errno));
        log_set_mirror(t->log);
    }

    if (o->resume) {
        dmmp_config saved;
        uint64_t saved_seed = 0;
        DMMP_TRY(run_state_read_meta(t->last_path, &saved, t->variant, sizeof t->variant, &saved_seed));
        DMMP_TRY(run_config_check_resume(&saved, &t->cfg, t->last_path));
        if (o->variant && strcmp(o->variant, t->variant))
            return dmmp_fail(DMMP_EINVAL, "--resume: the run in %s is variant '%s', not '%s'", o->out_dir, t->variant,
                             o->variant);
    } else if (o->variant) {
        if (strlen(o->variant) > TRAINER_VARIANT_MAX) return dmmp_fail(DMMP_EINVAL, "variant name is too long: %s", o->variant);
        snprintf(t->variant, sizeof t->variant, "%s", o->variant);
    } else {
        DMMP_TRY(config_value_text(&t->cfg, "model.kind", t->variant, sizeof t->variant));
    }
    if (t->cfg.train.threads > 0) {
        omp_set_num_threads(t->cfg.train.threads);
    } else if (t->ranks > 1 && !getenv("OMP_NUM_THREADS")) {
        /* All processors means this machine's, shared by its ranks. */
        int n = omp_get_num_procs() / dist_local_size();
        omp_set_num_threads(n > 0 ? n : 1);
    }
    free_cores_init(&t->fc, free_cores_wanted(t->cfg.train.threads));

    dmmp_status ds = dataset_open(&t->d, data);
    if (ds == DMMP_EIO) return dmmp_fail_prefix(DMMP_EINVAL, "--data"); /* a missing dataset is bad input */
    DMMP_TRY(ds);
    t->schema = dataset_get_schema(t->d);
    DMMP_TRY(layout_vocab_load(&t->vocab, t->d));
    DMMP_TRY(check_implicit_positives(t));
    DMMP_TRY(recipe_build_placed(&t->cfg, t->schema, t->seed, t->cfg.train.batch_size, 1, &t->feat, &t->model));
    /* Before any batcher opens: the sampler reads the dataset. */
    DMMP_TRY(recipe_negs_open(&t->negs, &t->cfg, t->d, t->seed, t->cfg.train.batch_size));
    adam_config ac = recipe_adam_config(&t->cfg);
    DMMP_TRY(adam_init(&t->adam, t->model.params.total, &ac));
    if (t->ranks > 1) {
        DMMP_TRY(check_same_job(t, data));
        DMMP_TRY(grad_exchange_init(&t->gx, &t->feat, &t->model));
        t->rank_pos = calloc((size_t)t->ranks, sizeof *t->rank_pos);
        if (!t->rank_pos) return dmmp_fail(DMMP_ENOMEM, "out of memory for %d batcher positions", t->ranks);
    }
    memcpy(t->base_active, t->model.term_active, sizeof t->base_active);
    t->two_stage = t->cfg.train.schedule == CONFIG_SCHEDULE_TWO_STAGE && t->model.has_teacher && t->model.has_student;
    if (t->cfg.train.schedule == CONFIG_SCHEDULE_TWO_STAGE && !t->two_stage)
        log_warn("train.schedule = two_stage needs a teacher and a student; %s trains in one stage", t->variant);
    t->teacher_epochs = t->two_stage ? (t->cfg.train.teacher_epochs > 0 ? t->cfg.train.teacher_epochs : t->cfg.train.epochs) : 0;
    t->n_epochs = t->teacher_epochs + t->cfg.train.epochs;
    config_metric em = t->cfg.train.early_stopping_metric;
    int needs_conversion = em == CONFIG_METRIC_AUC_CVR || em == CONFIG_METRIC_AUC_CTCVR || em == CONFIG_METRIC_LOGLOSS_CTCVR;
    if (needs_conversion && !t->model.has_teacher && t->model.n_item_towers < 2)
        return dmmp_fail(DMMP_EINVAL, "train.early_stopping_metric = %s needs a conversion head, which %s has not",
                         validate_metric_name(em), t->variant);

    memset(&t->prog, 0, sizeof t->prog);
    t->prog.best_metric = NAN;
    t->prog.ranks = t->ranks;
    t->prog.rank_pos = t->rank_pos;
    if (o->resume) {
        run_state_ref ref = {&t->cfg, t->variant, t->seed, &t->feat, &t->model, &t->adam, &t->prog, NULL};
        DMMP_TRY(run_state_load(t->last_path, &ref, t->schema));
        if (t->ranks > 1) t->prog.pos = t->rank_pos[t->rank];
        DMMP_TRY(run_record_resume(&t->rec, t->results_path, t->prog.epoch, t->prog.step));
        t->rec_open = 1;
        if (t->rec.dataset_hash[0]) {
            char hash[DATASET_HASH_LEN];
            DMMP_TRY(dataset_content_hash(data, hash));
            if (strcmp(hash, t->rec.dataset_hash))
                return dmmp_fail(DMMP_EINVAL, "--resume: the run in %s was trained on %s (content hash %s), but --data %s "
                                 "hashes to %s: another dataset", o->out_dir, t->rec.dataset_path, t->rec.dataset_hash,
                                 data, hash);
        }
        update_finished(t);
        log_info("resuming %s at epoch %d, step %lld", t->last_path, t->prog.epoch + 1, (long long)t->prog.step);
    } else {
        DMMP_TRY(run_record_start(&t->rec, &t->cfg, t->variant, t->seed, t->d));
        t->rec_open = 1;
        if (t->ranks > 1) {
            char with[sizeof t->rec.created_with + 32];
            snprintf(with, sizeof with, "%s on %d processes", t->rec.created_with, t->ranks);
            with[sizeof t->rec.created_with - 1] = 0;
            DMMP_TRY(results_set_meta(&t->rec, "created_with", with));
        }
        char procs[64] = "";
        if (t->ranks > 1)
            snprintf(procs, sizeof procs, ", %d processes (batch %d each), %d of %d tables sharded", t->ranks,
                     t->cfg.train.batch_size, t->feat.n_sharded, t->feat.n_tables);
        log_info("training %s (%s) on %s: %lld dense parameters, %lld embedding weights, seed %llu, %d threads%s",
                 t->variant, t->cfg.model.kind == CONFIG_MODEL_DMMP ? "teacher + student" : "single model", data,
                 (long long)t->model.params.total, (long long)features_param_count(&t->feat),
                 (unsigned long long)t->seed, omp_get_max_threads(), procs);
    }
    set_stage_terms(t, stage_of(t, t->prog.epoch));
    t->wall_at_start = t->prog.wall_seconds;
    progress_init(&t->pl, t->cfg.train.log_every);
    return DMMP_OK;
}

static void teardown(trainer *t)
{
    batcher_close(t->bt);
    grad_exchange_free(&t->gx);
    free(t->rank_pos);
    recipe_negs_close(&t->negs);
    adam_free(&t->adam);
    model_free(&t->model);
    features_free(&t->feat);
    if (t->rec_open) results_free(&t->rec);
    layout_vocab_free(&t->vocab);
    dataset_close(t->d);
    if (t->log) {
        log_set_mirror(NULL);
        fclose(t->log);
    }
}

dmmp_status trainer_run(const trainer_options *o, trainer_summary *s)
{
    trainer t;
    memset(&t, 0, sizeof t);
    t.o = o;
    t.t_start = clock_wall_seconds();
    int threads_before = omp_get_max_threads();
    dmmp_status st = setup(&t);
    if (st == DMMP_OK) st = train_loop(&t);
    if (s) {
        memset(s, 0, sizeof *s);
        s->epochs_done = t.prog.epoch;
        s->steps = t.prog.step;
        s->interrupted = st == DMMP_EINTERRUPTED;
        s->early_stopped = t.prog.finished && t.prog.epoch < t.n_epochs;
        s->best_epoch = t.prog.best_epoch;
        s->best_metric = t.prog.best_metric;
        s->samples_per_second = t.prog.total_train_seconds > 0 ? (double)t.prog.total_samples / t.prog.total_train_seconds : 0;
        s->wall_seconds = t.wall_at_start + (clock_wall_seconds() - t.t_start);
    }
    if (st == DMMP_OK && t.prog.finished)
        log_info("done: %d epochs, %lld steps, best epoch %d; %s", t.prog.epoch, (long long)t.prog.step,
                 t.prog.best_epoch, t.best_path);
    teardown(&t);
    /* A fresh run that failed before writing last.h5 has nothing to resume:
     * it takes back the log and the directories it made. */
    if (st != DMMP_OK && st != DMMP_EINTERRUPTED && !o->resume && (!t.last_path[0] || !file_exists(t.last_path))) {
        if (t.log_made) remove(t.log_path);
        remove_made_dirs(o->out_dir, t.dirs_made);
    }
    omp_set_num_threads(threads_before);
    return st;
}
