/* The synthetic click-bait world.
 *
 * Users. Each user belongs to one of 8 clusters; a taste vector (dim 8) is
 * the cluster centre plus noise. Age, gender and city are drawn from
 * cluster-specific distributions, so they carry the taste signal too. A
 * clickiness offset (how clicky the user is) enters pCTR and is visible as a
 * 5-level field. Activity is Zipf-like over a random ranking of users.
 * Item categories have taste vectors; an item's taste is its category's plus
 * noise. The multi-valued field cat_interest lists the user's 2..5 favourite
 * categories (by taste affinity) weighted by that affinity: like Ali-CCP's
 * 109_14.
 * Items. Category -> 5 brands, each with a quality level; shops sell mostly
 * in one category and have a quality level too; item quality = brand + shop
 * + noise, and the price level follows quality. The quality vector that
 * drives pCVR is half the item's taste plus noise: users convert on what they
 * like, but not only. A share of items (exactly round(bait_share * items))
 * are click baits: high click appeal, a large conversion penalty, a lower
 * price, and 70 % of them sit in the 10 % of shops that are "bait shops", so
 * the item fields reveal them too.
 * Purchase intent (intent_spread s > 0 only). Each user has a latent intent
 * intent_u = s * e_u, e_u ~ N(0, 1) from a stream of its own: browsers
 * (intent < 0) click more, are drawn more strongly to baits and buy less;
 * buyers (intent > 0) the reverse (coefficients in build_world, formulas in
 * synth_truth.h). A user field purchase_level (1..5, the last field of the
 * schema) shows the quintile of e_u + 0.75 * N(0, 1), a noisy view of the
 * intent as Ali-CCP's consumption-level fields are. With s = 0 nothing of
 * this is drawn or written: the file is byte for byte the world without
 * intent, the same for the same seed as before intent existed.
 * Probabilities: see synth_truth.h (the generator calls those functions).
 * Impressions. The user is drawn by activity; with probability 0.65 the item
 * comes from one of the user's top-8 categories (softmax of affinity) and
 * then by popularity within the category, otherwise by global popularity
 * (log-normal). Position 1..10 with weights 1/sqrt(pos), scenario 1..3 with
 * 0.6 / 0.3 / 0.1. click ~ Bernoulli(pCTR); conversion ~ Bernoulli(pCVR)
 * given a click. Cross fields hash (user, category) and (user, brand) into
 * 4096 buckets (ids 1..4096).
 * Splits: a seeded draw per impression, 80 % train, 10 % val, 10 % test, so
 * every split sees the same users and items.
 * Determinism: rows are generated in sub-blocks of 4096, each from its own
 * rng_stream(seed, SUBBLOCK_STREAM + index), in parallel with OpenMP; the
 * output does not depend on the thread count. The file is written a block at
 * a time, so any number of impressions streams in bounded memory. */
#include "data/synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/rng.h"
#include "data/dataset_writer.h"
#include "data/h5_column.h"
#include "data/synth_truth.h"

#define N_CLUSTERS 8
#define TOP_CATS 8
#define MAX_INTERESTS 5
#define BRANDS_PER_CAT 5
#define CROSS_BUCKETS 4096
#define SUBBLOCK_ROWS 4096
#define BLOCK_SUBBLOCKS 16
#define SUBBLOCK_STREAM 0x100000000ULL

enum { F_USER_ID, F_AGE, F_GENDER, F_CITY, F_CLICKINESS, F_INTEREST, F_ITEM_ID, F_CATEGORY, F_SHOP, F_BRAND,
       F_PRICE, F_POSITION, F_SCENARIO, F_UX_CAT, F_UX_BRAND, N_FIELDS };
#define N_SINGLE (N_FIELDS - 1)
#define N_USER_SINGLE 5
#define N_ITEM_SINGLE 5
/* The intent world appends purchase_level (a user field) to the schema. */
#define MAX_FIELDS (N_FIELDS + 1)
#define MAX_SINGLE (N_SINGLE + 1)
#define INTENT_LEVEL_NOISE 0.75
#define INTENT_CLICK 0.5f
#define INTENT_BAIT 0.8f
#define INTENT_CONV 1.0f

typedef struct world_tables {
    synth_world truth;
    int64_t n_cats, n_shops, n_brands;
    int user_width;         /* single-valued user fields: N_USER_SINGLE, + purchase_level with intent */
    int row_width;          /* single-valued fields of a sample row: N_SINGLE, + purchase_level */
    int32_t *user_fields;   /* n_users x user_width (ids as stored) */
    int32_t *top_cat;       /* n_users x TOP_CATS */
    float *top_cdf;         /* n_users x TOP_CATS */
    int64_t *interest_off;  /* n_users + 1 */
    int32_t *interest_ids;  /* category ids (1-based) */
    float *interest_wts;
    int32_t *item_fields;   /* n_items x N_ITEM_SINGLE */
    int32_t *item_cat;      /* 0-based category */
    double *user_cdf;       /* activity, n_users */
    double *item_cdf;       /* global popularity, n_items */
    int64_t *cat_start;     /* n_cats + 1 into cat_items */
    int32_t *cat_items;
    double *cat_cdf;        /* popularity within category, aligned with cat_items */
} world_tables;

void synth_config_default(synth_config *c)
{
    c->n_users = 20000;
    c->n_items = 5000;
    c->n_impressions = 1000000;
    c->bait_share = 0.15;
    c->intent_spread = 0.0;
    c->seed = 1;
    c->chunk_rows = DATASET_DEFAULT_CHUNK_ROWS;
}

dmmp_status synth_config_check(const synth_config *c)
{
    if (c->n_users < 10 || c->n_users > 100000000)
        return dmmp_fail(DMMP_EINVAL, "--users %lld: expected 10 .. 1e8", (long long)c->n_users);
    if (c->n_items < 10 || c->n_items > 10000000)
        return dmmp_fail(DMMP_EINVAL, "--items %lld: expected 10 .. 1e7", (long long)c->n_items);
    if (c->n_impressions < 1) return dmmp_fail(DMMP_EINVAL, "--impressions %lld: expected >= 1", (long long)c->n_impressions);
    if (!(c->bait_share >= 0 && c->bait_share <= 0.9))
        return dmmp_fail(DMMP_EINVAL, "--bait-share %g: expected 0 .. 0.9", c->bait_share);
    if (!(c->intent_spread >= 0 && c->intent_spread <= 3))
        return dmmp_fail(DMMP_EINVAL, "--intent-spread %g: expected 0 .. 3", c->intent_spread);
    if (c->chunk_rows < 1) return dmmp_fail(DMMP_EINVAL, "chunk rows %lld: expected >= 1", (long long)c->chunk_rows);
    return DMMP_OK;
}

static void tables_free(world_tables *t)
{
    synth_world_free(&t->truth);
    free(t->user_fields);
    free(t->top_cat);
    free(t->top_cdf);
    free(t->interest_off);
    free(t->interest_ids);
    free(t->interest_wts);
    free(t->item_fields);
    free(t->item_cat);
    free(t->user_cdf);
    free(t->item_cdf);
    free(t->cat_start);
    free(t->cat_items);
    free(t->cat_cdf);
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Index of the first cdf entry > u (cdf ascending, last entry 1). */
static int64_t cdf_pick(const double *cdf, int64_t n, double u)
{
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (cdf[mid] > u) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

static void normalise_cdf(double *w, int64_t n)
{
    double total = 0;
    for (int64_t i = 0; i < n; i++) total += w[i];
    double acc = 0;
    for (int64_t i = 0; i < n; i++) w[i] = (acc += w[i]) / total;
    if (n > 0) w[n - 1] = 1.0;
}

static dmmp_status build_users(world_tables *t, const float *cat_taste, uint64_t seed)
{
    synth_world *w = &t->truth;
    rng r;
    rng_stream(&r, seed, 1);
    float centre[N_CLUSTERS][SYNTH_DIM];
    for (int c = 0; c < N_CLUSTERS; c++)
        for (int k = 0; k < SYNTH_DIM; k++) centre[c][k] = (float)(0.5 * rng_normal(&r));
    static const double cut[4] = {-0.42, -0.13, 0.13, 0.42}; /* quintiles of N(0, 0.5^2) */
    for (int64_t u = 0; u < w->n_users; u++) {
        int c = (int)rng_below(&r, N_CLUSTERS);
        float *taste = w->user_taste + u * SYNTH_DIM;
        for (int k = 0; k < SYNTH_DIM; k++) taste[k] = centre[c][k] + (float)(0.35 * rng_normal(&r));
        w->user_clickiness[u] = (float)(0.5 * rng_normal(&r));
        int level = 1;
        for (int q = 0; q < 4; q++) level += w->user_clickiness[u] > cut[q];
        int32_t *f = t->user_fields + u * t->user_width;
        f[0] = (int32_t)(u + 1);
        f[1] = rng_uniform(&r) < 0.7 ? c % 7 + 1 : (int32_t)rng_below(&r, 7) + 1;
        f[2] = rng_uniform(&r) < (c % 2 ? 0.75 : 0.25) ? 2 : 1;
        f[3] = rng_uniform(&r) < 0.6 ? c * 8 + (int32_t)rng_below(&r, 8) + 1 : (int32_t)rng_below(&r, 64) + 1;
        f[4] = level;
        /* Affinity to every category; keep the top TOP_CATS (selection sort
         * over a small array: n_cats <= 200). */
        double aff[200];
        int32_t order[200];
        for (int64_t k = 0; k < t->n_cats; k++) {
            double s = 0;
            for (int j = 0; j < SYNTH_DIM; j++) s += (double)taste[j] * cat_taste[k * SYNTH_DIM + j];
            aff[k] = 2.0 * s;
            order[k] = (int32_t)k;
        }
        int top = (int)(t->n_cats < TOP_CATS ? t->n_cats : TOP_CATS);
        for (int a = 0; a < top; a++)
            for (int64_t b = a + 1; b < t->n_cats; b++)
                if (aff[order[b]] > aff[order[a]]) {
                    int32_t tmp = order[a];
                    order[a] = order[b];
                    order[b] = tmp;
                }
        double p[TOP_CATS], total = 0;
        for (int a = 0; a < top; a++) total += p[a] = exp(aff[order[a]] - aff[order[0]]);
        double acc = 0;
        for (int a = 0; a < TOP_CATS; a++) {
            int src = a < top ? a : top - 1;
            t->top_cat[u * TOP_CATS + a] = order[src];
            acc += a < top ? p[a] / total : 0.0;
            t->top_cdf[u * TOP_CATS + a] = a == TOP_CATS - 1 ? 1.0f : (float)acc;
        }
        int n_int = 2 + (int)rng_below(&r, MAX_INTERESTS - 1);
        if (n_int > top) n_int = top;
        double wsum = 0;
        for (int a = 0; a < n_int; a++) wsum += p[a];
        int64_t at = t->interest_off[u];
        for (int a = 0; a < n_int; a++) {
            t->interest_ids[at + a] = order[a] + 1;
            t->interest_wts[at + a] = (float)(p[a] / wsum);
        }
        t->interest_off[u + 1] = at + n_int;
    }
    /* Zipf-like activity over a random ranking: weight 1 / (rank + 10)^0.9. */
    uint32_t *rank = malloc((size_t)w->n_users * sizeof *rank);
    if (!rank) return dmmp_fail(DMMP_ENOMEM, "synthetic world: out of memory");
    for (int64_t u = 0; u < w->n_users; u++) rank[u] = (uint32_t)u;
    rng_shuffle_u32(&r, rank, (size_t)w->n_users);
    for (int64_t u = 0; u < w->n_users; u++) t->user_cdf[u] = pow(rank[u] + 10.0, -0.9);
    normalise_cdf(t->user_cdf, w->n_users);
    free(rank);
    return DMMP_OK;
}

/* Purchase intent and the purchase_level field, from a stream no other
 * part of the world draws from, so the rest of the world is the same with
 * and without intent. */
static void build_intent(world_tables *t, double spread, uint64_t seed)
{
    synth_world *w = &t->truth;
    rng r;
    rng_stream(&r, seed, 4);
    /* Quintiles of N(0, 1 + noise^2): +-0.2533 and +-0.8416 standard deviations. */
    double sd = sqrt(1.0 + INTENT_LEVEL_NOISE * INTENT_LEVEL_NOISE);
    const double cut[4] = {-0.8416 * sd, -0.2533 * sd, 0.2533 * sd, 0.8416 * sd};
    for (int64_t u = 0; u < w->n_users; u++) {
        double e = rng_normal(&r), seen = e + INTENT_LEVEL_NOISE * rng_normal(&r);
        w->user_intent[u] = (float)(spread * e);
        int level = 1;
        for (int q = 0; q < 4; q++) level += seen > cut[q];
        t->user_fields[u * t->user_width + N_USER_SINGLE] = level;
    }
}

static dmmp_status build_items(world_tables *t, const float *cat_taste, double bait_share, uint64_t seed)
{
    synth_world *w = &t->truth;
    rng r;
    rng_stream(&r, seed, 2);
    int64_t ni = w->n_items;
    float *brand_q = malloc((size_t)t->n_brands * sizeof *brand_q);
    float *shop_q = malloc((size_t)t->n_shops * sizeof *shop_q);
    for (int64_t b = 0; b < t->n_brands; b++) brand_q[b] = (float)(0.6 * rng_normal(&r));
    for (int64_t s = 0; s < t->n_shops; s++) shop_q[s] = (float)(0.4 * rng_normal(&r));
    uint32_t *perm = malloc((size_t)ni * sizeof *perm);
    int64_t *fill = calloc((size_t)(t->n_cats > 0 ? t->n_cats : 1), sizeof *fill);
    if (!brand_q || !shop_q || !perm || !fill) {
        free(brand_q);
        free(shop_q);
        free(perm);
        free(fill);
        return dmmp_fail(DMMP_ENOMEM, "synthetic world: out of memory");
    }
    for (int64_t i = 0; i < ni; i++) perm[i] = (uint32_t)i;
    rng_shuffle_u32(&r, perm, (size_t)ni);
    int64_t n_baits = (int64_t)llround(bait_share * (double)ni);
    for (int64_t j = 0; j < n_baits; j++) w->item_bait[perm[j]] = 1;
    free(perm);
    int64_t bait_shops = t->n_shops / 10 > 0 ? t->n_shops / 10 : 1;
    for (int64_t i = 0; i < ni; i++) {
        int64_t cat = (int64_t)rng_below(&r, (uint64_t)t->n_cats);
        int bait = w->item_bait[i];
        t->item_cat[i] = (int32_t)cat;
        float *taste = w->item_taste + i * SYNTH_DIM, *qv = w->item_qvec + i * SYNTH_DIM;
        for (int k = 0; k < SYNTH_DIM; k++) {
            taste[k] = cat_taste[cat * SYNTH_DIM + k] + (float)(0.3 * rng_normal(&r));
            qv[k] = 0.5f * taste[k] + (float)(0.3 * rng_normal(&r));
        }
        int64_t brand = cat * BRANDS_PER_CAT + (int64_t)rng_below(&r, BRANDS_PER_CAT);
        /* Shop s sells mostly category s % n_cats; baits favour the bait shops. */
        int64_t per_cat = t->n_shops / t->n_cats > 0 ? t->n_shops / t->n_cats : 1;
        int64_t shop = clamp64(cat + t->n_cats * (int64_t)rng_below(&r, (uint64_t)per_cat), 0, t->n_shops - 1);
        if (bait && rng_uniform(&r) < 0.7) shop = (int64_t)rng_below(&r, (uint64_t)bait_shops);
        w->item_quality[i] = brand_q[brand] + shop_q[shop] + (float)(0.3 * rng_normal(&r));
        w->item_appeal[i] = (float)((bait ? 1.2 : 0.0) + 0.3 * rng_normal(&r));
        double price = 5.5 + 1.5 * w->item_quality[i] + rng_normal(&r) - (bait ? 2.0 : 0.0);
        int32_t *f = t->item_fields + i * N_ITEM_SINGLE;
        f[0] = (int32_t)(i + 1);
        f[1] = (int32_t)(cat + 1);
        f[2] = (int32_t)(shop + 1);
        f[3] = (int32_t)(brand + 1);
        f[4] = (int32_t)clamp64(llround(price), 1, 10);
        t->item_cdf[i] = exp(0.8 * rng_normal(&r));
    }
    /* Items grouped by category, each group with its own popularity cdf. */
    for (int64_t i = 0; i < ni; i++) t->cat_start[t->item_cat[i] + 1]++;
    for (int64_t k = 0; k < t->n_cats; k++) t->cat_start[k + 1] += t->cat_start[k];
    for (int64_t i = 0; i < ni; i++) {
        int64_t k = t->item_cat[i], at = t->cat_start[k] + fill[k]++;
        t->cat_items[at] = (int32_t)i;
        t->cat_cdf[at] = t->item_cdf[i];
    }
    for (int64_t k = 0; k < t->n_cats; k++)
        normalise_cdf(t->cat_cdf + t->cat_start[k], t->cat_start[k + 1] - t->cat_start[k]);
    normalise_cdf(t->item_cdf, ni);
    free(fill);
    free(brand_q);
    free(shop_q);
    return DMMP_OK;
}

static dmmp_status build_world(world_tables *t, const synth_config *c)
{
    memset(t, 0, sizeof *t);
    DMMP_TRY(synth_world_alloc(&t->truth, c->n_users, c->n_items));
    t->n_cats = clamp64(c->n_items / 125, 20, 200);
    t->n_brands = t->n_cats * BRANDS_PER_CAT;
    t->n_shops = clamp64(c->n_items / 10, t->n_cats, 1000000);
    int intent = c->intent_spread > 0;
    t->user_width = N_USER_SINGLE + intent;
    t->row_width = N_SINGLE + intent;
    size_t nu = (size_t)c->n_users, ni = (size_t)c->n_items;
    t->user_fields = malloc(nu * (size_t)t->user_width * sizeof(int32_t));
    t->top_cat = malloc(nu * TOP_CATS * sizeof(int32_t));
    t->top_cdf = malloc(nu * TOP_CATS * sizeof(float));
    t->interest_off = calloc(nu + 1, sizeof(int64_t));
    t->interest_ids = malloc(nu * MAX_INTERESTS * sizeof(int32_t));
    t->interest_wts = malloc(nu * MAX_INTERESTS * sizeof(float));
    t->item_fields = malloc(ni * N_ITEM_SINGLE * sizeof(int32_t));
    t->item_cat = malloc(ni * sizeof(int32_t));
    t->user_cdf = malloc(nu * sizeof(double));
    t->item_cdf = malloc(ni * sizeof(double));
    t->cat_start = calloc((size_t)t->n_cats + 1, sizeof(int64_t));
    t->cat_items = malloc(ni * sizeof(int32_t));
    t->cat_cdf = malloc(ni * sizeof(double));
    float *cat_taste = malloc((size_t)t->n_cats * SYNTH_DIM * sizeof(float));
    if (!t->user_fields || !t->top_cat || !t->top_cdf || !t->interest_off || !t->interest_ids ||
        !t->interest_wts || !t->item_fields || !t->item_cat || !t->user_cdf || !t->item_cdf || !t->cat_start ||
        !t->cat_items || !t->cat_cdf || !cat_taste) {
        free(cat_taste);
        tables_free(t);
        return dmmp_fail(DMMP_ENOMEM, "synthetic world: out of memory");
    }
    rng r;
    rng_stream(&r, c->seed, 3);
    for (int64_t k = 0; k < t->n_cats * SYNTH_DIM; k++) cat_taste[k] = (float)(0.5 * rng_normal(&r));
    dmmp_status s = build_users(t, cat_taste, c->seed);
    if (s == DMMP_OK) s = build_items(t, cat_taste, c->bait_share, c->seed);
    if (s == DMMP_OK && intent) build_intent(t, c->intent_spread, c->seed);
    free(cat_taste);
    if (s != DMMP_OK) {
        tables_free(t);
        return s;
    }
    synth_world *w = &t->truth;
    w->base_click = -4.2f;
    w->base_conv = -2.0f;
    w->taste_scale = 1.0f;
    w->quality_scale = 0.7f;
    w->bait_penalty = 2.5f;
    if (intent) {
        w->has_intent = 1;
        w->intent_spread = (float)c->intent_spread;
        w->intent_click = INTENT_CLICK;
        w->intent_bait = INTENT_BAIT;
        w->intent_conv = INTENT_CONV;
    }
    for (int p = 1; p <= SYNTH_POSITIONS; p++) w->position_effect[p] = -0.12f * (float)(p - 1);
    static const float scen[SYNTH_SCENARIOS + 1] = {0.0f, 0.0f, -0.3f, 0.4f};
    memcpy(w->scenario_effect, scen, sizeof scen);
    w->default_position = 1;
    w->default_scenario = 1;
    return DMMP_OK;
}

/* One block of generated rows, in the writer's layout. */
typedef struct block_buf {
    uint8_t *click, *conv, *split;
    int32_t *user, *item, *sparse;
    float *p_click, *p_conv;
    int64_t *off;
    int32_t *idx;
    float *wt;
} block_buf;

#define BLOCK_ROWS ((int64_t)SUBBLOCK_ROWS * BLOCK_SUBBLOCKS)

static uint32_t cross_bucket(uint64_t user, uint64_t other, uint64_t salt)
{
    uint64_t st = (user << 32) ^ other ^ salt;
    return (uint32_t)(rng_splitmix64(&st) % CROSS_BUCKETS) + 1;
}

/* Rows [0, n) of b from stream `stream`. */
static void generate_rows(const world_tables *t, uint64_t seed, uint64_t stream, block_buf *b, int64_t at, int64_t n)
{
    static const double scen_cdf[3] = {0.6, 0.9, 1.0};
    double pos_cdf[SYNTH_POSITIONS];
    for (int p = 0; p < SYNTH_POSITIONS; p++) pos_cdf[p] = 1.0 / sqrt(p + 1.0);
    normalise_cdf(pos_cdf, SYNTH_POSITIONS);
    const synth_world *w = &t->truth;
    rng r;
    rng_stream(&r, seed, stream);
    for (int64_t j = at; j < at + n; j++) {
        int64_t u = cdf_pick(t->user_cdf, w->n_users, rng_uniform(&r));
        int64_t i;
        double pick = rng_uniform(&r), u2 = rng_uniform(&r);
        if (pick < 0.65) {
            const float *cdf = t->top_cdf + u * TOP_CATS;
            int a = 0;
            while (a < TOP_CATS - 1 && cdf[a] <= (float)rng_uniform(&r)) a++;
            int64_t k = t->top_cat[u * TOP_CATS + a];
            int64_t lo = t->cat_start[k], cnt = t->cat_start[k + 1] - lo;
            i = cnt > 0 ? t->cat_items[lo + cdf_pick(t->cat_cdf + lo, cnt, u2)] : cdf_pick(t->item_cdf, w->n_items, u2);
        } else {
            i = cdf_pick(t->item_cdf, w->n_items, u2);
        }
        int32_t pos = (int32_t)cdf_pick(pos_cdf, SYNTH_POSITIONS, rng_uniform(&r)) + 1;
        int32_t scen = (int32_t)cdf_pick(scen_cdf, 3, rng_uniform(&r)) + 1;
        double pc = synth_world_p_click(w, u, i, pos, scen);
        double pv = synth_world_p_conv(w, u, i);
        int click = rng_uniform(&r) < pc;
        int conv = click && rng_uniform(&r) < pv;
        double sp = rng_uniform(&r);
        b->click[j] = (uint8_t)click;
        b->conv[j] = (uint8_t)conv;
        b->split[j] = sp < 0.8 ? SPLIT_TRAIN : sp < 0.9 ? SPLIT_VAL : SPLIT_TEST;
        b->user[j] = (int32_t)u;
        b->item[j] = (int32_t)i;
        b->p_click[j] = (float)pc;
        b->p_conv[j] = (float)pv;
        int32_t *row = b->sparse + j * t->row_width;
        memcpy(row, t->user_fields + u * t->user_width, N_USER_SINGLE * sizeof *row);
        memcpy(row + N_USER_SINGLE, t->item_fields + i * N_ITEM_SINGLE, N_ITEM_SINGLE * sizeof *row);
        row[10] = pos;
        row[11] = scen;
        row[12] = (int32_t)cross_bucket((uint64_t)u, (uint64_t)t->item_cat[i], 0x5bd1e995ULL);
        row[13] = (int32_t)cross_bucket((uint64_t)u, (uint64_t)t->item_fields[i * N_ITEM_SINGLE + 3], 0x27d4eb2fULL);
        if (t->row_width > N_SINGLE) row[N_SINGLE] = t->user_fields[u * t->user_width + N_USER_SINGLE];
    }
}

static dmmp_status block_alloc(block_buf *b)
{
    size_t n = (size_t)BLOCK_ROWS;
    b->click = malloc(n);
    b->conv = malloc(n);
    b->split = malloc(n);
    b->user = malloc(n * sizeof(int32_t));
    b->item = malloc(n * sizeof(int32_t));
    b->sparse = malloc(n * MAX_SINGLE * sizeof(int32_t));
    b->p_click = malloc(n * sizeof(float));
    b->p_conv = malloc(n * sizeof(float));
    b->off = malloc((n + 1) * sizeof(int64_t));
    b->idx = malloc(n * MAX_INTERESTS * sizeof(int32_t));
    b->wt = malloc(n * MAX_INTERESTS * sizeof(float));
    if (!b->click || !b->conv || !b->split || !b->user || !b->item || !b->sparse || !b->p_click || !b->p_conv ||
        !b->off || !b->idx || !b->wt)
        return dmmp_fail(DMMP_ENOMEM, "synthetic generator: out of memory for a block");
    return DMMP_OK;
}

static void block_free(block_buf *b)
{
    free(b->click);
    free(b->conv);
    free(b->split);
    free(b->user);
    free(b->item);
    free(b->sparse);
    free(b->p_click);
    free(b->p_conv);
    free(b->off);
    free(b->idx);
    free(b->wt);
}

/* The fields in schema order; returns their number. */
static int fill_schema(dataset_field *f, const world_tables *t)
{
    static const struct { const char *name; field_side side; int multi; } def[MAX_FIELDS] = {
        {"user_id", SIDE_USER, 0},      {"age", SIDE_USER, 0},         {"gender", SIDE_USER, 0},
        {"city", SIDE_USER, 0},         {"clickiness", SIDE_USER, 0},  {"cat_interest", SIDE_USER, 1},
        {"item_id", SIDE_ITEM, 0},      {"category", SIDE_ITEM, 0},    {"shop", SIDE_ITEM, 0},
        {"brand", SIDE_ITEM, 0},        {"price_level", SIDE_ITEM, 0}, {"position", SIDE_CONTEXT, 0},
        {"scenario", SIDE_CONTEXT, 0},  {"user_x_category", SIDE_CROSS, 0}, {"user_x_brand", SIDE_CROSS, 0},
        {"purchase_level", SIDE_USER, 0},
    };
    const int64_t vocab[MAX_FIELDS] = {t->truth.n_users + 1, 8, 3, 65, 6, t->n_cats + 1, t->truth.n_items + 1,
                                       t->n_cats + 1, t->n_shops + 1, t->n_brands + 1, 11, SYNTH_POSITIONS + 1,
                                       SYNTH_SCENARIOS + 1, CROSS_BUCKETS + 1, CROSS_BUCKETS + 1, 6};
    int n = t->truth.has_intent ? MAX_FIELDS : N_FIELDS;
    for (int k = 0; k < n; k++) {
        memset(&f[k], 0, sizeof f[k]);
        snprintf(f[k].name, DATASET_NAME_LEN, "%s", def[k].name);
        f[k].side = def[k].side;
        f[k].multi = def[k].multi;
        f[k].vocab_size = vocab[k];
    }
    return n;
}

static dmmp_status stream_samples(const synth_config *c, const world_tables *t, dataset_writer *dw,
                                  h5_column *p_click, h5_column *p_conv, synth_summary *sum)
{
    block_buf b;
    memset(&b, 0, sizeof b);
    dmmp_status s = block_alloc(&b);
    for (int64_t start = 0; s == DMMP_OK && start < c->n_impressions; start += BLOCK_ROWS) {
        int64_t n = c->n_impressions - start < BLOCK_ROWS ? c->n_impressions - start : BLOCK_ROWS;
        int64_t nsub = (n + SUBBLOCK_ROWS - 1) / SUBBLOCK_ROWS;
        uint64_t first = SUBBLOCK_STREAM + (uint64_t)(start / SUBBLOCK_ROWS);
#pragma omp parallel for schedule(dynamic, 1)
        for (int64_t sb = 0; sb < nsub; sb++) {
            int64_t at = sb * SUBBLOCK_ROWS;
            int64_t m = n - at < SUBBLOCK_ROWS ? n - at : SUBBLOCK_ROWS;
            generate_rows(t, c->seed, first + (uint64_t)sb, &b, at, m);
        }
        b.off[0] = 0;
        for (int64_t j = 0; j < n; j++) {
            int64_t u = b.user[j], lo = t->interest_off[u], len = t->interest_off[u + 1] - lo;
            memcpy(b.idx + b.off[j], t->interest_ids + lo, (size_t)len * sizeof(int32_t));
            memcpy(b.wt + b.off[j], t->interest_wts + lo, (size_t)len * sizeof(float));
            b.off[j + 1] = b.off[j] + len;
            sum->rows[b.split[j]]++;
            sum->clicks[b.split[j]] += b.click[j];
            sum->conversions[b.split[j]] += b.conv[j];
        }
        const int64_t *offs[1] = {b.off};
        const int32_t *idxs[1] = {b.idx};
        const float *wts[1] = {b.wt};
        dataset_rows rows = {n, b.click, b.conv, b.split, b.user, b.item, b.sparse, offs, idxs, wts, NULL};
        s = dataset_writer_append(dw, &rows);
        if (s == DMMP_OK) s = h5_column_append(p_click, b.p_click, n);
        if (s == DMMP_OK) s = h5_column_append(p_conv, b.p_conv, n);
    }
    block_free(&b);
    return s;
}

/* The raw ids of the synthetic world: user u is "u<u>" and item i "i<i>"
 * (also in the user_id and item_id vocabularies, whose index k is entity
 * k - 1); every other field's index k is "<k>". Index 0 is "". */
static dmmp_status write_raw_ids(const dataset_schema *schema, dataset_writer *dw, int64_t n_users, int64_t n_items)
{
    dmmp_status s = DMMP_OK;
    for (int f = -2; s == DMMP_OK && f < schema->n_fields; f++) {
        const char *name = f == -2 ? "user_id" : f == -1 ? "item_id" : schema->fields[f].name;
        int64_t n = f == -2 ? n_users : f == -1 ? n_items : schema->fields[f].vocab_size;
        int entity = f < 0;
        const char *prefix = !strcmp(name, "user_id") ? "u" : !strcmp(name, "item_id") ? "i" : "";
        raw_ids t;
        raw_ids_init(&t);
        for (int64_t k = 0; s == DMMP_OK && k < n; k++) {
            char buf[32];
            int len = 0;
            if (entity) len = snprintf(buf, sizeof buf, "%s%lld", prefix, (long long)k);
            else if (k > 0) len = *prefix ? snprintf(buf, sizeof buf, "%s%lld", prefix, (long long)(k - 1))
                                            : snprintf(buf, sizeof buf, "%lld", (long long)k);
            s = raw_ids_push(&t, buf, (size_t)len, name);
        }
        if (s == DMMP_OK)
            s = dataset_writer_write_raw_ids(dw, f == -2 ? RAW_IDS_USERS : f == -1 ? RAW_IDS_ITEMS : RAW_IDS_FIELD, f, &t);
        raw_ids_free(&t);
    }
    return s;
}

static dmmp_status write_tables(const synth_config *c, const world_tables *t, dataset_writer *dw, hid_t truth,
                                const dataset_schema *schema)
{
    DMMP_TRY(synth_world_save(&t->truth, (int64_t)truth));
    DMMP_TRY(h5_attr_f64(truth, "bait_share", c->bait_share));
    /* intent_spread is written with the intent (synth_world_save), never at 0. */
    DMMP_TRY(h5_attr_i64(truth, "seed", (int64_t)c->seed));
    DMMP_TRY(dataset_writer_write_items(dw, c->n_items, t->item_fields));
    DMMP_TRY(dataset_writer_write_users(dw, c->n_users, t->user_fields));
    DMMP_TRY(write_raw_ids(schema, dw, c->n_users, c->n_items));
    return dataset_writer_write_users_multi(dw, F_INTEREST, c->n_users, t->interest_off, t->interest_ids,
                                            t->interest_wts);
}

dmmp_status synth_generate(const synth_config *c, const char *path, synth_summary *summary)
{
    DMMP_TRY(synth_config_check(c));
    double t0 = clock_wall_seconds();
    world_tables t;
    DMMP_TRY(build_world(&t, c));
    dataset_field fields[MAX_FIELDS];
    int n_fields = fill_schema(fields, &t);
    dataset_schema schema = {n_fields, fields, 0, NULL};
    dataset_writer_options opts = {c->chunk_rows, DATASET_DEFAULT_DEFLATE};
    dataset_writer *dw = NULL;
    dmmp_status s = dataset_writer_open_opts(&dw, path, &schema, "synthetic click-bait world", "synthetic", &opts);
    if (s != DMMP_OK) {
        tables_free(&t);
        return s;
    }
    synth_summary sum;
    memset(&sum, 0, sizeof sum);
    hid_t truth = H5I_INVALID_HID;
    h5_column p_click, p_conv;
    memset(&p_click, 0, sizeof p_click);
    memset(&p_conv, 0, sizeof p_conv);
    s = h5_create_group((hid_t)dataset_writer_file(dw), "truth", &truth);
    if (s == DMMP_OK) s = h5_column_create(&p_click, truth, "p_click", H5T_NATIVE_FLOAT, 0, c->chunk_rows, 1);
    if (s == DMMP_OK) s = h5_column_create(&p_conv, truth, "p_conv", H5T_NATIVE_FLOAT, 0, c->chunk_rows, 1);
    if (s == DMMP_OK) {
        dataset_writer_attach(dw, &p_click);
        dataset_writer_attach(dw, &p_conv);
    }
    if (s == DMMP_OK) s = stream_samples(c, &t, dw, &p_click, &p_conv, &sum);
    if (s == DMMP_OK) s = h5_column_close(&p_click);
    if (s == DMMP_OK) s = h5_column_close(&p_conv);
    if (s == DMMP_OK) s = write_tables(c, &t, dw, truth, &schema);
    h5_column_discard(&p_click);
    h5_column_discard(&p_conv);
    if (truth >= 0) H5Gclose(truth);
    for (int64_t i = 0; i < c->n_items; i++) sum.n_baits += t.truth.item_bait[i];
    tables_free(&t);
    if (s != DMMP_OK) {
        dataset_writer_abort(dw);
        return s;
    }
    DMMP_TRY(dataset_writer_commit(dw));
    sum.seconds = clock_wall_seconds() - t0;
    if (summary) *summary = sum;
    return DMMP_OK;
}
