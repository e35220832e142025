/* Configuration: defaults against the documented values, INI loading and --set, every
 * error message, cross-key rules, the INI round trip and the shipped
 * experiment configs. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"
#include "suites.h"
#include "testutil.h"
#include "config/config.h"
#include "config/config_schema.h"
#include "config/config_suggest.h"

#define ASSERT_HAS(text, part) TU_ASSERT_MSG(strstr((text), (part)) != NULL, "'%s' lacks '%s'", (text), (part))

static int list_is(const config_int_list *l, int n, const int *v)
{
    if (l->n != n) return 0;
    for (int i = 0; i < n; i++)
        if (l->v[i] != v[i]) return 0;
    return 1;
}

/* Loads text as origin "x.ini", expects failure, returns the message. */
static const char *load_error(const char *text)
{
    dmmp_config c;
    dmmp_error_clear();
    dmmp_status s = config_load_string(&c, text, "x.ini");
    TU_ASSERT_MSG(s != DMMP_OK, "'%s' was accepted", text);
    return dmmp_errmsg();
}

static const char *set_error(dmmp_config *c, const char *assignment)
{
    dmmp_error_clear();
    TU_ASSERT_MSG(config_set(c, assignment, "--set") != DMMP_OK, "'%s' was accepted", assignment);
    return dmmp_errmsg();
}

static void test_defaults_match_model(void)
{
    /* The documented defaults, typed in by hand. */
    dmmp_config c;
    config_defaults(&c);
    CU_ASSERT_EQUAL(c.data.embedding_dim, 16);
    CU_ASSERT_EQUAL(c.data.pooling, CONFIG_POOLING_SUM);
    CU_ASSERT_EQUAL(c.data.hash_buckets, 0);
    CU_ASSERT_STRING_EQUAL(c.data.path, "");
    CU_ASSERT_EQUAL(c.model.kind, CONFIG_MODEL_DMMP);
    CU_ASSERT_EQUAL(c.teacher.kind, CONFIG_TEACHER_CGC);
    CU_ASSERT_EQUAL(c.teacher.shared_experts, 2);
    CU_ASSERT_EQUAL(c.teacher.specific_experts, 1);
    CU_ASSERT_EQUAL(c.teacher.levels, 1);
    CU_ASSERT(list_is(&c.teacher.expert_dims, 2, (const int[]){256, 128}));
    CU_ASSERT(list_is(&c.teacher.tower_dims, 1, (const int[]){64}));
    CU_ASSERT_EQUAL(c.teacher.aux, 1);
    CU_ASSERT(list_is(&c.student.user_tower, 3, (const int[]){256, 128, 64}));
    CU_ASSERT(list_is(&c.student.item_tower, 3, (const int[]){256, 128, 64}));
    CU_ASSERT_EQUAL(c.student.l2norm, 0);
    CU_ASSERT_EQUAL(c.student.temperature, 1.0);
    CU_ASSERT_EQUAL(c.student.gate, 1);
    CU_ASSERT(list_is(&c.student.gate_dims, 1, (const int[]){32}));
    CU_ASSERT_EQUAL(c.student.negatives, CONFIG_NEGATIVES_NONE);
    CU_ASSERT_EQUAL(c.student.neg_ratio, 4);
    CU_ASSERT_EQUAL(c.student.logq_correction, 1);
    CU_ASSERT_EQUAL(c.student.softmax_temperature, 1.0);
    CU_ASSERT_EQUAL(c.kd.on_sampled, 0);
    CU_ASSERT_EQUAL(c.weighting.w_sampled_ctr, 1.0);
    CU_ASSERT_EQUAL(c.fuse.conversion_weight, 0.5);
    CU_ASSERT_EQUAL(c.kd.enabled, 1);
    CU_ASSERT_EQUAL(c.kd.loss, CONFIG_KD_LOSS_BCE);
    CU_ASSERT_EQUAL(c.kd.temperature, 1.0);
    CU_ASSERT_EQUAL(c.kd.warmup_steps, 0);
    CU_ASSERT_EQUAL(c.weighting.kind, CONFIG_WEIGHTING_UNCERTAINTY);
    CU_ASSERT_EQUAL(c.weighting.dwa_temperature, 2.0);
    CU_ASSERT_EQUAL(c.weighting.w_kd_fused, 1.0);
    CU_ASSERT_EQUAL(c.weighting.w_teacher_ctr, 1.0);
    CU_ASSERT_EQUAL(c.train.batch_size, 1024);
    CU_ASSERT_EQUAL(c.train.learning_rate, 1e-3);
    CU_ASSERT_EQUAL(c.train.optimizer, CONFIG_OPTIMIZER_ADAM);
    CU_ASSERT_EQUAL(c.train.sparse_optimizer, CONFIG_SPARSE_LAZY_ADAM);
    CU_ASSERT_EQUAL(c.train.schedule, CONFIG_SCHEDULE_JOINT);
    CU_ASSERT_EQUAL(c.train.threads, 0);
    CU_ASSERT_EQUAL(c.train.early_stopping_metric, CONFIG_METRIC_AUC_CTR);
    CU_ASSERT(list_is(&c.eval.topk, 4, (const int[]){20, 50, 100, 200}));
    CU_ASSERT_EQUAL(c.eval.split, CONFIG_SPLIT_TEST);
    CU_ASSERT_EQUAL(c.eval.max_users, 0);
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_OK);
}

static void test_schema_consistent(void)
{
    /* Every default parses on its own, names are unique, sections listed. */
    dmmp_config scratch;
    memset(&scratch, 0, sizeof scratch);
    for (size_t i = 0; i < config_schema_size(); i++) {
        const config_key *k = config_schema_at(i);
        TU_ASSERT_MSG(config_key_parse(k, &scratch, k->default_text, "test") == DMMP_OK, "%s.%s default: %s",
                      k->section, k->name, dmmp_errmsg());
        TU_ASSERT_MSG(config_section_known(k->section), "%s.%s", k->section, k->name);
        TU_ASSERT_MSG(k->doc && k->doc[0], "%s.%s has no doc", k->section, k->name);
        CU_ASSERT_PTR_EQUAL(config_schema_find(k->section, k->name), k);
    }
    CU_ASSERT_PTR_NULL(config_schema_find("train", "learnig_rate"));
    CU_ASSERT_PTR_NULL(config_schema_at(config_schema_size()));
    for (size_t s = 0; s < config_section_count(); s++) {
        int keys = 0;
        for (size_t i = 0; i < config_schema_size(); i++)
            keys += !strcmp(config_schema_at(i)->section, config_section_at(s));
        TU_ASSERT_MSG(keys > 0, "section %s has no keys", config_section_at(s));
    }
}

static void test_load_and_override(void)
{
    const char *text = "\xEF\xBB\xBF; a comment\r\n"
                       "# another comment\n"
                       "[data]\n"
                       "pooling = mean   ; inline comment\n"
                       "path = /tmp/some dir/data.h5\n"
                       "\n"
                       "[teacher]\n"
                       "kind=ple\r\n"
                       "levels = 3\n"
                       "expert_dims = 512, 256 ,128\n"
                       "tower_dims = none\n"
                       "[train]\n"
                       "learning_rate = 3e-4\n"
                       "batch_size = 256\n";
    dmmp_config c, d;
    TU_ASSERT_MSG(config_load_string(&c, text, "t.ini") == DMMP_OK, "%s", dmmp_errmsg());
    CU_ASSERT_EQUAL(c.data.pooling, CONFIG_POOLING_MEAN);
    CU_ASSERT_STRING_EQUAL(c.data.path, "/tmp/some dir/data.h5");
    CU_ASSERT_EQUAL(c.teacher.kind, CONFIG_TEACHER_PLE);
    CU_ASSERT_EQUAL(c.teacher.levels, 3);
    CU_ASSERT(list_is(&c.teacher.expert_dims, 3, (const int[]){512, 256, 128}));
    CU_ASSERT_EQUAL(c.teacher.tower_dims.n, 0);
    CU_ASSERT_EQUAL(c.train.learning_rate, 3e-4);
    CU_ASSERT_EQUAL(c.train.batch_size, 256);
    /* Untouched keys keep their defaults. */
    CU_ASSERT_EQUAL(c.data.embedding_dim, 16);
    CU_ASSERT_EQUAL(c.train.epochs, 10);
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_OK);

    /* --set applies on top, in order; blanks around key and value are ignored. */
    CU_ASSERT_EQUAL(config_set(&c, "train.batch_size=512", "--set"), DMMP_OK);
    CU_ASSERT_EQUAL(config_set(&c, " train.batch_size = 128 ", "--set"), DMMP_OK);
    CU_ASSERT_EQUAL(c.train.batch_size, 128);
    CU_ASSERT_EQUAL(config_set(&c, "student.l2norm=on", "--set"), DMMP_OK);
    CU_ASSERT_EQUAL(c.student.l2norm, 1);
    CU_ASSERT_EQUAL(config_set(&c, "student.l2norm=false", "--set"), DMMP_OK);
    CU_ASSERT_EQUAL(c.student.l2norm, 0);
    CU_ASSERT_EQUAL(config_set(&c, "eval.topk=10", "--set"), DMMP_OK);
    CU_ASSERT(list_is(&c.eval.topk, 1, (const int[]){10}));
    CU_ASSERT_EQUAL(c.eval.topk.v[1], 0); /* stale entries cleared */
    CU_ASSERT_EQUAL(config_set(&c, "data.path=", "--set"), DMMP_OK);
    CU_ASSERT_STRING_EQUAL(c.data.path, "");
    CU_ASSERT_EQUAL(config_set(&c, "teacher.tower_dims=", "--set"), DMMP_OK);
    CU_ASSERT_EQUAL(c.teacher.tower_dims.n, 0);

    /* An empty text is the defaults, byte for byte. */
    config_defaults(&d);
    CU_ASSERT_EQUAL(config_load_string(&c, "", "empty.ini"), DMMP_OK);
    CU_ASSERT_EQUAL(memcmp(&c, &d, sizeof c), 0);

    char buf[64];
    CU_ASSERT_EQUAL(config_value_text(&c, "train.batch_size", buf, sizeof buf), DMMP_OK);
    CU_ASSERT_STRING_EQUAL(buf, "1024");
    CU_ASSERT_EQUAL(config_value_text(&c, "teacher.expert_dims", buf, sizeof buf), DMMP_OK);
    CU_ASSERT_STRING_EQUAL(buf, "256,128");
    CU_ASSERT_NOT_EQUAL(config_value_text(&c, "train.nope", buf, sizeof buf), DMMP_OK);
    CU_ASSERT_NOT_EQUAL(config_value_text(&c, "nodot", buf, sizeof buf), DMMP_OK);
}

static void test_load_file(void)
{
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir);
    if (!dir[0]) {
        tu_skip("config_load file", "no temporary directory");
        return;
    }
    snprintf(path, sizeof path, "%s/run.ini", dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("[kd]\nloss = mse\n\n[train]\nepochs = 3\nlearnig_rate = 1\n", f);
    fclose(f);
    dmmp_config c, before;
    config_defaults(&c);
    c.train.seed = 7;
    before = c;
    CU_ASSERT_EQUAL(config_load(&c, path), DMMP_EINVAL);
    /* The message names the file and the line of the misspelt key. */
    char want[700];
    snprintf(want, sizeof want, "[train] learnig_rate: unknown key at %s:6; did you mean train.learning_rate?", path);
    CU_ASSERT_STRING_EQUAL(dmmp_errmsg(), want);
    CU_ASSERT_EQUAL(memcmp(&c, &before, sizeof c), 0); /* unchanged on failure */

    f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("[kd]\nloss = mse\n\n[train]\nepochs = 3\n", f);
    fclose(f);
    TU_ASSERT_MSG(config_load(&c, path) == DMMP_OK, "%s", dmmp_errmsg());
    CU_ASSERT_EQUAL(c.kd.loss, CONFIG_KD_LOSS_MSE);
    CU_ASSERT_EQUAL(c.train.epochs, 3);
    CU_ASSERT_EQUAL(c.train.seed, 42); /* loading starts from defaults */
    unlink(path);

    CU_ASSERT_EQUAL(config_load(&c, path), DMMP_EIO);
    ASSERT_HAS(dmmp_errmsg(), path);
    ASSERT_HAS(dmmp_errmsg(), "cannot open");
    CU_ASSERT_EQUAL(config_load(&c, dir), DMMP_EIO); /* a directory opens but does not read */
    ASSERT_HAS(dmmp_errmsg(), dir);
    f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fwrite("[train]\nepochs = 3\0\n", 1, 20, f);
    fclose(f);
    CU_ASSERT_EQUAL(config_load(&c, path), DMMP_EFORMAT);
    ASSERT_HAS(dmmp_errmsg(), "NUL byte");
    unlink(path);
    rmdir(dir);
}

static void test_unknown_key_messages(void)
{
    CU_ASSERT_STRING_EQUAL(load_error("[train]\nepochs = 3\nlearnig_rate = 0.1\n"),
                           "[train] learnig_rate: unknown key at x.ini:3; did you mean train.learning_rate?");
    /* A key put in the wrong section points at the section that has it. */
    CU_ASSERT_STRING_EQUAL(load_error("[data]\n[train]\nembedding_dim = 8\n"),
                           "[train] embedding_dim: unknown key at x.ini:3; did you mean data.embedding_dim?");
    CU_ASSERT_STRING_EQUAL(load_error("[data]\nbatch_size = 512\n"),
                           "[data] batch_size: unknown key at x.ini:2; did you mean train.batch_size?");
    /* A close key in the same section wins a tie over other sections. */
    ASSERT_HAS(load_error("[kd]\ntemprature = 2\n"), "did you mean kd.temperature?");
    ASSERT_HAS(load_error("[student]\ntemprature = 2\n"), "did you mean student.temperature?");
    /* Nothing close: the section's keys are listed. */
    const char *m = load_error("[fuse]\nzzzzzzzz = 1\n");
    ASSERT_HAS(m, "[fuse] zzzzzzzz: unknown key at x.ini:2");
    ASSERT_HAS(m, "keys of [fuse] are conversion_weight");

    dmmp_config c;
    config_defaults(&c);
    CU_ASSERT_STRING_EQUAL(set_error(&c, "train.learnig_rate=0.1"),
                           "[train] learnig_rate: unknown key at --set; did you mean train.learning_rate?");
    m = set_error(&c, "trian.learning_rate=0.1");
    ASSERT_HAS(m, "[trian]: unknown section at --set");
    ASSERT_HAS(m, "did you mean train.learning_rate?");
    ASSERT_HAS(set_error(&c, "trian.xxxxxxxxxxx=1"), "did you mean [train]?");
    ASSERT_HAS(set_error(&c, "batch_size=5"), "expected section.key=value");
    ASSERT_HAS(set_error(&c, "train.batch_size"), "expected section.key=value");
    ASSERT_HAS(set_error(&c, ".x=1"), "expected section.key=value");
}

static void test_unknown_section_messages(void)
{
    CU_ASSERT_STRING_EQUAL(load_error("[trian]\nepochs = 1\n"),
                           "[trian]: unknown section at x.ini:1; did you mean [train]?");
    /* Reported even when the section holds no key. */
    const char *m = load_error("[data]\nembedding_dim = 8\n[optimizer]\n");
    ASSERT_HAS(m, "[optimizer]: unknown section at x.ini:3; sections are [data], [model]");
    m = load_error("; header\nepochs = 1\n[train]\n");
    ASSERT_HAS(m, "x.ini:2: key 'epochs' is outside any section");
}

static void test_bad_value_messages(void)
{
    CU_ASSERT_STRING_EQUAL(load_error("[train]\nbatch_size = -5\n"),
                           "[train] batch_size: bad value '-5' at x.ini:2; expected an integer in [1, 1048576]");
    CU_ASSERT_STRING_EQUAL(load_error("[data]\npooling = max\n"),
                           "[data] pooling: bad value 'max' at x.ini:2; expected one of sum|mean");
    CU_ASSERT_STRING_EQUAL(load_error("[fuse]\nconversion_weight = 1.5\n"),
                           "[fuse] conversion_weight: bad value '1.5' at x.ini:2; expected a finite number in [0, 1]");
    ASSERT_HAS(load_error("[student]\ntemperature = 0\n"), "expected a finite number in (0, 100]");
    ASSERT_HAS(load_error("[train]\nlearning_rate = nan\n"), "bad value 'nan'");
    ASSERT_HAS(load_error("[train]\nlearning_rate = inf\n"), "bad value 'inf'");
    ASSERT_HAS(load_error("[train]\nlearning_rate = 1e-3x\n"), "bad value '1e-3x'");
    ASSERT_HAS(load_error("[train]\nlearning_rate =\n"), "bad value ''");
    ASSERT_HAS(load_error("[train]\nepochs = 1.5\n"), "expected an integer");
    ASSERT_HAS(load_error("[train]\nepochs = 99999999999999999999\n"), "expected an integer");
    ASSERT_HAS(load_error("[teacher]\nshared_experts = -1\n"), "[0, 64]");
    ASSERT_HAS(load_error("[model]\nkind = four_tower\n"), "one of teacher_only|two_tower|three_tower|dmmp");
    ASSERT_HAS(load_error("[student]\ngate = maybe\n"), "expected on or off");
    ASSERT_HAS(load_error("[teacher]\nexpert_dims = 256,abc\n"), "entry 2 is 'abc'");
    ASSERT_HAS(load_error("[teacher]\nexpert_dims = 256,,128\n"), "entry 2 is ''");
    ASSERT_HAS(load_error("[teacher]\nexpert_dims = 256,0\n"), "entry 2 is '0'");
    ASSERT_HAS(load_error("[teacher]\nexpert_dims = 1,2,3,4,5,6,7,8,9\n"), "more than 8 entries");
    ASSERT_HAS(load_error("[teacher]\nexpert_dims = none\n"), "the list may not be empty");
    ASSERT_HAS(load_error("[eval]\ntopk = 50,20\n"), "does not exceed the one before");
    ASSERT_HAS(load_error("[data]\npath = a ;b\n[train]\nepochs = x\n"), "x.ini:4");

    dmmp_config c, before;
    config_defaults(&c);
    before = c;
    ASSERT_HAS(set_error(&c, "data.path=a ;b"), "' ;' starts a comment");
    char longpath[CONFIG_STRING_MAX + 16];
    memset(longpath, 'p', sizeof longpath);
    memcpy(longpath, "data.path=", 10);
    longpath[sizeof longpath - 1] = '\0';
    ASSERT_HAS(set_error(&c, longpath), "too long");
    ASSERT_HAS(set_error(&c, "data.path=a\tb"), "control character");
    ASSERT_HAS(set_error(&c, "train.batch_size=0"), "[train] batch_size: bad value '0' at --set");
    /* Padding that would be cut off must not hide the bad tail. */
    char padded[400];
    snprintf(padded, sizeof padded, "eval.topk=1,2%300sx", "");
    ASSERT_HAS(set_error(&c, padded), "too long");
    CU_ASSERT_EQUAL(memcmp(&c, &before, sizeof c), 0); /* failed sets change nothing */
}

static void test_syntax_messages(void)
{
    CU_ASSERT_STRING_EQUAL(load_error("[train]\nepochs = 2\nthis is not ini\n"),
                           "x.ini:3: cannot parse 'this is not ini'; expected [section], key = value or a ; comment");
    ASSERT_HAS(load_error("[train\nepochs = 2\n"), "x.ini:1: cannot parse '[train'");
    /* The first error wins, wherever it was found. */
    ASSERT_HAS(load_error("[train]\nnonsense\nepochs = 0\n"), "x.ini:2: cannot parse");
    ASSERT_HAS(load_error("[train]\nepochs = 0\nnonsense\n"), "[train] epochs: bad value '0' at x.ini:2");
    CU_ASSERT_STRING_EQUAL(load_error("[train]\nepochs = 2\n\n[train]\nepochs = 3\n"),
                           "[train] epochs: duplicate key at x.ini:5 (first set at line 2)");
    ASSERT_HAS(load_error("[teacher]\nexpert_dims = 256\n  128\n"),
               "duplicate key at x.ini:3 (first set at line 2); an indented line continues the value above it");
    char text[400];
    snprintf(text, sizeof text, "[data]\n\npath = %0250d\n", 0);
    ASSERT_HAS(load_error(text), "x.ini:3: line is longer than");
}

static void test_validate_rules(void)
{
    /* Each rule: the broken config is rejected naming the keys, and the fix
     * is accepted, so the check is neither missing nor always failing. */
    struct rule {
        const char *broken, *fix, *message;
    } rules[] = {
        {"teacher.kind=ple", "teacher.levels=2", "teacher.levels >= 2"},
        {"teacher.levels=2", "teacher.kind=ple", "needs teacher.kind = ple"},
        {"teacher.kind=mmoe", "teacher.specific_experts=0", "teacher.specific_experts = 0"},
        {"teacher.specific_experts=0", "teacher.specific_experts=1", "teacher.kind = cgc needs teacher.specific_experts >= 1"},
        {"student.item_tower=256,32", "student.user_tower=128,32", "the same output size k"},
        {"train.schedule=two_stage", "train.schedule=two_stage", NULL},
        {"train.teacher_epochs=3", "train.schedule=two_stage", "only applies to train.schedule = two_stage"},
        {"data.hash_buckets=1", "data.hash_buckets=2", "data.hash_buckets = 1"},
        {"kd.on_sampled=on", "student.negatives=popularity", "kd.on_sampled = on needs sampled pairs"},
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        dmmp_config c;
        config_defaults(&c);
        CU_ASSERT_EQUAL_FATAL(config_set(&c, rules[i].broken, "--set"), DMMP_OK);
        if (rules[i].message) {
            dmmp_error_clear();
            TU_ASSERT_MSG(config_validate(&c) == DMMP_EINVAL, "%s accepted", rules[i].broken);
            ASSERT_HAS(dmmp_errmsg(), rules[i].message);
        }
        CU_ASSERT_EQUAL_FATAL(config_set(&c, rules[i].fix, "--set"), DMMP_OK);
        TU_ASSERT_MSG(config_validate(&c) == DMMP_OK, "%s + %s: %s", rules[i].broken, rules[i].fix, dmmp_errmsg());
    }

    /* Switches that need a teacher, a student or a conversion tower. */
    dmmp_config c;
    config_defaults(&c);
    CU_ASSERT_EQUAL(config_set(&c, "model.kind=two_tower", "--set"), DMMP_OK);
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "two_tower has no conversion tower");
    CU_ASSERT_EQUAL(config_set(&c, "student.gate=off", "--set"), DMMP_OK);
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "kd.enabled = on needs a teacher and a student");
    CU_ASSERT_EQUAL(config_set(&c, "kd.enabled=off", "--set"), DMMP_OK);
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_OK);
    CU_ASSERT_EQUAL(config_set(&c, "train.early_stopping_metric=auc_ctcvr", "--set"), DMMP_OK);
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "predicts clicks only");
    CU_ASSERT_EQUAL(config_set(&c, "train.early_stopping_metric=gauc_ctr", "--set"), DMMP_OK);
    CU_ASSERT_EQUAL(config_set(&c, "train.schedule=two_stage", "--set"), DMMP_OK);
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "two_stage");

    config_defaults(&c);
    CU_ASSERT_EQUAL(config_set(&c, "model.kind=teacher_only", "--set"), DMMP_OK);
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "teacher_only has no student");

    /* Sampled negatives train the towers; the teacher scores sampled pairs only. */
    const char *neg_teacher_only[] = {"student.gate=off", "kd.enabled=off", "student.negatives=random"};
    for (size_t i = 0; i < 3; i++) CU_ASSERT_EQUAL(config_set(&c, neg_teacher_only[i], "--set"), DMMP_OK);
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "student.negatives = random trains the towers");
    CU_ASSERT_EQUAL(config_set(&c, "student.negatives=none", "--set"), DMMP_OK);
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_OK);
    config_defaults(&c);
    CU_ASSERT_EQUAL(config_set(&c, "student.negatives=in_batch", "--set"), DMMP_OK);
    CU_ASSERT_EQUAL(config_set(&c, "kd.on_sampled=on", "--set"), DMMP_OK);
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "in_batch pairs every user");
    CU_ASSERT_EQUAL(config_set(&c, "student.negatives=random", "--set"), DMMP_OK);
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_OK);
    CU_ASSERT_EQUAL(config_set(&c, "kd.enabled=off", "--set"), DMMP_OK);
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "kd.on_sampled = on distils on the sampled pairs, but kd.enabled = off");
    /* Fixed weights: the sampled terms count among the weights that train. */
    config_defaults(&c);
    const char *only_sampled[] = {"weighting.kind=fixed", "model.kind=two_tower", "kd.enabled=off", "student.gate=off",
                                  "weighting.w_student_ctr=0", "student.negatives=in_batch"};
    for (size_t i = 0; i < 6; i++) CU_ASSERT_EQUAL(config_set(&c, only_sampled[i], "--set"), DMMP_OK);
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_OK);
    CU_ASSERT_EQUAL(config_set(&c, "weighting.w_sampled_ctr=0", "--set"), DMMP_OK);
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_EINVAL);

    /* Fixed weighting with every active weight at zero learns nothing; a
     * zero weight on a term this model does not train does not help. */
    config_defaults(&c);
    const char *zero[] = {"weighting.kind=fixed", "model.kind=three_tower", "kd.enabled=off", "student.gate=off",
                          "weighting.w_student_ctr=0", "weighting.w_student_ctcvr=0", "weighting.w_student_fused=0"};
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++) CU_ASSERT_EQUAL(config_set(&c, zero[i], "--set"), DMMP_OK);
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "nothing would be learned");
    CU_ASSERT_EQUAL(config_set(&c, "weighting.w_student_fused=0.5", "--set"), DMMP_OK);
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_OK);
}

static void test_validate_absurd_struct_values(void)
{
    /* A struct filled in code gets the same checks as a file. */
    dmmp_config c;
    config_defaults(&c);
    c.train.batch_size = -1;
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "[train] batch_size: bad value '-1'");
    config_defaults(&c);
    c.train.learning_rate = NAN;
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "[train] learning_rate");
    config_defaults(&c);
    c.teacher.kind = (config_teacher_kind)99;
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "[teacher] kind");
    config_defaults(&c);
    c.student.user_tower.n = CONFIG_MAX_LIST + 1;
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "[student] user_tower");
    config_defaults(&c);
    c.student.item_tower.n = 0;
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "[student] item_tower");
    config_defaults(&c);
    c.teacher.shared_experts = 0;
    c.teacher.specific_experts = 0;
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_EINVAL);
    config_defaults(&c);
    memset(c.data.path, 'x', sizeof c.data.path); /* no terminator */
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_EINVAL);
    ASSERT_HAS(dmmp_errmsg(), "[data] path");
}

static void round_trip(const dmmp_config *c)
{
    char *text = NULL, *again = NULL;
    dmmp_config back;
    CU_ASSERT_EQUAL_FATAL(config_to_ini(c, &text), DMMP_OK);
    TU_ASSERT_MSG(config_load_string(&back, text, "round-trip") == DMMP_OK, "%s", dmmp_errmsg());
    CU_ASSERT(config_equal(c, &back));
    CU_ASSERT_EQUAL(memcmp(c, &back, sizeof back), 0);
    CU_ASSERT_EQUAL(config_to_ini(&back, &again), DMMP_OK);
    if (again) CU_ASSERT_STRING_EQUAL(again, text);
    free(text);
    free(again);
}

static void test_round_trip(void)
{
    dmmp_config c;
    config_defaults(&c);
    round_trip(&c);

    /* Values that stress the printer: doubles without a short decimal
     * form, extreme ranges, empty and full lists, a long path with blanks. */
    const char *sets[] = {"train.learning_rate=0.00030000000000000003", "train.adam_eps=1e-12",
                          "fuse.conversion_weight=0", "kd.temperature=100", "train.grad_clip=5.5",
                          "teacher.kind=ple", "teacher.levels=3", "teacher.tower_dims=none",
                          "student.gate_dims=1,2,3,4,5,6,7,8", "eval.topk=1,1000000", "train.seed=2147483647",
                          "data.pooling=mean", "student.l2norm=on", "train.early_stopping_metric=logloss_ctcvr",
                          "weighting.kind=dwa"};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        TU_ASSERT_MSG(config_set(&c, sets[i], "--set") == DMMP_OK, "%s: %s", sets[i], dmmp_errmsg());
    c.weighting.w_kd_ctcvr = 1.0 / 3.0;
    c.student.temperature = 0.1 + 0.2; /* 0.30000000000000004 */
    char path[CONFIG_STRING_MAX + 1];
    for (int i = 0; i < CONFIG_STRING_MAX; i++) path[i] = "ab c/;#="[i % 8];
    path[CONFIG_STRING_MAX] = '\0';
    path[CONFIG_STRING_MAX - 1] = 'z';
    snprintf(c.data.path, sizeof c.data.path, "%s", path);
    CU_ASSERT_EQUAL(config_validate(&c), DMMP_OK);
    round_trip(&c);
    CU_ASSERT_EQUAL(c.weighting.w_kd_ctcvr, 1.0 / 3.0);
}

static void test_experiment_configs(void)
{
    char dirpath[4096], path[4600];
    snprintf(dirpath, sizeof dirpath, "%s/experiments/configs", tu_srcdir());
    DIR *d = opendir(dirpath);
    TU_ASSERT_MSG(d != NULL, "cannot open %s", dirpath);
    if (!d) return;
    const char *expected[] = {"teacher_only.ini", "two_tower.ini", "three_tower.ini", "dmmp.ini", "shared_bottom.ini",
                              "mmoe.ini",         "cgc.ini",       "ple.ini",         "bench_default.ini"};
    int found[sizeof expected / sizeof expected[0]] = {0};
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".ini")) continue;
        snprintf(path, sizeof path, "%s/%s", dirpath, e->d_name);
        dmmp_config c;
        TU_ASSERT_MSG(config_load(&c, path) == DMMP_OK, "%s", dmmp_errmsg());
        TU_ASSERT_MSG(config_validate(&c) == DMMP_OK, "%s: %s", e->d_name, dmmp_errmsg());
        for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) found[i] |= !strcmp(e->d_name, expected[i]);
        n++;
    }
    closedir(d);
    CU_ASSERT(n >= 9);
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        TU_ASSERT_MSG(found[i], "%s missing", expected[i]);

    /* A few values the files exist to set. */
    dmmp_config c, defaults;
    config_defaults(&defaults);
    snprintf(path, sizeof path, "%s/ple.ini", dirpath);
    if (config_load(&c, path) == DMMP_OK) {
        CU_ASSERT_EQUAL(c.teacher.kind, CONFIG_TEACHER_PLE);
        CU_ASSERT(c.teacher.levels >= 2);
    }
    snprintf(path, sizeof path, "%s/two_tower.ini", dirpath);
    if (config_load(&c, path) == DMMP_OK) CU_ASSERT_EQUAL(c.model.kind, CONFIG_MODEL_TWO_TOWER);
    snprintf(path, sizeof path, "%s/bench_default.ini", dirpath);
    if (config_load(&c, path) == DMMP_OK) {
        CU_ASSERT_EQUAL(c.train.threads, 2);
        c.train.threads = defaults.train.threads;
        /* Apart from the thread count, bench_default is the defaults. */
        CU_ASSERT(config_equal(&c, &defaults));
    }
}

static void test_edit_distance(void)
{
    /* Hand-computed distances. */
    CU_ASSERT_EQUAL(config_edit_distance("kitten", "sitting"), 3);
    CU_ASSERT_EQUAL(config_edit_distance("learnig_rate", "learning_rate"), 1);
    CU_ASSERT_EQUAL(config_edit_distance("ab", "ba"), 1);
    CU_ASSERT_EQUAL(config_edit_distance("trian", "train"), 1);
    CU_ASSERT_EQUAL(config_edit_distance("", "abc"), 3);
    CU_ASSERT_EQUAL(config_edit_distance("abc", ""), 3);
    CU_ASSERT_EQUAL(config_edit_distance("same", "same"), 0);
    CU_ASSERT_EQUAL(config_edit_distance("ca", "abc"), 3);
}

int register_config_suites(void)
{
    static const char *const names[] = {
        "defaults match the documented values", "schema table consistent", "load and --set override", "config_load file",
        "unknown key messages",    "unknown section messages", "bad value messages",     "syntax messages",
        "cross-key rules",         "absurd struct values",     "INI round trip",         "experiments/configs",
        "edit distance",
    };
    static const CU_TestFunc tests[] = {
        test_defaults_match_model, test_schema_consistent,   test_load_and_override, test_load_file,
        test_unknown_key_messages, test_unknown_section_messages, test_bad_value_messages, test_syntax_messages,
        test_validate_rules,       test_validate_absurd_struct_values, test_round_trip, test_experiment_configs,
        test_edit_distance,
    };
    return tu_add_suite("config", names, tests, sizeof tests / sizeof tests[0]);
}
