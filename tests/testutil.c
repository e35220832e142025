#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"

int tu_add_suite(const char *name, const char *const *test_names, const CU_TestFunc *tests, size_t n)
{
    CU_pSuite s = CU_add_suite(name, NULL, NULL);
    if (!s) return -1;
    for (size_t i = 0; i < n; i++)
        if (!CU_add_test(s, test_names[i], tests[i])) return -1;
    return 0;
}

double tu_max_rel_diff(const float *a, const float *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]) / fmax(1.0, fabs((double)b[i]));
        if (isnan(d)) return INFINITY;
        if (d > worst) worst = d;
    }
    return worst;
}

void tu_fill(rng *r, float *x, size_t n, float lo, float hi) { rng_fill_uniform(r, x, n, lo, hi); }

float *tu_alloc_unaligned(size_t n)
{
    float *base = aligned_alloc(64, ((n + 1) * sizeof(float) + 63) & ~(size_t)63);
    if (!base) return NULL;
    memset(base, 0, (n + 1) * sizeof(float));
    return base + 1;
}

float *tu_falloc(size_t n)
{
    float *p = NULL;
    CU_ASSERT_EQUAL_FATAL(mem_alloc_f32(&p, n, "test buffer"), DMMP_OK);
    return p;
}

void tu_free_unaligned(float *p)
{
    if (p) free(p - 1);
}

#define TU_SENTINEL 12345.0f

float *tu_alloc_guarded(size_t n)
{
    float *p = tu_alloc_unaligned(n + TU_GUARD);
    if (!p) return NULL;
    for (size_t i = 0; i < TU_GUARD; i++) p[n + i] = TU_SENTINEL;
    return p;
}

int tu_guard_intact(const float *p, size_t n)
{
    for (size_t i = 0; i < TU_GUARD; i++)
        if (p[n + i] != TU_SENTINEL) return 0;
    return 1;
}

int tu_isa_count(void)
{
    int n = 0;
    for (int l = 0; l < ISA_COUNT; l++) n += isa_cpu_has((isa_level)l);
    return n;
}

isa_level tu_isa_at(int i)
{
    for (int l = 0; l < ISA_COUNT; l++) {
        if (!isa_cpu_has((isa_level)l)) continue;
        if (i-- == 0) return (isa_level)l;
    }
    return ISA_SCALAR;
}

const char *tu_srcdir(void)
{
    /* make check sets DMMP_SRCDIR; run directly, the test binary falls back to
     * the source tree it was configured from. */
    const char *s = getenv("DMMP_SRCDIR");
#ifdef DMMP_TEST_SRCDIR
    if (!s || !*s) s = DMMP_TEST_SRCDIR;
#endif
    return s && *s ? s : ".";
}

const char *tu_shared_dir(void)
{
    static char path[4096];
    struct stat st;
    const char *env = getenv("DMMP_SHARED_DIR");
    if (env && *env) snprintf(path, sizeof path, "%s", env);
    else snprintf(path, sizeof path, "%s/../shared", tu_srcdir());
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return NULL;
    return path;
}

void tu_skip(const char *test, const char *reason) { printf("\n    SKIP %s: %s\n", test, reason); }

void tu_tmpdir(char *buf, size_t len)
{
    const char *base = getenv("TMPDIR");
    snprintf(buf, len, "%s/dmmp-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(buf)) buf[0] = '\0';
}
