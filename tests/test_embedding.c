/* Embedding kernels against the scalar path and exact (double) sums, and the
 * embedding layer against finite differences and brute-force references. */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "nn/embedding.h"
#include "simd/embed.h"
#include "suites.h"
#include "testutil.h"

/* What a kernel must leave where it does not write. */
#define UNTOUCHED 777.0f

/* Unit roundoff of float: one rounding moves a value by at most U * |value|. */
#define U ((double)FLT_EPSILON / 2)

static const int dims[] = {1, 15, 16, 17, 64, 100};
#define N_DIMS ((int)(sizeof dims / sizeof dims[0]))


static void test_kernel_axpy(void)
{
    rng r;
    rng_stream(&r, 11, 1);
    const size_t lens[] = {1, 15, 16, 17, 64, 100, 1000};
    for (int li = 0; li < tu_isa_count(); li++) {
        const embed_kernels *k = embed_kernels_for(tu_isa_at(li));
        for (size_t di = 0; di < sizeof lens / sizeof lens[0]; di++) {
            int d = (int)lens[di];
            float *x = tu_alloc_guarded(d), *y = tu_alloc_guarded(d), *y_ref = tu_alloc_guarded(d);
            tu_fill(&r, x, d, -2, 2);
            tu_fill(&r, y, d, -2, 2);
            memcpy(y_ref, y, d * sizeof(float));
            float w = (float)(rng_uniform(&r) * 3 - 1.5);
            double *exact = malloc(d * sizeof(double));
            for (int j = 0; j < d; j++) exact[j] = (double)w * x[j] + y[j];
            embed_kernels_scalar.axpy(d, w, x, y_ref);
            k->axpy(d, w, x, y);
            /* Separate multiply-add rounds twice, FMA once: each is within
             * 2U(|w x| + |y|) of the exact value, so they differ by at most 4U. */
            int ok = 1;
            for (int j = 0; j < d; j++) {
                double mag = fabs((double)w * x[j]) + fabs(exact[j] - (double)w * x[j]);
                ok &= fabs(y_ref[j] - exact[j]) <= 2 * U * mag + 1e-30;
                ok &= fabs((double)y[j] - y_ref[j]) <= 4 * U * mag + 1e-30;
            }
            TU_ASSERT_MSG(ok, "axpy %s d=%d", isa_name(tu_isa_at(li)), d);
            CU_ASSERT(tu_guard_intact(y, d));
            free(exact);
            tu_free_unaligned(x);
            tu_free_unaligned(y);
            tu_free_unaligned(y_ref);
        }
    }
}

/* Checks a pooled row against the exact sum: scalar within the recursive
 * summation bound (n + 1) U sum|terms| (plus the final scale), SIMD within
 * twice that of scalar since FMA changes where the roundings happen. */
static int pool_close(const float *got, const float *ref, const double *exact, const double *abs_sum, int d, int64_t n)
{
    int ok = 1;
    for (int j = 0; j < d; j++) {
        double bound = (double)(n + 2) * U * abs_sum[j] + 1e-30;
        ok &= fabs(ref[j] - exact[j]) <= bound;
        ok &= fabs((double)got[j] - ref[j]) <= 2 * bound;
    }
    return ok;
}

static void test_kernel_pool(void)
{
    rng r;
    rng_stream(&r, 11, 2);
    const int64_t counts[] = {0, 1, 15, 17, 1000};
    const int table_rows = 50;
    for (int li = 0; li < tu_isa_count(); li++) {
        const embed_kernels *k = embed_kernels_for(tu_isa_at(li));
        for (int di = 0; di < N_DIMS; di++) {
            int d = dims[di];
            int64_t stride = d + (di % 2) * 5; /* rows of a wider buffer, too */
            float *base = tu_alloc_guarded(table_rows * stride);
            tu_fill(&r, base, table_rows * stride, -1, 1);
            for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ci++) {
                int64_t n = counts[ci];
                int32_t *idx = malloc((n + 1) * sizeof(int32_t));
                float *w = tu_alloc_guarded(n + 1);
                for (int64_t i = 0; i < n; i++) idx[i] = (int32_t)rng_below(&r, table_rows);
                tu_fill(&r, w, n, -1, 2);
                for (int weighted = 0; weighted < 2; weighted++) {
                    const float scale = 0.37f;
                    float *out = tu_alloc_guarded(d), *ref = tu_alloc_guarded(d);
                    double *exact = calloc(d, sizeof(double)), *abs_sum = calloc(d, sizeof(double));
                    for (int64_t i = 0; i < n; i++)
                        for (int j = 0; j < d; j++) {
                            double term = (weighted ? w[i] : 1.0) * base[idx[i] * stride + j];
                            exact[j] += term * scale;
                            abs_sum[j] += fabs(term) * scale;
                        }
                    for (int j = 0; j < d; j++) out[j] = ref[j] = -5.0f; /* must be overwritten */
                    embed_kernels_scalar.pool(d, base, stride, idx, weighted ? w : NULL, n, scale, ref);
                    k->pool(d, base, stride, idx, weighted ? w : NULL, n, scale, out);
                    TU_ASSERT_MSG(pool_close(out, ref, exact, abs_sum, d, n), "pool %s d=%d n=%lld weighted=%d",
                                  isa_name(tu_isa_at(li)), d, (long long)n, weighted);
                    CU_ASSERT(tu_guard_intact(out, d));
                    free(exact);
                    free(abs_sum);
                    tu_free_unaligned(out);
                    tu_free_unaligned(ref);
                }
                free(idx);
                tu_free_unaligned(w);
            }
            tu_free_unaligned(base);
        }
    }
}

static void test_kernel_gather(void)
{
    rng r;
    rng_stream(&r, 11, 3);
    const int64_t counts[] = {1, 15, 17, 1000};
    const int table_rows = 40;
    for (int li = 0; li < tu_isa_count(); li++) {
        const embed_kernels *k = embed_kernels_for(tu_isa_at(li));
        for (int di = 0; di < N_DIMS; di++) {
            int d = dims[di];
            float *table = tu_alloc_guarded(table_rows * d);
            tu_fill(&r, table, table_rows * d, -1, 1);
            for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ci++) {
                int64_t n = counts[ci], stride = d + 7;
                int32_t *ids = malloc(n * sizeof(int32_t));
                for (int64_t i = 0; i < n; i++) ids[i] = (int32_t)rng_below(&r, table_rows);
                float *out = tu_alloc_guarded(n * stride);
                for (int64_t i = 0; i < n * stride; i++) out[i] = UNTOUCHED;
                k->gather(d, table, ids, n, out, stride);
                /* A copy is exact; the 7 columns between rows stay untouched. */
                int ok = 1;
                for (int64_t i = 0; i < n; i++) {
                    ok &= !memcmp(out + i * stride, table + (int64_t)ids[i] * d, d * sizeof(float));
                    for (int64_t j = d; j < stride; j++) ok &= out[i * stride + j] == UNTOUCHED;
                }
                TU_ASSERT_MSG(ok, "gather %s d=%d n=%lld", isa_name(tu_isa_at(li)), d, (long long)n);
                CU_ASSERT(tu_guard_intact(out, n * stride));
                free(ids);
                tu_free_unaligned(out);
            }
            tu_free_unaligned(table);
        }
    }
}

static void test_kernel_scatter_add(void)
{
    rng r;
    rng_stream(&r, 11, 4);
    const int64_t counts[] = {1, 15, 17, 1000};
    const int n_slots = 7, src_rows = 30;
    for (int li = 0; li < tu_isa_count(); li++) {
        const embed_kernels *k = embed_kernels_for(tu_isa_at(li));
        for (int di = 0; di < N_DIMS; di++) {
            int d = dims[di];
            int64_t stride = d + 3;
            float *src = tu_alloc_guarded(src_rows * stride);
            tu_fill(&r, src, src_rows * stride, -1, 1);
            for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ci++) {
                int64_t n = counts[ci];
                int32_t *row = malloc(n * sizeof(int32_t)), *slot = malloc(n * sizeof(int32_t));
                float *w = tu_alloc_guarded(n);
                for (int64_t i = 0; i < n; i++) {
                    row[i] = (int32_t)rng_below(&r, src_rows);
                    slot[i] = (int32_t)rng_below(&r, n_slots);
                }
                tu_fill(&r, w, n, -1, 2);
                for (int weighted = 0; weighted < 2; weighted++) {
                    float *dst = tu_alloc_guarded(n_slots * d), *ref = tu_alloc_guarded(n_slots * d);
                    tu_fill(&r, dst, n_slots * d, -1, 1);
                    memcpy(ref, dst, n_slots * d * sizeof(float));
                    double *exact = malloc(n_slots * d * sizeof(double)), *abs_sum = malloc(n_slots * d * sizeof(double));
                    for (int i = 0; i < n_slots * d; i++) {
                        exact[i] = dst[i];
                        abs_sum[i] = fabs(dst[i]);
                    }
                    for (int64_t i = 0; i < n; i++)
                        for (int j = 0; j < d; j++) {
                            double term = (weighted ? w[i] : 1.0) * src[row[i] * stride + j];
                            exact[slot[i] * d + j] += term;
                            abs_sum[slot[i] * d + j] += fabs(term);
                        }
                    embed_kernels_scalar.scatter_add(d, src, stride, row, slot, weighted ? w : NULL, n, ref);
                    k->scatter_add(d, src, stride, row, slot, weighted ? w : NULL, n, dst);
                    int ok = 1;
                    for (int i = 0; i < n_slots * d; i++) {
                        double bound = (double)(n + 1) * U * abs_sum[i] + 1e-30;
                        ok &= fabs(ref[i] - exact[i]) <= bound;
                        ok &= fabs((double)dst[i] - ref[i]) <= 2 * bound;
                    }
                    TU_ASSERT_MSG(ok, "scatter_add %s d=%d n=%lld weighted=%d", isa_name(tu_isa_at(li)), d,
                                  (long long)n, weighted);
                    CU_ASSERT(tu_guard_intact(dst, n_slots * d));
                    free(exact);
                    free(abs_sum);
                    tu_free_unaligned(dst);
                    tu_free_unaligned(ref);
                }
                free(row);
                free(slot);
                tu_free_unaligned(w);
            }
            tu_free_unaligned(src);
        }
    }
}

static int register_kernel_suite(void)
{
    static const char *const names[] = {
        "axpy vs scalar and exact", "pool vs scalar and exact", "gather is an exact copy",
        "scatter_add vs scalar and exact",
    };
    static const CU_TestFunc fns[] = {
        test_kernel_axpy, test_kernel_pool, test_kernel_gather, test_kernel_scatter_add,
    };
    return tu_add_suite("kernel_embed", names, fns, sizeof fns / sizeof fns[0]);
}

/* ---- layer_embedding ---------------------------------------------------- */

/* One lookup of a field: single-valued when offsets is NULL, else a bag. */
typedef struct field_case {
    const char *what;
    int batch;
    const int32_t *ids;      /* single: batch ids; bag: the indices */
    const int64_t *offsets;  /* batch + 1, or NULL */
    const float *weights;    /* per index, or NULL */
    pool_mode mode;
} field_case;

/* The field sits in columns [col, col + d) of rows `width` floats wide. */
typedef struct wide_layout {
    int width, col;
} wide_layout;

static dmmp_status case_forward(const embedding_table *t, const field_case *c, float *out, wide_layout l)
{
    if (!c->offsets) return embedding_forward_single(t, c->ids, c->batch, out + l.col, l.width);
    return embedding_forward_bag(t, c->offsets, c->ids, c->weights, c->batch, c->mode, out + l.col, l.width);
}

static dmmp_status case_backward(const embedding_table *t, const field_case *c, const float *dout, wide_layout l,
                                 sparse_grad *g, embedding_scratch *s)
{
    if (!c->offsets) return embedding_backward_single(t, c->ids, c->batch, dout + l.col, l.width, g, s);
    return embedding_backward_bag(t, c->offsets, c->ids, c->weights, c->batch, c->mode, dout + l.col, l.width, g,
                                  s);
}

/* L = sum over the field's slice of out * r, in double. */
static double slice_loss(const float *out, const float *r, int batch, wide_layout l, int d)
{
    double loss = 0;
    for (int b = 0; b < batch; b++)
        for (int j = 0; j < d; j++) loss += (double)out[b * l.width + l.col + j] * r[b * l.width + l.col + j];
    return loss;
}

/* Forward values against a direct double evaluation, other columns untouched,
 * sparse rows = the distinct ids ascending, and every weight's gradient (rows
 * absent from g count as 0) against central differences of L. */
static void check_case(const field_case *c, int d)
{
    enum { ROWS = 23 };
    const wide_layout l = {3 * d + 2, d + 1}; /* odd column: the slice is unaligned */
    const int b_n = c->batch;
    rng r;
    rng_stream(&r, 21, (uint64_t)d);
    float *weight = malloc(ROWS * d * sizeof(float));
    embedding_table t;
    CU_ASSERT_EQUAL_FATAL(embedding_init(&t, "test_field", ROWS, d, weight), DMMP_OK);
    embedding_init_weights(&t, 0.5f, &r);
    float *out = malloc((b_n * l.width + 1) * sizeof(float)), *dout = malloc((b_n * l.width + 1) * sizeof(float));
    for (int i = 0; i < b_n * l.width; i++) {
        out[i] = UNTOUCHED;
        /* Columns outside the slice hold large values a wrong read would show. */
        int in_slice = i % l.width >= l.col && i % l.width < l.col + d;
        dout[i] = in_slice ? (float)(rng_uniform(&r) * 2 - 1) : 1000.0f;
    }
    CU_ASSERT_EQUAL_FATAL(case_forward(&t, c, out, l), DMMP_OK);

    int ok_values = 1, ok_other = 1;
    for (int b = 0; b < b_n; b++) {
        int64_t p0 = c->offsets ? c->offsets[b] : b, p1 = c->offsets ? c->offsets[b + 1] : b + 1;
        double wsum = 0;
        for (int64_t p = p0; p < p1; p++) wsum += c->weights ? c->weights[p] : 1.0;
        double scale = c->mode == POOL_MEAN && p1 > p0 && wsum != 0 ? 1.0 / wsum : 1.0;
        for (int j = 0; j < l.width; j++) {
            float got = out[b * l.width + j];
            if (j < l.col || j >= l.col + d) {
                ok_other &= got == UNTOUCHED;
                continue;
            }
            double want = 0, mag = 0;
            for (int64_t p = p0; p < p1; p++) {
                double term = (c->weights ? c->weights[p] : 1.0) * weight[c->ids[p] * d + (j - l.col)] * scale;
                want += term;
                mag += fabs(term);
            }
            ok_values &= fabs(got - want) <= 1e-6 * (1 + mag);
        }
    }
    TU_ASSERT_MSG(ok_values, "%s d=%d: forward values differ from the direct sum", c->what, d);
    TU_ASSERT_MSG(ok_other, "%s d=%d: forward wrote outside its column slice", c->what, d);

    sparse_grad g;
    embedding_scratch s;
    CU_ASSERT_EQUAL_FATAL(sparse_grad_init(&g, 2, d), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(embedding_scratch_init(&s, 2, 1), DMMP_OK); /* too small: must grow */
    CU_ASSERT_EQUAL_FATAL(case_backward(&t, c, dout, l, &g, &s), DMMP_OK);

    int present[ROWS] = {0}, n_distinct = 0;
    int64_t n_ids = c->offsets ? c->offsets[b_n] : b_n;
    for (int64_t p = 0; p < n_ids; p++) present[c->ids[p]] = 1;
    for (int i = 0; i < ROWS; i++) n_distinct += present[i];
    TU_ASSERT_MSG(g.n_rows == n_distinct, "%s: %lld gradient rows, %d distinct ids", c->what, (long long)g.n_rows,
                  n_distinct);
    int row_of[ROWS];
    for (int i = 0; i < ROWS; i++) row_of[i] = -1;
    for (int64_t u = 0; u < g.n_rows; u++) {
        CU_ASSERT(g.rows[u] >= 0 && g.rows[u] < ROWS && present[g.rows[u]]);
        if (u > 0) CU_ASSERT(g.rows[u] > g.rows[u - 1]);
        if (g.rows[u] >= 0 && g.rows[u] < ROWS) row_of[g.rows[u]] = (int)u;
    }

    /* L is linear in the weights, so central differences have no truncation
     * error and a large step (0.25) keeps rounding small: each output carries
     * at most ~1e-6 rounding error, divided by 2h = 0.5, times |r| <= 1 over a
     * handful of affected outputs, well below the 1e-4 tolerance. */
    const float h = 0.25f;
    double worst = 0;
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < d; j++) {
            float saved = weight[i * d + j], wp = saved + h, wm = saved - h;
            weight[i * d + j] = wp;
            case_forward(&t, c, out, l);
            double lp = slice_loss(out, dout, b_n, l, d);
            weight[i * d + j] = wm;
            case_forward(&t, c, out, l);
            double lm = slice_loss(out, dout, b_n, l, d);
            weight[i * d + j] = saved;
            double fd = (lp - lm) / ((double)wp - (double)wm);
            double an = row_of[i] >= 0 ? g.values[(int64_t)row_of[i] * d + j] : 0.0;
            if (fabs(fd - an) > worst) worst = fabs(fd - an);
        }
    TU_ASSERT_MSG(worst <= 1e-4, "%s d=%d: gradient differs from finite differences by %g", c->what, d, worst);

    sparse_grad_free(&g);
    embedding_scratch_free(&s);
    free(weight);
    free(out);
    free(dout);
}

/* Repeated ids across rows and within bags, id 0 (unknown) and the last id. */
static const int32_t single_ids[] = {3, 0, 3, 22, 7, 3, 11, 7, 0, 5};
static const int64_t bag_offsets[] = {0, 3, 3, 7, 8, 12, 12, 15};
static const int32_t bag_ids[] = {4, 4, 9, 1, 22, 4, 1, 9, 0, 13, 13, 2, 4, 6, 4};
static const float bag_weights[] = {0.5f, 1.5f, -0.25f, 2.0f, 0.75f, 1.0f, 0.3f, 1.25f,
                                    0.6f, 0.2f, 0.9f, 1.1f, 0.4f, 2.5f, 0.8f};

static void run_cases(const field_case *cases, int n)
{
    const int ds[] = {1, 5, 16, 17};
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < sizeof ds / sizeof ds[0]; k++) check_case(&cases[i], ds[k]);
}

static void test_single_gradient(void)
{
    field_case c = {"single", 10, single_ids, NULL, NULL, POOL_SUM};
    run_cases(&c, 1);
}

static void test_bag_sum_gradient(void)
{
    field_case c[] = {{"bag sum", 7, bag_ids, bag_offsets, NULL, POOL_SUM},
                      {"bag weighted sum", 7, bag_ids, bag_offsets, bag_weights, POOL_SUM}};
    run_cases(c, 2);
}

static void test_bag_mean_gradient(void)
{
    field_case c[] = {{"bag mean", 7, bag_ids, bag_offsets, NULL, POOL_MEAN},
                      {"bag weighted mean", 7, bag_ids, bag_offsets, bag_weights, POOL_MEAN}};
    run_cases(c, 2);
}

static void test_empty_bag_is_zero(void)
{
    /* Bag 0 is empty; bag 1's weights sum to 0, so its mean is defined as zero too. */
    const int64_t off[] = {0, 0, 2};
    const int32_t ids[] = {1, 2};
    const float w[] = {1.0f, -1.0f};
    float weight[3 * 4], out[2 * 4];
    embedding_table t;
    rng r;
    rng_seed(&r, 5);
    CU_ASSERT_EQUAL_FATAL(embedding_init(&t, "t", 3, 4, weight), DMMP_OK);
    embedding_init_weights(&t, 1.0f, &r);
    for (int i = 0; i < 8; i++) out[i] = UNTOUCHED;
    CU_ASSERT_EQUAL(embedding_forward_bag(&t, off, ids, w, 2, POOL_MEAN, out, 4), DMMP_OK);
    for (int i = 0; i < 8; i++) CU_ASSERT_EQUAL(out[i], 0.0f);
}

static int msg_has(const char *a, const char *b, const char *c)
{
    const char *m = dmmp_errmsg();
    return strstr(m, a) && strstr(m, b) && strstr(m, c);
}

static void test_errors_name_the_fault(void)
{
    float weight[23 * 4], out[6 * 4], dout[6 * 4] = {0};
    embedding_table t;
    sparse_grad g, g_wrong;
    embedding_scratch s;
    CU_ASSERT_EQUAL_FATAL(embedding_init(&t, "item_brand", 23, 4, weight), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(sparse_grad_init(&g, 4, 4), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(sparse_grad_init(&g_wrong, 4, 3), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(embedding_scratch_init(&s, 6, 6), DMMP_OK);
    for (int i = 0; i < 24; i++) out[i] = UNTOUCHED;

    const int32_t too_big[] = {0, 1, 2, 3, 23, 5}, negative[] = {0, -1, 2, 3, 4, 5};
    CU_ASSERT_EQUAL(embedding_forward_single(&t, too_big, 6, out, 4), DMMP_EINVAL);
    TU_ASSERT_MSG(msg_has("item_brand", "id 23", "batch row 4"), "message: %s", dmmp_errmsg());
    for (int i = 0; i < 24; i++) CU_ASSERT_EQUAL(out[i], UNTOUCHED);
    CU_ASSERT_EQUAL(embedding_forward_single(&t, negative, 6, out, 4), DMMP_EINVAL);
    TU_ASSERT_MSG(msg_has("item_brand", "id -1", "batch row 1"), "message: %s", dmmp_errmsg());
    CU_ASSERT_EQUAL(embedding_backward_single(&t, too_big, 6, dout, 4, &g, &s), DMMP_EINVAL);
    TU_ASSERT_MSG(msg_has("item_brand", "id 23", "batch row 4"), "message: %s", dmmp_errmsg());

    const int64_t off[] = {0, 2, 2, 5}, off_base[] = {1, 2, 2, 5}, off_down[] = {0, 3, 2, 5};
    const int32_t idx[] = {1, 2, 3, 40, 4};
    CU_ASSERT_EQUAL(embedding_forward_bag(&t, off, idx, NULL, 3, POOL_SUM, out, 4), DMMP_EINVAL);
    TU_ASSERT_MSG(msg_has("item_brand", "id 40", "batch row 2"), "message: %s", dmmp_errmsg());
    CU_ASSERT_EQUAL(embedding_backward_bag(&t, off, idx, NULL, 3, POOL_MEAN, dout, 4, &g, &s), DMMP_EINVAL);
    TU_ASSERT_MSG(msg_has("item_brand", "id 40", "indices[3]"), "message: %s", dmmp_errmsg());
    CU_ASSERT_EQUAL(embedding_forward_bag(&t, off_base, idx, NULL, 3, POOL_SUM, out, 4), DMMP_EINVAL);
    TU_ASSERT_MSG(msg_has("item_brand", "offsets[0]", "got 1"), "message: %s", dmmp_errmsg());
    CU_ASSERT_EQUAL(embedding_forward_bag(&t, off_down, idx, NULL, 3, POOL_SUM, out, 4), DMMP_EINVAL);
    TU_ASSERT_MSG(msg_has("item_brand", "decrease", "batch row 1"), "message: %s", dmmp_errmsg());
    CU_ASSERT_EQUAL(embedding_forward_bag(&t, off, idx, NULL, 3, (pool_mode)7, out, 4), DMMP_EINVAL);

    const int32_t fine[] = {0, 1, 2, 3, 4, 5};
    CU_ASSERT_EQUAL(embedding_forward_single(&t, fine, 6, out, 3), DMMP_EINVAL);
    TU_ASSERT_MSG(msg_has("item_brand", "stride 3", "dim 4"), "message: %s", dmmp_errmsg());
    CU_ASSERT_EQUAL(embedding_backward_single(&t, fine, 6, dout, 4, &g_wrong, &s), DMMP_EINVAL);
    TU_ASSERT_MSG(msg_has("item_brand", "dim 3", "dim 4"), "message: %s", dmmp_errmsg());

    embedding_table bad;
    CU_ASSERT_EQUAL(embedding_init(&bad, "x", 0, 4, weight), DMMP_EINVAL);
    CU_ASSERT_EQUAL(embedding_init(&bad, "x", 4, 0, weight), DMMP_EINVAL);
    CU_ASSERT_EQUAL(embedding_init(&bad, "x", (int64_t)INT32_MAX + 2, 4, weight), DMMP_EINVAL);
    CU_ASSERT_EQUAL(embedding_init(&bad, "x", 4, 4, NULL), DMMP_EINVAL);
    sparse_grad_free(&g);
    sparse_grad_free(&g_wrong);
    embedding_scratch_free(&s);
}

typedef struct occurrence {
    int32_t id, pos;
} occurrence;

static int occurrence_cmp(const void *a, const void *b)
{
    const occurrence *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

/* A batch of 1024 weighted mean bags (0..40 ids, half from 50 hot ids) over a
 * table of `rows` rows: the gradient against a qsort-and-sum reference in
 * double (a float sum of c terms is within (c + 2) U sum|terms| of it), and
 * bit-identical under 1, 2 and 3 threads. */
static void check_large_batch(int64_t rows, int d)
{
    enum { BATCH = 1024 };
    rng r;
    rng_stream(&r, 31, (uint64_t)rows);
    int64_t *off = malloc((BATCH + 1) * sizeof(int64_t));
    off[0] = 0;
    for (int b = 0; b < BATCH; b++) off[b + 1] = off[b] + (int64_t)rng_below(&r, 41);
    int64_t n = off[BATCH];
    int32_t *idx = malloc(n * sizeof(int32_t));
    float *w = malloc(n * sizeof(float)), *dout = malloc((size_t)BATCH * d * sizeof(float));
    for (int64_t p = 0; p < n; p++) {
        idx[p] = (int32_t)(rng_below(&r, 2) ? rng_below(&r, 50) : rng_below(&r, (uint64_t)rows));
        w[p] = (float)(0.1 + rng_uniform(&r));
    }
    idx[0] = (int32_t)(rows - 1); /* the largest id sets the number of radix passes */
    tu_fill(&r, dout, (size_t)BATCH * d, -1, 1);
    float *weight = NULL;
    CU_ASSERT_EQUAL_FATAL(mem_alloc_f32(&weight, rows * d, "test table"), DMMP_OK);
    embedding_table t;
    CU_ASSERT_EQUAL_FATAL(embedding_init(&t, "large", rows, d, weight), DMMP_OK);

    sparse_grad g[3];
    embedding_scratch s;
    CU_ASSERT_EQUAL_FATAL(embedding_scratch_init(&s, BATCH, BATCH), DMMP_OK);
    int saved_threads = omp_get_max_threads();
    for (int k = 0; k < 3; k++) {
        CU_ASSERT_EQUAL_FATAL(sparse_grad_init(&g[k], 16, d), DMMP_OK);
        omp_set_num_threads(k + 1);
        CU_ASSERT_EQUAL(embedding_backward_bag(&t, off, idx, w, BATCH, POOL_MEAN, dout, d, &g[k], &s), DMMP_OK);
    }
    omp_set_num_threads(saved_threads);

    occurrence *occ = malloc(n * sizeof *occ);
    int32_t *bag_of = malloc(n * sizeof(int32_t));
    for (int b = 0; b < BATCH; b++)
        for (int64_t p = off[b]; p < off[b + 1]; p++) bag_of[p] = b;
    for (int64_t p = 0; p < n; p++) occ[p] = (occurrence){idx[p], (int32_t)p};
    qsort(occ, n, sizeof *occ, occurrence_cmp);
    int64_t u = -1, count = 0;
    int ok = 1;
    double *want = calloc(d, sizeof(double)), *mag = calloc(d, sizeof(double));
    for (int64_t i = 0; i <= n; i++) {
        if (i == n || i == 0 || occ[i].id != occ[i - 1].id) {
            if (u >= 0 && u < g[0].n_rows) /* check the finished row */
                for (int j = 0; j < d; j++)
                    ok &= fabs(g[0].values[u * d + j] - want[j]) <= (count + 2) * U * mag[j] + 1e-30;
            if (i == n) break;
            u++;
            ok &= u < g[0].n_rows && g[0].rows[u] == occ[i].id;
            memset(want, 0, d * sizeof(double));
            memset(mag, 0, d * sizeof(double));
            count = 0;
        }
        count++;
        int b = bag_of[occ[i].pos];
        double wsum = 0;
        for (int64_t p = off[b]; p < off[b + 1]; p++) wsum += w[p];
        for (int j = 0; j < d; j++) {
            double term = w[occ[i].pos] / wsum * dout[b * d + j];
            want[j] += term;
            mag[j] += fabs(term);
        }
    }
    TU_ASSERT_MSG(ok && u + 1 == g[0].n_rows, "rows %lld d=%d: gradient differs from the sorted reference",
                  (long long)rows, d);
    for (int k = 1; k < 3; k++) {
        CU_ASSERT_EQUAL(g[k].n_rows, g[0].n_rows);
        TU_ASSERT_MSG(g[k].n_rows == g[0].n_rows &&
                          !memcmp(g[k].rows, g[0].rows, g[0].n_rows * sizeof(int32_t)) &&
                          !memcmp(g[k].values, g[0].values, (size_t)g[0].n_rows * d * sizeof(float)),
                      "rows %lld: %d threads differ from 1 thread", (long long)rows, k + 1);
    }
    for (int k = 0; k < 3; k++) sparse_grad_free(&g[k]);
    embedding_scratch_free(&s);
    mem_free(weight);
    free(off);
    free(idx);
    free(w);
    free(dout);
    free(occ);
    free(bag_of);
    free(want);
    free(mag);
}

static void test_large_batch_sorted_and_deterministic(void)
{
    check_large_batch(1000, 16);          /* 10-bit ids: one radix pass */
    check_large_batch(100000, 17);        /* 17 bits: two passes */
    check_large_batch((1 << 22) + 100, 1); /* 23 bits: three passes */
}

static void test_init_weights(void)
{
    enum { ROWS = 1000, D = 16 };
    float *weight = malloc(ROWS * D * sizeof(float));
    embedding_table t;
    rng r;
    rng_seed(&r, 77);
    CU_ASSERT_EQUAL_FATAL(embedding_init(&t, "a_name_longer_than_the_sixty_three_characters_the_table_keeps_for_itself", ROWS,
                                         D, weight), DMMP_OK);
    CU_ASSERT_EQUAL(strlen(t.name), 63);
    embedding_init_weights(&t, 0.05f, &r);
    double s = 0, s2 = 0, row0 = 0;
    for (int i = 0; i < ROWS * D; i++) {
        s += weight[i];
        s2 += (double)weight[i] * weight[i];
    }
    for (int j = 0; j < D; j++) row0 += fabs(weight[j]);
    /* 16000 draws: the sample std is within 2% of 0.05 (its standard error is 0.56%). */
    TU_ASSERT_NEAR(sqrt(s2 / (ROWS * D) - (s / (ROWS * D)) * (s / (ROWS * D))), 0.05, 0.001);
    CU_ASSERT(row0 > 0); /* row 0, the unknown id, is initialised like the others */
    free(weight);
}

int register_embedding_suites(void)
{
    static const char *const names[] = {
        "single: values, slice, gradient vs finite differences",
        "bag sum and weighted sum: gradient vs finite differences",
        "bag mean and weighted mean: gradient vs finite differences",
        "empty bag and zero-weight mean give zeros",
        "errors name table, id and batch row",
        "large batch: vs sorted reference, same bits on 1-3 threads",
        "init_weights draws N(0, stddev^2) in every row",
    };
    static const CU_TestFunc fns[] = {
        test_single_gradient,       test_bag_sum_gradient,
        test_bag_mean_gradient,     test_empty_bag_is_zero,
        test_errors_name_the_fault, test_large_batch_sorted_and_deterministic,
        test_init_weights,
    };
    if (register_kernel_suite() != 0) return -1;
    return tu_add_suite("layer_embedding", names, fns, sizeof fns / sizeof fns[0]);
}
