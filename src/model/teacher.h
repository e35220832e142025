/* The multi-task teacher: customised gate control (CGC), its multi-level form
 * PLE, and MMoE / shared-bottom as special cases, with one tower per task.
 *
 * A level has S shared experts and P specific experts per task (CTR, CVR).
 * Task t's gate is a softmax over its own P experts then the S shared ones;
 * below the last level a shared gate over all experts feeds the next level's
 * shared input. kind = mmoe is one level with P = 0; shared_bottom is one
 * shared expert and no gate (the gate would be a constant 1). Each tower is an
 * MLP ending in one logit: z_ctr and z_cvr. */
#ifndef DMMP_MODEL_TEACHER_H
#define DMMP_MODEL_TEACHER_H

#include "core/rng.h"
#include "core/status.h"
#include "model/params.h"
#include "nn/dense.h"
#include "nn/dnnl_ctx.h"
#include "nn/mlp.h"

#define TEACHER_MAX_LEVELS 4
#define TEACHER_MAX_EXPERTS 16
#define TEACHER_MAX_DIMS 8
#define TEACHER_TASKS 2

typedef enum teacher_kind { TEACHER_SHARED_BOTTOM = 0, TEACHER_MMOE, TEACHER_CGC, TEACHER_PLE } teacher_kind;

typedef struct teacher_config {
    teacher_kind kind;
    int n_shared;   /* S */
    int n_specific; /* P per task */
    int levels;     /* L */
    int expert_dims[TEACHER_MAX_DIMS];
    int n_expert_dims;
    int tower_dims[TEACHER_MAX_DIMS]; /* hidden dims; a final 1-unit layer is added */
    int n_tower_dims;
} teacher_config;

/* One gate: a linear layer over the gate's input, softmax over its experts, mixing. */
typedef struct teacher_gate {
    dense_layer linear;
    int n_experts;
    int expert_ids[2 * TEACHER_MAX_EXPERTS + TEACHER_MAX_EXPERTS]; /* indices into the level's experts */
    float *logits, *probs, *dlogits; /* batch x n_experts */
    float *out, *dout;               /* batch x expert width */
} teacher_gate;

typedef struct teacher_level {
    int in_dim;
    int n_experts; /* all experts of the level: task 0's, task 1's, then shared */
    int expert_task[3 * TEACHER_MAX_EXPERTS]; /* 0, 1, or 2 = shared */
    mlp experts[3 * TEACHER_MAX_EXPERTS];
    float *dexpert[3 * TEACHER_MAX_EXPERTS]; /* batch x width gradient accumulators */
    int has_gates;       /* 0 only for shared_bottom */
    teacher_gate gate[TEACHER_TASKS];
    int has_shared_gate; /* levels below the last in PLE */
    teacher_gate shared_gate;
    float *din[3]; /* gradients of the level's inputs (task 0, task 1, shared); NULL at level 0 */
} teacher_level;

typedef struct teacher {
    teacher_config cfg;
    int in_dim, width, max_batch;
    teacher_level level[TEACHER_MAX_LEVELS];
    mlp tower[TEACHER_TASKS];
    const float *task_in[TEACHER_TASKS]; /* the towers' inputs of the last forward */
    float *dtower_in[TEACHER_TASKS];
} teacher;

/* Checks cfg (experts > 0, dims > 0, ple needs levels >= 2, ...). */
dmmp_status teacher_config_check(const teacher_config *cfg);

/* Reserves the teacher's parameters in p (planning pass); returns the count. */
size_t teacher_plan(const teacher_config *cfg, int in_dim, param_buffer *p);

/* Builds the teacher over the parameters reserved by teacher_plan at
 * offset (binding pass), creating its layers and buffers for max_batch. */
dmmp_status teacher_init(teacher *t, nn_ctx *ctx, const teacher_config *cfg, int in_dim, int max_batch,
                         param_buffer *p, size_t offset);

/* Initialises the teacher's weights (He / Xavier) from r. */
void teacher_init_weights(teacher *t, rng *r);

/* Forward over x (batch x in_dim); logits in z_ctr and z_cvr (batch each). */
dmmp_status teacher_forward(teacher *t, const float *x, int batch, float *z_ctr, float *z_cvr);

/* Backward from the logits' gradients; accumulates parameter gradients and,
 * when dx is not NULL, writes the input gradient to dx (batch x in_dim,
 * OVERWRITTEN). */
dmmp_status teacher_backward(teacher *t, const float *x, const float *dz_ctr, const float *dz_cvr, float *dx,
                             int batch);

/* Frees the layers and buffers (not the parameters). */
void teacher_free(teacher *t);

#endif
