#include "h5_fixture.h"

#include <stdio.h>
#include <stdlib.h>

#include "results_fixture.h"
#include "test_robust.h"
#include "testutil.h"

static char base[512], data[600], ini[600], run[600], bench[600];
static int state; /* 0 not tried, 1 ready, -1 failed */

static void remove_fixture(void)
{
    if (base[0]) fx_rm_rf(base);
}

int h5_fixture(const char *test)
{
    if (state == 0) {
        state = -1;
        if (!robust_dmmp()) {
            tu_skip(test, "the dmmp command is not built (set DMMP_BUILDDIR)");
            return 0;
        }
        atexit(remove_fixture);
        tu_tmpdir(base, sizeof base);
        snprintf(data, sizeof data, "%s/d.h5", base);
        snprintf(ini, sizeof ini, "%s/tiny.ini", base);
        snprintf(run, sizeof run, "%s/run", base);
        snprintf(bench, sizeof bench, "%s/bench.h5", base);
        char out[8192];
        const char *train[] = {"train", "--config", ini, "--data", data, "--out", run, "--variant", "tiny", NULL};
        const char *eval[] = {"eval", "--run", run, "--data", data, NULL};
        const char *gemm[] = {"bench", "gemm", "--size", "32", "--repeat", "1", "--out", bench, NULL};
        const char *retrieve[] = {"bench", "retrieve", "--items", "500", "--dim", "8", "--queries", "8", "--k", "5",
                                  "--repeat", "1", "--gemm-size", "16", "--out", bench, NULL};
        if (robust_synth(data, 80, 40, 6000, 3) && robust_tiny_ini(ini, 1) && robust_run_dmmp(train, out, sizeof out) == 0 &&
            robust_run_dmmp(eval, out, sizeof out) == 0 && robust_run_dmmp(gemm, out, sizeof out) == 0 &&
            robust_run_dmmp(retrieve, out, sizeof out) == 0)
            state = 1;
        else
            TU_ASSERT_MSG(0, "writing the files failed:\n%s", out);
    }
    if (state == -1) tu_skip(test, "the shared files could not be written");
    return state == 1;
}

const char *h5_fixture_dir(void) { return base; }
const char *h5_fixture_data(void) { return data; }
const char *h5_fixture_run(void) { return run; }
const char *h5_fixture_bench(void) { return bench; }
const char *h5_fixture_ini(void) { return ini; }
