/* layer_loss: the losses against hand-computed values, against central
 * finite differences of an independent double implementation of each
 * formula, at extreme logits, and on bad input. Also registers kernel_act,
 * layer_gate and layer_score (tests/test_act.c, tests/test_gate.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "loss_tests.h"
#include "nn/loss.h"
#include "suites.h"
#include "testutil.h"

enum loss_kind { BCE, PRODUCT, MSE, MSE_SIGMOID, MSE_PRODUCT };

typedef struct loss_case {
    enum loss_kind kind;
    int n;
    const float *t, *w;
    double temperature;
} loss_case;

static double sigmoid_d(double x) { return 1.0 / (1.0 + exp(-x)); }

static double bce_d(double p, double t) { return -(t * log(p) + (1.0 - t) * log(1.0 - p)); }

/* The textbook formulas in double; x holds z (or z1 then z2 for products). */
static double reference_loss(const double *x, void *ctx)
{
    const loss_case *c = ctx;
    double sum = 0, total = 0, tt = c->temperature;
    for (int i = 0; i < c->n; i++) {
        double w = c->w ? c->w[i] : 1.0, t = c->t[i], l = 0;
        switch (c->kind) {
        case BCE: l = tt * tt * bce_d(sigmoid_d(x[i] / tt), t); break;
        case PRODUCT: l = tt * tt * bce_d(sigmoid_d(x[i] / tt) * sigmoid_d(x[c->n + i] / tt), t); break;
        case MSE: l = (x[i] - t) * (x[i] - t); break;
        case MSE_SIGMOID: l = tt * tt * pow(sigmoid_d(x[i] / tt) - t, 2); break;
        case MSE_PRODUCT: l = tt * tt * pow(sigmoid_d(x[i] / tt) * sigmoid_d(x[c->n + i] / tt) - t, 2); break;
        }
        sum += w * l;
        total += w;
    }
    return sum / total;
}

static dmmp_status run_loss(const loss_case *c, const float *z1, const float *z2, float *d1, float *d2, double *loss)
{
    float tt = (float)c->temperature;
    switch (c->kind) {
    case BCE:
        return tt == 1.0f ? bce_logits_forward_backward(z1, c->t, c->w, c->n, d1, loss)
                          : bce_logits_temp(z1, c->t, c->w, c->n, tt, d1, loss);
    case PRODUCT:
        return tt == 1.0f ? bce_product_forward_backward(z1, z2, c->t, c->w, c->n, d1, d2, loss)
                          : bce_product_temp(z1, z2, c->t, c->w, c->n, tt, d1, d2, loss);
    case MSE: return mse_forward_backward(z1, c->t, c->w, c->n, d1, loss);
    case MSE_SIGMOID: return mse_sigmoid_forward_backward(z1, c->t, c->w, c->n, tt, d1, loss);
    case MSE_PRODUCT: return mse_product_forward_backward(z1, z2, c->t, c->w, c->n, tt, d1, d2, loss);
    }
    return DMMP_EINVAL;
}

/* One gradient check. Logits in [-6, 6] (probabilities in [0, 1] for MSE),
 * hard or soft targets, optional 0/1 mask or fractional weights. The
 * gradients start from random values to check they accumulate. FD: central
 * differences of the double reference with h = 1e-5 (truncation h^2 f''' /
 * 6 ~ 1e-11, rounding 1e-16 / h ~ 1e-11), so the tolerance, abs 1e-7 + rel
 * 1e-5, is the float rounding of the implementation's gradient. */
static void check_case(enum loss_kind kind, int soft, int weights, double temperature, uint64_t seed)
{
    const int n = 37; /* full vectors plus a tail under AVX2 and AVX-512 */
    int two = kind == PRODUCT || kind == MSE_PRODUCT;
    float z[2 * 37], t[37], w[37], d[2 * 37], d0[2 * 37];
    double x[2 * 37];
    rng r;
    rng_stream(&r, seed, 0);
    if (kind == MSE) tu_fill(&r, z, n, 0.0f, 1.0f);
    else tu_fill(&r, z, 2 * n, -6.0f, 6.0f);
    tu_fill(&r, d0, 2 * n, -1.0f, 1.0f);
    for (int i = 0; i < n; i++) {
        t[i] = soft ? (float)rng_uniform(&r) : (float)(rng_below(&r, 2));
        w[i] = weights == 1 ? (float)(rng_below(&r, 3) != 0) : (float)(2.0 * rng_uniform(&r));
    }
    loss_case c = {kind, n, t, weights ? w : NULL, temperature};
    memcpy(d, d0, sizeof d);
    double loss = -1;
    CU_ASSERT_EQUAL_FATAL(run_loss(&c, z, z + n, d, d + n, &loss), DMMP_OK);
    for (int i = 0; i < 2 * n; i++) x[i] = z[i];
    double ref = reference_loss(x, &c);
    TU_ASSERT_MSG(fd_close(loss, ref, 1e-9, 1e-6), "kind %d loss %.9g reference %.9g", kind, loss, ref);
    for (int i = 0; i < (two ? 2 : 1) * n; i++) {
        double fd = fd_central(reference_loss, &c, x, i, 1e-5);
        double got = (double)d[i] - d0[i];
        TU_ASSERT_MSG(fd_close(got, fd, 1e-7, 1e-5), "kind %d soft %d weights %d T %g: d[%d] = %.9g, fd %.9g", kind,
                      soft, weights, temperature, i, got, fd);
    }
    if (!two) CU_ASSERT_EQUAL(memcmp(d + n, d0 + n, n * sizeof *d), 0);
    /* Without gradient buffers only the loss is computed, and it is the same. */
    double again = -1;
    CU_ASSERT_EQUAL(run_loss(&c, z, z + n, NULL, NULL, &again), DMMP_OK);
    TU_ASSERT_NEAR(again, loss, 1e-12 * fabs(loss));
}

static void test_bce_hand_values(void)
{
    /* ln 2 for z = 0, t = 1; -ln 0.75 for z = ln 3 (p = 0.75); softplus(2) for z = 2, t = 0. */
    float z[4] = {0.0f, (float)log(3.0), 2.0f, 0.0f}, t[4] = {1, 1, 0, 0.5f}, dz[4] = {0};
    double loss;
    CU_ASSERT_EQUAL(bce_logits_forward_backward(z, t, NULL, 1, dz, &loss), DMMP_OK);
    TU_ASSERT_NEAR(loss, 0.693147180559945, 1e-7);
    TU_ASSERT_NEAR(dz[0], -0.5, 1e-7);
    memset(dz, 0, sizeof dz);
    CU_ASSERT_EQUAL(bce_logits_forward_backward(z, t, NULL, 2, dz, &loss), DMMP_OK);
    TU_ASSERT_NEAR(loss, (0.693147180559945 + 0.287682072451781) / 2, 1e-7);
    TU_ASSERT_NEAR(dz[0], -0.25, 1e-7);
    TU_ASSERT_NEAR(dz[1], -0.125, 1e-7);
    memset(dz, 0, sizeof dz);
    CU_ASSERT_EQUAL(bce_logits_forward_backward(z + 2, t + 2, NULL, 2, dz, &loss), DMMP_OK);
    /* softplus(2) = 2.126928011, soft t = 0.5 at z = 0 is ln 2 with zero gradient. */
    TU_ASSERT_NEAR(loss, (2.126928011042972 + 0.693147180559945) / 2, 1e-7);
    TU_ASSERT_NEAR(dz[0], 0.880797077977882 / 2, 1e-7);
    TU_ASSERT_NEAR(dz[1], 0.0, 1e-9);
    /* Mask {1, 0}: the mean is over the first row only, the second is untouched. */
    float mask[2] = {1, 0};
    memset(dz, 0, sizeof dz);
    CU_ASSERT_EQUAL(bce_logits_forward_backward(z, t, mask, 2, dz, &loss), DMMP_OK);
    TU_ASSERT_NEAR(loss, 0.693147180559945, 1e-7);
    TU_ASSERT_NEAR(dz[0], -0.5, 1e-7);
    CU_ASSERT_EQUAL(dz[1], 0.0f);
    /* T = 2, z = 2, t = 1: 4 softplus(-1) = 1.253046771, dz = 2 (sigmoid(1) - 1) = -0.537882843. */
    memset(dz, 0, sizeof dz);
    CU_ASSERT_EQUAL(bce_logits_temp(z + 2, t, NULL, 1, 2.0f, dz, &loss), DMMP_OK);
    TU_ASSERT_NEAR(loss, 1.253046770693, 1e-6);
    TU_ASSERT_NEAR(dz[0], -0.537882842739990, 1e-7);
}

static void test_product_and_mse_hand_values(void)
{
    /* z1 = z2 = 0: q = 1/4. t = 1: -ln(1/4) = 1.386294361, dz = (q - 1)(1/2)/(3/4) = -1/2.
     * t = 0: -ln(3/4) = 0.287682072, dz = (1/4)(1/2)/(3/4) = 1/6. */
    float z[2] = {0, 0}, t1 = 1.0f, t0 = 0.0f, d1 = 0, d2 = 0;
    double loss;
    CU_ASSERT_EQUAL(bce_product_forward_backward(z, z + 1, &t1, NULL, 1, &d1, &d2, &loss), DMMP_OK);
    TU_ASSERT_NEAR(loss, 1.386294361119891, 1e-9);
    TU_ASSERT_NEAR(d1, -0.5, 1e-7);
    TU_ASSERT_NEAR(d2, -0.5, 1e-7);
    d1 = d2 = 1.0f; /* accumulates */
    CU_ASSERT_EQUAL(bce_product_forward_backward(z, z + 1, &t0, NULL, 1, &d1, &d2, &loss), DMMP_OK);
    TU_ASSERT_NEAR(loss, 0.287682072451781, 1e-9);
    TU_ASSERT_NEAR(d1, 1.0 + 1.0 / 6.0, 1e-7);
    TU_ASSERT_NEAR(d2, 1.0 + 1.0 / 6.0, 1e-7);
    /* MSE: p = {0.5, 1}, t = 0: (0.25 + 1) / 2 = 0.625, dp = {0.5, 1}. */
    float p[2] = {0.5f, 1.0f}, tz[2] = {0, 0}, dp[2] = {0, 0};
    CU_ASSERT_EQUAL(mse_forward_backward(p, tz, NULL, 2, dp, &loss), DMMP_OK);
    TU_ASSERT_NEAR(loss, 0.625, 1e-12);
    TU_ASSERT_NEAR(dp[0], 0.5, 1e-7);
    TU_ASSERT_NEAR(dp[1], 1.0, 1e-7);
    /* MSE on sigmoid(0) = 1/2 against 1: 1/4, dz = 2 (-1/2)(1/4) = -1/4. */
    float dz = 0;
    CU_ASSERT_EQUAL(mse_sigmoid_forward_backward(z, &t1, NULL, 1, 1.0f, &dz, &loss), DMMP_OK);
    TU_ASSERT_NEAR(loss, 0.25, 1e-12);
    TU_ASSERT_NEAR(dz, -0.25, 1e-7);
    /* MSE on the product 1/4 against 0: 1/16, dz1 = 2 (1/4)(1/4)(1/2) = 1/16. */
    d1 = d2 = 0;
    CU_ASSERT_EQUAL(mse_product_forward_backward(z, z + 1, &t0, NULL, 1, 1.0f, &d1, &d2, &loss), DMMP_OK);
    TU_ASSERT_NEAR(loss, 0.0625, 1e-12);
    TU_ASSERT_NEAR(d1, 0.0625, 1e-8);
    TU_ASSERT_NEAR(d2, 0.0625, 1e-8);
}

static void test_bce_gradients(void)
{
    check_case(BCE, 0, 0, 1.0, 1);
    check_case(BCE, 1, 0, 1.0, 2);
    check_case(BCE, 0, 1, 1.0, 3);
    check_case(BCE, 1, 2, 1.0, 4);
    check_case(BCE, 1, 0, 2.0, 5);
    check_case(BCE, 1, 1, 0.5, 6);
}

static void test_product_gradients(void)
{
    check_case(PRODUCT, 0, 0, 1.0, 7);
    check_case(PRODUCT, 1, 0, 1.0, 8);
    check_case(PRODUCT, 0, 1, 1.0, 9);
    check_case(PRODUCT, 1, 2, 3.0, 10);
}

static void test_mse_gradients(void)
{
    check_case(MSE, 1, 0, 1.0, 11);
    check_case(MSE, 1, 2, 1.0, 12);
    check_case(MSE_SIGMOID, 1, 0, 1.0, 13);
    check_case(MSE_SIGMOID, 1, 1, 2.0, 14);
    check_case(MSE_PRODUCT, 1, 0, 1.0, 15);
    check_case(MSE_PRODUCT, 0, 2, 2.5, 16);
}

/* |z| = 50 and 100: finite losses and gradients at their analytic limits.
 * BCE(z, t) = softplus(z) - t z -> max(z, 0) - t z; dz -> step(z) - t. The
 * exp clamp leaves at most FLT_MIN (1.2e-38) of the true tail. */
static void test_bce_extremes(void)
{
    float z[8] = {50, -50, 100, -100, 100, -100, 100, -100}, t[8] = {0, 1, 0, 1, 1, 0, 0.3f, 0.3f}, dz[8] = {0};
    double loss;
    CU_ASSERT_EQUAL(bce_logits_forward_backward(z, t, NULL, 8, dz, &loss), DMMP_OK);
    double expect = (50 + 50 + 100 + 100 + 0 + 0 + 70 + 30) / 8.0;
    TU_ASSERT_NEAR(loss, expect, 1e-5);
    double limit[8] = {1, -1, 1, -1, 0, 0, 0.7, -0.3};
    for (int i = 0; i < 8; i++) TU_ASSERT_NEAR(dz[i], limit[i] / 8, 1e-7);
    memset(dz, 0, sizeof dz);
    CU_ASSERT_EQUAL(bce_logits_temp(z, t, NULL, 8, 2.0f, dz, &loss), DMMP_OK);
    /* At T = 2 the logits halve and the loss is scaled by 4: the same limits times 2. */
    TU_ASSERT_NEAR(loss, 2 * expect, 2e-5);
    for (int i = 0; i < 8; i++) TU_ASSERT_NEAR(dz[i], 2 * limit[i] / 8, 2e-7);
}

/* The product near q = 0 and q = 1: the clamp bounds the loss at -ln(1e-7)
 * = 16.118 and the gradient is the unclamped limit: dz1 -> (q - t)(1 - p1)/(1 - q). */
static void test_product_extremes(void)
{
    float z1[5] = {100, 100, -100, 50, -100}, z2[5] = {100, 100, 0, -50, -100}, t[5] = {1, 0, 1, 1, 0};
    float d1[5] = {0}, d2[5] = {0};
    double loss;
    CU_ASSERT_EQUAL(bce_product_forward_backward(z1, z2, t, NULL, 5, d1, d2, &loss), DMMP_OK);
    double cap = -log(LOSS_PROB_EPS);
    /* Rows: q -> 1 (t = 1, loss ln(1/(1-1e-7))), q -> 1 (t = 0, capped), q -> 0 (t = 1, capped),
     * q = sigmoid(-50) (t = 1, -ln q = 50 is capped), q -> 0 (t = 0, loss ln(1/(1-1e-7))). */
    double tiny = -log1p(-LOSS_PROB_EPS);
    TU_ASSERT_NEAR(loss, (tiny + cap + cap + cap + tiny) / 5, 1e-9);
    double lim1[5] = {0, 0.5, -1, 0, 0}, lim2[5] = {0, 0.5, -0.5, -1, 0};
    for (int i = 0; i < 5; i++) {
        TU_ASSERT_NEAR(d1[i], lim1[i] / 5, 1e-8);
        TU_ASSERT_NEAR(d2[i], lim2[i] / 5, 1e-8);
        CU_ASSERT(isfinite(d1[i]) && isfinite(d2[i]));
    }
}

static void test_loss_errors(void)
{
    float z[3] = {0, 1, 2}, t[3] = {0, 1, 1}, dz[3] = {0}, mask0[3] = {0, 0, 0};
    double loss = 5;
    CU_ASSERT_EQUAL(bce_logits_forward_backward(z, t, NULL, -1, dz, &loss), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "n = -1"));
    CU_ASSERT_EQUAL(bce_logits_temp(z, t, NULL, 3, 0.0f, dz, &loss), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "temperature"));
    float bad_t[3] = {0, 1, 1.5f};
    CU_ASSERT_EQUAL(bce_product_forward_backward(z, z, bad_t, NULL, 3, dz, dz, &loss), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "target[2]"));
    float bad_w[3] = {1, -1, 1};
    CU_ASSERT_EQUAL(mse_forward_backward(z, t, bad_w, 3, dz, &loss), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "mask[1]"));
    float nan_z[3] = {0, NAN, 1};
    CU_ASSERT_EQUAL(bce_logits_forward_backward(nan_z, t, NULL, 3, NULL, &loss), DMMP_ENUMERIC);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "row 1"));
    /* No row counts: loss 0, gradients untouched. */
    CU_ASSERT_EQUAL(bce_logits_forward_backward(z, t, mask0, 3, dz, &loss), DMMP_OK);
    CU_ASSERT_EQUAL(loss, 0.0);
    CU_ASSERT(dz[0] == 0 && dz[1] == 0 && dz[2] == 0);
    CU_ASSERT_EQUAL(bce_logits_forward_backward(z, t, NULL, 0, dz, &loss), DMMP_OK);
    CU_ASSERT_EQUAL(loss, 0.0);
}

/* Forward-only BCE over more rows than the internal scratch chunk. */
static void test_bce_forward_only_long(void)
{
    const int n = 1000;
    float *z = malloc(n * sizeof *z), *t = malloc(n * sizeof *t), *dz = calloc(n, sizeof *dz);
    rng r;
    rng_stream(&r, 5, 1);
    tu_fill(&r, z, n, -5, 5);
    tu_fill(&r, t, n, 0, 1);
    double with_grad, without;
    CU_ASSERT_EQUAL(bce_logits_forward_backward(z, t, NULL, n, dz, &with_grad), DMMP_OK);
    CU_ASSERT_EQUAL(bce_logits_forward_backward(z, t, NULL, n, NULL, &without), DMMP_OK);
    double exact = 0;
    for (int i = 0; i < n; i++) exact += bce_d(sigmoid_d(z[i]), t[i]);
    TU_ASSERT_NEAR(with_grad, exact / n, 1e-6);
    TU_ASSERT_NEAR(without, with_grad, 1e-12);
    free(z);
    free(t);
    free(dz);
}

int register_loss_suites(void)
{
    static const char *const names[] = {
        "BCE hand values", "product BCE and MSE hand values", "BCE gradients (hard, soft, mask, T)",
        "product BCE gradients", "MSE gradients", "BCE at |z| = 50, 100", "product BCE near q = 0, 1",
        "bad input and empty masks", "forward-only BCE",
    };
    static const CU_TestFunc tests[] = {
        test_bce_hand_values, test_product_and_mse_hand_values, test_bce_gradients, test_product_gradients,
        test_mse_gradients, test_bce_extremes, test_product_extremes, test_loss_errors, test_bce_forward_only_long,
    };
    if (register_act_kernel_suite() != 0) return -1;
    if (tu_add_suite("layer_loss", names, tests, sizeof tests / sizeof tests[0]) != 0) return -1;
    return register_gate_score_suites();
}
