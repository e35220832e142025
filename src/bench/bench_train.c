#include "bench/bench_train.h"

#include <errno.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_flops.h"
#include "bench/bench_gemm.h"
#include "bench/zipf.h"
#include "core/clock.h"
#include "core/dist.h"
#include "core/free_cores.h"
#include "core/mem.h"
#include "data/batcher.h"
#include "data/dataset.h"
#include "model/features.h"
#include "model/model.h"
#include "model/model_layout.h"
#include "nn/optim.h"
#include "nn/score_matrix.h"
#include "train/recipe.h"

#define SYNTH_FIELDS 23
#define SYNTH_BATCHES 4
#define MAX_RUNS 1000

/* The recipe's phases of a step, then the time to fetch the batch. */
enum { PHASE_DATA = RECIPE_PHASES, PHASE_COUNT };
static const char *const phase_names[PHASE_COUNT] = {
    "ms_features_forward", "ms_model_forward", "ms_model_backward", "ms_features_backward",
    "ms_adam",             "ms_sparse_step",   "ms_exchange",          "ms_next_batch",
};

void bench_train_options_default(bench_train_options *o)
{
    memset(o, 0, sizeof *o);
    o->steps = 10;
    o->warmup = 5;
    o->repeat = 5;
    o->gemm_size = 2048;
    o->vocab = 100000;
    o->zipf_s = 1.1;
    o->seed = 1;
}

void bench_train_schema(dataset_schema *s, dataset_field *fields, int64_t vocab)
{
    static const struct { const char *prefix; field_side side; int count; } groups[] = {
        {"user", SIDE_USER, 10}, {"context", SIDE_CONTEXT, 3}, {"item", SIDE_ITEM, 6}, {"cross", SIDE_CROSS, 4}};
    int k = 0;
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
        for (int i = 0; i < groups[g].count; i++, k++) {
            memset(&fields[k], 0, sizeof fields[k]);
            snprintf(fields[k].name, sizeof fields[k].name, "%s_%d", groups[g].prefix, i);
            fields[k].side = groups[g].side;
            fields[k].vocab_size = vocab;
        }
    memset(s, 0, sizeof *s);
    s->n_fields = k;
    s->fields = fields;
}

/* Where the batches come from: a few pre-built synthetic ones, or a batcher. */
typedef struct batch_source {
    dataset_field fields[SYNTH_FIELDS];
    dataset_schema synth_schema;
    const dataset_schema *schema;
    int side_fields[4][SYNTH_FIELDS];
    batch synth[SYNTH_BATCHES];
    int next;
    dataset *data;
    batcher *batcher;
    recipe_negs negs; /* student.negatives: opened on the dataset before its batcher */
    int epoch, batch_size;
} batch_source;

static dmmp_status synth_batch(batch *b, const batch_source *src, int n, const zipf_sampler *z, rng *r)
{
    memset(b, 0, sizeof *b);
    b->n = n;
    DMMP_TRY(mem_alloc((void **)&b->click, (size_t)n, "benchmark labels"));
    DMMP_TRY(mem_alloc((void **)&b->conversion, (size_t)n, "benchmark labels"));
    for (int i = 0; i < n; i++) {
        b->click[i] = rng_uniform(r) < 0.1;
        b->conversion[i] = b->click[i] && rng_uniform(r) < 0.1;
    }
    for (int side = 0; side < 4; side++) {
        int nf = 0;
        for (int f = 0; f < src->schema->n_fields; f++) nf += src->schema->fields[f].side == (field_side)side;
        b->side[side].n_fields = nf;
        b->side[side].fields = src->side_fields[side];
        DMMP_TRY(mem_alloc((void **)&b->side[side].ids, (size_t)n * (nf > 0 ? nf : 1) * sizeof(int32_t), "benchmark ids"));
        for (size_t i = 0; i < (size_t)n * nf; i++) b->side[side].ids[i] = zipf_sample(z, r);
    }
    b->user = b->side[SIDE_USER].ids;
    b->item = b->side[SIDE_ITEM].ids;
    return DMMP_OK;
}

static void synth_batch_free(batch *b)
{
    mem_free(b->click);
    mem_free(b->conversion);
    for (int side = 0; side < 4; side++) mem_free(b->side[side].ids);
    memset(b, 0, sizeof *b);
}

static dmmp_status source_open(batch_source *src, const bench_train_options *o, const dmmp_config *cfg, int batch_size)
{
    memset(src, 0, sizeof *src);
    src->batch_size = batch_size;
    if (o->data) {
        DMMP_TRY(dataset_open(&src->data, o->data));
        src->schema = dataset_get_schema(src->data);
        DMMP_TRY(recipe_negs_open(&src->negs, cfg, src->data, o->seed, batch_size));
        batcher_options bo;
        batcher_options_default(&bo);
        bo.shard_rank = dist_rank(); /* several processes: each reads its share, as in training */
        bo.shard_count = dist_size();
        return batcher_open_opts(&src->batcher, src->data, SPLIT_TRAIN, batch_size, 1, o->seed, &bo);
    }
    if (cfg->student.negatives != CONFIG_NEGATIVES_NONE && config_has_student(cfg->model.kind))
        return dmmp_fail(DMMP_EINVAL, "bench train: student.negatives = %s draws from a dataset's items and counts: "
                         "give --data F.h5", config_negatives_name(cfg->student.negatives));
    bench_train_schema(&src->synth_schema, src->fields, o->vocab);
    src->schema = &src->synth_schema;
    int count[4] = {0, 0, 0, 0};
    for (int f = 0; f < SYNTH_FIELDS; f++) {
        int side = src->fields[f].side;
        src->side_fields[side][count[side]++] = f;
    }
    zipf_sampler z;
    DMMP_TRY(zipf_init(&z, o->vocab, o->zipf_s));
    rng r;
    /* Several processes: each rank's batches of its own (rank 0's are the single process's). */
    rng_stream(&r, o->seed + (uint64_t)dist_rank(), 0x7a697066ULL /* "zipf" */);
    dmmp_status st = DMMP_OK;
    for (int i = 0; i < SYNTH_BATCHES && st == DMMP_OK; i++) st = synth_batch(&src->synth[i], src, batch_size, &z, &r);
    zipf_free(&z);
    return st;
}

/* The next full batch (short batches at an epoch's end are skipped, so every
 * timed step has the same shape). */
static dmmp_status source_next(batch_source *src, const batch **out)
{
    if (!src->batcher) {
        *out = &src->synth[src->next];
        src->next = (src->next + 1) % SYNTH_BATCHES;
        return DMMP_OK;
    }
    for (int tries = 0; tries < 3; tries++) {
        DMMP_TRY(batcher_next(src->batcher, out));
        if (*out && (*out)->n == src->batch_size) return DMMP_OK;
        if (!*out) DMMP_TRY(batcher_start_epoch(src->batcher, ++src->epoch));
    }
    return dmmp_fail(DMMP_EINVAL, "bench train: %s has no full batch of %d training rows", dataset_path(src->data),
                     src->batch_size);
}

static void source_close(batch_source *src)
{
    for (int i = 0; i < SYNTH_BATCHES; i++) synth_batch_free(&src->synth[i]);
    batcher_close(src->batcher);
    recipe_negs_close(&src->negs);
    if (src->data) dataset_close(src->data);
    memset(src, 0, sizeof *src);
}

/* Everything one training step touches. */
typedef struct train_setup {
    dmmp_config cfg;
    features feat;
    model model;
    adam_state adam;
    int64_t step;
    int built_features, built_model, built_adam;
    grad_exchange gx; /* several processes: the step's gradient exchange */
    free_cores fc;    /* the team sized to the free processors (threads chosen by dmmp) */
    shard_stats lookups; /* sharded tables: the lookups of the timed training steps */
} train_setup;

/* The features, model and dense optimiser of cfg, built by the run recipe
 * exactly as training builds them. */
static dmmp_status setup_init(train_setup *t, const dmmp_config *cfg, const dataset_schema *schema, int batch_size,
                              uint64_t seed)
{
    memset(t, 0, sizeof *t);
    t->cfg = *cfg;
    /* The tables placed as training places them (model.table_placement). */
    DMMP_TRY(recipe_build_placed(cfg, schema, seed, batch_size, 1, &t->feat, &t->model));
    t->built_features = t->built_model = 1;
    adam_config ac = recipe_adam_config(cfg);
    DMMP_TRY(adam_init(&t->adam, t->model.params.total, &ac));
    t->built_adam = 1;
    DMMP_TRY(grad_exchange_init(&t->gx, &t->feat, &t->model));
    free_cores_init(&t->fc, free_cores_wanted(cfg->train.threads));
    return DMMP_OK;
}

static void setup_free(train_setup *t)
{
    grad_exchange_free(&t->gx);
    if (t->built_adam) adam_free(&t->adam);
    if (t->built_model) model_free(&t->model);
    if (t->built_features) features_free(&t->feat);
    memset(t, 0, sizeof *t);
}

static dmmp_status forward_step(train_setup *t, const batch *b)
{
    DMMP_TRY(recipe_forward(&t->feat, &t->model, b));
    free_cores_update(&t->fc);
    return DMMP_OK;
}

/* One joint step, the trainer's own; adds each phase's seconds to phase[]. */
static dmmp_status train_step(train_setup *t, batch_source *src, double *phase)
{
    const batch *b;
    double t0 = clock_wall_seconds();
    DMMP_TRY(source_next(src, &b));
    phase[PHASE_DATA] += clock_wall_seconds() - t0;
    recipe_shard shard = {&t->gx, (int64_t)b->n * t->gx.ranks};
    DMMP_TRY(recipe_train_step(&t->feat, &t->model, &t->adam, &src->negs, b, t->step, STAGE_JOINT,
                               grad_exchange_active(&t->gx) ? &shard : NULL, phase));
    t->step++;
    free_cores_update(&t->fc);
    return DMMP_OK;
}

typedef struct train_timings {
    double train[MAX_RUNS], forward[MAX_RUNS], gemm[MAX_RUNS], train_cpu[MAX_RUNS];
    double phase[PHASE_COUNT][MAX_RUNS];
    int team; /* OpenMP threads at the end of the runs */
} train_timings;

static dmmp_status timed_runs(train_setup *t, batch_source *src, gemm_ceiling *g, const bench_train_options *o,
                              train_timings *tm)
{
    double scratch[PHASE_COUNT];
    for (int i = 0; i < o->warmup; i++) DMMP_TRY(train_step(t, src, scratch));
    for (int i = 0; i < o->warmup; i++) {
        const batch *b;
        DMMP_TRY(source_next(src, &b));
        DMMP_TRY(forward_step(t, b));
    }
    double gs;
    DMMP_TRY(gemm_ceiling_run(g, &gs));
    memset(&t->gx.stats, 0, sizeof t->gx.stats);
    memset(&t->lookups, 0, sizeof t->lookups);
    for (int run = 0; run < o->repeat; run++) {
        double phase[PHASE_COUNT] = {0};
        shard_stats before = t->feat.comm.stats;
        double c0 = clock_cpu_seconds(), t0 = clock_wall_seconds();
        for (int i = 0; i < o->steps; i++) DMMP_TRY(train_step(t, src, phase));
        double t1 = clock_wall_seconds();
        t->lookups.fetches += t->feat.comm.stats.fetches - before.fetches;
        t->lookups.id_bytes += t->feat.comm.stats.id_bytes - before.id_bytes;
        t->lookups.vector_bytes += t->feat.comm.stats.vector_bytes - before.vector_bytes;
        tm->train_cpu[run] = 1e3 * (clock_cpu_seconds() - c0) / o->steps;
        for (int i = 0; i < o->steps; i++) {
            const batch *b;
            DMMP_TRY(source_next(src, &b));
            DMMP_TRY(forward_step(t, b));
        }
        tm->forward[run] = clock_wall_seconds() - t1;
        tm->train[run] = t1 - t0;
        DMMP_TRY(gemm_ceiling_run(g, &tm->gemm[run]));
        for (int p = 0; p < PHASE_COUNT; p++) tm->phase[p][run] = 1e3 * phase[p] / o->steps;
    }
    tm->team = omp_get_max_threads();
    return DMMP_OK;
}

/* Several processes: what a step exchanged, per rank, and the job's rate. */
static dmmp_status report_exchange(const train_setup *t, const bench_train_options *o, int batch_size,
                                   const train_timings *tm, bench_report *r)
{
    const grad_exchange_stats *x = &t->gx.stats;
    double steps = x->steps > 0 ? (double)x->steps : 1;
    int n = o->repeat, ranks = t->gx.ranks;
    char note[160];
    snprintf(note, sizeof note, "%d processes, batch %d each (a step trains %d rows); figures are rank 0's", ranks,
             batch_size, batch_size * ranks);
    DMMP_TRY(bench_add_note(r, "processes", note));
    double job = (double)o->steps * batch_size * ranks, secs[MAX_RUNS];
    memcpy(secs, tm->train, (size_t)n * sizeof *secs);
    DMMP_TRY(bench_add_rate(r, "job_train_samples_per_s", "samples/s", job, secs, n));
    double d = x->dense_bytes / steps, sp = x->sparse_bytes / steps, mg = 1e3 * x->merge_seconds / steps;
    DMMP_TRY(bench_add_figure(r, "exchange_dense_bytes_per_step", "bytes/step", d, d, d));
    DMMP_TRY(bench_add_figure(r, "exchange_sparse_bytes_per_step", "bytes/step", sp, sp, sp));
    DMMP_TRY(bench_add_figure(r, "ms_exchange_merge", "ms/step", mg, mg, mg));
    const feature_table *tables = t->feat.tables;
    int n_tables = t->feat.n_tables, n_sharded = t->feat.n_sharded;
    int64_t sharded_rows = 0;
    for (int i = 0; i < n_tables; i++)
        if (tables[i].sharded) sharded_rows += tables[i].emb.rows;
    snprintf(note, sizeof note, "%d of %d tables sharded (%lld rows), model.table_placement = %s", n_sharded, n_tables,
             (long long)sharded_rows,
             t->cfg.model.table_placement == CONFIG_PLACEMENT_SHARDED ? "sharded"
             : t->cfg.model.table_placement == CONFIG_PLACEMENT_AUTO  ? "auto"
                                                                       : "replicated");
    DMMP_TRY(bench_add_note(r, "table_placement", note));
    if (n_sharded > 0) {
        /* Sharded tables, per rank and training step: the row ids of the
         * other ranks' lookups it answers, the vectors it receives for its
         * own, and the other ranks' gradient rows of its block. */
        const shard_stats *ls = &t->lookups;
        double ids = ls->id_bytes / steps, vec = ls->vector_bytes / steps, sg = x->sharded_bytes / steps;
        DMMP_TRY(bench_add_figure(r, "exchange_sharded_grad_bytes_per_step", "bytes/step", sg, sg, sg));
        DMMP_TRY(bench_add_figure(r, "lookup_id_bytes_per_step", "bytes/step", ids, ids, ids));
        DMMP_TRY(bench_add_figure(r, "lookup_vector_bytes_per_step", "bytes/step", vec, vec, vec));
        /* The three together on every rank: the blocks do not get the same
         * traffic (ids ordered by frequency put the hot rows in the first
         * block), so the mean over the ranks, with their min and max. */
        double mine = ids + vec + sg, all[ranks], lo = mine, hi = mine, sum = 0;
        DMMP_TRY(dist_allgather(&mine, sizeof mine, all));
        for (int q = 0; q < ranks; q++) {
            sum += all[q];
            if (all[q] < lo) lo = all[q];
            if (all[q] > hi) hi = all[q];
        }
        DMMP_TRY(bench_add_figure(r, "sharded_bytes_per_step_rank_mean", "bytes/step", sum / ranks, lo, hi));
    }
    /* The step without the exchange: medians of the step and of the exchange. */
    double ex[MAX_RUNS];
    memcpy(ex, tm->phase[PHASE_EXCHANGE], (size_t)n * sizeof *ex);
    memcpy(secs, tm->train, (size_t)n * sizeof *secs);
    double med = 1e3 * bench_median(secs, n) / o->steps - bench_median(ex, n);
    return bench_add_figure(r, "ms_step_without_exchange", "ms/step", med, med, med);
}

static dmmp_status report_train(const train_setup *t, const gemm_ceiling *g, const bench_train_options *o,
                                int batch_size, train_timings *tm, bench_report *r)
{
    model_flops fl;
    model_dims dims = t->model.dims;
    DMMP_TRY(model_flops_count(&t->cfg, dims, &fl));
    int n = o->repeat;
    double samples = (double)o->steps * batch_size;
    double train_flops = samples * (fl.forward + fl.backward + fl.negatives), forward_flops = samples * fl.forward;
    char note[160];
    snprintf(note, sizeof note, "batch %d, %d steps per run, %d runs after %d warm-up steps", batch_size, o->steps, n,
             o->warmup);
    DMMP_TRY(bench_add_note(r, "runs", note));
    snprintf(note, sizeof note, "teacher %d, user %d, item %d floats per sample", dims.teacher_in, dims.user_in,
             dims.item_in);
    DMMP_TRY(bench_add_note(r, "inputs", note));
    DMMP_TRY(bench_add_note(r, "data", o->data ? o->data : "synthetic Zipf batches"));
    /* Parameter counts, the padding that aligns each block of the dense buffer to 16 floats left out. */
    model_layout lay;
    DMMP_TRY(model_layout_build(&t->model, &lay));
    size_t dense = 0;
    for (int i = 0; i < lay.n; i++)
        if (!strstr(lay.entries[i].name, "/padding")) dense += lay.entries[i].rows * lay.entries[i].cols;
    model_layout_free(&lay);
    snprintf(note, sizeof note, "%zu dense (%zu floats with padding), %lld embedding weights in %d tables", dense,
             t->model.params.total, (long long)features_param_count(&t->feat), t->feat.n_tables);
    DMMP_TRY(bench_add_note(r, "parameters", note));
    DMMP_TRY(bench_add_note(r, "flops_counted", fl.negatives > 0 ? "dense layers (2*in*out forward, 4*in*out backward), "
                                                                  "the sampled items' rows and the in-batch score matrix"
                                                                : "dense layers only: 2*in*out forward, 4*in*out backward"));
    /* Read back from the optimiser the step ran, not from the configuration. */
    const adam_config *ac = &t->adam.cfg;
    snprintf(note, sizeof note, "%s lr %g betas %g %g eps %g weight_decay %g clip_norm %g",
             ac->decoupled ? "adamw" : "adam", (double)ac->lr, (double)ac->beta1, (double)ac->beta2, (double)ac->eps,
             (double)ac->weight_decay, (double)ac->clip_norm);
    DMMP_TRY(bench_add_note(r, "dense_optimizer", note));
    DMMP_TRY(bench_add_ratio(r, "train_share_of_gemm", train_flops, tm->train, gemm_ceiling_flops(g), tm->gemm, n));
    DMMP_TRY(bench_add_ratio(r, "forward_share_of_gemm", forward_flops, tm->forward, gemm_ceiling_flops(g), tm->gemm, n));
    double copy[MAX_RUNS];
    memcpy(copy, tm->train, (size_t)n * sizeof *copy);
    DMMP_TRY(bench_add_rate(r, "train_samples_per_s", "samples/s", samples, tm->train, n));
    DMMP_TRY(bench_add_rate(r, "train_gflops", "GFLOP/s", train_flops * 1e-9, copy, n));
    memcpy(copy, tm->forward, (size_t)n * sizeof *copy);
    DMMP_TRY(bench_add_rate(r, "forward_samples_per_s", "samples/s", samples, tm->forward, n));
    DMMP_TRY(bench_add_rate(r, "forward_gflops", "GFLOP/s", forward_flops * 1e-9, copy, n));
    DMMP_TRY(bench_add_rate(r, "gemm_gflops", "GFLOP/s", gemm_ceiling_flops(g) * 1e-9, tm->gemm, n));
    double ft = fl.forward + fl.backward + fl.negatives;
    DMMP_TRY(bench_add_figure(r, "flops_per_sample_train", "FLOP/sample", ft, ft, ft));
    DMMP_TRY(bench_add_figure(r, "flops_per_sample_forward", "FLOP/sample", fl.forward, fl.forward, fl.forward));
    if (grad_exchange_active(&t->gx)) DMMP_TRY(report_exchange(t, o, batch_size, tm, r));
    double cpu = bench_median(tm->train_cpu, n);
    DMMP_TRY(bench_add_figure(r, "train_cpu_ms_per_step", "CPU ms/step", cpu, tm->train_cpu[0], tm->train_cpu[n - 1]));
    for (int p = 0; p < PHASE_COUNT; p++) {
        if (p == PHASE_DATA && !o->data) continue;
        if (p == PHASE_EXCHANGE && !grad_exchange_active(&t->gx)) continue; /* one process: nothing is exchanged */
        double med = bench_median(tm->phase[p], n);
        DMMP_TRY(bench_add_figure(r, phase_names[p], "ms/step", med, tm->phase[p][0], tm->phase[p][n - 1]));
    }
    return DMMP_OK;
}

/* The in-batch score matrix alone (student.negatives = in_batch): U V^T and
 * its two gradients on the model's own primitives, steps times per run,
 * against the gemm ceiling measured after each run. */
static dmmp_status time_inbatch_scores(train_setup *t, gemm_ceiling *g, const bench_train_options *o, int rows,
                                       bench_report *r)
{
    model *m = &t->model;
    if (m->neg.mode != MODEL_NEG_IN_BATCH) return DMMP_OK;
    size_t n = (size_t)rows * (size_t)m->k;
    float *u = NULL, *v = NULL, *du = NULL, *dv = NULL;
    dmmp_status st = mem_alloc((void **)&u, 4 * n * sizeof(float), "in-batch benchmark");
    if (st != DMMP_OK) return st;
    v = u + n, du = v + n, dv = du + n;
    rng rg;
    rng_stream(&rg, o->seed, 0x73636f726573ULL /* "scores" */);
    rng_fill_uniform(&rg, u, 2 * n, -1.0f, 1.0f);
    double secs[MAX_RUNS], gemm[MAX_RUNS], copy[MAX_RUNS];
    for (int run = 0; run < o->repeat && st == DMMP_OK; run++) {
        double t0 = clock_wall_seconds();
        for (int i = 0; i < o->steps && st == DMMP_OK; i++) {
            st = score_matrix_forward(&m->neg.sm, u, v, rows, m->neg.S[0]);
            /* any finite matrix serves as dL/dS: the scores themselves */
            if (st == DMMP_OK) st = score_matrix_backward(&m->neg.sm, u, v, m->neg.S[0], rows, du, 0, dv, 0);
        }
        secs[run] = clock_wall_seconds() - t0;
        if (st == DMMP_OK) st = gemm_ceiling_run(g, &gemm[run]);
    }
    double flops = (double)o->steps * 6.0 * (double)rows * (double)n;
    if (st == DMMP_OK) {
        memcpy(copy, secs, (size_t)o->repeat * sizeof *copy);
        st = bench_add_ratio(r, "inbatch_scores_share_of_gemm", flops, secs, gemm_ceiling_flops(g), gemm, o->repeat);
    }
    if (st == DMMP_OK) st = bench_add_rate(r, "inbatch_scores_gflops", "GFLOP/s", flops * 1e-9, copy, o->repeat);
    if (st == DMMP_OK) {
        char note[160];
        snprintf(note, sizeof note, "U V^T (%d x %d x %d) with dU and dV: one oneDNN matmul each", rows, m->k, rows);
        st = bench_add_note(r, "inbatch_scores", note);
    }
    mem_free(u);
    return st;
}

/* A CPU-bound child: spins until killed, its parent dies, or limit_s seconds pass. */
static pid_t busy_child_start(unsigned limit_s)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0) return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(0);
    alarm(limit_s);
    volatile unsigned long x = 0;
    for (;;) x++;
}

static void busy_child_stop(pid_t pid)
{
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
}

/* The same timed runs again next to a busy child. */
static dmmp_status contended_runs(train_setup *t, batch_source *src, gemm_ceiling *g, const bench_train_options *o,
                                  train_timings *tm)
{
    /* bounded in time: an alarm ends the child after an hour even if this process cannot kill it */
    pid_t pid = busy_child_start(3600);
    if (pid < 0) return dmmp_fail(DMMP_EIO, "bench train --contended: fork failed: %s", strerror(errno));
    dmmp_status st = timed_runs(t, src, g, o, tm);
    busy_child_stop(pid);
    /* the machine is free again: the later figures run on the whole team */
    omp_set_num_threads(t->fc.max_team);
    free_cores_init(&t->fc, t->fc.enabled);
    return st;
}

static dmmp_status report_contended(const bench_train_options *o, int batch_size, double *alone, double *contended,
                                    int team_alone, int team_contended, int sized, bench_report *r)
{
    int n = o->repeat;
    double samples = (double)o->steps * batch_size;
    double a = samples / bench_median(alone, n), c = samples / bench_median(contended, n);
    DMMP_TRY(bench_add_rate(r, "train_samples_per_s_alone", "samples/s", samples, alone, n));
    DMMP_TRY(bench_add_rate(r, "train_samples_per_s_contended", "samples/s", samples, contended, n));
    /* the ratio of the medians; min and max pair the slowest with the fastest runs */
    DMMP_TRY(bench_add_figure(r, "contended_share", "ratio", c / a, (samples / contended[n - 1]) / (samples / alone[0]),
                              (samples / contended[0]) / (samples / alone[n - 1])));
    DMMP_TRY(bench_add_note(r, "contended", "second set of runs next to one busy-looping child process (fair share 0.5)"));
    char note[160];
    snprintf(note, sizeof note, "%d alone, %d next to the busy process at the end (%s)", team_alone, team_contended,
             sized ? "sized to the free processors by dmmp" : "fixed: set by --threads, train.threads or OMP_NUM_THREADS");
    return bench_add_note(r, "threads_contended", note);
}

static dmmp_status load_config(const bench_train_options *o, dmmp_config *cfg, int *batch_size)
{
    config_defaults(cfg);
    if (o->config) DMMP_TRY(config_load(cfg, o->config));
    for (int i = 0; i < o->n_sets; i++) DMMP_TRY(config_set(cfg, o->sets[i], "--set"));
    if (o->batch > 0) cfg->train.batch_size = o->batch;
    if (o->threads > 0) cfg->train.threads = o->threads;
    DMMP_TRY(config_validate(cfg));
    *batch_size = cfg->train.batch_size;
    if (cfg->train.threads > 0) omp_set_num_threads(cfg->train.threads);
    return DMMP_OK;
}

dmmp_status bench_train(const bench_train_options *o, bench_report *r)
{
    if (o->repeat < 1 || o->repeat > MAX_RUNS || o->steps < 1 || o->warmup < 0)
        return dmmp_fail(DMMP_EINVAL, "bench train: repeat %d must be in [1, %d], steps %d >= 1, warmup %d >= 0",
                         o->repeat, MAX_RUNS, o->steps, o->warmup);
    if (o->contended && dist_size() > 1)
        return dmmp_fail(DMMP_EINVAL, "bench train --contended runs on one process (started with %d)", dist_size());
    dmmp_config cfg;
    int batch_size;
    DMMP_TRY(load_config(o, &cfg, &batch_size));
    batch_source src;
    train_setup t;
    gemm_ceiling g;
    train_timings *tm = NULL, *tc = NULL;
    memset(&t, 0, sizeof t);
    memset(&g, 0, sizeof g);
    dmmp_status st = source_open(&src, o, &cfg, batch_size);
    if (st == DMMP_OK) st = setup_init(&t, &cfg, src.schema, batch_size, o->seed);
    if (st == DMMP_OK) st = gemm_ceiling_init(&g, o->gemm_size);
    if (st == DMMP_OK) st = mem_alloc((void **)&tm, sizeof *tm, "benchmark timings");
    if (st == DMMP_OK) st = timed_runs(&t, &src, &g, o, tm);
    if (st == DMMP_OK && o->contended) st = mem_alloc((void **)&tc, sizeof *tc, "benchmark timings");
    if (st == DMMP_OK && o->contended) st = contended_runs(&t, &src, &g, o, tc);
    double alone[MAX_RUNS];
    if (st == DMMP_OK) memcpy(alone, tm->train, (size_t)o->repeat * sizeof *alone);
    if (st == DMMP_OK) st = report_train(&t, &g, o, batch_size, tm, r);
    if (st == DMMP_OK) st = time_inbatch_scores(&t, &g, o, batch_size, r);
    if (st == DMMP_OK && o->contended) st = report_contended(o, batch_size, alone, tc->train, tm->team, tc->team, t.fc.enabled, r);
    mem_free(tc);
    mem_free(tm);
    gemm_ceiling_free(&g);
    setup_free(&t);
    source_close(&src);
    return st;
}
