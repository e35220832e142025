/* Retrieval evaluation against brute force. Every user with a click in the
 * test split is embedded through a one-row batch built here from the
 * dataset's own tables (users, items, default context, user bags), every
 * item likewise; each item is scored with a plain loop, the corpus sorted
 * (score descending, then item id) and recall, NDCG, hit rate, click-bait
 * share and expected conversions computed in this file from the labels read
 * directly from /samples and the true probabilities of /truth. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/batcher.h"
#include "data/dataset_writer.h"
#include "data/import.h"
#include "data/synth_truth.h"
#include "train/evaluate.h"
#include "eval/relevance.h"
#include "eval/retrieval_eval.h"
#include "eval/retrieve_user.h"
#include "eval/teacher_scores.h"
#include "eval_fixture.h"
#include "testutil.h"

#include "retrieval_hand.h"

int tables_open(hand_tables *h, const dataset *d)
{
    memset(h, 0, sizeof *h);
    h->d = d;
    int ctx_fields[MAX_SIDE_FIELDS];
    for (int s = 0; s < 4; s++) h->nf[s] = dataset_side_fields(d, (field_side)s, NULL);
    dataset_side_fields(d, SIDE_CONTEXT, ctx_fields);
    for (int c = 0; c < h->nf[SIDE_CONTEXT]; c++) h->ctx_default[c] = dataset_default_id(d, ctx_fields[c]);
    h->users = malloc(sizeof(int32_t) * N_USERS * (size_t)(h->nf[SIDE_USER] + 1));
    h->items = malloc(sizeof(int32_t) * N_ITEMS * (size_t)(h->nf[SIDE_ITEM] + 1));
    dmmp_status s = dataset_read_users(d, h->users);
    if (s == DMMP_OK) s = dataset_read_items(d, h->items);
    const dataset_schema *sc = dataset_get_schema(d);
    for (int k = 0; s == DMMP_OK && k < dataset_n_multi(d); k++)
        if (sc->fields[dataset_multi_field(d, k)].side == SIDE_USER)
            s = dataset_read_users_multi(d, dataset_multi_field(d, k), &h->bag_off[k], &h->bag_idx[k], &h->bag_wt[k]);
    h->clicked = calloc(N_USERS * N_ITEMS, 1);
    h->bought = calloc(N_USERS * N_ITEMS, 1);
    dataset_block blk;
    memset(&blk, 0, sizeof blk);
    if (s == DMMP_OK) s = dataset_read_block(d, 0, dataset_n_samples(d), &blk);
    for (int64_t i = 0; s == DMMP_OK && i < blk.n; i++) {
        if (blk.split[i] != SPLIT_TEST) continue;
        if (blk.click[i]) h->clicked[blk.user[i] * N_ITEMS + blk.item[i]] = 1;
        if (blk.conversion[i]) h->bought[blk.user[i] * N_ITEMS + blk.item[i]] = 1;
    }
    dataset_block_free(&blk);
    if (s == DMMP_OK) s = synth_world_load(&h->truth, d);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    return s == DMMP_OK;
}

void tables_close(hand_tables *h)
{
    free(h->users);
    free(h->items);
    for (int k = 0; k < 8; k++) {
        free(h->bag_off[k]);
        free(h->bag_idx[k]);
        free(h->bag_wt[k]);
    }
    free(h->clicked);
    free(h->bought);
    synth_world_free(&h->truth);
}

void fill_row(const hand_tables *h, batch *b, int user, int item)
{
    b->n = 1;
    b->user[0] = user < 0 ? 0 : user;
    b->item[0] = item < 0 ? 0 : item;
    for (int s = 0; s < 4; s++) b->side[s].n_fields = h->nf[s];
    for (int c = 0; c < h->nf[SIDE_USER]; c++) b->side[SIDE_USER].ids[c] = user < 0 ? 0 : h->users[user * h->nf[SIDE_USER] + c];
    for (int c = 0; c < h->nf[SIDE_CONTEXT]; c++) b->side[SIDE_CONTEXT].ids[c] = user < 0 ? 0 : h->ctx_default[c];
    for (int c = 0; c < h->nf[SIDE_ITEM]; c++) b->side[SIDE_ITEM].ids[c] = item < 0 ? 0 : h->items[item * h->nf[SIDE_ITEM] + c];
    for (int c = 0; c < h->nf[SIDE_CROSS]; c++) b->side[SIDE_CROSS].ids[c] = 0;
    for (int k = 0; k < b->n_multi; k++) {
        batch_multi *m = &b->multi[k];
        int64_t len = 0, lo = 0;
        if (h->bag_off[k] && user >= 0) {
            lo = h->bag_off[k][user];
            len = h->bag_off[k][user + 1] - lo;
        }
        free(m->indices);
        free(m->weights);
        m->indices = malloc(sizeof(int32_t) * (size_t)(len + 1));
        m->weights = malloc(sizeof(float) * (size_t)(len + 1));
        for (int64_t p = 0; p < len; p++) {
            m->indices[p] = h->bag_idx[k][lo + p];
            m->weights[p] = h->bag_wt[k][lo + p];
        }
        m->offsets[0] = 0;
        m->offsets[1] = len;
    }
    for (int j = 0; j < b->n_dense; j++) b->dense[j] = 0;
}

int by_score(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}

void hand_add_user(const hand_tables *h, hand_metrics *hm, int user, const float *scores)
{
    ranked r[N_ITEMS];
    for (int i = 0; i < N_ITEMS; i++) r[i] = (ranked){scores[i], i};
    qsort(r, N_ITEMS, sizeof r[0], by_score);
    int n_c = 0, n_b = 0;
    for (int i = 0; i < N_ITEMS; i++) {
        n_c += h->clicked[user * N_ITEMS + i];
        n_b += h->bought[user * N_ITEMS + i];
    }
    hm->users++;
    hm->buyers += n_b > 0;
    for (int k = 0; k < 3; k++) {
        int filled = KS[k] < N_ITEMS ? KS[k] : N_ITEMS;
        double hits_c = 0, hits_b = 0, dcg_c = 0, dcg_b = 0, idcg_c = 0, idcg_b = 0, baits = 0, conv = 0;
        for (int p = 0; p < filled; p++) {
            int it = r[p].item;
            double disc = 1.0 / log2(p + 2.0);
            if (h->clicked[user * N_ITEMS + it]) hits_c++, dcg_c += disc;
            if (h->bought[user * N_ITEMS + it]) hits_b++, dcg_b += disc;
            baits += h->truth.item_bait[it] != 0;
            conv += (float)(synth_world_p_click(&h->truth, user, it, h->truth.default_position,
                                                h->truth.default_scenario) *
                            synth_world_p_conv(&h->truth, user, it));
        }
        for (int p = 0; p < KS[k] && p < n_c; p++) idcg_c += 1.0 / log2(p + 2.0);
        for (int p = 0; p < KS[k] && p < n_b; p++) idcg_b += 1.0 / log2(p + 2.0);
        hm->recall_c[k] += hits_c / n_c;
        hm->ndcg_c[k] += dcg_c / idcg_c;
        hm->hit[k] += hits_c > 0;
        if (n_b) {
            hm->recall_b[k] += hits_b / n_b;
            hm->ndcg_b[k] += dcg_b / idcg_b;
        }
        hm->bait[k] += baits / filled;
        hm->conv[k] += conv;
    }
}

/* retrieve_user's top k of user equals the hand ranking of scores; slots
 * past the corpus are empty; truth per slot from the world. */
static void check_retrieve(trained *t, const hand_tables *h, int user, const float *scores, int k)
{
    retrieved r;
    dmmp_status s = retrieve_user(&t->m, &t->f, h->d, user, k, &r);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    if (s != DMMP_OK) return;
    ranked all[N_ITEMS];
    for (int i = 0; i < N_ITEMS; i++) all[i] = (ranked){scores[i], i};
    qsort(all, N_ITEMS, sizeof all[0], by_score);
    for (int i = 0; i < k; i++) {
        if (i >= N_ITEMS) {
            CU_ASSERT_EQUAL(r.ids[i], -1);
            continue;
        }
        CU_ASSERT_EQUAL(r.ids[i], all[i].item);
        TU_ASSERT_NEAR(r.scores[i], all[i].score, 1e-6);
        CU_ASSERT(r.has_truth);
        TU_ASSERT_NEAR(r.p_ctr[i], synth_world_p_click(&h->truth, user, all[i].item, h->truth.default_position,
                                                       h->truth.default_scenario), 1e-6);
        TU_ASSERT_NEAR(r.p_cvr[i], synth_world_p_conv(&h->truth, user, all[i].item), 1e-6);
        CU_ASSERT_EQUAL(r.bait[i], h->truth.item_bait[all[i].item]);
    }
    CU_ASSERT_EQUAL(r.has_gate, t->m.learned_gate);
    if (r.has_gate) TU_ASSERT_NEAR(r.gate[0] + r.gate[1], 1.0, 1e-6);
    retrieved_free(&r);
    CU_ASSERT_NOT_EQUAL(retrieve_user(&t->m, &t->f, h->d, N_USERS, k, &r), DMMP_OK); /* no such user */
}

static void hand_compare(const hand_metrics *hm, const eval_metrics *got)
{
    /* Same float scores and the same order on both sides: only the
     * summation order of the means differs. */
    const double tol = 1e-9;
    for (int k = 0; k < 3; k++) {
        char name[64];
        double u = (double)hm->users, b = (double)hm->buyers;
#define CHECK(fmt, value)                                           \
    do {                                                            \
        snprintf(name, sizeof name, fmt, KS[k]);                    \
        TU_ASSERT_NEAR(eval_metric_value(got, name), value, tol);   \
    } while (0)
        CHECK("click_recall@%d", hm->recall_c[k] / u);
        CHECK("click_ndcg@%d", hm->ndcg_c[k] / u);
        CHECK("hitrate@%d", hm->hit[k] / u);
        CHECK("purchase_recall@%d", hm->recall_b[k] / b);
        CHECK("purchase_ndcg@%d", hm->ndcg_b[k] / b);
        CHECK("clickbait@%d", hm->bait[k] / u);
        TU_ASSERT_NEAR(eval_metric_value(got, (snprintf(name, sizeof name, "exp_conversions@%d", KS[k]), name)),
                       hm->conv[k] / u, 1e-6); /* per-rank floats summed in another order */
#undef CHECK
    }
    CU_ASSERT(hm->users > 20 && hm->buyers > 5); /* the world is big enough to mean something */
}

float dot_fma(const float *q, const float *x, int dim)
{
    float s = q[0] * x[0];
    for (int j = 1; j < dim; j++) s = fmaf(q[j], x[j], s);
    return s;
}

static void check_towers(config_model_kind kind)
{
    world w;
    trained t;
    hand_tables h;
    if (!world_open(&w)) return;
    if (!eval_train(&t, w.d, kind) || !tables_open(&h, w.d)) {
        world_close(&w);
        return;
    }
    eval_metrics got;
    eval_metrics_init(&got);
    dmmp_status s = eval_retrieval(&t.m, &t.f, w.d, SPLIT_TEST, &t.cfg.eval, &got);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    int dim = model_retrieval_dim(&t.m);
    CU_ASSERT_EQUAL(dim, kind == CONFIG_MODEL_TWO_TOWER ? 8 : 16);
    float *items = malloc(sizeof(float) * N_ITEMS * (size_t)dim), *q = malloc(sizeof(float) * (size_t)dim);
    float scores[N_ITEMS];
    batch one;
    CU_ASSERT_EQUAL_FATAL(batch_alloc(w.d, &one, 1), DMMP_OK);
    for (int i = 0; i < N_ITEMS; i++) {
        fill_row(&h, &one, -1, i);
        CU_ASSERT_EQUAL_FATAL(features_forward(&t.f, &one), DMMP_OK);
        CU_ASSERT_EQUAL_FATAL(model_item_vectors(&t.m, t.f.view[VIEW_ITEM].x, 1, items + (size_t)i * dim), DMMP_OK);
    }
    hand_metrics hm;
    memset(&hm, 0, sizeof hm);
    for (int u = 0; u < N_USERS; u++) {
        int any = 0;
        for (int i = 0; i < N_ITEMS; i++) any |= h.clicked[u * N_ITEMS + i];
        if (!any) continue;
        fill_row(&h, &one, u, -1);
        CU_ASSERT_EQUAL_FATAL(features_forward(&t.f, &one), DMMP_OK);
        CU_ASSERT_EQUAL_FATAL(model_user_query(&t.m, t.f.view[VIEW_USER].x, 1, q), DMMP_OK);
        for (int i = 0; i < N_ITEMS; i++) scores[i] = dot_fma(q, items + (size_t)i * dim, dim);
        hand_add_user(&h, &hm, u, scores);
        if (hm.users == 1) check_retrieve(&t, &h, u, scores, 7);
        if (hm.users == 2) check_retrieve(&t, &h, u, scores, N_ITEMS + 3);
    }
    hand_compare(&hm, &got);
    batch_free(&one);
    free(items);
    free(q);
    eval_metrics_free(&got);
    tables_close(&h);
    trained_free(&t);
    world_close(&w);
}

static void test_retrieval_two_tower(void) { check_towers(CONFIG_MODEL_TWO_TOWER); }
static void test_retrieval_three_tower(void) { check_towers(CONFIG_MODEL_THREE_TOWER); }
static void test_retrieval_dmmp(void) { check_towers(CONFIG_MODEL_DMMP); }

/* The teacher's score of one pair through a one-row forward. */
static float direct_teacher_score(trained *t, const hand_tables *h, batch *one, int user, int item)
{
    fill_row(h, one, user, item);
    float pc = NAN, pctcvr = NAN;
    if (features_forward(&t->f, one) == DMMP_OK &&
        model_forward(&t->m, t->f.view[VIEW_TEACHER].x, NULL, NULL, 1) == DMMP_OK)
        model_teacher_predictions(&t->m, 1, &pc, NULL, &pctcvr);
    double lambda = t->cfg.fuse.conversion_weight;
    return (float)((1 - lambda) * pc + lambda * pctcvr);
}

static void test_teacher_pair_scores(void)
{
    world w;
    trained t;
    hand_tables h;
    if (!world_open(&w)) return;
    if (!eval_train(&t, w.d, CONFIG_MODEL_TEACHER_ONLY) || !tables_open(&h, w.d)) {
        world_close(&w);
        return;
    }
    batch queries, corpus, one;
    teacher_scorer sc;
    CU_ASSERT_EQUAL_FATAL(batch_query_rows(w.d, SPLIT_TEST, &queries), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(batch_item_corpus(w.d, &corpus), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(batch_alloc(w.d, &one, 1), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(teacher_scorer_init(&sc, &t.m, &t.f, w.d), DMMP_OK);
    float scores[N_ITEMS];
    const int64_t qs[3] = {0, queries.n / 2, queries.n - 1};
    const int its[4] = {0, 7, 41, N_ITEMS - 1};
    double spread = 0;
    for (int a = 0; a < 3; a++) {
        CU_ASSERT_EQUAL_FATAL(teacher_score_corpus(&sc, &queries, qs[a], &corpus, scores), DMMP_OK);
        for (int b = 0; b < 4; b++) {
            float direct = direct_teacher_score(&t, &h, &one, queries.user[qs[a]], its[b]);
            /* one-row vs batched forward: float rounding of the matmuls only */
            TU_ASSERT_NEAR(scores[its[b]], direct, 1e-5);
            spread += fabs(scores[its[b]] - scores[its[0]]);
        }
    }
    CU_ASSERT(spread > 1e-3); /* the pairs really differ */
    teacher_scorer_free(&sc);
    batch_free(&queries);
    batch_free(&corpus);
    batch_free(&one);
    tables_close(&h);
    trained_free(&t);
    world_close(&w);
}

/* teacher_only retrieval: the metrics of the corpus scores ranked by hand. */
static void test_retrieval_teacher_only(void)
{
    world w;
    trained t;
    hand_tables h;
    if (!world_open(&w)) return;
    if (!eval_train(&t, w.d, CONFIG_MODEL_TEACHER_ONLY) || !tables_open(&h, w.d)) {
        world_close(&w);
        return;
    }
    eval_metrics got;
    eval_metrics_init(&got);
    dmmp_status s = eval_retrieval(&t.m, &t.f, w.d, SPLIT_TEST, &t.cfg.eval, &got);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    batch queries, corpus;
    teacher_scorer sc;
    CU_ASSERT_EQUAL_FATAL(batch_query_rows(w.d, SPLIT_TEST, &queries), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(batch_item_corpus(w.d, &corpus), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(teacher_scorer_init(&sc, &t.m, &t.f, w.d), DMMP_OK);
    hand_metrics hm;
    memset(&hm, 0, sizeof hm);
    float scores[N_ITEMS];
    for (int q = 0; q < queries.n; q++) {
        int u = queries.user[q], any = 0;
        for (int i = 0; i < N_ITEMS; i++) any |= h.clicked[u * N_ITEMS + i];
        if (!any) continue;
        CU_ASSERT_EQUAL_FATAL(teacher_score_corpus(&sc, &queries, q, &corpus, scores), DMMP_OK);
        hand_add_user(&h, &hm, u, scores);
        if (hm.users == 1) check_retrieve(&t, &h, u, scores, 7);
    }
    hand_compare(&hm, &got);
    teacher_scorer_free(&sc);
    batch_free(&queries);
    batch_free(&corpus);
    eval_metrics_free(&got);
    tables_close(&h);
    trained_free(&t);
    world_close(&w);
}

/* Hand-made rankings: baits first (bait_first = 1) or last, then by item id. */
typedef struct bait_ranking {
    const uint8_t *bait;
    int bait_first;
} bait_ranking;

static dmmp_status bait_scores(void *ctx, const batch *queries, int64_t q, const batch *corpus, float *scores)
{
    const bait_ranking *br = ctx;
    (void)queries;
    (void)q;
    for (int i = 0; i < corpus->n; i++)
        scores[i] = (br->bait[i] ? (br->bait_first ? 2.0f : 0.0f) : 1.0f) - 1e-3f * (float)i;
    return DMMP_OK;
}

static void test_clickbait_order(void)
{
    world w;
    hand_tables h;
    if (!world_open(&w)) return;
    if (!tables_open(&h, w.d)) {
        world_close(&w);
        return;
    }
    int n_baits = 0;
    for (int i = 0; i < N_ITEMS; i++) n_baits += h.truth.item_bait[i] != 0;
    CU_ASSERT(n_baits >= 5 && n_baits < N_ITEMS - 20);
    dmmp_config cfg;
    eval_small_config(&cfg, CONFIG_MODEL_DMMP);
    eval_metrics first, last;
    eval_metrics_init(&first);
    eval_metrics_init(&last);
    bait_ranking bf = {h.truth.item_bait, 1}, bl = {h.truth.item_bait, 0};
    CU_ASSERT_EQUAL(eval_retrieval_scores(w.d, SPLIT_TEST, &cfg.eval, 0, bait_scores, &bf, &first), DMMP_OK);
    CU_ASSERT_EQUAL(eval_retrieval_scores(w.d, SPLIT_TEST, &cfg.eval, 0, bait_scores, &bl, &last), DMMP_OK);
    for (int k = 0; k < 3; k++) {
        char name[64];
        snprintf(name, sizeof name, "clickbait@%d", KS[k]);
        double f = eval_metric_value(&first, name), l = eval_metric_value(&last, name);
        int filled = KS[k] < N_ITEMS ? KS[k] : N_ITEMS;
        /* by hand: the first min(K, baits) slots are baits, or the last ones */
        TU_ASSERT_NEAR(f, (double)(n_baits < filled ? n_baits : filled) / filled, 1e-12);
        int tail = filled - (N_ITEMS - n_baits);
        TU_ASSERT_NEAR(l, (double)(tail > 0 ? tail : 0) / filled, 1e-12);
        if (filled < N_ITEMS) CU_ASSERT(f > l);
    }
    eval_metrics_free(&first);
    eval_metrics_free(&last);
    tables_close(&h);
    world_close(&w);
}

static void test_user_sample(void)
{
    world w;
    hand_tables h;
    if (!world_open(&w)) return;
    if (!tables_open(&h, w.d)) {
        world_close(&w);
        return;
    }
    relevance_sets rel;
    batch queries;
    CU_ASSERT_EQUAL_FATAL(relevance_build(&rel, w.d, SPLIT_TEST, 100), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(batch_query_rows(w.d, SPLIT_TEST, &queries), DMMP_OK);
    /* relevant sets equal the labels read directly */
    for (int u = 0; u < N_USERS; u++) {
        int64_t nc, nb, pos = 0;
        const int32_t *c = relevance_clicked(&rel, u, &nc);
        const int32_t *b = relevance_bought(&rel, u, &nb);
        int hand_c = 0, hand_b = 0;
        for (int i = 0; i < N_ITEMS; i++) {
            if (h.clicked[u * N_ITEMS + i]) {
                hand_c++;
                CU_ASSERT(pos < nc && c[pos] == i);
                pos++;
            }
            hand_b += h.bought[u * N_ITEMS + i];
        }
        CU_ASSERT_EQUAL(nc, hand_c);
        CU_ASSERT_EQUAL(nb, hand_b);
        for (int64_t p = 0; p < nb; p++) CU_ASSERT(h.bought[u * N_ITEMS + b[p]] && (p == 0 || b[p] > b[p - 1]));
    }
    int64_t *all = NULL, *s1 = NULL, *s2 = NULL, n_all = 0, n1 = 0, n2 = 0;
    CU_ASSERT_EQUAL(retrieval_select_users(&rel, &queries, 0, &all, &n_all), DMMP_OK);
    CU_ASSERT_EQUAL(retrieval_select_users(&rel, &queries, 10, &s1, &n1), DMMP_OK);
    CU_ASSERT_EQUAL(retrieval_select_users(&rel, &queries, 10, &s2, &n2), DMMP_OK);
    int eligible = 0;
    for (int u = 0; u < N_USERS; u++) {
        int any = 0;
        for (int i = 0; i < N_ITEMS; i++) any |= h.clicked[u * N_ITEMS + i];
        eligible += any;
    }
    CU_ASSERT_EQUAL(n_all, eligible);
    CU_ASSERT_EQUAL(n1, 10);
    CU_ASSERT_EQUAL(n2, 10);
    CU_ASSERT(n1 == n2 && memcmp(s1, s2, sizeof(int64_t) * (size_t)n1) == 0);
    for (int64_t i = 0; i < n1; i++) {
        int u = queries.user[s1[i]], any = 0;
        for (int it = 0; it < N_ITEMS; it++) any |= h.clicked[u * N_ITEMS + it];
        CU_ASSERT(any);
        if (i > 0) CU_ASSERT(s1[i] > s1[i - 1]);
    }
    free(all);
    free(s1);
    free(s2);
    batch_free(&queries);
    relevance_free(&rel);
    tables_close(&h);
    world_close(&w);
}

/* Scores corpus row r by minus its item index: items ranked 1, 2, 3, ... */
static dmmp_status lowest_item_first(void *ctx, const batch *queries, int64_t q, const batch *corpus, float *scores)
{
    (void)ctx;
    (void)queries;
    (void)q;
    for (int r = 0; r < corpus->n; r++) scores[r] = corpus->item[r] == 0 ? 1.0f : -(float)corpus->item[r];
    return DMMP_OK;
}

static void put_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

/* Imported data: index 0 of users and items is the unknown one (ids unseen in
 * training). It is no query, no corpus item, in no relevant set, no GAUC group. */
static void test_unknown_entities(void)
{
    char dir[512], tr[600], te[600], out[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(tr, sizeof tr, "%s/train.csv", dir);
    snprintf(te, sizeof te, "%s/test.csv", dir);
    snprintf(out, sizeof out, "%s/u.h5", dir);
    /* Users 7 -> 1, 9 -> 2; items 50 -> 1, 51 -> 2, 52 -> 3 (training order). In
     * test, user 7 clicks item 51 and the unseen item 99; the unseen user 8
     * clicks item 50; user 9 clicks nothing. */
    put_text(tr, "click,purchase,101,205,206\n1,0,7,50,3\n0,0,9,51,4\n1,1,7,52,3\n");
    put_text(te, "click,purchase,101,205,206\n1,0,7,51,4\n1,1,7,99,5\n1,0,8,50,3\n0,0,9,52,3\n");
    import_options opt;
    import_options_default(&opt);
    opt.out = out;
    opt.progress = 0;
    opt.val_fraction = 0;
    import_report rep;
    dmmp_status s = import_aliccp_csv(tr, NULL, te, &opt, &rep);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    if (s != DMMP_OK) return;
    dataset *d;
    CU_ASSERT_FATAL(dataset_open(&d, out) == DMMP_OK);
    int32_t fu = -1, fi = -1;
    CU_ASSERT(dataset_first_entity(d, SIDE_USER, &fu) == DMMP_OK && fu == 1);
    CU_ASSERT(dataset_first_entity(d, SIDE_ITEM, &fi) == DMMP_OK && fi == 1);
    CU_ASSERT_FATAL(dataset_n_users(d) == 3 && dataset_n_items(d) == 4);
    batch corpus, queries;
    CU_ASSERT_FATAL(batch_item_corpus(d, &corpus) == DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(corpus.n, 3);
    CU_ASSERT_EQUAL_FATAL(corpus.side[SIDE_ITEM].n_fields, 2);
    /* Row r is item r + 1 with its own ids (item id, category). */
    static const int32_t want_ids[3][2] = {{1, 1}, {2, 2}, {3, 1}};
    for (int r = 0; r < 3; r++) {
        CU_ASSERT_EQUAL(corpus.item[r], r + 1);
        CU_ASSERT(!memcmp(corpus.side[SIDE_ITEM].ids + 2 * r, want_ids[r], sizeof want_ids[r]));
    }
    CU_ASSERT_FATAL(batch_query_rows(d, SPLIT_TEST, &queries) == DMMP_OK);
    CU_ASSERT_FATAL(queries.n == 2);
    CU_ASSERT(queries.user[0] == 1 && queries.user[1] == 2);
    relevance_sets rel;
    CU_ASSERT_FATAL(relevance_build(&rel, d, SPLIT_TEST, 16) == DMMP_OK);
    int64_t n0, n1, nb1;
    relevance_clicked(&rel, 0, &n0);
    const int32_t *c1 = relevance_clicked(&rel, 1, &n1);
    relevance_bought(&rel, 1, &nb1);
    CU_ASSERT_EQUAL(n0, 0);
    CU_ASSERT(n1 == 1 && c1[0] == 2);
    CU_ASSERT_EQUAL(nb1, 0); /* the purchase was of the unknown item */
    /* Ranking 1, 2, 3 (item 0 would be first if it were in the corpus): user 1
     * alone has a known click, item 2: recall@1 0, recall@2 1, no purchase metric. */
    config_eval ce;
    memset(&ce, 0, sizeof ce);
    ce.topk.n = 2;
    ce.topk.v[0] = 1;
    ce.topk.v[1] = 2;
    eval_metrics m;
    eval_metrics_init(&m);
    CU_ASSERT_FATAL(eval_retrieval_scores(d, SPLIT_TEST, &ce, 0, lowest_item_first, NULL, &m) == DMMP_OK);
    double v = -1;
    CU_ASSERT(eval_metrics_get(&m, "click_recall@1", &v) && v == 0.0);
    CU_ASSERT(eval_metrics_get(&m, "click_recall@2", &v) && v == 1.0);
    CU_ASSERT(eval_metrics_get(&m, "hitrate@2", &v) && v == 1.0);
    CU_ASSERT(!eval_metrics_get(&m, "purchase_recall@2", &v));
    eval_metrics_free(&m);
    /* GAUC: user 0 ranks its pair wrongly, users 1 and 2 rightly. Without the
     * unknown user, (2 * 1 + 2 * 1) / 4 = 1; with it, it would be 4 / 6. */
    static const float p[6] = {0.1f, 0.9f, 0.8f, 0.2f, 0.7f, 0.3f};
    static const uint8_t click[6] = {1, 0, 1, 0, 1, 0}, conv[6] = {0};
    static const int32_t user[6] = {0, 0, 1, 1, 2, 2};
    eval_metrics_init(&m);
    CU_ASSERT_FATAL(eval_ranking_metrics(p, NULL, NULL, click, conv, user, 1, 6, "", &m) == DMMP_OK);
    CU_ASSERT(eval_metrics_get(&m, "gauc_ctr", &v) && fabs(v - 1.0) < 1e-12);
    CU_ASSERT(eval_metrics_get(&m, "auc_ctr", &v) && fabs(v - 4.0 / 9.0) < 1e-12); /* every impression: 4 of 9 pairs in order */
    eval_metrics_free(&m);
    eval_metrics_init(&m);
    CU_ASSERT_FATAL(eval_ranking_metrics(p, NULL, NULL, click, conv, user, 0, 6, "", &m) == DMMP_OK);
    CU_ASSERT(eval_metrics_get(&m, "gauc_ctr", &v) && fabs(v - 4.0 / 6.0) < 1e-12);
    eval_metrics_free(&m);
    relevance_free(&rel);
    batch_free(&queries);
    batch_free(&corpus);
    dataset_close(d);
    unlink(out);
    unlink(tr);
    unlink(te);
    rmdir(dir);
}

/* A dataset with an item-side multi-valued field ("tags"): the corpus gives
 * each item the bag of its first training sample, so the item tower sees at
 * retrieval exactly what it saw in training. */
static void test_item_bags(void)
{
    char dir[512], out[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/bags.h5", dir);
    dataset_field fields[3] = {{"user_id", SIDE_USER, 0, 3}, {"item_id", SIDE_ITEM, 0, 4}, {"tags", SIDE_ITEM, 1, 6}};
    dataset_schema schema = {3, fields, 0, NULL};
    /* Rows: the first training sample of item 1 has tags {2: 1, 3: 0.5}; a
     * val row (ignored) and a later training row (ignored) give it others;
     * item 2's first training sample follows its val row; item 3 is only in test. */
    static const uint8_t click[5] = {1, 0, 1, 0, 1}, conv[5] = {0}, split[5] = {0, 1, 0, 0, 2};
    static const int32_t user[5] = {1, 1, 2, 2, 1}, item[5] = {1, 2, 2, 1, 3};
    static const int32_t sparse[5 * 2] = {1, 1, 1, 2, 2, 2, 2, 1, 1, 3};
    static const int64_t off[6] = {0, 2, 3, 4, 5, 6};
    static const int32_t idx[6] = {2, 3, 5, 1, 4, 5};
    static const float wt[6] = {1.0f, 0.5f, 1.0f, 2.0f, 1.0f, 1.0f};
    const int64_t *offs[1] = {off};
    const int32_t *idxs[1] = {idx};
    const float *wts[1] = {wt};
    dataset_rows rows = {5, click, conv, split, user, item, sparse, offs, idxs, wts, NULL};
    static const int32_t items_table[4] = {0, 1, 2, 3}, users_table[3] = {0, 1, 2};
    dataset_writer *w = NULL;
    dmmp_status s = dataset_writer_open(&w, out, &schema, "bags", "test");
    if (s == DMMP_OK) s = dataset_writer_append(w, &rows);
    if (s == DMMP_OK) s = dataset_writer_write_items(w, 4, items_table);
    if (s == DMMP_OK) s = dataset_writer_write_users(w, 3, users_table);
    if (s == DMMP_OK) s = dataset_writer_commit(w);
    else dataset_writer_abort(w);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    if (s != DMMP_OK) return;
    dataset *d;
    CU_ASSERT_FATAL(dataset_open(&d, out) == DMMP_OK);
    batch corpus;
    CU_ASSERT_FATAL(batch_item_corpus(d, &corpus) == DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(corpus.n, 3);
    CU_ASSERT_EQUAL_FATAL(corpus.n_multi, 1);
    const batch_multi *bm = &corpus.multi[0];
    static const int64_t want_off[4] = {0, 2, 3, 3};
    static const int32_t want_idx[3] = {2, 3, 1};
    static const float want_wt[3] = {1.0f, 0.5f, 2.0f};
    CU_ASSERT_FATAL(!memcmp(bm->offsets, want_off, sizeof want_off));
    CU_ASSERT(!memcmp(bm->indices, want_idx, sizeof want_idx));
    CU_ASSERT(!memcmp(bm->weights, want_wt, sizeof want_wt));
    /* The item view of a training sample = the item view of its corpus row. */
    features f;
    features_config fc;
    memset(&fc, 0, sizeof fc);
    fc.dim = 4;
    fc.pool = POOL_SUM;
    fc.student = 1;
    fc.max_batch = 8;
    fc.init_stddev = 0.5f;
    fc.optimizer = SPARSE_OPT_ADAGRAD;
    fc.opt = sparse_opt_config_default(SPARSE_OPT_ADAGRAD);
    CU_ASSERT_FATAL(features_init(&f, dataset_get_schema(d), &fc, 3) == DMMP_OK);
    int width = f.view[VIEW_ITEM].width;
    CU_ASSERT_EQUAL_FATAL(width, 2 * 4);
    float corpus_x[3 * 8];
    CU_ASSERT_FATAL(features_forward_view(&f, &corpus, VIEW_ITEM) == DMMP_OK);
    memcpy(corpus_x, f.view[VIEW_ITEM].x, sizeof corpus_x);
    batcher *bt = NULL;
    const batch *b = NULL;
    CU_ASSERT_FATAL(batcher_open(&bt, d, SPLIT_TRAIN, 8, 0, 0) == DMMP_OK);
    CU_ASSERT_FATAL(batcher_next(bt, &b) == DMMP_OK && b && b->n == 3);
    CU_ASSERT_FATAL(features_forward_view(&f, b, VIEW_ITEM) == DMMP_OK);
    int checked = 0;
    for (int i = 0; i < b->n; i++) {
        if (b->row[i] != 0 && b->row[i] != 2) continue; /* the first training samples of items 1 and 2 */
        const float *xt = f.view[VIEW_ITEM].x + (size_t)i * width, *xc = corpus_x + (size_t)(b->item[i] - 1) * width;
        double diff = 0, norm = 0;
        for (int j = 0; j < width; j++) {
            diff += fabs((double)xt[j] - xc[j]);
            norm += fabs((double)xt[j]);
        }
        TU_ASSERT_MSG(diff < 1e-6 && norm > 0, "row %lld: |training - corpus| = %g", (long long)b->row[i], diff);
        checked++;
    }
    CU_ASSERT_EQUAL(checked, 2);
    batcher_close(bt);
    features_free(&f);
    batch_free(&corpus);
    dataset_close(d);
    unlink(out);
    rmdir(dir);
}

int add_retrieval_eval_suite(void)
{
    static const char *const names[] = {"two_tower = brute force",  "three_tower = brute force",
                                        "dmmp = brute force",       "teacher_only = brute force",
                                        "teacher scores = direct forward", "clickbait: baits first > last",
                                        "relevant sets; user sample fixed and a subset",
                                        "imported data: the unknown user and item are in no query, corpus or metric",
                                        "item-side bags in the corpus = those of training"};
    static const CU_TestFunc tests[] = {test_retrieval_two_tower, test_retrieval_three_tower, test_retrieval_dmmp,
                                        test_retrieval_teacher_only, test_teacher_pair_scores, test_clickbait_order,
                                        test_user_sample, test_unknown_entities, test_item_bags};
    return tu_add_suite("eval_retrieval_corpus", names, tests, sizeof tests / sizeof tests[0]);
}
