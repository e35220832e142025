/* core_alias: the alias table draws each index with probability w_i / sum(w)
 * (chi-square against the weights, over a Zipf-like and a flat table with
 * zero weights mixed in), never draws an index of weight 0, draws the same
 * indices from the same stream, and refuses bad weights naming them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alias.h"
#include "suites.h"
#include "testutil.h"

/* Upper 99.99 % point of chi-square with df degrees of freedom
 * (Wilson-Hilferty; within 1 % of the exact value from df = 10 up). */
static double chi2_crit(int df)
{
    double z = 3.719, a = 2.0 / (9.0 * df);
    double c = 1.0 - a + z * sqrt(a);
    return df * c * c * c;
}

/* Draws n_draws indices and returns the chi-square statistic of the counts
 * against the weights over the indices of positive weight; *zero_drawn
 * counts draws of an index of weight 0. */
static double chi_square(const double *w, int64_t n, int64_t n_draws, uint64_t seed, int *df, int64_t *zero_drawn)
{
    alias_table t;
    CU_ASSERT_EQUAL_FATAL(alias_build(&t, w, n), DMMP_OK);
    int64_t *count = calloc((size_t)n, sizeof *count);
    rng r;
    rng_stream(&r, seed, 0xa11a5);
    for (int64_t i = 0; i < n_draws; i++) count[alias_draw(&t, &r)]++;
    double sum = 0, chi = 0;
    for (int64_t i = 0; i < n; i++) sum += w[i];
    *df = -1;
    *zero_drawn = 0;
    for (int64_t i = 0; i < n; i++) {
        if (w[i] == 0) {
            *zero_drawn += count[i];
            continue;
        }
        double e = (double)n_draws * w[i] / sum;
        chi += ((double)count[i] - e) * ((double)count[i] - e) / e;
        (*df)++;
    }
    free(count);
    alias_free(&t);
    return chi;
}

static void test_alias_distribution(void)
{
    enum { N = 200 };
    double w[N];
    /* Zipf-like popularity with every seventh item never shown. */
    for (int i = 0; i < N; i++) w[i] = i % 7 == 3 ? 0.0 : 1000.0 / pow(i + 1.0, 1.1);
    int df;
    int64_t zeros;
    double chi = chi_square(w, N, 2000000, 1, &df, &zeros);
    TU_ASSERT_MSG(chi < chi2_crit(df), "zipf: chi-square %.1f with %d dof (99.99%% point %.1f)", chi, df,
                  chi2_crit(df));
    CU_ASSERT_EQUAL(zeros, 0);
    /* Integer counts as the popularity sampler builds them, flat plus a spike. */
    for (int i = 0; i < N; i++) w[i] = i == 17 ? 500.0 : (i % 11 == 0 ? 0.0 : 3.0);
    chi = chi_square(w, N, 1000000, 2, &df, &zeros);
    TU_ASSERT_MSG(chi < chi2_crit(df), "spike: chi-square %.1f with %d dof (99.99%% point %.1f)", chi, df,
                  chi2_crit(df));
    CU_ASSERT_EQUAL(zeros, 0);
    /* The statistic can fail: counts of the Zipf table tested against a flat
     * distribution are far outside the bound. */
    for (int i = 0; i < N; i++) w[i] = 1000.0 / pow(i + 1.0, 1.1);
    alias_table t;
    CU_ASSERT_EQUAL_FATAL(alias_build(&t, w, N), DMMP_OK);
    int64_t count[N] = {0};
    rng r;
    rng_stream(&r, 3, 1);
    for (int i = 0; i < 100000; i++) count[alias_draw(&t, &r)]++;
    double flat = 0;
    for (int i = 0; i < N; i++) flat += (count[i] - 500.0) * (count[i] - 500.0) / 500.0;
    CU_ASSERT(flat > 10 * chi2_crit(N - 1));
    alias_free(&t);
}

/* A two-column table by hand: weights 1 and 3 scale to 0.5 and 1.5, so
 * column 0 keeps itself with probability 0.5 and sends the rest to 1. */
static void test_alias_hand_table(void)
{
    const double w[2] = {1, 3};
    alias_table t;
    CU_ASSERT_EQUAL_FATAL(alias_build(&t, w, 2), DMMP_OK);
    TU_ASSERT_NEAR(t.accept[0], 0.5, 1e-15);
    CU_ASSERT_EQUAL(t.alias[0], 1);
    TU_ASSERT_NEAR(t.accept[1], 1.0, 1e-15);
    alias_free(&t);
    const double one[1] = {2.5};
    CU_ASSERT_EQUAL_FATAL(alias_build(&t, one, 1), DMMP_OK);
    rng r;
    rng_seed(&r, 9);
    int all_zero = 1;
    for (int i = 0; i < 100; i++) all_zero &= alias_draw(&t, &r) == 0;
    CU_ASSERT(all_zero);
    alias_free(&t);
}

static void test_alias_reproducible(void)
{
    double w[50];
    for (int i = 0; i < 50; i++) w[i] = 1.0 + (i * 37) % 13;
    alias_table t;
    CU_ASSERT_EQUAL_FATAL(alias_build(&t, w, 50), DMMP_OK);
    rng a, b, c;
    rng_stream(&a, 5, 77);
    rng_stream(&b, 5, 77);
    rng_stream(&c, 5, 78);
    int same = 1, differ = 0;
    for (int i = 0; i < 1000; i++) {
        int64_t x = alias_draw(&t, &a), y = alias_draw(&t, &b), z = alias_draw(&t, &c);
        same &= x == y;
        differ += x != z;
    }
    CU_ASSERT(same);
    CU_ASSERT(differ > 900);
    alias_free(&t);
}

static void test_alias_errors(void)
{
    alias_table t;
    const double neg[3] = {1, -1, 2}, zero[3] = {0, 0, 0}, nan_w[2] = {1, NAN};
    CU_ASSERT_EQUAL(alias_build(&t, neg, 3), DMMP_EINVAL);
    TU_ASSERT_MSG(strstr(dmmp_errmsg(), "weight 1 is -1") != NULL, "%s", dmmp_errmsg());
    CU_ASSERT_PTR_NULL(t.accept);
    CU_ASSERT_EQUAL(alias_build(&t, zero, 3), DMMP_EINVAL);
    TU_ASSERT_MSG(strstr(dmmp_errmsg(), "sum to 0") != NULL, "%s", dmmp_errmsg());
    CU_ASSERT_EQUAL(alias_build(&t, nan_w, 2), DMMP_EINVAL);
    CU_ASSERT_EQUAL(alias_build(&t, neg, 0), DMMP_EINVAL);
    alias_free(&t);
}

int register_alias_suites(void)
{
    static const char *const names[] = {
        "draws follow the weights (chi-square, 99.99%), zero weights never drawn",
        "a two-column table by hand; one column", "same stream, same draws", "bad weights are refused naming them"};
    static const CU_TestFunc fns[] = {test_alias_distribution, test_alias_hand_table, test_alias_reproducible,
                                      test_alias_errors};
    return tu_add_suite("core_alias", names, fns, sizeof fns / sizeof fns[0]);
}
