/* train_negatives: the sampled negatives end to end.
 *  - The sampler never draws the reserved unknown item 0 of imported data
 *    nor the impression's own item; its draws follow the uniform and the
 *    popularity distribution (chi-square against the training counts); the
 *    same seed and step give the same items, another step others.
 *  - A pair batch lays out the impressions, then each pair with its
 *    impression's user and context, the item's corpus fields, no cross
 *    fields and click 0.
 *  - dmmp with popularity negatives and kd.on_sampled: 1 and 2 threads
 *    give the same last.h5 bytes, and a run stopped in an epoch and resumed
 *    ends with the bytes of one that was not (the stream depends on the
 *    step); another seed changes them.
 *  - A log of positives only (every training row a click, like an imported
 *    watch log): refused with student.negatives = none and for
 *    teacher_only, naming the dataset and the key; with in_batch or random
 *    negatives two_tower and dmmp train, and two_tower retrieves the users'
 *    own item group well above chance. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "data/batcher.h"
#include "data/dataset_writer.h"
#include "data/neg_sampler.h"
#include "data/pair_batch.h"
#include "eval/eval_run.h"
#include "suites.h"
#include "testutil.h"
#include "trainer_fixture.h"

/* ---- a log of positives only ------------------------------------------- */

enum { IP_USERS = 400, IP_ITEMS = 200, IP_GROUPS = 8, IP_ROWS = 24000 };
static char ip_dir[512], ip_path[600];
static int ip_state;

static void remove_implicit(void)
{
    unlink(ip_path);
    rmdir(ip_dir);
}

/* Users 1..IP_USERS and items 1..IP_ITEMS (0: the unknown one, as the
 * importers write it) in IP_GROUPS groups; a user is shown items of its own
 * group only, the group's first items most often; every row is a click, a
 * third of them converted. */
static const char *implicit_dataset(void)
{
    if (ip_state) return ip_state > 0 ? ip_path : NULL;
    atexit(remove_implicit);
    tu_tmpdir(ip_dir, sizeof ip_dir);
    snprintf(ip_path, sizeof ip_path, "%s/implicit.h5", ip_dir);
    static const dataset_field fields[] = {{"user_id", SIDE_USER, 0, IP_USERS + 1},
                                           {"user_group", SIDE_USER, 0, IP_GROUPS + 1},
                                           {"item_id", SIDE_ITEM, 0, IP_ITEMS + 1},
                                           {"item_cat", SIDE_ITEM, 0, IP_GROUPS + 1},
                                           {"scenario", SIDE_CONTEXT, 0, 3}};
    dataset_schema schema = {5, (dataset_field *)fields, 0, NULL};
    static uint8_t click[IP_ROWS], conv[IP_ROWS], split[IP_ROWS];
    static int32_t user[IP_ROWS], item[IP_ROWS], sparse[IP_ROWS * 5];
    static int32_t items[(IP_ITEMS + 1) * 2], users[(IP_USERS + 1) * 2];
    rng r;
    rng_stream(&r, 77, 1);
    for (int i = 0; i < IP_ROWS; i++) {
        int u = 1 + (int)rng_below(&r, IP_USERS), g = u % IP_GROUPS;
        double x = rng_uniform(&r);
        int k = (int)(x * x * (IP_ITEMS / IP_GROUPS)); /* the group's first items most often */
        int it = g + IP_GROUPS * k + (g == 0 ? IP_GROUPS : 0);
        if (it > IP_ITEMS) it = g == 0 ? IP_GROUPS : g;
        click[i] = 1;
        conv[i] = (uint8_t)(rng_uniform(&r) < 0.3);
        double sp = rng_uniform(&r);
        split[i] = (uint8_t)(sp < 0.8 ? SPLIT_TRAIN : sp < 0.9 ? SPLIT_VAL : SPLIT_TEST);
        user[i] = u;
        item[i] = it;
        int32_t row[5] = {u, g + 1, it, it % IP_GROUPS + 1, 1 + (int32_t)rng_below(&r, 2)};
        memcpy(sparse + (size_t)i * 5, row, sizeof row);
    }
    for (int i = 1; i <= IP_ITEMS; i++) items[2 * i] = i, items[2 * i + 1] = i % IP_GROUPS + 1;
    for (int u = 1; u <= IP_USERS; u++) users[2 * u] = u, users[2 * u + 1] = u % IP_GROUPS + 1;
    dataset_rows rows = {IP_ROWS, click, conv, split, user, item, sparse, NULL, NULL, NULL, NULL};
    dataset_writer_options o = {4096, 1};
    dataset_writer *w = NULL;
    dmmp_status s = dataset_writer_open_opts(&w, ip_path, &schema, "implicit", "test", &o);
    if (s == DMMP_OK) s = dataset_writer_append(w, &rows);
    if (s == DMMP_OK) s = dataset_writer_write_items(w, IP_ITEMS + 1, items);
    if (s == DMMP_OK) s = dataset_writer_write_users(w, IP_USERS + 1, users);
    if (s == DMMP_OK) s = dataset_writer_commit(w);
    else dataset_writer_abort(w);
    if (s != DMMP_OK) printf("\n    implicit dataset: %s\n", dmmp_errmsg());
    ip_state = s == DMMP_OK ? 1 : -1;
    return ip_state > 0 ? ip_path : NULL;
}

/* ---- the sampler -------------------------------------------------------- */

/* Upper 99.99 % point of chi-square with df degrees of freedom (Wilson-Hilferty). */
static double chi2_crit(int df)
{
    double z = 3.719, a = 2.0 / (9.0 * df), c = 1.0 - a + z * sqrt(a);
    return df * c * c * c;
}

static void test_sampler(void)
{
    const char *path = implicit_dataset();
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    dataset *d = NULL;
    CU_ASSERT_EQUAL_FATAL(dataset_open(&d, path), DMMP_OK);
    int64_t ni = dataset_n_items(d);
    /* The training counts, independently of the sampler. */
    int64_t *count = calloc((size_t)ni, sizeof *count), total = 0;
    int64_t n = dataset_n_samples(d);
    uint8_t *sp = malloc((size_t)n);
    int32_t *it = malloc((size_t)n * sizeof *it);
    CU_ASSERT_EQUAL_FATAL(dataset_read_all(d, "/samples/split", 2, n, sp), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(dataset_read_all(d, "/samples/item", 0, n, it), DMMP_OK);
    for (int64_t i = 0; i < n; i++)
        if (sp[i] == SPLIT_TRAIN) count[it[i]]++, total++;
    enum { ROWS = 250, RATIO = 4, STEPS = 400 };
    int32_t own[ROWS], none[ROWS], drawn[ROWS * RATIO], again[ROWS * RATIO];
    for (int b = 0; b < ROWS; b++) own[b] = 1 + b % IP_ITEMS, none[b] = -1;
    for (int kind = 0; kind < 2; kind++) {
        neg_sampler s;
        dmmp_status st = neg_sampler_init(&s, d, (neg_draw_kind)kind, 9);
        TU_ASSERT_MSG(st == DMMP_OK, "%s", dmmp_errmsg());
        if (st != DMMP_OK) continue;
        CU_ASSERT_EQUAL(s.first, 1);
        CU_ASSERT_EQUAL(s.train_rows, total);
        int64_t *seen = calloc((size_t)ni, sizeof *seen);
        int zero = 0, own_hits = 0;
        for (int step = 0; step < STEPS; step++) {
            neg_sampler_draw(&s, step, own, ROWS, RATIO, drawn);
            for (int i = 0; i < ROWS * RATIO; i++) {
                zero += drawn[i] <= 0 || drawn[i] >= ni;
                own_hits += drawn[i] == own[i / RATIO];
            }
            neg_sampler_draw(&s, step, none, ROWS, RATIO, drawn);
            for (int i = 0; i < ROWS * RATIO; i++)
                if (drawn[i] > 0 && drawn[i] < ni) seen[drawn[i]]++;
        }
        CU_ASSERT_EQUAL(zero, 0);
        CU_ASSERT_EQUAL(own_hits, 0);
        /* Chi-square of the draws (without redraws) against the distribution. */
        double chi = 0, draws = (double)STEPS * ROWS * RATIO;
        int df = -1;
        int64_t unshown_drawn = 0;
        for (int64_t i = 1; i < ni; i++) {
            double p = kind == NEG_DRAW_POPULARITY ? (double)count[i] / (double)total : 1.0 / (double)(ni - 1);
            if (p == 0) {
                unshown_drawn += seen[i];
                continue;
            }
            double e = draws * p;
            chi += (seen[i] - e) * (seen[i] - e) / e;
            df++;
        }
        TU_ASSERT_MSG(chi < chi2_crit(df), "%s: chi-square %.1f with %d dof (99.99%% point %.1f)",
                      kind ? "popularity" : "uniform", chi, df, chi2_crit(df));
        CU_ASSERT_EQUAL(unshown_drawn, 0);
        /* The same seed and step give the same items; another step others. */
        neg_sampler_draw(&s, 17, own, ROWS, RATIO, drawn);
        neg_sampler_draw(&s, 17, own, ROWS, RATIO, again);
        CU_ASSERT_EQUAL(memcmp(drawn, again, sizeof drawn), 0);
        neg_sampler_draw(&s, 18, own, ROWS, RATIO, again);
        int differ = 0;
        for (int i = 0; i < ROWS * RATIO; i++) differ += drawn[i] != again[i];
        CU_ASSERT(differ > ROWS * RATIO / 2);
        /* In-batch: -log q is the items' share of the training rows. */
        float lq[2];
        int32_t two[2] = {own[0], own[1]};
        neg_sampler_log_q(&s, two, 2, lq);
        TU_ASSERT_NEAR(lq[0], -log((double)count[two[0]] / (double)total), 1e-5);
        free(seen);
        neg_sampler_free(&s);
    }
    free(count);
    free(sp);
    free(it);
    dataset_close(d);
}

/* ---- the pair batch ----------------------------------------------------- */

static void test_pair_batch(void)
{
    const char *path = tf_dataset();
    if (!path) return;
    dataset *d = NULL;
    CU_ASSERT_EQUAL_FATAL(dataset_open(&d, path), DMMP_OK);
    enum { N = 64, RATIO = 3 };
    pair_batch p;
    dmmp_status s = pair_batch_init(&p, d, N, RATIO);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    int wi = dataset_side_fields(d, SIDE_ITEM, NULL);
    int32_t *table = malloc((size_t)dataset_n_items(d) * (size_t)wi * sizeof *table);
    CU_ASSERT_EQUAL_FATAL(dataset_read_items(d, table), DMMP_OK);
    batcher *bt = NULL;
    CU_ASSERT_EQUAL_FATAL(batcher_open(&bt, d, SPLIT_TRAIN, N, 1, 3), DMMP_OK);
    const batch *b = NULL;
    CU_ASSERT_EQUAL_FATAL(batcher_next(bt, &b), DMMP_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    int32_t items[N * RATIO];
    for (int i = 0; i < N * RATIO; i++) items[i] = (int32_t)((i * 37) % dataset_n_items(d));
    s = pair_batch_fill(&p, b, items, RATIO);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    const batch *o = &p.rows;
    CU_ASSERT_EQUAL(o->n, N * (1 + RATIO));
    int ok = 1;
    for (int i = 0; i < o->n; i++) {
        int imp = i < N, parent = imp ? i : (i - N) / RATIO;
        ok &= o->click[i] == (imp ? b->click[i] : 0) && o->conversion[i] == (imp ? b->conversion[i] : 0);
        ok &= o->user[i] == b->user[parent] && o->item[i] == (imp ? b->item[i] : items[i - N]);
        for (int side = 0; side < 4; side++) {
            const batch_side *os = &o->side[side], *bs = &b->side[side];
            for (int f = 0; f < os->n_fields; f++) {
                int32_t got = os->ids[(size_t)i * os->n_fields + f], want;
                if (imp) want = bs->ids[(size_t)i * bs->n_fields + f];
                else if (side == SIDE_CROSS) want = 0;
                else if (side == SIDE_ITEM) want = table[(size_t)o->item[i] * wi + f];
                else want = bs->ids[(size_t)parent * bs->n_fields + f];
                ok &= got == want;
            }
        }
        for (int k = 0; k < o->n_multi; k++) {
            const batch_multi *om = &o->multi[k], *bm = &b->multi[k];
            int64_t len = om->offsets[i + 1] - om->offsets[i];
            if (om->side == SIDE_USER || om->side == SIDE_CONTEXT || imp) {
                int64_t lo = bm->offsets[parent], blen = bm->offsets[parent + 1] - lo;
                ok &= len == blen &&
                      !memcmp(om->indices + om->offsets[i], bm->indices + lo, (size_t)blen * sizeof(int32_t));
            } else if (om->side == SIDE_CROSS) {
                ok &= len == 0;
            }
        }
        for (int j = 0; !imp && j < o->n_dense; j++) ok &= o->dense[(size_t)i * o->n_dense + j] == 0.0f;
    }
    TU_ASSERT_MSG(ok, "the pair rows are not laid out as pair_batch.h says");
    CU_ASSERT(b->n_multi > 0); /* the synthetic world has a multi-valued user field: the bags were checked */
    items[5] = (int32_t)dataset_n_items(d);
    CU_ASSERT_EQUAL(pair_batch_fill(&p, b, items, RATIO), DMMP_EINVAL);
    batcher_close(bt);
    free(table);
    pair_batch_free(&p);
    dataset_close(d);
}

/* ---- determinism and resume --------------------------------------------- */

static dmmp_status load_last(const char *dir, run_handle *h)
{
    dataset *d = NULL;
    DMMP_TRY(dataset_open(&d, tf_dataset()));
    dmmp_status s = run_load(dir, "last", d, h);
    dataset_close(d);
    return s;
}

static void test_threads_and_resume(void)
{
    if (!tf_dataset()) return;
    dmmp_config c;
    tf_config(&c, CONFIG_MODEL_DMMP);
    c.student.negatives = CONFIG_NEGATIVES_POPULARITY;
    c.student.neg_ratio = 2;
    c.kd.on_sampled = 1;
    TU_ASSERT_MSG(config_validate(&c) == DMMP_OK, "%s", dmmp_errmsg());
    char dir[4][700], last[4][712];
    const char *names[4] = {"neg_one_thread", "neg_two_threads", "neg_resumed", "neg_other_seed"};
    for (int i = 0; i < 4; i++) {
        tf_run_dir(dir[i], sizeof dir[i], names[i]);
        snprintf(last[i], sizeof last[i], "%.700s/last.h5", dir[i]);
    }
    trainer_summary s0, s;
    dmmp_status st = tf_train(&c, dir[0], 0, 0, &s0);
    TU_ASSERT_MSG(st == DMMP_OK, "%s", dmmp_errmsg());
    if (st != DMMP_OK) return;
    dmmp_config two = c;
    two.train.threads = 2;
    st = tf_train(&two, dir[1], 0, 0, &s);
    TU_ASSERT_MSG(st == DMMP_OK, "%s", dmmp_errmsg());
    int64_t per_epoch = s0.steps / 2;
    CU_ASSERT_EQUAL(tf_train(&c, dir[2], 0, per_epoch + per_epoch / 3, &s), DMMP_EINTERRUPTED);
    st = tf_train(&c, dir[2], 1, 0, &s);
    TU_ASSERT_MSG(st == DMMP_OK, "%s", dmmp_errmsg());
    CU_ASSERT_EQUAL(s.steps, s0.steps);
    dmmp_config other = c;
    other.train.seed = c.train.seed + 1;
    st = tf_train(&other, dir[3], 0, 0, &s);
    TU_ASSERT_MSG(st == DMMP_OK, "%s", dmmp_errmsg());
    run_handle h;
    memset(&h, 0, sizeof h);
    st = load_last(dir[0], &h);
    TU_ASSERT_MSG(st == DMMP_OK, "%s", dmmp_errmsg());
    if (st == DMMP_OK) {
        CU_ASSERT(h.model.term_active[TERM_KD_SAMPLED_CTCVR]);
        TU_ASSERT_MSG(tf_same_arrays(last[0], last[1], &h), "1 and 2 threads: last.h5 differs");
        TU_ASSERT_MSG(tf_same_arrays(last[0], last[2], &h), "stopped and resumed: last.h5 differs");
        printf("\n    (another seed must differ:)");
        CU_ASSERT(!tf_same_arrays(last[0], last[3], &h));
    }
    run_close(&h);
    for (int i = 0; i < 4; i++) tf_remove_dir(dir[i]);
}

/* A run written before the sampled terms held 9 loss sums: replaced here
 * by 9 entries, the file still loads and resumes to the end. */
static void test_old_checkpoint(void)
{
    if (!tf_dataset()) return;
    dmmp_config c;
    tf_config(&c, CONFIG_MODEL_TWO_TOWER);
    char dir[700], last[712];
    tf_run_dir(dir, sizeof dir, "old_layout");
    snprintf(last, sizeof last, "%.700s/last.h5", dir);
    trainer_summary s;
    CU_ASSERT_EQUAL_FATAL(tf_train(&c, dir, 0, 20, &s), DMMP_EINTERRUPTED);
    hid_t f = H5Fopen(last, H5F_ACC_RDWR, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    hsize_t n9 = TERM_SAMPLED_CTR;
    double sums[TERM_SAMPLED_CTR] = {0};
    hid_t sp = H5Screate_simple(1, &n9, NULL);
    CU_ASSERT(H5Ldelete(f, "epoch/loss_sum", H5P_DEFAULT) >= 0);
    hid_t d = H5Dcreate2(f, "epoch/loss_sum", H5T_NATIVE_DOUBLE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT(d >= 0 && H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, sums) >= 0);
    H5Dclose(d);
    H5Sclose(sp);
    H5Fclose(f);
    run_handle h;
    memset(&h, 0, sizeof h);
    dmmp_status st = load_last(dir, &h);
    TU_ASSERT_MSG(st == DMMP_OK, "%s", dmmp_errmsg());
    run_close(&h);
    st = tf_train(&c, dir, 1, 0, &s);
    TU_ASSERT_MSG(st == DMMP_OK, "%s", dmmp_errmsg());
    tf_remove_dir(dir);
}

/* ---- a log of positives only -------------------------------------------- */

static dmmp_status train_implicit(const dmmp_config *c, const char *dir)
{
    trainer_options o;
    trainer_options_default(&o);
    o.config = c;
    o.data_path = implicit_dataset();
    o.out_dir = dir;
    log_level keep = log_get_level();
    log_set_level(LOG_ERROR);
    dmmp_status st = trainer_run(&o, NULL);
    log_set_level(keep);
    return st;
}

static void implicit_config(dmmp_config *c, config_model_kind kind, config_negatives neg)
{
    tf_config(c, kind);
    c->student.negatives = neg;
    c->train.batch_size = 256;
    c->train.epochs = 3;
    c->train.early_stopping_metric = CONFIG_METRIC_NONE; /* every val row is a click: no AUC */
    c->eval.topk.n = 1;
    c->eval.topk.v[0] = 50;
}

static double recall_of(const char *dir)
{
    dataset *d = NULL;
    run_handle h;
    memset(&h, 0, sizeof h);
    double recall = NAN;
    eval_metrics l;
    eval_metrics_init(&l);
    log_level keep = log_get_level();
    log_set_level(LOG_ERROR);
    dmmp_status s = dataset_open(&d, implicit_dataset());
    if (s == DMMP_OK) s = run_load(dir, "checkpoint", d, &h);
    if (s == DMMP_OK) s = eval_all(&h.model, &h.feat, d, SPLIT_TEST, &h.cfg.eval, &l);
    log_set_level(keep);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    if (s == DMMP_OK && !eval_metrics_get(&l, "click_recall@50", &recall)) recall = NAN;
    eval_metrics_free(&l);
    run_close(&h);
    dataset_close(d);
    return recall;
}

static void test_implicit_positives(void)
{
    if (!implicit_dataset()) return;
    char dir[700];
    dmmp_config c;
    implicit_config(&c, CONFIG_MODEL_TWO_TOWER, CONFIG_NEGATIVES_NONE);
    tf_run_dir(dir, sizeof dir, "implicit_none");
    CU_ASSERT_EQUAL(train_implicit(&c, dir), DMMP_EINVAL);
    const char *msg = dmmp_errmsg();
    TU_ASSERT_MSG(strstr(msg, "implicit.h5") != NULL && strstr(msg, "every one of the") != NULL &&
                      strstr(msg, "student.negatives") != NULL,
                  "%s", msg);
    CU_ASSERT(access(dir, F_OK) != 0); /* the failed fresh run left nothing */
    implicit_config(&c, CONFIG_MODEL_TEACHER_ONLY, CONFIG_NEGATIVES_NONE);
    c.student.gate = 0;
    CU_ASSERT_EQUAL(train_implicit(&c, dir), DMMP_EINVAL);
    TU_ASSERT_MSG(strstr(dmmp_errmsg(), "teacher_only") != NULL, "%s", dmmp_errmsg());

    /* Chance: a user's test item is one of IP_ITEMS / IP_GROUPS shown to its
     * group, and top 50 of 200 items hold it with probability 0.25 at random. */
    const struct {
        config_model_kind kind;
        config_negatives neg;
        const char *name;
    } runs[] = {{CONFIG_MODEL_TWO_TOWER, CONFIG_NEGATIVES_IN_BATCH, "implicit_two_tower_in_batch"},
                {CONFIG_MODEL_TWO_TOWER, CONFIG_NEGATIVES_RANDOM, "implicit_two_tower_random"},
                {CONFIG_MODEL_DMMP, CONFIG_NEGATIVES_IN_BATCH, "implicit_dmmp_in_batch"}};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        implicit_config(&c, runs[i].kind, runs[i].neg);
        tf_run_dir(dir, sizeof dir, runs[i].name);
        dmmp_status s = train_implicit(&c, dir);
        TU_ASSERT_MSG(s == DMMP_OK, "%s: %s", runs[i].name, dmmp_errmsg());
        if (s != DMMP_OK) continue;
        double recall = recall_of(dir);
        printf("\n    %s: click_recall@50 %.3f (chance 0.25)", runs[i].name, recall);
        if (runs[i].kind == CONFIG_MODEL_TWO_TOWER) TU_ASSERT_MSG(recall > 0.6, "%s: recall %g", runs[i].name, recall);
        else TU_ASSERT_MSG(isfinite(recall), "%s: recall %g", runs[i].name, recall);
        tf_remove_dir(dir);
    }
    printf("\n    ");
}

int register_trainer_negatives_suites(void)
{
    static const char *const names[] = {
        "sampler: never item 0 nor the own item, chi-square uniform and popularity, same stream per (seed, step)",
        "pair batch: impressions, then pairs with the user's fields, the item's corpus fields, no cross fields",
        "popularity + kd.on_sampled: 1 and 2 threads, stopped and resumed: the same bytes; another seed differs",
        "positives only: refused without negatives and for teacher_only; in_batch and random train and retrieve",
        "a checkpoint from before the sampled terms (9 loss sums) loads and resumes",
    };
    static const CU_TestFunc fns[] = {test_sampler, test_pair_batch, test_threads_and_resume, test_implicit_positives,
                                      test_old_checkpoint};
    return tu_add_suite("train_negatives", names, fns, sizeof fns / sizeof fns[0]);
}
