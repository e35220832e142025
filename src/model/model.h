/* The four variants of the ablation behind one interface: teacher_only,
 * two_tower, three_tower and dmmp (teacher + three-tower student with the
 * user preference gate and distillation), with their loss terms and the
 * adaptive loss weighting.
 *
 * The model sees three dense inputs the feature layer assembles from a batch:
 * x_t (every field, for the teacher), x_u (user and context fields, for the
 * user tower and the gate) and x_i (item fields, for the item towers). Its
 * backward returns their gradients so the feature layer can update the
 * embedding tables. */
#ifndef DMMP_MODEL_MODEL_H
#define DMMP_MODEL_MODEL_H

#include <stdint.h>

#include "model/params.h"
#include "model/teacher.h"
#include "model/weighting.h"
#include "nn/mlp.h"

typedef enum loss_term {
    TERM_TEACHER_CTR = 0,
    TERM_TEACHER_CTCVR, /* auxiliary pCTCVR over the entire space (teacher.aux = on) */
    TERM_TEACHER_CVR,   /* CVR over clicked impressions only (teacher.aux = off) */
    TERM_STUDENT_CTR,
    TERM_STUDENT_CTCVR,
    TERM_STUDENT_FUSED,
    TERM_KD_CTR,
    TERM_KD_CTCVR,
    TERM_KD_FUSED,
    TERM_SAMPLED_CTR,   /* sampled pairs (random, popularity: BCE, click 0; in_batch: softmax over the batch) */
    TERM_SAMPLED_CTCVR,
    TERM_SAMPLED_FUSED,
    TERM_KD_SAMPLED_CTR,   /* kd.on_sampled: the teacher's pCTR on the sampled pairs */
    TERM_KD_SAMPLED_CTCVR,
    TERM_COUNT
} loss_term;

/* "teacher_ctr", "student_fused", "kd_ctcvr", ... */
const char *loss_term_name(loss_term t);

typedef enum model_variant {
    MODEL_TEACHER_ONLY = 0, /* the ranking teacher alone */
    MODEL_TWO_TOWER,        /* user tower + one (click) item tower */
    MODEL_THREE_TOWER,      /* user tower + click and conversion item towers, gate fixed at 0.5 / 0.5 */
    MODEL_DMMP              /* teacher + three towers, learned gate, distillation */
} model_variant;

/* "teacher_only", "two_tower", "three_tower", "dmmp" (the model.kind values). */
const char *model_variant_name(model_variant v);

typedef enum model_kd_loss { MODEL_KD_BCE = 0, MODEL_KD_MSE = 1 } model_kd_loss;

/* The towers' negatives besides the unclicked impressions (student.negatives;
 * random and popularity differ only in how the sampler draws the items). */
typedef enum model_negatives {
    MODEL_NEG_NONE = 0,
    MODEL_NEG_PAIRS,    /* neg_ratio sampled items per impression, each a pair with click 0 */
    MODEL_NEG_IN_BATCH  /* the other items of the batch, a softmax over the batch */
} model_negatives;

#define MODEL_MAX_DIMS 8

/* What the model needs to know of a configuration, and nothing more; the run
 * recipe (train/recipe.h) fills it from the configuration. */
typedef struct model_spec {
    model_variant variant;
    teacher_config teacher;        /* teacher_only and dmmp */
    int teacher_aux;               /* 1: the auxiliary pCTCVR over the entire space; 0: CVR on clicks */
    int user_tower[MODEL_MAX_DIMS], n_user_tower;
    int item_tower[MODEL_MAX_DIMS], n_item_tower;
    int gate_dims[MODEL_MAX_DIMS], n_gate_dims; /* hidden layers; a 2-unit output is added */
    int learned_gate;              /* dmmp: the user preference gate (0: fixed 0.5 / 0.5) */
    int gate_user_bias;            /* learned gate: a third output beta(u) added to the fused logit */
    double temperature;            /* tau of the tower scores */
    int l2norm;                    /* 1: cosine scores */
    double conversion_weight;      /* lambda of the fused target y_f */
    int kd;                        /* dmmp: distillation on */
    model_kd_loss kd_loss;
    double kd_temperature;
    int64_t kd_warmup_steps;
    weighting_kind weighting;
    double fixed_weights[TERM_COUNT]; /* weighting fixed */
    double dwa_temperature;
    model_negatives negatives;     /* towers' negatives (two_tower, three_tower, dmmp) */
    int neg_ratio;                 /* MODEL_NEG_PAIRS: sampled items per impression */
    int logq;                      /* MODEL_NEG_IN_BATCH: subtract log q(item) from the logits */
    double softmax_temperature;    /* MODEL_NEG_IN_BATCH */
    int kd_on_sampled;             /* dmmp, MODEL_NEG_PAIRS: distil on the sampled pairs too */
} model_spec;

/* What a training step with negatives adds to its batch (model_forward_negs):
 *  - MODEL_NEG_PAIRS: x_i holds batch * (1 + neg_ratio) rows, the
 *    impressions' items first, then the items sampled for row b at rows
 *    batch + b * neg_ratio + r; with kd_on_sampled, x_t holds the teacher
 *    rows of the same pairs after the impressions' (the row's user and
 *    context, the sampled item, cross fields missing);
 *  - MODEL_NEG_IN_BATCH: neg_log_q[b] = -log q of row b's item (its share of
 *    the training impressions: how likely the batch holds it) and item[b],
 *    the item index (another column with the target's item is left out of
 *    that row's softmax); either may be NULL (no correction, none left out). */
typedef struct model_negs {
    const float *neg_log_q;
    const int32_t *item;
} model_negs;

#include "model/negatives.h"


/* Where the blocks of the dense parameter buffer are (offsets in floats). */
typedef struct model_blocks {
    size_t teacher_end;            /* the teacher's parameters are [0, teacher_end) */
    size_t logvar_off;             /* the loss-weighting s_i: [logvar_off, logvar_off + TERM_COUNT) */
    int has_logvar;                /* uncertainty weighting learns them */
} model_blocks;

typedef struct model_dims {
    int teacher_in; /* width of x_t (0 when the variant has no teacher) */
    int user_in;    /* width of x_u (0 when it has no student) */
    int item_in;    /* width of x_i */
} model_dims;

typedef struct model {
    model_spec spec;
    model_dims dims;
    model_blocks blocks;
    int max_batch;
    int has_teacher, has_student, n_item_towers, learned_gate, fused_head, kd;
    int term_active[TERM_COUNT];
    nn_ctx *ctx;
    param_buffer params; /* every dense parameter, and the loss-weighting s_i */
    teacher teacher;
    mlp user_tower, item_tower[2], gate;
    float *bias;         /* b_c, b_v, b_f in params */
    float *bias_grad;
    loss_weighting weighting;
    int k;               /* tower output width */
    /* forward outputs, batch long unless noted */
    float *z_t_ctr, *z_t_cvr;         /* teacher logits */
    float *s_c, *s_v, *w, *r, *z_f;   /* student scores, gate weights (batch x 2), fused score and logit */
    float *gate_logits, *gate_dout;   /* gate_user_bias: the two softmax logits (batch x 2), dL/d(gate output) (batch x 3) */
    float *u_n, *vc_n, *vv_n;         /* l2-normalised towers (batch x k) */
    /* backward buffers */
    float *dz_t_ctr, *dz_t_cvr, *ds_c, *ds_v, *dz_f, *dw, *du, *dv[2];
    float *term_grad[TERM_COUNT][2];
    float *targets[2];                /* hard targets: y_ctcvr and the fused y_f */
    float *kd_target[3];              /* teacher soft targets: pCTR_T, pCTCVR_T, fused */
    int kd_targets_frozen;            /* 1: keep the targets of the last step (gradient checks hold the
                                         teacher's outputs constant for the KD terms this way) */
    float *click_f, *conv_f;          /* labels as floats */
    float *dx_t, *dx_u, *dx_i;        /* input gradients */
    double term_loss[TERM_COUNT];     /* losses of the last step (unweighted) */
    double total_loss;
    float term_scale[TERM_COUNT];
    int max_items;                    /* rows the item towers take: max_batch (1 + neg_ratio) for pairs */
    int neg_items;                    /* item rows of the last forward (batch, or batch (1 + neg_ratio)) */
    model_neg neg;                    /* the sampled pairs' and the in-batch scores, losses and buffers */
} model;

/* Builds the model of spec with the given input widths; weights initialised
 * from seed. */
dmmp_status model_init(model *m, const model_spec *spec, model_dims dims, int max_batch, uint64_t seed);

/* The first active loss term whose input logits over the last forward's n
 * rows are not all finite, or NULL. */
const char *model_nonfinite_term(const model *m, int n);

/* Forward pass over a batch (x_t, x_u, x_i may be NULL when the variant does
 * not read them): the impressions alone, as validation and evaluation see
 * them. */
dmmp_status model_forward(model *m, const float *x_t, const float *x_u, const float *x_i, int batch);

/* The forward of a training step: model_forward plus, when negs is not NULL
 * and the spec has negatives, the sampled pairs' or the in-batch scores (the
 * layouts of model_negs). model_backward_negs with the same negs follows. */
dmmp_status model_forward_negs(model *m, const float *x_t, const float *x_u, const float *x_i, int batch,
                               const model_negs *negs);

/* Losses of the last forward against the labels, the weighted total, and
 * the backward pass: parameter gradients (zeroed first) and dx_t, dx_u,
 * dx_i. step gates the distillation warm-up (kd.warmup_steps). */
dmmp_status model_backward(model *m, const float *x_t, const float *x_u, const float *x_i, const uint8_t *click,
                           const uint8_t *conversion, int batch, int64_t step);

/* model_backward after model_forward_negs: the sampled terms join the
 * losses, and dx_i covers every item row of the forward (dx_t only the
 * impressions: the teacher's outputs on the pairs are constants). */
dmmp_status model_backward_negs(model *m, const float *x_t, const float *x_u, const float *x_i, const uint8_t *click,
                                const uint8_t *conversion, int batch, int64_t step, const model_negs *negs);

/* Probabilities of the last forward for ranking metrics: the student's when
 * the variant has one, the teacher's otherwise (any output may be NULL). */
void model_predictions(const model *m, int batch, float *p_ctr, float *p_cvr, float *p_ctcvr);

/* The teacher's probabilities of the last forward (has_teacher only). */
void model_teacher_predictions(const model *m, int batch, float *p_ctr, float *p_cvr, float *p_ctcvr);

/* Retrieval query for users: q = [w_c u, w_v u] (width 2k) for dmmp and
 * three_tower, u for two_tower; batch rows of x_u. */
dmmp_status model_user_query(model *m, const float *x_u, int batch, float *q);

/* Retrieval item vectors: [v_c, v_v] (width 2k) or v_c for two_tower. */
dmmp_status model_item_vectors(model *m, const float *x_i, int batch, float *v);

/* Width of the retrieval vectors (2k, or k for two_tower). */
int model_retrieval_dim(const model *m);

/* Frees layers and buffers. */
void model_free(model *m);

#endif
