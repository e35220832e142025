#include "model/model_layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct builder {
    model_layout *l;
    const float *base;
    dmmp_status s;
} builder;

static void add(builder *b, const char *name, const float *at, size_t rows, size_t cols, const char *act)
{
    model_layout *l = b->l;
    if (b->s != DMMP_OK) return;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        model_layout_entry *e = realloc(l->entries, (size_t)cap * sizeof *e);
        if (!e) {
            b->s = dmmp_fail(DMMP_ENOMEM, "model layout: out of memory for %d entries", cap);
            return;
        }
        l->entries = e;
        l->cap = cap;
    }
    model_layout_entry *e = &l->entries[l->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->offset = (size_t)(at - b->base);
    e->rows = rows;
    e->cols = cols;
    e->activation = act;
}

static const char *act_name(nn_act a) { return a == ACT_RELU ? "relu" : "linear"; }

static void add_dense(builder *b, const char *prefix, const dense_layer *d, const char *act)
{
    char name[MODEL_LAYOUT_NAME_MAX + 8];
    snprintf(name, sizeof name, "%s/W", prefix);
    add(b, name, d->W, (size_t)d->in, (size_t)d->out, act ? act : act_name(d->act));
    snprintf(name, sizeof name, "%s/b", prefix);
    add(b, name, d->b, 1, (size_t)d->out, act ? act : act_name(d->act));
}

/* last_act overrides the last layer's activation name (the gates' softmax). */
static void add_mlp(builder *b, const char *prefix, const mlp *m, const char *last_act)
{
    char name[MODEL_LAYOUT_NAME_MAX];
    for (int i = 0; i < m->n_layers; i++) {
        snprintf(name, sizeof name, "%.60s/layer%d", prefix, i);
        add_dense(b, name, &m->layers[i], i + 1 == m->n_layers ? last_act : NULL);
    }
}

static const char *const task_names[TEACHER_TASKS] = {"ctr", "cvr"};

static void add_teacher(builder *b, const teacher *t)
{
    char name[MODEL_LAYOUT_NAME_MAX];
    for (int l = 0; l < t->cfg.levels; l++) {
        const teacher_level *lv = &t->level[l];
        int counter[3] = {0, 0, 0};
        for (int e = 0; e < lv->n_experts; e++) {
            int task = lv->expert_task[e];
            snprintf(name, sizeof name, "teacher/level%d/expert_%s%d", l, task < 2 ? task_names[task] : "shared",
                     counter[task]++);
            add_mlp(b, name, &lv->experts[e], NULL);
        }
        if (lv->has_gates)
            for (int task = 0; task < TEACHER_TASKS; task++) {
                snprintf(name, sizeof name, "teacher/level%d/gate_%s", l, task_names[task]);
                add_dense(b, name, &lv->gate[task].linear, "softmax");
            }
        if (lv->has_shared_gate) {
            snprintf(name, sizeof name, "teacher/level%d/shared_gate", l);
            add_dense(b, name, &lv->shared_gate.linear, "softmax");
        }
    }
    for (int task = 0; task < TEACHER_TASKS; task++) {
        snprintf(name, sizeof name, "teacher/tower_%s", task_names[task]);
        add_mlp(b, name, &t->tower[task], NULL);
    }
}

static int by_offset(const void *a, const void *b)
{
    size_t x = ((const model_layout_entry *)a)->offset, y = ((const model_layout_entry *)b)->offset;
    return (x > y) - (x < y);
}

/* The block a padding follows: the name without its last component, and
 * without a layer<j> component then ("t/tower_ctr/layer1/b" -> "t/tower_ctr",
 * "head/b_f" -> "head"). */
static void block_of(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s", name);
    char *slash = strrchr(out, '/');
    if (slash) *slash = '\0';
    slash = strrchr(out, '/');
    if (slash && !strncmp(slash, "/layer", 6)) *slash = '\0';
}

/* Inserts the padding entries and checks that the entries tile [0, total). */
static dmmp_status close_gaps(model_layout *l)
{
    qsort(l->entries, (size_t)l->n, sizeof *l->entries, by_offset);
    int n = l->n;
    model_layout_entry *out = malloc((size_t)(2 * n + 1) * sizeof *out);
    if (!out) return dmmp_fail(DMMP_ENOMEM, "model layout: out of memory");
    int k = 0;
    size_t at = 0;
    for (int i = 0; i <= n; i++) {
        size_t next = i < n ? l->entries[i].offset : l->total;
        if (next < at) {
            dmmp_status s = dmmp_fail(DMMP_EINVAL, "model layout: %s at offset %zu overlaps %s, which ends at %zu",
                                      l->entries[i].name, next, k ? out[k - 1].name : "the start", at);
            free(out);
            return s;
        }
        if (next > at) {
            /* Only the alignment of param_block: fewer than 16 floats up to a multiple of 16. */
            if (next - at >= 16 || next % 16 != 0 || k == 0) {
                dmmp_status s = dmmp_fail(DMMP_EINVAL, "model layout: floats %zu..%zu belong to no block", at, next);
                free(out);
                return s;
            }
            model_layout_entry *p = &out[k++];
            memset(p, 0, sizeof *p);
            char block[MODEL_LAYOUT_NAME_MAX];
            block_of(out[k - 2].name, block, sizeof block);
            snprintf(p->name, sizeof p->name, "%.80s/padding", block);
            p->offset = at;
            p->rows = 1;
            p->cols = next - at;
            p->activation = "-";
        }
        if (i < n) {
            out[k++] = l->entries[i];
            at = l->entries[i].offset + l->entries[i].rows * l->entries[i].cols;
        }
    }
    free(l->entries);
    l->entries = out;
    l->n = k;
    l->cap = 2 * n + 1;
    return DMMP_OK;
}

dmmp_status model_layout_build(const model *m, model_layout *out)
{
    memset(out, 0, sizeof *out);
    out->total = m->params.total;
    builder b = {out, m->params.values, DMMP_OK};
    if (m->has_teacher) add_teacher(&b, &m->teacher);
    if (m->has_student) {
        add_mlp(&b, "student/user_tower", &m->user_tower, NULL);
        for (int t = 0; t < m->n_item_towers; t++)
            add_mlp(&b, t == 0 ? "student/click_item_tower" : "student/conversion_item_tower", &m->item_tower[t], NULL);
        if (m->learned_gate) add_mlp(&b, "student/gate", &m->gate, "softmax");
    }
    add(&b, "head/b_c", m->bias, 1, 1, "-");
    add(&b, "head/b_v", m->bias + 1, 1, 1, "-");
    add(&b, "head/b_f", m->bias + 2, 1, 1, "-");
    add(&b, "loss_weighting/log_var", m->params.values + m->blocks.logvar_off, 1, TERM_COUNT, "-");
    dmmp_status s = b.s;
    if (s == DMMP_OK) s = close_gaps(out);
    if (s != DMMP_OK) model_layout_free(out);
    return s;
}

void model_layout_free(model_layout *l)
{
    free(l->entries);
    memset(l, 0, sizeof *l);
}
