/* The experiment configuration: one typed struct holding every choice
 * the paper leaves to the user, with its defaults, INI loading, "--set"
 * overrides, cross-key validation and a lossless INI rendering.
 *
 * The keys, their types, ranges, defaults and docs live in one table
 * (config_schema.h); this header is the struct the rest of the code reads. */
#ifndef DMMP_CONFIG_CONFIG_H
#define DMMP_CONFIG_CONFIG_H

#include <stddef.h>

#include "core/status.h"

/* Longest int list (layer dims, top-K list) a key may hold. */
#define CONFIG_MAX_LIST 8
/* Longest string value: libinih reads lines of at most 200 bytes, and
 * config_to_ini must produce lines config_load can read back. */
#define CONFIG_STRING_MAX 160

typedef struct config_int_list {
    int n;                    /* entries used; the rest of v is zero */
    int v[CONFIG_MAX_LIST];
} config_int_list;

typedef enum config_pooling { CONFIG_POOLING_SUM, CONFIG_POOLING_MEAN } config_pooling;

typedef enum config_model_kind {
    CONFIG_MODEL_TEACHER_ONLY,
    CONFIG_MODEL_TWO_TOWER,
    CONFIG_MODEL_THREE_TOWER,
    CONFIG_MODEL_DMMP
} config_model_kind;

/* Where the embedding tables live in a job of several processes
 * (README: "Several processes"). */
typedef enum config_placement {
    CONFIG_PLACEMENT_REPLICATED, /* every rank holds every row */
    CONFIG_PLACEMENT_SHARDED,    /* every table cut into one block of rows per rank */
    CONFIG_PLACEMENT_AUTO        /* sharded when the table has at least model.shard_min_rows rows */
} config_placement;

typedef enum config_teacher_kind {
    CONFIG_TEACHER_SHARED_BOTTOM,
    CONFIG_TEACHER_MMOE,
    CONFIG_TEACHER_CGC,
    CONFIG_TEACHER_PLE
} config_teacher_kind;

typedef enum config_kd_loss { CONFIG_KD_LOSS_BCE, CONFIG_KD_LOSS_MSE } config_kd_loss;

typedef enum config_weighting_kind {
    CONFIG_WEIGHTING_UNCERTAINTY,
    CONFIG_WEIGHTING_DWA,
    CONFIG_WEIGHTING_FIXED
} config_weighting_kind;

typedef enum config_optimizer { CONFIG_OPTIMIZER_ADAM, CONFIG_OPTIMIZER_ADAMW } config_optimizer;

typedef enum config_sparse_optimizer {
    CONFIG_SPARSE_LAZY_ADAM,
    CONFIG_SPARSE_ADAGRAD
} config_sparse_optimizer;

typedef enum config_schedule { CONFIG_SCHEDULE_JOINT, CONFIG_SCHEDULE_TWO_STAGE } config_schedule;

/* Where the towers' negatives come from besides the unclicked impressions. */
typedef enum config_negatives {
    CONFIG_NEGATIVES_NONE,       /* the impressions only (the paper's setting) */
    CONFIG_NEGATIVES_RANDOM,     /* neg_ratio items per impression, uniform over the corpus */
    CONFIG_NEGATIVES_POPULARITY, /* neg_ratio items per impression, by training impressions */
    CONFIG_NEGATIVES_IN_BATCH    /* the batch's other items, softmax over the batch */
} config_negatives;

/* Validation metric for early stopping; CONFIG_METRIC_NONE turns it off. */
typedef enum config_metric {
    CONFIG_METRIC_NONE,
    CONFIG_METRIC_AUC_CTR,
    CONFIG_METRIC_AUC_CVR,
    CONFIG_METRIC_AUC_CTCVR,
    CONFIG_METRIC_GAUC_CTR,
    CONFIG_METRIC_LOGLOSS_CTR,
    CONFIG_METRIC_LOGLOSS_CTCVR
} config_metric;

typedef enum config_split { CONFIG_SPLIT_TRAIN, CONFIG_SPLIT_VAL, CONFIG_SPLIT_TEST } config_split;

typedef struct config_data {
    char path[CONFIG_STRING_MAX + 1];
    config_pooling pooling;
    int embedding_dim;
    int hash_buckets;             /* 0: ids used as they are */
    int dense;                    /* 0/1: feed the dataset's dense features */
} config_data;

typedef struct config_model {
    config_model_kind kind;
    config_placement table_placement;
    int shard_min_rows;           /* auto: tables of at least this many rows are sharded */
} config_model;

typedef struct config_teacher {
    config_teacher_kind kind;
    int shared_experts;
    int specific_experts;         /* per task */
    int levels;
    config_int_list expert_dims;
    config_int_list tower_dims;
    int aux;                      /* 0/1: CTCVR over the entire space */
} config_teacher;

typedef struct config_student {
    config_int_list user_tower;
    config_int_list item_tower;   /* the click and the conversion item towers */
    int l2norm;
    double temperature;
    int gate;
    config_int_list gate_dims;
    config_negatives negatives;
    int neg_ratio;                /* random, popularity: sampled items per impression */
    int logq_correction;          /* in_batch: subtract log q(item) from the softmax logits */
    double softmax_temperature;   /* in_batch: the softmax reads score / this */
    int gate_user_bias;           /* 1: a third gate output beta(u) is added to the fused logit */
} config_student;

typedef struct config_fuse {
    double conversion_weight;     /* lambda */
} config_fuse;

typedef struct config_kd {
    int enabled;
    config_kd_loss loss;
    double temperature;
    int warmup_steps;
    int on_sampled;               /* the teacher scores the sampled pairs too */
} config_kd;

typedef struct config_weighting {
    config_weighting_kind kind;
    double dwa_temperature;
    double w_teacher_ctr;
    double w_teacher_ctcvr;
    double w_teacher_cvr;
    double w_student_ctr;
    double w_student_ctcvr;
    double w_student_fused;
    double w_kd_ctr;
    double w_kd_ctcvr;
    double w_kd_fused;
    double w_sampled_ctr;
    double w_sampled_ctcvr;
    double w_sampled_fused;
    double w_kd_sampled_ctr;
    double w_kd_sampled_ctcvr;
} config_weighting;

typedef struct config_train {
    int epochs;
    int teacher_epochs;           /* two_stage only; 0: same as epochs */
    int batch_size;
    double learning_rate;
    double embedding_lr;
    config_optimizer optimizer;
    double weight_decay;
    double adam_beta1;
    double adam_beta2;
    double adam_eps;
    config_sparse_optimizer sparse_optimizer;
    double embedding_l2;
    int seed;
    int threads;                  /* 0: the processors other programs leave free (core/free_cores.h) */
    config_schedule schedule;
    config_metric early_stopping_metric;
    int patience;
    int log_every;                /* steps; 0: epoch summaries only */
    int curve_every;              /* steps between per-step curve points; 0: none */
    double grad_clip;             /* global norm; 0: off */
} config_train;

typedef struct config_eval {
    config_int_list topk;
    config_split split;
    int max_users;                /* 0: all */
} config_eval;

typedef struct dmmp_config {
    config_data data;
    config_model model;
    config_teacher teacher;
    config_student student;
    config_fuse fuse;
    config_kd kd;
    config_weighting weighting;
    config_train train;
    config_eval eval;
} dmmp_config;

/* Fills c with the model defaults (every byte set, so memcmp compares). */
void config_defaults(dmmp_config *c);

/* Resets c to defaults, then applies the INI file at path; per-key types and
 * ranges are checked, cross-key rules are not (see config_validate). On
 * failure c is unchanged and the message names file, line, key and value. */
dmmp_status config_load(dmmp_config *c, const char *path);

/* Like config_load over INI text in memory; origin names it in messages. */
dmmp_status config_load_string(dmmp_config *c, const char *text, const char *origin);

/* Applies one "section.key=value" override; origin (e.g. "--set") names it
 * in messages. On failure c is unchanged. */
dmmp_status config_set(dmmp_config *c, const char *assignment, const char *origin);

/* Checks the rules that span keys (ple needs levels >= 2, kd needs a
 * teacher and a student, tower output sizes agree, ...). */
dmmp_status config_validate(const dmmp_config *c);

/* Renders every key as INI text that config_load_string reads back to an
 * identical struct; *out_text is malloc'ed, the caller frees it. */
dmmp_status config_to_ini(const dmmp_config *c, char **out_text);

/* 1 when a and b hold the same value for every key, else 0. */
int config_equal(const dmmp_config *a, const dmmp_config *b);

/* Writes the value of "section.key" as INI text into buf (len bytes). */
dmmp_status config_value_text(const dmmp_config *c, const char *dotted_key, char *buf, size_t len);

/* 1 when a larger value of metric m is better (AUCs), 0 otherwise (log loss). */
int config_metric_higher_is_better(config_metric m);

/* How the configuration spells a value ("auc_ctr", "dmmp"; "" for none of
 * them), from the schema's one table of names. */
const char *config_metric_name(config_metric m);
const char *config_model_kind_name(config_model_kind k);
const char *config_negatives_name(config_negatives n);

/* Whether a variant has the ranking teacher (teacher_only, dmmp) and the
 * retrieval towers (every variant but teacher_only). */
int config_has_teacher(config_model_kind kind);
int config_has_student(config_model_kind kind);

#endif
