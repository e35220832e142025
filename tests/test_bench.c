/* The benchmark's own arithmetic: the FLOP counter against hand counts for
 * tiny configurations, the Zipf sampler against its distribution, and the
 * figure summaries and HDF5 output against hand-computed values. No timing. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_flops.h"
#include "bench/bench_record.h"
#include "bench/bench_stats.h"
#include "bench/bench_teacher.h"
#include "bench/bench_train.h"
#include "bench/zipf.h"
#include "suites.h"
#include "testutil.h"

/* Teacher: 1 shared + 1 specific expert per task, experts 4,3, towers 2;
 * student: user tower 5,2, item towers 3,2, gate 2; inputs 6 / 4 / 3. */
static void tiny_config(dmmp_config *c, const char *kind_name, int levels)
{
    char kind[64], lv[64];
    config_defaults(c);
    snprintf(kind, sizeof kind, "teacher.kind=%s", kind_name);
    snprintf(lv, sizeof lv, "teacher.levels=%d", levels);
    const char *sets[] = {"model.kind=dmmp", kind, lv, "teacher.shared_experts=1", "teacher.specific_experts=1",
                          "teacher.expert_dims=4,3", "teacher.tower_dims=2", "student.user_tower=5,2",
                          "student.item_tower=3,2", "student.gate=on", "student.gate_dims=2"};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        CU_ASSERT_EQUAL_FATAL(config_set(c, sets[i], "test"), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(config_validate(c), DMMP_OK);
}

static void test_flops_cgc_by_hand(void)
{
    /* Multiply-adds per sample:
     *   3 experts 6->4->3:           3 * (24 + 12)      = 108
     *   2 task gates 6->2 (1+1):     2 * 12             =  24
     *   2 towers 3->2->1:            2 * (6 + 2)        =  16   teacher 148
     *   user tower 4->5->2:          20 + 10            =  30
     *   2 item towers 3->3->2:       2 * (9 + 6)        =  30
     *   gate 4->2->2:                8 + 4              =  12   student 72
     * forward = 2 * 220 = 440 FLOPs, backward = 880. */
    dmmp_config c;
    model_flops f;
    tiny_config(&c, "cgc", 1);
    CU_ASSERT_EQUAL_FATAL(model_flops_count(&c, (model_dims){6, 4, 3}, &f), DMMP_OK);
    TU_ASSERT_NEAR(f.teacher_forward, 296, 0);
    TU_ASSERT_NEAR(f.student_forward, 144, 0);
    TU_ASSERT_NEAR(f.forward, 440, 0);
    TU_ASSERT_NEAR(f.backward, 880, 0);
}

static void test_flops_ple_and_shared_bottom_by_hand(void)
{
    /* PLE, 2 levels: level 0 as cgc (108 + 24) plus the shared gate 6->3 (18);
     * level 1 reads width 3: experts 3 * (3*4 + 4*3) = 72, task gates 2 * 3*2 = 12;
     * towers 16. Teacher 250 MACs -> 500 FLOPs. */
    dmmp_config c;
    model_flops f;
    tiny_config(&c, "ple", 2);
    CU_ASSERT_EQUAL_FATAL(model_flops_count(&c, (model_dims){6, 4, 3}, &f), DMMP_OK);
    TU_ASSERT_NEAR(f.teacher_forward, 500, 0);
    /* shared_bottom: one expert 36, no gates, towers 16: 52 MACs -> 104. */
    tiny_config(&c, "shared_bottom", 1);
    CU_ASSERT_EQUAL_FATAL(model_flops_count(&c, (model_dims){6, 4, 3}, &f), DMMP_OK);
    TU_ASSERT_NEAR(f.teacher_forward, 104, 0);
    /* two_tower: user tower 30 + one item tower 15, no gate, no teacher: 90. */
    CU_ASSERT_EQUAL_FATAL(config_set(&c, "model.kind=two_tower", "test"), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(config_set(&c, "kd.enabled=off", "test"), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(model_flops_count(&c, (model_dims){0, 4, 3}, &f), DMMP_OK);
    TU_ASSERT_NEAR(f.teacher_forward, 0, 0);
    TU_ASSERT_NEAR(f.forward, 90, 0);
    CU_ASSERT_EQUAL(model_flops_count(&c, (model_dims){0, 0, 3}, &f), DMMP_EINVAL);
}

/* P(id = k) = (k+1)^-s / H with H = sum_{j=1}^{n} j^-s, summed here
 * directly (smallest terms first) rather than from the sampler's table. */
static void test_zipf_distribution(void)
{
    enum { N_IDS = 100000, DRAWS = 200000 };
    const double s = 1.1;
    double H = 0;
    for (int j = N_IDS; j >= 1; j--) H += pow(j, -s);
    double tail = 0; /* mass of ids >= 1000 */
    for (int j = N_IDS; j >= 1001; j--) tail += pow(j, -s);
    const double p[3] = {1.0 / H, pow(2, -s) / H, tail / H};
    zipf_sampler z;
    rng r;
    rng_stream(&r, 7, 1);
    CU_ASSERT_EQUAL_FATAL(zipf_init(&z, N_IDS, s), DMMP_OK);
    long count[3] = {0, 0, 0}, out_of_range = 0;
    for (int i = 0; i < DRAWS; i++) {
        int32_t id = zipf_sample(&z, &r);
        if (id < 0 || id >= N_IDS) out_of_range++;
        count[0] += id == 0;
        count[1] += id == 1;
        count[2] += id >= 1000;
    }
    zipf_free(&z);
    CU_ASSERT_EQUAL(out_of_range, 0);
    /* p0 ~ 0.135: each frequency must lie within 5 binomial standard
     * deviations (a false alarm has probability ~6e-7 per check). */
    for (int k = 0; k < 3; k++) {
        double freq = (double)count[k] / DRAWS, sd = sqrt(p[k] * (1 - p[k]) / DRAWS);
        TU_ASSERT_NEAR(freq, p[k], 5 * sd);
    }
    CU_ASSERT(p[0] > 0.12 && p[0] < 0.15); /* the hand estimate: H ~ zeta(1.1) - 10 * 1e5^-0.1 ~ 7.4 */
    CU_ASSERT_EQUAL(zipf_init(&z, 0, s), DMMP_EINVAL);
    CU_ASSERT_EQUAL(zipf_init(&z, 10, 0), DMMP_EINVAL);
}

/* bench train builds its optimiser with the run recipe, as training does:
 * AdamW, weight decay and clipping from the configuration reach the step it
 * times (it used to build plain Adam without them whatever the config). */
static void test_bench_train_configured_optimizer(void)
{
    char dir[512], ini[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(ini, sizeof ini, "%s/adamw.ini", dir);
    FILE *f = fopen(ini, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("[model]\nkind = two_tower\n[student]\ngate = off\nuser_tower = 16,8\nitem_tower = 16,8\n[kd]\nenabled = off\n"
          "[train]\noptimizer = adamw\nweight_decay = 0.125\ngrad_clip = 2.5\nlearning_rate = 0.0625\n"
          "batch_size = 64\n",
          f);
    fclose(f);
    bench_train_options o;
    bench_train_options_default(&o);
    o.config = ini;
    o.steps = 1;
    o.warmup = 1;
    o.repeat = 1;
    o.gemm_size = 64;
    o.vocab = 1000;
    bench_report r;
    memset(&r, 0, sizeof r);
    dmmp_status s = bench_train(&o, &r);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    const char *opt = NULL;
    for (int i = 0; i < r.n_notes; i++)
        if (!strcmp(r.notes[i][0], "dense_optimizer")) opt = r.notes[i][1];
    TU_ASSERT_MSG(opt && strstr(opt, "adamw lr 0.0625 ") && strstr(opt, "weight_decay 0.125 clip_norm 2.5"),
                  "dense optimiser timed: %s", opt ? opt : "(no note)");
    remove(ini);
    rmdir(dir);
}

/* bench teacher evaluates the users and items it names: eval.max_users
 * users of the synthetic world's test split against its whole corpus, on
 * the configuration's teacher alone (a dmmp configuration is turned into
 * teacher_only), and reports the three rates. */
static void test_bench_teacher_pairs(void)
{
    char dir[512], ini[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(ini, sizeof ini, "%s/teacher.ini", dir);
    FILE *f = fopen(ini, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("[model]\nkind = dmmp\n[teacher]\nexpert_dims = 8\ntower_dims = 4\n[train]\nbatch_size = 64\n", f);
    fclose(f);
    bench_teacher_options o;
    bench_teacher_options_default(&o);
    o.config = ini;
    o.items = 60;
    o.users = 3;
    o.steps = 1;
    o.repeat = 1;
    bench_report r;
    memset(&r, 0, sizeof r);
    dmmp_status s = bench_teacher(&o, &r);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    const char *shape = NULL;
    for (int i = 0; i < r.n_notes; i++)
        if (!strcmp(r.notes[i][0], "shape")) shape = r.notes[i][1];
    TU_ASSERT_MSG(shape && strstr(shape, "3 test users x 60 items") && strstr(shape, "1 batches of 64"), "shape: %s",
                  shape ? shape : "(no note)");
    static const char *const figures[] = {"teacher_forward_samples_per_s", "teacher_eval_pairs_per_s",
                                          "teacher_eval_share_of_forward", "teacher_eval_s"};
    for (size_t i = 0; i < sizeof figures / sizeof figures[0]; i++) {
        const bench_figure *fg = bench_find(&r, figures[i]);
        TU_ASSERT_MSG(fg && fg->median > 0, "figure %s", figures[i]);
    }
    remove(ini);
    rmdir(dir);
}

static void test_stats_and_h5(void)
{
    double odd[3] = {3, 1, 2}, even[4] = {4, 1, 3, 2};
    TU_ASSERT_NEAR(bench_median(odd, 3), 2, 0);
    TU_ASSERT_NEAR(bench_median(even, 4), 2.5, 0);
    bench_report r;
    memset(&r, 0, sizeof r);
    snprintf(r.group, sizeof r.group, "train");
    double secs[3] = {2, 1, 4}, ta[2] = {1, 2}, tb[2] = {1, 1};
    /* ratio per run: (10/1)/(5/1) = 2 and (10/2)/(5/1) = 1 -> median 1.5 */
    CU_ASSERT_EQUAL(bench_add_ratio(&r, "share", 10, ta, 5, tb, 2), DMMP_OK);
    CU_ASSERT_EQUAL(bench_add_rate(&r, "rate", "items/s", 10, secs, 3), DMMP_OK);
    const bench_figure *f = bench_find(&r, "rate");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    TU_ASSERT_NEAR(f->median, 5, 0); /* 10 / median 2 s */
    TU_ASSERT_NEAR(f->min, 2.5, 0);  /* slowest run, 4 s */
    TU_ASSERT_NEAR(f->max, 10, 0);
    f = bench_find(&r, "share");
    TU_ASSERT_NEAR(f->median, 1.5, 1e-12);
    TU_ASSERT_NEAR(f->min, 1, 1e-12);
    TU_ASSERT_NEAR(f->max, 2, 1e-12);

    char dir[256], path[300];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/bench.h5", dir);
    bench_meta m;
    bench_meta_collect(&m, "abc123");
    CU_ASSERT_EQUAL_FATAL(bench_write_h5(path, &r, &m), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(bench_write_h5(path, &r, &m), DMMP_OK); /* replacing the group works */
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(file >= 0);
    double v[3] = {0, 0, 0};
    hid_t d = H5Dopen2(file, "/train/rate", H5P_DEFAULT);
    CU_ASSERT(d >= 0 && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    if (d >= 0) H5Dclose(d);
    TU_ASSERT_NEAR(v[0], 5, 0);
    TU_ASSERT_NEAR(v[1], 2.5, 0);
    TU_ASSERT_NEAR(v[2], 10, 0);
    hid_t g = H5Gopen2(file, "/train", H5P_DEFAULT);
    CU_ASSERT(H5Aexists(g, "machine") > 0 && H5Aexists(g, "date") > 0 && H5Aexists(g, "commit") > 0);
    H5Gclose(g);
    H5Fclose(file);
    unlink(path);
    rmdir(dir);
}

int register_bench_suites(void)
{
    static const char *const names[] = {"FLOPs of cgc dmmp by hand", "FLOPs of ple, shared_bottom, two_tower by hand",
                                        "Zipf frequencies", "median, rates, ratios, HDF5 output",
                                        "bench train times the configured AdamW, weight decay and clipping",
                                        "bench teacher evaluates the users and items it names"};
    static const CU_TestFunc fns[] = {test_flops_cgc_by_hand, test_flops_ple_and_shared_bottom_by_hand,
                                      test_zipf_distribution, test_stats_and_h5, test_bench_train_configured_optimizer,
                                      test_bench_teacher_pairs};
    return tu_add_suite("bench_flops", names, fns, sizeof fns / sizeof fns[0]);
}
