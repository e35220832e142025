/* optim: the dense optimisers under the active ISA; optim_behaviour: every
 * optimiser (dense and sparse) minimising a quadratic bowl.
 *
 * References are written out in double with the textbook formulas
 * (m_hat = m / (1 - beta1^t), v_hat = v / (1 - beta2^t),
 * w -= lr * m_hat / (sqrt(v_hat) + eps)), independent of the precomputed
 * step_size / inv_sqrt_bc2 form the kernels use. The float code rounds each
 * operation to 24 bits, so over three steps on values of order 1 it stays
 * within REF_TOL = 2e-6 of the double reference. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "core/mem.h"
#include "nn/optim.h"
#include "simd/optim.h"
#include "suites.h"
#include "testutil.h"

#define REF_TOL 2e-6

/* Textbook Adam in double over n elements; wd_l2 is added to the gradient
 * (Adam + L2), wd_decoupled decays w by lr * wd (AdamW); g is pre-scaled by
 * grad_scale. */
typedef struct ref_adam {
    double w[8], m[8], v[8];
    int t;
} ref_adam;

static void ref_adam_step(ref_adam *s, const double *g, int n, double lr, double b1, double b2, double eps,
                          double wd_l2, double wd_decoupled, double grad_scale)
{
    s->t++;
    for (int i = 0; i < n; i++) {
        double gi = grad_scale * g[i] + wd_l2 * s->w[i];
        s->m[i] = b1 * s->m[i] + (1 - b1) * gi;
        s->v[i] = b2 * s->v[i] + (1 - b2) * gi * gi;
        double mhat = s->m[i] / (1 - pow(b1, s->t)), vhat = s->v[i] / (1 - pow(b2, s->t));
        s->w[i] = s->w[i] - lr * wd_decoupled * s->w[i] - lr * mhat / (sqrt(vhat) + eps);
    }
}

static void to_float(float *dst, const double *src, int n)
{
    for (int i = 0; i < n; i++) dst[i] = (float)src[i];
}

static const double W0[3] = {0.5, -1.0, 2.0};
static const double GRADS[3][3] = {{0.2, -0.5, 1.5}, {-0.1, -0.4, 0.9}, {0.3, 0.25, -0.6}};

/* Runs three dense steps from W0 with GRADS and checks w, m, v against the
 * double reference after every step. */
static void check_dense_against_ref(const adam_config *c, double wd_l2, double wd_decoupled)
{
    adam_state s;
    float w[3], g[3];
    ref_adam ref = {.t = 0};
    memcpy(ref.w, W0, sizeof W0);
    to_float(w, W0, 3);
    CU_ASSERT_EQUAL_FATAL(adam_init(&s, 3, c), DMMP_OK);
    for (int step = 0; step < 3; step++) {
        to_float(g, GRADS[step], 3);
        CU_ASSERT_EQUAL(adam_step(&s, w, g), DMMP_OK);
        ref_adam_step(&ref, GRADS[step], 3, c->lr, c->beta1, c->beta2, c->eps, wd_l2, wd_decoupled, 1.0);
        for (int i = 0; i < 3; i++) {
            TU_ASSERT_NEAR(w[i], ref.w[i], REF_TOL);
            TU_ASSERT_NEAR(s.m[i], ref.m[i], REF_TOL);
            TU_ASSERT_NEAR(s.v[i], ref.v[i], REF_TOL);
        }
    }
    CU_ASSERT_EQUAL(s.step, 3);
    adam_free(&s);
}

static void test_adam_hand_values(void)
{
    adam_config c = adam_config_default();
    c.lr = 0.1f;
    /* Step 1 by hand: m_hat = g and v_hat = g^2, so w1 = w0 - lr * g / (|g| + eps)
     * = w0 - 0.1 * sign(g): {0.4, -0.9, 1.9}. */
    adam_state s;
    float w[3] = {0.5f, -1.0f, 2.0f}, g[3] = {0.2f, -0.5f, 1.5f};
    CU_ASSERT_EQUAL_FATAL(adam_init(&s, 3, &c), DMMP_OK);
    CU_ASSERT_EQUAL(adam_step(&s, w, g), DMMP_OK);
    TU_ASSERT_NEAR(w[0], 0.4, 1e-6);
    TU_ASSERT_NEAR(w[1], -0.9, 1e-6);
    TU_ASSERT_NEAR(w[2], 1.9, 1e-6);
    /* m1 = (1 - beta1) g, v1 = (1 - beta2) g^2 = 0.00225; the float 0.999f
     * is 0.99900001, so 1 - beta2 is 1.3e-5 below 0.001 in relative terms. */
    TU_ASSERT_NEAR(s.m[2], 0.15, 1e-7);
    TU_ASSERT_NEAR(s.v[2], 0.00225, 0.00225 * 2e-5);
    adam_free(&s);
    check_dense_against_ref(&c, 0.0, 0.0);
}

static void test_adamw_vs_adam_l2(void)
{
    adam_config c = adam_config_default();
    c.lr = 0.1f;
    c.weight_decay = 0.2f;
    c.decoupled = 1;
    check_dense_against_ref(&c, 0.0, 0.2);
    c.decoupled = 0;
    check_dense_against_ref(&c, 0.2, 0.0);

    /* With a zero loss gradient the two differ in kind: AdamW shrinks w by
     * the factor (1 - lr * wd) (m = v = 0, so the Adam term is 0 / eps = 0),
     * while Adam + L2 feeds wd * w through the moments, whose normalised
     * first step moves every weight by lr towards 0 regardless of size. */
    float wa[3] = {0.5f, -1.0f, 2.0f}, wl[3] = {0.5f, -1.0f, 2.0f}, zero[3] = {0, 0, 0};
    adam_state sa, sl;
    c.decoupled = 1;
    CU_ASSERT_EQUAL_FATAL(adam_init(&sa, 3, &c), DMMP_OK);
    c.decoupled = 0;
    CU_ASSERT_EQUAL_FATAL(adam_init(&sl, 3, &c), DMMP_OK);
    CU_ASSERT_EQUAL(adam_step(&sa, wa, zero), DMMP_OK);
    CU_ASSERT_EQUAL(adam_step(&sl, wl, zero), DMMP_OK);
    for (int i = 0; i < 3; i++) {
        double w0 = W0[i];
        TU_ASSERT_NEAR(wa[i], w0 * (1 - 0.1 * 0.2), 1e-6);
        TU_ASSERT_NEAR(wl[i], w0 - 0.1 * (w0 > 0 ? 1 : -1), 1e-6);
        CU_ASSERT_EQUAL(sa.m[i], 0.0f);
        CU_ASSERT_NOT_EQUAL(sl.m[i], 0.0f);
    }
    adam_free(&sa);
    adam_free(&sl);
}

static void test_clip_by_global_norm(void)
{
    /* Step 1: ||g|| = 5 > 1, so g is scaled by 1/5; step 2: ||g|| = 0.5 is
     * left alone. The moments therefore follow the clipped gradients. */
    static const double g1[3] = {3.0, 4.0, 0.0}, g2[3] = {0.3, 0.0, -0.4};
    adam_config c = adam_config_default();
    c.lr = 0.05f;
    c.clip_norm = 1.0f;
    adam_state s;
    float w[3], g[3];
    ref_adam ref = {.t = 0};
    memcpy(ref.w, W0, sizeof W0);
    to_float(w, W0, 3);
    CU_ASSERT_EQUAL_FATAL(adam_init(&s, 3, &c), DMMP_OK);
    to_float(g, g1, 3);
    CU_ASSERT_EQUAL(adam_step(&s, w, g), DMMP_OK);
    TU_ASSERT_NEAR(s.last_grad_norm, 5.0, 1e-12);
    TU_ASSERT_NEAR(s.m[0], 0.1 * 0.6, 1e-7);
    TU_ASSERT_NEAR(s.m[1], 0.1 * 0.8, 1e-7);
    ref_adam_step(&ref, g1, 3, c.lr, c.beta1, c.beta2, c.eps, 0, 0, 0.2);
    to_float(g, g2, 3);
    CU_ASSERT_EQUAL(adam_step(&s, w, g), DMMP_OK);
    TU_ASSERT_NEAR(s.last_grad_norm, 0.5, 1e-7);
    ref_adam_step(&ref, g2, 3, c.lr, c.beta1, c.beta2, c.eps, 0, 0, 1.0);
    for (int i = 0; i < 3; i++) {
        TU_ASSERT_NEAR(w[i], ref.w[i], REF_TOL);
        TU_ASSERT_NEAR(s.m[i], ref.m[i], REF_TOL);
        TU_ASSERT_NEAR(s.v[i], ref.v[i], REF_TOL);
    }
    /* A non-finite gradient is refused before anything changes. */
    float before[3];
    memcpy(before, w, sizeof w);
    g[1] = NAN;
    CU_ASSERT_EQUAL(adam_step(&s, w, g), DMMP_ENUMERIC);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "not finite"));
    CU_ASSERT_EQUAL(memcmp(before, w, sizeof w), 0);
    CU_ASSERT_EQUAL(s.step, 2);
    adam_free(&s);
}

/* adam_step_with_norm clips against the caller's norm (here 10 for a
 * gradient whose own norm is 1) and records it even when clipping is off. */
static void test_clip_by_given_norm(void)
{
    adam_config c = adam_config_default();
    c.lr = 0.05f;
    c.clip_norm = 1.0f;
    adam_state s, plain;
    float w[3] = {1, 1, 1}, wp[3] = {1, 1, 1}, g[3] = {0.6f, -0.8f, 0.0f};
    float gp[3] = {0.6f * 0.1f, -0.8f * 0.1f, 0.0f};
    CU_ASSERT_EQUAL_FATAL(adam_init(&s, 3, &c), DMMP_OK);
    c.clip_norm = 0.0f;
    CU_ASSERT_EQUAL_FATAL(adam_init(&plain, 3, &c), DMMP_OK);
    CU_ASSERT_EQUAL(adam_step_with_norm(&s, w, g, 10.0), DMMP_OK);
    CU_ASSERT_EQUAL(adam_step(&plain, wp, gp), DMMP_OK);
    for (int i = 0; i < 3; i++) {
        TU_ASSERT_NEAR(s.m[i], plain.m[i], 1e-9);
        TU_ASSERT_NEAR(s.v[i], plain.v[i], 1e-12);
        TU_ASSERT_NEAR(w[i], wp[i], 1e-7);
    }
    TU_ASSERT_NEAR(s.m[0], 0.1 * 0.06, 1e-8);
    TU_ASSERT_NEAR(s.last_grad_norm, 10.0, 0);
    /* Clipping off: the norm is recorded, the gradient used as is. */
    CU_ASSERT_EQUAL(adam_step_with_norm(&plain, wp, g, 3.0), DMMP_OK);
    TU_ASSERT_NEAR(plain.last_grad_norm, 3.0, 0);
    TU_ASSERT_NEAR(plain.m[1], 0.9 * 0.1 * -0.08 + 0.1 * -0.8, 1e-7);
    CU_ASSERT_EQUAL(adam_step_with_norm(&s, w, g, INFINITY), DMMP_ENUMERIC);
    CU_ASSERT_EQUAL(adam_step_with_norm(&s, w, g, -1.0), DMMP_ENUMERIC);
    CU_ASSERT_EQUAL(s.step, 1);
    adam_free(&s);
    adam_free(&plain);
}

/* A large buffer goes through the OpenMP path: it must equal one sequential
 * kernel call bit for bit, with one thread or several. */
static void test_dense_parallel_deterministic(void)
{
    const size_t n = 200003;
    float *w1, *w2, *g, *m, *v;
    CU_ASSERT_EQUAL_FATAL(mem_alloc_f32(&w1, n, "w1"), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(mem_alloc_f32(&w2, n, "w2"), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(mem_alloc_f32(&g, n, "g"), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(mem_alloc_f32(&m, n, "m"), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(mem_alloc_f32(&v, n, "v"), DMMP_OK);
    rng r;
    rng_stream(&r, 21, 0);
    tu_fill(&r, w1, n, -1, 1);
    tu_fill(&r, g, n, -1, 1);
    memcpy(w2, w1, n * sizeof *w1);
    adam_config c = adam_config_default();
    c.weight_decay = 0.01f;
    c.decoupled = 1;
    c.clip_norm = 10.0f;
    adam_state s;
    CU_ASSERT_EQUAL_FATAL(adam_init(&s, n, &c), DMMP_OK);
    int threads = omp_get_max_threads();
    omp_set_num_threads(threads < 2 ? 2 : threads);
    CU_ASSERT_EQUAL(adam_step(&s, w1, g), DMMP_OK);
    omp_set_num_threads(threads);

    double ss = 0;
    for (size_t i = 0; i < n; i++) ss += (double)g[i] * g[i];
    TU_ASSERT_NEAR(s.last_grad_norm, sqrt(ss), 1e-9 * sqrt(ss));
    /* The blocked reduction gives the same bits with one thread or two. */
    omp_set_num_threads(1);
    double ss1 = optim_sum_squares(g, n);
    omp_set_num_threads(2);
    double ss2 = optim_sum_squares(g, n);
    omp_set_num_threads(threads);
    CU_ASSERT(ss1 == ss2);
    TU_ASSERT_NEAR(ss1, ss, 1e-12 * ss);
    adam_coeffs k = {.beta1 = 0.9f, .one_minus_beta1 = (float)(1 - (double)0.9f), .beta2 = 0.999f,
                     .one_minus_beta2 = (float)(1 - (double)0.999f),
                     .step_size = (float)(1e-3f / (1 - (double)0.9f)),
                     .inv_sqrt_bc2 = (float)(1 / sqrt(1 - (double)0.999f)), .eps = 1e-8f,
                     .decay = 1e-3f * 0.01f, .l2 = 0, .grad_scale = (float)(10.0 / s.last_grad_norm)};
    optim_kernels_get()->adam_update(w2, m, v, g, n, &k);
    CU_ASSERT_EQUAL(memcmp(w1, w2, n * sizeof *w1), 0);
    CU_ASSERT_EQUAL(memcmp(s.m, m, n * sizeof *m), 0);
    CU_ASSERT_EQUAL(memcmp(s.v, v, n * sizeof *v), 0);
    adam_free(&s);
    mem_free(w1), mem_free(w2), mem_free(g), mem_free(m), mem_free(v);
}

static void test_config_errors(void)
{
    adam_state s;
    adam_config c = adam_config_default();
    c.beta1 = 1.0f;
    CU_ASSERT_EQUAL(adam_init(&s, 4, &c), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "beta1"));
    c = adam_config_default();
    c.lr = 0;
    CU_ASSERT_EQUAL(adam_init(&s, 4, &c), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "lr"));
    c = adam_config_default();
    c.clip_norm = -1;
    CU_ASSERT_EQUAL(adam_init(&s, 4, &c), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "clip_norm"));

    sparse_opt o;
    sparse_opt_config sc = sparse_opt_config_default(SPARSE_OPT_ADAGRAD);
    sc.initial_accumulator = -0.1f;
    CU_ASSERT_EQUAL(sparse_opt_init(&o, SPARSE_OPT_ADAGRAD, 10, 4, &sc), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "initial_accumulator"));
    sc = sparse_opt_config_default(SPARSE_OPT_ADAM);
    CU_ASSERT_EQUAL(sparse_opt_init(&o, SPARSE_OPT_ADAM, 10, 0, &sc), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "dim"));
    CU_ASSERT_EQUAL(sparse_opt_init(&o, (sparse_opt_kind)7, 10, 4, &sc), DMMP_EINVAL);

    /* Bad gradients are refused and the table is left alone. */
    float table[40];
    for (int i = 0; i < 40; i++) table[i] = (float)i;
    sparse_grad g;
    CU_ASSERT_EQUAL_FATAL(sparse_opt_init(&o, SPARSE_OPT_ADAM, 10, 4, &sc), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(sparse_grad_init(&g, 3, 4), DMMP_OK);
    g.n_rows = 2;
    g.rows[0] = 5, g.rows[1] = 2;
    CU_ASSERT_EQUAL(sparse_opt_step(&o, table, &g), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "ascending"));
    g.rows[0] = 2, g.rows[1] = 10;
    CU_ASSERT_EQUAL(sparse_opt_step(&o, table, &g), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "outside"));
    g.rows[1] = 3;
    g.dim = 5;
    CU_ASSERT_EQUAL(sparse_opt_step(&o, table, &g), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "width"));
    g.dim = 4;
    for (int i = 0; i < 40; i++) CU_ASSERT_EQUAL(table[i], (float)i);
    CU_ASSERT_EQUAL(o.steps[2], 0);
    sparse_grad_free(&g);
    sparse_opt_free(&o);
}

/* ---- behaviour: a quadratic bowl -----------------------------------------
 * f(w) = 0.5 * sum_i a_i (w_i - c_i)^2 with curvatures a_i in [0.5, 5] and
 * centres c_i in [-2, 2], from w = 0 (max distance ~2). Each optimiser must
 * end within BOWL_TOL of the centre in every coordinate. Measured: Adam
 * 2.3e-5, AdamW 2.7e-4 (its decay balances a small residual gradient, so the
 * fixed point sits slightly off the centre), lazy Adam 7e-7, Adagrad 3e-7;
 * 1e-3 keeps margin yet fails for an optimiser that stalls or diverges. */
#define BOWL_N 64
#define BOWL_STEPS 3000
#define BOWL_TOL 1e-3

static void bowl_init(double *a, double *centre, uint64_t stream)
{
    rng r;
    rng_stream(&r, 41, stream);
    for (int i = 0; i < BOWL_N; i++) {
        a[i] = 0.5 + 4.5 * rng_uniform(&r);
        centre[i] = -2.0 + 4.0 * rng_uniform(&r);
    }
}

static double bowl_distance(const float *w, const double *centre)
{
    double worst = 0;
    for (int i = 0; i < BOWL_N; i++) worst = fmax(worst, fabs(w[i] - centre[i]));
    return worst;
}

static void test_bowl_dense(void)
{
    for (int decoupled = 0; decoupled <= 1; decoupled++) {
        double a[BOWL_N], centre[BOWL_N];
        float w[BOWL_N] = {0}, g[BOWL_N];
        bowl_init(a, centre, 0);
        adam_config c = adam_config_default();
        c.lr = 0.01f;
        c.decoupled = decoupled;
        c.weight_decay = decoupled ? 1e-3f : 0.0f;
        c.clip_norm = 50.0f;
        adam_state s;
        CU_ASSERT_EQUAL_FATAL(adam_init(&s, BOWL_N, &c), DMMP_OK);
        double start = bowl_distance(w, centre);
        for (int step = 0; step < BOWL_STEPS; step++) {
            for (int i = 0; i < BOWL_N; i++) g[i] = (float)(a[i] * (w[i] - centre[i]));
            CU_ASSERT_EQUAL_FATAL(adam_step(&s, w, g), DMMP_OK);
        }
        double end = bowl_distance(w, centre);
        TU_ASSERT_MSG(end < BOWL_TOL, "%s: max |w - c| %.4g (from %.4g)", decoupled ? "adamw" : "adam", end,
                      start);
        adam_free(&s);
    }
}

/* Rows of a BOWL_N/4 x 4 table; each step touches a random half of the rows. */
static void test_bowl_sparse(void)
{
    enum { DIM = 4, ROWS = BOWL_N / DIM };
    for (int kind = SPARSE_OPT_ADAM; kind <= SPARSE_OPT_ADAGRAD; kind++) {
        double a[BOWL_N], centre[BOWL_N];
        float table[BOWL_N] = {0};
        bowl_init(a, centre, 1 + (uint64_t)kind);
        sparse_opt_config c = sparse_opt_config_default((sparse_opt_kind)kind);
        c.lr = kind == SPARSE_OPT_ADAM ? 0.01f : 0.5f;
        sparse_opt o;
        sparse_grad g;
        CU_ASSERT_EQUAL_FATAL(sparse_opt_init(&o, (sparse_opt_kind)kind, ROWS, DIM, &c), DMMP_OK);
        CU_ASSERT_EQUAL_FATAL(sparse_grad_init(&g, ROWS, DIM), DMMP_OK);
        rng r;
        rng_stream(&r, 42, (uint64_t)kind);
        for (int step = 0; step < 2 * BOWL_STEPS; step++) {
            g.n_rows = 0;
            for (int row = 0; row < ROWS; row++) {
                if (rng_below(&r, 2)) continue;
                g.rows[g.n_rows] = row;
                for (int j = 0; j < DIM; j++) {
                    int i = row * DIM + j;
                    g.values[g.n_rows * DIM + j] = (float)(a[i] * (table[i] - centre[i]));
                }
                g.n_rows++;
            }
            CU_ASSERT_EQUAL_FATAL(sparse_opt_step(&o, table, &g), DMMP_OK);
        }
        double end = bowl_distance(table, centre);
        TU_ASSERT_MSG(end < BOWL_TOL, "%s: max |w - c| %.4g", kind == SPARSE_OPT_ADAM ? "lazy adam" : "adagrad", end);
        sparse_grad_free(&g);
        sparse_opt_free(&o);
    }
}

int register_optim_suites(void)
{
    static const char *const dense_names[] = {
        "adam: hand values over 3 steps", "adamw decoupled vs adam + L2", "clipping by global norm",
        "clipping by a caller's norm", "dense step: OpenMP path bit-identical to one kernel call",
        "config and gradient errors",
    };
    static const CU_TestFunc dense_tests[] = {
        test_adam_hand_values, test_adamw_vs_adam_l2, test_clip_by_global_norm, test_clip_by_given_norm,
        test_dense_parallel_deterministic, test_config_errors,
    };
    static const char *const bowl_names[] = {
        "quadratic bowl: adam and adamw", "quadratic bowl: lazy adam and adagrad",
    };
    static const CU_TestFunc bowl_tests[] = {test_bowl_dense, test_bowl_sparse};
    if (tu_add_suite("optim", dense_names, dense_tests, sizeof dense_tests / sizeof dense_tests[0])) return -1;
    return tu_add_suite("optim_behaviour", bowl_names, bowl_tests, sizeof bowl_tests / sizeof bowl_tests[0]);
}
