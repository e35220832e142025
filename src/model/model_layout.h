/* The layout of a model's dense parameter buffer (/model/params of a
 * checkpoint): every block named, with its offset, shape and the activation
 * applied to its layer's output, so that the weights can be read without
 * this code (README: Checkpoints).
 *
 * The blocks are read off the built model itself (each layer's W and b
 * pointers), not re-planned, so the table cannot drift from the buffer.
 * Names: teacher/level<l>/expert_<ctr|cvr|shared><i>/layer<j>/{W,b},
 * teacher/level<l>/gate_<ctr|cvr>/{W,b}, teacher/level<l>/shared_gate/{W,b},
 * teacher/tower_<ctr|cvr>/layer<j>/{W,b}; student/user_tower/...,
 * student/click_item_tower/..., student/conversion_item_tower/...,
 * student/gate/layer<j>/{W,b}; head/b_c, head/b_v, head/b_f (the score
 * biases); loss_weighting/log_var (the learned s_i, one per loss term in
 * loss_term order); and <block>/padding for the floats that align the next
 * block to 16. A W is rows = in x cols = out, row-major: y = act(x W + b);
 * a b is 1 x out. Sorted by offset, the entries cover [0, total) exactly
 * once. */
#ifndef DMMP_MODEL_MODEL_LAYOUT_H
#define DMMP_MODEL_MODEL_LAYOUT_H

#include <stddef.h>

#include "core/status.h"
#include "model/model.h"

#define MODEL_LAYOUT_NAME_MAX 96

typedef struct model_layout_entry {
    char name[MODEL_LAYOUT_NAME_MAX];
    size_t offset, rows, cols;
    /* "relu", "linear" (nothing applied: tower outputs, logits), "softmax"
     * (over the row: gate logits), or "-" for what is not a layer's weight
     * (head biases, loss weights, padding). */
    const char *activation;
} model_layout_entry;

typedef struct model_layout {
    int n, cap;
    model_layout_entry *entries; /* sorted by offset */
    size_t total;                /* floats of the buffer */
} model_layout;

/* Builds the layout of m; fails (naming the blocks) when two blocks overlap
 * or a gap is anything but the alignment padding. */
dmmp_status model_layout_build(const model *m, model_layout *out);

void model_layout_free(model_layout *l);

#endif
