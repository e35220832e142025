#include "eval/export_vectors.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/npy_writer.h"
#include "data/batch.h"
#include "data/dataset_hash.h"
#include "data/h5_column.h"
#include "data/h5_out.h"
#include "eval/export_table.h"
#include "eval/retrieval_eval.h"
#include "train/evaluate.h"

/* One side's rows: vectors, indices and raw ids. */
typedef struct side_rows {
    int64_t n;
    float *vec;     /* n x dim */
    int32_t *index; /* n */
    char *raw;      /* n x raw_len */
    size_t raw_len;
} side_rows;

static void side_free(side_rows *s)
{
    free(s->vec);
    free(s->index);
    free(s->raw);
    memset(s, 0, sizeof *s);
}

static const char *const npy_suffix[EXPORT_VECTORS_FILES] = {".items.npy", ".items_index.npy", ".items_raw_id.npy",
                                                             ".users.npy", ".users_index.npy", ".users_raw_id.npy"};

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && !strcmp(s + n - m, tail);
}

dmmp_status export_vectors_paths(const export_vectors_request *rq, export_vectors_summary *out)
{
    memset(out, 0, sizeof *out);
    if (!rq->prefix || !*rq->prefix) return dmmp_fail(DMMP_EINVAL, "--out: empty prefix");
    if (strlen(rq->prefix) > 4000) return dmmp_fail(DMMP_EINVAL, "--out %s: the path is too long", rq->prefix);
    if (rq->prefix[strlen(rq->prefix) - 1] == '/')
        return dmmp_fail(DMMP_EINVAL, "--out %s ends in '/': give a file name prefix (DIR/vec writes DIR/vec.items.npy, ...)",
                         rq->prefix);
    if (rq->format == EXPORT_VECTORS_H5) {
        out->n_files = 1;
        snprintf(out->files[0], sizeof out->files[0], "%s%s", rq->prefix, ends_with(rq->prefix, ".h5") ? "" : ".h5");
        return DMMP_OK;
    }
    out->n_files = EXPORT_VECTORS_FILES;
    for (int i = 0; i < EXPORT_VECTORS_FILES; i++)
        snprintf(out->files[i], sizeof out->files[i], "%s%s", rq->prefix, npy_suffix[i]);
    return DMMP_OK;
}

static dmmp_status fill_raw(side_rows *r, const raw_ids *ids, int64_t n_index)
{
    r->raw_len = export_raw_id_width(ids, n_index);
    r->raw = malloc((size_t)(r->n > 0 ? r->n : 1) * r->raw_len);
    if (!r->raw) return dmmp_fail(DMMP_ENOMEM, "export: out of memory for %lld raw ids", (long long)r->n);
    for (int64_t i = 0; i < r->n; i++) export_raw_id_fill(ids, r->index[i], r->raw + (size_t)i * r->raw_len, r->raw_len);
    return DMMP_OK;
}

static dmmp_status item_rows(model *m, features *f, const dataset *d, side_rows *out)
{
    batch corpus;
    DMMP_TRY(batch_item_corpus(d, &corpus));
    out->n = corpus.n;
    out->index = malloc((size_t)(corpus.n > 0 ? corpus.n : 1) * sizeof *out->index);
    dmmp_status s = out->index ? DMMP_OK : dmmp_fail(DMMP_ENOMEM, "export: out of memory for the item corpus");
    if (s == DMMP_OK) {
        memcpy(out->index, corpus.item, (size_t)corpus.n * sizeof *out->index);
        s = retrieval_item_vectors(m, f, d, &corpus, &out->vec);
    }
    batch_free(&corpus);
    return s;
}

/* The queries of one split's users not done yet, in blocks of eval rows, into by_user. */
static dmmp_status split_queries(model *m, features *f, const dataset *d, data_split split, uint8_t *done,
                                 float *by_user, int dim)
{
    batch queries, scratch;
    memset(&scratch, 0, sizeof scratch);
    DMMP_TRY(batch_query_rows(d, split, &queries));
    int rows = eval_batch_rows(m, f);
    int64_t *pick = malloc((size_t)rows * sizeof *pick);
    float *q = malloc((size_t)rows * (size_t)dim * sizeof *q);
    dmmp_status s = pick && q ? DMMP_OK : dmmp_fail(DMMP_ENOMEM, "export: out of memory for the queries");
    if (s == DMMP_OK) s = batch_alloc(d, &scratch, rows);
    for (int start = 0; s == DMMP_OK && start < queries.n;) {
        int n = 0;
        for (; start < queries.n && n < rows; start++)
            if (!done[queries.user[start]]) pick[n++] = start;
        if (n == 0) continue;
        s = retrieval_queries(m, f, &queries, pick, n, &scratch, q);
        for (int i = 0; s == DMMP_OK && i < n; i++) {
            int32_t u = queries.user[pick[i]];
            memcpy(by_user + (size_t)u * dim, q + (size_t)i * dim, (size_t)dim * sizeof *q);
            done[u] = 1;
        }
    }
    batch_free(&scratch);
    batch_free(&queries);
    free(pick);
    free(q);
    return s;
}

static dmmp_status user_rows(model *m, features *f, const dataset *d, int dim, side_rows *out)
{
    int64_t nu = dataset_n_users(d);
    uint8_t *done = calloc((size_t)(nu > 0 ? nu : 1), 1);
    float *by_user = malloc((size_t)(nu > 0 ? nu : 1) * (size_t)dim * sizeof *by_user);
    dmmp_status s = done && by_user ? DMMP_OK : dmmp_fail(DMMP_ENOMEM, "export: out of memory for %lld users", (long long)nu);
    static const data_split order[] = {SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST};
    for (size_t k = 0; s == DMMP_OK && k < sizeof order / sizeof order[0]; k++)
        s = split_queries(m, f, d, order[k], done, by_user, dim);
    int64_t n = 0;
    for (int64_t u = 0; s == DMMP_OK && u < nu; u++) n += done[u];
    if (s == DMMP_OK) {
        out->n = n;
        out->vec = malloc((size_t)(n > 0 ? n : 1) * (size_t)dim * sizeof *out->vec);
        out->index = malloc((size_t)(n > 0 ? n : 1) * sizeof *out->index);
        if (!out->vec || !out->index) s = dmmp_fail(DMMP_ENOMEM, "export: out of memory for %lld users", (long long)n);
    }
    for (int64_t u = 0, r = 0; s == DMMP_OK && u < nu; u++) {
        if (!done[u]) continue;
        out->index[r] = (int32_t)u;
        memcpy(out->vec + (size_t)r * dim, by_user + (size_t)u * dim, (size_t)dim * sizeof(float));
        r++;
    }
    free(done);
    free(by_user);
    return s;
}

static const char *scoring_rule(const model *m)
{
    if (m->n_item_towers == 1)
        return m->spec.l2norm ? "score = <users/vector, items/vector> = cos(u, v_c); higher ranks first"
                              : "score = <users/vector, items/vector> = <u, v_c>; higher ranks first";
    return m->spec.l2norm ? "score = <users/vector, items/vector> = w_c cos(u, v_c) + w_v cos(u, v_v); higher ranks first"
                          : "score = <users/vector, items/vector> = w_c <u, v_c> + w_v <u, v_v>; higher ranks first";
}

static dmmp_status write_npy(const export_vectors_summary *sum, const side_rows *items, const side_rows *users, int dim)
{
    npy_file f[EXPORT_VECTORS_FILES];
    memset(f, 0, sizeof f);
    const side_rows *side[2] = {items, users};
    dmmp_status s = DMMP_OK;
    for (int k = 0; s == DMMP_OK && k < 2; k++) {
        const side_rows *r = side[k];
        npy_file *v = &f[3 * k], *ix = &f[3 * k + 1], *raw = &f[3 * k + 2];
        s = npy_begin(v, sum->files[3 * k], NPY_F32, r->n, dim, 0);
        if (s == DMMP_OK) s = npy_append(v, r->vec, r->n);
        if (s == DMMP_OK) s = npy_finish(v);
        if (s == DMMP_OK) s = npy_begin(ix, sum->files[3 * k + 1], NPY_I32, r->n, 0, 0);
        if (s == DMMP_OK) s = npy_append(ix, r->index, r->n);
        if (s == DMMP_OK) s = npy_finish(ix);
        if (s == DMMP_OK) s = npy_begin(raw, sum->files[3 * k + 2], NPY_BYTES, r->n, 0, (int64_t)r->raw_len);
        if (s == DMMP_OK) s = npy_append(raw, r->raw, r->n);
        if (s == DMMP_OK) s = npy_finish(raw);
    }
    for (int i = 0; s == DMMP_OK && i < EXPORT_VECTORS_FILES; i++) s = npy_commit(&f[i]);
    if (s != DMMP_OK) /* a zeroed or committed file has no temporary left to remove */
        for (int i = 0; i < EXPORT_VECTORS_FILES; i++) npy_abort(&f[i]);
    return s;
}

static dmmp_status h5_side(hid_t file, const char *group, const side_rows *r, int dim)
{
    hid_t g;
    char name[64];
    DMMP_TRY(h5_create_group(file, group, &g));
    snprintf(name, sizeof name, "%s/vector", group);
    dmmp_status s = h5_write_array(file, name, H5T_NATIVE_FLOAT, r->n, dim, r->vec);
    snprintf(name, sizeof name, "%s/index", group);
    if (s == DMMP_OK) s = h5_write_array(file, name, H5T_NATIVE_INT32, r->n, 0, r->index);
    snprintf(name, sizeof name, "%s/raw_id", group);
    if (s == DMMP_OK) s = h5_out_strings(file, name, r->raw, r->n, r->raw_len);
    H5Gclose(g);
    return s;
}

static dmmp_status h5_attrs(hid_t file, const model *m, const export_vectors_request *rq, const side_rows *items,
                            const side_rows *users, int dim)
{
    char hash[DATASET_HASH_LEN];
    DMMP_TRY(dataset_content_hash(rq->data, hash));
    const char *gate = m->n_item_towers == 1 ? "none" : m->learned_gate ? "learned" : "fixed 0.5, 0.5";
    DMMP_TRY(h5_attr_str(file, "kind", "dmmp-vectors"));
    DMMP_TRY(h5_attr_str(file, "variant", rq->variant ? rq->variant : ""));
    DMMP_TRY(h5_attr_str(file, "model_kind", model_variant_name(m->spec.variant)));
    DMMP_TRY(h5_attr_i64(file, "dim", dim));
    DMMP_TRY(h5_attr_i64(file, "k", m->k));
    DMMP_TRY(h5_attr_i64(file, "l2norm", m->spec.l2norm));
    DMMP_TRY(h5_attr_str(file, "gate", gate));
    DMMP_TRY(h5_attr_str(file, "metric", "inner_product"));
    DMMP_TRY(h5_attr_str(file, "scoring", scoring_rule(m)));
    DMMP_TRY(h5_attr_str(file, "run", rq->run ? rq->run : ""));
    DMMP_TRY(h5_attr_str(file, "checkpoint", rq->checkpoint ? rq->checkpoint : ""));
    DMMP_TRY(h5_attr_str(file, "dataset_path", rq->data));
    DMMP_TRY(h5_attr_str(file, "dataset_hash", hash));
    DMMP_TRY(h5_attr_i64(file, "n_items", items->n));
    return h5_attr_i64(file, "n_users", users->n);
}

static dmmp_status write_h5(const export_vectors_summary *sum, const model *m, const export_vectors_request *rq,
                            const side_rows *items, const side_rows *users, int dim)
{
    h5_out o;
    DMMP_TRY(h5_out_create(&o, sum->files[0]));
    dmmp_status s = h5_attrs(o.file, m, rq, items, users, dim);
    if (s == DMMP_OK) s = h5_side(o.file, "items", items, dim);
    if (s == DMMP_OK) s = h5_side(o.file, "users", users, dim);
    if (s == DMMP_OK) return h5_out_commit(&o);
    s = dmmp_fail_prefix(s, "writing %s", sum->files[0]);
    h5_out_abort(&o);
    return s;
}

dmmp_status export_vectors(model *m, features *f, const dataset *d, const export_vectors_request *rq,
                           export_vectors_summary *out)
{
    DMMP_TRY(export_vectors_paths(rq, out));
    if (!m->has_student)
        return dmmp_fail(DMMP_EINVAL, "the run is %s: it has no towers, so no item or user vectors (its teacher scores "
                         "every (user, item) pair; dmmp export predictions writes its probabilities)",
                         model_variant_name(m->spec.variant));
    int dim = model_retrieval_dim(m);
    out->dim = dim;
    side_rows items, users;
    memset(&items, 0, sizeof items);
    memset(&users, 0, sizeof users);
    raw_ids item_ids, user_ids;
    raw_ids_init(&item_ids);
    raw_ids_init(&user_ids);
    dmmp_status s = item_rows(m, f, d, &items);
    if (s == DMMP_OK) s = user_rows(m, f, d, dim, &users);
    if (s == DMMP_OK) s = dataset_read_raw_ids(d, RAW_IDS_ITEMS, 0, &item_ids);
    if (s == DMMP_OK) s = dataset_read_raw_ids(d, RAW_IDS_USERS, 0, &user_ids);
    if (s == DMMP_OK) s = fill_raw(&items, &item_ids, dataset_n_items(d));
    if (s == DMMP_OK) s = fill_raw(&users, &user_ids, dataset_n_users(d));
    if (s == DMMP_OK) {
        out->n_items = items.n;
        out->n_users = users.n;
        s = rq->format == EXPORT_VECTORS_H5 ? write_h5(out, m, rq, &items, &users, dim)
                                            : write_npy(out, &items, &users, dim);
    }
    raw_ids_free(&item_ids);
    raw_ids_free(&user_ids);
    side_free(&items);
    side_free(&users);
    return s;
}
