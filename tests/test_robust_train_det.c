/* robust_train_determinism: dmmp train twice with the same seed and thread
 * count gives the same last.h5 arrays (parameters, optimiser moments, loss
 * weights, positions) and the same recorded losses and validation metrics,
 * bit for bit. Another seed must change them, so the comparison can fail.
 *
 * Nor does the thread count change them: the matmuls cut their rows into
 * tiles whose height depends on the shape alone and run each tile on one
 * thread (nn/dnnl_matmul.h), and every reduction of the framework's own
 * kernels adds in a fixed order. So 1 and 2 threads must give the same
 * arrays bit for bit, the recorded configuration (which names the thread
 * count) aside. Before the tiles, oneDNN's AVX2 gemm (ONEDNN_MAX_CPU_ISA=AVX2)
 * split its work by thread count and 42 of the 123 arrays differed by up to
 * 1.2e-7.
 */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_robust.h"
#include "testutil.h"
#include "train/results.h"

#define MAX_ARRAYS 512

typedef struct h5_arrays {
    int n;
    char name[MAX_ARRAYS][160];
    int is_f32[MAX_ARRAYS];
    size_t bytes[MAX_ARRAYS];
    unsigned char *data[MAX_ARRAYS];
} h5_arrays;

/* H5Lvisit callback: reads every fixed-size dataset as stored (no type
 * conversion), so equal buffers mean equal bits in the file. */
static herr_t collect_dataset(hid_t group, const char *name, const H5L_info_t *info, void *op_data)
{
    (void)info;
    h5_arrays *a = op_data;
    hid_t obj = H5Oopen(group, name, H5P_DEFAULT);
    if (obj < 0) return -1;
    int is_dataset = H5Iget_type(obj) == H5I_DATASET;
    H5Oclose(obj);
    if (!is_dataset) return 0;
    if (a->n >= MAX_ARRAYS) return -1;
    hid_t d = H5Dopen2(group, name, H5P_DEFAULT);
    hid_t type = H5Dget_type(d), space = H5Dget_space(d);
    herr_t rc = 0;
    H5T_class_t cls = H5Tget_class(type);
    if (cls != H5T_VLEN && !(cls == H5T_STRING && H5Tis_variable_str(type) > 0)) {
        hssize_t count = H5Sget_simple_extent_npoints(space);
        size_t bytes = (size_t)(count > 0 ? count : 0) * H5Tget_size(type);
        unsigned char *buf = malloc(bytes ? bytes : 1);
        if (!buf || (bytes && H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)) {
            free(buf);
            rc = -1;
        } else {
            snprintf(a->name[a->n], sizeof a->name[a->n], "%s", name);
            a->is_f32[a->n] = cls == H5T_FLOAT && H5Tget_size(type) == 4;
            a->bytes[a->n] = bytes;
            a->data[a->n++] = buf;
        }
    }
    H5Sclose(space);
    H5Tclose(type);
    H5Dclose(d);
    return rc;
}

static int load_arrays(const char *path, h5_arrays *a)
{
    memset(a, 0, sizeof *a);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return 0;
    herr_t rc = H5Lvisit(f, H5_INDEX_NAME, H5_ITER_INC, collect_dataset, a);
    H5Fclose(f);
    return rc >= 0 && a->n > 0;
}

static void free_arrays(h5_arrays *a)
{
    for (int i = 0; i < a->n; i++) free(a->data[i]);
}

typedef struct array_diff {
    int arrays, differ, float_differ;
    double max_abs; /* over float32 arrays of the same size */
    char worst[160];
    char first[160]; /* the first array that differs */
} array_diff;

static array_diff compare_arrays(const h5_arrays *x, const h5_arrays *y)
{
    array_diff r = {x->n, 0, 0, 0, "", ""};
    if (x->n != y->n) r.differ = x->n > y->n ? x->n : y->n;
    for (int i = 0; i < x->n && i < y->n; i++) {
        int same = !strcmp(x->name[i], y->name[i]) && x->bytes[i] == y->bytes[i] &&
                   memcmp(x->data[i], y->data[i], x->bytes[i]) == 0;
        if (same) continue;
        if (!r.differ++) snprintf(r.first, sizeof r.first, "%s", x->name[i]);
        if (!x->is_f32[i] || strcmp(x->name[i], y->name[i]) || x->bytes[i] != y->bytes[i]) continue;
        r.float_differ++;
        const float *p = (const float *)x->data[i], *q = (const float *)y->data[i];
        for (size_t k = 0; k < x->bytes[i] / 4; k++) {
            double dlt = fabs((double)p[k] - (double)q[k]);
            if (dlt > r.max_abs) {
                r.max_abs = dlt;
                snprintf(r.worst, sizeof r.worst, "%s", x->name[i]);
            }
        }
    }
    return r;
}

/* Number of loss/ and val/ series of the two records whose values differ in
 * any bit (timings and memory excluded: they are measurements). -1 when a
 * record cannot be read or the series do not match by name. */
static int differing_series(const char *run_a, const char *run_b, double *auc_a, double *auc_b)
{
    char pa[700], pb[700];
    snprintf(pa, sizeof pa, "%s/results.h5", run_a);
    snprintf(pb, sizeof pb, "%s/results.h5", run_b);
    run_results a, b;
    if (results_load(&a, pa) != DMMP_OK) return -1;
    if (results_load(&b, pb) != DMMP_OK) {
        results_free(&a);
        return -1;
    }
    int differ = a.n_series == b.n_series ? 0 : -1, compared = 0;
    for (size_t i = 0; i < a.n_series && differ >= 0; i++) {
        const results_series *s = &a.series[i], *t = results_series_find(&b, s->name);
        if (strncmp(s->name, "loss/", 5) && strncmp(s->name, "val/", 4) && strncmp(s->name, "weight/", 7)) continue;
        if (!t || t->n != s->n) {
            differ = -1;
            break;
        }
        compared++;
        differ += memcmp(s->values, t->values, s->n * sizeof(double)) != 0;
    }
    const results_series *ua = results_series_find(&a, "val/auc_ctr"), *ub = results_series_find(&b, "val/auc_ctr");
    *auc_a = ua && ua->n ? ua->values[ua->n - 1] : NAN;
    *auc_b = ub && ub->n ? ub->values[ub->n - 1] : NAN;
    results_free(&a);
    results_free(&b);
    return compared > 0 ? differ : -1;
}

static int train(const char *ini, const char *data, const char *run, const char *seed, const char *threads)
{
    char out[8192];
    const char *args[] = {"train", "--config", ini, "--data", data, "--out", run, "--seed", seed,
                          "--threads", threads, NULL};
    return robust_expect_exit(args, 0, 0, NULL, out, sizeof out);
}

static void test_train_bits(void)
{
    if (!robust_dmmp()) {
        tu_skip("training determinism", "the dmmp command is not built (set DMMP_BUILDDIR)");
        return;
    }
    char dir[512], data[600], ini[600], run[4][700], last[4][720];
    CU_ASSERT_FATAL(robust_e2e_fixture(dir, sizeof dir, data, ini, sizeof data) && robust_tiny_ini(ini, 2));
    const char *seeds[4] = {"5", "5", "6", "5"}, *threads[4] = {"1", "1", "1", "2"};
    for (int i = 0; i < 4; i++) {
        snprintf(run[i], sizeof run[i], "%s/run%d", dir, i);
        snprintf(last[i], sizeof last[i], "%.600s/last.h5", run[i]);
        CU_ASSERT_FATAL(train(ini, data, run[i], seeds[i], threads[i]));
    }
    h5_arrays *a = calloc(4, sizeof *a); /* 4 x ~100 KiB: not for the stack */
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    for (int i = 0; i < 4; i++) CU_ASSERT_FATAL(load_arrays(last[i], &a[i]));

    array_diff same = compare_arrays(&a[0], &a[1]);
    TU_ASSERT_MSG(same.differ == 0, "same seed and threads: %d of %d arrays of last.h5 differ (max |d| %g in %s)",
                  same.differ, same.arrays, same.max_abs, same.worst);
    CU_ASSERT(same.arrays >= 10); /* the parameters, the moments, the state: not an empty file */
    double auc[4][2];
    CU_ASSERT_EQUAL(differing_series(run[0], run[1], &auc[0][0], &auc[0][1]), 0);
    CU_ASSERT_EQUAL(memcmp(&auc[0][0], &auc[0][1], sizeof(double)), 0);

    /* The record carries the resident memory of every epoch (a measurement,
     * not compared): a positive number of MiB, less than the machine has. */
    char rec[720];
    snprintf(rec, sizeof rec, "%.600s/results.h5", run[0]);
    run_results r;
    CU_ASSERT_FATAL(results_load(&r, rec) == DMMP_OK);
    const results_series *rss = results_series_find(&r, "rss_mb");
    TU_ASSERT_MSG(rss && rss->n == 2 && rss->values[0] > 1 && rss->values[1] < 1e6, "rss_mb series missing or absurd");
    results_free(&r);

    array_diff seed = compare_arrays(&a[0], &a[2]);
    TU_ASSERT_MSG(seed.float_differ >= 5, "another seed changed only %d arrays", seed.float_differ);
    CU_ASSERT(differing_series(run[0], run[2], &auc[1][0], &auc[1][1]) > 0);

    array_diff thr = compare_arrays(&a[0], &a[3]);
    int series = differing_series(run[0], run[3], &auc[2][0], &auc[2][1]);
    TU_ASSERT_MSG(thr.differ == 1 && !strcmp(thr.first, "config"),
                  "1 vs 2 threads: %d of %d last.h5 arrays differ (first %s; %d float, max |diff| %.3g in %s)",
                  thr.differ, thr.arrays, thr.first[0] ? thr.first : "-", thr.float_differ, thr.max_abs,
                  thr.worst[0] ? thr.worst : "-");
    TU_ASSERT_MSG(series == 0, "1 vs 2 threads: %d loss/val/weight series differ", series);
    CU_ASSERT_EQUAL(memcmp(&auc[2][0], &auc[2][1], sizeof(double)), 0);
    for (int i = 0; i < 4; i++) free_arrays(&a[i]);
    free(a);
}

int register_robust_train_determinism_suites(void)
{
    static const char *const names[] = {
        "dmmp train: same seed -> bit-identical last.h5 and record with 1 or 2 threads; another seed differs",
    };
    static const CU_TestFunc tests[] = {test_train_bits};
    return tu_add_suite("robust_train_determinism", names, tests, sizeof tests / sizeof tests[0]);
}
