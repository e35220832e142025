/* data_synth: the synthetic world is reproducible, has the rates and the
 * click-bait structure it promises, and its stored truth can be recomputed. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/dataset.h"
#include "data/synth.h"
#include "data/synth_truth.h"
#include "suites.h"
#include "testutil.h"

#define T_USERS 2000
#define T_ITEMS 500
#define T_IMPR 60000

static void small_config(synth_config *c, uint64_t seed)
{
    synth_config_default(c);
    c->n_users = T_USERS;
    c->n_items = T_ITEMS;
    c->n_impressions = T_IMPR;
    c->seed = seed;
    c->chunk_rows = 4096;
}

static unsigned char *slurp(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)*len + 1);
    if (buf && fread(buf, 1, (size_t)*len, f) != (size_t)*len) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static void test_reproducible_bytes(void)
{
    char dir[512], a[600], b[600], c2[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(a, sizeof a, "%s/a.h5", dir);
    snprintf(b, sizeof b, "%s/b.h5", dir);
    snprintf(c2, sizeof c2, "%s/c.h5", dir);
    synth_config c;
    small_config(&c, 5);
    int threads = omp_get_max_threads();
    /* One thread, then two: the sub-block streams make the bytes independent of it. */
    omp_set_num_threads(1);
    CU_ASSERT_EQUAL(synth_generate(&c, a, NULL), DMMP_OK);
    omp_set_num_threads(2);
    CU_ASSERT_EQUAL(synth_generate(&c, b, NULL), DMMP_OK);
    omp_set_num_threads(threads);
    c.seed = 6;
    CU_ASSERT_EQUAL(synth_generate(&c, c2, NULL), DMMP_OK);
    long la = 0, lb = 0, lc = 0;
    unsigned char *fa = slurp(a, &la), *fb = slurp(b, &lb), *fc = slurp(c2, &lc);
    CU_ASSERT_PTR_NOT_NULL(fa);
    CU_ASSERT_PTR_NOT_NULL(fb);
    TU_ASSERT_MSG(fa && fb && la == lb && memcmp(fa, fb, (size_t)la) == 0, "same seed gave different bytes (%ld vs %ld)",
                  la, lb);
    CU_ASSERT(fa && fc && (la != lc || memcmp(fa, fc, (size_t)la) != 0));
    free(fa);
    free(fb);
    free(fc);
    unlink(a);
    unlink(b);
    unlink(c2);
    rmdir(dir);
}

/* Exact AUC with ties counted half (sort by score, average ranks). */
static int cmp_pair(const void *x, const void *y)
{
    const float *p = x, *q = y;
    return (p[0] > q[0]) - (p[0] < q[0]);
}

static double auc(const float *score, const uint8_t *label, int64_t n)
{
    float *pairs = malloc((size_t)n * 2 * sizeof *pairs);
    for (int64_t i = 0; i < n; i++) {
        pairs[2 * i] = score[i];
        pairs[2 * i + 1] = label[i];
    }
    qsort(pairs, (size_t)n, 2 * sizeof(float), cmp_pair);
    double rank_sum = 0, pos = 0;
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j < n && pairs[2 * j] == pairs[2 * i]) j++;
        double avg = (double)(i + j + 1) / 2.0; /* ranks i+1..j */
        for (int64_t k = i; k < j; k++)
            if (pairs[2 * k + 1] > 0.5) rank_sum += avg, pos++;
        i = j;
    }
    free(pairs);
    double neg = (double)n - pos;
    return (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg);
}

typedef struct synth_fixture {
    char dir[512], path[600];
    dataset *d;
    synth_world w;
    dataset_block b;
    float *p_click, *p_conv;
} synth_fixture;

static int fixture_open(synth_fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    tu_tmpdir(fx->dir, sizeof fx->dir);
    snprintf(fx->path, sizeof fx->path, "%s/s.h5", fx->dir);
    synth_config c;
    small_config(&c, 9);
    dmmp_status s = synth_generate(&c, fx->path, NULL);
    if (s == DMMP_OK) s = dataset_open(&fx->d, fx->path);
    if (s == DMMP_OK) s = synth_world_load(&fx->w, fx->d);
    if (s == DMMP_OK) s = dataset_read_block(fx->d, 0, T_IMPR, &fx->b);
    fx->p_click = malloc(T_IMPR * sizeof(float));
    fx->p_conv = malloc(T_IMPR * sizeof(float));
    if (s == DMMP_OK) s = dataset_read_f32(fx->d, "/truth/p_click", 0, T_IMPR, fx->p_click);
    if (s == DMMP_OK) s = dataset_read_f32(fx->d, "/truth/p_conv", 0, T_IMPR, fx->p_conv);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    return s == DMMP_OK;
}

static void fixture_close(synth_fixture *fx)
{
    dataset_block_free(&fx->b);
    synth_world_free(&fx->w);
    dataset_close(fx->d);
    free(fx->p_click);
    free(fx->p_conv);
    unlink(fx->path);
    rmdir(fx->dir);
}

static void test_rates_and_signal(void)
{
    synth_fixture fx;
    if (!fixture_open(&fx)) goto out;
    int64_t clicks = 0, convs = 0, split[3] = {0};
    uint8_t *ctcvr = malloc(T_IMPR);
    float *p_ctcvr = malloc(T_IMPR * sizeof(float));
    for (int64_t i = 0; i < T_IMPR; i++) {
        clicks += fx.b.click[i];
        convs += fx.b.conversion[i];
        split[fx.b.split[i]]++;
        ctcvr[i] = fx.b.conversion[i];
        p_ctcvr[i] = fx.p_click[i] * fx.p_conv[i];
    }
    double ctr = (double)clicks / T_IMPR, cvr = (double)convs / (double)clicks;
    /* The design targets (the default world gives CTR 0.057, CVR 0.17). */
    TU_ASSERT_MSG(ctr > 0.03 && ctr < 0.08, "CTR %.4f", ctr);
    TU_ASSERT_MSG(cvr > 0.10 && cvr < 0.25, "CVR given click %.4f", cvr);
    /* Splits 80/10/10: binomial sd of the train count is sqrt(n 0.8 0.2) = 98, so 5 sd = 490. */
    TU_ASSERT_MSG(llabs(split[0] - 48000) < 490 && llabs(split[1] - 6000) < 400, "splits %lld %lld %lld",
                  (long long)split[0], (long long)split[1], (long long)split[2]);
    int64_t baits = 0;
    for (int64_t i = 0; i < T_ITEMS; i++) baits += fx.w.item_bait[i];
    CU_ASSERT_EQUAL(baits, 75); /* exactly round(0.15 * 500) */
    /* Enough signal to learn: the true probabilities rank the labels well. */
    double auc_ctr = auc(fx.p_click, fx.b.click, T_IMPR), auc_ctcvr = auc(p_ctcvr, ctcvr, T_IMPR);
    TU_ASSERT_MSG(auc_ctr > 0.70 && auc_ctcvr > 0.75, "oracle AUC: CTR %.3f, CTCVR %.3f", auc_ctr, auc_ctcvr);
    free(ctcvr);
    free(p_ctcvr);
out:
    fixture_close(&fx);
}

static void test_baits_click_but_do_not_convert(void)
{
    synth_fixture fx;
    if (!fixture_open(&fx)) goto out;
    /* Mean true pCTR / pCVR of bait and other items over 200 users, default context. */
    double sum_c[2] = {0}, sum_v[2] = {0}, cnt[2] = {0};
    float *pc = malloc(T_ITEMS * sizeof(float)), *pv = malloc(T_ITEMS * sizeof(float));
    for (int64_t u = 0; u < 200; u++) {
        synth_world_user_scores(&fx.w, u * 7, pc, pv);
        for (int64_t i = 0; i < T_ITEMS; i++) {
            int k = fx.w.item_bait[i];
            sum_c[k] += pc[i];
            sum_v[k] += pv[i];
            cnt[k]++;
        }
    }
    double ctr_bait = sum_c[1] / cnt[1], ctr_other = sum_c[0] / cnt[0];
    double cvr_bait = sum_v[1] / cnt[1], cvr_other = sum_v[0] / cnt[0];
    TU_ASSERT_MSG(ctr_bait > 1.5 * ctr_other, "pCTR bait %.4f vs other %.4f", ctr_bait, ctr_other);
    TU_ASSERT_MSG(cvr_bait < 0.5 * cvr_other, "pCVR bait %.4f vs other %.4f", cvr_bait, cvr_other);
    /* The same holds on the impressions, from the labels alone. */
    int64_t im[2] = {0}, cl[2] = {0}, cv[2] = {0};
    for (int64_t r = 0; r < T_IMPR; r++) {
        int k = fx.w.item_bait[fx.b.item[r]];
        im[k]++;
        cl[k] += fx.b.click[r];
        cv[k] += fx.b.conversion[r];
    }
    CU_ASSERT((double)cl[1] / im[1] > (double)cl[0] / im[0]);
    CU_ASSERT((double)cv[1] / cl[1] < (double)cv[0] / cl[0]);
    free(pc);
    free(pv);
out:
    fixture_close(&fx);
}

static void test_truth_recomputes(void)
{
    synth_fixture fx;
    if (!fixture_open(&fx)) goto out;
    const dataset_schema *sc = dataset_get_schema(fx.d);
    int pos_col = -1, scen_col = -1, item_col = -1, user_col = -1;
    for (int f = 0; f < sc->n_fields; f++) {
        if (!strcmp(sc->fields[f].name, "position")) pos_col = dataset_single_column(fx.d, f);
        if (!strcmp(sc->fields[f].name, "scenario")) scen_col = dataset_single_column(fx.d, f);
        if (!strcmp(sc->fields[f].name, "item_id")) item_col = dataset_single_column(fx.d, f);
        if (!strcmp(sc->fields[f].name, "user_id")) user_col = dataset_single_column(fx.d, f);
    }
    CU_ASSERT_FATAL(pos_col >= 0 && scen_col >= 0 && item_col >= 0 && user_col >= 0);
    int ns = dataset_n_single(fx.d);
    double worst = 0;
    int64_t id_mismatch = 0;
    for (int64_t r = 0; r < T_IMPR; r++) {
        const int32_t *row = fx.b.sparse + r * ns;
        double pc = synth_world_p_click(&fx.w, fx.b.user[r], fx.b.item[r], row[pos_col], row[scen_col]);
        double pv = synth_world_p_conv(&fx.w, fx.b.user[r], fx.b.item[r]);
        double e = fabs(pc - fx.p_click[r]) + fabs(pv - fx.p_conv[r]);
        if (e > worst) worst = e;
        id_mismatch += row[item_col] != fx.b.item[r] + 1 || row[user_col] != fx.b.user[r] + 1;
    }
    /* Stored as float32: the recomputation differs by rounding only (< 2^-24 relative). */
    TU_ASSERT_MSG(worst < 1e-7, "worst |recomputed - stored| = %g", worst);
    CU_ASSERT_EQUAL(id_mismatch, 0);
    /* The per-user tables agree with the samples: /users/multi is the sample's bag. */
    int64_t *off;
    int32_t *idx;
    float *wt;
    int interest = 5;
    CU_ASSERT_STRING_EQUAL(sc->fields[interest].name, "cat_interest");
    CU_ASSERT_EQUAL_FATAL(dataset_read_users_multi(fx.d, interest, &off, &idx, &wt), DMMP_OK);
    int64_t bad = 0;
    for (int64_t r = 0; r < T_IMPR; r += 97) {
        int64_t u = fx.b.user[r], lo = fx.b.multi_offsets[0][r], len = fx.b.multi_offsets[0][r + 1] - lo;
        bad += len != off[u + 1] - off[u] || memcmp(idx + off[u], fx.b.multi_indices[0] + lo, (size_t)len * 4) ||
               memcmp(wt + off[u], fx.b.multi_weights[0] + lo, (size_t)len * 4);
    }
    CU_ASSERT_EQUAL(bad, 0);
    free(off);
    free(idx);
    free(wt);
out:
    fixture_close(&fx);
}

/* Raw ids: user u is "u<u>", item i "i<i>"; the user_id and item_id
 * vocabularies name the same entity as the tables' id columns, so the raw id
 * behind /items/sparse's item_id of item i is /items/raw_id[i]. */
static void test_raw_ids(void)
{
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/raw.h5", dir);
    synth_config c;
    small_config(&c, 5);
    c.n_impressions = 5000;
    CU_ASSERT_FATAL(synth_generate(&c, path, NULL) == DMMP_OK);
    dataset *d;
    CU_ASSERT_FATAL(dataset_open(&d, path) == DMMP_OK);
    const dataset_schema *sc = dataset_get_schema(d);
    raw_ids users, items, vu, vi, cat;
    CU_ASSERT_FATAL(dataset_read_raw_ids(d, RAW_IDS_USERS, 0, &users) == DMMP_OK);
    CU_ASSERT_FATAL(dataset_read_raw_ids(d, RAW_IDS_ITEMS, 0, &items) == DMMP_OK);
    int f_user = -1, f_item = -1, f_cat = -1;
    for (int f = 0; f < sc->n_fields; f++) {
        if (!strcmp(sc->fields[f].name, "user_id")) f_user = f;
        if (!strcmp(sc->fields[f].name, "item_id")) f_item = f;
        if (!strcmp(sc->fields[f].name, "category")) f_cat = f;
    }
    CU_ASSERT_FATAL(f_user >= 0 && f_item >= 0 && f_cat >= 0);
    CU_ASSERT_FATAL(dataset_read_raw_ids(d, RAW_IDS_FIELD, f_user, &vu) == DMMP_OK);
    CU_ASSERT_FATAL(dataset_read_raw_ids(d, RAW_IDS_FIELD, f_item, &vi) == DMMP_OK);
    CU_ASSERT_FATAL(dataset_read_raw_ids(d, RAW_IDS_FIELD, f_cat, &cat) == DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(users.n, T_USERS);
    CU_ASSERT_EQUAL_FATAL(items.n, T_ITEMS);
    CU_ASSERT_EQUAL(vu.n, sc->fields[f_user].vocab_size);
    CU_ASSERT_EQUAL(cat.n, sc->fields[f_cat].vocab_size);
    int ni = dataset_side_fields(d, SIDE_ITEM, NULL), nu = dataset_side_fields(d, SIDE_USER, NULL);
    int32_t *it = malloc(sizeof(int32_t) * T_ITEMS * (size_t)ni), *ut = malloc(sizeof(int32_t) * T_USERS * (size_t)nu);
    CU_ASSERT_FATAL(it && ut);
    CU_ASSERT_FATAL(dataset_read_items(d, it) == DMMP_OK && dataset_read_users(d, ut) == DMMP_OK);
    int bad = 0;
    char a[32], b[32], want[32];
    for (int i = 0; i < T_ITEMS; i++) {
        snprintf(want, sizeof want, "i%d", i);
        bad += strcmp(raw_ids_format(&items, i, a, sizeof a), want) != 0;
        bad += strcmp(raw_ids_format(&vi, it[(size_t)i * (size_t)ni], b, sizeof b), want) != 0;
        snprintf(want, sizeof want, "%d", it[(size_t)i * (size_t)ni + 1]);
        bad += strcmp(raw_ids_format(&cat, it[(size_t)i * (size_t)ni + 1], b, sizeof b), want) != 0;
    }
    for (int u = 0; u < T_USERS; u++) {
        snprintf(want, sizeof want, "u%d", u);
        bad += strcmp(raw_ids_format(&users, u, a, sizeof a), want) != 0;
        bad += strcmp(raw_ids_format(&vu, ut[(size_t)u * (size_t)nu], b, sizeof b), want) != 0;
    }
    TU_ASSERT_MSG(bad == 0, "%d raw ids differ from the u<i>/i<i> rule or from the id columns", bad);
    CU_ASSERT(!strcmp(raw_ids_format(&cat, 0, a, sizeof a), ""));
    free(it);
    free(ut);
    raw_ids_free(&users);
    raw_ids_free(&items);
    raw_ids_free(&vu);
    raw_ids_free(&vi);
    raw_ids_free(&cat);
    dataset_close(d);
    unlink(path);
    rmdir(dir);
}

int register_synth_suites(void)
{
    static const char *const names[] = {
        "same seed same bytes, any thread count",
        "rates, splits, bait share and oracle AUC",
        "baits: higher pCTR, lower pCVR",
        "truth recomputes the stored probabilities",
        "raw ids: u<i>, i<i>, and the id vocabularies agree with the tables",
    };
    static const CU_TestFunc fns[] = {test_reproducible_bytes, test_rates_and_signal,
                                      test_baits_click_but_do_not_convert, test_truth_recomputes,
                                      test_raw_ids};
    return tu_add_suite("data_synth", names, fns, sizeof fns / sizeof fns[0]);
}
