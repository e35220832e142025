#include "eval/retrieval_eval.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dist.h"
#include "core/log.h"
#include "core/rng.h"
#include "data/synth_truth.h"
#include "eval/batch_gather.h"
#include "eval/personal_utility.h"
#include "eval/rank_stats.h"
#include "train/evaluate.h"
#include "eval/retrieval_metrics.h"
#include "eval/teacher_scores.h"
#include "eval/topk_merge.h"
#include "eval/topk_search.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

dmmp_status retrieval_select_users(const relevance_sets *rel, const batch *queries, int64_t max_users,
                                   int64_t **rows, int64_t *n_rows)
{
    *rows = malloc((size_t)(queries->n > 0 ? queries->n : 1) * sizeof **rows);
    if (!*rows) return dmmp_fail(DMMP_ENOMEM, "retrieval: out of memory for %d users", queries->n);
    int64_t n = 0;
    for (int q = 0; q < queries->n; q++) {
        int64_t clicks;
        if (queries->user[q] < 0 || queries->user[q] >= rel->n_users) continue;
        relevance_clicked(rel, queries->user[q], &clicks);
        if (clicks > 0) (*rows)[n++] = q;
    }
    if (max_users > 0 && n > max_users) {
        /* A partial Fisher-Yates shuffle with a fixed seed: the same users for every run. */
        rng r;
        rng_stream(&r, RETRIEVAL_SAMPLE_SEED, 0);
        for (int64_t i = 0; i < max_users; i++) {
            int64_t j = i + (int64_t)rng_below(&r, (uint64_t)(n - i));
            int64_t t = (*rows)[i];
            (*rows)[i] = (*rows)[j];
            (*rows)[j] = t;
        }
        n = max_users;
        qsort(*rows, (size_t)n, sizeof **rows, cmp_i64);
    }
    *n_rows = n;
    return DMMP_OK;
}

int64_t retrieval_user_cap(const model *m, const config_eval *ce, int64_t n_users, int64_t n_items)
{
    if (ce->max_users > 0) return ce->max_users;
    if (m->has_student) return 0;
    return (double)n_users * (double)n_items <= (double)RETRIEVAL_TEACHER_MAX_PAIRS ? 0 : RETRIEVAL_TEACHER_SAMPLE;
}

dmmp_status retrieval_queries(model *m, features *f, const batch *queries, const int64_t *rows, int n,
                              batch *scratch, float *q)
{
    DMMP_TRY(batch_gather(scratch, queries, rows, n));
    DMMP_TRY(features_forward_view(f, scratch, VIEW_USER));
    return model_user_query(m, f->view[VIEW_USER].x, n, q);
}

#define INTENT_QUARTILES 4

/* The sums behind one set of retrieval metrics: over every user, and per
 * intent quartile of the users (worlds with intent). */
typedef struct retrieval_tally {
    retrieval_accum acc, acc_q[INTENT_QUARTILES];
    double util[RM_MAX_KS], util_q[INTENT_QUARTILES][RM_MAX_KS]; /* personal_utility@K sums */
    int64_t util_users, util_users_q[INTENT_QUARTILES];
} retrieval_tally;

static dmmp_status tally_init(retrieval_tally *t, const int *ks, int n_ks)
{
    memset(t, 0, sizeof *t);
    DMMP_TRY(retrieval_accum_init(&t->acc, ks, n_ks));
    for (int q = 0; q < INTENT_QUARTILES; q++) DMMP_TRY(retrieval_accum_init(&t->acc_q[q], ks, n_ks));
    return DMMP_OK;
}

/* What every user of one evaluation shares. */
/* Threads that compute personal utilities at once. */
#define RETRIEVAL_MAX_WORKERS 64

typedef struct retrieval_run {
    const dataset *d;
    relevance_sets rel;
    batch queries, corpus;
    int64_t *rows, n_rows;
    int has_truth, has_intent;
    synth_world world;
    retrieval_tally tally;      /* the model as it is */
    retrieval_tally mean_gate;  /* learned gate: every user's gate replaced by the users' mean */
    int kmax;
    float *p_ctcvr;             /* kmax: the true pCTR * pCVR per rank of the current user */
    int8_t *quartile;           /* n_rows: intent quartile 0..3 of each selected user (has_intent) */
    float *w_v;                 /* n_rows: the conversion weight of each user's gate (three towers) */
    int has_w_v;
    /* personal_utility@K of a group of users, one user per thread at a time
     * (has_truth): each worker's true pCTR and pCVR over the corpus and its
     * scratch; util holds the group's values, RM_MAX_KS per user. */
    int n_workers;
    float *pc_all, *pv_all;     /* n_workers x n_items */
    personal_utility *pu;       /* n_workers */
    double *util;
    int util_cap;               /* users util holds */
    topk_corpus shard;          /* this rank's item vectors, packed (towers only) */
    int64_t shard_lo;           /* corpus row of the shard's first item */
} retrieval_run;

typedef struct user_intent_row {
    float intent;
    int64_t row;
} user_intent_row;

static int by_intent(const void *a, const void *b)
{
    const user_intent_row *x = a, *y = b;
    if (x->intent != y->intent) return x->intent < y->intent ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

/* Intent quartiles of the selected users: sorted by true intent (ties by
 * their order among the selected users), the user at position p of n is in
 * quartile floor(4 p / n). */
static dmmp_status assign_quartiles(retrieval_run *r)
{
    int64_t n = r->n_rows;
    user_intent_row *order = malloc((size_t)n * sizeof *order);
    r->quartile = malloc((size_t)n);
    if (!order || !r->quartile) {
        free(order);
        return dmmp_fail(DMMP_ENOMEM, "retrieval: out of memory for %lld users", (long long)n);
    }
    for (int64_t i = 0; i < n; i++) order[i] = (user_intent_row){r->world.user_intent[r->queries.user[r->rows[i]]], i};
    qsort(order, (size_t)n, sizeof *order, by_intent);
    for (int64_t p = 0; p < n; p++) r->quartile[order[p].row] = (int8_t)(INTENT_QUARTILES * p / n);
    free(order);
    return DMMP_OK;
}

static dmmp_status run_open(retrieval_run *r, const dataset *d, data_split split, const config_eval *ce, int batch_rows,
                            int64_t cap)
{
    memset(r, 0, sizeof *r);
    r->d = d;
    if (ce->topk.n < 1 || ce->topk.n > RM_MAX_KS)
        return dmmp_fail(DMMP_EINVAL, "eval.topk: %d cut-offs (1..%d allowed)", ce->topk.n, RM_MAX_KS);
    DMMP_TRY(tally_init(&r->tally, ce->topk.v, ce->topk.n));
    DMMP_TRY(tally_init(&r->mean_gate, ce->topk.v, ce->topk.n));
    for (int i = 0; i < ce->topk.n; i++)
        if (ce->topk.v[i] > r->kmax) r->kmax = ce->topk.v[i];
    r->p_ctcvr = malloc((size_t)r->kmax * sizeof(float));
    if (!r->p_ctcvr) return dmmp_fail(DMMP_ENOMEM, "retrieval: out of memory for K = %d", r->kmax);
    DMMP_TRY(relevance_build(&r->rel, d, split, batch_rows));
    DMMP_TRY(batch_query_rows(d, split, &r->queries));
    DMMP_TRY(batch_item_corpus(d, &r->corpus));
    DMMP_TRY(retrieval_select_users(&r->rel, &r->queries, cap, &r->rows, &r->n_rows));
    int64_t eligible = 0;
    for (int q = 0; q < r->queries.n; q++) {
        int64_t c;
        relevance_clicked(&r->rel, r->queries.user[q], &c);
        eligible += c > 0;
    }
    if (r->n_rows == 0) return dmmp_fail(DMMP_EINVAL, "%s: no user clicked in the split: no retrieval metrics", dataset_path(d));
    if (r->n_rows < eligible)
        log_info("retrieval: a fixed sample of %lld of the %lld users with a click (eval.max_users %d)",
                 (long long)r->n_rows, (long long)eligible, ce->max_users);
    else
        log_info("retrieval: all %lld users with a click, %lld items", (long long)r->n_rows,
                 (long long)r->corpus.n);
    r->has_truth = dataset_has_truth(d);
    if (r->has_truth) DMMP_TRY(synth_world_load(&r->world, d));
    if (r->has_truth && r->world.n_items != dataset_n_items(d))
        return dmmp_fail(DMMP_EFORMAT, "%s: /truth has %lld items, /items %lld", dataset_path(d),
                         (long long)r->world.n_items, (long long)dataset_n_items(d));
    r->w_v = malloc((size_t)r->n_rows * sizeof *r->w_v);
    if (!r->w_v) return dmmp_fail(DMMP_ENOMEM, "retrieval: out of memory for %lld users", (long long)r->n_rows);
    if (r->has_truth) {
        size_t ni = (size_t)(r->world.n_items > 0 ? r->world.n_items : 1);
        int workers = omp_get_max_threads();
        workers = workers < 1 ? 1 : workers > RETRIEVAL_MAX_WORKERS ? RETRIEVAL_MAX_WORKERS : workers;
        r->pc_all = malloc((size_t)workers * ni * sizeof(float));
        r->pv_all = malloc((size_t)workers * ni * sizeof(float));
        r->pu = calloc((size_t)workers, sizeof *r->pu);
        if (!r->pc_all || !r->pv_all || !r->pu)
            return dmmp_fail(DMMP_ENOMEM, "retrieval: out of memory for the true scores of %d threads", workers);
        for (; r->n_workers < workers; r->n_workers++)
            DMMP_TRY(personal_utility_init(&r->pu[r->n_workers], r->world.n_items));
        r->has_intent = r->world.has_intent;
        if (r->has_intent) DMMP_TRY(assign_quartiles(r));
    }
    return DMMP_OK;
}

static void run_close(retrieval_run *r)
{
    relevance_free(&r->rel);
    batch_free(&r->queries);
    batch_free(&r->corpus);
    free(r->rows);
    if (r->has_truth) synth_world_free(&r->world);
    free(r->p_ctcvr);
    free(r->quartile);
    free(r->w_v);
    free(r->pc_all);
    free(r->pv_all);
    for (int w = 0; w < r->n_workers; w++) personal_utility_free(&r->pu[w]);
    free(r->pu);
    free(r->util);
    topk_corpus_free(&r->shard);
    memset(r, 0, sizeof *r);
}

/* Adds the user of selected row i (user index user) with top kmax list ids
 * to tally t; util is the user's personal_utility@K (has_truth). */
static dmmp_status add_user(retrieval_run *r, retrieval_tally *t, int64_t i, int32_t user, const int32_t *ids,
                            const double *util)
{
    int64_t nc, nb;
    const int32_t *clicked = relevance_clicked(&r->rel, user, &nc);
    const int32_t *bought = relevance_bought(&r->rel, user, &nb);
    if (r->has_truth)
        for (int k = 0; k < r->kmax; k++)
            r->p_ctcvr[k] = ids[k] < 0 ? 0.0f
                                       : (float)(synth_world_p_click(&r->world, user, ids[k], r->world.default_position,
                                                                     r->world.default_scenario) *
                                                 synth_world_p_conv(&r->world, user, ids[k]));
    const uint8_t *bait = r->has_truth ? r->world.item_bait : NULL;
    const float *p_ctcvr = r->has_truth ? r->p_ctcvr : NULL;
    int q = r->has_intent ? r->quartile[i] : -1;
    DMMP_TRY(retrieval_accum_add(&t->acc, ids, r->kmax, clicked, nc, bought, nb, bait, dataset_n_items(r->d), p_ctcvr));
    if (q >= 0)
        DMMP_TRY(retrieval_accum_add(&t->acc_q[q], ids, r->kmax, clicked, nc, bought, nb, bait, dataset_n_items(r->d),
                                     p_ctcvr));
    if (!r->has_truth) return DMMP_OK;
    int n_ks = t->acc.n_ks;
    for (int k = 0; k < n_ks; k++) t->util[k] += util[k];
    t->util_users++;
    if (q >= 0) {
        for (int k = 0; k < n_ks; k++) t->util_q[q][k] += util[k];
        t->util_users_q[q]++;
    }
    return DMMP_OK;
}

/* Adds the n users of selected rows first.. with top kmax lists ids (n x
 * kmax) to tally t. Their personal utilities (every corpus item's true
 * scores and three partial selections per K: most of an evaluation's time
 * on a large world) are computed in parallel, one user per thread at a
 * time, then every user is added in order, so the sums are the same
 * whatever the thread count. */
static dmmp_status add_users(retrieval_run *r, retrieval_tally *t, int64_t first, int n, const int32_t *ids)
{
    if (r->has_truth && n > r->util_cap) {
        double *grown = realloc(r->util, (size_t)n * RM_MAX_KS * sizeof *grown);
        if (!grown) return dmmp_fail(DMMP_ENOMEM, "retrieval: out of memory for %d users' utilities", n);
        r->util = grown;
        r->util_cap = n;
    }
    if (r->has_truth) {
        int team = omp_get_max_threads();
        if (team > r->n_workers) team = r->n_workers;
        size_t ni = (size_t)(r->world.n_items > 0 ? r->world.n_items : 1);
#pragma omp parallel for schedule(dynamic, 1) num_threads(team) if (team > 1 && n > 1)
        for (int i = 0; i < n; i++) {
            int w = omp_get_thread_num();
            int32_t user = r->queries.user[r->rows[first + i]];
            float *pc = r->pc_all + (size_t)w * ni, *pv = r->pv_all + (size_t)w * ni;
            synth_world_user_scores(&r->world, user, pc, pv);
            personal_utility_of_list(&r->pu[w], pc, pv, synth_world_purchase_share(&r->world, user),
                                     ids + (size_t)i * r->kmax, r->kmax, t->acc.ks, t->acc.n_ks,
                                     r->util + (size_t)i * RM_MAX_KS);
        }
    }
    for (int i = 0; i < n; i++)
        DMMP_TRY(add_user(r, t, first + i, r->queries.user[r->rows[first + i]], ids + (size_t)i * r->kmax,
                          r->has_truth ? r->util + (size_t)i * RM_MAX_KS : NULL));
    return DMMP_OK;
}

/* One slot of a shard's top-K list as the ranks exchange it. */
typedef struct shard_hit {
    int32_t id; /* corpus row, -1: empty */
    float score;
} shard_hit;

/* The item vectors of corpus rows [lo, hi) (this rank's shard). */
static dmmp_status shard_item_vectors(model *m, features *f, const dataset *d, const batch *corpus, int64_t lo,
                                      int64_t hi, float **vectors)
{
    int rows = eval_batch_rows(m, f), dim = model_retrieval_dim(m);
    batch tmp;
    *vectors = malloc((size_t)(hi - lo > 0 ? hi - lo : 1) * (size_t)dim * sizeof(float));
    if (!*vectors) return dmmp_fail(DMMP_ENOMEM, "retrieval: out of memory for %lld item vectors", (long long)(hi - lo));
    DMMP_TRY(batch_alloc(d, &tmp, rows));
    dmmp_status s = DMMP_OK;
    for (int64_t start = lo; s == DMMP_OK && start < hi; start += rows) {
        int n = hi - start < rows ? (int)(hi - start) : rows;
        s = batch_slice(&tmp, corpus, start, n);
        if (s == DMMP_OK) s = features_forward_view(f, &tmp, VIEW_ITEM);
        if (s == DMMP_OK) s = model_item_vectors(m, f->view[VIEW_ITEM].x, n, *vectors + (size_t)(start - lo) * dim);
    }
    batch_free(&tmp);
    if (s != DMMP_OK) {
        free(*vectors);
        *vectors = NULL;
    }
    return s;
}

dmmp_status retrieval_item_vectors(model *m, features *f, const dataset *d, const batch *corpus, float **vectors)
{
    return shard_item_vectors(m, f, d, corpus, 0, corpus->n, vectors);
}

/* Several ranks: each has searched its shard (ids already corpus rows);
 * the lists are exchanged and merged into the whole corpus's top K, the same
 * on every rank (eval/topk_merge.h). */
static dmmp_status merge_shards(int n, int k, int32_t *ids, float *top, shard_hit *mine, shard_hit *all,
                                int32_t *lid, float *lsc)
{
    int ranks = dist_size();
    size_t slots = (size_t)n * (size_t)k;
    for (size_t i = 0; i < slots; i++) mine[i] = (shard_hit){ids[i], top[i]};
    DMMP_TRY(dist_allgather(mine, slots * sizeof *mine, all));
    for (int qi = 0; qi < n; qi++) {
        for (int rk = 0; rk < ranks; rk++)
            for (int j = 0; j < k; j++) {
                const shard_hit *h = &all[(size_t)rk * slots + (size_t)qi * k + j];
                lid[rk * k + j] = h->id;
                lsc[rk * k + j] = h->score;
            }
        topk_merge(lid, lsc, ranks, k, ids + (size_t)qi * k, top + (size_t)qi * k);
    }
    return DMMP_OK;
}

/* This rank's shard of the corpus through the item towers, packed for the
 * search: built once per evaluation, searched by every pass of
 * towers_retrieve (the item vectors do not depend on the queries). Under
 * mpirun each rank holds and searches one contiguous shard of the corpus,
 * made of whole batches of the single-process item pass: every item vector
 * comes from the same batch, so it has the same bits. */
static dmmp_status pack_shard(retrieval_run *r, model *m, features *f)
{
    int rows = eval_batch_rows(m, f), dim = model_retrieval_dim(m);
    int ranks = dist_size();
    if (ranks > TOPK_MERGE_MAX_LISTS)
        return dmmp_fail(DMMP_EINVAL, "retrieval: %d ranks, at most %d", ranks, TOPK_MERGE_MAX_LISTS);
    int64_t n_batches = (r->corpus.n + rows - 1) / rows;
    int64_t lo = n_batches * dist_rank() / ranks * rows, hi = n_batches * (dist_rank() + 1) / ranks * rows;
    if (lo > r->corpus.n) lo = r->corpus.n;
    if (hi > r->corpus.n) hi = r->corpus.n;
    float *vectors = NULL;
    DMMP_TRY(shard_item_vectors(m, f, r->d, &r->corpus, lo, hi, &vectors));
    dmmp_status s = topk_corpus_pack(&r->shard, vectors, hi - lo, dim, dim);
    free(vectors);
    r->shard_lo = lo;
    return s;
}

/* Every selected user's top kmax through the user tower, searched over the
 * packed shard (pack_shard), into tally t. With mean_w_v >= 0 every user's
 * gate weights are replaced by (1 - mean_w_v, mean_w_v): the query
 * [w_c u, w_v u] is rescaled half by half. Otherwise the conversion weight
 * of each user's gate is kept in r->w_v. */
static dmmp_status towers_retrieve(retrieval_run *r, model *m, features *f, retrieval_tally *t, double mean_w_v)
{
    int rows = eval_batch_rows(m, f), dim = model_retrieval_dim(m);
    float *q = NULL, *top = NULL, *lsc = NULL;
    int32_t *ids = NULL, *lid = NULL;
    shard_hit *mine = NULL, *all = NULL;
    batch scratch;
    memset(&scratch, 0, sizeof scratch);
    int ranks = dist_size();
    int64_t lo = r->shard_lo;
    dmmp_status s = batch_alloc(r->d, &scratch, rows);
    q = malloc((size_t)rows * (size_t)dim * sizeof *q);
    ids = malloc((size_t)rows * (size_t)r->kmax * sizeof *ids);
    top = malloc((size_t)rows * (size_t)r->kmax * sizeof *top);
    if (ranks > 1) {
        mine = malloc((size_t)rows * (size_t)r->kmax * sizeof *mine);
        all = malloc((size_t)ranks * (size_t)rows * (size_t)r->kmax * sizeof *all);
        lid = malloc((size_t)ranks * (size_t)r->kmax * sizeof *lid);
        lsc = malloc((size_t)ranks * (size_t)r->kmax * sizeof *lsc);
        if (s == DMMP_OK && (!mine || !all || !lid || !lsc))
            s = dmmp_fail(DMMP_ENOMEM, "retrieval: out of memory for the shards' lists");
    }
    if (s == DMMP_OK && (!q || !ids || !top)) s = dmmp_fail(DMMP_ENOMEM, "retrieval: out of memory for the queries");
    for (int64_t start = 0; s == DMMP_OK && start < r->n_rows; start += rows) {
        int n = r->n_rows - start < rows ? (int)(r->n_rows - start) : rows;
        s = retrieval_queries(m, f, &r->queries, r->rows + start, n, &scratch, q);
        for (int i = 0; s == DMMP_OK && m->n_item_towers == 2 && i < n; i++) {
            if (mean_w_v < 0) {
                r->w_v[start + i] = m->w[2 * i + 1];
                continue;
            }
            /* The query of model_user_query with the gate at (1 - mean, mean):
             * [w_c u, w_v u], u the user tower's output (L2-normalised with
             * student.l2norm), computed as model.c's tower_vector does. */
            const float *u = mlp_output(&m->user_tower) + (size_t)i * m->k;
            double n2 = 0;
            for (int j = 0; j < m->k; j++) n2 += (double)u[j] * u[j];
            double inv = m->spec.l2norm ? 1.0 / fmax(sqrt(n2), 1e-12) : 1.0;
            float wc = (float)(1.0 - mean_w_v), wv = (float)mean_w_v;
            for (int j = 0; j < m->k; j++) {
                q[(size_t)i * dim + j] = (float)(u[j] * inv * wc);
                q[(size_t)i * dim + m->k + j] = (float)(u[j] * inv * wv);
            }
        }
        if (s == DMMP_OK && m->n_item_towers == 2 && mean_w_v < 0) r->has_w_v = 1;
        if (s == DMMP_OK) s = topk_search(&r->shard, q, n, dim, r->kmax, ids, top);
        for (int64_t i = 0; s == DMMP_OK && lo > 0 && i < (int64_t)n * r->kmax; i++)
            if (ids[i] >= 0) ids[i] += (int32_t)lo;
        if (s == DMMP_OK && ranks > 1) s = merge_shards(n, r->kmax, ids, top, mine, all, lid, lsc);
        if (s == DMMP_OK) batch_corpus_item_ids(&r->corpus, ids, (int64_t)n * r->kmax);
        if (s == DMMP_OK) s = add_users(r, t, start, n, ids);
    }
    batch_free(&scratch);
    free(q);
    free(ids);
    free(top);
    free(mine);
    free(all);
    free(lid);
    free(lsc);
    return s;
}

/* Ranks the corpus for every selected user with a full score vector. */
static dmmp_status scores_retrieve(retrieval_run *r, retrieval_score_fn fn, void *ctx)
{
    float *scores = malloc((size_t)(r->corpus.n > 0 ? r->corpus.n : 1) * sizeof *scores);
    float *top = malloc((size_t)r->kmax * sizeof *top);
    int32_t *ids = malloc((size_t)r->kmax * sizeof *ids);
    dmmp_status s = scores && top && ids ? DMMP_OK
                                         : dmmp_fail(DMMP_ENOMEM, "retrieval: out of memory for %d item scores",
                                                     r->corpus.n);
    for (int64_t i = 0; s == DMMP_OK && i < r->n_rows; i++) {
        s = fn(ctx, &r->queries, r->rows[i], &r->corpus, scores);
        if (s != DMMP_OK) break;
        topk_of_scores(scores, r->corpus.n, r->kmax, ids, top);
        batch_corpus_item_ids(&r->corpus, ids, r->kmax);
        s = add_users(r, &r->tally, i, 1, ids);
    }
    free(scores);
    free(top);
    free(ids);
    return s;
}

/* teacher_only: the teacher scores every pair of the selected users, a
 * group of users per call so its forwards are full (teacher_score_users),
 * then each user's top kmax is ranked. */
static dmmp_status teacher_retrieve(retrieval_run *r, teacher_scorer *sc)
{
    const int64_t n_items = r->corpus.n;
    int group = teacher_users_per_call(sc, n_items);
    if (group > r->n_rows) group = (int)r->n_rows;
    float *scores = malloc((size_t)group * (size_t)(n_items > 0 ? n_items : 1) * sizeof *scores);
    float *top = malloc((size_t)r->kmax * sizeof *top);
    int32_t *ids = malloc((size_t)group * (size_t)r->kmax * sizeof *ids);
    dmmp_status s = scores && top && ids ? DMMP_OK
                                         : dmmp_fail(DMMP_ENOMEM, "retrieval: out of memory for %d x %lld item scores",
                                                     group, (long long)n_items);
    for (int64_t start = 0; s == DMMP_OK && start < r->n_rows; start += group) {
        int n = r->n_rows - start < group ? (int)(r->n_rows - start) : group;
        s = teacher_score_users(sc, &r->queries, r->rows + start, n, &r->corpus, scores);
        for (int i = 0; s == DMMP_OK && i < n; i++) {
            int32_t *mine = ids + (size_t)i * r->kmax;
            topk_of_scores(scores + (size_t)i * (size_t)n_items, n_items, r->kmax, mine, top);
            batch_corpus_item_ids(&r->corpus, mine, r->kmax);
        }
        if (s == DMMP_OK) s = add_users(r, &r->tally, start, n, ids);
    }
    free(scores);
    free(top);
    free(ids);
    return s;
}

/* Names of the stored metrics, per retrieval_metric (NULL: not stored). */
static const char *stored_name(retrieval_metric rm)
{
    switch (rm) {
    case RM_RECALL_CLICK: return "click_recall";
    case RM_NDCG_CLICK: return "click_ndcg";
    case RM_HIT_CLICK: return "hitrate";
    case RM_RECALL_BUY: return "purchase_recall";
    case RM_NDCG_BUY: return "purchase_ndcg";
    case RM_CLICKBAIT: return "clickbait";
    case RM_EXPECTED_CONVERSIONS: return "exp_conversions";
    default: return NULL;
    }
}

/* The families of tally t given with name suffix (the per-quartile and
 * mean-gate sets), and personal_utility@K when the world is known. */
static dmmp_status emit_set(const retrieval_accum *acc, const double *util, int64_t util_users, const char *suffix,
                            eval_metrics *out)
{
    static const retrieval_metric set[] = {RM_RECALL_CLICK, RM_RECALL_BUY, RM_CLICKBAIT, RM_EXPECTED_CONVERSIONS};
    char name[EVAL_METRIC_NAME_MAX + 1];
    for (size_t o = 0; o < sizeof set / sizeof set[0]; o++) {
        if (acc->users[set[o]] == 0) continue;
        for (int k = 0; k < acc->n_ks; k++) {
            snprintf(name, sizeof name, "%s@%d%s", stored_name(set[o]), acc->ks[k], suffix);
            DMMP_TRY(eval_metrics_set(out, name, retrieval_accum_mean(acc, set[o], k)));
        }
    }
    for (int k = 0; util_users > 0 && k < acc->n_ks; k++) {
        snprintf(name, sizeof name, "personal_utility@%d%s", acc->ks[k], suffix);
        DMMP_TRY(eval_metrics_set(out, name, util[k] / (double)util_users));
    }
    return DMMP_OK;
}

/* gate_w_v_mean, _p10, _p50, _p90 over the evaluated users; with intent
 * gate_intent_corr (Spearman of w_v and the true intent; left out when
 * undefined, as for a fixed gate) and gate_w_v_mean_intent_q1..q4. */
static dmmp_status emit_gate(const retrieval_run *r, eval_metrics *out)
{
    int64_t n = r->n_rows;
    double *wv = malloc((size_t)n * sizeof *wv), *intent = malloc((size_t)n * sizeof *intent);
    dmmp_status s = wv && intent ? DMMP_OK : dmmp_fail(DMMP_ENOMEM, "retrieval: out of memory for %lld users", (long long)n);
    double sum = 0, sum_q[INTENT_QUARTILES] = {0}, cnt_q[INTENT_QUARTILES] = {0};
    for (int64_t i = 0; s == DMMP_OK && i < n; i++) {
        wv[i] = r->w_v[i];
        sum += wv[i];
        if (r->has_intent) {
            intent[i] = r->world.user_intent[r->queries.user[r->rows[i]]];
            sum_q[r->quartile[i]] += wv[i];
            cnt_q[r->quartile[i]]++;
        }
    }
    static const double qs[3] = {0.1, 0.5, 0.9};
    static const char *const qnames[3] = {"gate_w_v_p10", "gate_w_v_p50", "gate_w_v_p90"};
    if (s == DMMP_OK) s = eval_metrics_set(out, "gate_w_v_mean", sum / (double)n);
    for (int j = 0; s == DMMP_OK && j < 3; j++) {
        double v;
        s = rank_quantile(wv, n, qs[j], &v);
        if (s == DMMP_OK) s = eval_metrics_set(out, qnames[j], v);
    }
    if (s == DMMP_OK && r->has_intent) {
        double rho;
        s = rank_spearman(wv, intent, n, &rho);
        if (s == DMMP_OK && isfinite(rho)) s = eval_metrics_set(out, "gate_intent_corr", rho);
        else if (s == DMMP_OK) log_info("retrieval: every user has the same gate weights: no gate_intent_corr");
        for (int q = 0; s == DMMP_OK && q < INTENT_QUARTILES; q++) {
            char name[EVAL_METRIC_NAME_MAX + 1];
            snprintf(name, sizeof name, "gate_w_v_mean_intent_q%d", q + 1);
            if (cnt_q[q] > 0) s = eval_metrics_set(out, name, sum_q[q] / cnt_q[q]);
        }
    }
    free(wv);
    free(intent);
    return s;
}

static dmmp_status emit(const retrieval_run *r, int with_mean_gate, eval_metrics *out)
{
    static const retrieval_metric order[] = {RM_RECALL_CLICK, RM_RECALL_BUY, RM_NDCG_CLICK, RM_NDCG_BUY,
                                             RM_HIT_CLICK,    RM_CLICKBAIT,  RM_EXPECTED_CONVERSIONS};
    const retrieval_tally *t = &r->tally;
    if (t->acc.users[RM_RECALL_BUY] == 0) log_warn("retrieval: no evaluated user purchased: no purchase metrics");
    for (size_t o = 0; o < sizeof order / sizeof order[0]; o++) {
        if (t->acc.users[order[o]] == 0) continue;
        for (int k = 0; k < t->acc.n_ks; k++) {
            char name[EVAL_METRIC_NAME_MAX + 1];
            snprintf(name, sizeof name, "%s@%d", stored_name(order[o]), t->acc.ks[k]);
            DMMP_TRY(eval_metrics_set(out, name, retrieval_accum_mean(&t->acc, order[o], k)));
        }
    }
    for (int k = 0; t->util_users > 0 && k < t->acc.n_ks; k++) {
        char name[EVAL_METRIC_NAME_MAX + 1];
        snprintf(name, sizeof name, "personal_utility@%d", t->acc.ks[k]);
        DMMP_TRY(eval_metrics_set(out, name, t->util[k] / (double)t->util_users));
    }
    if (r->has_w_v) DMMP_TRY(emit_gate(r, out));
    for (int q = 0; r->has_intent && q < INTENT_QUARTILES; q++) {
        char suffix[32];
        snprintf(suffix, sizeof suffix, "_intent_q%d", q + 1);
        DMMP_TRY(emit_set(&t->acc_q[q], t->util_q[q], t->util_users_q[q], suffix, out));
    }
    if (with_mean_gate)
        DMMP_TRY(emit_set(&r->mean_gate.acc, r->mean_gate.util, r->mean_gate.util_users, "_mean_gate", out));
    return DMMP_OK;
}

dmmp_status eval_retrieval(model *m, features *f, const dataset *d, data_split split, const config_eval *ce,
                           eval_metrics *out)
{
    retrieval_run r;
    int64_t cap = retrieval_user_cap(m, ce, dataset_n_users(d), dataset_n_items(d));
    dmmp_status s = run_open(&r, d, split, ce, eval_batch_rows(m, f), cap);
    int mean_gate = 0;
    if (s == DMMP_OK && m->has_student) {
        s = pack_shard(&r, m, f);
        if (s == DMMP_OK) s = towers_retrieve(&r, m, f, &r.tally, -1.0);
        if (s == DMMP_OK && m->learned_gate && r.has_w_v) {
            /* The same towers with every user's gate at the users' mean:
             * what the personal gate adds over a constant one. */
            double mean = 0;
            for (int64_t i = 0; i < r.n_rows; i++) mean += r.w_v[i];
            mean /= (double)r.n_rows;
            s = towers_retrieve(&r, m, f, &r.mean_gate, mean);
            mean_gate = 1;
        }
    } else if (s == DMMP_OK) {
        teacher_scorer sc;
        s = teacher_scorer_init(&sc, m, f, d);
        if (s == DMMP_OK) {
            log_info("retrieval: teacher_only scores every (user, item) pair: an upper bound, not a retrieval model");
            s = teacher_retrieve(&r, &sc);
            teacher_scorer_free(&sc);
        }
    }
    if (s == DMMP_OK) s = emit(&r, mean_gate, out);
    run_close(&r);
    return s;
}

dmmp_status eval_retrieval_scores(const dataset *d, data_split split, const config_eval *ce, int64_t max_users,
                                  retrieval_score_fn fn, void *ctx, eval_metrics *out)
{
    retrieval_run r;
    dmmp_status s = run_open(&r, d, split, ce, 1024, max_users);
    if (s == DMMP_OK) s = scores_retrieve(&r, fn, ctx);
    if (s == DMMP_OK) s = emit(&r, 0, out);
    run_close(&r);
    return s;
}
