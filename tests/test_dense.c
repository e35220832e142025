/* Dense layers and MLPs through oneDNN: the forward against a double
 * precision reference, every gradient against central finite differences of
 * that reference, the accumulate and partial-batch contracts, argument
 * errors, weight initialisation statistics, and a behaviour test (XOR). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/rng.h"
#include "core/status.h"
#include "nn/dense.h"
#include "nn/dnnl_ctx.h"
#include "nn/dnnl_matmul.h"
#include "nn/mlp.h"
#include "suites.h"
#include "testutil.h"

/* A stack of dense layers as the reference sees it: parameters laid out as
 * in mlp.h (W_0, b_0, W_1, b_1, ...), ReLU between layers. */
typedef struct net_shape {
    int in;
    const int *dims;
    int n_layers;
    nn_act last_act;
    int batch;
} net_shape;

static int net_out(const net_shape *s) { return s->dims[s->n_layers - 1]; }

/* Double-precision forward into y [batch x out]; *min_abs_z (if given)
 * receives the smallest |pre-activation| feeding a ReLU. */
static void ref_forward(const net_shape *s, const double *params, const double *x, double *y, double *min_abs_z)
{
    int widest = s->in;
    for (int i = 0; i < s->n_layers; i++)
        if (s->dims[i] > widest) widest = s->dims[i];
    double *cur = malloc(sizeof(double) * s->batch * widest), *next = malloc(sizeof(double) * s->batch * widest);
    memcpy(cur, x, sizeof(double) * s->batch * s->in);
    double min_z = INFINITY;
    const double *p = params;
    int width = s->in;
    for (int l = 0; l < s->n_layers; l++) {
        int out = s->dims[l];
        const double *W = p, *b = p + (size_t)width * out;
        int relu = l + 1 < s->n_layers || s->last_act == ACT_RELU;
        for (int r = 0; r < s->batch; r++)
            for (int j = 0; j < out; j++) {
                double z = b[j];
                for (int k = 0; k < width; k++) z += cur[r * width + k] * W[k * out + j];
                if (relu && fabs(z) < min_z) min_z = fabs(z);
                next[r * out + j] = relu && z < 0 ? 0 : z;
            }
        p += (size_t)width * out + out;
        width = out;
        double *t = cur;
        cur = next;
        next = t;
    }
    memcpy(y, cur, sizeof(double) * s->batch * width);
    if (min_abs_z) *min_abs_z = min_z;
    free(cur);
    free(next);
}

/* L = sum(y * r) in double precision. */
static double ref_loss(const net_shape *s, const double *params, const double *x, const double *r)
{
    size_t n = (size_t)s->batch * net_out(s);
    double *y = malloc(sizeof(double) * n), loss = 0;
    ref_forward(s, params, x, y, NULL);
    for (size_t i = 0; i < n; i++) loss += y[i] * r[i];
    free(y);
    return loss;
}

static double *to_double(const float *a, size_t n)
{
    double *d = malloc(sizeof(double) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) d[i] = a[i];
    return d;
}

/* Worst |analytic - fd| / max(1, |fd|) over one parameter vector. */
static double fd_worst(const net_shape *s, double *vary, size_t n, const float *analytic, const double *params,
                       const double *x, const double *r)
{
    /* eps 1e-6 in double: L is piecewise polynomial and smooth away from ReLU
     * kinks (the caller checks every |z| > 1e-4, far beyond what a 1e-6 step
     * moves), so the central difference is exact to ~1e-9 and the error left
     * is the float32 rounding of the analytic gradient (~1e-6 relative). */
    const double eps = 1e-6;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double keep = vary[i];
        vary[i] = keep + eps;
        double lp = ref_loss(s, params, x, r);
        vary[i] = keep - eps;
        double lm = ref_loss(s, params, x, r);
        vary[i] = keep;
        double fd = (lp - lm) / (2 * eps);
        double err = fabs(analytic[i] - fd) / fmax(1.0, fabs(fd));
        if (!(err <= worst)) worst = err;
    }
    return worst;
}

/* Checks grads (all parameters) and dx (may be NULL) against finite
 * differences of L = sum(y * r) around params, x. */
static void check_gradients(const net_shape *s, const float *params, const float *x, const float *r,
                            const float *grads, const float *dx)
{
    size_t n_params = mlp_param_count(s->in, s->dims, s->n_layers);
    size_t n_x = (size_t)s->batch * s->in, n_y = (size_t)s->batch * net_out(s);
    double *pd = to_double(params, n_params), *xd = to_double(x, n_x), *rd = to_double(r, n_y);
    double *y = malloc(sizeof(double) * n_y), min_z;
    ref_forward(s, pd, xd, y, &min_z);
    TU_ASSERT_MSG(min_z > 1e-4, "a pre-activation lies at %.3g from a ReLU kink: pick another seed", min_z);
    double worst_p = fd_worst(s, pd, n_params, grads, pd, xd, rd);
    TU_ASSERT_MSG(worst_p < 1e-4, "parameter gradient rel. error %.3g (in %d, batch %d)", worst_p, s->in, s->batch);
    if (dx) {
        double worst_x = fd_worst(s, xd, n_x, dx, pd, xd, rd);
        TU_ASSERT_MSG(worst_x < 1e-4, "input gradient rel. error %.3g (in %d, batch %d)", worst_x, s->in, s->batch);
    }
    free(pd);
    free(xd);
    free(rd);
    free(y);
}

static nn_ctx *ctx_new(void)
{
    nn_ctx *c = NULL;
    CU_ASSERT_EQUAL_FATAL(nn_ctx_create(&c), DMMP_OK);
    return c;
}

/* Parameters W (He/Xavier) and a non-zero bias, so the bias path is exercised. */
static void random_params(float *params, int in, int out, nn_act act, rng *r)
{
    dense_init_weights(params, params + (size_t)in * out, in, out, act, r);
    tu_fill(r, params + (size_t)in * out, (size_t)out, -0.5f, 0.5f);
}

/* ---- layer_dense --------------------------------------------------------- */

static void test_dense_forward_reference(void)
{
    static const int shapes[][3] = {{1, 1, 1}, {1, 7, 17}, {5, 33, 130}, {17, 130, 7}, {64, 400, 33}, {3, 17, 1}};
    nn_ctx *ctx = ctx_new();
    rng r;
    rng_stream(&r, 11, 1);
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        for (int act = ACT_NONE; act <= ACT_RELU; act++) {
            int batch = shapes[si][0], in = shapes[si][1], out = shapes[si][2];
            int dims[1] = {out};
            net_shape s = {in, dims, 1, (nn_act)act, batch};
            size_t np = (size_t)in * out + out;
            float *params = tu_falloc(np), *grads = tu_falloc(np);
            float *x = tu_alloc_unaligned((size_t)batch * in), *y = tu_alloc_unaligned((size_t)batch * out);
            random_params(params, in, out, (nn_act)act, &r);
            tu_fill(&r, x, (size_t)batch * in, -1, 1);
            dense_layer l;
            CU_ASSERT_EQUAL_FATAL(dense_init(&l, ctx, "fwd", in, out, batch, (nn_act)act, params,
                                             params + (size_t)in * out, grads, grads + (size_t)in * out),
                                  DMMP_OK);
            CU_ASSERT_EQUAL(dense_forward(&l, x, y, batch), DMMP_OK);
            double *pd = to_double(params, np), *xd = to_double(x, (size_t)batch * in);
            double *yd = malloc(sizeof(double) * batch * out);
            ref_forward(&s, pd, xd, yd, NULL);
            /* float32 dot products of up to 400 terms of size <= ~0.1: the
             * rounding error stays well below 1e-5 relative. */
            double worst = 0;
            for (int i = 0; i < batch * out; i++) worst = fmax(worst, fabs(y[i] - yd[i]) / fmax(1.0, fabs(yd[i])));
            TU_ASSERT_MSG(worst < 1e-5, "batch %d in %d out %d act %d: rel. error %.3g", batch, in, out, act, worst);
            dense_free(&l);
            free(pd);
            free(xd);
            free(yd);
            mem_free(params);
            mem_free(grads);
            tu_free_unaligned(x);
            tu_free_unaligned(y);
        }
    nn_ctx_destroy(ctx);
}

/* Tile heights: hand-worked values (four tiles up to 256 rows, then 256-row
 * tiles up to eight, then eight), and for every m to 20000 the rules the
 * backward's per-tile buffers and the thread split rely on. */
static void test_matmul_tile_rows(void)
{
    static const int cases[][2] = {{1, 1},     {5, 5},     {16, 16},   {17, 16},   {37, 16},   {100, 32},
                                   {368, 96},  {1024, 256}, {1025, 256}, {1500, 256}, {2048, 256}, {4096, 512}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        TU_ASSERT_MSG(nn_matmul_tile_rows(cases[c][0]) == cases[c][1], "m = %d: tile height %d, expected %d",
                      cases[c][0], nn_matmul_tile_rows(cases[c][0]), cases[c][1]);
    int bad = 0;
    for (int m = 1; m <= 20000 && bad < 5; m++) {
        int rows = nn_matmul_tile_rows(m), tiles = (m + rows - 1) / rows;
        int ok = rows >= 1 && rows <= m && tiles <= NN_MATMUL_MAX_TILES && (rows % 16 == 0 || rows == m) &&
                 (m <= 16 || tiles >= 2) && (m > 2048 || rows <= 256) && (m <= 1024 || rows >= 256);
        if (!ok) {
            bad++;
            TU_ASSERT_MSG(ok, "m = %d: tile height %d gives %d tiles", m, rows, tiles);
        }
    }
}

/* The matmul's result is a function of its shape and inputs, not of the
 * team: 1 and 2 threads give the same bits (before the row tiles, oneDNN's
 * AVX2 gemm gave 1-ulp differences in 261 of 480 shapes of this kind), and
 * both agree with a double-precision product. Shapes with one tile, several,
 * a short last tile, transposed operands, bias, ReLU and accumulation. */
static void test_matmul_threads(void)
{
    static const int ms[] = {1, 15, 17, 100, 1000, 1024}, ks[] = {8, 130}, ns[] = {1, 33, 64};
    nn_ctx *ctx = ctx_new();
    rng r;
    rng_stream(&r, 12, 1);
    int threads_before = omp_get_max_threads(), cases = 0;
    for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++)
        for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
            for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++)
                for (int variant = 0; variant < 4; variant++) {
                    nn_matmul_shape sh = {.m = ms[mi], .k = ks[ki], .n = ns[ni], .a_transposed = variant & 1,
                                          .b_transposed = (variant >> 1) & 1, .bias = variant == 0,
                                          .relu = variant == 0, .accumulate = variant == 3};
                    size_t na = (size_t)sh.m * sh.k, nb = (size_t)sh.k * sh.n, nc = (size_t)sh.m * sh.n;
                    float *a = tu_falloc(na), *b = tu_falloc(nb), *bias = tu_falloc((size_t)sh.n);
                    float *c[2] = {tu_falloc(nc), tu_falloc(nc)};
                    tu_fill(&r, a, na, -1, 1);
                    tu_fill(&r, b, nb, -1, 1);
                    tu_fill(&r, bias, (size_t)sh.n, -0.5f, 0.5f);
                    float *c_start = tu_falloc(nc);
                    tu_fill(&r, c_start, nc, -1, 1);
                    memcpy(c[0], c_start, nc * sizeof(float));
                    memcpy(c[1], c_start, nc * sizeof(float));
                    double worst = 0;
                    for (int t = 0; t < 2; t++) {
                        omp_set_num_threads(t + 1);
                        nn_matmul mm;
                        CU_ASSERT_EQUAL_FATAL(nn_matmul_create(&mm, ctx, &sh, "mm", "threads"), DMMP_OK);
                        CU_ASSERT_EQUAL(nn_matmul_execute(&mm, ctx, a, b, bias, c[t], "mm", "threads"), DMMP_OK);
                        nn_matmul_free(&mm);
                    }
                    omp_set_num_threads(threads_before);
                    for (int i = 0; i < sh.m; i++)
                        for (int j = 0; j < sh.n; j++) {
                            double sum = sh.bias ? bias[j] : 0, size = fabs(sum);
                            for (int q = 0; q < sh.k; q++) {
                                double av = sh.a_transposed ? a[(size_t)q * sh.m + i] : a[(size_t)i * sh.k + q];
                                double bv = sh.b_transposed ? b[(size_t)j * sh.k + q] : b[(size_t)q * sh.n + j];
                                sum += av * bv;
                                size += fabs(av * bv);
                            }
                            if (sh.relu && sum < 0) sum = 0;
                            if (sh.accumulate) {
                                sum += c_start[(size_t)i * sh.n + j];
                                size += fabs(c_start[(size_t)i * sh.n + j]);
                            }
                            /* float32 sums: each term rounds by at most 2^-24 of the running size */
                            worst = fmax(worst, fabs(c[0][(size_t)i * sh.n + j] - sum) / (size * 1e-6 + 1e-7));
                        }
                    TU_ASSERT_MSG(worst <= 1, "m %d k %d n %d variant %d: error %.3g of the bound", sh.m, sh.k, sh.n,
                                  variant, worst);
                    TU_ASSERT_MSG(memcmp(c[0], c[1], nc * sizeof(float)) == 0,
                                  "m %d k %d n %d variant %d: 1 and 2 threads differ", sh.m, sh.k, sh.n, variant);
                    cases++;
                    mem_free(c_start);
                    mem_free(a);
                    mem_free(b);
                    mem_free(bias);
                    mem_free(c[0]);
                    mem_free(c[1]);
                }
    CU_ASSERT_EQUAL(cases, 144);
    nn_ctx_destroy(ctx);
}

static void test_dense_backward_fd(void)
{
    static const struct { int batch, in, out; nn_act act; } cases[] = {
        {1, 1, 1, ACT_RELU}, {3, 7, 17, ACT_RELU}, {5, 33, 7, ACT_NONE}, {4, 17, 33, ACT_RELU},
        {2, 130, 5, ACT_RELU}, {1, 15, 1, ACT_NONE},
    };
    nn_ctx *ctx = ctx_new();
    rng r;
    rng_stream(&r, 12, 1);
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        int batch = cases[ci].batch, in = cases[ci].in, out = cases[ci].out;
        int dims[1] = {out};
        net_shape s = {in, dims, 1, cases[ci].act, batch};
        size_t np = (size_t)in * out + out;
        float *params = tu_falloc(np), *grads = tu_falloc(np);
        float *x = tu_falloc((size_t)batch * in), *y = tu_falloc((size_t)batch * out);
        float *dy = tu_falloc((size_t)batch * out), *dx = tu_falloc((size_t)batch * in);
        random_params(params, in, out, cases[ci].act, &r);
        tu_fill(&r, x, (size_t)batch * in, -1, 1);
        tu_fill(&r, dy, (size_t)batch * out, -1, 1);
        dense_layer l;
        CU_ASSERT_EQUAL_FATAL(dense_init(&l, ctx, "bwd", in, out, batch, cases[ci].act, params,
                                         params + (size_t)in * out, grads, grads + (size_t)in * out),
                              DMMP_OK);
        CU_ASSERT_EQUAL(dense_forward(&l, x, y, batch), DMMP_OK);
        /* dL/dy = r for L = sum(y * r), so dy doubles as r. */
        CU_ASSERT_EQUAL(dense_backward(&l, x, y, dy, dx, 0, batch), DMMP_OK);
        check_gradients(&s, params, x, dy, grads, dx);
        dense_free(&l);
        mem_free(params);
        mem_free(grads);
        mem_free(x);
        mem_free(y);
        mem_free(dy);
        mem_free(dx);
    }
    nn_ctx_destroy(ctx);
}

/* One layer with its buffers, for the contract tests below. */
typedef struct dense_fixture {
    nn_ctx *ctx;
    dense_layer l;
    int in, out, max_batch;
    float *params, *grads, *x, *y, *dy, *dx;
} dense_fixture;

static void fixture_init(dense_fixture *f, int in, int out, int max_batch, nn_act act, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    f->ctx = ctx_new();
    f->in = in;
    f->out = out;
    f->max_batch = max_batch;
    size_t np = (size_t)in * out + out;
    f->params = tu_falloc(np);
    f->grads = tu_falloc(np);
    f->x = tu_falloc((size_t)max_batch * in);
    f->dx = tu_falloc((size_t)max_batch * in);
    f->y = tu_falloc((size_t)max_batch * out);
    f->dy = tu_falloc((size_t)max_batch * out);
    rng r;
    rng_stream(&r, seed, 1);
    random_params(f->params, in, out, act, &r);
    tu_fill(&r, f->x, (size_t)max_batch * in, -1, 1);
    tu_fill(&r, f->dy, (size_t)max_batch * out, -1, 1);
    CU_ASSERT_EQUAL_FATAL(dense_init(&f->l, f->ctx, "fixture", in, out, max_batch, act, f->params,
                                     f->params + (size_t)in * out, f->grads, f->grads + (size_t)in * out),
                          DMMP_OK);
}

static void fixture_free(dense_fixture *f)
{
    dense_free(&f->l);
    nn_ctx_destroy(f->ctx);
    mem_free(f->params);
    mem_free(f->grads);
    mem_free(f->x);
    mem_free(f->dx);
    mem_free(f->y);
    mem_free(f->dy);
}

static void test_dense_accumulate(void)
{
    dense_fixture f;
    fixture_init(&f, 13, 9, 6, ACT_RELU, 21);
    size_t np = (size_t)f.in * f.out + f.out, nx = (size_t)f.max_batch * f.in;
    float *once = tu_falloc(np), *start = tu_falloc(np), *prior = tu_falloc(nx), *fresh = tu_falloc(nx);
    rng r;
    rng_stream(&r, 21, 2);
    CU_ASSERT_EQUAL(dense_forward(&f.l, f.x, f.y, f.max_batch), DMMP_OK);
    /* dx overwrite: whatever dx held before must not matter. */
    for (size_t i = 0; i < nx; i++) f.dx[i] = 1e3f;
    CU_ASSERT_EQUAL(dense_backward(&f.l, f.x, f.y, f.dy, f.dx, 0, f.max_batch), DMMP_OK);
    memcpy(once, f.grads, np * sizeof(float));
    memcpy(fresh, f.dx, nx * sizeof(float));
    check_gradients(&(net_shape){f.in, &f.out, 1, ACT_RELU, f.max_batch}, f.params, f.x, f.dy, once, fresh);

    /* dW, db accumulate: start + g + g after two calls from a random start. */
    tu_fill(&r, start, np, -1, 1);
    memcpy(f.grads, start, np * sizeof(float));
    CU_ASSERT_EQUAL(dense_backward(&f.l, f.x, f.y, f.dy, NULL, 0, f.max_batch), DMMP_OK);
    CU_ASSERT_EQUAL(dense_backward(&f.l, f.x, f.y, f.dy, NULL, 0, f.max_batch), DMMP_OK);
    double worst = 0;
    for (size_t i = 0; i < np; i++)
        worst = fmax(worst, fabs(f.grads[i] - (start[i] + 2.0 * once[i])) / fmax(1.0, fabs(start[i] + 2.0 * once[i])));
    /* Float additions of values of size ~1: a few ulps. */
    TU_ASSERT_MSG(worst < 1e-5, "accumulated gradient rel. error %.3g", worst);

    /* accumulate_dx adds onto what dx holds. */
    tu_fill(&r, prior, nx, -1, 1);
    memcpy(f.dx, prior, nx * sizeof(float));
    CU_ASSERT_EQUAL(dense_backward(&f.l, f.x, f.y, f.dy, f.dx, 1, f.max_batch), DMMP_OK);
    worst = 0;
    for (size_t i = 0; i < nx; i++)
        worst = fmax(worst, fabs(f.dx[i] - (prior[i] + fresh[i])) / fmax(1.0, fabs(prior[i] + fresh[i])));
    TU_ASSERT_MSG(worst < 1e-5, "accumulated dx rel. error %.3g", worst);
    mem_free(once);
    mem_free(start);
    mem_free(prior);
    mem_free(fresh);
    fixture_free(&f);
}

/* Runs forward + backward on the first `batch` rows of the fixture and
 * compares with a layer built for exactly that batch ("run alone"), then
 * checks the gradients of that batch against finite differences. */
static void check_partial_batch(dense_fixture *f, int batch)
{
    size_t np = (size_t)f->in * f->out + f->out;
    float *y_alone = tu_falloc((size_t)batch * f->out), *dx_alone = tu_falloc((size_t)batch * f->in);
    float *grads_alone = tu_falloc(np);
    dense_layer alone;
    CU_ASSERT_EQUAL_FATAL(dense_init(&alone, f->ctx, "alone", f->in, f->out, batch, f->l.act, f->params,
                                     f->params + (size_t)f->in * f->out, grads_alone,
                                     grads_alone + (size_t)f->in * f->out),
                          DMMP_OK);
    CU_ASSERT_EQUAL(dense_forward(&alone, f->x, y_alone, batch), DMMP_OK);
    CU_ASSERT_EQUAL(dense_backward(&alone, f->x, y_alone, f->dy, dx_alone, 0, batch), DMMP_OK);

    memset(f->grads, 0, np * sizeof(float));
    CU_ASSERT_EQUAL(dense_forward(&f->l, f->x, f->y, batch), DMMP_OK);
    CU_ASSERT_EQUAL(dense_backward(&f->l, f->x, f->y, f->dy, f->dx, 0, batch), DMMP_OK);
    /* Both are oneDNN float results of the same sums; kernels may block them
     * differently, hence a few ulps rather than bit equality. */
    TU_ASSERT_MSG(tu_max_rel_diff(f->y, y_alone, (size_t)batch * f->out) < 1e-6, "y rows differ (batch %d)", batch);
    TU_ASSERT_MSG(tu_max_rel_diff(f->dx, dx_alone, (size_t)batch * f->in) < 1e-6, "dx rows differ (batch %d)", batch);
    TU_ASSERT_MSG(tu_max_rel_diff(f->grads, grads_alone, np) < 1e-5, "gradients differ (batch %d)", batch);
    check_gradients(&(net_shape){f->in, &f->out, 1, f->l.act, batch}, f->params, f->x, f->dy, f->grads, f->dx);
    dense_free(&alone);
    mem_free(y_alone);
    mem_free(dx_alone);
    mem_free(grads_alone);
}

static void test_dense_partial_batch(void)
{
    dense_fixture f;
    fixture_init(&f, 10, 12, 16, ACT_RELU, 31);
    check_partial_batch(&f, 16);
    check_partial_batch(&f, 5);
    CU_ASSERT_EQUAL(f.l.tail_builds, 1);
    check_partial_batch(&f, 5);
    /* The same smaller batch again reuses its primitives. */
    CU_ASSERT_EQUAL(f.l.tail_builds, 1);
    check_partial_batch(&f, 16);
    check_partial_batch(&f, 1);
    CU_ASSERT_EQUAL(f.l.tail_builds, 2);
    fixture_free(&f);
}

static void test_dense_bad_arguments(void)
{
    dense_fixture f;
    fixture_init(&f, 4, 3, 8, ACT_RELU, 41);
    CU_ASSERT_EQUAL(dense_forward(&f.l, f.x, f.y, 0), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "layer 'fixture': batch 0"));
    CU_ASSERT_EQUAL(dense_backward(&f.l, f.x, f.y, f.dy, f.dx, 0, 9), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "max_batch = 8"));
    CU_ASSERT_EQUAL(dense_backward(&f.l, f.x, NULL, f.dy, f.dx, 0, 8), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "needs the forward output y"));

    dense_layer l;
    float w[4] = {0}, g[4] = {0};
    CU_ASSERT_EQUAL(dense_init(&l, f.ctx, "enc", 0, 2, 4, ACT_NONE, w, w, g, g), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "layer 'enc': in = 0"));
    CU_ASSERT_EQUAL(dense_init(&l, f.ctx, "enc", 1, 2, 4, ACT_NONE, w, w, NULL, g), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "buffer dW is NULL"));
    CU_ASSERT_EQUAL(dense_init(&l, f.ctx, "enc", 1, 2, 4, (nn_act)7, w, w, g, g), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "unknown activation 7"));
    /* A failed init leaves a layer dense_free accepts. */
    dense_free(&l);

    /* oneDNN errors surface as DMMP_EDNNL naming the call and the layer. */
    CU_ASSERT_EQUAL(nn_dnnl_check(dnnl_invalid_arguments, "dnnl_matmul_desc_init(&d, a, b)", "tower.1", "forward"),
                    DMMP_EDNNL);
    CU_ASSERT_STRING_EQUAL(dmmp_errmsg(),
                           "layer 'tower.1' (forward): oneDNN dnnl_matmul_desc_init failed: invalid_arguments");
    fixture_free(&f);
}

static void test_dense_init_weights(void)
{
    enum { IN = 400, OUT = 256 };
    float *W = tu_falloc((size_t)IN * OUT), b[OUT];
    rng r;
    rng_stream(&r, 51, 1);
    for (int act = ACT_NONE; act <= ACT_RELU; act++) {
        for (int j = 0; j < OUT; j++) b[j] = 1.0f;
        dense_init_weights(W, b, IN, OUT, (nn_act)act, &r);
        double limit = act == ACT_RELU ? sqrt(6.0 / IN) : sqrt(6.0 / (IN + OUT));
        double s = 0, s2 = 0, top = 0;
        for (size_t i = 0; i < (size_t)IN * OUT; i++) {
            s += W[i];
            s2 += (double)W[i] * W[i];
            top = fmax(top, fabs(W[i]));
        }
        double n = (double)IN * OUT, mean = s / n, var = s2 / n - mean * mean;
        CU_ASSERT(top <= limit);
        /* U(-a, a): variance a^2 / 3 (He: 2 / in; Glorot: 2 / (in + out)).
         * Standard error of the variance estimate is ~0.3% relative at
         * n = 102400; mean has standard error a / sqrt(3 n) ~ 0.0002. */
        TU_ASSERT_NEAR(var / (limit * limit / 3), 1.0, 0.02);
        TU_ASSERT_NEAR(mean, 0.0, 5 * limit / sqrt(3 * n));
        TU_ASSERT_NEAR(top / limit, 1.0, 0.001);
        int zero = 1;
        for (int j = 0; j < OUT; j++) zero &= b[j] == 0.0f;
        CU_ASSERT(zero);
    }
    mem_free(W);
}

/* ---- layer_mlp ----------------------------------------------------------- */

/* Builds an MLP, runs forward and backward on `batch` rows with L = sum(y r)
 * and checks the output against the reference and every gradient (all
 * parameters and the input) against finite differences. With accumulate_dx
 * the input gradient must land on top of a random prior. */
static void check_mlp(int in, const int *dims, int n_layers, nn_act last_act, int max_batch, int batch,
                      int accumulate_dx, uint64_t seed)
{
    nn_ctx *ctx = ctx_new();
    net_shape s = {in, dims, n_layers, last_act, batch};
    size_t np = mlp_param_count(in, dims, n_layers), nx = (size_t)max_batch * in;
    size_t ny = (size_t)batch * dims[n_layers - 1];
    float *params = tu_falloc(np), *grads = tu_falloc(np), *x = tu_falloc(nx), *dx = tu_falloc(nx), *prior = tu_falloc(nx);
    float *r = tu_falloc(ny);
    rng g;
    rng_stream(&g, seed, 1);
    mlp m;
    CU_ASSERT_EQUAL_FATAL(mlp_init(&m, ctx, "mlp", in, dims, n_layers, max_batch, last_act, params, grads), DMMP_OK);
    mlp_init_weights(&m, &g);
    /* Non-zero biases so their gradient path and the ReLU masks matter. */
    for (int i = 0; i < n_layers; i++) tu_fill(&g, m.layers[i].b, (size_t)dims[i], -0.3f, 0.3f);
    tu_fill(&g, x, nx, -1, 1);
    tu_fill(&g, r, ny, -1, 1);
    tu_fill(&g, prior, nx, -1, 1);
    memcpy(dx, prior, nx * sizeof(float));

    CU_ASSERT_EQUAL(mlp_forward(&m, x, batch), DMMP_OK);
    CU_ASSERT_EQUAL(mlp_out_dim(&m), dims[n_layers - 1]);
    double *pd = to_double(params, np), *xd = to_double(x, (size_t)batch * in), *yd = malloc(sizeof(double) * ny);
    ref_forward(&s, pd, xd, yd, NULL);
    const float *y = mlp_output(&m);
    double worst = 0;
    for (size_t i = 0; i < ny; i++) worst = fmax(worst, fabs(y[i] - yd[i]) / fmax(1.0, fabs(yd[i])));
    TU_ASSERT_MSG(worst < 1e-5, "mlp output rel. error %.3g", worst);

    CU_ASSERT_EQUAL(mlp_backward(&m, x, r, dx, accumulate_dx, batch), DMMP_OK);
    if (accumulate_dx)
        for (size_t i = 0; i < (size_t)batch * in; i++) dx[i] -= prior[i];
    check_gradients(&s, params, x, r, grads, dx);
    mlp_free(&m);
    nn_ctx_destroy(ctx);
    free(pd);
    free(xd);
    free(yd);
    mem_free(params);
    mem_free(grads);
    mem_free(x);
    mem_free(dx);
    mem_free(prior);
    mem_free(r);
}

static void test_mlp_param_count(void)
{
    static const int dims[] = {16, 12, 3};
    /* By hand: 9*16+16 + 16*12+12 + 12*3+3 = 160 + 204 + 39. */
    CU_ASSERT_EQUAL(mlp_param_count(9, dims, 3), 403);
    CU_ASSERT_EQUAL(mlp_param_count(5, dims + 2, 1), 18);
}

static void test_mlp_fd_three_layers(void)
{
    static const int dims[] = {16, 12, 3};
    check_mlp(9, dims, 3, ACT_NONE, 4, 4, 0, 61);
    /* A single layer: no hidden buffers, input gradient straight from the layer. */
    check_mlp(5, dims + 2, 1, ACT_RELU, 2, 2, 0, 63);
}

static void test_mlp_fd_relu_output_partial_batch(void)
{
    static const int dims[] = {7, 5, 4};
    check_mlp(6, dims, 3, ACT_RELU, 8, 3, 1, 62);
}

static void test_mlp_bad_arguments(void)
{
    nn_ctx *ctx = ctx_new();
    static const int dims[] = {4, 0};
    float p[64], g[64];
    mlp m;
    CU_ASSERT_EQUAL(mlp_init(&m, ctx, "gate", 3, dims, 2, 4, ACT_NONE, p, g), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "mlp 'gate': dims[1] = 0"));
    mlp_free(&m);
    CU_ASSERT_EQUAL(mlp_init(&m, ctx, "gate", 3, dims, 1, 0, ACT_NONE, p, g), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "max_batch = 0"));
    mlp_free(&m);
    nn_ctx_destroy(ctx);
}

/* MLPs side by side (mlp_forward_group: one region of row-tile chains, in
 * groups of MLP_GROUP_MAX) give the bits of the same layers run one by one
 * with dense_forward (whole matmuls, tile by tile), on 1 and 2 threads: 18
 * MLPs of depths 1 to 3 and different widths, some sharing an input, so that
 * a chain reading or writing another's buffers, or the wrong rows, would show. */
static void test_mlp_forward_group(void)
{
    enum { N = MLP_GROUP_MAX + 2, BATCH = 100, IN = 7 };
    nn_ctx *ctx = ctx_new();
    rng r;
    rng_stream(&r, 12, 7);
    mlp side[N];
    float *params[N], *grads[N], *x[2], *ref[2];
    for (int j = 0; j < 2; j++) {
        x[j] = tu_falloc((size_t)BATCH * IN);
        tu_fill(&r, x[j], (size_t)BATCH * IN, -1, 1);
        ref[j] = tu_falloc((size_t)BATCH * 64);
    }
    int threads_before = omp_get_max_threads();
    for (int k = 0; k < N; k++) {
        int dims[3] = {3 + k % 5, 17 + k, 1 + k % 4}, depth = 1 + k % 3;
        size_t np = mlp_param_count(IN, dims, depth);
        params[k] = tu_falloc(np);
        grads[k] = tu_falloc(np);
        tu_fill(&r, params[k], np, -0.5f, 0.5f);
        CU_ASSERT_EQUAL_FATAL(mlp_init(&side[k], ctx, "side", IN, dims, depth, BATCH, ACT_RELU, params[k], grads[k]),
                              DMMP_OK);
    }
    for (int threads = 1; threads <= 2; threads++) {
        omp_set_num_threads(threads);
        mlp *ms[N];
        const float *xs[N];
        for (int k = 0; k < N; k++) {
            ms[k] = &side[k];
            xs[k] = x[k % 2];
        }
        CU_ASSERT_EQUAL(mlp_forward_group(ms, xs, N, BATCH), DMMP_OK);
        for (int k = 0; k < N; k++) {
            /* The reference: each layer alone, into two buffers in turn. */
            const float *in = x[k % 2];
            for (int i = 0; i < side[k].n_layers; i++) {
                CU_ASSERT_EQUAL(dense_forward(&side[k].layers[i], in, ref[i % 2], BATCH), DMMP_OK);
                in = ref[i % 2];
            }
            TU_ASSERT_MSG(memcmp(in, mlp_output(&side[k]), (size_t)BATCH * mlp_out_dim(&side[k]) * sizeof(float)) == 0,
                          "MLP %d of %d, %d threads: side by side differs from the layers one by one", k, N, threads);
        }
    }
    omp_set_num_threads(threads_before);
    for (int k = 0; k < N; k++) {
        mlp_free(&side[k]);
        mem_free(params[k]);
        mem_free(grads[k]);
    }
    for (int j = 0; j < 2; j++) {
        mem_free(x[j]);
        mem_free(ref[j]);
    }
    nn_ctx_destroy(ctx);
}

/* The reference backward of an MLP: its layers' dense_backward one by one,
 * last to first, through the two buffers g; dx (overwritten, or added to
 * when accumulate) may be NULL. */
static void layers_backward(mlp *m, const float *x, const float *dy, float *dx, int accumulate, float *const g[2],
                            int batch)
{
    const float *grad_out = dy;
    for (int i = m->n_layers - 1; i >= 0; i--) {
        float *grad_in = i == 0 ? dx : g[i % 2];
        CU_ASSERT_EQUAL(dense_backward(&m->layers[i], i == 0 ? x : m->act[i - 1], m->act[i], grad_out, grad_in,
                                       i == 0 && accumulate, batch), DMMP_OK);
        grad_out = grad_in;
    }
}

/* mlp_backward (one region: each row tile's masks and dx through every
 * layer, then every layer's dW) gives the bits of the layers' dense_backward
 * one by one, on 1, 2 and 3 threads: depths 1 to 3, with and without dx, at
 * the full batch and a smaller one (the tail primitives, a short last tile). */
static void test_mlp_backward_layers(void)
{
    enum { BATCH = 100, IN = 9 };
    static const int dims[3] = {20, 13, 5};
    nn_ctx *ctx = ctx_new();
    rng r;
    rng_stream(&r, 12, 8);
    float *x = tu_falloc((size_t)BATCH * IN), *dy = tu_falloc((size_t)BATCH * 5);
    float *g[2] = {tu_falloc((size_t)BATCH * 20), tu_falloc((size_t)BATCH * 20)};
    float *dx_ref = tu_falloc((size_t)BATCH * IN), *dx = tu_falloc((size_t)BATCH * IN);
    tu_fill(&r, x, (size_t)BATCH * IN, -1, 1);
    int threads_before = omp_get_max_threads(), cases = 0;
    for (int depth = 1; depth <= 3; depth++)
        for (int with_dx = 0; with_dx < 2; with_dx++)
            for (int batch = BATCH; batch >= 37; batch -= 63) {
                size_t np = mlp_param_count(IN, dims + 3 - depth, depth);
                float *params = tu_falloc(np), *grads = tu_falloc(np), *grads_ref = tu_falloc(np);
                tu_fill(&r, params, np, -0.5f, 0.5f);
                int out = dims[2];
                tu_fill(&r, dy, (size_t)batch * out, -1, 1);
                mlp m;
                CU_ASSERT_EQUAL_FATAL(mlp_init(&m, ctx, "chain", IN, dims + 3 - depth, depth, BATCH, ACT_RELU, params,
                                               grads_ref), DMMP_OK);
                /* The reference on one thread: dense_backward layer by layer. */
                omp_set_num_threads(1);
                CU_ASSERT_EQUAL(mlp_forward(&m, x, batch), DMMP_OK);
                layers_backward(&m, x, dy, with_dx ? dx_ref : NULL, 0, g, batch);
                mlp_free(&m);
                for (int threads = 1; threads <= 3; threads++) {
                    omp_set_num_threads(threads);
                    memset(grads, 0, np * sizeof *grads);
                    CU_ASSERT_EQUAL_FATAL(mlp_init(&m, ctx, "chain", IN, dims + 3 - depth, depth, BATCH, ACT_RELU,
                                                   params, grads), DMMP_OK);
                    CU_ASSERT_EQUAL(mlp_forward(&m, x, batch), DMMP_OK);
                    CU_ASSERT_EQUAL(mlp_backward(&m, x, dy, with_dx ? dx : NULL, 0, batch), DMMP_OK);
                    TU_ASSERT_MSG(memcmp(grads, grads_ref, np * sizeof *grads) == 0,
                                  "depth %d, dx %d, batch %d, %d threads: weight gradients differ", depth, with_dx,
                                  batch, threads);
                    if (with_dx)
                        TU_ASSERT_MSG(memcmp(dx, dx_ref, (size_t)batch * IN * sizeof *dx) == 0,
                                      "depth %d, batch %d, %d threads: dx differs", depth, batch, threads);
                    mlp_free(&m);
                }
                cases++;
                mem_free(params);
                mem_free(grads);
                mem_free(grads_ref);
            }
    omp_set_num_threads(threads_before);
    CU_ASSERT_EQUAL(cases, 12);
    mem_free(x);
    mem_free(dy);
    mem_free(g[0]);
    mem_free(g[1]);
    mem_free(dx_ref);
    mem_free(dx);
    nn_ctx_destroy(ctx);
}

/* Chains side by side (dense_backward_chains: every chain's row tiles in
 * one region, in groups of DENSE_GROUP_MAX) give the bits of the layers'
 * dense_backward one by one, chain after chain, on 1, 2 and 3 threads and
 * at the full batch and a tail batch: DENSE_GROUP_MAX + 3 MLPs of depths 1
 * to 3 reading two inputs, three of every four writing one of three input
 * gradients (the first writer of each overwriting, the rest adding, so that
 * chains sharing a dx in another order, or a tile's rows on two threads,
 * would show), the fourth without dx, half of them ending without ReLU.
 * A layer in two chains and chains on two contexts are refused. */
static void test_mlp_backward_chains(void)
{
    enum { N = DENSE_GROUP_MAX + 3, BATCH = 100, IN = 6 };
    nn_ctx *ctx = ctx_new();
    rng r;
    rng_stream(&r, 12, 9);
    mlp ms[N];
    float *params[N], *grads[N], *grads_ref[N], *dy[N];
    size_t np[N];
    float *x[2], *dx[3], *dx_ref[3], *g[2];
    for (int j = 0; j < 2; j++) {
        x[j] = tu_falloc((size_t)BATCH * IN);
        tu_fill(&r, x[j], (size_t)BATCH * IN, -1, 1);
        g[j] = tu_falloc((size_t)BATCH * 64);
    }
    for (int j = 0; j < 3; j++) {
        dx[j] = tu_falloc((size_t)BATCH * IN);
        dx_ref[j] = tu_falloc((size_t)BATCH * IN);
    }
    for (int k = 0; k < N; k++) {
        int dims[3] = {4 + k % 5, 9 + k, 1 + k % 4}, depth = 1 + k % 3;
        np[k] = mlp_param_count(IN, dims, depth);
        params[k] = tu_falloc(np[k]);
        grads[k] = tu_falloc(np[k]);
        grads_ref[k] = tu_falloc(np[k]);
        dy[k] = tu_falloc((size_t)BATCH * dims[depth - 1]);
        tu_fill(&r, params[k], np[k], -0.5f, 0.5f);
        tu_fill(&r, dy[k], (size_t)BATCH * dims[depth - 1], -1, 1);
        /* Half the MLPs end without ReLU, as the towers and gates do: their dW reads dy itself. */
        CU_ASSERT_EQUAL_FATAL(mlp_init(&ms[k], ctx, "chains", IN, dims, depth, BATCH, k % 2 ? ACT_NONE : ACT_RELU,
                                       params[k], grads[k]),
                              DMMP_OK);
    }
    int threads_before = omp_get_max_threads(), cases = 0;
    for (int batch = BATCH; batch >= 37; batch -= 63) {
        for (int k = 0; k < N; k++) CU_ASSERT_EQUAL(mlp_forward(&ms[k], x[k % 2], batch), DMMP_OK);
        /* The reference on one thread: every chain's layers one by one. */
        omp_set_num_threads(1);
        int written[3] = {0, 0, 0};
        for (int k = 0; k < N; k++) {
            memset(grads[k], 0, np[k] * sizeof(float));
            int to = k % 4 == 3 ? -1 : k % 3;
            layers_backward(&ms[k], x[k % 2], dy[k], to >= 0 ? dx_ref[to] : NULL, to >= 0 && written[to], g, batch);
            if (k % 4 != 3) written[k % 3] = 1;
            memcpy(grads_ref[k], grads[k], np[k] * sizeof(float));
        }
        for (int threads = 1; threads <= 3; threads++) {
            omp_set_num_threads(threads);
            dense_chain chains[N];
            int first[3] = {1, 1, 1};
            for (int k = 0; k < N; k++) {
                memset(grads[k], 0, np[k] * sizeof(float));
                int to = k % 4 == 3 ? -1 : k % 3;
                chains[k] = mlp_chain(&ms[k], x[k % 2], dy[k], to >= 0 ? dx[to] : NULL, to >= 0 && !first[to]);
                if (to >= 0) first[to] = 0;
            }
            for (int j = 0; j < 3; j++) tu_fill(&r, dx[j], (size_t)BATCH * IN, -9, 9); /* overwritten, not added to */
            CU_ASSERT_EQUAL(dense_backward_chains(chains, N, batch), DMMP_OK);
            for (int k = 0; k < N; k++)
                TU_ASSERT_MSG(memcmp(grads[k], grads_ref[k], np[k] * sizeof(float)) == 0,
                              "chain %d of %d, batch %d, %d threads: weight gradients differ", k, N, batch, threads);
            for (int j = 0; j < 3; j++)
                TU_ASSERT_MSG(memcmp(dx[j], dx_ref[j], (size_t)batch * IN * sizeof(float)) == 0,
                              "input gradient %d, batch %d, %d threads: differs from the chains one by one", j, batch,
                              threads);
            cases++;
        }
    }
    omp_set_num_threads(threads_before);
    CU_ASSERT_EQUAL(cases, 6);
    /* One MLP twice in a call, and a layer on another context: refused, naming the layer. */
    dense_chain twice[2] = {mlp_chain(&ms[0], x[0], dy[0], NULL, 0), mlp_chain(&ms[0], x[0], dy[0], NULL, 0)};
    CU_ASSERT_EQUAL(dense_backward_chains(twice, 2, BATCH), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "in two chains"));
    nn_ctx *other = ctx_new();
    mlp alien;
    CU_ASSERT_EQUAL_FATAL(mlp_init(&alien, other, "alien", IN, (int[]){3}, 1, BATCH, ACT_NONE, params[0], grads[0]),
                          DMMP_OK);
    dense_chain mixed[2] = {mlp_chain(&ms[1], x[0], dy[1], NULL, 0), mlp_chain(&alien, x[0], dy[0], NULL, 0)};
    CU_ASSERT_EQUAL(dense_backward_chains(mixed, 2, BATCH), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "layer 'alien.0': the chains of one backward must share one nn_ctx"));
    mlp_free(&alien);
    nn_ctx_destroy(other);
    for (int k = 0; k < N; k++) {
        mlp_free(&ms[k]);
        mem_free(params[k]);
        mem_free(grads[k]);
        mem_free(grads_ref[k]);
        mem_free(dy[k]);
    }
    for (int j = 0; j < 2; j++) {
        mem_free(x[j]);
        mem_free(g[j]);
    }
    for (int j = 0; j < 3; j++) {
        mem_free(dx[j]);
        mem_free(dx_ref[j]);
    }
    nn_ctx_destroy(ctx);
}

/* ---- layer_xor ----------------------------------------------------------- */

static void test_xor_learns(void)
{
    static const float x[8] = {0, 0, 0, 1, 1, 0, 1, 1};
    static const float t[4] = {0, 1, 1, 0};
    static const int dims[] = {8, 1};
    nn_ctx *ctx = ctx_new();
    size_t np = mlp_param_count(2, dims, 2);
    float *params = tu_falloc(np), *grads = tu_falloc(np), *velocity = tu_falloc(np);
    mlp m;
    CU_ASSERT_EQUAL_FATAL(mlp_init(&m, ctx, "xor", 2, dims, 2, 4, ACT_NONE, params, grads), DMMP_OK);
    rng r;
    rng_stream(&r, 2024, 1);
    mlp_init_weights(&m, &r);
    /* Gradient descent with momentum 0.9, lr 0.1, full batch of the 4 points. */
    const int steps = 1500;
    double bce = 0, first_bce = 0;
    float p[4], dy[4];
    for (int step = 0; step <= steps; step++) {
        CU_ASSERT_EQUAL_FATAL(mlp_forward(&m, x, 4), DMMP_OK);
        const float *z = mlp_output(&m);
        bce = 0;
        for (int i = 0; i < 4; i++) {
            p[i] = 1.0f / (1.0f + expf(-z[i]));
            /* BCE from the logit, stable for large |z|. */
            bce += (fmax(z[i], 0) - z[i] * t[i] + log1p(exp(-fabs(z[i])))) / 4;
            dy[i] = (p[i] - t[i]) / 4;
        }
        if (step == 0) first_bce = bce;
        if (step == steps) break;
        memset(grads, 0, np * sizeof(float));
        CU_ASSERT_EQUAL_FATAL(mlp_backward(&m, x, dy, NULL, 0, 4), DMMP_OK);
        for (size_t i = 0; i < np; i++) {
            velocity[i] = 0.9f * velocity[i] - 0.1f * grads[i];
            params[i] += velocity[i];
        }
    }
    TU_ASSERT_MSG(first_bce > 0.5, "initial BCE %.4f: the problem is not learned at start", first_bce);
    TU_ASSERT_MSG(bce < 0.05, "mean BCE after %d steps %.4f (started at %.4f)", steps, bce, first_bce);
    for (int i = 0; i < 4; i++) TU_ASSERT_MSG((p[i] > 0.5f) == (t[i] > 0.5f), "point %d: p = %.3f", i, p[i]);
    mlp_free(&m);
    nn_ctx_destroy(ctx);
    mem_free(params);
    mem_free(grads);
    mem_free(velocity);
}

int register_dense_suites(void)
{
    static const char *const dense_names[] = {
        "forward vs double reference", "backward vs finite differences", "dW, db, dx accumulate",
        "partial batch after full", "bad arguments and oneDNN errors", "He and Glorot initialisation",
        "matmul: the same bits with 1 and 2 threads, and the double product",
        "matmul tile heights: worked values and the rules for every m to 20000",
    };
    static const CU_TestFunc dense_fns[] = {
        test_dense_forward_reference, test_dense_backward_fd, test_dense_accumulate,
        test_dense_partial_batch, test_dense_bad_arguments, test_dense_init_weights, test_matmul_threads,
        test_matmul_tile_rows,
    };
    static const char *const mlp_names[] = {
        "parameter count", "3 layers: finite differences", "ReLU output, partial batch, accumulate dx",
        "bad arguments", "side by side: the bits of the layers one by one",
        "backward in one region: the bits of the layers one by one, 1 to 3 threads",
        "chains side by side: the bits of the chains one by one, sharing input gradients",
    };
    static const CU_TestFunc mlp_fns[] = {
        test_mlp_param_count, test_mlp_fd_three_layers, test_mlp_fd_relu_output_partial_batch,
        test_mlp_bad_arguments, test_mlp_forward_group, test_mlp_backward_layers, test_mlp_backward_chains,
    };
    static const char *const xor_names[] = {"2-8-1 MLP learns XOR"};
    static const CU_TestFunc xor_fns[] = {test_xor_learns};
    if (tu_add_suite("layer_dense", dense_names, dense_fns, sizeof dense_fns / sizeof dense_fns[0])) return -1;
    if (tu_add_suite("layer_mlp", mlp_names, mlp_fns, sizeof mlp_fns / sizeof mlp_fns[0])) return -1;
    return tu_add_suite("layer_xor", xor_names, xor_fns, sizeof xor_fns / sizeof xor_fns[0]);
}
