/* dmmp export and the checkpoint layout table, checked against things
 * computed independently here:
 *   - exported vectors: a brute-force top-K over the .npy rows equals
 *     retrieve_user (the code behind dmmp retrieve) in ids and float scores
 *     for every exported user, for two_tower, three_tower and dmmp with L2
 *     normalisation on and off; the .h5 export holds the same numbers; a
 *     few users also through the dmmp retrieve command itself;
 *   - exported predictions: AUCs recomputed here pair by pair from the CSV
 *     and from the HDF5 columns equal those dmmp eval stored; the rows are
 *     exactly the split's rows with their users and items;
 *   - the layout table tiles /model/params without gaps or overlaps, its
 *     padding is zero, its layers are the ones the configuration implies,
 *     its vocabularies are the dataset's;
 *   - a checkpoint written before the layout table still loads and gives
 *     the same retrieval;
 *   - bad input exits 2 with a message and leaves nothing under --out. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt_testutil.h"
#include "suites.h"
#include "test_robust.h"
#include "testutil.h"
#include "data/dataset.h"
#include "eval/retrieve_user.h"
#include "train/results.h"
#include "train/trainer.h"

#define N_RUNS 7
static const char *const run_kind[N_RUNS] = {"two_tower", "three_tower", "dmmp", "two_tower", "three_tower", "dmmp",
                                             "teacher_only"};
static const int run_l2[N_RUNS] = {0, 0, 0, 1, 1, 1, 0};

static struct {
    int ready, failed;
    char dir[512], data[700], ini[700], run[N_RUNS][700];
} fx;

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* One dataset and a tiny run of every variant, made once for the suite. */
static int fixture(void)
{
    if (fx.ready) return !fx.failed;
    fx.ready = 1;
    fx.failed = 1;
    if (!robust_dmmp()) {
        tu_skip("export", "the dmmp command is not built (set DMMP_BUILDDIR)");
        return 0;
    }
    tu_tmpdir(fx.dir, sizeof fx.dir);
    snprintf(fx.data, sizeof fx.data, "%s/data.h5", fx.dir);
    snprintf(fx.ini, sizeof fx.ini, "%s/tiny.ini", fx.dir);
    int made = robust_synth(fx.data, 150, 80, 8000, 5) && robust_tiny_ini(fx.ini, 1);
    CU_ASSERT(made);
    if (!made) return 0;
    char out[8192], kind[64], l2[64];
    for (int r = 0; r < N_RUNS; r++) {
        snprintf(fx.run[r], sizeof fx.run[r], "%s/run_%s_l2%d", fx.dir, run_kind[r], run_l2[r]);
        snprintf(kind, sizeof kind, "model.kind=%s", run_kind[r]);
        snprintf(l2, sizeof l2, "student.l2norm=%s", run_l2[r] ? "on" : "off");
        int towers = strcmp(run_kind[r], "dmmp") != 0; /* the other variants have no learned gate, no KD */
        const char *args[] = {"train", "--config", fx.ini, "--data", fx.data, "--out", fx.run[r], "--set", kind,
                              "--set", l2, "--set", "train.batch_size=256", "--set",
                              towers ? "student.gate=off" : "student.gate=on", "--set",
                              towers ? "kd.enabled=off" : "kd.enabled=on", NULL};
        int rc = robust_run_dmmp(args, out, sizeof out);
        TU_ASSERT_MSG(rc == 0, "training %s failed (%d): %s", fx.run[r], rc, out);
        if (rc != 0) return 0;
    }
    fx.failed = 0;
    return 1;
}

/* ---- reading .npy files (the format as numpy writes it) ------------------ */

typedef struct npy {
    char descr[16];
    int64_t rows, cols;
    unsigned char *data;
} npy;

static int npy_read(const char *path, npy *out)
{
    memset(out, 0, sizeof *out);
    size_t len = 0;
    unsigned char *b = slurp(path, &len);
    if (!b || len < 10 || memcmp(b, "\x93NUMPY", 6) || b[6] != 1) {
        free(b);
        return 0;
    }
    size_t hlen = (size_t)b[8] | (size_t)b[9] << 8;
    if ((10 + hlen) % 64 != 0 || 10 + hlen > len) {
        free(b);
        return 0;
    }
    char header[1024];
    snprintf(header, sizeof header, "%.*s", (int)hlen, (const char *)b + 10);
    const char *d = strstr(header, "'descr': '"), *s = strstr(header, "'shape': (");
    int ok = d && s && strstr(header, "'fortran_order': False") && header[hlen - 1] == '\n';
    if (ok) sscanf(d + 10, "%15[^']", out->descr);
    long long r = 0, c = 0;
    if (ok) ok = sscanf(s + 10, "%lld, %lld", &r, &c) >= 1;
    if (strstr(s, ",)")) c = 0;
    out->rows = r;
    out->cols = c;
    size_t elem = !strcmp(out->descr, "<i8") ? 8 : out->descr[0] == '|' ? (size_t)atoi(out->descr + 2) : 4;
    size_t want = (size_t)r * (size_t)(c ? c : 1) * elem;
    ok = ok && 10 + hlen + want == len;
    if (!ok) {
        free(b);
        return 0;
    }
    out->data = malloc(want ? want : 1);
    memcpy(out->data, b + 10 + hlen, want);
    free(b);
    return 1;
}

/* ---- reading HDF5 arrays ------------------------------------------------- */

static void *h5_read(hid_t f, const char *name, hid_t type, int64_t *n, size_t elem)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return NULL;
    hid_t sp = H5Dget_space(d);
    hssize_t count = H5Sget_simple_extent_npoints(sp);
    H5Sclose(sp);
    void *buf = calloc((size_t)(count > 0 ? count : 1), elem);
    if (H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        free(buf);
        buf = NULL;
    }
    H5Dclose(d);
    if (n) *n = count;
    return buf;
}

/* A 1-D fixed-length string dataset as n strings of (*len) bytes, NUL-padded. */
static char *h5_strings(hid_t f, const char *name, int64_t *n, size_t *len)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return NULL;
    hid_t t = H5Dget_type(d);
    *len = H5Tget_size(t);
    H5Tclose(t);
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, *len);
    H5Tset_strpad(mt, H5T_STR_NULLPAD);
    H5Tset_cset(mt, H5T_CSET_UTF8);
    hid_t sp = H5Dget_space(d);
    *n = H5Sget_simple_extent_npoints(sp);
    H5Sclose(sp);
    char *buf = calloc((size_t)(*n > 0 ? *n : 1), *len + 1);
    if (H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        free(buf);
        buf = NULL;
    }
    H5Tclose(mt);
    H5Dclose(d);
    return buf;
}

/* ---- exported vectors against retrieve ----------------------------------- */

/* The top k of query q over items by the scalar reference of topk_search:
 * s = fmaf(q[d-1], x[d-1], ... fmaf(q[1], x[1], q[0] * x[0])), ties to the
 * smaller row. */
static void brute_topk(const float *items, int64_t n_items, const float *q, int dim, int k, int32_t *ids, float *sc)
{
    for (int j = 0; j < k; j++) {
        ids[j] = -1;
        sc[j] = -INFINITY;
    }
    for (int64_t i = 0; i < n_items; i++) {
        const float *x = items + (size_t)i * dim;
        float s = q[0] * x[0];
        for (int t = 1; t < dim; t++) s = fmaf(q[t], x[t], s);
        int pos = k;
        while (pos > 0 && (s > sc[pos - 1] || (s == sc[pos - 1] && ids[pos - 1] > i))) pos--;
        if (pos >= k) continue;
        memmove(ids + pos + 1, ids + pos, (size_t)(k - pos - 1) * sizeof *ids);
        memmove(sc + pos + 1, sc + pos, (size_t)(k - pos - 1) * sizeof *sc);
        ids[pos] = (int32_t)i;
        sc[pos] = s;
    }
}

static void check_vectors(int r)
{
    char prefix[800], path[900], out[16384];
    snprintf(prefix, sizeof prefix, "%s/vec%d", fx.dir, r);
    const char *args[] = {"export", "vectors", "--run", fx.run[r], "--data", fx.data, "--out", prefix, NULL};
    if (!robust_expect_exit(args, 0, 0, "item and", out, sizeof out)) return;
    npy items, item_ix, users, user_ix, user_raw;
    snprintf(path, sizeof path, "%s.items.npy", prefix);
    CU_ASSERT_FATAL(npy_read(path, &items));
    snprintf(path, sizeof path, "%s.items_index.npy", prefix);
    CU_ASSERT_FATAL(npy_read(path, &item_ix));
    snprintf(path, sizeof path, "%s.users.npy", prefix);
    CU_ASSERT_FATAL(npy_read(path, &users));
    snprintf(path, sizeof path, "%s.users_index.npy", prefix);
    CU_ASSERT_FATAL(npy_read(path, &user_ix));
    snprintf(path, sizeof path, "%s.users_raw_id.npy", prefix);
    CU_ASSERT_FATAL(npy_read(path, &user_raw));
    CU_ASSERT_STRING_EQUAL(items.descr, "<f4");
    CU_ASSERT_STRING_EQUAL(item_ix.descr, "<i4");
    int dim = (int)items.cols;
    int k_tower = 8; /* tiny.ini: towers end in 8 */
    CU_ASSERT_EQUAL(dim, strcmp(run_kind[r], "two_tower") ? 2 * k_tower : k_tower);
    CU_ASSERT_EQUAL(users.cols, dim);
    CU_ASSERT_EQUAL(items.rows, 80); /* the synthetic world's items are all real */
    CU_ASSERT_EQUAL(user_ix.rows, users.rows);
    CU_ASSERT_EQUAL(user_raw.rows, users.rows);

    dataset *d = NULL;
    CU_ASSERT_EQUAL_FATAL(dataset_open(&d, fx.data), DMMP_OK);
    run_handle h;
    CU_ASSERT_EQUAL_FATAL(run_load(fx.run[r], "checkpoint", d, &h), DMMP_OK);
    raw_ids uraw;
    CU_ASSERT_EQUAL_FATAL(dataset_read_raw_ids(d, RAW_IDS_USERS, 0, &uraw), DMMP_OK);
    const float *iv = (const float *)items.data, *uv = (const float *)users.data;
    const int32_t *iix = (const int32_t *)item_ix.data, *uix = (const int32_t *)user_ix.data;
    size_t rawlen = (size_t)atoi(user_raw.descr + 2);
    /* With L2 normalisation every tower part of a row has unit norm (times the gate weight for users). */
    if (run_l2[r]) {
        double n2 = 0;
        for (int t = 0; t < k_tower; t++) n2 += (double)iv[t] * iv[t];
        TU_ASSERT_NEAR(n2, 1.0, 1e-5);
    }
    const int K = 10;
    int32_t ids[10];
    float sc[10];
    int64_t mismatches = 0, prev = -1;
    for (int64_t u = 0; u < users.rows; u++) {
        CU_ASSERT(uix[u] > prev); /* ascending user index */
        prev = uix[u];
        char want[64];
        raw_ids_format(&uraw, uix[u], want, sizeof want);
        TU_ASSERT_MSG(!strncmp((const char *)user_raw.data + (size_t)u * rawlen, want, rawlen), "user %d raw id", uix[u]);
        brute_topk(iv, items.rows, uv + (size_t)u * dim, dim, K, ids, sc);
        retrieved got;
        CU_ASSERT_EQUAL_FATAL(retrieve_user(&h.model, &h.feat, d, uix[u], K, &got), DMMP_OK);
        /* The exported users come from one batch of queries, retrieve's query
         * from a batch of one: the dense layers may round them differently
         * (oneDNN's AVX2 gemm does). Scores agree to 1e-5; an id may differ
         * only where its rank holds a near-tie of the same score. */
        for (int j = 0; j < K; j++) {
            float tol = 1e-5f * (1.0f + fabsf(sc[j]));
            if (fabsf(sc[j] - got.scores[j]) > tol) mismatches++;
            else if (iix[ids[j]] != got.ids[j]) {
                int tie = (j > 0 && fabsf(sc[j] - sc[j - 1]) <= 2 * tol) || (j + 1 < K && fabsf(sc[j] - sc[j + 1]) <= 2 * tol);
                mismatches += !tie;
            }
        }
        retrieved_free(&got);
    }
    TU_ASSERT_MSG(mismatches == 0, "%s l2norm %d: %lld of %lld top-%d slots differ from retrieve", run_kind[r],
                  run_l2[r], (long long)mismatches, (long long)users.rows * K, K);
    /* Users retrieve knows: every user with a sample in some split. */
    {
        int64_t ns = dataset_n_samples(d), distinct = 0;
        int32_t *su = malloc((size_t)ns * sizeof *su);
        uint8_t *seen = calloc((size_t)dataset_n_users(d), 1);
        CU_ASSERT_FATAL(su && seen && dataset_read_i32(d, "/samples/user", 0, ns, su) == DMMP_OK);
        for (int64_t i = 0; i < ns; i++) distinct += !seen[su[i]], seen[su[i]] = 1;
        CU_ASSERT_EQUAL(users.rows, distinct);
        for (int64_t u = 0; u < users.rows; u++) CU_ASSERT(seen[uix[u]]);
        free(su);
        free(seen);
    }

    /* Two users through the dmmp retrieve command: same items, scores as printed. */
    for (int pick = 0; pick < 2; pick++) {
        int64_t u = pick ? users.rows - 1 : 0;
        char ustr[32];
        snprintf(ustr, sizeof ustr, "%d", uix[u]);
        const char *rargs[] = {"retrieve", "--run", fx.run[r], "--data", fx.data, "--user", ustr, "--k", "5", NULL};
        if (!robust_expect_exit(rargs, 0, 0, "top 5", out, sizeof out)) continue;
        brute_topk(iv, items.rows, uv + (size_t)u * dim, dim, 5, ids, sc);
        int rank = 0;
        for (const char *line = out; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
            int rk, item;
            char raw[64];
            double score;
            if (sscanf(line, "%d %d %63s %lf", &rk, &item, raw, &score) != 4 || rk != rank + 1) continue;
            CU_ASSERT_EQUAL(item, iix[ids[rank]]);
            TU_ASSERT_NEAR(score, sc[rank], 5e-7 + 1e-6 * fabs(score));
            rank++;
        }
        CU_ASSERT_EQUAL(rank, 5);
    }

    /* The h5 export holds the same rows. */
    const char *hargs[] = {"export", "vectors", "--run", fx.run[r], "--data", fx.data, "--out", prefix, "--format",
                           "h5", NULL};
    if (robust_expect_exit(hargs, 0, 0, NULL, out, sizeof out)) {
        snprintf(path, sizeof path, "%s.h5", prefix);
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        CU_ASSERT_FATAL(f >= 0);
        int64_t n = 0;
        float *hv = h5_read(f, "/users/vector", H5T_NATIVE_FLOAT, &n, 4);
        int32_t *hi = h5_read(f, "/items/index", H5T_NATIVE_INT32, NULL, 4);
        CU_ASSERT_FATAL(hv && hi);
        CU_ASSERT_EQUAL(n, users.rows * dim);
        CU_ASSERT(memcmp(hv, uv, (size_t)n * 4) == 0);
        CU_ASSERT(memcmp(hi, iix, (size_t)items.rows * 4) == 0);
        int64_t adim = 0;
        hid_t a = H5Aopen(f, "dim", H5P_DEFAULT);
        CU_ASSERT(a >= 0 && H5Aread(a, H5T_NATIVE_INT64, &adim) >= 0);
        if (a >= 0) H5Aclose(a);
        CU_ASSERT_EQUAL(adim, dim);
        free(hv);
        free(hi);
        H5Fclose(f);
        const char *vargs[] = {"data", "verify", path, NULL};
        robust_expect_exit(vargs, 0, 0, "\nok", out, sizeof out);
    }
    raw_ids_free(&uraw);
    run_close(&h);
    dataset_close(d);
    free(items.data);
    free(item_ix.data);
    free(users.data);
    free(user_ix.data);
    free(user_raw.data);
}

static void test_vectors_match_retrieve(void)
{
    if (!fixture()) return;
    for (int r = 0; r < 6; r++) check_vectors(r);
}

/* ---- exported predictions against eval ----------------------------------- */

/* AUC by counting pairs: P(score of a positive > a negative), ties 1/2;
 * mask (may be NULL) picks the rows. */
static double pair_auc(const float *p, const uint8_t *y, const uint8_t *mask, int64_t n)
{
    double wins = 0, pairs = 0;
    for (int64_t i = 0; i < n; i++) {
        if ((mask && !mask[i]) || !y[i]) continue;
        for (int64_t j = 0; j < n; j++) {
            if ((mask && !mask[j]) || y[j]) continue;
            pairs += 1;
            wins += p[i] > p[j] ? 1.0 : p[i] == p[j] ? 0.5 : 0.0;
        }
    }
    return pairs > 0 ? wins / pairs : NAN;
}

typedef struct pred_cols {
    int64_t n;
    int64_t *row;
    int32_t *user, *item;
    uint8_t *click, *conv;
    int n_prob;
    char prob_name[10][32];
    float *prob[10];
} pred_cols;

static void pred_free(pred_cols *c)
{
    free(c->row);
    free(c->user);
    free(c->item);
    free(c->click);
    free(c->conv);
    for (int i = 0; i < c->n_prob; i++) free(c->prob[i]);
    memset(c, 0, sizeof *c);
}

static float *prob_col(const pred_cols *c, const char *name)
{
    for (int i = 0; i < c->n_prob; i++)
        if (!strcmp(c->prob_name[i], name)) return c->prob[i];
    return NULL;
}

/* Parses the CSV export (no quoted fields: the synthetic raw ids have no commas). */
static int read_pred_csv(const char *path, pred_cols *c)
{
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    static char line[8192];
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        return 0;
    }
    char *names[32];
    int nc = 0;
    for (char *tok = strtok(line, ",\n"); tok && nc < 32; tok = strtok(NULL, ",\n")) names[nc++] = tok;
    int ok = nc >= 8 && !strcmp(names[0], "row") && !strcmp(names[1], "user") && !strcmp(names[2], "user_raw_id") &&
             !strcmp(names[3], "item") && !strcmp(names[4], "item_raw_id") && !strcmp(names[5], "click") &&
             !strcmp(names[6], "conversion");
    c->n_prob = nc - 7;
    for (int i = 0; i < c->n_prob; i++) snprintf(c->prob_name[i], sizeof c->prob_name[i], "%s", names[7 + i]);
    int64_t cap = 1024;
    c->row = malloc((size_t)cap * 8);
    c->user = malloc((size_t)cap * 4);
    c->item = malloc((size_t)cap * 4);
    c->click = malloc((size_t)cap);
    c->conv = malloc((size_t)cap);
    for (int i = 0; i < c->n_prob; i++) c->prob[i] = malloc((size_t)cap * 4);
    while (ok && fgets(line, sizeof line, f)) {
        if (c->n == cap) {
            cap *= 2;
            c->row = realloc(c->row, (size_t)cap * 8);
            c->user = realloc(c->user, (size_t)cap * 4);
            c->item = realloc(c->item, (size_t)cap * 4);
            c->click = realloc(c->click, (size_t)cap);
            c->conv = realloc(c->conv, (size_t)cap);
            for (int i = 0; i < c->n_prob; i++) c->prob[i] = realloc(c->prob[i], (size_t)cap * 4);
        }
        char *f0 = line;
        for (int k = 0; k < nc && ok; k++) {
            char *end = strchr(f0, k + 1 < nc ? ',' : '\n');
            if (!end) {
                ok = 0;
                break;
            }
            *end = '\0';
            if (k == 0) c->row[c->n] = atoll(f0);
            else if (k == 1) c->user[c->n] = atoi(f0);
            else if (k == 3) c->item[c->n] = atoi(f0);
            else if (k == 5) c->click[c->n] = (uint8_t)atoi(f0);
            else if (k == 6) c->conv[c->n] = (uint8_t)atoi(f0);
            else if (k >= 7) c->prob[k - 7][c->n] = strtof(f0, NULL);
            f0 = end + 1;
        }
        c->n++;
    }
    fclose(f);
    return ok;
}

static int read_pred_h5(const char *path, pred_cols *c, const pred_cols *like)
{
    memset(c, 0, sizeof *c);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return 0;
    c->row = h5_read(f, "/row", H5T_NATIVE_INT64, &c->n, 8);
    c->user = h5_read(f, "/user", H5T_NATIVE_INT32, NULL, 4);
    c->item = h5_read(f, "/item", H5T_NATIVE_INT32, NULL, 4);
    c->click = h5_read(f, "/click", H5T_NATIVE_UINT8, NULL, 1);
    c->conv = h5_read(f, "/conversion", H5T_NATIVE_UINT8, NULL, 1);
    int ok = c->row && c->user && c->item && c->click && c->conv;
    c->n_prob = like->n_prob;
    for (int i = 0; i < c->n_prob; i++) {
        char name[40];
        snprintf(c->prob_name[i], sizeof c->prob_name[i], "%s", like->prob_name[i]);
        snprintf(name, sizeof name, "/%s", like->prob_name[i]);
        c->prob[i] = h5_read(f, name, H5T_NATIVE_FLOAT, NULL, 4);
        ok = ok && c->prob[i];
    }
    H5Fclose(f);
    return ok;
}

/* eval's metric name -> the column whose AUC it is. */
static void check_auc(const pred_cols *c, const run_results *res, const char *metric, const char *column)
{
    double want = NAN;
    int have = results_get_metric(res, "test", metric, &want);
    const float *p = prob_col(c, column);
    TU_ASSERT_MSG(have && p, "metric %s (%d) or column %s (%p) missing", metric, have, column, (const void *)p);
    if (!have || !p) return;
    double got = strstr(metric, "auc_cvr") ? pair_auc(p, c->conv, c->click, c->n) : pair_auc(p, strstr(metric, "ctcvr") ? c->conv : c->click, NULL, c->n);
    TU_ASSERT_MSG(fabs(got - want) < 1e-9, "%s: %.12f from the file, %.12f from eval", metric, got, want);
}

static void check_predictions(int r, const char *const *metrics, const char *const *columns, int n_metrics,
                              const char *const *absent)
{
    char csv[800], h5[800], out[16384], results[800];
    snprintf(csv, sizeof csv, "%s/pred%d.csv", fx.dir, r);
    snprintf(h5, sizeof h5, "%s/pred%d.h5", fx.dir, r);
    const char *eargs[] = {"eval", "--run", fx.run[r], "--data", fx.data, NULL};
    if (!robust_expect_exit(eargs, 0, 0, "auc_ctr", out, sizeof out)) return;
    const char *a1[] = {"export", "predictions", "--run", fx.run[r], "--data", fx.data, "--out", csv, NULL};
    const char *a2[] = {"export", "predictions", "--run", fx.run[r], "--data", fx.data, "--out", h5, "--split", "test",
                        NULL};
    if (!robust_expect_exit(a1, 0, 0, "predictions of split test", out, sizeof out)) return;
    if (!robust_expect_exit(a2, 0, 0, "predictions of split test", out, sizeof out)) return;
    snprintf(results, sizeof results, "%s/results.h5", fx.run[r]);
    run_results res;
    CU_ASSERT_EQUAL_FATAL(results_load(&res, results), DMMP_OK);
    pred_cols c, hc;
    CU_ASSERT_FATAL(read_pred_csv(csv, &c));
    CU_ASSERT_FATAL(read_pred_h5(h5, &hc, &c));
    for (int i = 0; absent && absent[i]; i++) TU_ASSERT_MSG(prob_col(&c, absent[i]) == NULL, "%s has %s", run_kind[r], absent[i]);
    for (int m = 0; m < n_metrics; m++) {
        check_auc(&c, &res, metrics[m], columns[m]);
        check_auc(&hc, &res, metrics[m], columns[m]);
    }
    /* The HDF5 and CSV rows agree; the CSV's floats read back exactly (%.9g). */
    CU_ASSERT_EQUAL(hc.n, c.n);
    for (int i = 0; i < c.n_prob && hc.n == c.n; i++)
        TU_ASSERT_MSG(memcmp(c.prob[i], hc.prob[i], (size_t)c.n * 4) == 0, "column %s differs", c.prob_name[i]);
    /* Rows: exactly the test split's, in file order, with their users, items and labels. */
    dataset *d = NULL;
    CU_ASSERT_EQUAL_FATAL(dataset_open(&d, fx.data), DMMP_OK);
    int64_t n = dataset_n_samples(d);
    dataset_block b;
    memset(&b, 0, sizeof b);
    CU_ASSERT_EQUAL_FATAL(dataset_read_block(d, 0, n, &b), DMMP_OK);
    int64_t k = 0, bad = 0;
    for (int64_t row = 0; row < n; row++) {
        if (b.split[row] != SPLIT_TEST) continue;
        if (k >= c.n || c.row[k] != row || c.user[k] != b.user[row] || c.item[k] != b.item[row] ||
            c.click[k] != b.click[row] || c.conv[k] != b.conversion[row])
            bad++;
        k++;
    }
    CU_ASSERT_EQUAL(k, dataset_split_stats_of(d, SPLIT_TEST).rows);
    CU_ASSERT_EQUAL(c.n, k);
    TU_ASSERT_MSG(bad == 0, "%lld rows differ from the split", (long long)bad);
    /* Probabilities lie in (0, 1); pCTCVR = pCTR * pCVR. */
    const float *pc = prob_col(&c, columns[0]);
    for (int64_t i = 0; pc && i < c.n; i++) CU_ASSERT(pc[i] > 0 && pc[i] < 1);
    const float *sc = prob_col(&c, "student_pctr"), *sv = prob_col(&c, "student_pcvr"), *scv = prob_col(&c, "student_pctcvr");
    for (int64_t i = 0; sc && sv && scv && i < c.n; i++) TU_ASSERT_NEAR(scv[i], sc[i] * sv[i], 1e-7);
    const float *wc = prob_col(&c, "gate_wc"), *wv = prob_col(&c, "gate_wv");
    for (int64_t i = 0; wc && wv && i < c.n; i++) TU_ASSERT_NEAR(wc[i] + wv[i], 1.0, 1e-6);
    dataset_block_free(&b);
    dataset_close(d);
    pred_free(&c);
    pred_free(&hc);
    results_free(&res);
}

static void test_predictions_match_eval(void)
{
    if (!fixture()) return;
    static const char *const dm[] = {"auc_ctr", "auc_cvr", "auc_ctcvr", "teacher_auc_ctr", "teacher_auc_cvr",
                                     "teacher_auc_ctcvr"};
    static const char *const dc[] = {"student_pctr", "student_pcvr", "student_pctcvr", "teacher_pctr", "teacher_pcvr",
                                     "teacher_pctcvr"};
    check_predictions(2, dm, dc, 6, NULL);
    static const char *const two_absent[] = {"student_pcvr", "student_pf", "gate_wc", "teacher_pctr", NULL};
    check_predictions(0, dm, dc, 1, two_absent);
    static const char *const three_absent[] = {"teacher_pctr", NULL};
    check_predictions(1, dm, dc, 3, three_absent);
    static const char *const tc[] = {"teacher_pctr", "teacher_pcvr", "teacher_pctcvr"};
    static const char *const teacher_absent[] = {"student_pctr", NULL};
    check_predictions(6, dm, tc, 3, teacher_absent);
}

/* ---- the layout table ---------------------------------------------------- */

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && !strcmp(s + n - m, tail);
}

static void check_layout(int r, int expect_w)
{
    char path[800];
    snprintf(path, sizeof path, "%s/checkpoint.h5", fx.run[r]);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    int64_t np = 0, n = 0, n2 = 0;
    float *params = h5_read(f, "/model/params", H5T_NATIVE_FLOAT, &np, 4);
    int64_t *off = h5_read(f, "/model/layout/params/offset", H5T_NATIVE_INT64, &n, 8);
    int64_t *rows = h5_read(f, "/model/layout/params/rows", H5T_NATIVE_INT64, NULL, 8);
    int64_t *cols = h5_read(f, "/model/layout/params/cols", H5T_NATIVE_INT64, NULL, 8);
    size_t nl = 0, al = 0;
    char *names = h5_strings(f, "/model/layout/params/name", &n2, &nl);
    char *acts = h5_strings(f, "/model/layout/params/activation", &n2, &al);
    TU_ASSERT_MSG(params && off && rows && cols && names && acts && n2 == n, "%p %p %p %p %p %p %lld %lld", (void *)params, (void *)off, (void *)rows, (void *)cols, (void *)names, (void *)acts, (long long)n2, (long long)n);
    CU_ASSERT_FATAL(params && off && rows && cols && names && acts && n2 == n);
    /* Every float of /model/params in exactly one entry: count the cover of each. */
    uint8_t *cover = calloc((size_t)np, 1);
    int n_w = 0, bad = 0;
    for (int64_t i = 0; i < n; i++) {
        char name[200], act[32];
        snprintf(name, sizeof name, "%.*s", (int)nl, names + (size_t)i * nl);
        snprintf(act, sizeof act, "%.*s", (int)al, acts + (size_t)i * al);
        int64_t size = rows[i] * cols[i];
        TU_ASSERT_MSG(off[i] >= 0 && size > 0 && off[i] + size <= np, "%s: offset %lld size %lld of %lld", name,
                      (long long)off[i], (long long)size, (long long)np);
        if (off[i] < 0 || size <= 0 || off[i] + size > np) continue;
        for (int64_t j = off[i]; j < off[i] + size; j++) cover[j]++;
        if (ends_with(name, "/padding")) {
            CU_ASSERT(size < 16 && (off[i] + size) % 16 == 0);
            for (int64_t j = off[i]; j < off[i] + size; j++) bad += params[j] != 0.0f;
        }
        if (ends_with(name, "/W")) {
            n_w++;
            TU_ASSERT_MSG(!strcmp(act, "relu") || !strcmp(act, "linear") || !strcmp(act, "softmax"), "%s: %s", name, act);
            TU_ASSERT_MSG(off[i] % 16 == 0 || strstr(name, "/layer") != NULL, "%s not aligned", name);
        }
        /* Tower outputs are linear (embeddings), hidden layers ReLU. */
        if (strstr(name, "student/user_tower/layer1/") || strstr(name, "item_tower/layer1/"))
            TU_ASSERT_MSG(!strcmp(act, "linear"), "%s: %s", name, act);
        if (strstr(name, "student/user_tower/layer0/")) TU_ASSERT_MSG(!strcmp(act, "relu"), "%s: %s", name, act);
    }
    int64_t gaps = 0, overlaps = 0;
    for (int64_t j = 0; j < np; j++) {
        gaps += cover[j] == 0;
        overlaps += cover[j] > 1;
    }
    TU_ASSERT_MSG(gaps == 0 && overlaps == 0, "%s: %lld floats in no entry, %lld in several", run_kind[r],
                  (long long)gaps, (long long)overlaps);
    CU_ASSERT_EQUAL(bad, 0);
    TU_ASSERT_MSG(n_w == expect_w, "%s: %d weight matrices, expected %d", run_kind[r], n_w, expect_w);

    /* The user tower's first layer reads the whole user input. */
    int64_t ni = 0;
    int64_t *width = h5_read(f, "/model/layout/inputs/width", H5T_NATIVE_INT64, &ni, 8);
    for (int64_t i = 0; width && i < n; i++)
        if (!strncmp(names + (size_t)i * nl, "student/user_tower/layer0/W", nl)) CU_ASSERT_EQUAL(rows[i], width[1]);
    free(width);

    /* Embeddings: each table's shape is its dataset's, each vocabulary the dataset's. */
    int64_t ne = 0;
    size_t tl = 0, vl = 0, fl = 0;
    char *tables = h5_strings(f, "/model/layout/embeddings/table", &ne, &tl);
    char *vocab = h5_strings(f, "/model/layout/embeddings/vocab", &ne, &vl);
    char *fields = h5_strings(f, "/model/layout/embeddings/field", &ne, &fl);
    int64_t *erows = h5_read(f, "/model/layout/embeddings/rows", H5T_NATIVE_INT64, NULL, 8);
    CU_ASSERT_FATAL(tables && vocab && fields && erows && ne > 0);
    dataset *d = NULL;
    CU_ASSERT_EQUAL_FATAL(dataset_open(&d, fx.data), DMMP_OK);
    const dataset_schema *sc = dataset_get_schema(d);
    for (int64_t i = 0; i < ne; i++) {
        char t[200], v[200], fld[80];
        snprintf(t, sizeof t, "%.*s", (int)tl, tables + (size_t)i * tl);
        snprintf(v, sizeof v, "%.*s", (int)vl, vocab + (size_t)i * vl);
        snprintf(fld, sizeof fld, "%.*s", (int)fl, fields + (size_t)i * fl);
        hid_t ds = H5Dopen2(f, t, H5P_DEFAULT);
        TU_ASSERT_MSG(ds >= 0, "table %s is not in the file", t);
        if (ds >= 0) {
            hsize_t dims[2];
            hid_t sp = H5Dget_space(ds);
            H5Sget_simple_extent_dims(sp, dims, NULL);
            H5Sclose(sp);
            H5Dclose(ds);
            CU_ASSERT_EQUAL((int64_t)dims[0], erows[i]);
        }
        int field = -1;
        for (int k = 0; k < sc->n_fields; k++)
            if (!strcmp(sc->fields[k].name, fld)) field = k;
        CU_ASSERT_FATAL(field >= 0);
        raw_ids want;
        CU_ASSERT_EQUAL_FATAL(dataset_read_raw_ids(d, RAW_IDS_FIELD, field, &want), DMMP_OK);
        char key[300];
        snprintf(key, sizeof key, "%s/offsets", v);
        int64_t no = 0, nb = 0;
        int64_t *o = h5_read(f, key, H5T_NATIVE_INT64, &no, 8);
        snprintf(key, sizeof key, "%s/bytes", v);
        uint8_t *bytes = h5_read(f, key, H5T_NATIVE_UINT8, &nb, 1);
        CU_ASSERT_FATAL(o && bytes && want.n > 0);
        CU_ASSERT_EQUAL(no, sc->fields[field].vocab_size + 1);
        CU_ASSERT(no == want.n + 1 && memcmp(o, want.offsets, (size_t)no * 8) == 0);
        CU_ASSERT(nb == want.offsets[want.n] && memcmp(bytes, want.bytes, (size_t)nb) == 0);
        free(o);
        free(bytes);
        raw_ids_free(&want);
    }
    dataset_close(d);
    free(tables);
    free(vocab);
    free(fields);
    free(erows);
    free(cover);
    free(params);
    free(off);
    free(rows);
    free(cols);
    free(names);
    free(acts);
    H5Fclose(f);
}

static void test_layout_covers_params(void)
{
    if (!fixture()) return;
    /* tiny.ini: experts one layer (16), teacher towers 8 then the logit (2
     * layers), cgc with 2 shared + 1 specific expert per task (4 experts, 2
     * gates); student towers 16,8 (2 layers each), gate 8 then 2 (2 layers). */
    int n_teacher = 4 * 1 + 2 + 2 * 2;
    check_layout(0, 2 + 2);                 /* two_tower: user + click item tower */
    check_layout(1, 2 + 2 * 2);             /* three_tower: user + two item towers */
    check_layout(2, n_teacher + 2 + 4 + 2);   /* dmmp: teacher, three towers, gate */
    check_layout(6, n_teacher);              /* teacher_only */
}

/* ---- a checkpoint from before the layout table --------------------------- */

static void test_old_checkpoint_loads(void)
{
    if (!fixture()) return;
    char old[800], src[900], dst[900], out1[16384], out2[16384], p1[900], p2[900];
    snprintf(old, sizeof old, "%s/old_run", fx.dir);
    CU_ASSERT_FATAL(mkdir(old, 0777) == 0);
    snprintf(src, sizeof src, "%s/checkpoint.h5", fx.run[2]);
    snprintf(dst, sizeof dst, "%s/checkpoint.h5", old);
    CU_ASSERT_FATAL(robust_copy(src, dst, -1));
    int64_t v1 = 1;
    CU_ASSERT_FATAL(robust_h5_delete(dst, "/model/layout"));
    CU_ASSERT_FATAL(robust_h5_set_attr_i64(dst, "/", "format_version", &v1, 1));
    hid_t f = H5Fopen(dst, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT(f >= 0 && H5Lexists(f, "/model/layout", H5P_DEFAULT) == 0);
    if (f >= 0) H5Fclose(f);
    const char *r1[] = {"retrieve", "--run", fx.run[2], "--data", fx.data, "--user", "7", "--k", "10", NULL};
    const char *r2[] = {"retrieve", "--run", old, "--data", fx.data, "--user", "7", "--k", "10", NULL};
    CU_ASSERT(robust_expect_exit(r1, 0, 0, "top 10", out1, sizeof out1));
    CU_ASSERT(robust_expect_exit(r2, 0, 0, "top 10", out2, sizeof out2));
    CU_ASSERT_STRING_EQUAL(out1, out2);
    snprintf(p1, sizeof p1, "%s/new", fx.dir);
    snprintf(p2, sizeof p2, "%s/old", fx.dir);
    const char *e1[] = {"export", "vectors", "--run", fx.run[2], "--data", fx.data, "--out", p1, NULL};
    const char *e2[] = {"export", "vectors", "--run", old, "--data", fx.data, "--out", p2, "--which", "best", NULL};
    CU_ASSERT(robust_expect_exit(e1, 0, 0, NULL, out1, sizeof out1));
    CU_ASSERT(robust_expect_exit(e2, 0, 0, NULL, out2, sizeof out2));
    snprintf(p1, sizeof p1, "%s/new.users.npy", fx.dir);
    snprintf(p2, sizeof p2, "%s/old.users.npy", fx.dir);
    CU_ASSERT(same_bytes(p1, p2));
}

/* ---- bad input ------------------------------------------------------------ */

static int leftovers(const char *dir, const char *base)
{
    char prefix[256];
    snprintf(prefix, sizeof prefix, ".%s", base);
    return count_prefixed(dir, base) + count_prefixed(dir, prefix);
}

static void test_bad_input(void)
{
    if (!fixture()) return;
    char out[16384], empty[800], other[800], moved[800], nodir[800], target[800];
    snprintf(empty, sizeof empty, "%s/empty_run", fx.dir);
    CU_ASSERT_FATAL(mkdir(empty, 0777) == 0);
    snprintf(target, sizeof target, "%s/bad", fx.dir);

    /* A run directory without a checkpoint. */
    const char *a1[] = {"export", "vectors", "--run", empty, "--data", fx.data, "--out", target, NULL};
    robust_expect_exit(a1, 2, 2, "checkpoint.h5 is missing", out, sizeof out);
    const char *a1p[] = {"export", "predictions", "--run", empty, "--data", fx.data, "--out", "x.csv", NULL};
    robust_expect_exit(a1p, 2, 2, "checkpoint.h5 is missing", out, sizeof out);

    /* A dataset of another schema (other vocabulary sizes). */
    snprintf(other, sizeof other, "%s/other.h5", fx.dir);
    CU_ASSERT_FATAL(robust_synth(other, 90, 50, 3000, 9));
    const char *a2[] = {"export", "vectors", "--run", fx.run[2], "--data", other, "--out", target, NULL};
    robust_expect_exit(a2, 2, 2, "another dataset schema", out, sizeof out);
    char csv[900];
    snprintf(csv, sizeof csv, "%s.csv", target);
    const char *a2p[] = {"export", "predictions", "--run", fx.run[2], "--data", other, "--out", csv, NULL};
    robust_expect_exit(a2p, 2, 2, "another dataset schema", out, sizeof out);
    /* A checkpoint given as the dataset. */
    char ck[900];
    snprintf(ck, sizeof ck, "%s/checkpoint.h5", fx.run[2]);
    const char *a2c[] = {"export", "vectors", "--run", fx.run[2], "--data", ck, "--out", target, NULL};
    robust_expect_exit(a2c, 2, 2, "expected a dataset", out, sizeof out);

    /* --out in a directory that does not exist, or a directory itself. */
    snprintf(nodir, sizeof nodir, "%s/no/such/dir/v", fx.dir);
    const char *a3[] = {"export", "vectors", "--run", fx.run[2], "--data", fx.data, "--out", nodir, NULL};
    robust_expect_exit(a3, 2, 2, "does not exist", out, sizeof out);
    const char *a3p[] = {"export", "predictions", "--run", fx.run[2], "--data", fx.data, "--out", fx.dir, NULL};
    robust_expect_exit(a3p, 2, 2, ".csv or .h5", out, sizeof out);
    char dirh5[900];
    snprintf(dirh5, sizeof dirh5, "%s/adir.h5", fx.dir);
    CU_ASSERT_FATAL(mkdir(dirh5, 0777) == 0);
    const char *a3d[] = {"export", "predictions", "--run", fx.run[2], "--data", fx.data, "--out", dirh5, NULL};
    robust_expect_exit(a3d, 2, 2, "is a directory", out, sizeof out);
    if (geteuid() != 0) {
        char ro[800], rot[900];
        snprintf(ro, sizeof ro, "%s/readonly", fx.dir);
        CU_ASSERT_FATAL(mkdir(ro, 0555) == 0);
        snprintf(rot, sizeof rot, "%s/v", ro);
        const char *a3r[] = {"export", "vectors", "--run", fx.run[2], "--data", fx.data, "--out", rot, NULL};
        robust_expect_exit(a3r, 2, 2, "not writable", out, sizeof out);
        CU_ASSERT_EQUAL(count_prefixed(ro, ""), 2); /* "." and ".." */
    } else {
        tu_skip("export bad input", "running as root: a read-only directory is writable, that case is not checked");
    }

    char slash[900];
    snprintf(slash, sizeof slash, "%s/", fx.dir);
    const char *a3s[] = {"export", "vectors", "--run", fx.run[2], "--data", fx.data, "--out", slash, NULL};
    robust_expect_exit(a3s, 2, 2, "give a file name prefix", out, sizeof out);
    CU_ASSERT_EQUAL(count_prefixed(fx.dir, ".items"), 0);

    /* A split with no rows (every sample moved to train). */
    snprintf(moved, sizeof moved, "%s/all_train.h5", fx.dir);
    CU_ASSERT_FATAL(robust_move_all_rows(fx.data, moved, 0));
    const char *a4[] = {"export", "predictions", "--run", fx.run[2], "--data", moved, "--out", csv, "--split", "test",
                        NULL};
    robust_expect_exit(a4, 2, 2, "has no rows", out, sizeof out);
    const char *a4s[] = {"export", "predictions", "--run", fx.run[2], "--data", fx.data, "--out", csv, "--split",
                         "holdout", NULL};
    robust_expect_exit(a4s, 2, 2, "expected train, val or test", out, sizeof out);

    /* teacher_only has no towers. */
    const char *a5[] = {"export", "vectors", "--run", fx.run[6], "--data", fx.data, "--out", target, NULL};
    robust_expect_exit(a5, 2, 2, "no towers", out, sizeof out);

    /* Nothing under any of the names, no temporary left. */
    CU_ASSERT_EQUAL(leftovers(fx.dir, "bad"), 0);
    CU_ASSERT_FALSE(file_exists(csv));
}

static void test_cleanup(void)
{
    if (fx.dir[0]) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx.dir);
        CU_ASSERT_EQUAL(system(cmd), 0);
    }
}

int register_export_suites(void)
{
    static const char *const names[] = {"exported vectors: brute-force top-K equals retrieve (3 variants, l2norm on/off)",
                                        "exported predictions: AUCs recomputed from the files equal eval's",
                                        "layout table covers /model/params exactly once",
                                        "a checkpoint without the layout table (version 1) still loads",
                                        "bad input exits 2 and leaves nothing under --out",
                                        "cleanup"};
    static const CU_TestFunc tests[] = {test_vectors_match_retrieve, test_predictions_match_eval,
                                        test_layout_covers_params,   test_old_checkpoint_loads,
                                        test_bad_input,              test_cleanup};
    return tu_add_suite("eval_export", names, tests, sizeof tests / sizeof tests[0]);
}
