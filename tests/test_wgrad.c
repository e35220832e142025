/* kernel_wgrad: the weight-gradient kernel C (+)= A^T B of every ISA the
 * CPU has against double-precision sums, on strided, unaligned operands
 * whose unused columns hold NaN and a result whose gaps and end must stay
 * untouched; its bits: the same for the AVX2 and AVX-512 tables (both one
 * fused multiply-add a row), and the same when the rows come in two calls
 * or C in a corner. layer_wgrad: a dense layer taking dW by shares against
 * double sums and against oneDNN's product, its dx and db the bits of the
 * other way, its dW the tiles' shares added in tile order, the same bits on
 * one and two threads, at the full batch and a tail batch. */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include "core/mem.h"
#include "nn/dense.h"
#include "nn/dnnl_ctx.h"
#include "simd/vec.h"
#include "simd/wgrad.h"
#include "suites.h"
#include "testutil.h"

/* A k x ld matrix of uniform values whose columns from `used` on hold NaN. */
static float *strided(rng *r, size_t k, size_t used, size_t ld)
{
    float *p = tu_alloc_unaligned(k * ld + 1);
    tu_fill(r, p, k * ld + 1, -1, 1);
    for (size_t q = 0; q < k; q++)
        for (size_t j = used; j < ld; j++) p[q * ld + j] = NAN;
    return p;
}

/* The worst error of c against the double sums, as a share of the bound
 * (k + 3) eps sum |terms|: over 1 means out of bound, NaN counts as out. */
static double worst_error(const float *a, size_t lda, size_t m, size_t k, const float *b, size_t ldb, size_t n,
                          int accumulate, const float *c0, const float *c, size_t ldc)
{
    double worst = 0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = accumulate ? c0[i * ldc + j] : 0, size = fabs(s);
            for (size_t q = 0; q < k; q++) {
                double t = (double)a[q * lda + i] * b[q * ldb + j];
                s += t;
                size += fabs(t);
            }
            double err = fabs(c[i * ldc + j] - s) / ((k + 3) * FLT_EPSILON * size + 1e-30);
            worst = isnan(err) ? INFINITY : fmax(worst, err);
        }
    return worst;
}

static void test_against_double(void)
{
    static const size_t m_list[] = {1, 5, 6, 7, 13, 96}, n_list[] = {1, 7, 8, 15, 16, 17, 63, 64, 65, 130},
                        k_list[] = {0, 1, 3, 127, 128, 129, 300};
    rng r;
    rng_stream(&r, 43, 1);
    int checked = 0;
    for (size_t mi = 0; mi < sizeof m_list / sizeof m_list[0]; mi++)
        for (size_t ni = 0; ni < sizeof n_list / sizeof n_list[0]; ni++)
            for (size_t ki = 0; ki < sizeof k_list / sizeof k_list[0]; ki++)
                for (int accumulate = 0; accumulate < 2; accumulate++) {
                    size_t m = m_list[mi], n = n_list[ni], k = k_list[ki];
                    size_t lda = m + 3, ldb = n + 2, ldc = n + 1;
                    float *a = strided(&r, k, m, lda), *b = strided(&r, k, n, ldb);
                    float *c0 = tu_alloc_unaligned(m * ldc), *c = tu_alloc_guarded(m * ldc);
                    tu_fill(&r, c0, m * ldc, -1, 1);
                    for (int l = 0; l < tu_isa_count(); l++) {
                        memcpy(c, c0, m * ldc * sizeof *c);
                        wgrad_kernels_for(tu_isa_at(l))->atb(a, lda, m, k, b, ldb, n, accumulate, c, ldc);
                        double worst = worst_error(a, lda, m, k, b, ldb, n, accumulate, c0, c, ldc);
                        TU_ASSERT_MSG(worst <= 1, "atb %s m %zu n %zu k %zu acc %d: error %.3g of the bound",
                                      isa_name(tu_isa_at(l)), m, n, k, accumulate, worst);
                        int gaps = 1;
                        for (size_t i = 0; i < m; i++) gaps &= !memcmp(&c[i * ldc + n], &c0[i * ldc + n], sizeof *c);
                        TU_ASSERT_MSG(gaps && tu_guard_intact(c, m * ldc),
                                      "atb %s m %zu n %zu k %zu: wrote outside the m x n block", isa_name(tu_isa_at(l)),
                                      m, n, k);
                        checked++;
                    }
                    tu_free_unaligned(a);
                    tu_free_unaligned(b);
                    tu_free_unaligned(c0);
                    tu_free_unaligned(c);
                }
    CU_ASSERT(checked >= 6 * 10 * 7 * 2);
}

/* Sums small enough to be exact in float: a and b hold multiples of 1/4 in
 * [-2, 2], k <= 16, so every partial sum is a multiple of 1/16 below 2^8:
 * C = A^T B by hand for a 2 x 2 result. */
static void test_by_hand(void)
{
    /* k = 3 rows of A (2 columns) and B (2 columns). */
    const float a[6] = {1, 2, -0.5f, 0.25f, 2, -1}, b[6] = {0.5f, -1, 1, 1, -0.25f, 2};
    /* c00 = 1*0.5 + -0.5*1 + 2*-0.25 = -0.5; c01 = 1*-1 + -0.5*1 + 2*2 = 2.5;
     * c10 = 2*0.5 + 0.25*1 + -1*-0.25 = 1.5; c11 = 2*-1 + 0.25*1 + -1*2 = -3.75. */
    const float want[4] = {-0.5f, 2.5f, 1.5f, -3.75f};
    for (int l = 0; l < tu_isa_count(); l++) {
        const wgrad_kernels *kern = wgrad_kernels_for(tu_isa_at(l));
        float c[4] = {9, 9, 9, 9};
        kern->atb(a, 2, 2, 3, b, 2, 2, 0, c, 2);
        TU_ASSERT_MSG(!memcmp(c, want, sizeof c), "%s: [%g %g; %g %g]", isa_name(tu_isa_at(l)), c[0], c[1], c[2], c[3]);
        kern->atb(a, 2, 2, 3, b, 2, 2, 1, c, 2); /* adds the same again */
        for (int i = 0; i < 4; i++) CU_ASSERT_EQUAL(c[i], 2 * want[i]);
        kern->atb(a, 2, 2, 0, b, 2, 2, 0, c, 2); /* no rows: 0 */
        for (int i = 0; i < 4; i++) CU_ASSERT_EQUAL(c[i], 0.0f);
    }
}

/* Each element is one chain over the rows in order: rows in two calls (the
 * second adding), or a corner of C through offset pointers, give the bits
 * of one call; AVX2 and AVX-512 (both a fused multiply-add a row) give the
 * same bits. */
static void test_bits(void)
{
    static const size_t shapes[][3] = {{13, 70, 300}, {96, 256, 256}, {7, 17, 129}, {6, 64, 128}};
    rng r;
    rng_stream(&r, 43, 2);
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        size_t m = shapes[si][0], n = shapes[si][1], k = shapes[si][2];
        float *a = strided(&r, k, m, m), *b = strided(&r, k, n, n);
        float *c0 = tu_alloc_unaligned(m * n), *whole[3], *c = tu_alloc_unaligned(m * n);
        tu_fill(&r, c0, m * n, -1, 1);
        for (int l = 0; l < tu_isa_count(); l++) {
            const wgrad_kernels *kern = wgrad_kernels_for(tu_isa_at(l));
            const char *name = isa_name(tu_isa_at(l));
            whole[l] = tu_alloc_unaligned(m * n);
            memcpy(whole[l], c0, m * n * sizeof *c);
            kern->atb(a, m, m, k, b, n, n, 1, whole[l], n);
            for (size_t split = 1; split < k; split += k / 3) {
                memcpy(c, c0, m * n * sizeof *c);
                kern->atb(a, m, m, split, b, n, n, 1, c, n);
                kern->atb(a + split * m, m, m, k - split, b + split * n, n, n, 1, c, n);
                TU_ASSERT_MSG(!memcmp(c, whole[l], m * n * sizeof *c), "%s %zux%zux%zu: rows split at %zu differ",
                              name, m, n, k, split);
            }
            size_t i0 = m / 3, j0 = n / 3 + 1;
            memcpy(c, c0, m * n * sizeof *c);
            kern->atb(a + i0, m, m - i0, k, b + j0, n, n - j0, 1, c + i0 * n + j0, n);
            int same = 1;
            for (size_t i = i0; i < m; i++) same &= !memcmp(c + i * n + j0, whole[l] + i * n + j0, (n - j0) * sizeof *c);
            TU_ASSERT_MSG(same, "%s %zux%zux%zu: the corner from (%zu, %zu) differs from the whole call", name, m, n, k,
                          i0, j0);
        }
        if (tu_isa_count() == 3)
            TU_ASSERT_MSG(!memcmp(whole[1], whole[2], m * n * sizeof *c), "%zux%zux%zu: AVX2 and AVX-512 differ", m,
                          n, k);
        for (int l = 0; l < tu_isa_count(); l++) tu_free_unaligned(whole[l]);
        tu_free_unaligned(a);
        tu_free_unaligned(b);
        tu_free_unaligned(c0);
        tu_free_unaligned(c);
    }
}

static void test_dispatch(void)
{
    CU_ASSERT_PTR_EQUAL(wgrad_kernels_for(ISA_SCALAR), &wgrad_kernels_scalar);
    CU_ASSERT_PTR_EQUAL(wgrad_kernels_for(ISA_AVX2), &wgrad_kernels_avx2);
    CU_ASSERT_PTR_EQUAL(wgrad_kernels_for(ISA_AVX512), &wgrad_kernels_avx512);
    CU_ASSERT_PTR_EQUAL(wgrad_kernels_get(), wgrad_kernels_for(isa_active()));
}

/* ---- layer_wgrad -------------------------------------------------------- */

/* One backward of the layer from gradient buffers preset to g0 (so dW and
 * db are added to): dW, db and dx into out (in*out + out + batch*in floats). */
static void backward_into(dense_layer *l, const float *x, const float *y, const float *dy, int batch,
                          const float *g0, float *grads, float *dx, float *out)
{
    size_t nw = (size_t)l->in * l->out, ng = nw + (size_t)l->out;
    memcpy(grads, g0, ng * sizeof *grads);
    CU_ASSERT_EQUAL(dense_backward(l, x, y, dy, dx, 0, batch), DMMP_OK);
    memcpy(out, grads, ng * sizeof *grads);
    memcpy(out + ng, dx, (size_t)batch * l->in * sizeof *dx);
}

/* A ReLU layer of `in` inputs and `out` outputs at its max_batch and at a
 * tail batch, with every ISA of ours: by shares its dW is within a float
 * sum's rounding of the double sums and of oneDNN's product, and is, bit
 * for bit, the kernel's chain over tile 0's rows from the old dW plus each
 * later tile's share in tile order; its dx and db are the bits of the
 * oneDNN way; one and two threads give the same bits. */
static void check_layer_shares(nn_ctx *ctx, int in, int out, int max_batch, int tail, uint64_t seed)
{
    rng r;
    rng_stream(&r, 43, seed);
    size_t nw = (size_t)in * out, ng = nw + (size_t)out, nout = ng + (size_t)max_batch * in;
    float *params = tu_falloc(ng), *grads = tu_falloc(ng), *g0 = tu_falloc(ng), *x = tu_falloc((size_t)max_batch * in),
          *y = tu_falloc((size_t)max_batch * out), *dy = tu_falloc((size_t)max_batch * out),
          *dx = tu_falloc((size_t)max_batch * in), *dz = tu_falloc((size_t)max_batch * out), *want = tu_falloc(nw),
          *part = tu_falloc(nw);
    float *res[3];
    for (int v = 0; v < 3; v++) res[v] = tu_falloc(nout);
    dense_init_weights(params, params + nw, in, out, ACT_RELU, &r);
    tu_fill(&r, x, (size_t)max_batch * in, -1, 1);
    tu_fill(&r, dy, (size_t)max_batch * out, -1, 1);
    tu_fill(&r, g0, ng, -0.1f, 0.1f);
    dense_layer l;
    CU_ASSERT_EQUAL_FATAL(
        dense_init(&l, ctx, "shares", in, out, max_batch, ACT_RELU, params, params + nw, grads, grads + nw), DMMP_OK);
    isa_level isa_before = isa_active();
    int threads_before = omp_get_max_threads(), cases = 0;
    for (int li = 0; li < tu_isa_count(); li++) {
        CU_ASSERT_EQUAL_FATAL(isa_force(tu_isa_at(li)), DMMP_OK);
        const char *name = isa_name(tu_isa_at(li));
        const wgrad_kernels *kern = wgrad_kernels_get();
        const int batches[2] = {max_batch, tail};
        for (int bi = 0; bi < 2; bi++) {
            int batch = batches[bi];
            CU_ASSERT_EQUAL(dense_forward(&l, x, y, batch), DMMP_OK);
            /* res[0], res[1]: shares on 1 and 2 threads; res[2]: oneDNN's dW on 1 thread. */
            int parts_on = 0;
            for (int v = 0; v < 3; v++) {
                CU_ASSERT_EQUAL_FATAL(dense_set_shares(&l, v < 2), DMMP_OK);
                omp_set_num_threads(v == 1 ? 2 : 1);
                backward_into(&l, x, y, dy, batch, g0, grads, dx, res[v]);
                if (v == 0) parts_on = l.dw_parts;
            }
            omp_set_num_threads(threads_before);
            size_t nres = ng + (size_t)batch * in;
            TU_ASSERT_MSG(!memcmp(res[0], res[1], nres * sizeof(float)), "%s %dx%d batch %d: 1 and 2 threads differ",
                          name, in, out, batch);
            TU_ASSERT_MSG(!memcmp(res[0] + nw, res[2] + nw, (nres - nw) * sizeof(float)),
                          "%s %dx%d batch %d: db or dx differ between dW by shares and by oneDNN", name, in, out,
                          batch);
            /* The documented composition: tile 0 chained onto the old dW, then each later share added. */
            const dense_plan *p = batch == max_batch ? &l.full : &l.tail;
            int n_tiles = p->backward_data.n_tiles;
            TU_ASSERT_MSG(n_tiles >= 3 && parts_on >= n_tiles - 1, "%dx%d batch %d: %d tiles, room for %d shares", in, out,
                          batch, n_tiles, parts_on);
            for (size_t i = 0; i < (size_t)batch * out; i++) dz[i] = y[i] > 0 ? dy[i] : 0.0f;
            memcpy(want, g0, nw * sizeof *want);
            for (int t = 0; t < n_tiles; t++) {
                int row0, rows;
                nn_matmul_tile_span(&p->backward_data, t, &row0, &rows);
                float *into = t == 0 ? want : part;
                kern->atb(x + (size_t)row0 * in, (size_t)in, (size_t)in, (size_t)rows, dz + (size_t)row0 * out,
                          (size_t)out, (size_t)out, t == 0, into, (size_t)out);
                if (t > 0) vec_kernels_get()->axpy(1.0f, part, nw, want);
            }
            TU_ASSERT_MSG(!memcmp(res[0], want, nw * sizeof(float)),
                          "%s %dx%d batch %d: dW is not the tiles' shares added in tile order", name, in, out, batch);
            /* Both ways within a float sum's rounding of the double sums. */
            double worst = worst_error(x, in, in, (size_t)batch, dz, out, out, 1, g0, res[0], out);
            double worst_onednn = worst_error(x, in, in, (size_t)batch, dz, out, out, 1, g0, res[2], out);
            TU_ASSERT_MSG(worst <= 1 && worst_onednn <= 1,
                          "%s %dx%d batch %d: dW by shares %.3g, by oneDNN %.3g of the rounding bound", name, in, out,
                          batch, worst, worst_onednn);
            cases++;
        }
    }
    CU_ASSERT_EQUAL(isa_force(isa_before), DMMP_OK);
    CU_ASSERT_EQUAL(cases, 2 * tu_isa_count());
    dense_free(&l);
    mem_free(params);
    mem_free(grads);
    mem_free(g0);
    mem_free(x);
    mem_free(y);
    mem_free(dy);
    mem_free(dx);
    mem_free(dz);
    mem_free(want);
    mem_free(part);
    for (int v = 0; v < 3; v++) mem_free(res[v]);
}

/* 37 -> 70 at batch 1024 (4 row tiles of 256) and a 700 tail; 100 -> 70
 * (7000 weights: two pieces of the shares' sum, the second partial) at
 * batch 65 (3 tiles) and a 64 tail (4 tiles: the shares' buffer grows).
 * A layer of at most 4 outputs never takes shares. */
static void test_layer_shares(void)
{
    nn_ctx *ctx = NULL;
    CU_ASSERT_EQUAL_FATAL(nn_ctx_create(&ctx), DMMP_OK);
    check_layer_shares(ctx, 37, 70, 1024, 700, 3);
    check_layer_shares(ctx, 100, 70, 65, 64, 4);
    enum { IN = 37 };
    float *params = tu_falloc(IN * 4 + 4), *grads = tu_falloc(IN * 4 + 4);
    dense_layer narrow;
    CU_ASSERT_EQUAL_FATAL(
        dense_init(&narrow, ctx, "narrow", IN, 4, 1024, ACT_NONE, params, params + IN * 4, grads, grads + IN * 4),
        DMMP_OK);
    CU_ASSERT_EQUAL(dense_set_shares(&narrow, 1), DMMP_OK);
    CU_ASSERT_EQUAL(narrow.shares, 0);
    CU_ASSERT_PTR_NULL(narrow.dw_part);
    dense_free(&narrow);
    mem_free(params);
    mem_free(grads);
    nn_ctx_destroy(ctx);
}

int register_wgrad_suites(void)
{
    static const char *const kernel_names[] = {
        "atb: every ISA against double, strided operands, nothing written outside C's block",
        "atb by hand: exact sums, accumulate, no rows",
        "bits: rows in two calls, a corner of C, AVX2 and AVX-512 the same",
        "dispatch tables",
    };
    static const CU_TestFunc kernel_tests[] = {test_against_double, test_by_hand, test_bits, test_dispatch};
    static const char *const layer_names[] = {
        "dense dW by shares: double sums, oneDNN, tile order, dx and db unchanged, 1 and 2 threads, tail batches (one with more tiles), two pieces",
    };
    static const CU_TestFunc layer_tests[] = {test_layer_shares};
    if (tu_add_suite("kernel_wgrad", kernel_names, kernel_tests, sizeof kernel_tests / sizeof kernel_tests[0]))
        return 1;
    return tu_add_suite("layer_wgrad", layer_names, layer_tests, sizeof layer_tests / sizeof layer_tests[0]);
}
