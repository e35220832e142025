/* Core: the RNG against published reference values, ISA selection, errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "core/free_cores.h"
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

/* Blocks below 4 MiB are 64-byte aligned, from 4 MiB on 2 MiB aligned (the
 * start of a huge page), every one zeroed to its last byte and writable
 * there, sizes that fill no huge page exactly included. */
static void test_mem_alloc_sizes(void)
{
    static const size_t sizes[] = {1, 64, 4095, (4u << 20) - 64, 4u << 20, (4u << 20) + 100, (6u << 20) + 1};
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
        size_t n = sizes[c];
        unsigned char *p = NULL;
        CU_ASSERT_EQUAL_FATAL(mem_alloc((void **)&p, n, "probe"), DMMP_OK);
        uintptr_t align = n >= (4u << 20) ? 2u << 20 : 64;
        TU_ASSERT_MSG((uintptr_t)p % align == 0, "%zu bytes at %p: not %zu-byte aligned", n, (void *)p, (size_t)align);
        size_t nonzero = 0;
        for (size_t i = 0; i < n; i++) nonzero += p[i] != 0;
        TU_ASSERT_MSG(nonzero == 0, "%zu bytes: %zu not zeroed", n, nonzero);
        p[n - 1] = 0xab;
        CU_ASSERT_EQUAL(p[n - 1], 0xab);
        mem_free(p);
    }
}

/* The team for the processors other programs leave free: the rounding, the
 * bounds, /proc/stat's first line, and the two windows that must agree
 * before the team changes (hand-computed samples). */
static void test_free_cores(void)
{
    CU_ASSERT_EQUAL(free_cores_team(0.0, 2, 2), 2);
    CU_ASSERT_EQUAL(free_cores_team(0.3, 2, 2), 2);  /* 1.7 free: 2 */
    CU_ASSERT_EQUAL(free_cores_team(0.67, 2, 2), 1); /* 1.33 free: 1 */
    CU_ASSERT_EQUAL(free_cores_team(1.0, 2, 2), 1);
    CU_ASSERT_EQUAL(free_cores_team(2.0, 2, 2), 1);  /* never below 1 */
    CU_ASSERT_EQUAL(free_cores_team(-0.2, 2, 2), 2); /* measurement noise below 0 */
    CU_ASSERT_EQUAL(free_cores_team(1.0, 8, 4), 4);  /* never above the starting team */
    CU_ASSERT_EQUAL(free_cores_team(5.4, 8, 4), 3);  /* 2.6 free: 3 */
    uint64_t busy = 0, total = 0;
    CU_ASSERT_EQUAL(free_cores_parse_stat("cpu  48134 7 14779 71945 390 3 94 109 11 0\n", &busy, &total), 0);
    CU_ASSERT_EQUAL(busy, 48134u + 7 + 14779 + 3 + 94 + 109);
    CU_ASSERT_EQUAL(total, busy + 71945 + 390);
    CU_ASSERT_EQUAL(free_cores_parse_stat("cpu0 1 2 3 4 5 6 7 8\n", &busy, &total), -1);
    CU_ASSERT_EQUAL(free_cores_parse_stat("cpu  1 2 3\n", &busy, &total), -1);

    int before = omp_get_max_threads();
    omp_set_num_threads(2);
    free_cores fc;
    free_cores_init(&fc, 0);
    CU_ASSERT_FALSE(fc.enabled);
    CU_ASSERT_EQUAL(free_cores_sample(&fc, 10, 10, 1000, 2000, 2), 2); /* off: nothing changes */
    /* on, from a window start at wall 0, own 0, ticks 0 of 0, 2 processors */
    memset(&fc, 0, sizeof fc);
    fc.enabled = 1;
    fc.max_team = fc.team = fc.proposed = 2;
    fc.cpus = 2;
    /* too early: 0.1 s */
    CU_ASSERT_EQUAL(free_cores_sample(&fc, 0.1, 0.2, 100, 100, 2), 2);
    CU_ASSERT_EQUAL(fc.total, 0u);
    /* window 1: the machine was busy 100 of 100 ticks (2 processors), this process 1.0 s of CPU in 1.0 s:
     * others 2 - 1 = 1.0, so a team of 1 is proposed but not taken yet */
    CU_ASSERT_EQUAL(free_cores_sample(&fc, 1.0, 1.0, 100, 100, 2), 2);
    CU_ASSERT_DOUBLE_EQUAL(fc.others, 1.0, 1e-12);
    CU_ASSERT_EQUAL(fc.proposed, 1);
    CU_ASSERT_EQUAL(omp_get_max_threads(), 2);
    /* window 2 agrees: busy 150 of 200 new ticks = 1.5 processors, own 0.5 s in 1 s: others 1.0; team 1 */
    CU_ASSERT_EQUAL(free_cores_sample(&fc, 2.0, 1.5, 250, 300, 2), 1);
    CU_ASSERT_EQUAL(omp_get_max_threads(), 1);
    CU_ASSERT_EQUAL(fc.changes, 1);
    /* one free window (busy 100 of 200: 1 processor, all of it ours): proposed 2, kept at 1 */
    CU_ASSERT_EQUAL(free_cores_sample(&fc, 3.0, 2.5, 350, 500, 2), 1);
    CU_ASSERT_DOUBLE_EQUAL(fc.others, 0.0, 1e-12);
    /* a busy window between two free ones: no change */
    CU_ASSERT_EQUAL(free_cores_sample(&fc, 4.0, 3.0, 550, 700, 2), 1); /* 2.0 - 0.5 = 1.5 others */
    CU_ASSERT_EQUAL(free_cores_sample(&fc, 5.0, 4.0, 650, 900, 2), 1); /* free again, proposed 2 */
    CU_ASSERT_EQUAL(free_cores_sample(&fc, 6.0, 5.8, 830, 1100, 2), 2); /* 180 of 200: 1.8, all ours */
    CU_ASSERT_DOUBLE_EQUAL(fc.others, 0.0, 1e-12);
    CU_ASSERT_EQUAL(omp_get_max_threads(), 2);
    CU_ASSERT_EQUAL(fc.changes, 2);
    omp_set_num_threads(before);
}

int register_core_suites(void)
{
    static const char *const names[] = {
        "splitmix64 reference values", "xoshiro256** reference values", "named streams reproducible",
        "rng_below uniform (chi-square)", "normal and uniform moments", "shuffle is a permutation",
        "ISA parse and force", "DMMP_ISA errors", "status messages and aligned memory",
        "mem_alloc: 64-byte alignment, 2 MiB from 4 MiB, zeroed to the end",
        "DMMP_LOG levels; an unknown one is an error naming the valid levels",
        "free_cores: team from the free processors, /proc/stat, two windows agree before a change",
    };
    static const CU_TestFunc fns[] = {
        test_splitmix_reference, test_xoshiro_reference, test_rng_streams_reproducible,
        test_rng_below_uniform, test_rng_normal_moments, test_shuffle_is_permutation,
        test_isa_parse_and_force, test_isa_env_errors, test_status_messages,
        test_mem_alloc_sizes, test_log_env, test_free_cores,
    };
    return tu_add_suite("core", names, fns, sizeof fns / sizeof fns[0]);
}
