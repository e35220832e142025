/* kernel_vec: the row-vector kernels (dot_rows, axpy_rows, axpy) of every
 * ISA the CPU has against exact sums and the scalar table, on unaligned
 * buffers of awkward lengths, with guard elements that must stay untouched. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "simd/vec.h"
#include "suites.h"
#include "testutil.h"


static const size_t lengths[] = {1, 2, 7, 8, 15, 16, 17, 31, 33, 1000};
#define N_LENGTHS (sizeof lengths / sizeof lengths[0])

/* Row shapes: dot rows are tower widths, axpy rows expert widths. */
static const size_t shapes[][2] = {{1, 1}, {3, 2}, {5, 3}, {4, 8}, {2, 15}, {3, 16}, {2, 17}, {7, 33}, {1, 1000}};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])


/* Row dots, scaled row sums and axpy. Tolerances: two recursive float sums of
 * cols products differ by at most about cols * eps * sum |a_j b_j|; an FMA and
 * a rounded multiply-add differ by one rounding of the product. */
static void test_row_kernels(void)
{
    rng r;
    rng_stream(&r, 11, 4);
    for (size_t c = 0; c < N_SHAPES; c++) {
        size_t rows = shapes[c][0], cols = shapes[c][1], n = rows * cols, stride = 3;
        float *a = tu_alloc_unaligned(n), *b = tu_alloc_unaligned(n), *alpha = tu_alloc_unaligned(rows * stride);
        float *dref = tu_alloc_guarded(rows * stride), *dout = tu_alloc_guarded(rows * stride), *yref = tu_alloc_guarded(n), *yout = tu_alloc_guarded(n);
        tu_fill(&r, a, n, -1.0f, 1.0f);
        tu_fill(&r, b, n, -1.0f, 1.0f);
        tu_fill(&r, alpha, rows * stride, -2.0f, 2.0f);
        for (size_t i = 0; i < rows * stride; i++) dref[i] = dout[i] = -7.0f;
        vec_kernels_scalar.dot_rows(a, b, rows, cols, dref, stride);
        for (size_t i = 0; i < rows; i++) {
            double exact = 0, mag = 0;
            for (size_t j = 0; j < cols; j++) {
                exact += (double)a[i * cols + j] * b[i * cols + j];
                mag += fabs((double)a[i * cols + j] * b[i * cols + j]);
            }
            TU_ASSERT_NEAR(dref[i * stride], exact, (cols + 1) * FLT_EPSILON * mag);
            CU_ASSERT_EQUAL(dref[i * stride + 1], -7.0f); /* the stride skips these */
        }
        tu_fill(&r, yref, n, -1.0f, 1.0f);
        memcpy(yout, yref, n * sizeof *yref);
        float y0 = yref[0];
        vec_kernels_scalar.axpy_rows(0.5f, alpha, stride, a, rows, cols, yref);
        TU_ASSERT_NEAR(yref[0], y0 + 0.5 * alpha[0] * a[0], 2 * FLT_EPSILON);
        for (int l = 1; l < tu_isa_count(); l++) {
            const vec_kernels *simd = vec_kernels_for(tu_isa_at(l));
            simd->dot_rows(a, b, rows, cols, dout, stride);
            for (size_t i = 0; i < rows; i++) {
                double mag = 0;
                for (size_t j = 0; j < cols; j++) mag += fabs((double)a[i * cols + j] * b[i * cols + j]);
                TU_ASSERT_NEAR(dout[i * stride], dref[i * stride], 2 * (cols + 1) * FLT_EPSILON * mag);
                CU_ASSERT_EQUAL(dout[i * stride + 1], -7.0f);
            }
            CU_ASSERT(tu_guard_intact(dout, rows * stride));
            float *y = tu_alloc_guarded(n);
            memcpy(y, yout, n * sizeof *y);
            simd->axpy_rows(0.5f, alpha, stride, a, rows, cols, y);
            /* |y| <= 1, |0.5 alpha a| <= 1: one rounding of numbers below 2. */
            TU_ASSERT_MSG(tu_max_rel_diff(y, yref, n) <= 4 * FLT_EPSILON, "axpy_rows %s %zux%zu",
                          isa_name(tu_isa_at(l)), rows, cols);
            CU_ASSERT(tu_guard_intact(y, n));
            float *y_ref2 = tu_alloc_guarded(n);
            memcpy(y, yout, n * sizeof *y);
            memcpy(y_ref2, yout, n * sizeof *y);
            vec_kernels_scalar.axpy(-1.5f, b, n, y_ref2);
            simd->axpy(-1.5f, b, n, y);
            TU_ASSERT_MSG(tu_max_rel_diff(y, y_ref2, n) <= 4 * FLT_EPSILON, "axpy %s n=%zu", isa_name(tu_isa_at(l)), n);
            CU_ASSERT(tu_guard_intact(y, n));
            tu_free_unaligned(y);
            tu_free_unaligned(y_ref2);
        }
        tu_free_unaligned(a);
        tu_free_unaligned(b);
        tu_free_unaligned(alpha);
        tu_free_unaligned(dref);
        tu_free_unaligned(dout);
        tu_free_unaligned(yref);
        tu_free_unaligned(yout);
    }
}

/* axpy over every length, in place on a guarded y: the scalar table against
 * double, each SIMD table against the scalar one (one rounding of the
 * product apart, numbers below 2). */
static void test_axpy_lengths(void)
{
    rng r;
    rng_stream(&r, 11, 5);
    for (size_t c = 0; c < N_LENGTHS; c++) {
        size_t n = lengths[c];
        float *x = tu_alloc_unaligned(n), *y0 = tu_alloc_unaligned(n), *ref = tu_alloc_guarded(n), *out = tu_alloc_guarded(n);
        tu_fill(&r, x, n, -1.0f, 1.0f);
        tu_fill(&r, y0, n, -1.0f, 1.0f);
        memcpy(ref, y0, n * sizeof *y0);
        vec_kernels_scalar.axpy(0.75f, x, n, ref);
        for (size_t i = 0; i < n; i++) TU_ASSERT_NEAR(ref[i], y0[i] + 0.75 * x[i], 2 * FLT_EPSILON);
        CU_ASSERT(tu_guard_intact(ref, n));
        for (int l = 1; l < tu_isa_count(); l++) {
            memcpy(out, y0, n * sizeof *y0);
            vec_kernels_for(tu_isa_at(l))->axpy(0.75f, x, n, out);
            TU_ASSERT_MSG(tu_max_rel_diff(out, ref, n) <= 4 * FLT_EPSILON, "axpy %s n=%zu", isa_name(tu_isa_at(l)), n);
            CU_ASSERT(tu_guard_intact(out, n));
        }
        tu_free_unaligned(x);
        tu_free_unaligned(y0);
        tu_free_unaligned(ref);
        tu_free_unaligned(out);
    }
}

/* relu_mask_add over every length, against a hand-written rule: dz is dy's
 * bits where y > 0 and +0 elsewhere (y = 0, -0, negative, NaN), and acc gains
 * dz with one float add, so every table gives the same bits; also in place
 * (dz aliasing dy), with the guards after dz and acc intact. */
static void test_relu_mask_add(void)
{
    rng r;
    rng_stream(&r, 11, 6);
    for (size_t c = 0; c < N_LENGTHS; c++) {
        size_t n = lengths[c];
        float *dy = tu_alloc_unaligned(n), *y = tu_alloc_unaligned(n), *acc0 = tu_alloc_unaligned(n);
        float *dz = tu_alloc_guarded(n), *acc = tu_alloc_guarded(n), *want = tu_alloc_unaligned(n),
              *want_acc = tu_alloc_unaligned(n);
        tu_fill(&r, dy, n, -1.0f, 1.0f);
        tu_fill(&r, y, n, -1.0f, 1.0f);
        tu_fill(&r, acc0, n, -1.0f, 1.0f);
        static const float odd[] = {0.0f, -0.0f, NAN, -1e-30f, 1e-30f, INFINITY};
        for (size_t i = 0; i < n; i += 3) y[i] = odd[(i / 3) % 6];
        if (n > 1) dy[1] = -0.0f;
        for (size_t i = 0; i < n; i++) {
            want[i] = y[i] > 0.0f ? dy[i] : 0.0f;
            want_acc[i] = acc0[i] + want[i];
        }
        for (int l = 0; l < tu_isa_count(); l++) {
            const vec_kernels *k = vec_kernels_for(tu_isa_at(l));
            for (int in_place = 0; in_place < 2; in_place++) {
                memcpy(acc, acc0, n * sizeof *acc);
                if (in_place) memcpy(dz, dy, n * sizeof *dz);
                k->relu_mask_add(in_place ? dz : dy, y, n, dz, acc);
                TU_ASSERT_MSG(!memcmp(dz, want, n * sizeof *dz) && !memcmp(acc, want_acc, n * sizeof *acc),
                              "relu_mask_add %s n=%zu%s", isa_name(tu_isa_at(l)), n, in_place ? " in place" : "");
                CU_ASSERT(tu_guard_intact(dz, n) && tu_guard_intact(acc, n));
            }
        }
        tu_free_unaligned(dy);
        tu_free_unaligned(y);
        tu_free_unaligned(acc0);
        tu_free_unaligned(dz);
        tu_free_unaligned(acc);
        tu_free_unaligned(want);
        tu_free_unaligned(want_acc);
    }
}

static void test_dispatch(void)
{
    CU_ASSERT_PTR_EQUAL(vec_kernels_for(ISA_SCALAR), &vec_kernels_scalar);
    CU_ASSERT_PTR_EQUAL(vec_kernels_for(ISA_AVX2), &vec_kernels_avx2);
    CU_ASSERT_PTR_EQUAL(vec_kernels_for(ISA_AVX512), &vec_kernels_avx512);
    CU_ASSERT_PTR_EQUAL(vec_kernels_get(), vec_kernels_for(isa_active()));
}

int register_vec_kernel_suites(void)
{
    static const char *const names[] = {
        "dot_rows, axpy_rows, axpy", "axpy over lengths", "relu_mask_add: bits by hand, in place, every length",
        "dispatch tables",
    };
    static const CU_TestFunc tests[] = {
        test_row_kernels, test_axpy_lengths, test_relu_mask_add, test_dispatch,
    };
    return tu_add_suite("kernel_vec", names, tests, sizeof tests / sizeof tests[0]);
}
