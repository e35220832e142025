/* robust_determinism: the same inputs give the same output bytes, whatever
 * the thread count, for the synthetic generator (through dmmp data synth)
 * and the importers (raw Ali-CCP and CSV, 1 against 3 parser threads). A
 * different seed must change the bytes, so the comparison can fail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "data/gen_aliccp_raw.h"
#include "data/import.h"
#include "test_robust.h"
#include "testutil.h"

/* Runs dmmp data synth with OMP_NUM_THREADS=threads; 1 on exit status 0. */
static int synth_cli(const char *out, const char *seed, const char *threads)
{
    char log[4096];
    const char *args[] = {"data", "synth", "--out", out, "--users", "300", "--items", "120",
                          "--impressions", "40000", "--seed", seed, NULL};
    const char *old = getenv("OMP_NUM_THREADS");
    char saved[64] = "";
    if (old) snprintf(saved, sizeof saved, "%s", old);
    setenv("OMP_NUM_THREADS", threads, 1);
    int code = robust_run_dmmp(args, log, sizeof log);
    if (old) setenv("OMP_NUM_THREADS", saved, 1);
    else unsetenv("OMP_NUM_THREADS");
    if (code != 0) printf("\n    dmmp data synth: exit %d: %s\n", code, log);
    return code == 0;
}

static void test_synth_bytes(void)
{
    if (!robust_dmmp()) {
        tu_skip("synth determinism", "the dmmp command is not built (set DMMP_BUILDDIR)");
        return;
    }
    char dir[512], a[600], b[600], c[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(a, sizeof a, "%s/a.h5", dir);
    snprintf(b, sizeof b, "%s/b.h5", dir);
    snprintf(c, sizeof c, "%s/c.h5", dir);
    CU_ASSERT_FATAL(synth_cli(a, "11", "1") && synth_cli(b, "11", "2") && synth_cli(c, "12", "2"));
    CU_ASSERT(robust_same_bytes(a, b));
    CU_ASSERT(!robust_same_bytes(a, c));
}

static dmmp_status import_raw(const char *dir, const char *out, int threads, uint64_t seed)
{
    char st[600], ct[600], sv[600], cv[600];
    snprintf(st, sizeof st, "%s/sample_skeleton_train.csv", dir);
    snprintf(ct, sizeof ct, "%s/common_features_train.csv", dir);
    snprintf(sv, sizeof sv, "%s/sample_skeleton_test.csv", dir);
    snprintf(cv, sizeof cv, "%s/common_features_test.csv", dir);
    aliccp_raw_paths p = {st, ct, sv, cv};
    import_options opt;
    import_options_default(&opt);
    opt.out = out;
    opt.progress = 0;
    opt.threads = threads;
    opt.seed = seed;
    import_report rep;
    log_level level = log_get_level();
    log_set_level(LOG_WARN); /* the importer's info lines are noise here */
    dmmp_status s = import_aliccp_raw(&p, &opt, &rep);
    log_set_level(level);
    return s;
}

static void test_import_raw_bytes(void)
{
    char dir[512], a[600], b[600], c[600];
    tu_tmpdir(dir, sizeof dir);
    aliccp_gen_options g = {dir, 3000, 800, 0, 0, 4};
    CU_ASSERT_FATAL(gen_aliccp_raw(&g) == DMMP_OK);
    snprintf(a, sizeof a, "%s/a.h5", dir);
    snprintf(b, sizeof b, "%s/b.h5", dir);
    snprintf(c, sizeof c, "%s/c.h5", dir);
    CU_ASSERT_FATAL(import_raw(dir, a, 1, 1) == DMMP_OK);
    CU_ASSERT_FATAL(import_raw(dir, b, 3, 1) == DMMP_OK);
    CU_ASSERT_FATAL(import_raw(dir, c, 3, 2) == DMMP_OK); /* another val draw */
    CU_ASSERT(robust_same_bytes(a, b));
    CU_ASSERT(!robust_same_bytes(a, c));
}

static void test_import_csv_bytes(void)
{
    char dir[512], train[600], a[600], b[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(train, sizeof train, "%s/t.csv", dir);
    snprintf(a, sizeof a, "%s/a.h5", dir);
    snprintf(b, sizeof b, "%s/b.h5", dir);
    /* Enough rows that 3 threads each parse a range. */
    size_t cap = 1 << 20, n = 0;
    char *text = malloc(cap);
    CU_ASSERT_FATAL(text != NULL);
    n += (size_t)snprintf(text, cap, "click,purchase,101,205,206,301,D508,D509\n");
    rng r;
    rng_stream(&r, 5, 1);
    for (int i = 0; i < 5000; i++) {
        unsigned click = (unsigned)rng_below(&r, 2), conv = click && rng_below(&r, 3) == 0;
        n += (size_t)snprintf(text + n, cap - n, "%u,%u,%u,%u,%u,%u,%.3f,%u\n", click, conv,
                              (unsigned)rng_below(&r, 200), (unsigned)rng_below(&r, 90), (unsigned)rng_below(&r, 9),
                              (unsigned)rng_below(&r, 4), (double)rng_below(&r, 1000) / 7.0,
                              (unsigned)rng_below(&r, 50));
    }
    CU_ASSERT_FATAL(robust_put(train, text));
    free(text);
    import_options opt;
    import_options_default(&opt);
    opt.progress = 0;
    import_report rep;
    opt.out = a;
    opt.threads = 1;
    CU_ASSERT_FATAL(import_aliccp_csv(train, NULL, NULL, &opt, &rep) == DMMP_OK);
    opt.out = b;
    opt.threads = 3;
    CU_ASSERT_FATAL(import_aliccp_csv(train, NULL, NULL, &opt, &rep) == DMMP_OK);
    CU_ASSERT(robust_same_bytes(a, b));
}

int register_robust_determinism_suites(void)
{
    static const char *const names[] = {
        "dmmp data synth: same seed, 1 or 2 threads -> same bytes; another seed differs",
        "raw Ali-CCP import: 1 or 3 threads -> same bytes; another val seed differs",
        "Ali-CCP CSV import: 1 or 3 threads -> same bytes",
    };
    static const CU_TestFunc tests[] = {test_synth_bytes, test_import_raw_bytes, test_import_csv_bytes};
    return tu_add_suite("robust_determinism", names, tests, sizeof tests / sizeof tests[0]);
}
