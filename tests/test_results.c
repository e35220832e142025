/* The run record: every field survives save and load, the layout is the one
 * results.h documents (checked with plain HDF5 calls, not our loader), a
 * failed save keeps the previous file, and every malformed file is named. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "results_fixture.h"
#include "suites.h"
#include "testutil.h"
#include "train/results.h"

#define ASSERT_HAS(text, part) TU_ASSERT_MSG(strstr((text), (part)) != NULL, "'%s' lacks '%s'", (text), (part))

static const char *const k_config = "[model]\nkind = dmmp\n\n[train]\nepochs = 3\nseed = 7\n";

/* A run using every field: nested series names, two splits, odd values. */
static void fill_full_run(run_results *r)
{
    CU_ASSERT_EQUAL_FATAL(results_init(r), DMMP_OK);
    CU_ASSERT_EQUAL(results_set_meta(r, "variant", "dmmp"), DMMP_OK);
    CU_ASSERT_EQUAL(results_set_meta(r, "model_kind", "dmmp"), DMMP_OK);
    CU_ASSERT_EQUAL(results_set_meta(r, "git_commit", "0123abcd"), DMMP_OK);
    CU_ASSERT_EQUAL(results_set_meta(r, "created_with", "dmmp 9.9.9"), DMMP_OK);
    CU_ASSERT_EQUAL(results_set_meta(r, "dataset_path", "/data/ali-ccp/ali_ccp.h5"), DMMP_OK);
    CU_ASSERT_EQUAL(results_set_meta(r, "dataset_name", "ali_ccp"), DMMP_OK);
    CU_ASSERT_EQUAL(results_set_meta(r, "config_ini", k_config), DMMP_OK);
    r->seed = -42;
    const char *series[] = {"loss/teacher_ctr", "loss/kd_ctr", "weight/kd_ctr", "val/auc_ctr", "wall_time_s",
                            "samples_per_s"};
    for (int e = 0; e < 3; e++)
        for (size_t s = 0; s < sizeof series / sizeof series[0]; s++)
            CU_ASSERT_EQUAL(results_series_append(r, series[s], 0.1 * (double)s + 1e-7 * e + (e == 2 ? NAN : 0)),
                            DMMP_OK);
    CU_ASSERT_EQUAL(results_set_progress(r, 3, 12345), DMMP_OK);
    CU_ASSERT_EQUAL(results_set_metric(r, "test", "auc_ctr", 0.7312), DMMP_OK);
    CU_ASSERT_EQUAL(results_set_metric(r, "test", "click_recall@100", 0.25), DMMP_OK);
    CU_ASSERT_EQUAL(results_set_metric(r, "val", "auc_ctr", 0.7401), DMMP_OK);
    CU_ASSERT_EQUAL(results_set_metric(r, "test", "auc_ctr", 0.7313), DMMP_OK); /* overwrite */
}

static int same_double(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

static void test_round_trip(void)
{
    char dir[256], path[512];
    tu_tmpdir(dir, sizeof dir);
    CU_ASSERT_FATAL(dir[0] != '\0');
    snprintf(path, sizeof path, "%s/results.h5", dir);
    run_results a, b;
    fill_full_run(&a);
    CU_ASSERT_EQUAL_FATAL(results_save(&a, path), DMMP_OK);
    CU_ASSERT_EQUAL(fx_count_entries(dir), 1); /* no temporary left behind */
    dmmp_status s = results_load(&b, path);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    if (s == DMMP_OK) {
        CU_ASSERT_STRING_EQUAL(b.variant, "dmmp");
        CU_ASSERT_STRING_EQUAL(b.model_kind, "dmmp");
        CU_ASSERT_STRING_EQUAL(b.git_commit, "0123abcd");
        CU_ASSERT_STRING_EQUAL(b.created_with, "dmmp 9.9.9");
        CU_ASSERT_STRING_EQUAL(b.dataset_path, "/data/ali-ccp/ali_ccp.h5");
        CU_ASSERT_STRING_EQUAL(b.dataset_name, "ali_ccp");
        CU_ASSERT_STRING_EQUAL(b.config_ini, k_config);
        CU_ASSERT_EQUAL(b.seed, -42);
        CU_ASSERT_EQUAL(b.epochs, 3);
        CU_ASSERT_EQUAL(b.steps, 12345);
        CU_ASSERT_EQUAL_FATAL(b.n_series, a.n_series);
        for (size_t i = 0; i < a.n_series; i++) {
            /* Recorded order is kept, so plots list terms as the trainer did. */
            CU_ASSERT_STRING_EQUAL(b.series[i].name, a.series[i].name);
            CU_ASSERT_EQUAL_FATAL(b.series[i].n, 3);
            for (size_t e = 0; e < 3; e++) CU_ASSERT(same_double(b.series[i].values[e], a.series[i].values[e]));
        }
        CU_ASSERT_EQUAL(b.n_metrics, 3);
        double v = 0;
        CU_ASSERT(results_get_metric(&b, "test", "auc_ctr", &v) && v == 0.7313);
        CU_ASSERT(results_get_metric(&b, "test", "click_recall@100", &v) && v == 0.25);
        CU_ASSERT(results_get_metric(&b, "val", "auc_ctr", &v) && v == 0.7401);
        CU_ASSERT(!results_get_metric(&b, "val", "click_recall@100", &v));
        CU_ASSERT_PTR_NULL(results_series_find(&b, "loss"));
        results_free(&b);
    }
    results_free(&a);
    fx_rm_rf(dir);
}

/* The layout read back with HDF5 alone: what h5ls -r and h5dump will show. */
static void test_layout_is_self_describing(void)
{
    char dir[256], path[512];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/results.h5", dir);
    run_results a;
    fill_full_run(&a);
    CU_ASSERT_EQUAL_FATAL(results_save(&a, path), DMMP_OK);
    results_free(&a);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    const char *links[] = {"/config", "/train", "/train/loss", "/train/loss/kd_ctr", "/train/weight/kd_ctr",
                           "/train/wall_time_s", "/eval", "/eval/test", "/eval/test/click_recall@100",
                           "/eval/val/auc_ctr"};
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        TU_ASSERT_MSG(H5Lexists(f, links[i], H5P_DEFAULT) > 0, "%s missing", links[i]);
    const char *attrs[] = {"format_version", "variant", "seed", "model_kind", "git_commit", "created_with",
                           "dataset_path", "dataset_name"};
    for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++)
        TU_ASSERT_MSG(H5Aexists(f, attrs[i]) > 0, "attribute %s missing", attrs[i]);
    double v = 0;
    hid_t d = H5Dopen2(f, "/eval/test/click_recall@100", H5P_DEFAULT);
    CU_ASSERT(d >= 0 && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) >= 0 && v == 0.25);
    if (d >= 0) H5Dclose(d);
    double series[3] = {0};
    d = H5Dopen2(f, "/train/loss/kd_ctr", H5P_DEFAULT);
    CU_ASSERT(d >= 0 && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, series) >= 0);
    CU_ASSERT(series[0] == 0.1 && series[1] == 0.1 + 1e-7 && isnan(series[2]));
    if (d >= 0) H5Dclose(d);
    H5Fclose(f);
    fx_rm_rf(dir);
}

static void save_value(const char *path, double value, dmmp_status expect)
{
    run_results r;
    CU_ASSERT_EQUAL_FATAL(results_init(&r), DMMP_OK);
    CU_ASSERT_EQUAL(results_set_meta(&r, "variant", "two_tower"), DMMP_OK);
    CU_ASSERT_EQUAL(results_set_metric(&r, "test", "auc_ctr", value), DMMP_OK);
    dmmp_status s = results_save(&r, path);
    TU_ASSERT_MSG(s == expect, "save returned %d (%s), expected %d", (int)s, dmmp_errmsg(), (int)expect);
    results_free(&r);
}

static double load_value(const char *path)
{
    run_results r;
    double v = NAN;
    if (results_load(&r, path) != DMMP_OK) return NAN;
    results_get_metric(&r, "test", "auc_ctr", &v);
    results_free(&r);
    return v;
}

static void test_failed_save_keeps_previous(void)
{
    char dir[256], path[512], tmp[600], missing[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/results.h5", dir);
    save_value(path, 0.5, DMMP_OK);
    CU_ASSERT_EQUAL(load_value(path), 0.5);

    /* A dead writer's temporary (pid 2^22 + 1: above the largest pid Linux
     * can hand out) is removed by the next save. */
    snprintf(tmp, sizeof tmp, "%s/.results.h5.tmp-4194305-0", dir);
    FILE *stale = fopen(tmp, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(stale);
    fclose(stale);
    save_value(path, 0.6, DMMP_OK);
    CU_ASSERT(!fx_exists(tmp));
    CU_ASSERT_EQUAL(load_value(path), 0.6);
    CU_ASSERT_EQUAL(fx_count_entries(dir), 1);

    /* The rename fails (the final name is a non-empty directory): the whole
     * file was written, and the temporary must still be removed. */
    char blocked[600], inner[700];
    snprintf(blocked, sizeof blocked, "%s/blocked.h5", dir);
    snprintf(inner, sizeof inner, "%s/keep", blocked);
    CU_ASSERT_EQUAL_FATAL(mkdir(blocked, 0755), 0);
    CU_ASSERT_EQUAL_FATAL(mkdir(inner, 0755), 0);
    save_value(blocked, 0.9, DMMP_EIO);
    ASSERT_HAS(dmmp_errmsg(), "rename");
    CU_ASSERT_EQUAL(fx_count_entries(dir), 2); /* results.h5 and blocked.h5 only */

    snprintf(missing, sizeof missing, "%s/no/such/dir/results.h5", dir);
    save_value(missing, 0.9, DMMP_EIO);
    ASSERT_HAS(dmmp_errmsg(), "no/such/dir");
    ASSERT_HAS(dmmp_errmsg(), "temporary");
    CU_ASSERT(!fx_exists(missing));

    save_value(path, 0.75, DMMP_OK); /* a good save replaces the file */
    CU_ASSERT_EQUAL(load_value(path), 0.75);
    fx_rm_rf(dir);
}

static void test_short_series_refused(void)
{
    char dir[256], path[512];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/results.h5", dir);
    run_results r;
    CU_ASSERT_EQUAL_FATAL(results_init(&r), DMMP_OK);
    CU_ASSERT_EQUAL(results_series_append(&r, "loss/student_ctr", 0.5), DMMP_OK);
    CU_ASSERT_EQUAL(results_series_append(&r, "loss/student_ctr", 0.4), DMMP_OK);
    CU_ASSERT_EQUAL(results_series_append(&r, "loss/kd_ctr", 0.3), DMMP_OK);
    CU_ASSERT_EQUAL(results_set_progress(&r, 2, 10), DMMP_OK);
    CU_ASSERT_EQUAL(results_save(&r, path), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "loss/kd_ctr");
    ASSERT_HAS(dmmp_errmsg(), "1 values");
    CU_ASSERT(!fx_exists(path));
    CU_ASSERT_EQUAL(fx_count_entries(dir), 0);
    CU_ASSERT_EQUAL(results_set_progress(&r, -1, 0), DMMP_EINVAL);
    results_free(&r);
    fx_rm_rf(dir);
}

static void test_bad_names_and_meta(void)
{
    run_results r;
    CU_ASSERT_EQUAL_FATAL(results_init(&r), DMMP_OK);
    CU_ASSERT_STRING_EQUAL(r.git_commit, "unknown");
    ASSERT_HAS(r.created_with, "dmmp ");
    const char *bad_series[] = {"", "/loss", "loss/", "a//b", "x y", "a,b", "loss/./x", "..", "t\tab"};
    for (size_t i = 0; i < sizeof bad_series / sizeof bad_series[0]; i++)
        TU_ASSERT_MSG(results_series_append(&r, bad_series[i], 1.0) == DMMP_EINVAL, "series '%s' accepted",
                      bad_series[i]);
    char long_name[RESULTS_NAME_MAX + 2];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    CU_ASSERT_EQUAL(results_series_append(&r, long_name, 1.0), DMMP_EINVAL);
    long_name[RESULTS_NAME_MAX] = '\0';
    CU_ASSERT_EQUAL(results_series_append(&r, long_name, 1.0), DMMP_OK);
    CU_ASSERT_EQUAL(results_series_append(&r, "loss/kd_ctr", 1.0), DMMP_OK);
    CU_ASSERT_EQUAL(results_series_append(&r, "loss", 1.0), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "clashes");
    CU_ASSERT_EQUAL(results_series_append(&r, "loss/kd_ctr/x", 1.0), DMMP_EINVAL);
    CU_ASSERT_EQUAL(results_series_append(&r, "loss/kd", 1.0), DMMP_OK); /* a prefix, not a group */
    CU_ASSERT_EQUAL(results_set_metric(&r, "test", "recall/100", 1.0), DMMP_EINVAL);
    CU_ASSERT_EQUAL(results_set_metric(&r, "te st", "auc_ctr", 1.0), DMMP_EINVAL);
    CU_ASSERT_EQUAL(results_set_meta(&r, "colour", "red"), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "colour");
    char long_value[RESULTS_NAME_MAX + 2];
    memset(long_value, 'v', sizeof long_value - 1);
    long_value[sizeof long_value - 1] = '\0';
    CU_ASSERT_EQUAL(results_set_meta(&r, "variant", long_value), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "variant");
    CU_ASSERT_STRING_EQUAL(r.variant, ""); /* unchanged */
    results_free(&r);
}

/* Saves a good file, then damages it with plain HDF5 calls. */
typedef enum { DAMAGE_NO_EVAL, DAMAGE_NO_TRAIN, DAMAGE_NO_CONFIG, DAMAGE_NO_VERSION, DAMAGE_VERSION_99,
               DAMAGE_NO_VARIANT, DAMAGE_NO_EPOCHS } damage;

static void damage_file(const char *path, damage how)
{
    run_results r;
    fill_full_run(&r);
    CU_ASSERT_EQUAL_FATAL(results_save(&r, path), DMMP_OK);
    results_free(&r);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    herr_t rc = 0;
    switch (how) {
    case DAMAGE_NO_EVAL: rc = H5Ldelete(f, "eval", H5P_DEFAULT); break;
    case DAMAGE_NO_TRAIN: rc = H5Ldelete(f, "train", H5P_DEFAULT); break;
    case DAMAGE_NO_CONFIG: rc = H5Ldelete(f, "config", H5P_DEFAULT); break;
    case DAMAGE_NO_VERSION: rc = H5Adelete(f, "format_version"); break;
    case DAMAGE_NO_VARIANT: rc = H5Adelete(f, "variant"); break;
    case DAMAGE_NO_EPOCHS: rc = H5Adelete_by_name(f, "train", "epochs", H5P_DEFAULT); break;
    case DAMAGE_VERSION_99: {
        int64_t v = 99;
        hid_t a = H5Aopen(f, "format_version", H5P_DEFAULT);
        rc = a >= 0 ? H5Awrite(a, H5T_NATIVE_INT64, &v) : -1;
        if (a >= 0) H5Aclose(a);
        break;
    }
    }
    CU_ASSERT(rc >= 0);
    H5Fclose(f);
}

static void test_missing_parts_named(void)
{
    char dir[256], path[512];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/results.h5", dir);
    struct { damage how; const char *named; } cases[] = {
        {DAMAGE_NO_EVAL, "missing group /eval"},      {DAMAGE_NO_TRAIN, "missing group /train"},
        {DAMAGE_NO_CONFIG, "missing dataset /config"}, {DAMAGE_NO_VERSION, "'format_version'"},
        {DAMAGE_VERSION_99, "format_version 99"},      {DAMAGE_NO_VARIANT, "'variant'"},
        {DAMAGE_NO_EPOCHS, "'epochs' on /train"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        damage_file(path, cases[i].how);
        run_results r;
        dmmp_status s = results_load(&r, path);
        CU_ASSERT_EQUAL(s, DMMP_EFORMAT);
        ASSERT_HAS(dmmp_errmsg(), cases[i].named);
        ASSERT_HAS(dmmp_errmsg(), path);
        CU_ASSERT_EQUAL(r.n_series, 0); /* left empty */
        remove(path);
    }
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs("variant,auc_ctr\n", f);
    fclose(f);
    run_results r;
    CU_ASSERT_EQUAL(results_load(&r, path), DMMP_EFORMAT);
    ASSERT_HAS(dmmp_errmsg(), "not an HDF5 file");
    remove(path);
    CU_ASSERT_EQUAL(results_load(&r, path), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "results.h5");
    fx_rm_rf(dir);
}

static void put_string_attr(hid_t obj, const char *name, const char *value)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(value) + 1);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT(a >= 0 && H5Awrite(a, t, value) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
}

static void put_i64_attr(hid_t obj, const char *name, int64_t value)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT(a >= 0 && H5Awrite(a, H5T_NATIVE_INT64, &value) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
}

static void put_doubles(hid_t loc, const char *name, const double *v, hsize_t n, int scalar)
{
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t sp = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL);
    hid_t d = H5Dcreate2(loc, name, H5T_IEEE_F64LE, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT(d >= 0 && H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Dclose(d);
    H5Sclose(sp);
    H5Pclose(lcpl);
}

/* A file another tool (h5py, a script) wrote in the documented layout, with
 * default groups that do not track creation order: read in name order. */
static void test_foreign_writer(void)
{
    char dir[256], path[512];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/results.h5", dir);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    put_i64_attr(f, "format_version", 1);
    put_i64_attr(f, "seed", 3);
    const char *keys[] = {"variant", "model_kind", "git_commit", "created_with", "dataset_path", "dataset_name"};
    for (size_t i = 0; i < 6; i++) put_string_attr(f, keys[i], i == 0 ? "two_tower" : "x");
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, 8);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t d = H5Dcreate2(f, "config", t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT(d >= 0 && H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, "[a]\nb=1") >= 0);
    H5Dclose(d);
    H5Sclose(sp);
    H5Tclose(t);
    hid_t train = H5Gcreate2(f, "train", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    put_i64_attr(train, "epochs", 2);
    put_i64_attr(train, "steps", 5);
    const double zb[2] = {0.9, 0.8}, aa[2] = {0.5, 0.4}, auc = 0.71;
    put_doubles(train, "zeta_b", zb, 2, 0);
    put_doubles(train, "loss/alpha", aa, 2, 0);
    H5Gclose(train);
    put_doubles(f, "eval/test/auc_ctr", &auc, 1, 1);
    H5Fclose(f);

    run_results r;
    dmmp_status s = results_load(&r, path);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    if (s == DMMP_OK) {
        CU_ASSERT_STRING_EQUAL(r.variant, "two_tower");
        CU_ASSERT_STRING_EQUAL(r.config_ini, "[a]\nb=1");
        CU_ASSERT_EQUAL(r.seed, 3);
        CU_ASSERT_EQUAL_FATAL(r.n_series, 2);
        CU_ASSERT_STRING_EQUAL(r.series[0].name, "loss/alpha");
        CU_ASSERT_STRING_EQUAL(r.series[1].name, "zeta_b");
        CU_ASSERT(r.series[0].n == 2 && r.series[0].values[1] == 0.4);
        double v = 0;
        CU_ASSERT(results_get_metric(&r, "test", "auc_ctr", &v) && v == 0.71);
        results_free(&r);
    }
    fx_rm_rf(dir);
}

int register_results_suites(void)
{
    static const char *const names[] = {"round trip keeps every field",
                                        "layout readable with plain HDF5",
                                        "failed save keeps the previous file",
                                        "series shorter than the epochs refused",
                                        "bad names and meta refused",
                                        "missing groups and attributes named",
                                        "file from another writer (no creation order)"};
    static const CU_TestFunc tests[] = {test_round_trip,         test_layout_is_self_describing,
                                        test_failed_save_keeps_previous, test_short_series_refused,
                                        test_bad_names_and_meta, test_missing_parts_named,
                                        test_foreign_writer};
    return tu_add_suite("eval_results", names, tests, sizeof tests / sizeof tests[0]);
}
