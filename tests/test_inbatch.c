/* layer_inbatch: the pieces of the in-batch softmax of the towers against
 * double re-implementations written here and central differences of those
 * (h = 1e-5 in double):
 *   - the score matrix S = U V^T and its backward against brute-force dot
 *     products (the layer itself is one matmul per product), full and tail
 *     row counts, overwrite and accumulate;
 *   - the row softmax cross-entropy with and without the logQ shift, with
 *     accidental hits left out by key, with row weights and rows of weight 0;
 *   - the whole in-batch loss L(U, V) through the score matrix, with and
 *     without the logQ correction, by finite differences in U and V;
 *   - the row L2 normalisation and its backward. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loss_tests.h"
#include "nn/dnnl_ctx.h"
#include "nn/l2norm.h"
#include "nn/score_matrix.h"
#include "nn/softmax_loss.h"
#include "suites.h"
#include "testutil.h"

#define R 37 /* rows of the batch: not a multiple of any tile or vector width */
#define K 9

static void test_score_matrix_brute_force(void)
{
    nn_ctx *ctx = NULL;
    CU_ASSERT_EQUAL_FATAL(nn_ctx_create(&ctx), DMMP_OK);
    score_matrix sm;
    dmmp_status s = score_matrix_init(&sm, ctx, "test scores", R, K);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    static float u[R * K], v[R * K], S[R * R], dS[R * R], du[R * K], dv[R * K];
    rng r;
    rng_stream(&r, 31, 1);
    tu_fill(&r, u, R * K, -1, 1);
    tu_fill(&r, v, R * K, -1, 1);
    tu_fill(&r, dS, R * R, -1, 1);
    const int counts[2] = {R, 20}; /* the full shape, then a tail */
    for (int c = 0; c < 2; c++) {
        int n = counts[c];
        CU_ASSERT_EQUAL_FATAL(score_matrix_forward(&sm, u, v, n, S), DMMP_OK);
        double worst = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double dot = 0;
                for (int k = 0; k < K; k++) dot += (double)u[i * K + k] * v[j * K + k];
                worst = fmax(worst, fabs(S[i * n + j] - dot));
            }
        TU_ASSERT_MSG(worst < 1e-5, "%d rows: S differs from the dot products by %g", n, worst);
        for (int acc = 0; acc < 2; acc++) {
            for (int i = 0; i < n * K; i++) du[i] = dv[i] = acc ? 0.5f : 99.0f;
            CU_ASSERT_EQUAL_FATAL(score_matrix_backward(&sm, u, v, dS, n, du, acc, dv, acc), DMMP_OK);
            double wu = 0, wv = 0;
            for (int i = 0; i < n; i++)
                for (int k = 0; k < K; k++) {
                    double gu = acc ? 0.5 : 0, gv = acc ? 0.5 : 0;
                    for (int j = 0; j < n; j++) {
                        gu += (double)dS[i * n + j] * v[j * K + k];
                        gv += (double)dS[j * n + i] * u[j * K + k];
                    }
                    wu = fmax(wu, fabs(du[i * K + k] - gu));
                    wv = fmax(wv, fabs(dv[i * K + k] - gv));
                }
            TU_ASSERT_MSG(wu < 1e-5 && wv < 1e-5, "%d rows, accumulate %d: dU off by %g, dV by %g", n, acc, wu, wv);
        }
    }
    CU_ASSERT_EQUAL(score_matrix_forward(&sm, u, v, R + 1, S), DMMP_EINVAL);
    TU_ASSERT_MSG(strstr(dmmp_errmsg(), "test scores") != NULL, "%s", dmmp_errmsg());
    score_matrix_free(&sm);
    nn_ctx_destroy(ctx);
}

/* One in-batch case: rows i with weight w[i] and target column i. */
typedef struct xent_case {
    int n;
    double inv_temp;
    const float *shift; /* -log q (NULL: no correction) */
    const int32_t *key;
    const float *w;
} xent_case;

/* The loss of a score matrix x (n x n, double) by the formula. */
static double xent_ref(const double *x, const xent_case *c)
{
    double total = 0, wsum = 0;
    for (int i = 0; i < c->n; i++) {
        double wi = c->w ? c->w[i] : 1.0;
        wsum += wi;
        if (wi == 0) continue;
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j < c->n; j++) {
            if (c->key && j != i && c->key[j] == c->key[i]) continue;
            mx = fmax(mx, c->inv_temp * x[i * c->n + j] + (c->shift ? c->shift[j] : 0.0));
        }
        for (int j = 0; j < c->n; j++) {
            if (c->key && j != i && c->key[j] == c->key[i]) continue;
            sum += exp(c->inv_temp * x[i * c->n + j] + (c->shift ? c->shift[j] : 0.0) - mx);
        }
        total += wi * (mx + log(sum) - c->inv_temp * x[i * c->n + i] - (c->shift ? c->shift[i] : 0.0));
    }
    return wsum > 0 ? total / wsum : 0.0;
}

static double xent_objective(const double *x, void *ctx) { return xent_ref(x, ctx); }

static void fill_case(rng *r, float *shift, int32_t *key, float *w, int n)
{
    for (int j = 0; j < n; j++) {
        /* log q of a popularity-skewed candidate distribution */
        shift[j] = (float)-log((1.0 + (j * 7) % 11) / (6.0 * n));
        key[j] = j % 5 == 2 ? 1000 + j / 10 : j; /* some columns repeat an item */
        w[j] = j % 4 == 3 ? 0.0f : (float)(0.5 + rng_uniform(r));
    }
}

static void test_softmax_xent_gradients(void)
{
    enum { N = 23 };
    static float x[N * N], dx[N * N], shift[N], w[N];
    static double xd[N * N];
    int32_t key[N], target[N];
    rng r;
    rng_stream(&r, 31, 2);
    tu_fill(&r, x, N * N, -4, 4);
    fill_case(&r, shift, key, w, N);
    for (int i = 0; i < N; i++) target[i] = i;
    for (int i = 0; i < N * N; i++) xd[i] = x[i];
    for (int variant = 0; variant < 4; variant++) {
        xent_case c = {N, 0.8, variant & 1 ? shift : NULL, variant & 2 ? key : NULL, variant ? w : NULL};
        double loss;
        dmmp_status s = softmax_xent_forward_backward(x, N, N, 0.8f, c.shift, c.key, target, c.w, dx, &loss);
        TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
        TU_ASSERT_NEAR(loss, xent_ref(xd, &c), 1e-5 * (1 + fabs(loss)));
        int ok = 1;
        for (int i = 0; i < N * N; i++) {
            double fd = fd_central(xent_objective, &c, xd, i, 1e-5);
            if (!fd_close(dx[i], fd, 2e-6, 1e-3)) {
                printf("\n    variant %d: dx[%d] = %.7g, finite difference %.7g", variant, i, dx[i], fd);
                ok = 0;
            }
        }
        TU_ASSERT_MSG(ok, "softmax cross-entropy gradient, variant %d", variant);
        if (variant & 2) /* the columns left out of row i get no gradient from it */
            for (int i = 0; i < N; i++)
                for (int j = 0; j < N; j++)
                    if (j != i && key[j] == key[i]) CU_ASSERT_EQUAL(dx[i * N + j], 0.0f);
    }
    /* Weights that sum to 0: loss 0, gradient 0. */
    float zero_w[N] = {0};
    double loss = 1;
    CU_ASSERT_EQUAL(softmax_xent_forward_backward(x, N, N, 1.0f, NULL, NULL, target, zero_w, dx, &loss), DMMP_OK);
    CU_ASSERT_EQUAL(loss, 0.0);
    CU_ASSERT_EQUAL(dx[5], 0.0f);
    /* Bad arguments name what is wrong. */
    target[3] = N;
    CU_ASSERT_EQUAL(softmax_xent_forward_backward(x, N, N, 1.0f, NULL, NULL, target, NULL, dx, &loss), DMMP_EINVAL);
    TU_ASSERT_MSG(strstr(dmmp_errmsg(), "row 3") != NULL, "%s", dmmp_errmsg());
    target[3] = 3;
    w[2] = -1.0f;
    CU_ASSERT_EQUAL(softmax_xent_forward_backward(x, N, N, 1.0f, NULL, NULL, target, w, dx, &loss), DMMP_EINVAL);
    x[7] = NAN;
    CU_ASSERT_EQUAL(softmax_xent_forward_backward(x, N, N, 1.0f, NULL, NULL, target, NULL, dx, &loss), DMMP_ENUMERIC);
}

/* The whole in-batch loss through the score matrix: L(U, V) by the formula
 * in double, its gradient from the layers in float. */
typedef struct inbatch_case {
    xent_case xc;
} inbatch_case;

static double inbatch_objective(const double *p, void *ctx)
{
    const inbatch_case *c = ctx;
    int n = c->xc.n;
    static double S[R * R];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double dot = 0;
            for (int k = 0; k < K; k++) dot += p[i * K + k] * p[n * K + j * K + k];
            S[i * n + j] = dot;
        }
    return xent_ref(S, &c->xc);
}

static void test_inbatch_loss_gradients(void)
{
    nn_ctx *ctx = NULL;
    CU_ASSERT_EQUAL_FATAL(nn_ctx_create(&ctx), DMMP_OK);
    score_matrix sm;
    CU_ASSERT_EQUAL_FATAL(score_matrix_init(&sm, ctx, "inbatch", R, K), DMMP_OK);
    static float uv[2 * R * K], S[R * R], dS[R * R], du[R * K], dv[R * K], shift[R], w[R];
    static double p[2 * R * K];
    int32_t key[R], target[R];
    rng r;
    rng_stream(&r, 31, 3);
    tu_fill(&r, uv, 2 * R * K, -0.8f, 0.8f);
    fill_case(&r, shift, key, w, R);
    for (int i = 0; i < R; i++) target[i] = i;
    for (int i = 0; i < 2 * R * K; i++) p[i] = uv[i];
    for (int logq = 0; logq < 2; logq++) {
        inbatch_case c = {{R, 1.0 / 0.7, logq ? shift : NULL, key, w}};
        double loss;
        CU_ASSERT_EQUAL_FATAL(score_matrix_forward(&sm, uv, uv + R * K, R, S), DMMP_OK);
        dmmp_status s = softmax_xent_forward_backward(S, R, R, (float)(1.0 / 0.7), c.xc.shift, key, target, w, dS, &loss);
        TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
        CU_ASSERT_EQUAL_FATAL(score_matrix_backward(&sm, uv, uv + R * K, dS, R, du, 0, dv, 0), DMMP_OK);
        TU_ASSERT_NEAR(loss, inbatch_objective(p, &c), 1e-5 * (1 + fabs(loss)));
        int ok = 1;
        for (int i = 0; i < 2 * R * K; i += 3) {
            double fd = fd_central(inbatch_objective, &c, p, i, 1e-5);
            double an = i < R * K ? du[i] : dv[i - R * K];
            if (!fd_close(an, fd, 2e-6, 2e-3)) {
                printf("\n    logq %d: %s[%d] = %.7g, finite difference %.7g", logq, i < R * K ? "dU" : "dV",
                       i % (R * K), an, fd);
                ok = 0;
            }
        }
        TU_ASSERT_MSG(ok, "in-batch loss gradient, logq %d", logq);
    }
    score_matrix_free(&sm);
    nn_ctx_destroy(ctx);
}

typedef struct norm_case {
    const float *dy;
    int rows;
} norm_case;

static double norm_objective(const double *x, void *ctx)
{
    const norm_case *c = ctx;
    double l = 0;
    for (int r = 0; r < c->rows; r++) {
        double n2 = 0;
        for (int k = 0; k < K; k++) n2 += x[r * K + k] * x[r * K + k];
        double inv = 1.0 / fmax(sqrt(n2), 1e-6);
        for (int k = 0; k < K; k++) l += c->dy[r * K + k] * x[r * K + k] * inv;
    }
    return l;
}

static void test_l2norm_gradients(void)
{
    enum { NR = 6 };
    float x[NR * K], y[NR * K], dy[NR * K], dx[NR * K];
    double xd[NR * K];
    rng r;
    rng_stream(&r, 31, 4);
    tu_fill(&r, x, NR * K, -2, 2);
    for (int k = 0; k < K; k++) x[4 * K + k] = 0.0f; /* a zero row: clamped, scores 0 */
    tu_fill(&r, dy, NR * K, -1, 1);
    for (int i = 0; i < NR * K; i++) dx[i] = 0.25f;
    l2norm_rows_forward(x, NR, K, y);
    l2norm_rows_backward(x, y, dy, NR, K, dx);
    for (int row = 0; row < NR; row++) {
        double n2 = 0;
        for (int k = 0; k < K; k++) n2 += (double)y[row * K + k] * y[row * K + k];
        if (row != 4) TU_ASSERT_NEAR(n2, 1.0, 1e-6);
    }
    for (int i = 0; i < NR * K; i++) xd[i] = x[i];
    norm_case c = {dy, NR};
    int ok = 1;
    for (int i = 0; i < NR * K; i++) {
        if (i / K == 4) continue; /* no derivative at the clamp's corner */
        double fd = fd_central(norm_objective, &c, xd, i, 1e-5);
        ok &= fd_close(dx[i] - 0.25, fd, 1e-5, 1e-4);
    }
    TU_ASSERT_MSG(ok, "l2 normalisation gradient");
}

int register_inbatch_suites(void)
{
    static const char *const names[] = {
        "score matrix U V^T and its backward against brute-force dot products (full and tail rows)",
        "softmax cross-entropy: finite differences with and without logQ, accidental hits left out, weights",
        "in-batch loss through the score matrix: finite differences in U and V, with and without logQ",
        "row L2 normalisation: finite differences",
    };
    static const CU_TestFunc fns[] = {test_score_matrix_brute_force, test_softmax_xent_gradients,
                                      test_inbatch_loss_gradients, test_l2norm_gradients};
    return tu_add_suite("layer_inbatch", names, fns, sizeof fns / sizeof fns[0]);
}
