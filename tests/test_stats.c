/* Statistics over seeds against hand computations and closed forms: the t
 * distribution with 1 (Cauchy) and 2 degrees of freedom has an elementary
 * CDF, other values come from printed t tables. */
#include <math.h>

#include "eval/stats.h"
#include "suites.h"
#include "testutil.h"

static void test_mean_std_by_hand(void)
{
    const double x[] = {2, 4, 4, 4, 5, 5, 7, 9};
    /* sum 40 -> mean 5; squared deviations 9+1+1+1+0+0+4+16 = 32; 32/7. */
    TU_ASSERT_NEAR(stats_mean(x, 8), 5.0, 1e-15);
    TU_ASSERT_NEAR(stats_std(x, 8), sqrt(32.0 / 7.0), 1e-15);
    const double auc[] = {0.75, 0.76, 0.78};
    TU_ASSERT_NEAR(stats_std(auc, 3), sqrt((0.0016 / 9 + 0.0001 / 9 + 0.0025 / 9) / 2), 1e-14);
    /* Tiny spread over a large mean: the two-pass sum does not cancel. */
    const double big[] = {1e9 + 1, 1e9 + 2, 1e9 + 3};
    TU_ASSERT_NEAR(stats_std(big, 3), 1.0, 1e-9);
    CU_ASSERT(isnan(stats_mean(x, 0)));
    CU_ASSERT(isnan(stats_std(x, 1)));
}

static void test_incomplete_beta_closed_forms(void)
{
    /* I_x(a, 1) = x^a, I_x(1, b) = 1 - (1-x)^b, I_x(a, b) = 1 - I_{1-x}(b, a). */
    const double xs[] = {0.01, 0.2, 0.5, 0.77, 0.999};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        double x = xs[i];
        TU_ASSERT_NEAR(stats_incomplete_beta(3.5, 1, x), pow(x, 3.5), 1e-12);
        TU_ASSERT_NEAR(stats_incomplete_beta(1, 2.5, x), 1 - pow(1 - x, 2.5), 1e-12);
        TU_ASSERT_NEAR(stats_incomplete_beta(2.2, 7.1, x), 1 - stats_incomplete_beta(7.1, 2.2, 1 - x), 1e-12);
        /* I_x(1/2, 1/2) = (2 / pi) asin(sqrt(x)) (the arcsine law). */
        TU_ASSERT_NEAR(stats_incomplete_beta(0.5, 0.5, x), 2 / M_PI * asin(sqrt(x)), 1e-12);
    }
    CU_ASSERT_EQUAL(stats_incomplete_beta(2, 3, 0), 0.0);
    CU_ASSERT_EQUAL(stats_incomplete_beta(2, 3, 1), 1.0);
    CU_ASSERT(isnan(stats_incomplete_beta(0, 3, 0.5)));
    CU_ASSERT(isnan(stats_incomplete_beta(2, 3, 1.5)));
}

static void test_t_distribution_known_values(void)
{
    /* Printed two-sided critical values (3 decimals, hence tolerance 2e-4). */
    TU_ASSERT_NEAR(stats_t_two_sided_p(2.0, 5), 0.1019, 1e-4);
    TU_ASSERT_NEAR(stats_t_two_sided_p(3.182, 3), 0.05, 2e-4);
    TU_ASSERT_NEAR(stats_t_two_sided_p(2.228, 10), 0.05, 2e-4);
    TU_ASSERT_NEAR(stats_t_two_sided_p(2.086, 20), 0.05, 2e-4);
    TU_ASSERT_NEAR(stats_t_two_sided_p(2.576, 1e7), 0.01, 2e-4); /* the normal limit */
    TU_ASSERT_NEAR(stats_t_two_sided_p(4.604, 4), 0.01, 2e-4);
    /* df = 1 is Cauchy: p = 1 - 2 atan(|t|) / pi; df = 2: p = 1 - |t| / sqrt(2 + t^2). */
    const double ts[] = {0.0, 0.3, 1.0, 1.6667, 2.0, 6.3138, 12.706, 40.0};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        double t = ts[i];
        TU_ASSERT_NEAR(stats_t_two_sided_p(t, 1), 1 - 2 * atan(t) / M_PI, 1e-12);
        TU_ASSERT_NEAR(stats_t_two_sided_p(-t, 1), 1 - 2 * atan(t) / M_PI, 1e-12);
        TU_ASSERT_NEAR(stats_t_two_sided_p(t, 2), 1 - t / sqrt(2 + t * t), 1e-12);
        TU_ASSERT_NEAR(stats_t_cdf(t, 1), 0.5 + atan(t) / M_PI, 1e-12);
        TU_ASSERT_NEAR(stats_t_cdf(-t, 1), 0.5 - atan(t) / M_PI, 1e-12);
    }
    TU_ASSERT_NEAR(stats_t_cdf(2.0, 5), 1 - 0.1019 / 2, 1e-4);
    CU_ASSERT_EQUAL(stats_t_two_sided_p(INFINITY, 3), 0.0);
    CU_ASSERT(isnan(stats_t_cdf(1.0, 0)));
    CU_ASSERT(isnan(stats_t_cdf(NAN, 3)));
}

static void test_paired_t_by_hand(void)
{
    /* Differences 0.05, 0.03, 0.04: mean 0.04, sd 0.01, t = 0.04 / (0.01 / sqrt 3)
     * = 4 sqrt 3, df 2, p = 1 - t / sqrt(2 + t^2) = 1 - 4 sqrt 3 / sqrt 50. */
    const double a[] = {0.75, 0.76, 0.78}, b[] = {0.70, 0.73, 0.74};
    double t, df, p;
    CU_ASSERT_EQUAL(stats_paired_t(a, b, 3, &t, &df, &p), 1);
    TU_ASSERT_NEAR(t, 4 * sqrt(3.0), 1e-9);
    CU_ASSERT_EQUAL(df, 2.0);
    TU_ASSERT_NEAR(p, 1 - 4 * sqrt(3.0) / sqrt(50.0), 1e-9);
    CU_ASSERT_EQUAL(stats_paired_t(b, a, 3, &t, &df, &p), 1); /* two-sided: same p */
    TU_ASSERT_NEAR(t, -4 * sqrt(3.0), 1e-9);
    TU_ASSERT_NEAR(p, 1 - 4 * sqrt(3.0) / sqrt(50.0), 1e-9);
    /* Undefined: one pair, identical differences (exactly or up to rounding), NaN. */
    CU_ASSERT_EQUAL(stats_paired_t(a, b, 1, &t, &df, &p), 0);
    CU_ASSERT(isnan(p));
    const double c[] = {0.80, 0.81, 0.83};
    CU_ASSERT_EQUAL(stats_paired_t(c, a, 3, &t, &df, &p), 0);
    const double same[] = {0.75, 0.76, 0.78};
    CU_ASSERT_EQUAL(stats_paired_t(a, same, 3, &t, &df, &p), 0);
    const double with_nan[] = {0.70, NAN, 0.74};
    CU_ASSERT_EQUAL(stats_paired_t(a, with_nan, 3, &t, &df, &p), 0);
}

int register_stats_suites(void)
{
    static const char *const names[] = {"mean and std by hand", "incomplete beta closed forms",
                                        "t distribution known values", "paired t-test by hand"};
    static const CU_TestFunc tests[] = {test_mean_std_by_hand, test_incomplete_beta_closed_forms,
                                        test_t_distribution_known_values, test_paired_t_by_hand};
    return tu_add_suite("eval_stats", names, tests, sizeof tests / sizeof tests[0]);
}
