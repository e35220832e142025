/* robust_omp_wait: the built dmmp chooses a short GOMP_SPINCOUNT itself
 * when the environment sets neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT, and
 * keeps the user's value otherwise (core/omp_wait.h). What `dmmp env` says is
 * checked against libgomp's own view: with OMP_DISPLAY_ENV=verbose the
 * runtime prints the spin count it initialised with, once per start of the
 * program, to stderr. The count dmmp chose is checked against the test's own
 * timing of the spin loop, within a factor of 4 (the fastest of several
 * timings on both sides: preemption only makes a timing longer). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/omp_wait.h"

#include "test_robust.h"
#include "testutil.h"

extern char **environ;

/* Runs `dmmp env` with the environment of the tests minus the wait variables, plus extra (NULL-ended);
 * output gets stdout and stderr. Returns the exit status, -1 when it could not run. */
static int run_env(const char *const *extra, char *output, size_t len)
{
    if (!robust_dmmp()) return -1;
    size_t count = 0;
    while (environ[count]) count++;
    char **env = calloc(count + 8, sizeof *env);
    if (!env) return -1;
    size_t k = 0;
    for (size_t i = 0; i < count; i++)
        if (strncmp(environ[i], "OMP_WAIT_POLICY=", 16) && strncmp(environ[i], "GOMP_SPINCOUNT=", 15) &&
            strncmp(environ[i], "OMP_DISPLAY_ENV=", 16) && strncmp(environ[i], "DMMP_OMP_REEXEC=", 16))
            env[k++] = environ[i];
    env[k++] = (char *)"OMP_DISPLAY_ENV=verbose";
    for (int i = 0; extra && extra[i]; i++) env[k++] = (char *)extra[i];
    env[k] = NULL;
    static const char *const args[] = {"env", NULL};
    int code = robust_run_dmmp_env(args, env, output, len);
    free(env);
    return code;
}

/* The spin counts libgomp printed, in order; returns how many (at most max). */
static int spincounts(const char *out, long long *v, int max)
{
    int n = 0;
    for (const char *p = strstr(out, "GOMP_SPINCOUNT = '"); p && n < max; p = strstr(p + 1, "GOMP_SPINCOUNT = '"))
        v[n++] = strtoll(p + strlen("GOMP_SPINCOUNT = '"), NULL, 10);
    return n;
}

static int have_dmmp(const char *test)
{
    if (robust_dmmp()) return 1;
    tu_skip(test, "the dmmp command is not built (set DMMP_BUILDDIR)");
    return 0;
}

/* The rounds of a pause loop in OMP_WAIT_SPIN_US, timed here (the fastest of 5 timings). */
static double rounds_expected(void)
{
    static volatile int word;
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (int i = 0; i < 50000 && !word; i++) {
#if defined(__x86_64__) || defined(__i386__)
            __asm__ volatile("pause" ::: "memory");
#endif
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / 50000;
        if (rep == 0 || ns < best) best = ns;
    }
    double r = 1e3 * OMP_WAIT_SPIN_US / best;
    return r < 1000 ? 1000 : r > 1000000 ? 1000000 : r;
}

static void test_chosen_when_unset(void)
{
    if (!have_dmmp("omp wait unset")) return;
    static char out[65536];
    long long spin[8];
    /* nothing set; then a marker inherited from another process, which must not stop the re-exec */
    static const char *const stale[] = {"DMMP_OMP_REEXEC=1", NULL};
    const char *const *extras[] = {NULL, stale};
    for (int e = 0; e < 2; e++) {
        int code = run_env(extras[e], out, sizeof out);
        TU_ASSERT_MSG(code == 0, "dmmp env: exit %d:\n%s", code, out);
        int n = spincounts(out, spin, 8);
        /* libgomp initialised twice: its default in the first start, dmmp's in the re-executed one */
        TU_ASSERT_MSG(n == 2 && spin[0] > 1000 && spin[1] >= 1000 && spin[1] <= 1000000,
                      "%d starts, spin counts %lld %lld:\n%s", n, n > 0 ? spin[0] : -1, n > 1 ? spin[1] : -1, out);
        char says[96];
        snprintf(says, sizeof says, "OpenMP wait:    short spin, GOMP_SPINCOUNT=%lld (about %d us", spin[1],
                 OMP_WAIT_SPIN_US);
        TU_ASSERT_MSG(strstr(out, says) != NULL, "dmmp env output lacks '%s':\n%s", says, out);
        double want = rounds_expected();
        TU_ASSERT_MSG(spin[1] > want / 4 && spin[1] < want * 4, "dmmp chose %lld rounds, this test times %.0f for %d us",
                      spin[1], want, OMP_WAIT_SPIN_US);
    }
}

static void test_user_value_kept(void)
{
    if (!have_dmmp("omp wait set")) return;
    static char out[65536];
    long long spin[8];
    static const char *const active[] = {"OMP_WAIT_POLICY=active", NULL};
    static const char *const passive[] = {"OMP_WAIT_POLICY=passive", NULL};
    static const char *const spins[] = {"GOMP_SPINCOUNT=1234", NULL};
    const struct {
        const char *const *extra;
        const char *says;
        long long spin;
    } cases[] = {
        {active, "OpenMP wait:    OMP_WAIT_POLICY=active (set in the environment", 30000000000LL},
        {passive, "OpenMP wait:    OMP_WAIT_POLICY=passive (set in the environment", 0},
        {spins, "OpenMP wait:    GOMP_SPINCOUNT=1234 (set in the environment", 1234},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int code = run_env(cases[i].extra, out, sizeof out);
        TU_ASSERT_MSG(code == 0, "dmmp env with %s: exit %d:\n%s", cases[i].extra[0], code, out);
        TU_ASSERT_MSG(strstr(out, cases[i].says) != NULL, "dmmp env with %s lacks '%s':\n%s", cases[i].extra[0],
                      cases[i].says, out);
        TU_ASSERT_MSG(!strstr(out, "chosen by dmmp"), "dmmp env with %s:\n%s", cases[i].extra[0], out);
        /* one start only (no re-exec), with the user's setting */
        int n = spincounts(out, spin, 8);
        TU_ASSERT_MSG(n == 1 && spin[0] == cases[i].spin, "with %s: %d starts, spin count %lld, expected %lld",
                      cases[i].extra[0], n, n > 0 ? spin[0] : -1, cases[i].spin);
    }
}

int register_robust_omp_wait_suites(void)
{
    static const char *const names[] = {
        "nothing set: dmmp re-executes once with a spin count timed for OMP_WAIT_SPIN_US and says it chose it (libgomp agrees)",
        "OMP_WAIT_POLICY or GOMP_SPINCOUNT set: kept, no re-exec, dmmp env names the user's value",
    };
    static const CU_TestFunc tests[] = {test_chosen_when_unset, test_user_value_kept};
    return tu_add_suite("robust_omp_wait", names, tests, sizeof tests / sizeof tests[0]);
}
