/* Rules that span keys. Each message names the keys involved and the fix,
 * because the two keys may sit far apart in a file or come from --set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_schema.h"

/* Every key's value must be one its parser accepts: a struct filled in code
 * (not from text) gets the same range checks as a file. */
static dmmp_status check_each_key(const dmmp_config *c)
{
    dmmp_config *scratch = malloc(sizeof *scratch);
    if (!scratch) return dmmp_fail(DMMP_ENOMEM, "config_validate: out of memory");
    char text[CONFIG_STRING_MAX + 256];
    dmmp_status s = DMMP_OK;
    for (size_t i = 0; i < config_schema_size() && s == DMMP_OK; i++) {
        const config_key *k = config_schema_at(i);
        config_key_format(k, c, text, sizeof text);
        s = config_key_parse(k, scratch, text, "the configuration");
        if (s == DMMP_OK && !config_key_equal(k, c, scratch))
            s = dmmp_fail(DMMP_EINVAL, "[%s] %s: value does not survive printing as '%s'", k->section, k->name,
                          text);
    }
    free(scratch);
    return s;
}

static dmmp_status check_teacher(const config_teacher *t)
{
    if (t->kind == CONFIG_TEACHER_PLE && t->levels < 2)
        return dmmp_fail(DMMP_EINVAL, "teacher.kind = ple needs teacher.levels >= 2 (got %d); "
                                      "a single level is teacher.kind = cgc", t->levels);
    if (t->kind != CONFIG_TEACHER_PLE && t->levels != 1)
        return dmmp_fail(DMMP_EINVAL, "teacher.levels = %d needs teacher.kind = ple (other kinds have one level)",
                         t->levels);
    if (t->kind == CONFIG_TEACHER_MMOE && t->specific_experts != 0)
        return dmmp_fail(DMMP_EINVAL, "teacher.kind = mmoe shares all experts: set teacher.specific_experts = 0 "
                                      "(got %d) or use teacher.kind = cgc", t->specific_experts);
    if (t->kind == CONFIG_TEACHER_MMOE && t->shared_experts < 1)
        return dmmp_fail(DMMP_EINVAL, "teacher.kind = mmoe needs teacher.shared_experts >= 1 (got 0)");
    if ((t->kind == CONFIG_TEACHER_CGC || t->kind == CONFIG_TEACHER_PLE) && t->specific_experts < 1)
        return dmmp_fail(DMMP_EINVAL, "teacher.kind = %s needs teacher.specific_experts >= 1 (got 0); "
                                      "all-shared experts is teacher.kind = mmoe",
                         t->kind == CONFIG_TEACHER_CGC ? "cgc" : "ple");
    if (t->kind == CONFIG_TEACHER_PLE && t->shared_experts < 1)
        return dmmp_fail(DMMP_EINVAL, "teacher.kind = ple needs teacher.shared_experts >= 1 (got 0): "
                                      "the shared experts carry information between levels");
    return DMMP_OK;
}

static dmmp_status check_student(const config_student *st, config_model_kind kind)
{
    int ku = st->user_tower.v[st->user_tower.n - 1], ki = st->item_tower.v[st->item_tower.n - 1];
    if (ku != ki)
        return dmmp_fail(DMMP_EINVAL, "student.user_tower ends in %d but student.item_tower ends in %d: "
                                      "the inner product needs the same output size k", ku, ki);
    if (st->gate && kind == CONFIG_MODEL_TWO_TOWER)
        return dmmp_fail(DMMP_EINVAL, "model.kind = two_tower has no conversion tower to gate: "
                                      "set student.gate = off");
    return DMMP_OK;
}

/* Sum of the fixed weights of the loss terms this model trains. */
static double active_weight_sum(const dmmp_config *c)
{
    const config_weighting *w = &c->weighting;
    int teacher = config_has_teacher(c->model.kind);
    double sum = 0;
    if (teacher) sum += w->w_teacher_ctr + (c->teacher.aux ? w->w_teacher_ctcvr : w->w_teacher_cvr);
    if (c->model.kind == CONFIG_MODEL_TWO_TOWER) sum += w->w_student_ctr;
    if (c->model.kind == CONFIG_MODEL_THREE_TOWER || c->model.kind == CONFIG_MODEL_DMMP)
        sum += w->w_student_ctr + w->w_student_ctcvr + w->w_student_fused;
    if (c->model.kind == CONFIG_MODEL_DMMP && c->kd.enabled) sum += w->w_kd_ctr + w->w_kd_ctcvr + w->w_kd_fused;
    if (config_has_student(c->model.kind) && c->student.negatives != CONFIG_NEGATIVES_NONE) {
        sum += w->w_sampled_ctr;
        if (c->model.kind != CONFIG_MODEL_TWO_TOWER) sum += w->w_sampled_ctcvr + w->w_sampled_fused;
        if (c->kd.enabled && c->kd.on_sampled) sum += w->w_kd_sampled_ctr + w->w_kd_sampled_ctcvr;
    }
    return sum;
}

static int metric_needs_conversions(config_metric m)
{
    return m == CONFIG_METRIC_AUC_CVR || m == CONFIG_METRIC_AUC_CTCVR || m == CONFIG_METRIC_LOGLOSS_CTCVR;
}

dmmp_status config_validate(const dmmp_config *c)
{
    if (!c) return dmmp_fail(DMMP_EINVAL, "config_validate: NULL configuration");
    DMMP_TRY(check_each_key(c));
    config_model_kind kind = c->model.kind;
    const char *kname = config_model_kind_name(kind);
    int has_teacher = config_has_teacher(kind), has_student = config_has_student(kind);
    if (has_teacher) DMMP_TRY(check_teacher(&c->teacher));
    if (has_student) DMMP_TRY(check_student(&c->student, kind));
    if (!has_student && c->student.gate)
        return dmmp_fail(DMMP_EINVAL, "model.kind = teacher_only has no student to gate: set student.gate = off");
    if (c->kd.enabled && kind != CONFIG_MODEL_DMMP)
        return dmmp_fail(DMMP_EINVAL, "kd.enabled = on needs a teacher and a student (model.kind = dmmp); "
                                      "model.kind = %s: set kd.enabled = off", kname);
    config_negatives neg = c->student.negatives;
    if (neg != CONFIG_NEGATIVES_NONE && !has_student)
        return dmmp_fail(DMMP_EINVAL, "student.negatives = %s trains the towers, and model.kind = teacher_only has none: "
                                      "set student.negatives = none", config_negatives_name(neg));
    if (c->kd.on_sampled && !c->kd.enabled)
        return dmmp_fail(DMMP_EINVAL, "kd.on_sampled = on distils on the sampled pairs, but kd.enabled = off: "
                                      "set kd.enabled = on (model.kind = dmmp) or kd.on_sampled = off");
    if (c->kd.on_sampled && neg != CONFIG_NEGATIVES_RANDOM && neg != CONFIG_NEGATIVES_POPULARITY)
        return dmmp_fail(DMMP_EINVAL, "kd.on_sampled = on needs sampled pairs for the teacher to score: "
                                      "student.negatives = random or popularity (got %s; in_batch pairs every user "
                                      "with every item of the batch, batch^2 teacher passes a step)",
                         config_negatives_name(neg));
    if (c->train.schedule == CONFIG_SCHEDULE_TWO_STAGE && kind != CONFIG_MODEL_DMMP)
        return dmmp_fail(DMMP_EINVAL, "train.schedule = two_stage trains a teacher and then a student; "
                                      "model.kind = %s has only one: set train.schedule = joint", kname);
    if (c->train.teacher_epochs > 0 && c->train.schedule != CONFIG_SCHEDULE_TWO_STAGE)
        return dmmp_fail(DMMP_EINVAL, "train.teacher_epochs = %d only applies to train.schedule = two_stage",
                         c->train.teacher_epochs);
    if (kind == CONFIG_MODEL_TWO_TOWER && metric_needs_conversions(c->train.early_stopping_metric))
        return dmmp_fail(DMMP_EINVAL, "model.kind = two_tower predicts clicks only: "
                                      "train.early_stopping_metric must be a click metric (auc_ctr, gauc_ctr, "
                                      "logloss_ctr) or none");
    if (c->data.hash_buckets == 1)
        return dmmp_fail(DMMP_EINVAL, "data.hash_buckets = 1 maps every id to one row: use 0 (off) or >= 2");
    if (c->weighting.kind == CONFIG_WEIGHTING_FIXED && !(active_weight_sum(c) > 0))
        return dmmp_fail(DMMP_EINVAL, "weighting.kind = fixed: every weight of the loss terms model.kind = %s "
                                      "trains is 0, so nothing would be learned", kname);
    return DMMP_OK;
}

int config_has_teacher(config_model_kind kind) { return kind == CONFIG_MODEL_TEACHER_ONLY || kind == CONFIG_MODEL_DMMP; }

int config_has_student(config_model_kind kind) { return kind != CONFIG_MODEL_TEACHER_ONLY; }

int config_metric_higher_is_better(config_metric m)
{
    return !(m == CONFIG_METRIC_LOGLOSS_CTR || m == CONFIG_METRIC_LOGLOSS_CTCVR);
}
