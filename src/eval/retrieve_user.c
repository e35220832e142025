#include "eval/retrieve_user.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/synth_truth.h"
#include "eval/retrieval_eval.h"
#include "eval/teacher_scores.h"
#include "eval/topk_search.h"

/* The query row of user: its row in the first split that has it. */
static dmmp_status find_query(const dataset *d, int64_t user, batch *queries, int64_t *row)
{
    static const data_split order[] = {SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST};
    for (size_t s = 0; s < sizeof order / sizeof order[0]; s++) {
        DMMP_TRY(batch_query_rows(d, order[s], queries));
        for (int q = 0; q < queries->n; q++)
            if (queries->user[q] == user) {
                *row = q;
                return DMMP_OK;
            }
        batch_free(queries);
    }
    return dmmp_fail(DMMP_EINVAL, "%s: user %lld has no sample in any split", dataset_path(d), (long long)user);
}

static dmmp_status towers_top(model *m, features *f, const dataset *d, const batch *queries, int64_t row,
                              const batch *corpus, retrieved *out)
{
    int dim = model_retrieval_dim(m);
    float *vectors = NULL, *q = malloc((size_t)dim * sizeof *q);
    topk_corpus packed;
    memset(&packed, 0, sizeof packed);
    batch scratch;
    memset(&scratch, 0, sizeof scratch);
    dmmp_status s = q ? retrieval_item_vectors(m, f, d, corpus, &vectors)
                      : dmmp_fail(DMMP_ENOMEM, "retrieve: out of memory");
    if (s == DMMP_OK) s = topk_corpus_pack(&packed, vectors, corpus->n, dim, dim);
    if (s == DMMP_OK) s = batch_alloc(d, &scratch, 1);
    if (s == DMMP_OK) s = retrieval_queries(m, f, queries, &row, 1, &scratch, q);
    if (s == DMMP_OK && m->learned_gate) {
        out->has_gate = 1;
        out->gate[0] = m->w[0];
        out->gate[1] = m->w[1];
    }
    if (s == DMMP_OK) s = topk_search(&packed, q, 1, dim, out->k, out->ids, out->scores);
    if (s == DMMP_OK) batch_corpus_item_ids(corpus, out->ids, out->k);
    topk_corpus_free(&packed);
    batch_free(&scratch);
    free(vectors);
    free(q);
    return s;
}

static dmmp_status teacher_top(model *m, features *f, const dataset *d, const batch *queries, int64_t row,
                               const batch *corpus, retrieved *out)
{
    teacher_scorer sc;
    float *scores = malloc((size_t)(corpus->n > 0 ? corpus->n : 1) * sizeof *scores);
    if (!scores) return dmmp_fail(DMMP_ENOMEM, "retrieve: out of memory for %d scores", corpus->n);
    dmmp_status s = teacher_scorer_init(&sc, m, f, d);
    if (s == DMMP_OK) {
        s = teacher_score_corpus(&sc, queries, row, corpus, scores);
        if (s == DMMP_OK) {
            topk_of_scores(scores, corpus->n, out->k, out->ids, out->scores);
            batch_corpus_item_ids(corpus, out->ids, out->k);
        }
        teacher_scorer_free(&sc);
    }
    free(scores);
    return s;
}

static dmmp_status add_truth(const dataset *d, int64_t user, retrieved *out)
{
    synth_world w;
    memset(&w, 0, sizeof w);
    DMMP_TRY(synth_world_load(&w, d));
    out->has_truth = 1;
    out->p_ctr = malloc((size_t)out->k * sizeof(float));
    out->p_cvr = malloc((size_t)out->k * sizeof(float));
    out->bait = malloc((size_t)out->k);
    dmmp_status s = out->p_ctr && out->p_cvr && out->bait ? DMMP_OK
                                                         : dmmp_fail(DMMP_ENOMEM, "retrieve: out of memory");
    for (int i = 0; s == DMMP_OK && i < out->k; i++) {
        int32_t it = out->ids[i];
        out->p_ctr[i] = it < 0 ? NAN
                               : (float)synth_world_p_click(&w, user, it, w.default_position, w.default_scenario);
        out->p_cvr[i] = it < 0 ? NAN : (float)synth_world_p_conv(&w, user, it);
        out->bait[i] = it < 0 ? 0 : w.item_bait[it];
    }
    synth_world_free(&w);
    return s;
}

dmmp_status retrieve_user(model *m, features *f, const dataset *d, int64_t user, int k, retrieved *out)
{
    memset(out, 0, sizeof *out);
    if (user < 0 || user >= dataset_n_users(d))
        return dmmp_fail(DMMP_EINVAL, "--user %lld: outside 0..%lld", (long long)user,
                         (long long)dataset_n_users(d) - 1);
    if (k < 1) return dmmp_fail(DMMP_EINVAL, "--k %d: must be >= 1", k);
    int32_t first_user;
    DMMP_TRY(dataset_first_entity(d, SIDE_USER, &first_user));
    if (user < first_user)
        return dmmp_fail(DMMP_EINVAL, "--user %lld: index 0 of %s is the unknown user (every user not seen in training), "
                         "not a user; users are 1..%lld", (long long)user, dataset_path(d), (long long)dataset_n_users(d) - 1);
    out->k = k;
    out->ids = malloc((size_t)k * sizeof *out->ids);
    out->scores = malloc((size_t)k * sizeof *out->scores);
    if (!out->ids || !out->scores) {
        retrieved_free(out);
        return dmmp_fail(DMMP_ENOMEM, "retrieve: out of memory for k = %d", k);
    }
    batch queries, corpus;
    int64_t row = -1;
    memset(&corpus, 0, sizeof corpus);
    dmmp_status s = find_query(d, user, &queries, &row);
    if (s == DMMP_OK) {
        s = batch_item_corpus(d, &corpus);
        out->n_ranked = corpus.n;
        if (s == DMMP_OK)
            s = m->has_student ? towers_top(m, f, d, &queries, row, &corpus, out)
                               : teacher_top(m, f, d, &queries, row, &corpus, out);
        batch_free(&queries);
        batch_free(&corpus);
    }
    if (s == DMMP_OK && dataset_has_truth(d)) s = add_truth(d, user, out);
    if (s != DMMP_OK) retrieved_free(out);
    return s;
}

void retrieved_free(retrieved *r)
{
    free(r->ids);
    free(r->scores);
    free(r->p_ctr);
    free(r->p_cvr);
    free(r->bait);
    memset(r, 0, sizeof *r);
}
