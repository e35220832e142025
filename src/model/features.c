#include "model/features.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dist.h"
#include "core/mem.h"

/* The views a field feeds: the teacher reads every field, the user tower
 * user and context fields, the item towers item fields. */
static int field_in_view(field_side side, int view)
{
    switch (view) {
    case VIEW_TEACHER: return 1;
    case VIEW_USER: return side == SIDE_USER || side == SIDE_CONTEXT;
    case VIEW_ITEM: return side == SIDE_ITEM;
    }
    return 0;
}

/* Column of field in its side's batch matrix (the side order of the schema). */
static int side_column(const dataset_schema *s, int field)
{
    int col = 0;
    for (int f = 0; f < field; f++)
        if (!s->fields[f].multi && s->fields[f].side == s->fields[field].side) col++;
    return col;
}

static int multi_index(const dataset_schema *s, int field)
{
    int k = 0;
    for (int f = 0; f < field; f++) k += s->fields[f].multi;
    return k;
}

static dmmp_status add_table(features *f, const dataset_schema *s, int field, int view, const features_config *cfg,
                             rng *r)
{
    feature_table *t = &f->tables[f->n_tables];
    const dataset_field *fd = &s->fields[field];
    static const char *const view_names[VIEW_COUNT] = {"teacher", "user", "item"};
    char name[64];
    float *w = NULL;
    if (fd->vocab_size < 1)
        return dmmp_fail(DMMP_EFORMAT, "field '%s': vocabulary size %lld (must be >= 1)", fd->name,
                         (long long)fd->vocab_size);
    if (cfg->hash_buckets == 1 || cfg->hash_buckets < 0)
        return dmmp_fail(DMMP_EINVAL, "features: hash_buckets %lld (0: off, or >= 2)", (long long)cfg->hash_buckets);
    int hashed = cfg->hash_buckets > 0 && fd->vocab_size > cfg->hash_buckets;
    int64_t rows = hashed ? cfg->hash_buckets : fd->vocab_size;
    int ranks = dist_size();
    t->sharded = features_table_sharded(cfg, rows, ranks);
    t->row_lo = t->sharded ? shard_block_lo(rows, ranks, dist_rank()) : 0;
    t->row_hi = t->sharded ? shard_block_lo(rows, ranks, dist_rank() + 1) : rows;
    /* A block may be empty (fewer rows than ranks): one row keeps the
     * buffers valid and is never used. */
    int64_t held = t->row_hi - t->row_lo > 0 ? t->row_hi - t->row_lo : 1;
    snprintf(name, sizeof name, "%.7s.%.48s", view_names[view], fd->name);
    DMMP_TRY(mem_alloc((void **)&w, (size_t)held * (size_t)cfg->dim * sizeof(float), name));
    t->field = field;
    t->view = view;
    t->hashed = hashed;
    f->n_tables++;
    DMMP_TRY(embedding_init(&t->emb, name, rows, cfg->dim, w));
    if (t->sharded)
        embedding_init_weights_block(&t->emb, cfg->init_stddev, r, t->row_lo, t->row_hi);
    else
        embedding_init_weights(&t->emb, cfg->init_stddev, r);
    DMMP_TRY(sparse_grad_init(&t->grad, 64, cfg->dim));
    DMMP_TRY(sparse_opt_init(&t->opt, cfg->optimizer, held, cfg->dim, &cfg->opt));
    if (t->sharded) {
        f->n_sharded++;
        t->want_cap = t->got_cap = 64;
        DMMP_TRY(mem_alloc((void **)&t->want, (size_t)t->want_cap * sizeof *t->want, "sharded table rows"));
        DMMP_TRY(mem_alloc((void **)&t->got, (size_t)t->got_cap * (size_t)cfg->dim * sizeof *t->got,
                           "fetched table rows"));
    }
    return DMMP_OK;
}

dmmp_status features_init(features *f, const dataset_schema *s, const features_config *cfg, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    if (cfg->dim < 1 || cfg->max_batch < 1)
        return dmmp_fail(DMMP_EINVAL, "features: embedding_dim %d and max batch %d must be >= 1", cfg->dim,
                         cfg->max_batch);
    f->dim = cfg->dim;
    f->pool = cfg->pool;
    f->max_batch = cfg->max_batch;
    f->n_dense = cfg->teacher && cfg->dense ? s->n_dense : 0;
    int most_rows = cfg->max_batch;
    for (int v = 0; v < VIEW_COUNT; v++) {
        if (cfg->view_rows[v] < 0)
            return dmmp_fail(DMMP_EINVAL, "features: view %d holds %d rows (0: max batch, or >= 1)", v, cfg->view_rows[v]);
        if (cfg->view_rows[v] > most_rows) most_rows = cfg->view_rows[v];
    }
    DMMP_TRY(mem_alloc((void **)&f->tables, (size_t)(2 * s->n_fields + 1) * sizeof(feature_table), "feature tables"));
    DMMP_TRY(mem_alloc((void **)&f->ids, (size_t)most_rows * sizeof(int32_t), "feature ids"));
    rng r;
    rng_stream(&r, seed, 0x656d62ULL /* "emb" */);
    for (int v = 0; v < VIEW_COUNT; v++) {
        int wanted = v == VIEW_TEACHER ? cfg->teacher : cfg->student;
        feature_view *fv = &f->view[v];
        fv->max_rows = cfg->view_rows[v] > 0 ? cfg->view_rows[v] : cfg->max_batch;
        if (!wanted) continue;
        DMMP_TRY(mem_alloc((void **)&fv->slots, (size_t)(s->n_fields + 1) * sizeof(feature_slot), "feature slots"));
        /* Single-valued fields first, then multi-valued, in schema order. */
        for (int pass = 0; pass < 2; pass++) {
            for (int field = 0; field < s->n_fields; field++) {
                const dataset_field *fd = &s->fields[field];
                if (fd->multi != pass || !field_in_view(fd->side, v)) continue;
                feature_slot *sl = &fv->slots[fv->n_slots++];
                sl->table = f->n_tables;
                sl->multi = fd->multi;
                sl->side = fd->side;
                sl->source = fd->multi ? multi_index(s, field) : side_column(s, field);
                sl->offset = fv->width;
                fv->width += cfg->dim;
                DMMP_TRY(add_table(f, s, field, v, cfg, &r));
            }
        }
        if (v == VIEW_TEACHER && f->n_dense > 0) {
            feature_slot *sl = &fv->slots[fv->n_slots++];
            sl->table = -1;
            sl->offset = fv->width;
            fv->width += f->n_dense;
        }
        if (fv->width == 0)
            return dmmp_fail(DMMP_EFORMAT, "features: the dataset has no field for the %s input",
                             v == VIEW_TEACHER ? "teacher" : v == VIEW_USER ? "user tower" : "item tower");
        DMMP_TRY(mem_alloc((void **)&fv->x, (size_t)fv->max_rows * (size_t)fv->width * sizeof(float), "feature rows"));
    }
    DMMP_TRY(embedding_scratch_init(&f->scratch, (int64_t)most_rows * 8, most_rows));
    int workers = omp_get_max_threads();
    workers = workers < 1 ? 1 : workers > FEATURES_MAX_WORKERS ? FEATURES_MAX_WORKERS : workers;
    f->most_rows = most_rows;
    DMMP_TRY(mem_alloc((void **)&f->worker_ids, (size_t)workers * (size_t)most_rows * sizeof(int32_t), "feature ids"));
    DMMP_TRY(mem_alloc((void **)&f->worker_scratch, (size_t)workers * sizeof *f->worker_scratch, "feature scratch"));
    for (; f->n_workers < workers; f->n_workers++)
        DMMP_TRY(embedding_scratch_init(&f->worker_scratch[f->n_workers], (int64_t)most_rows * 2, most_rows));
    if (f->n_sharded > 0) {
        DMMP_TRY(shard_comm_init(&f->comm, f->n_tables));
        DMMP_TRY(mem_alloc((void **)&f->lookups, (size_t)f->n_tables * sizeof *f->lookups, "sharded lookups"));
    }
    return DMMP_OK;
}

int features_table_sharded(const features_config *cfg, int64_t rows, int ranks)
{
    if (ranks <= 1) return 0;
    return cfg->placement == FEATURES_SHARDED || (cfg->placement == FEATURES_AUTO && rows >= cfg->shard_min_rows);
}

int32_t features_row_of(const feature_table *t, int32_t id)
{
    if (!t->hashed || id <= 0) return t->hashed ? 0 : id;
    uint64_t st = (uint64_t)(uint32_t)id ^ ((uint64_t)(t->field + 1) * 0x9e3779b97f4a7c15ULL);
    return (int32_t)(1 + rng_splitmix64(&st) % (uint64_t)(t->emb.rows - 1));
}

/* Copies column col of an n x width id matrix into ids, as rows of t. */
static const int32_t *id_column_into(int32_t *ids, const feature_table *t, const batch_side *bs, int col, int n)
{
    for (int i = 0; i < n; i++) ids[i] = features_row_of(t, bs->ids[(size_t)i * bs->n_fields + col]);
    return ids;
}

static const int32_t *id_column(features *f, const feature_table *t, const batch_side *bs, int col, int n)
{
    return id_column_into(f->ids, t, bs, col, n);
}

/* The indices of bag field m as rows of t: m's own array when t is not hashed. */
static dmmp_status bag_rows(features *f, const feature_table *t, const batch_multi *m, int n, const int32_t **rows)
{
    *rows = m->indices;
    if (!t->hashed) return DMMP_OK;
    int64_t nnz = m->offsets[n];
    DMMP_TRY(mem_grow((void **)&f->bag_ids, &f->bag_cap, nnz, sizeof(int32_t), "features: bag ids"));
    for (int64_t j = 0; j < nnz; j++) f->bag_ids[j] = features_row_of(t, m->indices[j]);
    *rows = f->bag_ids;
    return DMMP_OK;
}

/* The rows of b fit the view. */
static dmmp_status check_rows(const features *f, const batch *b, int view)
{
    int cap = f->view[view].max_rows > 0 ? f->view[view].max_rows : f->max_batch;
    if (b->n < 1 || b->n > cap) return dmmp_fail(DMMP_EINVAL, "features: batch of %d rows outside [1, %d]", b->n, cap);
    return DMMP_OK;
}

/* The ids slot sl of b looks up in its table, as rows of the table, and
 * how many (bags: every index). */
static dmmp_status slot_rows(features *f, const feature_slot *sl, const batch *b, const int32_t **rows, int64_t *n)
{
    const feature_table *t = &f->tables[sl->table];
    if (sl->multi) {
        const batch_multi *m = &b->multi[sl->source];
        DMMP_TRY(bag_rows(f, t, m, b->n, rows));
        *n = m->offsets[b->n];
    } else {
        *rows = id_column(f, t, &b->side[sl->side], sl->source, b->n);
        *n = b->n;
    }
    return DMMP_OK;
}

/* The fetch of the view's sharded tables (model/table_shard.h): each
 * table's distinct rows in b (none when b is NULL), then one collective
 * lookup for all of them. */
static dmmp_status fetch_view(features *f, const batch *b, int view)
{
    feature_view *fv = &f->view[view];
    int n = 0;
    for (int k = 0; k < fv->n_slots; k++) {
        const feature_slot *sl = &fv->slots[k];
        if (sl->table < 0 || !f->tables[sl->table].sharded) continue;
        feature_table *t = &f->tables[sl->table];
        t->n_want = 0;
        if (b) {
            const int32_t *rows;
            int64_t nr = 0;
            DMMP_TRY(slot_rows(f, sl, b, &rows, &nr));
            DMMP_TRY(mem_grow((void **)&t->want, &t->want_cap, nr, sizeof(int32_t), "features: rows of a sharded table"));
            DMMP_TRY(mem_grow((void **)&f->sort_tmp, &f->sort_cap, nr, sizeof(int32_t), "features: rows to sort"));
            for (int64_t j = 0; j < nr; j++)
                if (rows[j] < 0 || rows[j] >= t->emb.rows)
                    return dmmp_fail(DMMP_EINVAL, "embedding '%s': id %d outside [0, %lld) (sharded lookup)", t->emb.name,
                                     (int)rows[j], (long long)t->emb.rows);
            t->n_want = shard_distinct_rows(rows, nr, t->want, f->sort_tmp);
        }
        if (t->n_want > t->got_cap) {
            int64_t cap = t->n_want + t->n_want / 2;
            float *g = NULL;
            DMMP_TRY(mem_alloc((void **)&g, (size_t)cap * (size_t)t->emb.dim * sizeof *g, "fetched table rows"));
            mem_free(t->got);
            t->got = g;
            t->got_cap = cap;
        }
        f->lookups[n++] = (shard_lookup){t->emb.name, t->emb.rows, t->emb.dim, t->emb.weight, t->want, t->n_want, t->got};
    }
    return n > 0 ? shard_fetch(&f->comm, f->lookups, n) : DMMP_OK;
}

dmmp_status features_take_part(features *f)
{
    if (f->n_sharded == 0) return DMMP_OK;
    for (int v = 0; v < VIEW_COUNT; v++) DMMP_TRY(fetch_view(f, NULL, v));
    return DMMP_OK;
}

/* The lookup of slot sl of a sharded table: b's ids as indices of the
 * fetched rows, over a table of those rows. */
static dmmp_status forward_sharded(features *f, const feature_slot *sl, const batch *b, float *out, int stride)
{
    const feature_table *t = &f->tables[sl->table];
    const int32_t *rows;
    int64_t nr = 0;
    DMMP_TRY(slot_rows(f, sl, b, &rows, &nr));
    DMMP_TRY(mem_grow((void **)&f->remap, &f->remap_cap, nr > 0 ? nr : 1, sizeof(int32_t), "features: fetched row indices"));
    shard_remap(t->want, t->n_want, rows, nr, f->remap);
    embedding_table fetched = t->emb;
    fetched.rows = t->n_want > 0 ? t->n_want : 1;
    fetched.weight = t->got;
    if (sl->multi) {
        const batch_multi *m = &b->multi[sl->source];
        return embedding_forward_bag(&fetched, m->offsets, f->remap, m->weights, b->n, f->pool, out, stride);
    }
    return embedding_forward_single(&fetched, f->remap, b->n, out, stride);
}

/* The lookup of slot k of view fv into its columns of fv->x (dx: unused, the forward of a slot_pass), with worker
 * w's id column (single-valued slots of whole tables) or the shared buffers. */
static dmmp_status forward_slot(features *f, const batch *b, feature_view *fv, const float *dx, int k, int w)
{
    (void)dx;
    const feature_slot *sl = &fv->slots[k];
    float *out = fv->x + sl->offset;
    if (sl->table < 0) {
        for (int i = 0; i < b->n; i++)
            memcpy(out + (size_t)i * fv->width, b->dense + (size_t)i * b->n_dense, (size_t)f->n_dense * sizeof(float));
        return DMMP_OK;
    }
    const feature_table *ft = &f->tables[sl->table];
    const embedding_table *t = &ft->emb;
    if (ft->sharded) return forward_sharded(f, sl, b, out, fv->width);
    if (sl->multi) {
        const batch_multi *m = &b->multi[sl->source];
        const int32_t *rows;
        DMMP_TRY(bag_rows(f, ft, m, b->n, &rows));
        return embedding_forward_bag(t, m->offsets, rows, m->weights, b->n, f->pool, out, fv->width);
    }
    int32_t *ids = f->worker_ids + (size_t)w * (size_t)f->most_rows;
    return embedding_forward_single(t, id_column_into(ids, ft, &b->side[sl->side], sl->source, b->n), b->n, out,
                                    fv->width);
}

/* Where a slot of a pass runs: not at all, on a worker, or on the calling thread. */
enum { SLOT_SKIP, SLOT_WORKER, SLOT_CALLER };
typedef dmmp_status (*slot_pass)(features *f, const batch *b, feature_view *fv, const float *dx, int k, int w);

/* Single-valued slots of whole tables: on the workers. The forward copies
 * the dense features and looks up bags and sharded tables on the calling
 * thread (they share buffers). */
static int forward_where(const features *f, const feature_slot *sl)
{
    return sl->table < 0 || sl->multi || f->tables[sl->table].sharded ? SLOT_CALLER : SLOT_WORKER;
}

/* The backward has nothing to do for the dense features; bags run on the calling thread. */
static int backward_where(const features *f, const feature_slot *sl)
{
    (void)f;
    return sl->table < 0 ? SLOT_SKIP : sl->multi ? SLOT_CALLER : SLOT_WORKER;
}

/* One pass over a view's slots: the worker slots in parallel, one slot per
 * thread at a time (each writes its own columns of the view, or its own
 * table's gradient, the same values whichever thread does it), then the
 * others on the calling thread in order. A worker's error message is
 * thread-local, so a failed slot is run again on the calling thread, which
 * fails the same way and leaves the message where the caller reads it. */
static dmmp_status each_slot(features *f, const batch *b, feature_view *fv, const float *dx, slot_pass pass,
                             int (*where)(const features *, const feature_slot *))
{
    int team = omp_get_max_threads();
    if (team > f->n_workers) team = f->n_workers;
    int failed = -1;
#pragma omp parallel for schedule(dynamic, 1) num_threads(team) if (team > 1 && fv->n_slots > 1)
    for (int k = 0; k < fv->n_slots; k++) {
        if (where(f, &fv->slots[k]) != SLOT_WORKER) continue;
        if (pass(f, b, fv, dx, k, omp_get_thread_num()) != DMMP_OK) {
#pragma omp critical(features_slot_failure)
            if (failed < 0 || k < failed) failed = k;
        }
    }
    if (failed >= 0) DMMP_TRY(pass(f, b, fv, dx, failed, 0));
    for (int k = 0; k < fv->n_slots; k++)
        if (where(f, &fv->slots[k]) == SLOT_CALLER) DMMP_TRY(pass(f, b, fv, dx, k, 0));
    return DMMP_OK;
}

dmmp_status features_forward_view(features *f, const batch *b, feature_view_id view)
{
    if (view < 0 || view >= VIEW_COUNT) return dmmp_fail(DMMP_EINVAL, "features: unknown view %d", (int)view);
    DMMP_TRY(check_rows(f, b, view));
    feature_view *fv = &f->view[view];
    if (f->n_sharded > 0) DMMP_TRY(fetch_view(f, b, view));
    return each_slot(f, b, fv, NULL, forward_slot, forward_where);
}

dmmp_status features_forward(features *f, const batch *b)
{
    for (int v = 0; v < VIEW_COUNT; v++) DMMP_TRY(features_forward_view(f, b, (feature_view_id)v));
    return DMMP_OK;
}

/* The gradient of slot k's table from view fv's input gradient dx, with
 * worker w's ids and scratch (single-valued slots) or the shared ones. */
static dmmp_status backward_slot(features *f, const batch *b, feature_view *fv, const float *dx, int k, int w)
{
    const feature_slot *sl = &fv->slots[k];
    feature_table *t = &f->tables[sl->table];
    const float *dout = dx + sl->offset;
    if (sl->multi) {
        const batch_multi *m = &b->multi[sl->source];
        const int32_t *rows;
        DMMP_TRY(bag_rows(f, t, m, b->n, &rows));
        return embedding_backward_bag(&t->emb, m->offsets, rows, m->weights, b->n, f->pool, dout, fv->width, &t->grad,
                                      &f->scratch);
    }
    int32_t *ids = f->worker_ids + (size_t)w * (size_t)f->most_rows;
    return embedding_backward_single(&t->emb, id_column_into(ids, t, &b->side[sl->side], sl->source, b->n), b->n,
                                     dout, fv->width, &t->grad, &f->worker_scratch[w]);
}

/* A table's gradient is the same whichever thread computes it: its rows
 * sum in batch order. 1024 ids are below the size at which one table's
 * backward splits across threads, so without the slots in parallel the
 * backward ran on one core. */
dmmp_status features_backward(features *f, const batch *b, const float *const dx[VIEW_COUNT])
{
    for (int v = 0; v < VIEW_COUNT; v++) {
        feature_view *fv = &f->view[v];
        if (!fv->width || !dx[v]) continue;
        DMMP_TRY(check_rows(f, b, v));
        DMMP_TRY(each_slot(f, b, fv, dx[v], backward_slot, backward_where));
    }
    return DMMP_OK;
}

/* Tables are updated in parallel, one table per thread at a time: a batch
 * touches at most a few thousand rows of a table, below the size at which the
 * optimiser splits one table's rows across threads, so without this the step
 * ran on one core (3.4 ms of a 25 ms step at batch 1024 with 42 tables). Each
 * table's update is independent, so the result does not depend on the
 * thread count. A worker's error message is thread-local, so a failed table
 * is stepped again on the calling thread, whose checks fail the same way
 * before changing anything and leave the message where the caller reads it. */
dmmp_status features_step(features *f)
{
    int failed = -1;
#pragma omp parallel for schedule(dynamic, 1) if (f->n_tables > 1)
    for (int i = 0; i < f->n_tables; i++) {
        feature_table *t = &f->tables[i];
        if (t->grad.n_rows > 0 && sparse_opt_step(&t->opt, t->emb.weight, &t->grad) != DMMP_OK) {
#pragma omp critical(features_step_failure)
            if (failed < 0 || i < failed) failed = i;
        }
    }
    if (failed >= 0) {
        feature_table *t = &f->tables[failed];
        DMMP_TRY(sparse_opt_step(&t->opt, t->emb.weight, &t->grad));
    }
    for (int i = 0; i < f->n_tables; i++) f->tables[i].grad.n_rows = 0;
    return DMMP_OK;
}

int64_t features_param_count(const features *f)
{
    int64_t n = 0;
    for (int i = 0; i < f->n_tables; i++) n += f->tables[i].emb.rows * f->tables[i].emb.dim;
    return n;
}

dmmp_status features_gather_table(const features *f, int i, int with_opt, float *weight, float *m, float *v,
                                  int64_t *steps)
{
    if (i < 0 || i >= f->n_tables) return dmmp_fail(DMMP_EINVAL, "features: no table %d", i);
    const feature_table *t = &f->tables[i];
    const sparse_opt *o = &t->opt;
    int64_t rows = t->emb.rows;
    size_t row = (size_t)t->emb.dim * sizeof(float);
    if (!t->sharded) {
        /* Every rank holds the whole table. */
        size_t n = (size_t)rows * (size_t)t->emb.dim;
        if (weight) memcpy(weight, t->emb.weight, n * sizeof *weight);
        if (!with_opt || !m) return DMMP_OK;
        if (o->kind == SPARSE_OPT_ADAM) {
            memcpy(m, o->m, n * sizeof *m);
            memcpy(v, o->v, n * sizeof *v);
            memcpy(steps, o->steps, (size_t)rows * sizeof *steps);
        } else {
            memcpy(m, o->accum, n * sizeof *m);
        }
        return DMMP_OK;
    }
    char what[128];
    snprintf(what, sizeof what, "the weights of table '%s'", t->emb.name);
    DMMP_TRY(shard_gather(t->emb.weight, rows, row, weight, what));
    if (!with_opt) return DMMP_OK;
    if (o->kind == SPARSE_OPT_ADAM) {
        snprintf(what, sizeof what, "the Adam moments of table '%s'", t->emb.name);
        DMMP_TRY(shard_gather(o->m, rows, row, m, what));
        DMMP_TRY(shard_gather(o->v, rows, row, v, what));
        snprintf(what, sizeof what, "the row step counts of table '%s'", t->emb.name);
        return shard_gather(o->steps, rows, sizeof(int64_t), steps, what);
    }
    snprintf(what, sizeof what, "the Adagrad accumulator of table '%s'", t->emb.name);
    return shard_gather(o->accum, rows, row, m, what);
}

void features_free(features *f)
{
    for (int i = 0; i < f->n_tables; i++) {
        mem_free(f->tables[i].want);
        mem_free(f->tables[i].got);
        mem_free(f->tables[i].emb.weight);
        sparse_grad_free(&f->tables[i].grad);
        sparse_opt_free(&f->tables[i].opt);
    }
    mem_free(f->tables);
    for (int v = 0; v < VIEW_COUNT; v++) {
        mem_free(f->view[v].slots);
        mem_free(f->view[v].x);
    }
    mem_free(f->ids);
    free(f->bag_ids);
    embedding_scratch_free(&f->scratch);
    for (int w = 0; w < f->n_workers; w++) embedding_scratch_free(&f->worker_scratch[w]);
    mem_free(f->worker_scratch);
    mem_free(f->worker_ids);
    shard_comm_free(&f->comm);
    mem_free(f->lookups);
    free(f->sort_tmp);
    free(f->remap);
    memset(f, 0, sizeof *f);
}
