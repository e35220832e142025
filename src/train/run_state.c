/* Saving and loading the whole state of a run (layout in run_state.h). */
#include "train/run_state.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/checkpoint.h"
#include "train/checkpoint_layout.h"
#include "config/config_schema.h"

#define RUN_KIND "dmmp-run"

/* ---- schema ---------------------------------------------------------------- */

static dmmp_status put_schema(ckpt_writer *w, const dataset_schema *s)
{
    int64_t n = s->n_fields;
    size_t len = 1;
    for (int i = 0; i < s->n_fields; i++) len += strlen(s->fields[i].name) + 1;
    char *names = malloc(len);
    int64_t *vocab = malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    int32_t *side = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
    int32_t *multi = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
    dmmp_status st = DMMP_OK;
    if (!names || !vocab || !side || !multi) st = dmmp_fail(DMMP_ENOMEM, "checkpoint: out of memory for the schema");
    if (st == DMMP_OK) {
        names[0] = 0;
        for (int i = 0; i < s->n_fields; i++) {
            if (i) strcat(names, "\n");
            strcat(names, s->fields[i].name);
            vocab[i] = s->fields[i].vocab_size;
            side[i] = (int32_t)s->fields[i].side;
            multi[i] = s->fields[i].multi;
        }
        st = ckpt_put_string(w, "schema/names", names);
        if (st == DMMP_OK && n > 0) st = ckpt_put_i64(w, "schema/vocab_size", vocab, 1, &n);
        if (st == DMMP_OK && n > 0) st = ckpt_put_i32(w, "schema/side", side, 1, &n);
        if (st == DMMP_OK && n > 0) st = ckpt_put_i32(w, "schema/multi", multi, 1, &n);
        if (st == DMMP_OK) st = ckpt_put_attr_i64(w, "schema_n_fields", n);
        if (st == DMMP_OK) st = ckpt_put_attr_i64(w, "schema_n_dense", s->n_dense);
    }
    free(names);
    free(vocab);
    free(side);
    free(multi);
    return st;
}

/* Appends "; " and a printf'ed difference to buf. */
static void add_diff(char *buf, size_t len, int *n, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void add_diff(char *buf, size_t len, int *n, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 8 >= len) return;
    if ((*n)++) used += (size_t)snprintf(buf + used, len - used, "; ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

static const char *side_name(int side)
{
    static const char *const names[] = {"user", "item", "context", "cross"};
    return side >= 0 && side < 4 ? names[side] : "?";
}

static dmmp_status check_schema(ckpt_reader *r, const char *path, const dataset_schema *s)
{
    int64_t n = 0, n_dense = 0;
    DMMP_TRY(ckpt_get_attr_i64(r, "schema_n_fields", &n));
    DMMP_TRY(ckpt_get_attr_i64(r, "schema_n_dense", &n_dense));
    char diff[2048] = "";
    int nd = 0;
    if (n != s->n_fields) add_diff(diff, sizeof diff, &nd, "%lld fields trained on, the dataset has %d", (long long)n,
                                   s->n_fields);
    if (n_dense != s->n_dense)
        add_diff(diff, sizeof diff, &nd, "%lld dense columns trained on, the dataset has %d", (long long)n_dense,
                 s->n_dense);
    if (n == s->n_fields && n > 0) {
        char *names = NULL;
        int64_t *vocab = malloc(sizeof(int64_t) * (size_t)n);
        int32_t *side = malloc(sizeof(int32_t) * (size_t)n), *multi = malloc(sizeof(int32_t) * (size_t)n);
        dmmp_status st = vocab && side && multi ? DMMP_OK : dmmp_fail(DMMP_ENOMEM, "checkpoint: out of memory");
        if (st == DMMP_OK) st = ckpt_get_string(r, "schema/names", &names);
        if (st == DMMP_OK) st = ckpt_get_i64(r, "schema/vocab_size", vocab, 1, &n);
        if (st == DMMP_OK) st = ckpt_get_i32(r, "schema/side", side, 1, &n);
        if (st == DMMP_OK) st = ckpt_get_i32(r, "schema/multi", multi, 1, &n);
        char *save = NULL, *name = names ? strtok_r(names, "\n", &save) : NULL;
        for (int i = 0; st == DMMP_OK && i < n; i++, name = strtok_r(NULL, "\n", &save)) {
            const dataset_field *f = &s->fields[i];
            if (!name || strcmp(name, f->name))
                add_diff(diff, sizeof diff, &nd, "field %d is '%s' in the run, '%s' in the dataset", i, name ? name : "",
                         f->name);
            else if (vocab[i] != f->vocab_size)
                add_diff(diff, sizeof diff, &nd, "field '%s' has vocabulary size %lld in the run, %lld in the dataset",
                         f->name, (long long)vocab[i], (long long)f->vocab_size);
            else if (side[i] != (int32_t)f->side || multi[i] != f->multi)
                add_diff(diff, sizeof diff, &nd, "field '%s' is %s%s in the run, %s%s in the dataset", f->name,
                         side_name(side[i]), multi[i] ? " multi-valued" : "", side_name(f->side),
                         f->multi ? " multi-valued" : "");
        }
        free(names);
        free(vocab);
        free(side);
        free(multi);
        DMMP_TRY(st);
    }
    if (nd) return dmmp_fail(DMMP_EFORMAT, "%s was trained on another dataset schema: %s", path, diff);
    return DMMP_OK;
}

/* ---- save ------------------------------------------------------------------ */

/* One table's arrays as the file holds them: the table's own, or for a
 * sharded table the whole table gathered from its owners. */
typedef struct table_arrays {
    const float *weight, *m, *v, *accum;
    const int64_t *steps;
    float *own[3];   /* gathered buffers */
    int64_t *own_steps;
} table_arrays;

static void table_arrays_free(table_arrays *a)
{
    for (int k = 0; k < 3; k++) free(a->own[k]);
    free(a->own_steps);
    memset(a, 0, sizeof *a);
}

static dmmp_status gather_arrays(const features *f, int i, table_arrays *a)
{
    const feature_table *t = &f->tables[i];
    memset(a, 0, sizeof *a);
    if (!t->sharded) {
        a->weight = t->emb.weight;
        a->m = t->opt.m;
        a->v = t->opt.v;
        a->accum = t->opt.accum;
        a->steps = t->opt.steps;
        return DMMP_OK;
    }
    size_t n = (size_t)t->emb.rows * (size_t)t->emb.dim;
    int adam = t->opt.kind == SPARSE_OPT_ADAM;
    for (int k = 0; k < (adam ? 3 : 2); k++) a->own[k] = malloc(n * sizeof(float));
    if (adam) a->own_steps = malloc((size_t)t->emb.rows * sizeof(int64_t));
    if (!a->own[0] || !a->own[1] || (adam && (!a->own[2] || !a->own_steps))) {
        table_arrays_free(a);
        return dmmp_fail(DMMP_ENOMEM, "checkpoint: out of memory for the %lld rows of sharded table '%s'",
                         (long long)t->emb.rows, t->emb.name);
    }
    dmmp_status s = features_gather_table(f, i, 1, a->own[0], a->own[1], adam ? a->own[2] : NULL, a->own_steps);
    if (s != DMMP_OK) {
        table_arrays_free(a);
        return s;
    }
    a->weight = a->own[0];
    a->m = adam ? a->own[1] : NULL;
    a->v = adam ? a->own[2] : NULL;
    a->accum = adam ? NULL : a->own[1];
    a->steps = a->own_steps;
    return DMMP_OK;
}

static dmmp_status put_table(ckpt_writer *w, const feature_table *t, const table_arrays *a)
{
    char key[160];
    int64_t dims[2] = {t->emb.rows, t->emb.dim};
    ckpt_table_key(key, sizeof key, t, "weight");
    DMMP_TRY(ckpt_put_f32(w, key, a->weight, 2, dims));
    if (t->opt.kind == SPARSE_OPT_ADAM) {
        ckpt_table_key(key, sizeof key, t, "adam_m");
        DMMP_TRY(ckpt_put_f32(w, key, a->m, 2, dims));
        ckpt_table_key(key, sizeof key, t, "adam_v");
        DMMP_TRY(ckpt_put_f32(w, key, a->v, 2, dims));
        ckpt_table_key(key, sizeof key, t, "adam_row_steps");
        DMMP_TRY(ckpt_put_i64(w, key, a->steps, 1, dims));
    } else {
        ckpt_table_key(key, sizeof key, t, "adagrad_accum");
        DMMP_TRY(ckpt_put_f32(w, key, a->accum, 2, dims));
    }
    return DMMP_OK;
}

/* The tables; a sharded one is gathered on rank 0 from its owners one
 * table at a time (run_state_send_tables on the other ranks), so rank 0
 * holds one whole table (weights and optimiser state) besides its block. */
static dmmp_status put_tables(ckpt_writer *w, const features *f)
{
    for (int i = 0; i < f->n_tables; i++) {
        table_arrays a;
        DMMP_TRY(gather_arrays(f, i, &a));
        dmmp_status s = put_table(w, &f->tables[i], &a);
        table_arrays_free(&a);
        DMMP_TRY(s);
    }
    return DMMP_OK;
}

dmmp_status run_state_send_tables(const features *f)
{
    for (int i = 0; i < f->n_tables; i++)
        if (f->tables[i].sharded) DMMP_TRY(features_gather_table(f, i, 1, NULL, NULL, NULL, NULL));
    return DMMP_OK;
}

static dmmp_status put_progress(ckpt_writer *w, const train_progress *p)
{
    DMMP_TRY(ckpt_put_attr_i64(w, "step", p->step));
    DMMP_TRY(ckpt_put_attr_i64(w, "epoch", p->epoch));
    DMMP_TRY(ckpt_put_attr_i64(w, "finished", p->finished));
    DMMP_TRY(ckpt_put_attr_i64(w, "batcher_epoch", p->pos.epoch));
    DMMP_TRY(ckpt_put_attr_i64(w, "batcher_window", p->pos.window));
    DMMP_TRY(ckpt_put_attr_i64(w, "batcher_offset", p->pos.offset));
    DMMP_TRY(ckpt_put_attr_f64(w, "best_metric", p->best_metric));
    DMMP_TRY(ckpt_put_attr_i64(w, "best_epoch", p->best_epoch));
    DMMP_TRY(ckpt_put_attr_i64(w, "bad_epochs", p->bad_epochs));
    DMMP_TRY(ckpt_put_attr_f64(w, "wall_seconds", p->wall_seconds));
    DMMP_TRY(ckpt_put_attr_i64(w, "total_samples", p->total_samples));
    DMMP_TRY(ckpt_put_attr_f64(w, "total_train_seconds", p->total_train_seconds));
    int64_t nt = TERM_COUNT;
    DMMP_TRY(ckpt_put_f64(w, "epoch/loss_sum", p->loss_sum, 1, &nt));
    DMMP_TRY(ckpt_put_attr_i64(w, "epoch_batches", p->epoch_batches));
    DMMP_TRY(ckpt_put_attr_i64(w, "epoch_samples", p->epoch_samples));
    DMMP_TRY(ckpt_put_attr_f64(w, "epoch_train_seconds", p->epoch_train_seconds));
    if (p->ranks > 1 && p->rank_pos) {
        int64_t *pos = malloc(sizeof *pos * 3 * (size_t)p->ranks);
        if (!pos) return dmmp_fail(DMMP_ENOMEM, "out of memory for %d batcher positions", p->ranks);
        for (int r = 0; r < p->ranks; r++) {
            pos[3 * r] = p->rank_pos[r].epoch;
            pos[3 * r + 1] = p->rank_pos[r].window;
            pos[3 * r + 2] = p->rank_pos[r].offset;
        }
        int64_t dims[2] = {p->ranks, 3};
        dmmp_status s = ckpt_put_i64(w, "train/rank_positions", pos, 2, dims);
        free(pos);
        DMMP_TRY(s);
    }
    return DMMP_OK;
}

static dmmp_status put_all(ckpt_writer *w, const run_state_ref *r, const dataset_schema *schema)
{
    char *ini = NULL;
    DMMP_TRY(config_to_ini(r->cfg, &ini));
    dmmp_status st = ckpt_put_string(w, "config", ini);
    free(ini);
    DMMP_TRY(st);
    DMMP_TRY(ckpt_put_attr_string(w, "kind", RUN_KIND));
    DMMP_TRY(ckpt_put_attr_string(w, "variant", r->variant));
    DMMP_TRY(ckpt_put_attr_i64(w, "seed", (int64_t)r->seed));
    DMMP_TRY(put_schema(w, schema));
    const model *m = r->model;
    int64_t np = (int64_t)m->params.total;
    DMMP_TRY(ckpt_put_f32(w, "model/params", m->params.values, 1, &np));
    DMMP_TRY(ckpt_put_layout(w, m, r->feat, schema, r->variant, r->vocab));
    if (r->adam) {
        DMMP_TRY(ckpt_put_f32(w, "optim/adam_m", r->adam->m, 1, &np));
        DMMP_TRY(ckpt_put_f32(w, "optim/adam_v", r->adam->v, 1, &np));
        DMMP_TRY(ckpt_put_attr_i64(w, "adam_step", r->adam->step));
    }
    const loss_weighting *lw = &m->weighting;
    int64_t nw = WEIGHTING_MAX_TERMS, nh[2] = {2, WEIGHTING_MAX_TERMS};
    DMMP_TRY(ckpt_put_f64(w, "weighting/weight", lw->weight, 1, &nw));
    DMMP_TRY(ckpt_put_f64(w, "weighting/epoch_mean", &lw->epoch_mean[0][0], 2, nh));
    DMMP_TRY(ckpt_put_attr_i64(w, "weighting_epochs_seen", lw->epochs_seen));
    if (r->progress) DMMP_TRY(put_progress(w, r->progress));
    return put_tables(w, r->feat);
}

dmmp_status run_state_save(const char *path, const run_state_ref *r, const dataset_schema *schema)
{
    ckpt_writer *w = NULL;
    DMMP_TRY(ckpt_writer_open(&w, path));
    dmmp_status st = put_all(w, r, schema);
    if (st != DMMP_OK) {
        ckpt_writer_abort(w);
        return st;
    }
    return ckpt_writer_commit(w);
}

/* ---- load ------------------------------------------------------------------ */

static dmmp_status read_meta(ckpt_reader *r, const char *path, dmmp_config *cfg, char *variant, size_t variant_len,
                             uint64_t *seed)
{
    char *kind = NULL, *text = NULL, *var = NULL;
    dmmp_status st = ckpt_get_attr_string(r, "kind", &kind);
    if (st == DMMP_OK && strcmp(kind, RUN_KIND))
        st = dmmp_fail(DMMP_EFORMAT, "%s is a checkpoint of kind '%s', not a training run ('%s')", path, kind, RUN_KIND);
    if (st == DMMP_OK) st = ckpt_get_string(r, "config", &text);
    if (st == DMMP_OK) {
        st = config_load_string(cfg, text, path);
        if (st == DMMP_OK) st = config_validate(cfg);
        if (st != DMMP_OK) st = dmmp_fail_prefix(st, "configuration stored in %s", path);
    }
    if (st == DMMP_OK) st = ckpt_get_attr_string(r, "variant", &var);
    if (st == DMMP_OK) snprintf(variant, variant_len, "%s", var);
    int64_t sd = 0;
    if (st == DMMP_OK) st = ckpt_get_attr_i64(r, "seed", &sd);
    if (st == DMMP_OK) *seed = (uint64_t)sd;
    free(kind);
    free(text);
    free(var);
    return st;
}

dmmp_status run_state_read_meta(const char *path, dmmp_config *cfg, char *variant, size_t variant_len,
                                uint64_t *seed)
{
    ckpt_reader *r = NULL;
    DMMP_TRY(ckpt_reader_open(&r, path));
    dmmp_status st = read_meta(r, path, cfg, variant, variant_len, seed);
    ckpt_reader_close(r);
    return st;
}

static dmmp_status get_int(ckpt_reader *r, const char *name, int *out)
{
    int64_t v = 0;
    DMMP_TRY(ckpt_get_attr_i64(r, name, &v));
    *out = (int)v;
    return DMMP_OK;
}

/* The ranks' positions: as saved by a job of the same size; or, when the
 * file stands at an epoch's start on every rank, that start for any size. */
static dmmp_status get_rank_positions(ckpt_reader *r, const char *path, train_progress *p)
{
    int want = p->ranks > 1 ? p->ranks : 1;
    int saved = 1;
    int64_t *pos = NULL;
    if (ckpt_has(r, "train/rank_positions")) {
        int rank = 0;
        int64_t shape[CKPT_MAX_RANK] = {0};
        DMMP_TRY(ckpt_get_shape(r, "train/rank_positions", &rank, shape));
        if (rank != 2 || shape[1] != 3 || shape[0] < 2 || shape[0] > (1 << 20))
            return dmmp_fail(DMMP_EFORMAT, "%s: train/rank_positions is not a ranks x 3 array", path);
        saved = (int)shape[0];
        pos = malloc(sizeof *pos * 3 * (size_t)saved);
        if (!pos) return dmmp_fail(DMMP_ENOMEM, "out of memory for %d batcher positions", saved);
        dmmp_status s = ckpt_get_i64(r, "train/rank_positions", pos, 2, shape);
        if (s != DMMP_OK) {
            free(pos);
            return s;
        }
    }
    int at_start = 1;
    for (int k = 0; k < saved; k++) {
        batcher_position q = pos ? (batcher_position){(int)pos[3 * k], pos[3 * k + 1], pos[3 * k + 2]} : p->pos;
        if (q.window != 0 || q.offset != 0 || q.epoch != p->pos.epoch) at_start = 0;
    }
    if (saved != want && !at_start) {
        free(pos);
        return dmmp_fail(DMMP_EINVAL, "--resume: %s was stopped inside epoch %d by a job of %d process%s; resume it with "
                         "the same number (%s%d): each process continues its own share of the epoch",
                         path, p->pos.epoch + 1, saved, saved == 1 ? "" : "es", saved == 1 ? "no mpirun, or -np " : "mpirun -np ",
                         saved);
    }
    if (p->rank_pos)
        for (int k = 0; k < want; k++)
            p->rank_pos[k] = saved == want && pos
                                 ? (batcher_position){(int)pos[3 * k], pos[3 * k + 1], pos[3 * k + 2]}
                                 : p->pos;
    free(pos);
    return DMMP_OK;
}

static dmmp_status get_progress(ckpt_reader *r, const char *path, train_progress *p)
{
    int ranks = p->ranks;
    batcher_position *rank_pos = p->rank_pos;
    memset(p, 0, sizeof *p);
    p->ranks = ranks;
    p->rank_pos = rank_pos;
    int64_t window = 0, offset = 0;
    DMMP_TRY(ckpt_get_attr_i64(r, "step", &p->step));
    DMMP_TRY(get_int(r, "epoch", &p->epoch));
    DMMP_TRY(get_int(r, "finished", &p->finished));
    DMMP_TRY(get_int(r, "batcher_epoch", &p->pos.epoch));
    DMMP_TRY(ckpt_get_attr_i64(r, "batcher_window", &window));
    DMMP_TRY(ckpt_get_attr_i64(r, "batcher_offset", &offset));
    p->pos.window = window;
    p->pos.offset = offset;
    DMMP_TRY(ckpt_get_attr_f64(r, "best_metric", &p->best_metric));
    DMMP_TRY(get_int(r, "best_epoch", &p->best_epoch));
    DMMP_TRY(get_int(r, "bad_epochs", &p->bad_epochs));
    DMMP_TRY(ckpt_get_attr_f64(r, "wall_seconds", &p->wall_seconds));
    DMMP_TRY(ckpt_get_attr_i64(r, "total_samples", &p->total_samples));
    DMMP_TRY(ckpt_get_attr_f64(r, "total_train_seconds", &p->total_train_seconds));
    /* A run from before the sampled-negative terms holds the first 9 terms'
     * sums (the parameter layout, padded to 16 floats a block, is the same). */
    int64_t nt = TERM_COUNT, shape[CKPT_MAX_RANK] = {0};
    int rank = 0;
    if (ckpt_get_shape(r, "epoch/loss_sum", &rank, shape) == DMMP_OK && rank == 1 && shape[0] == TERM_SAMPLED_CTR)
        nt = TERM_SAMPLED_CTR;
    memset(p->loss_sum, 0, sizeof p->loss_sum);
    DMMP_TRY(ckpt_get_f64(r, "epoch/loss_sum", p->loss_sum, 1, &nt));
    DMMP_TRY(ckpt_get_attr_i64(r, "epoch_batches", &p->epoch_batches));
    DMMP_TRY(ckpt_get_attr_i64(r, "epoch_samples", &p->epoch_samples));
    DMMP_TRY(ckpt_get_attr_f64(r, "epoch_train_seconds", &p->epoch_train_seconds));
    return get_rank_positions(r, path, p);
}

static dmmp_status get_table_whole(ckpt_reader *r, feature_table *t, const int64_t *dims, int with_optimiser)
{
    char key[160];
    ckpt_table_key(key, sizeof key, t, "weight");
    DMMP_TRY(ckpt_get_f32(r, key, t->emb.weight, 2, dims));
    if (!with_optimiser) return DMMP_OK;
    if (t->opt.kind == SPARSE_OPT_ADAM) {
        ckpt_table_key(key, sizeof key, t, "adam_m");
        DMMP_TRY(ckpt_get_f32(r, key, t->opt.m, 2, dims));
        ckpt_table_key(key, sizeof key, t, "adam_v");
        DMMP_TRY(ckpt_get_f32(r, key, t->opt.v, 2, dims));
        ckpt_table_key(key, sizeof key, t, "adam_row_steps");
        return ckpt_get_i64(r, key, t->opt.steps, 1, dims);
    }
    ckpt_table_key(key, sizeof key, t, "adagrad_accum");
    return ckpt_get_f32(r, key, t->opt.accum, 2, dims);
}

static dmmp_status get_tables(ckpt_reader *r, features *f, int with_optimiser)
{
    char key[160];
    for (int i = 0; i < f->n_tables; i++) {
        feature_table *t = &f->tables[i];
        int64_t dims[2] = {t->emb.rows, t->emb.dim};
        /* A sharded table: this rank's block only (the file holds the whole table). */
        int64_t lo = t->row_lo, n = t->row_hi - t->row_lo;
        if (!t->sharded) {
            DMMP_TRY(get_table_whole(r, t, dims, with_optimiser));
            continue;
        }
        ckpt_table_key(key, sizeof key, t, "weight");
        DMMP_TRY(ckpt_get_f32_rows(r, key, t->emb.weight, 2, dims, lo, n));
        if (!with_optimiser) continue;
        if (t->opt.kind == SPARSE_OPT_ADAM) {
            ckpt_table_key(key, sizeof key, t, "adam_m");
            DMMP_TRY(ckpt_get_f32_rows(r, key, t->opt.m, 2, dims, lo, n));
            ckpt_table_key(key, sizeof key, t, "adam_v");
            DMMP_TRY(ckpt_get_f32_rows(r, key, t->opt.v, 2, dims, lo, n));
            ckpt_table_key(key, sizeof key, t, "adam_row_steps");
            DMMP_TRY(ckpt_get_i64_rows(r, key, t->opt.steps, 1, dims, lo, n));
        } else {
            ckpt_table_key(key, sizeof key, t, "adagrad_accum");
            DMMP_TRY(ckpt_get_f32_rows(r, key, t->opt.accum, 2, dims, lo, n));
        }
    }
    return DMMP_OK;
}

static dmmp_status load_all(ckpt_reader *r, const char *path, const run_state_ref *ref, const dataset_schema *schema)
{
    DMMP_TRY(check_schema(r, path, schema));
    model *m = ref->model;
    int64_t np = (int64_t)m->params.total;
    DMMP_TRY(ckpt_get_f32(r, "model/params", m->params.values, 1, &np));
    if (ref->adam) {
        DMMP_TRY(ckpt_get_f32(r, "optim/adam_m", ref->adam->m, 1, &np));
        DMMP_TRY(ckpt_get_f32(r, "optim/adam_v", ref->adam->v, 1, &np));
        DMMP_TRY(ckpt_get_attr_i64(r, "adam_step", &ref->adam->step));
    }
    loss_weighting *lw = &m->weighting;
    int64_t nw = WEIGHTING_MAX_TERMS, nh[2] = {2, WEIGHTING_MAX_TERMS};
    DMMP_TRY(ckpt_get_f64(r, "weighting/weight", lw->weight, 1, &nw));
    DMMP_TRY(ckpt_get_f64(r, "weighting/epoch_mean", &lw->epoch_mean[0][0], 2, nh));
    DMMP_TRY(get_int(r, "weighting_epochs_seen", &lw->epochs_seen));
    if (ref->progress) DMMP_TRY(get_progress(r, path, ref->progress));
    return get_tables(r, ref->feat, ref->adam != NULL);
}

dmmp_status run_state_load(const char *path, const run_state_ref *ref, const dataset_schema *schema)
{
    ckpt_reader *r = NULL;
    DMMP_TRY(ckpt_reader_open(&r, path));
    dmmp_status st = load_all(r, path, ref, schema);
    ckpt_reader_close(r);
    return st;
}

/* ---- resume ---------------------------------------------------------------- */

static int may_change_on_resume(const config_key *k)
{
    static const char *const keys[][2] = {
        {"train", "epochs"}, {"train", "patience"}, {"train", "log_every"}, {"train", "threads"}, {"data", "path"},
        /* The files hold whole tables whatever the placement. */
        {"model", "table_placement"}, {"model", "shard_min_rows"}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(k->section, keys[i][0]) && !strcmp(k->name, keys[i][1])) return 1;
    return 0;
}

dmmp_status run_config_check_resume(const dmmp_config *saved, const dmmp_config *now, const char *path)
{
    char diff[2048] = "";
    int nd = 0;
    for (size_t i = 0; i < config_schema_size(); i++) {
        const config_key *k = config_schema_at(i);
        if (may_change_on_resume(k) || config_key_equal(k, saved, now)) continue;
        char a[CONFIG_STRING_MAX + 32], b[CONFIG_STRING_MAX + 32];
        config_key_format(k, saved, a, sizeof a);
        config_key_format(k, now, b, sizeof b);
        add_diff(diff, sizeof diff, &nd, "%s.%s = %s in the run, %s now", k->section, k->name, a, b);
    }
    if (nd)
        return dmmp_fail(DMMP_EINVAL, "cannot resume from %s: the configuration differs (%s)", path, diff);
    return DMMP_OK;
}
