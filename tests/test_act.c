/* kernel_act: every activation kernel of every ISA the CPU has against the
 * scalar table (itself checked against double libm here), on unaligned
 * buffers of awkward lengths, with guard elements that must stay untouched. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "loss_tests.h"
#include "simd/act.h"
#include "testutil.h"


static const size_t lengths[] = {1, 2, 7, 8, 15, 16, 17, 31, 33, 1000};
#define N_LENGTHS (sizeof lengths / sizeof lengths[0])

/* Row shapes: short rows as in the gates (2..8 experts), longer ones for the vector tails. */
static const size_t shapes[][2] = {{1, 1}, {3, 2}, {5, 3}, {4, 8}, {2, 15}, {3, 16}, {2, 17}, {7, 33}, {1, 1000}};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])


/* max |a - b| / |b| over n (b = 0 counts |a|). */
static double max_rel(const float *a, const float *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / (b[i] != 0 ? fabs((double)b[i]) : 1.0);
        if (isnan(d)) return INFINITY;
        worst = fmax(worst, d);
    }
    return worst;
}

/* Every exp table against double exp over the unclamped range, printing the
 * error found (0.50 ulp for libm's expf, 0.70 ulp for the Cephes polynomial
 * of AVX2 / AVX-512, where ulp = 2^-23 relative). The bound asserted is 1 ulp:
 * the polynomial is within about 1 ulp of e^r and the 2^n scaling is exact. */
static void test_exp_accuracy(void)
{
    const size_t n = 400000;
    float *x = tu_alloc_unaligned(n), *y = tu_alloc_unaligned(n);
    /* From just above ln(FLT_MIN) (below it results are denormal or clamped) to 88. */
    for (size_t i = 0; i < n; i++) x[i] = -87.33f + (88.0f + 87.33f) * (float)i / (float)(n - 1);
    for (int l = 0; l < tu_isa_count(); l++) {
        isa_level isa = tu_isa_at(l);
        act_kernels_for(isa)->exp(x, y, n);
        double worst = 0;
        for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(y[i] - exp((double)x[i])) / exp((double)x[i]));
        printf("\n    exp %s: max relative error %.3g (%.2f ulp) over [-87.33, 88]", isa_name(isa), worst,
               worst / FLT_EPSILON);
        TU_ASSERT_MSG(worst <= FLT_EPSILON, "exp %s error %g", isa_name(isa), worst);
        /* The clamp: nothing below FLT_MIN or above e^88, and NaN stays NaN. */
        float edge[4] = {-100.0f, -1000.0f, 100.0f, NAN}, out[4];
        act_kernels_for(isa)->exp(edge, out, 4);
        TU_ASSERT_MSG(out[0] >= 0.999f * FLT_MIN && out[0] <= 1.001f * FLT_MIN, "exp(-100) = %g", out[0]);
        CU_ASSERT_EQUAL(out[0], out[1]);
        TU_ASSERT_NEAR(out[2] / exp(88.0), 1.0, 2.0 * FLT_EPSILON);
        CU_ASSERT(isnan(out[3]));
    }
    printf("\n    ");
    tu_free_unaligned(x);
    tu_free_unaligned(y);
}

/* Sigmoid of every table against double 1 / (1 + exp(-x)) over [-80, 80]:
 * the exp error plus an add, a division and a multiply, 3 ulp asserted
 * (found: 1.7e-7, about 1.5 ulp). Large |x| saturates correctly. */
static void test_sigmoid_accuracy(void)
{
    const size_t n = 100001;
    float *x = tu_alloc_unaligned(n), *y = tu_alloc_unaligned(n);
    for (size_t i = 0; i < n; i++) x[i] = -80.0f + 160.0f * (float)i / (float)(n - 1);
    for (int l = 0; l < tu_isa_count(); l++) {
        isa_level isa = tu_isa_at(l);
        act_kernels_for(isa)->sigmoid(x, y, n);
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            double ref = 1.0 / (1.0 + exp(-(double)x[i]));
            worst = fmax(worst, fabs(y[i] - ref) / ref);
        }
        printf("\n    sigmoid %s: max relative error %.3g", isa_name(isa), worst);
        TU_ASSERT_MSG(worst <= 3.0 * FLT_EPSILON, "sigmoid %s error %g", isa_name(isa), worst);
        float edge[3] = {100.0f, -100.0f, 0.0f}, out[3];
        act_kernels_for(isa)->sigmoid(edge, out, 3);
        CU_ASSERT_EQUAL(out[0], 1.0f);
        CU_ASSERT(out[1] >= 0.0f && out[1] <= 1.001f * FLT_MIN);
        CU_ASSERT_EQUAL(out[2], 0.5f);
    }
    printf("\n    ");
    tu_free_unaligned(x);
    tu_free_unaligned(y);
}

/* exp and sigmoid of each SIMD table against the scalar one, including in place. */
static void test_elementwise_vs_scalar(void)
{
    rng r;
    rng_stream(&r, 11, 1);
    for (int l = 1; l < tu_isa_count(); l++) {
        const act_kernels *simd = act_kernels_for(tu_isa_at(l));
        for (size_t c = 0; c < N_LENGTHS; c++) {
            size_t n = lengths[c];
            float *x = tu_alloc_unaligned(n), *ref = tu_alloc_guarded(n), *out = tu_alloc_guarded(n), *inplace = tu_alloc_unaligned(n);
            tu_fill(&r, x, n, -30.0f, 30.0f);
            act_kernels_scalar.exp(x, ref, n);
            simd->exp(x, out, n);
            /* Both are within 2 ulp of e^x, so within 4 ulp of each other. */
            TU_ASSERT_MSG(max_rel(out, ref, n) <= 4.0 * FLT_EPSILON, "exp %s n=%zu", isa_name(tu_isa_at(l)), n);
            CU_ASSERT(tu_guard_intact(out, n));
            memcpy(inplace, x, n * sizeof *x);
            simd->exp(inplace, inplace, n);
            CU_ASSERT_EQUAL(memcmp(inplace, out, n * sizeof *x), 0);
            act_kernels_scalar.sigmoid(x, ref, n);
            simd->sigmoid(x, out, n);
            TU_ASSERT_MSG(max_rel(out, ref, n) <= 6.0 * FLT_EPSILON, "sigmoid %s n=%zu", isa_name(tu_isa_at(l)), n);
            CU_ASSERT(tu_guard_intact(out, n));
            tu_free_unaligned(x);
            tu_free_unaligned(ref);
            tu_free_unaligned(out);
            tu_free_unaligned(inplace);
        }
    }
}

/* Row softmax and its backward: the scalar table against a double softmax,
 * the SIMD tables against the scalar one. */
static void test_softmax_rows(void)
{
    rng r;
    rng_stream(&r, 11, 2);
    for (size_t c = 0; c < N_SHAPES; c++) {
        size_t rows = shapes[c][0], cols = shapes[c][1], n = rows * cols;
        float *x = tu_alloc_unaligned(n), *dy = tu_alloc_unaligned(n), *ref = tu_alloc_guarded(n), *out = tu_alloc_guarded(n);
        float *dref = tu_alloc_guarded(n), *dout = tu_alloc_guarded(n);
        tu_fill(&r, x, n, -20.0f, 20.0f);
        tu_fill(&r, dy, n, -1.0f, 1.0f);
        act_kernels_scalar.softmax_rows(x, rows, cols, ref);
        act_kernels_scalar.softmax_rows_backward(ref, dy, rows, cols, dref);
        for (size_t i = 0; i < rows; i++) {
            double mx = -INFINITY, sum = 0, sum_p = 0, dot = 0;
            for (size_t j = 0; j < cols; j++) mx = fmax(mx, x[i * cols + j]);
            for (size_t j = 0; j < cols; j++) sum += exp((double)x[i * cols + j] - mx);
            for (size_t j = 0; j < cols; j++) {
                double p = exp((double)x[i * cols + j] - mx) / sum;
                /* Rounding x - max in float shifts exp by |x - max| eps / 2 relative;
                 * then expf, the row sum and the scaling add (cols + 3) ulp. */
                double shift = fabs((double)x[i * cols + j] - mx);
                TU_ASSERT_NEAR(ref[i * cols + j], p, (cols + 3 + shift) * FLT_EPSILON * p + 1e-37);
                sum_p += ref[i * cols + j];
                dot += p * dy[i * cols + j];
            }
            TU_ASSERT_NEAR(sum_p, 1.0, cols * FLT_EPSILON);
            for (size_t j = 0; j < cols; j++) {
                double p = exp((double)x[i * cols + j] - mx) / sum;
                TU_ASSERT_NEAR(dref[i * cols + j], p * (dy[i * cols + j] - dot), 1e-6);
            }
        }
        for (int l = 1; l < tu_isa_count(); l++) {
            const act_kernels *simd = act_kernels_for(tu_isa_at(l));
            simd->softmax_rows(x, rows, cols, out);
            /* Probabilities: exp error plus the order of the row sum, (cols + 3) ulp each side. */
            TU_ASSERT_MSG(max_rel(out, ref, n) <= 2.0 * (cols + 3) * FLT_EPSILON, "softmax %s %zux%zu", isa_name(tu_isa_at(l)),
                          rows, cols);
            CU_ASSERT(tu_guard_intact(out, n));
            simd->softmax_rows_backward(ref, dy, rows, cols, dout);
            /* dx = y (dy - <y, dy>) with |y|, |dy| <= 1: absolute error of a few ulp of 1. */
            TU_ASSERT_MSG(tu_max_rel_diff(dout, dref, n) <= 1e-6, "softmax backward %s %zux%zu",
                          isa_name(tu_isa_at(l)), rows, cols);
            CU_ASSERT(tu_guard_intact(dout, n));
            memcpy(dout, dy, n * sizeof *dy);
            simd->softmax_rows_backward(ref, dout, rows, cols, dout);
            TU_ASSERT_MSG(tu_max_rel_diff(dout, dref, n) <= 1e-6, "softmax backward in place");
            memcpy(out, x, n * sizeof *x);
            simd->softmax_rows(out, rows, cols, out);
            TU_ASSERT_MSG(max_rel(out, ref, n) <= 2.0 * (cols + 3) * FLT_EPSILON, "softmax in place");
        }
        tu_free_unaligned(x);
        tu_free_unaligned(dy);
        tu_free_unaligned(ref);
        tu_free_unaligned(out);
        tu_free_unaligned(dref);
        tu_free_unaligned(dout);
    }
}

/* Fused BCE: the scalar table against double formulas, SIMD against scalar.
 * Gradients accumulate onto a non-zero dz. */
static void test_bce_kernel(void)
{
    rng r;
    rng_stream(&r, 11, 3);
    const float z_scale = 0.5f, grad_scale = 0.25f;
    for (size_t c = 0; c < N_LENGTHS; c++) {
        size_t n = lengths[c];
        float *z = tu_alloc_unaligned(n), *t = tu_alloc_unaligned(n), *w = tu_alloc_unaligned(n);
        float *dref = tu_alloc_guarded(n), *dout = tu_alloc_guarded(n);
        tu_fill(&r, z, n, -40.0f, 40.0f);
        tu_fill(&r, t, n, 0.0f, 1.0f);
        tu_fill(&r, w, n, 0.0f, 2.0f);
        for (int weighted = 0; weighted < 2; weighted++) {
            const float *wp = weighted ? w : NULL;
            for (size_t i = 0; i < n; i++) dref[i] = 0.125f;
            double ref = act_kernels_scalar.bce_logits(z, t, wp, n, z_scale, grad_scale, dref);
            double exact = 0, mass = 0;
            for (size_t i = 0; i < n; i++) {
                double zz = (double)z_scale * z[i], wi = wp ? wp[i] : 1.0;
                double p = 1.0 / (1.0 + exp(-zz));
                exact += wi * (fmax(zz, 0) - t[i] * zz + log1p(exp(-fabs(zz))));
                mass += wi * (fabs(zz) + 1.0);
                TU_ASSERT_NEAR(dref[i], 0.125 + grad_scale * wi * (p - t[i]), 2e-7);
            }
            /* Each row's loss is within a few ulp of its size |zz| + 1. */
            TU_ASSERT_NEAR(ref, exact, 4.0 * FLT_EPSILON * mass);
            for (int l = 1; l < tu_isa_count(); l++) {
                for (size_t i = 0; i < n; i++) dout[i] = 0.125f;
                double got = act_kernels_for(tu_isa_at(l))->bce_logits(z, t, wp, n, z_scale, grad_scale, dout);
                TU_ASSERT_NEAR(got, ref, 8.0 * FLT_EPSILON * mass);
                TU_ASSERT_MSG(tu_max_rel_diff(dout, dref, n) <= 2e-7, "bce dz %s n=%zu", isa_name(tu_isa_at(l)), n);
                CU_ASSERT(tu_guard_intact(dout, n));
            }
        }
        tu_free_unaligned(z);
        tu_free_unaligned(t);
        tu_free_unaligned(w);
        tu_free_unaligned(dref);
        tu_free_unaligned(dout);
    }
    /* Correctly classified rows: the loss is log1p(e^-|z|) alone, from 4e-2
     * down to 2e-22, and must keep its relative accuracy (4 ulp) where
     * 1 + e rounds to 1. */
    float z[10] = {3, 5.3f, 8.7f, 11.1f, 14.9f, 20, 30, 50, -11.1f, -50}, t[10] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
    for (int l = 0; l < tu_isa_count(); l++) {
        for (int i = 0; i < 10; i++) {
            float dz = 0;
            double got = act_kernels_for(tu_isa_at(l))->bce_logits(z + i, t + i, NULL, 1, 1.0f, 1.0f, &dz);
            double exact = log1p(exp(-fabs((double)z[i])));
            TU_ASSERT_MSG(fabs(got - exact) <= 4.0 * FLT_EPSILON * exact, "%s: bce(z = %g) = %.9g, exact %.9g",
                          isa_name(tu_isa_at(l)), z[i], got, exact);
        }
    }
}

static void test_dispatch(void)
{
    CU_ASSERT_PTR_EQUAL(act_kernels_for(ISA_SCALAR), &act_kernels_scalar);
    CU_ASSERT_PTR_EQUAL(act_kernels_for(ISA_AVX2), &act_kernels_avx2);
    CU_ASSERT_PTR_EQUAL(act_kernels_for(ISA_AVX512), &act_kernels_avx512);
    CU_ASSERT_PTR_EQUAL(act_kernels_get(), act_kernels_for(isa_active()));
}

int register_act_kernel_suite(void)
{
    static const char *const names[] = {
        "exp accuracy against exp (every ISA)", "sigmoid accuracy against double", "exp and sigmoid vs scalar",
        "row softmax and backward", "fused BCE kernel", "dispatch tables",
    };
    static const CU_TestFunc tests[] = {
        test_exp_accuracy, test_sigmoid_accuracy, test_elementwise_vs_scalar, test_softmax_rows,
        test_bce_kernel, test_dispatch,
    };
    return tu_add_suite("kernel_act", names, tests, sizeof tests / sizeof tests[0]);
}
