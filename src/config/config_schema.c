/* The key table. Defaults are the model defaults; they are written as
 * text and parsed by config_defaults so the table shows them as a user
 * would write them and the same parser checks them. */
#include "config/config_schema.h"

#include <limits.h>
#include <stddef.h>
#include <string.h>

/* Enum fields are read and written through int pointers. */
#define ENUM_IS_INT(t) _Static_assert(sizeof(t) == sizeof(int), #t " must be int-sized")
ENUM_IS_INT(config_pooling);
ENUM_IS_INT(config_model_kind);
ENUM_IS_INT(config_teacher_kind);
ENUM_IS_INT(config_kd_loss);
ENUM_IS_INT(config_weighting_kind);
ENUM_IS_INT(config_optimizer);
ENUM_IS_INT(config_sparse_optimizer);
ENUM_IS_INT(config_schedule);
ENUM_IS_INT(config_metric);
ENUM_IS_INT(config_split);
ENUM_IS_INT(config_negatives);
ENUM_IS_INT(config_placement);

static const char *const pooling_names[] = {"sum", "mean", NULL};
static const char *const model_names[] = {"teacher_only", "two_tower", "three_tower", "dmmp", NULL};
static const char *const teacher_names[] = {"shared_bottom", "mmoe", "cgc", "ple", NULL};
static const char *const kd_loss_names[] = {"bce", "mse", NULL};
static const char *const weighting_names[] = {"uncertainty", "dwa", "fixed", NULL};
static const char *const optimizer_names[] = {"adam", "adamw", NULL};
static const char *const sparse_names[] = {"lazy_adam", "adagrad", NULL};
static const char *const schedule_names[] = {"joint", "two_stage", NULL};
static const char *const metric_names[] = {"none",      "auc_ctr",     "auc_cvr",       "auc_ctcvr",
                                           "gauc_ctr", "logloss_ctr", "logloss_ctcvr", NULL};
static const char *const split_names[] = {"train", "val", "test", NULL};
static const char *const placement_names[] = {"replicated", "sharded", "auto", NULL};
static const char *const negatives_names[] = {"none", "random", "popularity", "in_batch", NULL};

/* The spellings above are the only enum -> name tables of the framework. */
static const char *enum_name(const char *const *names, int count, int v) { return v >= 0 && v < count ? names[v] : ""; }

const char *config_metric_name(config_metric m)
{
    return enum_name(metric_names, (int)(sizeof metric_names / sizeof metric_names[0]) - 1, (int)m);
}

const char *config_model_kind_name(config_model_kind k)
{
    return enum_name(model_names, (int)(sizeof model_names / sizeof model_names[0]) - 1, (int)k);
}

const char *config_negatives_name(config_negatives n)
{
    return enum_name(negatives_names, (int)(sizeof negatives_names / sizeof negatives_names[0]) - 1, (int)n);
}

#define AT(field) offsetof(dmmp_config, field)
#define KEY_INT(sec, key, lo, hi, def, text)                                                         \
    {.section = #sec, .name = #key, .type = CONFIG_TYPE_INT, .offset = AT(sec.key), .min = (lo),     \
     .max = (hi), .default_text = (def), .doc = (text)}
#define KEY_DOUBLE(sec, key, lo, lo_open, hi, hi_open, def, text)                                    \
    {.section = #sec, .name = #key, .type = CONFIG_TYPE_DOUBLE, .offset = AT(sec.key), .min = (lo),  \
     .min_open = (lo_open), .max = (hi), .max_open = (hi_open), .default_text = (def), .doc = (text)}
#define KEY_BOOL(sec, key, def, text)                                                                \
    {.section = #sec, .name = #key, .type = CONFIG_TYPE_BOOL, .offset = AT(sec.key),                 \
     .default_text = (def), .doc = (text)}
#define KEY_ENUM(sec, key, names, def, text)                                                         \
    {.section = #sec, .name = #key, .type = CONFIG_TYPE_ENUM, .offset = AT(sec.key),                 \
     .enum_names = (names), .default_text = (def), .doc = (text)}
#define KEY_LIST(sec, key, lo, hi, fewest, asc, def, text)                                           \
    {.section = #sec, .name = #key, .type = CONFIG_TYPE_INT_LIST, .offset = AT(sec.key),             \
     .min = (lo), .max = (hi), .min_count = (fewest), .ascending = (asc), .default_text = (def),    \
     .doc = (text)}
#define KEY_STRING(sec, key, def, text)                                                              \
    {.section = #sec, .name = #key, .type = CONFIG_TYPE_STRING, .offset = AT(sec.key),               \
     .default_text = (def), .doc = (text)}

#define MAX_DIM 65536
#define OPEN 1
#define CLOSED 0

static const config_key schema[] = {
    KEY_STRING(data, path, "", "HDF5 dataset file (format_version 1)"),
    KEY_ENUM(data, pooling, pooling_names, "sum", "pooling of weighted multi-valued fields"),
    KEY_INT(data, embedding_dim, 1, 1024, "16", "embedding size d of every sparse field"),
    KEY_INT(data, hash_buckets, 0, 1 << 30, "0", "embedding rows of a field with more ids: ids hashed into them, id 0 kept in row 0 (0: off; train and eval alike)"),
    KEY_BOOL(data, dense, "on", "feed the dataset's dense features when it has them"),

    KEY_ENUM(model, kind, model_names, "dmmp", "which model to train (the four variants of the ablation)"),
    KEY_ENUM(model, table_placement, placement_names, "replicated", "training on N ranks: replicated tables, sharded (one block of rows per rank) or auto (from shard_min_rows rows); 1 rank: whole"),
    KEY_INT(model, shard_min_rows, 1, INT_MAX, "1000000", "table_placement = auto: tables of at least this many rows are sharded"),

    KEY_ENUM(teacher, kind, teacher_names, "cgc", "multi-task teacher architecture"),
    KEY_INT(teacher, shared_experts, 0, 64, "2", "task-shared experts S"),
    KEY_INT(teacher, specific_experts, 0, 64, "1", "task-specific experts P per task"),
    KEY_INT(teacher, levels, 1, 8, "1", "extraction levels L (ple needs >= 2)"),
    KEY_LIST(teacher, expert_dims, 1, MAX_DIM, 1, 0, "256,128", "hidden sizes of each expert MLP"),
    KEY_LIST(teacher, tower_dims, 1, MAX_DIM, 0, 0, "64", "hidden sizes of each task tower (none: linear)"),
    KEY_BOOL(teacher, aux, "on", "CTCVR loss over all impressions (off: CVR on clicked only)"),

    KEY_LIST(student, user_tower, 1, MAX_DIM, 1, 0, "256,128,64", "user tower sizes; the last is k"),
    KEY_LIST(student, item_tower, 1, MAX_DIM, 1, 0, "256,128,64", "click and conversion item tower sizes"),
    KEY_BOOL(student, l2norm, "off", "L2-normalise tower outputs before the inner product"),
    KEY_DOUBLE(student, temperature, 0, OPEN, 100, CLOSED, "1.0", "tau dividing the inner products"),
    KEY_BOOL(student, gate, "on", "user preference gate (off: fixed 0.5/0.5)"),
    KEY_LIST(student, gate_dims, 1, MAX_DIM, 0, 0, "32", "hidden sizes of the gate MLP (none: linear)"),
    KEY_ENUM(student, negatives, negatives_names, "none", "negatives of the towers besides unclicked impressions: random or popularity (corpus items, click 0), in_batch (softmax over the batch's items)"),
    KEY_INT(student, neg_ratio, 1, 1024, "4", "random, popularity: sampled items per impression"),
    KEY_BOOL(student, logq_correction, "on", "in_batch: subtract log q(item), its share of training impressions, from each logit"),
    KEY_DOUBLE(student, softmax_temperature, 0, OPEN, 100, CLOSED, "1.0", "in_batch: the softmax reads score / this"),
    KEY_BOOL(student, gate_user_bias, "off",
             "not the paper's form: the gate MLP also outputs a per-user bias added to the fused logit"),

    KEY_DOUBLE(fuse, conversion_weight, 0, CLOSED, 1, CLOSED, "0.5", "lambda in y_f = (1-lambda) y_c + lambda y_ctcvr"),

    KEY_BOOL(kd, enabled, "on", "distil the teacher into the student"),
    KEY_ENUM(kd, loss, kd_loss_names, "bce", "distillation loss against teacher probabilities"),
    KEY_DOUBLE(kd, temperature, 0, OPEN, 100, CLOSED, "1.0", "soft-target temperature T (loss scaled by T^2)"),
    KEY_INT(kd, warmup_steps, 0, INT_MAX, "0", "steps before the KD terms switch on"),
    KEY_BOOL(kd, on_sampled, "off", "the teacher scores the sampled pairs (cross features missing) and the student matches its pCTR and pCTCVR there"),

    KEY_ENUM(weighting, kind, weighting_names, "uncertainty", "how the loss terms are weighted"),
    KEY_DOUBLE(weighting, dwa_temperature, 0, OPEN, 100, CLOSED, "2.0", "dynamic weight average temperature"),
    KEY_DOUBLE(weighting, w_teacher_ctr, 0, CLOSED, 1000, CLOSED, "1", "fixed weight of L_T_ctr"),
    KEY_DOUBLE(weighting, w_teacher_ctcvr, 0, CLOSED, 1000, CLOSED, "1", "fixed weight of L_T_ctcvr"),
    KEY_DOUBLE(weighting, w_teacher_cvr, 0, CLOSED, 1000, CLOSED, "1", "fixed weight of L_T_cvr (teacher.aux = off)"),
    KEY_DOUBLE(weighting, w_student_ctr, 0, CLOSED, 1000, CLOSED, "1", "fixed weight of L_S_ctr"),
    KEY_DOUBLE(weighting, w_student_ctcvr, 0, CLOSED, 1000, CLOSED, "1", "fixed weight of L_S_ctcvr"),
    KEY_DOUBLE(weighting, w_student_fused, 0, CLOSED, 1000, CLOSED, "1", "fixed weight of L_S_fused"),
    KEY_DOUBLE(weighting, w_kd_ctr, 0, CLOSED, 1000, CLOSED, "1", "fixed weight of L_KD_ctr"),
    KEY_DOUBLE(weighting, w_kd_ctcvr, 0, CLOSED, 1000, CLOSED, "1", "fixed weight of L_KD_ctcvr"),
    KEY_DOUBLE(weighting, w_kd_fused, 0, CLOSED, 1000, CLOSED, "1", "fixed weight of L_KD_fused"),
    KEY_DOUBLE(weighting, w_sampled_ctr, 0, CLOSED, 1000, CLOSED, "1", "fixed weight of the sampled-pair (in_batch: softmax) CTR term"),
    KEY_DOUBLE(weighting, w_sampled_ctcvr, 0, CLOSED, 1000, CLOSED, "1", "fixed weight of the sampled-pair CTCVR term"),
    KEY_DOUBLE(weighting, w_sampled_fused, 0, CLOSED, 1000, CLOSED, "1", "fixed weight of the sampled-pair fused term"),
    KEY_DOUBLE(weighting, w_kd_sampled_ctr, 0, CLOSED, 1000, CLOSED, "1", "fixed weight of L_KD_ctr on the sampled pairs"),
    KEY_DOUBLE(weighting, w_kd_sampled_ctcvr, 0, CLOSED, 1000, CLOSED, "1", "fixed weight of L_KD_ctcvr on the sampled pairs"),

    KEY_INT(train, epochs, 1, 100000, "10", "passes over the training split"),
    KEY_INT(train, teacher_epochs, 0, 100000, "0", "two_stage: teacher epochs (0: train.epochs)"),
    KEY_INT(train, batch_size, 1, 1 << 20, "1024", "impressions per step"),
    KEY_DOUBLE(train, learning_rate, 0, OPEN, 10, CLOSED, "1e-3", "dense optimiser step size"),
    KEY_DOUBLE(train, embedding_lr, 0, OPEN, 10, CLOSED, "1e-3", "sparse embedding optimiser step size"),
    KEY_ENUM(train, optimizer, optimizer_names, "adam", "dense optimiser (adamw: decoupled weight decay)"),
    KEY_DOUBLE(train, weight_decay, 0, CLOSED, 1, CLOSED, "0", "weight decay of dense weights"),
    KEY_DOUBLE(train, adam_beta1, 0, CLOSED, 1, OPEN, "0.9", "Adam first-moment decay"),
    KEY_DOUBLE(train, adam_beta2, 0, CLOSED, 1, OPEN, "0.999", "Adam second-moment decay"),
    KEY_DOUBLE(train, adam_eps, 0, OPEN, 1, CLOSED, "1e-8", "Adam denominator guard"),
    KEY_ENUM(train, sparse_optimizer, sparse_names, "lazy_adam", "embedding optimiser (rows in the batch only)"),
    KEY_DOUBLE(train, embedding_l2, 0, CLOSED, 1, CLOSED, "0", "L2 penalty on the embedding rows used"),
    KEY_INT(train, seed, 0, INT_MAX, "42", "seed of every random stream of a run"),
    KEY_INT(train, threads, 0, 4096, "0", "OpenMP threads (0: the free processors, fewer next to busy programs)"),
    KEY_ENUM(train, schedule, schedule_names, "joint", "joint: teacher and student together; two_stage"),
    KEY_ENUM(train, early_stopping_metric, metric_names, "auc_ctr", "validation metric for early stopping"),
    KEY_INT(train, patience, 1, 100000, "2", "epochs without improvement before stopping"),
    KEY_INT(train, log_every, 0, INT_MAX, "100", "steps between progress lines (0: epochs only)"),
    KEY_INT(train, curve_every, 0, INT_MAX, "20", "steps between points of the per-step curves in results.h5 (0: none)"),
    KEY_DOUBLE(train, grad_clip, 0, CLOSED, 1e6, CLOSED, "0", "clip the global gradient norm (0: off)"),

    KEY_LIST(eval, topk, 1, 1000000, 1, 1, "20,50,100,200", "K of Recall@K, NDCG@K, HitRate@K"),
    KEY_ENUM(eval, split, split_names, "test", "split the final evaluation reads"),
    KEY_INT(eval, max_users, 0, INT_MAX, "0", "matching: users evaluated (0: all)"),
};

static const char *const sections[] = {"data", "model", "teacher", "student", "fuse",
                                       "kd",   "weighting", "train", "eval"};

size_t config_schema_size(void) { return sizeof schema / sizeof schema[0]; }

const config_key *config_schema_at(size_t i) { return i < config_schema_size() ? &schema[i] : NULL; }

const config_key *config_schema_find(const char *section, const char *name)
{
    for (size_t i = 0; i < config_schema_size(); i++)
        if (!strcmp(schema[i].section, section) && !strcmp(schema[i].name, name)) return &schema[i];
    return NULL;
}

size_t config_section_count(void) { return sizeof sections / sizeof sections[0]; }

const char *config_section_at(size_t i) { return i < config_section_count() ? sections[i] : NULL; }

int config_section_known(const char *section)
{
    for (size_t i = 0; i < config_section_count(); i++)
        if (!strcmp(sections[i], section)) return 1;
    return 0;
}

void config_defaults(dmmp_config *c)
{
    memset(c, 0, sizeof *c);
    /* The test suite checks every default parses and validates, so a
     * failure here is a broken table, not a user error. */
    for (size_t i = 0; i < config_schema_size(); i++)
        (void)config_key_parse(&schema[i], c, schema[i].default_text, "the default");
}
