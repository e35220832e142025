#include "bench/bench_teacher.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/clock.h"
#include "data/batch.h"
#include "data/batcher.h"
#include "data/dataset.h"
#include "data/synth.h"
#include "eval/relevance.h"
#include "eval/retrieval_eval.h"
#include "model/features.h"
#include "model/model.h"
#include "train/evaluate.h"
#include "train/recipe.h"

#define MAX_RUNS 1000

void bench_teacher_options_default(bench_teacher_options *o)
{
    memset(o, 0, sizeof *o);
    o->items = 5000;
    o->users = 100;
    o->steps = 100;
    o->repeat = 5;
    o->seed = 1;
}

/* Everything the runs share; zeroed, then filled by setup_open. */
typedef struct teacher_setup {
    char dir[300], path[340]; /* the synthetic world's temporary directory and file */
    dataset *d;
    features feat;
    model model;
    int built;
    config_eval ce;  /* the configuration's eval section, max_users = the users per run */
    int64_t users;   /* the users eval_retrieval visits */
    int64_t items;   /* the corpus */
    batcher *bt;
    int rows, epoch;
} teacher_setup;

/* The configuration's teacher alone, as teacher_only trains and evaluates it. */
static dmmp_status load_config(const bench_teacher_options *o, dmmp_config *cfg)
{
    config_defaults(cfg);
    if (o->config) DMMP_TRY(config_load(cfg, o->config));
    for (int i = 0; i < o->n_sets; i++) DMMP_TRY(config_set(cfg, o->sets[i], "--set"));
    static const char *const teacher_only[] = {"model.kind=teacher_only", "student.gate=off", "kd.enabled=off",
                                               "kd.on_sampled=off", "student.negatives=none", "train.schedule=joint"};
    for (size_t i = 0; i < sizeof teacher_only / sizeof teacher_only[0]; i++)
        DMMP_TRY(config_set(cfg, teacher_only[i], "bench teacher"));
    DMMP_TRY(config_validate(cfg));
    if (cfg->train.threads > 0) omp_set_num_threads(cfg->train.threads);
    return DMMP_OK;
}

static dmmp_status open_data(teacher_setup *t, const bench_teacher_options *o)
{
    if (o->data) return dataset_open(&t->d, o->data);
    const char *tmp = getenv("TMPDIR");
    snprintf(t->dir, sizeof t->dir, "%s/dmmp-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(t->dir)) {
        t->dir[0] = 0;
        return dmmp_fail(DMMP_EIO, "bench teacher: cannot create a temporary directory under %s", tmp ? tmp : "/tmp");
    }
    snprintf(t->path, sizeof t->path, "%s/world.h5", t->dir);
    synth_config sc;
    synth_config_default(&sc);
    sc.n_items = o->items;
    sc.n_impressions = 200000;
    sc.seed = o->seed;
    DMMP_TRY(synth_config_check(&sc));
    DMMP_TRY(synth_generate(&sc, t->path, NULL));
    return dataset_open(&t->d, t->path);
}

/* The users and items eval_retrieval will visit (it selects the users the
 * same way), read before the clock starts. */
static dmmp_status count_pairs(teacher_setup *t)
{
    relevance_sets rel;
    batch queries, corpus;
    int64_t *rows = NULL;
    memset(&rel, 0, sizeof rel);
    memset(&queries, 0, sizeof queries);
    memset(&corpus, 0, sizeof corpus);
    dmmp_status s = relevance_build(&rel, t->d, SPLIT_TEST, t->rows);
    if (s == DMMP_OK) s = batch_query_rows(t->d, SPLIT_TEST, &queries);
    if (s == DMMP_OK) s = batch_item_corpus(t->d, &corpus);
    if (s == DMMP_OK) s = retrieval_select_users(&rel, &queries, t->ce.max_users, &rows, &t->users);
    t->items = corpus.n;
    free(rows);
    batch_free(&corpus);
    batch_free(&queries);
    relevance_free(&rel);
    DMMP_TRY(s);
    if (t->users < 1 || t->items < 1)
        return dmmp_fail(DMMP_EINVAL, "bench teacher: %s has %lld test users with a click and %lld items, need >= 1 "
                         "of each", dataset_path(t->d), (long long)t->users, (long long)t->items);
    return DMMP_OK;
}

static dmmp_status setup_open(teacher_setup *t, const bench_teacher_options *o, const dmmp_config *cfg)
{
    DMMP_TRY(open_data(t, o));
    DMMP_TRY(recipe_build(cfg, dataset_get_schema(t->d), o->seed, cfg->train.batch_size, &t->feat, &t->model));
    t->built = 1;
    t->rows = eval_batch_rows(&t->model, &t->feat);
    t->ce = cfg->eval;
    t->ce.split = CONFIG_SPLIT_TEST;
    t->ce.max_users = o->users;
    return count_pairs(t);
}

static void setup_close(teacher_setup *t)
{
    batcher_close(t->bt);
    if (t->built) {
        model_free(&t->model);
        features_free(&t->feat);
    }
    if (t->d) dataset_close(t->d);
    if (t->path[0]) unlink(t->path);
    if (t->dir[0]) rmdir(t->dir);
    memset(t, 0, sizeof *t);
}

/* The next full training batch (a short one at an epoch's end is skipped). */
static dmmp_status next_batch(teacher_setup *t, const batch **b)
{
    for (int tries = 0; tries < 3; tries++) {
        DMMP_TRY(batcher_next(t->bt, b));
        if (*b && (*b)->n == t->rows) return DMMP_OK;
        if (!*b) DMMP_TRY(batcher_start_epoch(t->bt, ++t->epoch));
    }
    return dmmp_fail(DMMP_EINVAL, "bench teacher: %s has no full batch of %d training rows", dataset_path(t->d),
                     t->rows);
}

/* Seconds of steps forwards (the batches fetched outside the clock; the
 * batcher is closed after, as eval_retrieval reads the dataset itself). */
static dmmp_status time_forward(teacher_setup *t, int steps, uint64_t seed, double *secs)
{
    *secs = 0;
    DMMP_TRY(batcher_open(&t->bt, t->d, SPLIT_TRAIN, t->rows, 1, seed));
    dmmp_status s = DMMP_OK;
    for (int i = 0; s == DMMP_OK && i < steps; i++) {
        const batch *b;
        s = next_batch(t, &b);
        double t0 = clock_wall_seconds();
        if (s == DMMP_OK) s = recipe_forward(&t->feat, &t->model, b);
        *secs += clock_wall_seconds() - t0;
    }
    batcher_close(t->bt);
    t->bt = NULL;
    return s;
}

/* Seconds of the retrieval evaluation of teacher_only, as dmmp eval runs it. */
static dmmp_status time_eval(teacher_setup *t, double *secs)
{
    eval_metrics out;
    eval_metrics_init(&out);
    double t0 = clock_wall_seconds();
    dmmp_status s = eval_retrieval(&t->model, &t->feat, t->d, SPLIT_TEST, &t->ce, &out);
    *secs = clock_wall_seconds() - t0;
    eval_metrics_free(&out);
    return s;
}

static dmmp_status teacher_runs(teacher_setup *t, const bench_teacher_options *o, bench_report *r)
{
    double tf[MAX_RUNS], te[MAX_RUNS], te_s[MAX_RUNS], scratch;
    DMMP_TRY(time_forward(t, 2, o->seed, &scratch));
    for (int run = 0; run < o->repeat; run++) {
        DMMP_TRY(time_forward(t, o->steps, o->seed + 1 + (uint64_t)run, &tf[run]));
        DMMP_TRY(time_eval(t, &te[run]));
    }
    char note[160];
    snprintf(note, sizeof note, "eval_retrieval of %lld test users x %lld items per run; forward: %d batches of %d",
             (long long)t->users, (long long)t->items, o->steps, t->rows);
    DMMP_TRY(bench_add_note(r, "shape", note));
    DMMP_TRY(bench_add_note(r, "data", o->data ? o->data : "synthetic world (data synth defaults, 200000 impressions)"));
    double samples = (double)o->steps * t->rows, pairs = (double)t->users * (double)t->items;
    DMMP_TRY(bench_add_ratio(r, "teacher_eval_share_of_forward", pairs, te, samples, tf, o->repeat));
    memcpy(te_s, te, (size_t)o->repeat * sizeof *te_s);
    DMMP_TRY(bench_add_rate(r, "teacher_forward_samples_per_s", "samples/s", samples, tf, o->repeat));
    DMMP_TRY(bench_add_rate(r, "teacher_eval_pairs_per_s", "pairs/s", pairs, te, o->repeat));
    double med = bench_median(te_s, o->repeat);
    return bench_add_figure(r, "teacher_eval_s", "s", med, te_s[0], te_s[o->repeat - 1]);
}

dmmp_status bench_teacher(const bench_teacher_options *o, bench_report *r)
{
    if (o->repeat < 1 || o->repeat > MAX_RUNS || o->steps < 1 || o->users < 1 || o->items < 1)
        return dmmp_fail(DMMP_EINVAL, "bench teacher: repeat %d must be in [1, %d]; steps %d, users %d and items %lld "
                         ">= 1", o->repeat, MAX_RUNS, o->steps, o->users, (long long)o->items);
    dmmp_config cfg;
    DMMP_TRY(load_config(o, &cfg));
    teacher_setup t;
    memset(&t, 0, sizeof t);
    dmmp_status st = setup_open(&t, o, &cfg);
    if (st == DMMP_OK) st = teacher_runs(&t, o, r);
    setup_close(&t);
    return st;
}
