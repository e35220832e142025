/* data_synth_intent: the world with per-user purchase intent. At spread 0
 * the generator writes the world it wrote before intent existed (a content
 * digest recorded from the generator of that time); with a spread the intent
 * is stored under /truth and recomputes the stored probabilities. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/dataset.h"
#include "data/synth.h"
#include "data/synth_truth.h"
#include "eval/personal_utility.h"
#include "eval/rank_stats.h"
#include "retrieval_hand.h"
#include "suites.h"
#include "testutil.h"

/* ---- a content digest of the world's objects -----------------------------
 * FNV-1a over the objects a synthetic dataset held before intent existed
 * (world_objects): each one's name, every attribute (name and value, in name
 * order) and, for a dataset, its values read in the native form of its type.
 * On the root group only the dataset attributes below count (created_with
 * names the program version, not the world). An object another part of the
 * writer adds later does not change the digest; a change to any of these
 * does, and so does a new attribute on one of them (such as an intent
 * parameter on /truth). */

static const char *const world_objects[] = {
    "/fields/multi", "/fields/name", "/fields/side", "/fields/vocab_size", "/items/sparse", "/samples",
    "/samples/click", "/samples/conversion", "/samples/item", "/samples/multi/cat_interest/indices",
    "/samples/multi/cat_interest/offsets", "/samples/multi/cat_interest/weights", "/samples/sparse",
    "/samples/split", "/samples/user", "/truth", "/truth/item_appeal", "/truth/item_bait", "/truth/item_quality",
    "/truth/item_qvec", "/truth/item_taste", "/truth/p_click", "/truth/p_conv", "/truth/position_effect",
    "/truth/scenario_effect", "/truth/user_clickiness", "/truth/user_taste",
    "/users/multi/cat_interest/indices", "/users/multi/cat_interest/offsets",
    "/users/multi/cat_interest/weights", "/users/sparse",
};
static const char *const root_attrs[] = {"format_version", "name", "n_samples", "n_users", "n_items", "source"};

typedef struct digest {
    uint64_t h;
    int failed;
} digest;

static void digest_bytes(digest *d, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        d->h ^= b[i];
        d->h *= 1099511628211ULL;
    }
}

static void digest_str(digest *d, const char *s) { digest_bytes(d, s, strlen(s) + 1); }

static hid_t memory_type(hid_t ftype)
{
    if (H5Tget_class(ftype) == H5T_STRING) return H5Tcopy(ftype);
    return H5Tget_native_type(ftype, H5T_DIR_ASCEND);
}

static void digest_attr_named(digest *d, hid_t loc, const char *name)
{
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) {
        d->failed = 1;
        return;
    }
    hid_t ft = H5Aget_type(a), sp = H5Aget_space(a);
    hid_t mt = memory_type(ft);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    size_t bytes = (size_t)n * H5Tget_size(mt);
    unsigned char *buf = calloc(1, bytes + 1);
    if (!buf || H5Aread(a, mt, buf) < 0) d->failed = 1;
    else {
        digest_str(d, name);
        digest_bytes(d, buf, bytes);
    }
    free(buf);
    H5Tclose(mt);
    H5Tclose(ft);
    H5Sclose(sp);
    H5Aclose(a);
}

static herr_t digest_attr(hid_t loc, const char *name, const H5A_info_t *info, void *data)
{
    (void)info;
    digest_attr_named(data, loc, name);
    return 0;
}

static void digest_object(digest *d, hid_t file, const char *name)
{
    digest_str(d, name);
    hid_t obj = H5Oopen(file, name, H5P_DEFAULT);
    if (obj < 0) {
        d->failed = 1;
        return;
    }
    hsize_t idx = 0;
    H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, digest_attr, d);
    if (H5Iget_type(obj) == H5I_DATASET) {
        hid_t ft = H5Dget_type(obj), sp = H5Dget_space(obj);
        hid_t mt = memory_type(ft);
        hssize_t n = H5Sget_simple_extent_npoints(sp);
        size_t bytes = (size_t)n * H5Tget_size(mt);
        unsigned char *buf = malloc(bytes + 1);
        if (!buf || (n > 0 && H5Dread(obj, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)) d->failed = 1;
        else digest_bytes(d, buf, bytes);
        free(buf);
        H5Tclose(mt);
        H5Tclose(ft);
        H5Sclose(sp);
    }
    H5Oclose(obj);
}

static int file_digest(const char *path, uint64_t *out)
{
    digest d = {14695981039346656037ULL, 0};
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return -1;
    for (size_t i = 0; i < sizeof root_attrs / sizeof root_attrs[0]; i++) digest_attr_named(&d, f, root_attrs[i]);
    for (size_t i = 0; i < sizeof world_objects / sizeof world_objects[0]; i++) digest_object(&d, f, world_objects[i]);
    H5Fclose(f);
    *out = d.h;
    return d.failed ? -1 : 0;
}

static void small_world(synth_config *c, uint64_t seed)
{
    synth_config_default(c);
    c->n_users = 2000;
    c->n_items = 500;
    c->n_impressions = 60000;
    c->seed = seed;
    c->chunk_rows = 4096;
}

/* The digest of small_world(5) and small_world(6) with bait share 0.3, as
 * the generator wrote them before purchase intent existed (commit a81971e). */
#define DIGEST_SEED5 0x9b03b1f00450d473ULL
#define DIGEST_SEED6_BAIT30 0x6e543521672815dfULL

static void test_spread0_is_the_old_world(void)
{
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/w.h5", dir);
    synth_config c;
    small_world(&c, 5);
    uint64_t h = 0;
    CU_ASSERT_EQUAL_FATAL(synth_generate(&c, path, NULL), DMMP_OK);
    CU_ASSERT_EQUAL(file_digest(path, &h), 0);
    TU_ASSERT_MSG(h == DIGEST_SEED5, "digest 0x%016llx, expected 0x%016llx", (unsigned long long)h,
                  (unsigned long long)DIGEST_SEED5);
    small_world(&c, 6);
    c.bait_share = 0.3;
    CU_ASSERT_EQUAL_FATAL(synth_generate(&c, path, NULL), DMMP_OK);
    CU_ASSERT_EQUAL(file_digest(path, &h), 0);
    TU_ASSERT_MSG(h == DIGEST_SEED6_BAIT30, "digest 0x%016llx, expected 0x%016llx", (unsigned long long)h,
                  (unsigned long long)DIGEST_SEED6_BAIT30);
    unlink(path);
    rmdir(dir);
}

/* Average ranks (ties share their mean rank), 1-based. */
static void ranks_of(const double *x, int64_t n, double *rank)
{
    int64_t *order = malloc((size_t)n * sizeof *order);
    for (int64_t i = 0; i < n; i++) order[i] = i;
    /* insertion sort is enough for the few thousand users here */
    for (int64_t i = 1; i < n; i++) {
        int64_t v = order[i], j = i;
        while (j > 0 && x[order[j - 1]] > x[v]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j + 1 < n && x[order[j + 1]] == x[order[i]]) j++;
        for (int64_t k = i; k <= j; k++) rank[order[k]] = 0.5 * (double)(i + j) + 1.0;
        i = j + 1;
    }
    free(order);
}

static double pearson(const double *a, const double *b, int64_t n)
{
    double ma = 0, mb = 0;
    for (int64_t i = 0; i < n; i++) ma += a[i], mb += b[i];
    ma /= (double)n;
    mb /= (double)n;
    double sab = 0, saa = 0, sbb = 0;
    for (int64_t i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / sqrt(saa * sbb);
}

typedef struct intent_fixture {
    char dir[512], path[600], plain[600];
    dataset *d, *d0;
    synth_world w, w0;
    dataset_block b;
    float *p_click, *p_conv;
    int64_t n;
} intent_fixture;

static int intent_open(intent_fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    tu_tmpdir(fx->dir, sizeof fx->dir);
    snprintf(fx->path, sizeof fx->path, "%s/intent.h5", fx->dir);
    snprintf(fx->plain, sizeof fx->plain, "%s/plain.h5", fx->dir);
    synth_config c;
    small_world(&c, 9);
    fx->n = c.n_impressions;
    dmmp_status s = synth_generate(&c, fx->plain, NULL);
    c.intent_spread = 1.0;
    if (s == DMMP_OK) s = synth_generate(&c, fx->path, NULL);
    if (s == DMMP_OK) s = dataset_open(&fx->d, fx->path);
    if (s == DMMP_OK) s = dataset_open(&fx->d0, fx->plain);
    if (s == DMMP_OK) s = synth_world_load(&fx->w, fx->d);
    if (s == DMMP_OK) s = synth_world_load(&fx->w0, fx->d0);
    if (s == DMMP_OK) s = dataset_read_block(fx->d, 0, fx->n, &fx->b);
    fx->p_click = malloc((size_t)fx->n * sizeof(float));
    fx->p_conv = malloc((size_t)fx->n * sizeof(float));
    if (s == DMMP_OK) s = dataset_read_f32(fx->d, "/truth/p_click", 0, fx->n, fx->p_click);
    if (s == DMMP_OK) s = dataset_read_f32(fx->d, "/truth/p_conv", 0, fx->n, fx->p_conv);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    return s == DMMP_OK;
}

static void intent_close(intent_fixture *fx)
{
    dataset_block_free(&fx->b);
    synth_world_free(&fx->w);
    synth_world_free(&fx->w0);
    dataset_close(fx->d);
    dataset_close(fx->d0);
    free(fx->p_click);
    free(fx->p_conv);
    unlink(fx->path);
    unlink(fx->plain);
    rmdir(fx->dir);
}

/* /truth/user_intent is the intent the probabilities were drawn with: with
 * it the stored pCTR and pCVR of every impression recompute to float32
 * rounding, without it they do not; it has the spread asked for; and the
 * rest of the world (tastes, items, the other user fields) is the world
 * without intent of the same seed. */
static void test_intent_in_truth(void)
{
    intent_fixture fx;
    if (!intent_open(&fx)) goto out;
    CU_ASSERT_EQUAL(fx.w.has_intent, 1);
    CU_ASSERT_EQUAL(fx.w0.has_intent, 0);
    TU_ASSERT_NEAR(fx.w.intent_spread, 1.0, 0);
    int64_t nu = fx.w.n_users, ni = fx.w.n_items;
    double mean = 0, var = 0;
    for (int64_t u = 0; u < nu; u++) mean += fx.w.user_intent[u];
    mean /= (double)nu;
    for (int64_t u = 0; u < nu; u++) var += (fx.w.user_intent[u] - mean) * (fx.w.user_intent[u] - mean);
    double sd = sqrt(var / (double)(nu - 1));
    /* N(0, 1) over 2000 users: the mean's sd is 0.022, the sd's about 0.016. */
    TU_ASSERT_MSG(fabs(mean) < 0.09 && fabs(sd - 1.0) < 0.07, "intent mean %.4f, sd %.4f", mean, sd);

    const dataset_schema *sc = dataset_get_schema(fx.d);
    int pos = -1, scen = -1;
    for (int f = 0; f < sc->n_fields; f++) {
        if (!strcmp(sc->fields[f].name, "position")) pos = dataset_single_column(fx.d, f);
        if (!strcmp(sc->fields[f].name, "scenario")) scen = dataset_single_column(fx.d, f);
    }
    CU_ASSERT_FATAL(pos >= 0 && scen >= 0);
    int ns = dataset_n_single(fx.d);
    double worst = 0, worst_without = 0;
    synth_world blind = fx.w;
    blind.has_intent = 0;
    for (int64_t r = 0; r < fx.n; r++) {
        const int32_t *row = fx.b.sparse + r * ns;
        int64_t u = fx.b.user[r], i = fx.b.item[r];
        double e = fabs(synth_world_p_click(&fx.w, u, i, row[pos], row[scen]) - fx.p_click[r]) +
                   fabs(synth_world_p_conv(&fx.w, u, i) - fx.p_conv[r]);
        double e0 = fabs(synth_world_p_click(&blind, u, i, row[pos], row[scen]) - fx.p_click[r]) +
                    fabs(synth_world_p_conv(&blind, u, i) - fx.p_conv[r]);
        if (e > worst) worst = e;
        if (e0 > worst_without) worst_without = e0;
    }
    TU_ASSERT_MSG(worst < 1e-7, "worst |recomputed - stored| = %g", worst);
    TU_ASSERT_MSG(worst_without > 1e-2, "without the intent the probabilities still recompute (%g)", worst_without);

    /* Everything but the intent is the world of the same seed without it. */
    CU_ASSERT_EQUAL_FATAL(fx.w0.n_users, nu);
    CU_ASSERT(memcmp(fx.w.user_taste, fx.w0.user_taste, (size_t)nu * SYNTH_DIM * sizeof(float)) == 0);
    CU_ASSERT(memcmp(fx.w.user_clickiness, fx.w0.user_clickiness, (size_t)nu * sizeof(float)) == 0);
    CU_ASSERT(memcmp(fx.w.item_qvec, fx.w0.item_qvec, (size_t)ni * SYNTH_DIM * sizeof(float)) == 0);
    CU_ASSERT(memcmp(fx.w.item_appeal, fx.w0.item_appeal, (size_t)ni * sizeof(float)) == 0);
    CU_ASSERT(memcmp(fx.w.item_bait, fx.w0.item_bait, (size_t)ni) == 0);
    int fields[32];
    int uw = dataset_side_fields(fx.d, SIDE_USER, fields), uw0 = dataset_side_fields(fx.d0, SIDE_USER, fields);
    CU_ASSERT_EQUAL_FATAL(uw, uw0 + 1);
    int32_t *users = malloc((size_t)nu * (size_t)uw * sizeof *users), *users0 = malloc((size_t)nu * (size_t)uw0 * sizeof *users0);
    CU_ASSERT_EQUAL(dataset_read_users(fx.d, users), DMMP_OK);
    CU_ASSERT_EQUAL(dataset_read_users(fx.d0, users0), DMMP_OK);
    int64_t differ = 0;
    for (int64_t u = 0; u < nu; u++) differ += memcmp(users + u * uw, users0 + u * uw0, (size_t)uw0 * sizeof *users) != 0;
    CU_ASSERT_EQUAL(differ, 0);
    free(users);
    free(users0);
out:
    intent_close(&fx);
}

/* purchase_level, the last field, is a noisy quintile of the intent: the
 * mean intent rises with the level, and its rank correlation with the
 * intent is that of e against e + 0.75 N(0, 1) cut into quintiles
 * (0.8 before the cut). The labels show the story: users with intent
 * above 0 click less, click a smaller share of baits and convert more
 * after a click than those below. */
static void test_intent_shows_in_fields_and_labels(void)
{
    intent_fixture fx;
    if (!intent_open(&fx)) goto out;
    const dataset_schema *sc = dataset_get_schema(fx.d);
    int last = sc->n_fields - 1;
    CU_ASSERT_STRING_EQUAL(sc->fields[last].name, "purchase_level");
    CU_ASSERT_EQUAL(sc->fields[last].side, SIDE_USER);
    CU_ASSERT_EQUAL(sc->n_fields, dataset_get_schema(fx.d0)->n_fields + 1);
    int64_t nu = fx.w.n_users;
    int col = dataset_single_column(fx.d, last), ns = dataset_n_single(fx.d);
    double *level = calloc((size_t)nu, sizeof *level), *intent = malloc((size_t)nu * sizeof *intent);
    for (int64_t u = 0; u < nu; u++) intent[u] = fx.w.user_intent[u];
    for (int64_t r = 0; r < fx.n; r++) level[fx.b.user[r]] = fx.b.sparse[r * ns + col];
    double sum[6] = {0}, cnt[6] = {0};
    int64_t seen = 0;
    for (int64_t u = 0; u < nu; u++) {
        if (level[u] < 1) continue; /* a user without impressions */
        CU_ASSERT(level[u] >= 1 && level[u] <= 5);
        sum[(int)level[u]] += intent[u];
        cnt[(int)level[u]]++;
        seen++;
    }
    for (int l = 2; l <= 5; l++)
        TU_ASSERT_MSG(sum[l] / cnt[l] > sum[l - 1] / cnt[l - 1], "mean intent at level %d %.3f, at %d %.3f", l,
                      sum[l] / cnt[l], l - 1, sum[l - 1] / cnt[l - 1]);
    double *ra = malloc((size_t)nu * sizeof *ra), *rb = malloc((size_t)nu * sizeof *rb);
    double *lv = calloc((size_t)nu, sizeof *lv), *iv = calloc((size_t)nu, sizeof *iv);
    int64_t m = 0;
    for (int64_t u = 0; u < nu; u++)
        if (level[u] >= 1) lv[m] = level[u], iv[m++] = intent[u];
    ranks_of(lv, m, ra);
    ranks_of(iv, m, rb);
    double rho = pearson(ra, rb, m);
    TU_ASSERT_MSG(rho > 0.70 && rho < 0.86, "Spearman(purchase_level, intent) %.3f over %lld users", rho,
                  (long long)seen);

    int64_t im[2] = {0}, cl[2] = {0}, cv[2] = {0}, bait_cl[2] = {0};
    for (int64_t r = 0; r < fx.n; r++) {
        int buyer = fx.w.user_intent[fx.b.user[r]] > 0;
        im[buyer]++;
        cl[buyer] += fx.b.click[r];
        cv[buyer] += fx.b.conversion[r];
        bait_cl[buyer] += fx.b.click[r] && fx.w.item_bait[fx.b.item[r]];
    }
    double ctr[2], cvr[2], bait[2];
    for (int k = 0; k < 2; k++) {
        ctr[k] = (double)cl[k] / (double)im[k];
        cvr[k] = (double)cv[k] / (double)cl[k];
        bait[k] = (double)bait_cl[k] / (double)cl[k];
    }
    TU_ASSERT_MSG(ctr[0] > 1.2 * ctr[1], "CTR browsers %.4f, buyers %.4f", ctr[0], ctr[1]);
    TU_ASSERT_MSG(cvr[1] > 1.5 * cvr[0], "CVR given click: buyers %.4f, browsers %.4f", cvr[1], cvr[0]);
    TU_ASSERT_MSG(bait[0] > 1.2 * bait[1], "bait share of clicks: browsers %.4f, buyers %.4f", bait[0], bait[1]);
    free(level);
    free(intent);
    free(ra);
    free(rb);
    free(lv);
    free(iv);
out:
    intent_close(&fx);
}

/* ---- the statistics of the gate diagnostics and personal_utility@K ---- */

static void test_rank_stats_by_hand(void)
{
    /* ranks of y = {5, 6, 7, 8, 7}: 1, 2, 3.5, 5, 3.5; against 1..5 the
     * deviations give sxy = 8, sxx = 10, syy = 9.5: rho = 8 / sqrt(95). */
    const double x[5] = {1, 2, 3, 4, 5}, y[5] = {5, 6, 7, 8, 7};
    double rho = 0, rank[5];
    CU_ASSERT_EQUAL(rank_average(y, 5, rank), DMMP_OK);
    const double want[5] = {1, 2, 3.5, 5, 3.5};
    for (int i = 0; i < 5; i++) TU_ASSERT_NEAR(rank[i], want[i], 0);
    CU_ASSERT_EQUAL(rank_spearman(x, y, 5, &rho), DMMP_OK);
    TU_ASSERT_NEAR(rho, 8.0 / sqrt(95.0), 1e-15);
    const double down[5] = {9, 7, 5, 3, 1}, flat[5] = {2, 2, 2, 2, 2};
    CU_ASSERT_EQUAL(rank_spearman(x, down, 5, &rho), DMMP_OK);
    TU_ASSERT_NEAR(rho, -1.0, 1e-15);
    CU_ASSERT_EQUAL(rank_spearman(x, flat, 5, &rho), DMMP_OK);
    CU_ASSERT(isnan(rho)); /* a constant gate has no rank correlation */
    CU_ASSERT_EQUAL(rank_spearman(x, y, 2, &rho), DMMP_OK);
    CU_ASSERT(isnan(rho));
    /* sorted {1, 2, 3, 10}: h = 3q; p10 = 1 + 0.3, p50 = 2 + 0.5, p90 = 3 + 0.7 * 7 */
    const double v[4] = {3, 1, 2, 10};
    double q;
    CU_ASSERT_EQUAL(rank_quantile(v, 4, 0.1, &q), DMMP_OK);
    TU_ASSERT_NEAR(q, 1.3, 1e-12);
    CU_ASSERT_EQUAL(rank_quantile(v, 4, 0.5, &q), DMMP_OK);
    TU_ASSERT_NEAR(q, 2.5, 1e-12);
    CU_ASSERT_EQUAL(rank_quantile(v, 4, 0.9, &q), DMMP_OK);
    TU_ASSERT_NEAR(q, 7.9, 1e-12);
    CU_ASSERT_EQUAL(rank_quantile(v, 4, 1.0, &q), DMMP_OK);
    TU_ASSERT_NEAR(q, 10, 0);
    CU_ASSERT_EQUAL(rank_quantile(v, 1, 0.9, &q), DMMP_OK);
    TU_ASSERT_NEAR(q, 3, 0);
    CU_ASSERT_NOT_EQUAL(rank_quantile(v, 4, 1.5, &q), DMMP_OK);
}

/* personal_utility@K against its definition with the maxima found by
 * trying every K-subset of a 9-item corpus. */
static double subset_max(const double *x, int n, int k, int start, int left)
{
    if (left == 0) return 0;
    double best = -1;
    for (int i = start; i <= n - left; i++) {
        double v = x[i] + subset_max(x, n, k, i + 1, left - 1);
        if (v > best) best = v;
    }
    return best;
}

static void test_personal_utility_brute_force(void)
{
    enum { N = 9 };
    rng r;
    rng_seed(&r, 77);
    personal_utility pu;
    CU_ASSERT_EQUAL_FATAL(personal_utility_init(&pu, N), DMMP_OK);
    const int ks[4] = {1, 3, 5, 12};
    for (int trial = 0; trial < 20; trial++) {
        float pc[N], pv[N];
        double c[N], e[N], value[N];
        for (int i = 0; i < N; i++) {
            pc[i] = (float)(0.01 + 0.3 * rng_uniform(&r));
            pv[i] = (float)(0.01 + 0.6 * rng_uniform(&r));
        }
        if (trial == 3) pc[4] = pc[2], pv[4] = pv[2]; /* ties */
        for (int i = 0; i < N; i++) e[i] = (double)pc[i] * (double)pv[i];
        double share = rng_uniform(&r);
        int32_t list[12];
        for (int i = 0; i < 12; i++) list[i] = i < N ? (int32_t)((i * 5 + trial) % N) : -1;
        if (trial % 4 == 1) list[1] = -1;
        double got[4];
        personal_utility_of_list(&pu, pc, pv, share, list, 12, ks, 4, got);
        for (int j = 0; j < 4; j++) {
            int k = ks[j] < N ? ks[j] : N;
            for (int i = 0; i < N; i++) c[i] = pc[i];
            double C = subset_max(c, N, k, 0, k), P = subset_max(e, N, k, 0, k);
            for (int i = 0; i < N; i++) value[i] = (1 - share) * c[i] / C + share * e[i] / P;
            double best = subset_max(value, N, k, 0, k), sum = 0;
            for (int p = 0; p < ks[j]; p++)
                if (list[p] >= 0) sum += value[list[p]];
            TU_ASSERT_NEAR(got[j], sum / best, 1e-12);
            CU_ASSERT(got[j] <= 1 + 1e-12);
        }
    }
    /* The best list for the user scores 1; the intent moves which that is. */
    float pc[N] = {0.30f, 0.25f, 0.20f, 0.02f, 0.03f, 0.01f, 0.05f, 0.04f, 0.06f};
    float pv[N] = {0.01f, 0.02f, 0.01f, 0.90f, 0.80f, 0.95f, 0.10f, 0.10f, 0.10f};
    const int32_t clicky[3] = {0, 1, 2}, buying[3] = {4, 3, 5};
    const int k3[1] = {3};
    double u;
    personal_utility_of_list(&pu, pc, pv, 0.0, clicky, 3, k3, 1, &u);
    TU_ASSERT_NEAR(u, 1.0, 1e-12);
    personal_utility_of_list(&pu, pc, pv, 1.0, buying, 3, k3, 1, &u);
    TU_ASSERT_NEAR(u, 1.0, 1e-12);
    personal_utility_of_list(&pu, pc, pv, 1.0, clicky, 3, k3, 1, &u);
    CU_ASSERT(u < 0.2);
    personal_utility_free(&pu);
}

int register_world_intent_suites(void)
{
    static const char *const names[] = {
        "spread 0 writes the world of before, value for value",
        "the intent is in /truth and recomputes the probabilities",
        "purchase_level and the labels follow the intent",
    };
    static const CU_TestFunc fns[] = {test_spread0_is_the_old_world, test_intent_in_truth,
                                      test_intent_shows_in_fields_and_labels};
    if (tu_add_suite("data_synth_intent", names, fns, sizeof fns / sizeof fns[0])) return 1;
    static const char *const eval_names[] = {
        "rank correlation and quantiles by hand",
        "personal_utility@K against every K-subset",
    };
    static const CU_TestFunc eval_fns[] = {test_rank_stats_by_hand, test_personal_utility_brute_force};
    if (tu_add_suite("eval_intent_stats", eval_names, eval_fns, sizeof eval_fns / sizeof eval_fns[0])) return 1;
    return add_retrieval_intent_suite();
}
