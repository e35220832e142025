/* kernel_optim: every optimiser kernel of every ISA this CPU has against the
 * scalar table, on random inputs at unaligned addresses.
 *
 * Tolerance: sqrt and division are correctly rounded in every ISA, so the
 * paths differ only where the SIMD code fuses a multiply and an add (FMA
 * skips one rounding). Each fused step moves a value by at most ~1 ulp of
 * its operands, a few such steps per element give |diff| / max(1, |x|) of a
 * few 1e-7; 2e-6 leaves room without hiding a wrong formula (which shows up
 * at 1e-3 or more). Sums of squares are accumulated in double by every path,
 * so they differ only by double rounding order: relative 1e-12. */
#include <math.h>
#include <string.h>

#include "simd/optim.h"
#include "suites.h"
#include "testutil.h"

#define KERNEL_TOL 2e-6
#define GUARD 16 /* floats past n that a kernel must leave alone */

static const size_t sizes[] = {0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 1000, 1023};
#define N_SIZES (sizeof sizes / sizeof sizes[0])

static adam_coeffs sample_adam_coeffs(void)
{
    /* Step 3 of lr 0.01, betas 0.9 / 0.999, with every optional term on. */
    adam_coeffs c = {.beta1 = 0.9f, .one_minus_beta1 = 0.1f, .beta2 = 0.999f, .one_minus_beta2 = 0.001f,
                     .step_size = (float)(0.01 / (1 - pow(0.9, 3))),
                     .inv_sqrt_bc2 = (float)(1 / sqrt(1 - pow(0.999, 3))),
                     .eps = 1e-8f, .decay = 0.001f, .l2 = 0.05f, .grad_scale = 0.7f};
    return c;
}

/* Fills w, m, g with uniform values and v with non-negative ones; the guard
 * tail of every buffer gets a sentinel. */
static void fill_state(rng *r, float *w, float *m, float *v, float *g, size_t n)
{
    tu_fill(r, w, n + GUARD, -2.0f, 2.0f);
    tu_fill(r, m, n + GUARD, -0.5f, 0.5f);
    tu_fill(r, v, n + GUARD, 0.0f, 0.3f);
    tu_fill(r, g, n + GUARD, -3.0f, 3.0f);
    v[0] = 0.0f; /* exercises sqrt(0) */
    for (size_t i = n; i < n + GUARD; i++) w[i] = m[i] = v[i] = 12345.0f;
}

static int guard_intact(const float *x, size_t n)
{
    for (size_t i = n; i < n + GUARD; i++)
        if (x[i] != 12345.0f) return 0;
    return 1;
}

static void test_adam_update_vs_scalar(void)
{
    adam_coeffs c = sample_adam_coeffs();
    for (int li = 1; li < tu_isa_count(); li++) {
        isa_level lvl = tu_isa_at(li);
        const optim_kernels *k = optim_kernels_for(lvl);
        for (size_t si = 0; si < N_SIZES; si++) {
            size_t n = sizes[si], len = n + GUARD;
            float *w = tu_alloc_unaligned(len), *m = tu_alloc_unaligned(len), *v = tu_alloc_unaligned(len);
            float *g = tu_alloc_unaligned(len), *w2 = tu_alloc_unaligned(len), *m2 = tu_alloc_unaligned(len);
            float *v2 = tu_alloc_unaligned(len);
            rng r;
            rng_stream(&r, 11, n);
            fill_state(&r, w, m, v, g, n);
            memcpy(w2, w, len * sizeof *w);
            memcpy(m2, m, len * sizeof *m);
            memcpy(v2, v, len * sizeof *v);
            optim_kernels_scalar.adam_update(w, m, v, g, n, &c);
            k->adam_update(w2, m2, v2, g, n, &c);
            double dw = tu_max_rel_diff(w2, w, n), dm = tu_max_rel_diff(m2, m, n), dv = tu_max_rel_diff(v2, v, n);
            TU_ASSERT_MSG(dw <= KERNEL_TOL && dm <= KERNEL_TOL && dv <= KERNEL_TOL,
                          "%s n=%zu: w %.3g m %.3g v %.3g", isa_name(lvl), n, dw, dm, dv);
            TU_ASSERT_MSG(guard_intact(w2, n) && guard_intact(m2, n) && guard_intact(v2, n),
                          "%s n=%zu wrote past the end", isa_name(lvl), n);
            tu_free_unaligned(w), tu_free_unaligned(m), tu_free_unaligned(v), tu_free_unaligned(g);
            tu_free_unaligned(w2), tu_free_unaligned(m2), tu_free_unaligned(v2);
        }
    }
}

static void test_adagrad_update_vs_scalar(void)
{
    adagrad_coeffs c = {.lr = 0.05f, .eps = 1e-7f, .l2 = 0.02f, .grad_scale = 0.9f};
    for (int li = 1; li < tu_isa_count(); li++) {
        isa_level lvl = tu_isa_at(li);
        const optim_kernels *k = optim_kernels_for(lvl);
        for (size_t si = 0; si < N_SIZES; si++) {
            size_t n = sizes[si], len = n + GUARD;
            float *w = tu_alloc_unaligned(len), *acc = tu_alloc_unaligned(len), *g = tu_alloc_unaligned(len);
            float *unused = tu_alloc_unaligned(len), *w2 = tu_alloc_unaligned(len), *acc2 = tu_alloc_unaligned(len);
            rng r;
            rng_stream(&r, 12, n);
            fill_state(&r, w, unused, acc, g, n);
            memcpy(w2, w, len * sizeof *w);
            memcpy(acc2, acc, len * sizeof *acc);
            optim_kernels_scalar.adagrad_update(w, acc, g, n, &c);
            k->adagrad_update(w2, acc2, g, n, &c);
            double dw = tu_max_rel_diff(w2, w, n), da = tu_max_rel_diff(acc2, acc, n);
            TU_ASSERT_MSG(dw <= KERNEL_TOL && da <= KERNEL_TOL, "%s n=%zu: w %.3g acc %.3g", isa_name(lvl), n,
                          dw, da);
            TU_ASSERT_MSG(guard_intact(w2, n) && guard_intact(acc2, n), "%s n=%zu wrote past the end",
                          isa_name(lvl), n);
            tu_free_unaligned(w), tu_free_unaligned(acc), tu_free_unaligned(g);
            tu_free_unaligned(unused), tu_free_unaligned(w2), tu_free_unaligned(acc2);
        }
    }
}

static void test_sum_squares_vs_double(void)
{
    for (int li = 0; li < tu_isa_count(); li++) {
        isa_level lvl = tu_isa_at(li);
        const optim_kernels *k = optim_kernels_for(lvl);
        for (size_t si = 0; si < N_SIZES; si++) {
            size_t n = sizes[si];
            float *x = tu_alloc_unaligned(n + GUARD);
            rng r;
            rng_stream(&r, 13, n);
            tu_fill(&r, x, n, -4.0f, 4.0f);
            /* Huge values past the end would dominate the sum if read. */
            for (size_t i = n; i < n + GUARD; i++) x[i] = 1e30f;
            double ref = 0;
            for (size_t i = 0; i < n; i++) ref += (double)x[i] * x[i];
            double got = k->sum_squares(x, n);
            TU_ASSERT_MSG(fabs(got - ref) <= 1e-12 * fmax(ref, 1e-300) || (n == 0 && got == 0.0),
                          "%s n=%zu: %.17g vs %.17g", isa_name(lvl), n, got, ref);
            tu_free_unaligned(x);
        }
    }
}

/* The dense and sparse steps cut buffers into chunks and rows; an element's
 * result must not depend on whether it sits in a SIMD body or tail. */
static void test_split_invariance(void)
{
    const size_t n = 1000, cut = 37;
    adam_coeffs c = sample_adam_coeffs();
    adagrad_coeffs ca = {.lr = 0.05f, .eps = 1e-7f, .l2 = 0.02f, .grad_scale = 0.9f};
    for (int li = 0; li < tu_isa_count(); li++) {
        isa_level lvl = tu_isa_at(li);
        const optim_kernels *k = optim_kernels_for(lvl);
        float *w = tu_alloc_unaligned(n + GUARD), *m = tu_alloc_unaligned(n + GUARD);
        float *v = tu_alloc_unaligned(n + GUARD), *g = tu_alloc_unaligned(n + GUARD);
        float *w2 = tu_alloc_unaligned(n), *m2 = tu_alloc_unaligned(n), *v2 = tu_alloc_unaligned(n);
        rng r;
        rng_stream(&r, 14, (uint64_t)lvl);
        fill_state(&r, w, m, v, g, n);
        memcpy(w2, w, n * sizeof *w), memcpy(m2, m, n * sizeof *m), memcpy(v2, v, n * sizeof *v);
        k->adam_update(w, m, v, g, n, &c);
        k->adam_update(w2, m2, v2, g, cut, &c);
        k->adam_update(w2 + cut, m2 + cut, v2 + cut, g + cut, n - cut, &c);
        TU_ASSERT_MSG(!memcmp(w, w2, n * sizeof *w) && !memcmp(m, m2, n * sizeof *m) && !memcmp(v, v2, n * sizeof *v),
                      "%s adam result depends on the split", isa_name(lvl));
        memcpy(w2, w, n * sizeof *w), memcpy(v2, v, n * sizeof *v);
        k->adagrad_update(w, v, g, n, &ca);
        k->adagrad_update(w2, v2, g, cut, &ca);
        k->adagrad_update(w2 + cut, v2 + cut, g + cut, n - cut, &ca);
        TU_ASSERT_MSG(!memcmp(w, w2, n * sizeof *w) && !memcmp(v, v2, n * sizeof *v),
                      "%s adagrad result depends on the split", isa_name(lvl));
        tu_free_unaligned(w), tu_free_unaligned(m), tu_free_unaligned(v), tu_free_unaligned(g);
        tu_free_unaligned(w2), tu_free_unaligned(m2), tu_free_unaligned(v2);
    }
}

static void test_dispatch_tables(void)
{
    CU_ASSERT_PTR_EQUAL(optim_kernels_for(ISA_SCALAR), &optim_kernels_scalar);
    CU_ASSERT_PTR_EQUAL(optim_kernels_for(ISA_AVX2), &optim_kernels_avx2);
    CU_ASSERT_PTR_EQUAL(optim_kernels_for(ISA_AVX512), &optim_kernels_avx512);
    CU_ASSERT_PTR_EQUAL(optim_kernels_get(), optim_kernels_for(isa_active()));
}

int register_optim_kernel_suites(void)
{
    static const char *const names[] = {
        "adam_update vs scalar (sizes 0..1023, unaligned, no overrun)",
        "adagrad_update vs scalar (sizes 0..1023, unaligned, no overrun)",
        "sum_squares vs double loop", "body/tail split gives identical bits", "dispatch tables",
    };
    static const CU_TestFunc tests[] = {
        test_adam_update_vs_scalar, test_adagrad_update_vs_scalar, test_sum_squares_vs_double,
        test_split_invariance, test_dispatch_tables,
    };
    return tu_add_suite("kernel_optim", names, tests, sizeof tests / sizeof tests[0]);
}
