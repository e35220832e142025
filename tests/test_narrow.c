/* kernel_narrow: the narrow matmul kernels (dot, axpy, outer) of every ISA
 * the CPU has against double-precision sums, on unaligned buffers of
 * awkward lengths with guards that must stay untouched; their epilogue by
 * hand; a slice of rows giving the bits of the whole call. layer_narrow:
 * nn_matmul routing the narrow shapes to them, against oneDNN computing the
 * same products inside a wider shape it keeps, and one or two threads
 * giving the same bits. */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "core/mem.h"
#include "nn/dnnl_ctx.h"
#include "nn/dnnl_matmul.h"
#include "nn/narrow_matmul.h"
#include "simd/narrow.h"
#include "suites.h"
#include "testutil.h"

/* |got - want| within a float sum's rounding of terms of total size `size`:
 * each of `terms` additions rounds by at most 2^-24 of the running size. */
static int close_to(double got, double want, double size, int terms)
{
    return fabs(got - want) <= (terms + 2) * FLT_EPSILON * size + 1e-30;
}

/* dot over rows x k against n <= 4 rows of bt, with and without bias, ReLU
 * and accumulation: the reference applies them in the documented order. */
static void test_dot(void)
{
    static const size_t rows_list[] = {1, 3, 4, 5, 9}, k_list[] = {1, 2, 3, 7, 15, 16, 17, 33, 368};
    rng r;
    rng_stream(&r, 41, 1);
    int checked = 0;
    for (size_t ri = 0; ri < sizeof rows_list / sizeof rows_list[0]; ri++)
        for (size_t ki = 0; ki < sizeof k_list / sizeof k_list[0]; ki++)
            for (size_t n = 1; n <= NARROW_MAX; n++)
                for (int variant = 0; variant < 4; variant++) {
                    size_t rows = rows_list[ri], k = k_list[ki];
                    int use_bias = variant & 1, relu = variant >= 2, accumulate = variant == 1 || variant == 3;
                    float *a = tu_alloc_unaligned(rows * k), *bt = tu_alloc_unaligned(n * k),
                          *bias = tu_alloc_unaligned(n), *c0 = tu_alloc_unaligned(rows * n),
                          *c = tu_alloc_guarded(rows * n);
                    tu_fill(&r, a, rows * k, -1, 1);
                    tu_fill(&r, bt, n * k, -1, 1);
                    tu_fill(&r, bias, n, -1, 1);
                    tu_fill(&r, c0, rows * n, -1, 1);
                    for (int l = 0; l < tu_isa_count(); l++) {
                        memcpy(c, c0, rows * n * sizeof *c);
                        narrow_kernels_for(tu_isa_at(l))
                            ->dot(a, rows, k, bt, n, use_bias ? bias : NULL, relu, accumulate, c);
                        for (size_t i = 0; i < rows; i++)
                            for (size_t j = 0; j < n; j++) {
                                double s = 0, size = 0;
                                for (size_t p = 0; p < k; p++) {
                                    s += (double)a[i * k + p] * bt[j * k + p];
                                    size += fabs((double)a[i * k + p] * bt[j * k + p]);
                                }
                                if (use_bias) s += bias[j], size += fabs(bias[j]);
                                if (accumulate) s += c0[i * n + j], size += fabs(c0[i * n + j]);
                                if (relu && s < 0) s = 0;
                                double got = c[i * n + j];
                                /* a sum near zero may round to either side of ReLU's edge */
                                int ok = close_to(got, s, size, (int)k + 2) ||
                                         (relu && got == 0 && close_to(0, s, size, (int)k + 2));
                                TU_ASSERT_MSG(ok, "dot %s rows %zu k %zu n %zu variant %d: c[%zu][%zu] = %.9g, want %.9g",
                                              isa_name(tu_isa_at(l)), rows, k, n, variant, i, j, got, s);
                            }
                        CU_ASSERT(tu_guard_intact(c, rows * n));
                        checked++;
                    }
                    tu_free_unaligned(a);
                    tu_free_unaligned(bt);
                    tu_free_unaligned(bias);
                    tu_free_unaligned(c0);
                    tu_free_unaligned(c);
                }
    CU_ASSERT(checked >= 720);
}

/* axpy: rows of C as up to 4 scaled rows of B, written or added. */
static void test_axpy(void)
{
    static const size_t rows_list[] = {1, 2, 5}, n_list[] = {1, 7, 8, 9, 15, 16, 17, 33, 368};
    rng r;
    rng_stream(&r, 41, 2);
    for (size_t ri = 0; ri < sizeof rows_list / sizeof rows_list[0]; ri++)
        for (size_t ni = 0; ni < sizeof n_list / sizeof n_list[0]; ni++)
            for (size_t k = 1; k <= NARROW_MAX; k++)
                for (int accumulate = 0; accumulate < 2; accumulate++) {
                    size_t rows = rows_list[ri], n = n_list[ni];
                    float *a = tu_alloc_unaligned(rows * k), *b = tu_alloc_unaligned(k * n),
                          *c0 = tu_alloc_unaligned(rows * n), *c = tu_alloc_guarded(rows * n);
                    tu_fill(&r, a, rows * k, -1, 1);
                    tu_fill(&r, b, k * n, -1, 1);
                    tu_fill(&r, c0, rows * n, -1, 1);
                    for (int l = 0; l < tu_isa_count(); l++) {
                        memcpy(c, c0, rows * n * sizeof *c);
                        narrow_kernels_for(tu_isa_at(l))->axpy(a, rows, k, b, n, accumulate, c);
                        for (size_t i = 0; i < rows; i++)
                            for (size_t j = 0; j < n; j++) {
                                double s = accumulate ? c0[i * n + j] : 0, size = fabs(s);
                                for (size_t p = 0; p < k; p++) {
                                    s += (double)a[i * k + p] * b[p * n + j];
                                    size += fabs((double)a[i * k + p] * b[p * n + j]);
                                }
                                TU_ASSERT_MSG(close_to(c[i * n + j], s, size, (int)k + 1),
                                              "axpy %s rows %zu k %zu n %zu acc %d: c[%zu][%zu] = %.9g, want %.9g",
                                              isa_name(tu_isa_at(l)), rows, k, n, accumulate, i, j, c[i * n + j], s);
                            }
                        CU_ASSERT(tu_guard_intact(c, rows * n));
                    }
                    tu_free_unaligned(a);
                    tu_free_unaligned(b);
                    tu_free_unaligned(c0);
                    tu_free_unaligned(c);
                }
}

/* outer: A^T B over the first m columns of a wider A (its other columns
 * hold NaN, so reading one would show), written or added. */
static void test_outer(void)
{
    static const size_t m_list[] = {1, 15, 16, 17, 64, 65, 96, 100}, k_list[] = {1, 7, 1024};
    rng r;
    rng_stream(&r, 41, 3);
    for (size_t mi = 0; mi < sizeof m_list / sizeof m_list[0]; mi++)
        for (size_t ki = 0; ki < sizeof k_list / sizeof k_list[0]; ki++)
            for (size_t n = 1; n <= NARROW_MAX; n++)
                for (int accumulate = 0; accumulate < 2; accumulate++) {
                    size_t m = m_list[mi], k = k_list[ki], lda = m + 5;
                    float *a = tu_alloc_unaligned(k * lda), *b = tu_alloc_unaligned(k * n),
                          *c0 = tu_alloc_unaligned(m * n), *c = tu_alloc_guarded(m * n);
                    tu_fill(&r, a, k * lda, -1, 1);
                    for (size_t q = 0; q < k; q++)
                        for (size_t i = m; i < lda; i++) a[q * lda + i] = NAN;
                    tu_fill(&r, b, k * n, -1, 1);
                    tu_fill(&r, c0, m * n, -1, 1);
                    for (int l = 0; l < tu_isa_count(); l++) {
                        memcpy(c, c0, m * n * sizeof *c);
                        narrow_kernels_for(tu_isa_at(l))->outer(a, lda, m, k, b, n, accumulate, c);
                        double worst = 0;
                        for (size_t i = 0; i < m; i++)
                            for (size_t j = 0; j < n; j++) {
                                double s = accumulate ? c0[i * n + j] : 0, size = fabs(s);
                                for (size_t q = 0; q < k; q++) {
                                    s += (double)a[q * lda + i] * b[q * n + j];
                                    size += fabs((double)a[q * lda + i] * b[q * n + j]);
                                }
                                double err = fabs(c[i * n + j] - s) / ((k + 3) * FLT_EPSILON * size + 1e-30);
                                worst = isnan(err) ? INFINITY : fmax(worst, err);
                            }
                        TU_ASSERT_MSG(worst <= 1, "outer %s m %zu k %zu n %zu acc %d: error %.3g of the bound",
                                      isa_name(tu_isa_at(l)), m, k, n, accumulate, worst);
                        CU_ASSERT(tu_guard_intact(c, m * n));
                    }
                    tu_free_unaligned(a);
                    tu_free_unaligned(b);
                    tu_free_unaligned(c0);
                    tu_free_unaligned(c);
                }
}

/* The epilogue by hand, exact in float: a = [1 2], bt = [3 4; -5 0.5]:
 * dots 11 and -4; bias 1 and 2; old values 0.5 and 1; ReLU clips the
 * negative sum and passes a NaN. */
static void test_epilogue(void)
{
    const float a[2] = {1, 2}, bt[4] = {3, 4, -5, 0.5f}, bias[2] = {1, 2};
    for (int l = 0; l < tu_isa_count(); l++) {
        const narrow_kernels *kern = narrow_kernels_for(tu_isa_at(l));
        float c[2] = {0.5f, 1};
        kern->dot(a, 1, 2, bt, 2, bias, 0, 1, c);
        CU_ASSERT(c[0] == 12.5f && c[1] == -1.0f); /* 11 + 1 + 0.5, -4 + 2 + 1 */
        kern->dot(a, 1, 2, bt, 2, NULL, 1, 0, c);
        CU_ASSERT(c[0] == 11.0f && c[1] == 0.0f && !signbit(c[1]));
        const float a_nan[2] = {NAN, 1};
        kern->dot(a_nan, 1, 2, bt, 2, bias, 1, 0, c);
        TU_ASSERT_MSG(isnan(c[0]) && isnan(c[1]), "%s: ReLU of NaN gave %g %g", isa_name(tu_isa_at(l)), c[0], c[1]);
        /* axpy: c = 2 * [1 -1 4] + 3 * [0.5 2 -1] + old [1 1 1] */
        const float s[2] = {2, 3}, rows[6] = {1, -1, 4, 0.5f, 2, -1};
        float d[3] = {1, 1, 1};
        kern->axpy(s, 1, 2, rows, 3, 1, d);
        CU_ASSERT(d[0] == 4.5f && d[1] == 5.0f && d[2] == 6.0f);
        /* outer: columns [1 2] and [3 4] of A against b = [1; -2]: 1 - 6, 2 - 8 */
        const float am[4] = {1, 2, 3, 4}, bv[2] = {1, -2};
        float e[2] = {0, 0};
        kern->outer(am, 2, 2, 2, bv, 1, 0, e);
        CU_ASSERT(e[0] == -5.0f && e[1] == -6.0f);
    }
}

/* A call over a slice of rows (dot, axpy) or columns (outer) gives the bits
 * the whole call gave there: what lets the row tiles of nn_matmul and any
 * team size leave the result unchanged. */
static void test_slices(void)
{
    enum { ROWS = 37, K = 45, N = 3, K_AXPY = 3, N_AXPY = 45, M = 70, K_OUTER = 100 };
    rng r;
    rng_stream(&r, 41, 4);
    float *a = tu_alloc_unaligned(ROWS * K), *bt = tu_alloc_unaligned(N * K), *bias = tu_alloc_unaligned(N);
    float *ao = tu_alloc_unaligned(K_OUTER * M), *bo = tu_alloc_unaligned(K_OUTER * N);
    float whole[ROWS * N_AXPY], part[ROWS * N_AXPY];
    tu_fill(&r, a, ROWS * K, -1, 1);
    tu_fill(&r, bt, N * K, -1, 1);
    tu_fill(&r, bias, N, -1, 1);
    tu_fill(&r, ao, K_OUTER * M, -1, 1);
    tu_fill(&r, bo, K_OUTER * N, -1, 1);
    static const size_t cuts[][2] = {{0, 1}, {1, 4}, {5, 3}, {13, 24}, {36, 1}};
    for (int l = 0; l < tu_isa_count(); l++) {
        const narrow_kernels *kern = narrow_kernels_for(tu_isa_at(l));
        int same = 1;
        kern->dot(a, ROWS, K, bt, N, bias, 1, 0, whole);
        for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
            size_t r0 = cuts[c][0], len = cuts[c][1];
            kern->dot(a + r0 * K, len, K, bt, N, bias, 1, 0, part);
            same &= !memcmp(part, whole + r0 * N, len * N * sizeof *part);
        }
        /* axpy: A [ROWS x 3] from the start of a, B [3 x 45] from the floats after it */
        kern->axpy(a, ROWS, K_AXPY, a + ROWS * K_AXPY, N_AXPY, 0, whole);
        for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
            size_t r0 = cuts[c][0], len = cuts[c][1];
            kern->axpy(a + r0 * K_AXPY, len, K_AXPY, a + ROWS * K_AXPY, N_AXPY, 0, part);
            same &= !memcmp(part, whole + r0 * N_AXPY, len * N_AXPY * sizeof *part);
        }
        kern->outer(ao, M, M, K_OUTER, bo, N, 0, whole);
        static const size_t col_cuts[][2] = {{0, 16}, {16, 48}, {64, 6}, {3, 61}};
        for (size_t c = 0; c < sizeof col_cuts / sizeof col_cuts[0]; c++) {
            size_t i0 = col_cuts[c][0], len = col_cuts[c][1];
            kern->outer(ao + i0, M, len, K_OUTER, bo, N, 0, part);
            same &= !memcmp(part, whole + i0 * N, len * N * sizeof *part);
        }
        TU_ASSERT_MSG(same, "%s: a slice differs from the whole call", isa_name(tu_isa_at(l)));
    }
    tu_free_unaligned(a);
    tu_free_unaligned(bt);
    tu_free_unaligned(bias);
    tu_free_unaligned(ao);
    tu_free_unaligned(bo);
}

static void test_dispatch(void)
{
    CU_ASSERT_PTR_EQUAL(narrow_kernels_for(ISA_SCALAR), &narrow_kernels_scalar);
    CU_ASSERT_PTR_EQUAL(narrow_kernels_for(ISA_AVX2), &narrow_kernels_avx2);
    CU_ASSERT_PTR_EQUAL(narrow_kernels_for(ISA_AVX512), &narrow_kernels_avx512);
    CU_ASSERT_PTR_EQUAL(narrow_kernels_get(), narrow_kernels_for(isa_active()));
}

/* ---- layer_narrow ------------------------------------------------------- */

/* Which shapes go to our kernels: a side of at most 4, in the forms the
 * kernels take (bias and ReLU only for dot; A^T only with B as stored). */
static void test_routing(void)
{
    const struct {
        nn_matmul_shape s;
        narrow_kind want;
    } cases[] = {
        {{.m = 1024, .k = 368, .n = 3, .bias = 1}, NARROW_DOT},
        {{.m = 1024, .k = 64, .n = 1, .bias = 1, .relu = 1, .accumulate = 1}, NARROW_DOT},
        {{.m = 1024, .k = 64, .n = 4, .b_transposed = 1}, NARROW_DOT},
        {{.m = 1024, .k = 64, .n = 5, .bias = 1}, NARROW_NONE},
        {{.m = 1024, .k = 3, .n = 368, .b_transposed = 1, .accumulate = 1}, NARROW_AXPY},
        {{.m = 1024, .k = 4, .n = 368}, NARROW_AXPY},
        {{.m = 1024, .k = 3, .n = 368, .bias = 1}, NARROW_NONE},
        {{.m = 1024, .k = 5, .n = 368, .b_transposed = 1}, NARROW_NONE},
        {{.m = 368, .k = 1024, .n = 3, .a_transposed = 1, .accumulate = 1}, NARROW_OUTER},
        {{.m = 368, .k = 1024, .n = 3, .a_transposed = 1, .b_transposed = 1}, NARROW_NONE},
        {{.m = 368, .k = 1024, .n = 5, .a_transposed = 1}, NARROW_NONE},
        {{.m = 3, .k = 1024, .n = 368, .a_transposed = 1}, NARROW_NONE},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        TU_ASSERT_MSG(narrow_matmul_kind(&cases[c].s) == cases[c].want, "case %zu: kind %d, expected %d", c,
                      (int)narrow_matmul_kind(&cases[c].s), (int)cases[c].want);
}

/* One narrow product through nn_matmul (our kernels) on 1 and 2 threads,
 * and the same product embedded in a shape NARROW_MAX + 1 wide on the
 * narrow side, which oneDNN computes: the extra columns of B (dot, outer)
 * are random and their columns of C dropped; those of A (axpy) are zero. */
static void test_against_onednn(void)
{
    /* m, k, n, a_transposed, b_transposed, bias, relu, accumulate */
    static const int shapes[][8] = {
        {1024, 368, 3, 0, 0, 1, 0, 0}, {300, 64, 1, 0, 0, 1, 1, 0},  {37, 33, 2, 0, 1, 0, 0, 1},
        {1024, 3, 368, 0, 1, 0, 0, 1}, {300, 1, 64, 0, 1, 0, 0, 0},  {37, 4, 33, 0, 0, 0, 0, 0},
        {368, 1024, 3, 1, 0, 0, 0, 1}, {64, 300, 1, 1, 0, 0, 0, 0},  {33, 37, 4, 1, 0, 0, 0, 1},
    };
    nn_ctx *ctx = NULL;
    CU_ASSERT_EQUAL_FATAL(nn_ctx_create(&ctx), DMMP_OK);
    rng r;
    rng_stream(&r, 41, 5);
    int threads_before = omp_get_max_threads();
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const int *v = shapes[si];
        nn_matmul_shape sh = {.m = v[0], .k = v[1], .n = v[2], .a_transposed = v[3], .b_transposed = v[4],
                              .bias = v[5], .relu = v[6], .accumulate = v[7]};
        narrow_kind kind = narrow_matmul_kind(&sh);
        CU_ASSERT_FATAL(kind != NARROW_NONE);
        /* the wide shape: C (dot, outer) or A (axpy) NARROW_MAX + 1 wide */
        nn_matmul_shape wide = sh;
        if (kind == NARROW_AXPY) wide.k = NARROW_MAX + 1;
        else wide.n = NARROW_MAX + 1;
        CU_ASSERT_FATAL(narrow_matmul_kind(&wide) == NARROW_NONE);
        size_t m = (size_t)sh.m, k = (size_t)sh.k, n = (size_t)sh.n, wk = (size_t)wide.k, wn = (size_t)wide.n;
        float *a = tu_falloc(m * k), *b = tu_falloc(k * n), *bias = tu_falloc(wn), *c0 = tu_falloc(m * n);
        float *wa = tu_falloc(m * wk), *wb = tu_falloc(wk * wn), *wc = tu_falloc(m * wn);
        float *c[2] = {tu_falloc(m * n), tu_falloc(m * n)};
        tu_fill(&r, a, m * k, -1, 1);
        tu_fill(&r, b, k * n, -1, 1);
        tu_fill(&r, bias, wn, -0.5f, 0.5f);
        tu_fill(&r, c0, m * n, -1, 1);
        /* element (i, p) of A and (p, j) of B, in the stored layouts of either shape */
#define A_AT(buf, kk, i, p) (*(sh.a_transposed ? &(buf)[(size_t)(p) * m + (i)] : &(buf)[(size_t)(i) * (kk) + (p)]))
#define B_AT(buf, kk, nn, p, j) \
    (*(sh.b_transposed ? &(buf)[(size_t)(j) * (kk) + (p)] : &(buf)[(size_t)(p) * (nn) + (j)]))
        tu_fill(&r, wb, wk * wn, -1, 1);
        memset(wa, 0, m * wk * sizeof *wa);
        for (size_t i = 0; i < m; i++)
            for (size_t p = 0; p < k; p++) A_AT(wa, wk, i, p) = A_AT(a, k, i, p);
        for (size_t p = 0; p < k; p++)
            for (size_t j = 0; j < n; j++) B_AT(wb, wk, wn, p, j) = B_AT(b, k, n, p, j);
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < wn; j++) wc[i * wn + j] = j < n ? c0[i * n + j] : 0;
        for (int t = 0; t < 2; t++) {
            omp_set_num_threads(t + 1);
            memcpy(c[t], c0, m * n * sizeof *c0);
            nn_matmul mm;
            CU_ASSERT_EQUAL_FATAL(nn_matmul_create(&mm, ctx, &sh, "narrow", "test"), DMMP_OK);
            CU_ASSERT_EQUAL(mm.narrow, (int)kind);
            CU_ASSERT_EQUAL(nn_matmul_execute(&mm, ctx, a, b, bias, c[t], "narrow", "test"), DMMP_OK);
            nn_matmul_free(&mm);
        }
        omp_set_num_threads(threads_before);
        nn_matmul wmm;
        CU_ASSERT_EQUAL_FATAL(nn_matmul_create(&wmm, ctx, &wide, "wide", "test"), DMMP_OK);
        CU_ASSERT_EQUAL(nn_matmul_execute(&wmm, ctx, wa, wb, bias, wc, "wide", "test"), DMMP_OK);
        nn_matmul_free(&wmm);
        double worst = 0;
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++) {
                double size = (sh.bias ? fabs(bias[j]) : 0) + (sh.accumulate ? fabs(c0[i * n + j]) : 0);
                for (size_t p = 0; p < k; p++) size += fabs((double)A_AT(a, k, i, p) * B_AT(b, k, n, p, j));
                double err = fabs((double)c[0][i * n + j] - wc[i * wn + j]) / (2 * (k + 3) * FLT_EPSILON * size + 1e-30);
                worst = fmax(worst, err);
            }
#undef A_AT
#undef B_AT
        TU_ASSERT_MSG(worst <= 1, "m %d k %d n %d kind %d: %.3g of the bound from oneDNN's", sh.m, sh.k, sh.n,
                      (int)kind, worst);
        TU_ASSERT_MSG(!memcmp(c[0], c[1], m * n * sizeof *c0), "m %d k %d n %d: 1 and 2 threads differ", sh.m, sh.k,
                      sh.n);
        mem_free(a);
        mem_free(b);
        mem_free(bias);
        mem_free(c0);
        mem_free(wa);
        mem_free(wb);
        mem_free(wc);
        mem_free(c[0]);
        mem_free(c[1]);
    }
    nn_ctx_destroy(ctx);
}

int register_narrow_suites(void)
{
    static const char *const kernel_names[] = {
        "dot: every ISA against double, bias, ReLU, accumulate", "axpy: every ISA against double",
        "outer: every ISA against double, columns beyond m unread", "epilogue and NaN by hand",
        "a slice of rows or columns gives the whole call's bits", "dispatch tables",
    };
    static const CU_TestFunc kernel_tests[] = {
        test_dot, test_axpy, test_outer, test_epilogue, test_slices, test_dispatch,
    };
    static const char *const layer_names[] = {
        "narrow_matmul_kind: which shapes our kernels take",
        "nn_matmul on narrow shapes against oneDNN on one wider, 1 and 2 threads the same bits",
    };
    static const CU_TestFunc layer_tests[] = {test_routing, test_against_onednn};
    if (tu_add_suite("kernel_narrow", kernel_names, kernel_tests, sizeof kernel_tests / sizeof kernel_tests[0]))
        return 1;
    return tu_add_suite("layer_narrow", layer_names, layer_tests, sizeof layer_tests / sizeof layer_tests[0]);
}
