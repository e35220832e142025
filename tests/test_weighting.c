/* Adaptive loss weighting against hand computations. */
#include <math.h>

#include "suites.h"
#include "testutil.h"
#include "model/weighting.h"

static void test_uncertainty(void)
{
    /* Two active terms and one inactive; s = (0, ln 2, 5). */
    float s[3] = {0.0f, (float)log(2.0), 5.0f}, g[3] = {0, 0, 0};
    loss_weighting w;
    double losses[3] = {0.8, 0.4, 100.0}, total, cur[3];
    int active[3] = {1, 1, 0};
    float scale[3];
    CU_ASSERT_EQUAL_FATAL(weighting_init(&w, WEIGHTING_UNCERTAINTY, 3, NULL, 2.0, s, g), DMMP_OK);
    weighting_combine(&w, losses, active, &total, scale);
    /* 0.5 e^0 0.8 + 0 + 0.5 e^-ln2 0.4 + 0.5 ln 2 = 0.4 + 0.1 + 0.34657 */
    TU_ASSERT_NEAR(total, 0.4 + 0.1 + 0.5 * log(2.0), 1e-6);
    TU_ASSERT_NEAR(scale[0], 0.5, 1e-7);
    TU_ASSERT_NEAR(scale[1], 0.25, 1e-7);
    CU_ASSERT_EQUAL(scale[2], 0.0f);
    /* d/ds_i = 0.5 - 0.5 e^-s_i L_i */
    TU_ASSERT_NEAR(g[0], 0.5 - 0.4, 1e-6);
    TU_ASSERT_NEAR(g[1], 0.5 - 0.1, 1e-6);
    CU_ASSERT_EQUAL(g[2], 0.0f);
    weighting_current(&w, cur);
    TU_ASSERT_NEAR(cur[1], 0.25, 1e-7);
}

static void test_dwa(void)
{
    loss_weighting w;
    int active[3] = {1, 0, 1};
    double e1[3] = {1.0, 9.0, 2.0}, e2[3] = {0.5, 9.0, 2.0}, cur[3];
    CU_ASSERT_EQUAL_FATAL(weighting_init(&w, WEIGHTING_DWA, 3, NULL, 2.0, NULL, NULL), DMMP_OK);
    weighting_end_epoch(&w, e1, active);
    weighting_current(&w, cur);
    CU_ASSERT_EQUAL(cur[0], 1.0); /* first epochs: weight 1 */
    weighting_end_epoch(&w, e2, active);
    weighting_current(&w, cur);
    /* r = (0.5, -, 1) / T = (0.25, -, 0.5); w = 2 exp(r) / (exp(0.25) + exp(0.5)) */
    double d = exp(0.25) + exp(0.5);
    TU_ASSERT_NEAR(cur[0], 2 * exp(0.25) / d, 1e-12);
    TU_ASSERT_NEAR(cur[2], 2 * exp(0.5) / d, 1e-12);
    CU_ASSERT_EQUAL(cur[1], 0.0);
    TU_ASSERT_NEAR(cur[0] + cur[2], 2.0, 1e-12);
    double losses[3] = {1.0, 5.0, 1.0}, total;
    float scale[3];
    weighting_combine(&w, losses, active, &total, scale);
    TU_ASSERT_NEAR(total, 2.0, 1e-6);
}

static void test_fixed_and_errors(void)
{
    loss_weighting w;
    double fw[2] = {2.0, 0.5}, losses[2] = {1.0, 4.0}, total;
    int active[2] = {1, 1};
    float scale[2];
    CU_ASSERT_EQUAL_FATAL(weighting_init(&w, WEIGHTING_FIXED, 2, fw, 2.0, NULL, NULL), DMMP_OK);
    weighting_combine(&w, losses, active, &total, scale);
    TU_ASSERT_NEAR(total, 4.0, 1e-12);
    TU_ASSERT_NEAR(scale[1], 0.5, 1e-7);
    fw[1] = -1;
    CU_ASSERT_EQUAL(weighting_init(&w, WEIGHTING_FIXED, 2, fw, 2.0, NULL, NULL), DMMP_EINVAL);
    CU_ASSERT_EQUAL(weighting_init(&w, WEIGHTING_DWA, 2, NULL, 0.0, NULL, NULL), DMMP_EINVAL);
    CU_ASSERT_EQUAL(weighting_init(&w, WEIGHTING_UNCERTAINTY, 2, NULL, 2.0, NULL, NULL), DMMP_EINVAL);
    CU_ASSERT_EQUAL(weighting_init(&w, WEIGHTING_FIXED, 0, fw, 2.0, NULL, NULL), DMMP_EINVAL);
}

int register_weighting_suites(void)
{
    static const char *const names[] = {"uncertainty: total, scales and ds by hand",
                                        "dwa: weights over the active terms by hand", "fixed weights and bad settings"};
    static const CU_TestFunc fns[] = {test_uncertainty, test_dwa, test_fixed_and_errors};
    return tu_add_suite("layer_weighting", names, fns, sizeof fns / sizeof fns[0]);
}
