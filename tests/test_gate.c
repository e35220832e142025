/* layer_gate and layer_score: gate softmax and expert mixing, score fusion
 * and tower scores against double re-implementations of the formulas
 * and central finite differences of those (h = 1e-5 in double: truncation
 * and rounding both ~1e-10, so the tolerances below are the float rounding
 * of the implementation). Each FD objective is L = sum_b <dout[b], out[b]>
 * for a random dout, whose gradient is exactly what backward receives. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loss_tests.h"
#include "nn/gate.h"
#include "nn/score.h"
#include "testutil.h"

#define B 5
#define NE 3
#define D 17 /* crosses the 8- and 16-lane vector widths */

typedef struct mix_case {
    const float *dout;
} mix_case;

/* x = [logits (B x NE), expert 0, expert 1, expert 2 (each B x D)]. */
static double mix_objective(const double *x, void *ctx)
{
    const mix_case *c = ctx;
    double l = 0;
    for (int b = 0; b < B; b++) {
        double mx = -INFINITY, sum = 0, g[NE];
        for (int k = 0; k < NE; k++) mx = fmax(mx, x[b * NE + k]);
        for (int k = 0; k < NE; k++) sum += g[k] = exp(x[b * NE + k] - mx);
        for (int j = 0; j < D; j++) {
            double o = 0;
            for (int k = 0; k < NE; k++) o += g[k] / sum * x[B * NE + k * B * D + b * D + j];
            l += c->dout[b * D + j] * o;
        }
    }
    return l;
}

static void test_gate_mix_gradients(void)
{
    float params[B * NE + NE * B * D], dout[B * D], probs[B * NE], out[B * D], dlogits[B * NE];
    float dexp[NE][B * D], dexp0[NE][B * D];
    double x[B * NE + NE * B * D];
    rng r;
    rng_stream(&r, 21, 1);
    tu_fill(&r, params, B * NE, -3, 3);
    tu_fill(&r, params + B * NE, NE * B * D, -1, 1);
    tu_fill(&r, dout, B * D, -1, 1);
    tu_fill(&r, dexp0[0], NE * B * D, -1, 1);
    memcpy(dexp, dexp0, sizeof dexp);
    for (int i = 0; i < B * NE; i++) dlogits[i] = 99.0f; /* overwritten */
    const float *experts[NE] = {params + B * NE, params + B * NE + B * D, params + B * NE + 2 * B * D};
    float *dexperts[NE] = {dexp[0], dexp[1], dexp[2]};
    gate_mix_forward(params, B, NE, experts, D, probs, out);
    gate_mix_backward(probs, B, NE, experts, D, dout, dexperts, NULL, dlogits);
    for (int i = 0; i < (int)(sizeof x / sizeof x[0]); i++) x[i] = params[i];
    mix_case c = {dout};
    for (int b = 0; b < B; b++) {
        double s = 0;
        for (int k = 0; k < NE; k++) s += probs[b * NE + k];
        TU_ASSERT_NEAR(s, 1.0, 4e-7);
        for (int j = 0; j < D; j++) {
            /* out[b, j] is d L / d dout[b, j]: compare with the double mixture. */
            double ref = 0, mx = -INFINITY, sum = 0;
            for (int k = 0; k < NE; k++) mx = fmax(mx, x[b * NE + k]);
            for (int k = 0; k < NE; k++) sum += exp(x[b * NE + k] - mx);
            for (int k = 0; k < NE; k++) ref += exp(x[b * NE + k] - mx) / sum * experts[k][b * D + j];
            TU_ASSERT_NEAR(out[b * D + j], ref, 1e-6);
        }
    }
    for (int i = 0; i < B * NE; i++) {
        double fd = fd_central(mix_objective, &c, x, i, 1e-5);
        TU_ASSERT_MSG(fd_close(dlogits[i], fd, 2e-6, 1e-5), "dlogits[%d] = %.9g, fd %.9g", i, dlogits[i], fd);
    }
    for (int k = 0; k < NE; k++)
        for (int i = 0; i < B * D; i++) {
            double fd = fd_central(mix_objective, &c, x, B * NE + k * B * D + i, 1e-5);
            double got = (double)dexp[k][i] - dexp0[k][i];
            TU_ASSERT_MSG(fd_close(got, fd, 1e-6, 1e-5), "dexpert%d[%d] = %.9g, fd %.9g", k, i, got, fd);
        }
}

/* dexperts accumulate across calls (a shared expert feeding two gates),
 * dlogits is overwritten, a NULL dexperts entry is skipped. */
static void test_gate_mix_accumulates(void)
{
    float logits[B * NE], e[NE][B * D], dout[B * D], probs[B * NE], out[B * D], dl1[B * NE], dl2[B * NE];
    float once[B * D] = {0}, twice[B * D] = {0}, other[B * D] = {0};
    rng r;
    rng_stream(&r, 21, 2);
    tu_fill(&r, logits, B * NE, -2, 2);
    tu_fill(&r, e[0], NE * B * D, -1, 1);
    tu_fill(&r, dout, B * D, -1, 1);
    const float *experts[NE] = {e[0], e[1], e[2]};
    float *d_once[NE] = {once, NULL, other}, *d_twice[NE] = {twice, NULL, NULL};
    gate_mix_forward(logits, B, NE, experts, D, probs, out);
    gate_mix_backward(probs, B, NE, experts, D, dout, d_once, NULL, dl1);
    gate_mix_backward(probs, B, NE, experts, D, dout, d_twice, NULL, dl2);
    gate_mix_backward(probs, B, NE, experts, D, dout, d_twice, NULL, dl2);
    for (int i = 0; i < B * D; i++) TU_ASSERT_NEAR(twice[i], 2.0 * once[i], 1e-6);
    CU_ASSERT_EQUAL(memcmp(dl1, dl2, sizeof dl1), 0);
    /* overwrite[k] = 1 replaces what the buffer held, 0 adds to it. */
    float replaced[B * D], added[B * D];
    for (int i = 0; i < B * D; i++) replaced[i] = added[i] = 7.0f;
    float *d_mixed[NE] = {replaced, NULL, added};
    const unsigned char overwrite[NE] = {1, 1, 0};
    gate_mix_backward(probs, B, NE, experts, D, dout, d_mixed, overwrite, dl2);
    CU_ASSERT_EQUAL(memcmp(replaced, once, sizeof once), 0);
    for (int i = 0; i < B * D; i++) TU_ASSERT_NEAR(added[i], 7.0 + other[i], 1e-6);
    /* Each row of dlogits sums to 0: softmax is invariant to adding a constant. */
    for (int b = 0; b < B; b++) TU_ASSERT_NEAR(dl1[b * NE] + dl1[b * NE + 1] + dl1[b * NE + 2], 0.0, 1e-6);
}

typedef struct fuse_case {
    const float *dr;
    int through_softmax; /* x starts with gate logits instead of w */
} fuse_case;

/* x = [w or logits (B x 2), s_c (B), s_v (B)]. */
static double fuse_objective(const double *x, void *ctx)
{
    const fuse_case *c = ctx;
    double l = 0;
    for (int b = 0; b < B; b++) {
        double w0 = x[2 * b], w1 = x[2 * b + 1];
        if (c->through_softmax) {
            w0 = 1.0 / (1.0 + exp(x[2 * b + 1] - x[2 * b]));
            w1 = 1.0 - w0;
        }
        l += c->dr[b] * (w0 * x[2 * B + b] + w1 * x[3 * B + b]);
    }
    return l;
}

static void test_fuse_scores_gradients(void)
{
    float p[4 * B], dr[B], w[2 * B], rr[B], dw[2 * B], ds[2 * B], ds0[2 * B], dl[2 * B];
    double x[4 * B];
    rng r;
    rng_stream(&r, 21, 3);
    tu_fill(&r, p, 4 * B, -2, 2);
    tu_fill(&r, dr, B, -1, 1);
    tu_fill(&r, ds0, 2 * B, -1, 1);
    for (int through = 0; through < 2; through++) {
        fuse_case c = {dr, through};
        if (through) softmax2_forward(p, B, w);
        else memcpy(w, p, sizeof w);
        for (int b = 0; through && b < B; b++) TU_ASSERT_NEAR(w[2 * b] + w[2 * b + 1], 1.0, 2e-7);
        fuse_scores_forward(w, p + 2 * B, p + 3 * B, B, rr);
        memcpy(ds, ds0, sizeof ds);
        for (int i = 0; i < 2 * B; i++) dw[i] = 99.0f;
        fuse_scores_backward(w, p + 2 * B, p + 3 * B, dr, B, dw, ds, ds + B);
        if (through) softmax2_backward(w, dw, B, dl);
        else memcpy(dl, dw, sizeof dl);
        for (int i = 0; i < 4 * B; i++) x[i] = p[i];
        for (int b = 0; b < B; b++) {
            double w0 = through ? 1.0 / (1.0 + exp(x[2 * b + 1] - x[2 * b])) : x[2 * b];
            double w1 = through ? 1.0 - w0 : x[2 * b + 1];
            TU_ASSERT_NEAR(rr[b], w0 * x[2 * B + b] + w1 * x[3 * B + b], 1e-6);
        }
        for (int i = 0; i < 2 * B; i++) {
            double fd = fd_central(fuse_objective, &c, x, i, 1e-5);
            TU_ASSERT_MSG(fd_close(dl[i], fd, 1e-6, 1e-5), "softmax %d: dw/dlogits[%d] = %.9g, fd %.9g", through, i,
                          dl[i], fd);
        }
        for (int i = 0; i < 2 * B; i++) {
            double fd = fd_central(fuse_objective, &c, x, 2 * B + i, 1e-5);
            double got = (double)ds[i] - ds0[i];
            TU_ASSERT_MSG(fd_close(got, fd, 1e-6, 1e-5), "ds[%d] = %.9g, fd %.9g", i, got, fd);
        }
    }
}

#define K 19

typedef struct score_case {
    const float *ds;
    double tau, bias;
    int l2norm;
} score_case;

static double norm_d(const double *x)
{
    double s = 0;
    for (int j = 0; j < K; j++) s += x[j] * x[j];
    return fmax(sqrt(s), (double)SCORE_L2_EPS);
}

/* x = [u (B x K), v (B x K)]: the score of row b in double. */
static double score_row(const double *x, const score_case *c, int b)
{
    const double *u = x + b * K, *v = x + B * K + b * K;
    double dot = 0, nu = c->l2norm ? norm_d(u) : 1.0, nv = c->l2norm ? norm_d(v) : 1.0;
    for (int j = 0; j < K; j++) dot += u[j] * v[j];
    return dot / (nu * nv) / c->tau + c->bias;
}

static double score_objective(const double *x, void *ctx)
{
    const score_case *c = ctx;
    double l = 0;
    for (int b = 0; b < B; b++) l += c->ds[b] * score_row(x, c, b);
    return l;
}

static void check_tower_score(int l2norm, float tau)
{
    float uv[2 * B * K], un[B * K], vn[B * K], s[B], ds[B], duv[2 * B * K], duv0[2 * B * K], dbias = 0.25f;
    double x[2 * B * K];
    rng r;
    rng_stream(&r, 21, 4 + (uint64_t)l2norm);
    tu_fill(&r, uv, 2 * B * K, -1, 1);
    tu_fill(&r, ds, B, -1, 1);
    tu_fill(&r, duv0, 2 * B * K, -1, 1);
    memcpy(duv, duv0, sizeof duv);
    score_case c = {ds, tau, 0.3, l2norm};
    tower_score_forward(uv, uv + B * K, B, K, tau, l2norm, 0.3f, s, l2norm ? un : NULL, l2norm ? vn : NULL);
    tower_score_backward(uv, uv + B * K, l2norm ? un : NULL, l2norm ? vn : NULL, B, K, tau, l2norm, ds, duv,
                         duv + B * K, &dbias);
    for (int i = 0; i < 2 * B * K; i++) x[i] = uv[i];
    double sum_ds = 0;
    for (int b = 0; b < B; b++) {
        TU_ASSERT_NEAR(s[b], score_row(x, &c, b), 2e-6 / tau);
        sum_ds += ds[b];
    }
    TU_ASSERT_NEAR(dbias, 0.25 + sum_ds, 1e-6);
    for (int i = 0; i < 2 * B * K; i++) {
        double fd = fd_central(score_objective, &c, x, i, 1e-5);
        double got = (double)duv[i] - duv0[i];
        TU_ASSERT_MSG(fd_close(got, fd, 2e-6, 1e-5), "l2norm %d tau %g: d%c[%d] = %.9g, fd %.9g", l2norm, tau,
                      i < B * K ? 'u' : 'v', i % (B * K), got, fd);
    }
    for (int b = 0; l2norm && b < B; b++) {
        double nu = 0, nv = 0;
        for (int j = 0; j < K; j++) {
            nu += (double)un[b * K + j] * un[b * K + j];
            nv += (double)vn[b * K + j] * vn[b * K + j];
        }
        TU_ASSERT_NEAR(nu, 1.0, 1e-6);
        TU_ASSERT_NEAR(nv, 1.0, 1e-6);
    }
}

static void test_tower_score_gradients(void)
{
    check_tower_score(0, 1.0f);
    check_tower_score(0, 0.2f);
    check_tower_score(1, 1.0f);
    check_tower_score(1, 0.05f);
}

/* A zero tower output scores bias, with finite gradients: through the eps
 * clamp du = ds v_n / (tau eps), while dv gets nothing from a zero u. */
static void test_tower_score_zero_vector(void)
{
    float u[2 * K] = {0}, v[2 * K], un[2 * K], vn[2 * K], s[2], ds[2] = {1.0f, 1.0f}, du[2 * K] = {0}, dv[2 * K] = {0};
    rng r;
    rng_stream(&r, 21, 9);
    tu_fill(&r, v, 2 * K, -1, 1);
    tu_fill(&r, u + K, K, -1, 1);
    tower_score_forward(u, v, 2, K, 0.5f, 1, 0.1f, s, un, vn);
    TU_ASSERT_NEAR(s[0], 0.1, 1e-7);
    double vnorm = 0;
    for (int j = 0; j < K; j++) vnorm += (double)v[j] * v[j];
    vnorm = sqrt(vnorm);
    tower_score_backward(u, v, un, vn, 2, K, 0.5f, 1, ds, du, dv, NULL);
    for (int j = 0; j < K; j++) {
        double expect = v[j] / vnorm / (0.5 * SCORE_L2_EPS);
        TU_ASSERT_NEAR(du[j], expect, 1e-5 * fabs(expect) + 1e-3);
        CU_ASSERT_EQUAL(dv[j], 0.0f);
    }
    double n1 = 0;
    for (int j = 0; j < K; j++) n1 += (double)un[K + j] * un[K + j];
    TU_ASSERT_NEAR(n1, 1.0, 1e-6);
}

static int register_gate(void)
{
    static const char *const names[] = {
        "gate_mix gradients (logits, every expert)", "gate_mix accumulation", "fuse_scores and softmax2 gradients",
    };
    static const CU_TestFunc tests[] = {test_gate_mix_gradients, test_gate_mix_accumulates, test_fuse_scores_gradients};
    return tu_add_suite("layer_gate", names, tests, sizeof tests / sizeof tests[0]);
}

int register_gate_score_suites(void)
{
    static const char *const names[] = {"tower_score gradients (l2norm, tau)", "tower_score zero vector"};
    static const CU_TestFunc tests[] = {test_tower_score_gradients, test_tower_score_zero_vector};
    if (register_gate() != 0) return -1;
    return tu_add_suite("layer_score", names, tests, sizeof tests / sizeof tests[0]);
}
