/* kernel_act_xent: the in-batch softmax cross-entropy and log-sigmoid
 * kernels. The scalar table against double formulas written here (with
 * column biases, row weights of 0, and keys that leave columns out), every
 * SIMD table against the scalar one, on unaligned rows of awkward widths
 * with guard elements that must stay untouched. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simd/act.h"
#include "suites.h"
#include "testutil.h"

static const size_t shapes[][2] = {{1, 1}, {3, 2}, {5, 7}, {4, 8}, {2, 15}, {3, 16}, {6, 17}, {7, 33}, {2, 300}};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])

/* The double reference of one row: loss and gradient into g (cols). */
static double xent_row_ref(const float *x, size_t cols, float scale, const float *bias, const int32_t *key, size_t t,
                           double w, double grad_scale, double *g)
{
    double mx = -INFINITY;
    int *in = malloc(cols * sizeof *in);
    for (size_t j = 0; j < cols; j++) {
        in[j] = !key || j == t || key[j] != key[t];
        double l = (double)scale * x[j] + (bias ? bias[j] : 0.0);
        if (in[j]) mx = fmax(mx, l);
    }
    double sum = 0;
    for (size_t j = 0; j < cols; j++)
        if (in[j]) sum += exp((double)scale * x[j] + (bias ? bias[j] : 0.0) - mx);
    double lt = (double)scale * x[t] + (bias ? bias[t] : 0.0);
    for (size_t j = 0; j < cols; j++) {
        double p = in[j] ? exp((double)scale * x[j] + (bias ? bias[j] : 0.0) - mx) / sum : 0.0;
        g[j] = grad_scale * w * scale * (p - (j == t ? 1.0 : 0.0));
    }
    free(in);
    return w * (mx + log(sum) - lt);
}

static void test_softmax_xent(void)
{
    rng r;
    rng_stream(&r, 21, 1);
    const float scale = 0.7f, grad_scale = 0.125f;
    for (size_t c = 0; c < N_SHAPES; c++) {
        size_t rows = shapes[c][0], cols = shapes[c][1], n = rows * cols;
        float *x = tu_alloc_unaligned(n), *bias = tu_alloc_unaligned(cols), *w = tu_alloc_unaligned(rows);
        float *ref = tu_alloc_guarded(n), *out = tu_alloc_guarded(n);
        int32_t *key = malloc(cols * sizeof *key), *target = malloc(rows * sizeof *target);
        double *g = malloc(cols * sizeof *g);
        tu_fill(&r, x, n, -15.0f, 15.0f);
        tu_fill(&r, bias, cols, -6.0f, 0.0f);
        for (size_t j = 0; j < cols; j++) key[j] = (int32_t)rng_below(&r, cols / 3 + 1); /* repeated keys */
        for (size_t i = 0; i < rows; i++) {
            target[i] = (int32_t)rng_below(&r, cols);
            w[i] = i % 3 == 1 ? 0.0f : 0.5f + (float)i; /* some rows skipped */
        }
        for (int variant = 0; variant < 4; variant++) {
            const float *bp = variant & 1 ? bias : NULL;
            const int32_t *kp = variant & 2 ? key : NULL;
            const float *wp = variant == 0 ? NULL : w;
            double got = act_kernels_scalar.softmax_xent_rows(x, rows, cols, scale, bp, kp, target, wp, grad_scale, ref);
            double exact = 0, mass = 0;
            int ok = 1;
            for (size_t i = 0; i < rows; i++) {
                double wi = wp ? wp[i] : 1.0;
                exact += xent_row_ref(x + i * cols, cols, scale, bp, kp, (size_t)target[i], wi, grad_scale, g);
                mass += wi * (20.0 + log((double)cols));
                for (size_t j = 0; j < cols; j++)
                    ok &= fabs(ref[i * cols + j] - g[j]) <= 1e-6 * (cols + 3) * fabs(grad_scale * (wi + 1.0));
                if (wi == 0) /* a skipped row's gradient is exactly 0 */
                    for (size_t j = 0; j < cols; j++) ok &= ref[i * cols + j] == 0.0f;
            }
            TU_ASSERT_MSG(ok, "scalar gradient %zux%zu variant %d", rows, cols, variant);
            TU_ASSERT_NEAR(got, exact, 4.0 * (cols + 3) * FLT_EPSILON * mass);
            CU_ASSERT(tu_guard_intact(ref, n));
            for (int l = 1; l < tu_isa_count(); l++) {
                const act_kernels *k = act_kernels_for(tu_isa_at(l));
                double sg = k->softmax_xent_rows(x, rows, cols, scale, bp, kp, target, wp, grad_scale, out);
                TU_ASSERT_NEAR(sg, got, 8.0 * (cols + 3) * FLT_EPSILON * mass);
                TU_ASSERT_MSG(tu_max_rel_diff(out, ref, n) <= 2e-6 * (cols + 3), "%s %zux%zu variant %d",
                              isa_name(tu_isa_at(l)), rows, cols, variant);
                CU_ASSERT(tu_guard_intact(out, n));
            }
        }
        tu_free_unaligned(x);
        tu_free_unaligned(bias);
        tu_free_unaligned(w);
        tu_free_unaligned(ref);
        tu_free_unaligned(out);
        free(key);
        free(target);
        free(g);
    }
}

/* A hand-computed row: logits (0, ln 3) with target 1, so p = (1/4, 3/4)
 * and the loss is -log(3/4); the key of column 0 equal to column 1's leaves
 * it out, and the row's loss becomes 0 with a zero gradient. */
static void test_softmax_xent_hand(void)
{
    const float x[2] = {0.0f, (float)log(3.0)};
    const int32_t target[1] = {1}, same[2] = {5, 5};
    for (int l = 0; l < tu_isa_count(); l++) {
        const act_kernels *k = act_kernels_for(tu_isa_at(l));
        float dx[2];
        double loss = k->softmax_xent_rows(x, 1, 2, 1.0f, NULL, NULL, target, NULL, 1.0f, dx);
        TU_ASSERT_NEAR(loss, -log(0.75), 1e-6);
        TU_ASSERT_NEAR(dx[0], 0.25, 1e-6);
        TU_ASSERT_NEAR(dx[1], -0.25, 1e-6);
        loss = k->softmax_xent_rows(x, 1, 2, 1.0f, NULL, same, target, NULL, 1.0f, dx);
        TU_ASSERT_NEAR(loss, 0.0, 1e-7);
        TU_ASSERT_NEAR(dx[0], 0.0, 0.0);
        TU_ASSERT_NEAR(dx[1], 0.0, 1e-7);
    }
}

/* log sigmoid against double log(1 / (1 + exp(-z))) and its derivative
 * sigmoid(-z), relative. z = a x + c is rounded to float (with or without a
 * fused multiply-add), which moves exp(-|z|) by |z| ulp relative: the bound
 * is (8 + |z|) ulp. The backward against the products it accumulates. */
static void test_log_sigmoid(void)
{
    const size_t n = 20011;
    float *x = tu_alloc_unaligned(n), *y = tu_alloc_guarded(n), *d = tu_alloc_guarded(n);
    float *g = tu_alloc_unaligned(n), *dref = tu_alloc_guarded(n), *dout = tu_alloc_guarded(n);
    float *yref = tu_alloc_guarded(n), *dsref = tu_alloc_guarded(n);
    for (size_t i = 0; i < n; i++) x[i] = -60.0f + 120.0f * (float)i / (float)(n - 1);
    rng r;
    rng_stream(&r, 21, 2);
    tu_fill(&r, g, n, -1.0f, 1.0f);
    const float a = 0.8f, c = 0.3f;
    for (int l = 0; l < tu_isa_count(); l++) {
        const act_kernels *k = act_kernels_for(tu_isa_at(l));
        k->log_sigmoid(x, n, a, c, y, d);
        double worst = 0, worst_d = 0;
        for (size_t i = 0; i < n; i++) {
            double z = (double)a * x[i] + c;
            double exact = z > 0 ? -log1p(exp(-z)) : z - log1p(exp(z));
            double ds = 1.0 / (1.0 + exp(z));
            double ulps = 8.0 + fabs(z);
            worst = fmax(worst, fabs(y[i] - exact) / fmax(fabs(exact), 1e-30) / ulps);
            worst_d = fmax(worst_d, fabs(d[i] - ds) / fmax(ds, 1e-30) / ulps);
        }
        TU_ASSERT_MSG(worst <= FLT_EPSILON, "log_sigmoid %s: relative error %g (8 + |z|) ulp", isa_name(tu_isa_at(l)), worst);
        TU_ASSERT_MSG(worst_d <= FLT_EPSILON, "log_sigmoid %s: derivative error %g (8 + |z|) ulp", isa_name(tu_isa_at(l)),
                      worst_d);
        CU_ASSERT(tu_guard_intact(y, n) && tu_guard_intact(d, n));
        if (l == 0) {
            memcpy(yref, y, n * sizeof *y);
            memcpy(dsref, d, n * sizeof *d);
        }
        for (size_t i = 0; i < n; i++) dout[i] = 0.5f;
        double sum = k->log_sigmoid_backward(dsref, g, n, a, dout), exact_sum = 0;
        int ok = 1;
        for (size_t i = 0; i < n; i++) {
            double p = (double)dsref[i] * g[i];
            exact_sum += p;
            ok &= fabs(dout[i] - (0.5 + a * p)) <= 2e-7;
        }
        TU_ASSERT_MSG(ok, "log_sigmoid_backward %s", isa_name(tu_isa_at(l)));
        TU_ASSERT_NEAR(sum, exact_sum, 1e-9 * n);
        CU_ASSERT(tu_guard_intact(dout, n));
        /* In place over x, and without the derivative. */
        memcpy(dref, x, n * sizeof *x);
        k->log_sigmoid(dref, n, a, c, dref, NULL);
        TU_ASSERT_MSG(tu_max_rel_diff(dref, y, n) == 0, "log_sigmoid in place %s", isa_name(tu_isa_at(l)));
    }
    float *bufs[] = {x, y, d, g, dref, dout, yref, dsref};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) tu_free_unaligned(bufs[i]);
}

int register_act_xent_suites(void)
{
    static const char *const names[] = {
        "softmax cross-entropy rows: scalar vs double, SIMD vs scalar (biases, keys, weights 0)",
        "softmax cross-entropy by hand; a key that leaves the only other column out",
        "log-sigmoid and its backward against double (every ISA)",
    };
    static const CU_TestFunc fns[] = {test_softmax_xent, test_softmax_xent_hand, test_log_sigmoid};
    return tu_add_suite("kernel_act_xent", names, fns, sizeof fns / sizeof fns[0]);
}
