/* train_resume: a run stopped in the middle of epochs and resumed ends with
 * the same bytes in every parameter, moment and table as one that ran
 * through (memcmp); two_stage leaves the teacher untouched in the student
 * stage; a non-finite loss stops the run naming step and term and writes
 * nothing; resuming checks the configuration and run_load the schema. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/synth.h"
#include "suites.h"
#include "testutil.h"
#include "train/checkpoint.h"
#include "trainer_fixture.h"

/* Every array a checkpoint holds, compared byte for byte. */
int tf_same_arrays(const char *a_path, const char *b_path, const run_handle *shape)
{
    ckpt_reader *a = NULL, *b = NULL;
    if (ckpt_reader_open(&a, a_path) != DMMP_OK || ckpt_reader_open(&b, b_path) != DMMP_OK) {
        printf("\n    %s\n", dmmp_errmsg());
        ckpt_reader_close(a);
        return 0;
    }
    int same = 1;
    size_t n = shape->model.params.total;
    float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
    int64_t dn = (int64_t)n;
    const char *dense[] = {"model/params", "optim/adam_m", "optim/adam_v"};
    for (int i = 0; i < 3; i++) {
        same &= ckpt_get_f32(a, dense[i], x, 1, &dn) == DMMP_OK && ckpt_get_f32(b, dense[i], y, 1, &dn) == DMMP_OK;
        if (same && memcmp(x, y, n * sizeof(float))) {
            printf("\n    %s differs", dense[i]);
            same = 0;
        }
    }
    free(x);
    free(y);
    for (int t = 0; same && t < shape->feat.n_tables; t++) {
        const feature_table *ft = &shape->feat.tables[t];
        size_t m = (size_t)ft->emb.rows * (size_t)ft->emb.dim;
        int64_t dims[2] = {ft->emb.rows, ft->emb.dim};
        char key[160];
        const char *what[] = {"weight", "adam_m", "adam_v"};
        x = malloc(m * sizeof(float));
        y = malloc(m * sizeof(float));
        for (int w = 0; w < 3 && same; w++) {
            snprintf(key, sizeof key, "features/%s/%s", ft->emb.name, what[w]);
            same &= ckpt_get_f32(a, key, x, 2, dims) == DMMP_OK && ckpt_get_f32(b, key, y, 2, dims) == DMMP_OK;
            if (same && memcmp(x, y, m * sizeof(float))) {
                printf("\n    %s differs", key);
                same = 0;
            }
        }
        free(x);
        free(y);
    }
    ckpt_reader_close(a);
    ckpt_reader_close(b);
    return same;
}

static dmmp_status load_run(const char *dir, const char *which, run_handle *h)
{
    dataset *d = NULL;
    DMMP_TRY(dataset_open(&d, tf_dataset()));
    dmmp_status s = run_load(dir, which, d, h);
    dataset_close(d);
    return s;
}

/* dmmp, two_stage (1 teacher epoch, 2 student epochs), dwa weighting: the
 * run is stopped in the middle of epoch 1 and of epoch 3 and resumed. */
static void test_resume_bit_for_bit(void)
{
    if (!tf_dataset()) return;
    dmmp_config c;
    tf_config(&c, CONFIG_MODEL_DMMP);
    c.train.schedule = CONFIG_SCHEDULE_TWO_STAGE;
    c.train.teacher_epochs = 1;
    c.train.epochs = 2;
    c.weighting.kind = CONFIG_WEIGHTING_DWA;
    char whole[700], parts[700], a[800], b[800];
    tf_run_dir(whole, sizeof whole, "whole");
    tf_run_dir(parts, sizeof parts, "parts");
    trainer_summary sw, sp;
    dmmp_status s = tf_train(&c, whole, 0, 0, &sw);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    if (s != DMMP_OK) return;
    int64_t per_epoch = sw.steps / 3;
    CU_ASSERT_EQUAL(sw.epochs_done, 3);
    s = tf_train(&c, parts, 0, per_epoch / 2, &sp);
    CU_ASSERT_EQUAL(s, DMMP_EINTERRUPTED);
    CU_ASSERT(sp.interrupted && sp.steps == per_epoch / 2 && sp.epochs_done == 0);
    run_handle h1, h2;
    memset(&h1, 0, sizeof h1);
    memset(&h2, 0, sizeof h2);
    s = load_run(parts, "last", &h1); /* the teacher during its stage */
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    s = tf_train(&c, parts, 1, 2 * per_epoch + per_epoch / 3, &sp);
    CU_ASSERT_EQUAL(s, DMMP_EINTERRUPTED);
    CU_ASSERT(sp.epochs_done == 2);
    s = load_run(parts, "last", &h2); /* in the middle of the student stage */
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    s = tf_train(&c, parts, 1, 0, &sp);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    CU_ASSERT_EQUAL(sp.steps, sw.steps);
    CU_ASSERT_EQUAL(sp.epochs_done, 3);
    snprintf(a, sizeof a, "%s/last.h5", whole);
    snprintf(b, sizeof b, "%s/last.h5", parts);
    if (h1.model.ctx) TU_ASSERT_MSG(tf_same_arrays(a, b, &h1), "stopped twice and resumed: the final state differs");

    /* The teacher is frozen in the student stage: its parameters and tables
     * are the same mid-stage and at the end, and not what they were while
     * it trained. */
    run_handle hf;
    memset(&hf, 0, sizeof hf);
    s = load_run(parts, "last", &hf);
    if (s == DMMP_OK && h1.model.ctx && h2.model.ctx) {
        size_t te = (size_t)(hf.model.user_tower.layers[0].W - hf.model.params.values);
        CU_ASSERT(te > 0);
        CU_ASSERT(memcmp(h2.model.params.values, hf.model.params.values, te * sizeof(float)) == 0);
        CU_ASSERT(memcmp(h1.model.params.values, hf.model.params.values, te * sizeof(float)) != 0);
        CU_ASSERT(memcmp(h2.model.params.values + te, hf.model.params.values + te,
                         (hf.model.params.total - te) * sizeof(float)) != 0);
        int teacher_tables = 0;
        for (int t = 0; t < hf.feat.n_tables; t++) {
            const feature_table *ft = &hf.feat.tables[t];
            if (ft->view != VIEW_TEACHER) continue;
            teacher_tables++;
            size_t bytes = (size_t)ft->emb.rows * (size_t)ft->emb.dim * sizeof(float);
            CU_ASSERT(memcmp(h2.feat.tables[t].emb.weight, ft->emb.weight, bytes) == 0);
        }
        CU_ASSERT(teacher_tables > 0);
    }
    run_close(&h1);
    run_close(&h2);
    run_close(&hf);
    tf_remove_dir(whole);
    tf_remove_dir(parts);
}

static int file_bytes(const char *path, char **out, long *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc((size_t)*len + 1);
    size_t got = fread(*out, 1, (size_t)*len, f);
    fclose(f);
    return got == (size_t)*len;
}

/* Overwrites n floats of dataset name in the HDF5 file at path from offset with NaN. */
static int poison(const char *path, const char *name, hsize_t offset, hsize_t n)
{
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t ds = file >= 0 ? H5Dopen2(file, name, H5P_DEFAULT) : -1;
    int ok = ds >= 0;
    if (ok) {
        hid_t space = H5Dget_space(ds);
        int rank = H5Sget_simple_extent_ndims(space);
        hsize_t dims[2] = {0, 0}, start[2] = {0, 0}, count[2] = {1, 1};
        H5Sget_simple_extent_dims(space, dims, NULL);
        if (rank == 1) start[0] = offset, count[0] = n;
        else start[0] = 0, count[0] = dims[0], count[1] = dims[1], n = dims[0] * dims[1];
        float *nan = malloc(n * sizeof(float));
        for (hsize_t i = 0; i < n; i++) nan[i] = NAN;
        hid_t mem = H5Screate_simple(1, &n, NULL);
        ok = H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
             H5Dwrite(ds, H5T_NATIVE_FLOAT, mem, space, H5P_DEFAULT, nan) >= 0;
        free(nan);
        H5Sclose(mem);
        H5Sclose(space);
        H5Dclose(ds);
    }
    if (file >= 0) H5Fclose(file);
    return ok;
}

/* Stops a teacher_only run after 5 steps, poisons last.h5, resumes: the run
 * stops with ENUMERIC naming the step (and the term when the loss itself is
 * NaN), and last.h5 keeps its bytes. what = 0: the CTR tower's output bias
 * (the loss teacher_ctr is NaN at once); 1: a whole embedding table (ReLU
 * may hide it from the loss; the gradient check then catches it). */
static void poisoned_run(int what)
{
    if (!tf_dataset()) return;
    dmmp_config c;
    tf_config(&c, CONFIG_MODEL_TEACHER_ONLY);
    char dir[700], path[800];
    tf_run_dir(dir, sizeof dir, what ? "poison_table" : "poison_bias");
    CU_ASSERT_EQUAL(tf_train(&c, dir, 0, 5, NULL), DMMP_EINTERRUPTED);
    snprintf(path, sizeof path, "%s/last.h5", dir);
    run_handle h;
    memset(&h, 0, sizeof h);
    dmmp_status s = load_run(dir, "last", &h);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    if (s != DMMP_OK) return;
    const mlp *tower = &h.model.teacher.tower[0];
    hsize_t bias_off = (hsize_t)(tower->layers[tower->n_layers - 1].b - h.model.params.values);
    char table[160];
    snprintf(table, sizeof table, "features/%s/weight", h.feat.tables[0].emb.name);
    run_close(&h);
    CU_ASSERT_FATAL(what ? poison(path, table, 0, 0) : poison(path, "model/params", bias_off, 1));
    char *before = NULL, *after = NULL;
    long nb = 0, na = 0;
    CU_ASSERT_FATAL(file_bytes(path, &before, &nb));
    s = tf_train(&c, dir, 1, 0, NULL);
    CU_ASSERT_EQUAL(s, DMMP_ENUMERIC);
    const char *msg = dmmp_errmsg();
    printf("\n    %s: %s", what ? "table" : "bias", msg);
    CU_ASSERT(strstr(msg, "step ") != NULL && strstr(msg, "batch ") != NULL);
    if (!what) CU_ASSERT(strstr(msg, "step 5") != NULL && strstr(msg, "teacher_ctr") != NULL);
    CU_ASSERT(file_bytes(path, &after, &na) && na == nb && memcmp(before, after, (size_t)nb) == 0);
    free(before);
    free(after);
    tf_remove_dir(dir);
}

static void test_poisoned_bias(void) { poisoned_run(0); }
static void test_poisoned_table(void) { poisoned_run(1); }

static void test_resume_checks(void)
{
    if (!tf_dataset()) return;
    dmmp_config c;
    tf_config(&c, CONFIG_MODEL_TWO_TOWER);
    char dir[700];
    tf_run_dir(dir, sizeof dir, "checks");
    /* an absurd learning rate never reaches training */
    dmmp_config absurd = c;
    CU_ASSERT_EQUAL(config_set(&absurd, "train.learning_rate=1e30", "--set"), DMMP_EINVAL);
    /* resume with nothing to resume */
    CU_ASSERT_EQUAL(tf_train(&c, dir, 1, 0, NULL), DMMP_EINVAL);
    CU_ASSERT(strstr(dmmp_errmsg(), "last.h5") != NULL);
    CU_ASSERT_EQUAL(tf_train(&c, dir, 0, 3, NULL), DMMP_EINTERRUPTED);
    /* a fresh run does not overwrite a run */
    CU_ASSERT_EQUAL(tf_train(&c, dir, 0, 0, NULL), DMMP_EINVAL);
    CU_ASSERT(strstr(dmmp_errmsg(), "--resume") != NULL);
    /* another configuration: every differing key is named */
    dmmp_config other = c;
    other.train.learning_rate = 0.5;
    other.student.l2norm = 1;
    other.train.epochs = 1; /* may change */
    CU_ASSERT_EQUAL(tf_train(&other, dir, 1, 0, NULL), DMMP_EINVAL);
    printf("\n    %s", dmmp_errmsg());
    CU_ASSERT(strstr(dmmp_errmsg(), "train.learning_rate") != NULL);
    CU_ASSERT(strstr(dmmp_errmsg(), "student.l2norm") != NULL);
    CU_ASSERT(strstr(dmmp_errmsg(), "train.epochs") == NULL);

    /* run_load on a dataset with other vocabularies names the field */
    char path[800];
    snprintf(path, sizeof path, "%s/other.h5", dir);
    synth_config sc;
    synth_config_default(&sc);
    sc.n_users = 300;
    sc.n_items = 200;
    sc.n_impressions = 3000;
    dataset *d = NULL;
    dmmp_status s = synth_generate(&sc, path, NULL);
    if (s == DMMP_OK) s = dataset_open(&d, path);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    run_handle h;
    s = run_load(dir, "last", d, &h);
    CU_ASSERT_EQUAL(s, DMMP_EFORMAT);
    printf("\n    %s", dmmp_errmsg());
    CU_ASSERT(strstr(dmmp_errmsg(), "vocabulary size") != NULL);
    CU_ASSERT_EQUAL(run_load(dir, "best", d, &h), DMMP_EINVAL);
    dataset_close(d);
    tf_remove_dir(dir);
}

int register_trainer_resume_suites(void)
{
    static const char *const names[] = {"stopped twice, resumed: same bytes; two_stage freezes the teacher",
                                        "poisoned output bias: stops naming step, batch and term; last.h5 intact",
                                        "poisoned embedding table: stops naming step and batch; last.h5 intact",
                                        "resume and run_load check config, directory and schema"};
    static const CU_TestFunc tests[] = {test_resume_bit_for_bit, test_poisoned_bias, test_poisoned_table,
                                        test_resume_checks};
    return tu_add_suite("train_resume", names, tests, 4);
}
