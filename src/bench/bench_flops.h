/* The model's arithmetic per sample, counted over its dense layers only:
 * a layer in -> out costs 2 * in * out FLOPs forward and twice that backward
 * (dX and dW, each 2 * in * out; the input layers' dX is needed for the
 * embedding gradients, so it counts too). Biases, activations, softmaxes,
 * gate mixing, losses, embedding lookups and optimiser updates are not
 * counted: they are memory-bound and small next to the matmuls. A training
 * step with sampled negatives adds `negatives` per impression: the sampled
 * items through the item towers (forward and backward) and, with
 * kd.on_sampled, through the teacher (forward), or the in-batch score
 * matrix U V^T and its two gradients. */
#ifndef DMMP_BENCH_BENCH_FLOPS_H
#define DMMP_BENCH_BENCH_FLOPS_H

#include "model/model.h"
#include "config/config.h"

typedef struct model_flops {
    double teacher_forward; /* per sample */
    double student_forward; /* towers and the preference gate, per sample */
    double forward;         /* teacher + student */
    double backward;        /* 2 * forward */
    double negatives;       /* a training step's sampled negatives, forward and backward, per impression */
} model_flops;

/* Counts the FLOPs per sample of the variant cfg describes (validated
 * config) with input widths dims, from the config alone, layer by layer as
 * README (Models) describes the architecture. */
dmmp_status model_flops_count(const dmmp_config *cfg, model_dims dims, model_flops *out);

#endif
