/* optim_sparse: the lazy sparse optimisers under the active ISA.
 *
 * Hand values are written out in double from the textbook formulas; the
 * float code stays within 1e-6 of them over two steps on values of order 1.
 * Row-level properties (untouched rows, lazy Adam = dense Adam per row, the
 * OpenMP path) are checked bit for bit. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "core/mem.h"
#include "nn/optim.h"
#include "simd/optim.h"
#include "suites.h"
#include "testutil.h"

/* Fills g with the given rows and uniform random values. */
static void make_grad(sparse_grad *g, const int32_t *rows, int n_rows, rng *r)
{
    CU_ASSERT_EQUAL_FATAL(sparse_grad_reserve(g, n_rows), DMMP_OK);
    g->n_rows = n_rows;
    memcpy(g->rows, rows, (size_t)n_rows * sizeof *rows);
    tu_fill(r, g->values, (size_t)n_rows * (size_t)g->dim, -1.0f, 1.0f);
}

static void test_lazy_adam_touches_only_batch_rows(void)
{
    enum { ROWS = 50, DIM = 5 };
    static const int32_t batch[] = {3, 17, 40, 49};
    sparse_opt_config c = sparse_opt_config_default(SPARSE_OPT_ADAM);
    c.lr = 0.01f;
    c.l2 = 0.1f;
    sparse_opt o;
    sparse_grad g;
    float table[ROWS * DIM], table0[ROWS * DIM], m0[ROWS * DIM], v0[ROWS * DIM];
    int64_t steps0[ROWS];
    rng r;
    rng_stream(&r, 31, 0);
    tu_fill(&r, table, ROWS * DIM, -1, 1);
    CU_ASSERT_EQUAL_FATAL(sparse_opt_init(&o, SPARSE_OPT_ADAM, ROWS, DIM, &c), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(sparse_grad_init(&g, 4, DIM), DMMP_OK);
    /* A first step over other rows gives the state non-trivial contents. */
    static const int32_t warm[] = {0, 3, 20, 21};
    make_grad(&g, warm, 4, &r);
    CU_ASSERT_EQUAL(sparse_opt_step(&o, table, &g), DMMP_OK);
    memcpy(table0, table, sizeof table), memcpy(m0, o.m, sizeof m0), memcpy(v0, o.v, sizeof v0);
    memcpy(steps0, o.steps, sizeof steps0);
    make_grad(&g, batch, 4, &r);
    CU_ASSERT_EQUAL(sparse_opt_step(&o, table, &g), DMMP_OK);
    int b = 0;
    for (int row = 0; row < ROWS; row++) {
        size_t off = (size_t)row * DIM, bytes = DIM * sizeof(float);
        int touched = b < 4 && batch[b] == row;
        if (touched) {
            b++;
            CU_ASSERT_NOT_EQUAL(memcmp(table + off, table0 + off, bytes), 0);
            CU_ASSERT_EQUAL(o.steps[row], steps0[row] + 1);
        } else {
            TU_ASSERT_MSG(!memcmp(table + off, table0 + off, bytes) && !memcmp(o.m + off, m0 + off, bytes) &&
                              !memcmp(o.v + off, v0 + off, bytes) && o.steps[row] == steps0[row],
                          "untouched row %d changed", row);
        }
    }
    CU_ASSERT_EQUAL(o.steps[3], 2);
    CU_ASSERT_EQUAL(o.steps[17], 1);
    CU_ASSERT_EQUAL(o.steps[20], 1);
    CU_ASSERT_EQUAL(o.steps[1], 0);
    sparse_grad_free(&g);
    sparse_opt_free(&o);
}

/* Row 4 is updated at steps 1 and 3 and skipped at step 2: lazily, it must
 * be exactly two dense Adam steps on its own gradients (no decay of m, v in
 * step 2, bias correction with t = 1, 2). Row 7 (only step 2) is one step. */
static void test_lazy_adam_equals_dense_per_row(void)
{
    enum { ROWS = 10, DIM = 19 };
    sparse_opt_config c = sparse_opt_config_default(SPARSE_OPT_ADAM);
    c.lr = 0.05f;
    adam_config dc = adam_config_default();
    dc.lr = c.lr;
    sparse_opt o;
    sparse_grad g;
    adam_state d4, d7;
    float table[ROWS * DIM], w4[DIM], w7[DIM];
    rng r;
    rng_stream(&r, 32, 0);
    tu_fill(&r, table, ROWS * DIM, -1, 1);
    memcpy(w4, table + 4 * DIM, sizeof w4);
    memcpy(w7, table + 7 * DIM, sizeof w7);
    CU_ASSERT_EQUAL_FATAL(sparse_opt_init(&o, SPARSE_OPT_ADAM, ROWS, DIM, &c), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(sparse_grad_init(&g, 2, DIM), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(adam_init(&d4, DIM, &dc), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(adam_init(&d7, DIM, &dc), DMMP_OK);
    static const int32_t r4[] = {4}, r7[] = {7};
    make_grad(&g, r4, 1, &r);
    CU_ASSERT_EQUAL(adam_step(&d4, w4, g.values), DMMP_OK);
    CU_ASSERT_EQUAL(sparse_opt_step(&o, table, &g), DMMP_OK);
    make_grad(&g, r7, 1, &r);
    CU_ASSERT_EQUAL(adam_step(&d7, w7, g.values), DMMP_OK);
    CU_ASSERT_EQUAL(sparse_opt_step(&o, table, &g), DMMP_OK);
    make_grad(&g, r4, 1, &r);
    CU_ASSERT_EQUAL(adam_step(&d4, w4, g.values), DMMP_OK);
    CU_ASSERT_EQUAL(sparse_opt_step(&o, table, &g), DMMP_OK);
    CU_ASSERT_EQUAL(o.steps[4], 2);
    CU_ASSERT_EQUAL(o.steps[7], 1);
    CU_ASSERT_EQUAL(memcmp(table + 4 * DIM, w4, sizeof w4), 0);
    CU_ASSERT_EQUAL(memcmp(o.m + 4 * DIM, d4.m, sizeof w4), 0);
    CU_ASSERT_EQUAL(memcmp(o.v + 4 * DIM, d4.v, sizeof w4), 0);
    CU_ASSERT_EQUAL(memcmp(table + 7 * DIM, w7, sizeof w7), 0);
    adam_free(&d4), adam_free(&d7);
    sparse_grad_free(&g);
    sparse_opt_free(&o);
}

static void test_adagrad_hand_values(void)
{
    /* Two rows of width 2, initial accumulator 0.1, lr 0.1, eps 1e-7 (TF).
     * Step 1, row 1, element 0: acc = 0.1 + 0.5^2 = 0.35,
     * w = 1 - 0.1 * 0.5 / (sqrt(0.35) + 1e-7) = 1 - 0.05 / 0.5916081 = 0.9154837. */
    sparse_opt_config c = sparse_opt_config_default(SPARSE_OPT_ADAGRAD);
    c.lr = 0.1f;
    sparse_opt o;
    sparse_grad g;
    float table[6] = {9, 9, 1.0f, -2.0f, 9, 9};
    CU_ASSERT_EQUAL_FATAL(sparse_opt_init(&o, SPARSE_OPT_ADAGRAD, 3, 2, &c), DMMP_OK);
    TU_ASSERT_NEAR(o.accum[5], 0.1, 2e-9); /* 0.1f */
    CU_ASSERT_EQUAL_FATAL(sparse_grad_init(&g, 1, 2), DMMP_OK);
    g.n_rows = 1;
    g.rows[0] = 1;
    g.values[0] = 0.5f, g.values[1] = -1.0f;
    CU_ASSERT_EQUAL(sparse_opt_step(&o, table, &g), DMMP_OK);
    TU_ASSERT_NEAR(o.accum[2], 0.35, 1e-7);
    TU_ASSERT_NEAR(table[2], 0.9154837, 1e-6);
    double w[2] = {1.0 - 0.1 * 0.5 / (sqrt(0.35) + 1e-7), -2.0 + 0.1 * 1.0 / (sqrt(1.1) + 1e-7)};
    double acc[2] = {0.35, 1.1};
    TU_ASSERT_NEAR(table[3], w[1], 1e-6);
    /* Step 2 with g = (-0.2, 0.3). */
    g.values[0] = -0.2f, g.values[1] = 0.3f;
    CU_ASSERT_EQUAL(sparse_opt_step(&o, table, &g), DMMP_OK);
    const double g2[2] = {-0.2, 0.3};
    for (int i = 0; i < 2; i++) {
        acc[i] += g2[i] * g2[i];
        w[i] -= 0.1 * g2[i] / (sqrt(acc[i]) + 1e-7);
        TU_ASSERT_NEAR(o.accum[2 + i], acc[i], 1e-6);
        TU_ASSERT_NEAR(table[2 + i], w[i], 1e-6);
    }
    CU_ASSERT(table[0] == 9 && table[1] == 9 && table[4] == 9 && table[5] == 9);
    CU_ASSERT(o.accum[0] == 0.1f && o.accum[5] == 0.1f);
    sparse_grad_free(&g);
    sparse_opt_free(&o);
}

/* L2 pulls touched rows towards 0 (even with a zero loss gradient) and never
 * reaches untouched rows. */
static void test_l2_only_on_touched_rows(void)
{
    for (int kind = SPARSE_OPT_ADAM; kind <= SPARSE_OPT_ADAGRAD; kind++) {
        sparse_opt_config c = sparse_opt_config_default((sparse_opt_kind)kind);
        c.lr = 0.1f;
        c.l2 = 0.5f;
        sparse_opt o;
        sparse_grad g;
        float table[4 * 3] = {1, 2, 3, -1, -2, -3, 0.5f, 0.5f, 0.5f, 4, 4, 4}, before[12];
        memcpy(before, table, sizeof table);
        CU_ASSERT_EQUAL_FATAL(sparse_opt_init(&o, (sparse_opt_kind)kind, 4, 3, &c), DMMP_OK);
        CU_ASSERT_EQUAL_FATAL(sparse_grad_init(&g, 1, 3), DMMP_OK);
        g.n_rows = 1;
        g.rows[0] = 1;
        g.values[0] = 0.0f, g.values[1] = 0.4f, g.values[2] = -0.4f;
        CU_ASSERT_EQUAL(sparse_opt_step(&o, table, &g), DMMP_OK);
        for (int i = 0; i < 3; i++) {
            double w = before[3 + i], gi = g.values[i] + 0.5 * w, expect;
            if (kind == SPARSE_OPT_ADAM) expect = w - 0.1 * gi / (fabs(gi) + 1e-8); /* first step: sign */
            else expect = w - 0.1 * gi / (sqrt(0.1 + gi * gi) + 1e-7);
            TU_ASSERT_NEAR(table[3 + i], expect, 1e-6);
        }
        CU_ASSERT_EQUAL(memcmp(table, before, 3 * sizeof(float)), 0);
        CU_ASSERT_EQUAL(memcmp(table + 6, before + 6, 6 * sizeof(float)), 0);
        sparse_grad_free(&g);
        sparse_opt_free(&o);
    }
}

/* Many rows go through the OpenMP path: identical bits to per-row kernel
 * calls in order, whatever the thread count. */
static void test_sparse_parallel_deterministic(void)
{
    const int64_t rows = 20000;
    const int dim = 16;
    const int64_t touched = 9000;
    for (int kind = SPARSE_OPT_ADAM; kind <= SPARSE_OPT_ADAGRAD; kind++) {
        sparse_opt_config c = sparse_opt_config_default((sparse_opt_kind)kind);
        sparse_opt o;
        sparse_grad g;
        float *t1, *t2, *s1, *s2;
        size_t n = (size_t)rows * dim;
        CU_ASSERT_EQUAL_FATAL(mem_alloc_f32(&t1, n, "t1"), DMMP_OK);
        CU_ASSERT_EQUAL_FATAL(mem_alloc_f32(&t2, n, "t2"), DMMP_OK);
        CU_ASSERT_EQUAL_FATAL(mem_alloc_f32(&s1, n, "s1"), DMMP_OK);
        CU_ASSERT_EQUAL_FATAL(mem_alloc_f32(&s2, n, "s2"), DMMP_OK);
        rng r;
        rng_stream(&r, 33, (uint64_t)kind);
        tu_fill(&r, t1, n, -1, 1);
        memcpy(t2, t1, n * sizeof *t1);
        CU_ASSERT_EQUAL_FATAL(sparse_opt_init(&o, (sparse_opt_kind)kind, rows, dim, &c), DMMP_OK);
        CU_ASSERT_EQUAL_FATAL(sparse_grad_init(&g, touched, dim), DMMP_OK);
        g.n_rows = touched;
        for (int64_t i = 0; i < touched; i++) g.rows[i] = (int32_t)(i * 2 + (i % 3 == 0));
        tu_fill(&r, g.values, (size_t)touched * dim, -1, 1);
        if (kind == SPARSE_OPT_ADAGRAD)
            for (size_t i = 0; i < n; i++) s2[i] = 0.1f;
        int threads = omp_get_max_threads();
        omp_set_num_threads(threads < 2 ? 2 : threads);
        CU_ASSERT_EQUAL(sparse_opt_step(&o, t1, &g), DMMP_OK);
        omp_set_num_threads(threads);
        const optim_kernels *k = optim_kernels_get();
        float *v2 = s1; /* second moments of the reference (Adam only) */
        memset(v2, 0, n * sizeof *v2);
        for (int64_t i = 0; i < touched; i++) {
            size_t off = (size_t)g.rows[i] * dim;
            const float *gi = g.values + (size_t)i * dim;
            if (kind == SPARSE_OPT_ADAM) {
                /* t = 1: step_size = lr / (1 - beta1), inv_sqrt_bc2 = 1 / sqrt(1 - beta2). */
                adam_coeffs ac = {.beta1 = c.beta1, .one_minus_beta1 = (float)(1 - (double)c.beta1),
                                  .beta2 = c.beta2, .one_minus_beta2 = (float)(1 - (double)c.beta2),
                                  .step_size = (float)((double)c.lr / (1 - (double)c.beta1)),
                                  .inv_sqrt_bc2 = (float)(1 / sqrt(1 - (double)c.beta2)), .eps = c.eps,
                                  .decay = 0, .l2 = 0, .grad_scale = 1};
                k->adam_update(t2 + off, s2 + off, v2 + off, gi, (size_t)dim, &ac);
            } else {
                adagrad_coeffs gc = {.lr = c.lr, .eps = c.eps, .l2 = 0, .grad_scale = 1};
                k->adagrad_update(t2 + off, s2 + off, gi, (size_t)dim, &gc);
            }
        }
        CU_ASSERT_EQUAL(memcmp(t1, t2, n * sizeof *t1), 0);
        CU_ASSERT_EQUAL(memcmp(kind == SPARSE_OPT_ADAM ? o.m : o.accum, s2, n * sizeof *s2), 0);
        if (kind == SPARSE_OPT_ADAM) CU_ASSERT_EQUAL(memcmp(o.v, v2, n * sizeof *v2), 0);
        mem_free(t1), mem_free(t2), mem_free(s1), mem_free(s2);
        sparse_grad_free(&g);
        sparse_opt_free(&o);
    }
}

int register_optim_sparse_suites(void)
{
    static const char *const names[] = {
        "lazy adam touches only batch rows", "lazy adam row = dense adam on that row",
        "adagrad hand values", "L2 only on touched rows", "many rows: OpenMP path bit-identical",
    };
    static const CU_TestFunc tests[] = {
        test_lazy_adam_touches_only_batch_rows, test_lazy_adam_equals_dense_per_row, test_adagrad_hand_values,
        test_l2_only_on_touched_rows, test_sparse_parallel_deterministic,
    };
    return tu_add_suite("optim_sparse", names, tests, sizeof tests / sizeof tests[0]);
}
