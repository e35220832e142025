/* Core: the RNG against published reference values, ISA selection, errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/rng.h"
#include "core/status.h"
#include "simd/isa.h"
#include "suites.h"
#include "testutil.h"

static void test_splitmix_reference(void)
{
    /* Reference outputs of splitmix64 from state 0 (Vigna's splitmix64.c). */
    uint64_t st = 0;
    CU_ASSERT_EQUAL(rng_splitmix64(&st), 0xe220a8397b1dcdafULL);
    CU_ASSERT_EQUAL(rng_splitmix64(&st), 0x6e789e6aa1b965f4ULL);
}

static void test_xoshiro_reference(void)
{
    /* xoshiro256** from state {1,2,3,4}: first outputs computed by hand from
     * the published algorithm: rotl(2*5,7)*9 = 11520, then 0, ... */
    rng r = {{1, 2, 3, 4}};
    CU_ASSERT_EQUAL(rng_u64(&r), 11520ULL);
    CU_ASSERT_EQUAL(rng_u64(&r), 0ULL);
    CU_ASSERT_EQUAL(rng_u64(&r), 1509978240ULL);
    CU_ASSERT_EQUAL(rng_u64(&r), 1215971899390074240ULL);
}

static void test_rng_streams_reproducible(void)
{
    rng a, b, c;
    rng_stream(&a, 42, 7);
    rng_stream(&b, 42, 7);
    rng_stream(&c, 42, 8);
    int same = 1, differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = rng_u64(&a), y = rng_u64(&b), z = rng_u64(&c);
        same &= x == y;
        differ += x != z;
    }
    CU_ASSERT(same);
    CU_ASSERT(differ > 95);
}

static void test_rng_below_uniform(void)
{
    /* Chi-square over 10 bins with 100k draws: 9 dof, 99.99th percentile ~ 33.7. */
    rng r;
    int counts[10] = {0};
    rng_seed(&r, 1);
    for (int i = 0; i < 100000; i++) counts[rng_below(&r, 10)]++;
    double chi = 0;
    for (int k = 0; k < 10; k++) chi += (counts[k] - 10000.0) * (counts[k] - 10000.0) / 10000.0;
    TU_ASSERT_MSG(chi < 33.7, "chi-square %.2f", chi);
}

static void test_rng_normal_moments(void)
{
    rng r;
    rng_seed(&r, 3);
    double s = 0, s2 = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double x = rng_normal(&r);
        s += x;
        s2 += x * x;
    }
    double mean = s / n, var = s2 / n - mean * mean;
    /* Standard errors: mean 1/sqrt(n) = 0.0022, variance sqrt(2/n) = 0.0032. */
    TU_ASSERT_NEAR(mean, 0.0, 0.011);
    TU_ASSERT_NEAR(var, 1.0, 0.016);
    double u = 0;
    for (int i = 0; i < n; i++) u += rng_uniform(&r);
    TU_ASSERT_NEAR(u / n, 0.5, 0.0035);
}

static void test_shuffle_is_permutation(void)
{
    rng r;
    uint32_t idx[1000];
    int seen[1000] = {0};
    rng_seed(&r, 9);
    for (uint32_t i = 0; i < 1000; i++) idx[i] = i;
    rng_shuffle_u32(&r, idx, 1000);
    int moved = 0;
    for (uint32_t i = 0; i < 1000; i++) {
        seen[idx[i]]++;
        moved += idx[i] != i;
    }
    for (int i = 0; i < 1000; i++) CU_ASSERT_EQUAL(seen[i], 1);
    CU_ASSERT(moved > 900);
}

static void test_isa_parse_and_force(void)
{
    isa_level l;
    CU_ASSERT_EQUAL(isa_parse("avx2", &l), 0);
    CU_ASSERT_EQUAL(l, ISA_AVX2);
    CU_ASSERT_NOT_EQUAL(isa_parse("sse9", &l), 0);
    isa_level before = isa_active();
    CU_ASSERT_TRUE(isa_cpu_has(ISA_SCALAR));
    CU_ASSERT_EQUAL(isa_force(ISA_SCALAR), DMMP_OK);
    CU_ASSERT_EQUAL(isa_active(), ISA_SCALAR);
    for (int i = 0; i < ISA_COUNT; i++) {
        dmmp_status s = isa_force((isa_level)i);
        CU_ASSERT_EQUAL(s == DMMP_OK, isa_cpu_has((isa_level)i));
        if (s != DMMP_OK) CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "does not support"));
    }
    CU_ASSERT_EQUAL(isa_force(before), DMMP_OK);
}

static void test_isa_env_errors(void)
{
    isa_level before = isa_active();
    const char *old = getenv("DMMP_ISA");
    char saved[32] = "";
    if (old) snprintf(saved, sizeof saved, "%s", old);
    setenv("DMMP_ISA", "avx9000", 1);
    CU_ASSERT_EQUAL(isa_init(), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "DMMP_ISA=avx9000"));
    setenv("DMMP_ISA", "scalar", 1);
    CU_ASSERT_EQUAL(isa_init(), DMMP_OK);
    CU_ASSERT_EQUAL(isa_active(), ISA_SCALAR);
    if (old) setenv("DMMP_ISA", saved, 1);
    else unsetenv("DMMP_ISA");
    CU_ASSERT_EQUAL(isa_force(before), DMMP_OK);
}

/* DMMP_LOG: a known level is taken, anything else is an error that names the
 * valid levels (it used to be read silently as the default). */
static void test_log_env(void)
{
    const char *old = getenv("DMMP_LOG");
    char saved[64] = "";
    if (old) snprintf(saved, sizeof saved, "%s", old);
    log_level before = log_get_level();
    setenv("DMMP_LOG", "bogus", 1);
    CU_ASSERT_EQUAL(log_level_from_env(), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "DMMP_LOG=bogus"));
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "debug, info, warn, error or quiet"));
    setenv("DMMP_LOG", "warn", 1);
    CU_ASSERT_EQUAL(log_level_from_env(), DMMP_OK);
    CU_ASSERT_EQUAL(log_get_level(), LOG_WARN);
    setenv("DMMP_LOG", "quiet", 1);
    CU_ASSERT_EQUAL(log_level_from_env(), DMMP_OK);
    CU_ASSERT_EQUAL(log_get_level(), LOG_QUIET);
    if (old) setenv("DMMP_LOG", saved, 1);
    else unsetenv("DMMP_LOG");
    log_set_level(before);
}

static void test_status_messages(void)
{
    dmmp_status s = dmmp_fail(DMMP_EFORMAT, "line %d, column %d: bad number '%s'", 3, 7, "x1");
    CU_ASSERT_EQUAL(s, DMMP_EFORMAT);
    dmmp_fail_prefix(s, "data.csv");
    CU_ASSERT_STRING_EQUAL(dmmp_errmsg(), "data.csv: line 3, column 7: bad number 'x1'");
    void *p = NULL;
    CU_ASSERT_EQUAL(mem_alloc(&p, 100, "probe"), DMMP_OK);
    CU_ASSERT_EQUAL(((uintptr_t)p) % 64, 0);
    CU_ASSERT_EQUAL(((unsigned char *)p)[99], 0);
    mem_free(p);
}

int register_core_suites(void)
{
    static const char *const names[] = {
        "splitmix64 reference values", "xoshiro256** reference values", "named streams reproducible",
        "rng_below uniform (chi-square)", "normal and uniform moments", "shuffle is a permutation",
        "ISA parse and force", "DMMP_ISA errors", "status messages and aligned memory",
        "DMMP_LOG levels; an unknown one is an error naming the valid levels",
    };
    static const CU_TestFunc fns[] = {
        test_splitmix_reference, test_xoshiro_reference, test_rng_streams_reproducible,
        test_rng_below_uniform, test_rng_normal_moments, test_shuffle_is_permutation,
        test_isa_parse_and_force, test_isa_env_errors, test_status_messages,
        test_log_env,
    };
    return tu_add_suite("core", names, fns, sizeof fns / sizeof fns[0]);
}
