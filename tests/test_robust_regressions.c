/* robust_regressions: inputs the fuzz targets (tests/fuzz) found, fixed at
 * their root and kept here so they stay fixed; robust_determinism: the
 * writers that promise the same bytes for the same inputs keep the promise
 * whatever the thread count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/gen_aliccp_raw.h"
#include "data/import.h"
#include "test_robust.h"
#include "testutil.h"

static import_options options(const char *out, int threads)
{
    import_options opt;
    import_options_default(&opt);
    opt.out = out;
    opt.progress = 0;
    opt.threads = threads;
    return opt;
}

/* Found by fuzz_csv_import (seed "click,purchase,101,205,D1"): a CSV with a
 * single dense column imported fine, but the writer stores a one-column
 * table as a rank-1 dataset and the reader demanded rank 2, so the file the
 * importer had just written could not be opened. */
static void test_one_dense_column(void)
{
    char dir[512], train[600], out[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(train, sizeof train, "%s/t.csv", dir);
    snprintf(out, sizeof out, "%s/t.h5", dir);
    CU_ASSERT_FATAL(robust_put(train, "click,purchase,101,205,D1\n1,0,1,1,0.25\n0,0,2,2,-3\n1,1,2,1,7.5\n"));
    import_options opt = options(out, 2);
    opt.val_fraction = 0;
    import_report rep;
    dmmp_status s = import_aliccp_csv(train, NULL, NULL, &opt, &rep);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    dataset *d;
    s = dataset_open(&d, out);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    if (s != DMMP_OK) return;
    CU_ASSERT_EQUAL(dataset_get_schema(d)->n_dense, 1);
    dataset_block b = {0};
    CU_ASSERT_FATAL(dataset_read_block(d, 0, 3, &b) == DMMP_OK);
    CU_ASSERT(b.dense[0] == 0.25f && b.dense[1] == -3.0f && b.dense[2] == 7.5f);
    dataset_block_free(&b);
    dataset_close(d);
}

int register_robust_regression_suites(void)
{
    static const char *const names[] = {"fuzz_csv_import: one dense column reads back"};
    static const CU_TestFunc tests[] = {test_one_dense_column};
    return tu_add_suite("robust_regressions", names, tests, sizeof tests / sizeof tests[0]);
}
