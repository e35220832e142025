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
#include "config/config.h"
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

/* Found by fuzz_config ("[data]\npath =;n/aod/on/and/oh"): libinih reads
 * "path =;x" as the value ";x" (no space before the ';'), but config_to_ini
 * writes it back as "path = ;x", which reads as an empty value and a
 * comment: the saved configuration of a run would name another dataset. A
 * string value may not start with ';' now, like " ;" inside one. */
static void test_config_leading_semicolon(void)
{
    dmmp_config c, before;
    config_defaults(&c);
    memcpy(&before, &c, sizeof c);
    dmmp_status s = config_load_string(&c, "[data]\npath =;n/aod/on/and/oh\n", "fuzz.ini");
    TU_ASSERT_MSG(s == DMMP_EINVAL && strstr(dmmp_errmsg(), "path") && strstr(dmmp_errmsg(), "fuzz.ini:2"), "'%s'",
                  dmmp_errmsg());
    CU_ASSERT(config_equal(&c, &before));
    s = config_set(&c, "data.path=;x", "--set");
    TU_ASSERT_MSG(s == DMMP_EINVAL && strstr(dmmp_errmsg(), "comment"), "'%s'", dmmp_errmsg());
    /* A ';' inside a value without a space before it still round-trips. */
    CU_ASSERT_FATAL(config_set(&c, "data.path=a;b.h5", "--set") == DMMP_OK);
    char *ini;
    CU_ASSERT_FATAL(config_to_ini(&c, &ini) == DMMP_OK);
    dmmp_config back;
    config_defaults(&back);
    CU_ASSERT(config_load_string(&back, ini, "rendered") == DMMP_OK && config_equal(&c, &back));
    CU_ASSERT_STRING_EQUAL(back.data.path, "a;b.h5");
    free(ini);
}

int register_robust_regression_suites(void)
{
    static const char *const names[] = {"fuzz_csv_import: one dense column reads back",
                                        "fuzz_config: a string value starting with ';' is refused"};
    static const CU_TestFunc tests[] = {test_one_dense_column, test_config_leading_semicolon};
    return tu_add_suite("robust_regressions", names, tests, sizeof tests / sizeof tests[0]);
}
