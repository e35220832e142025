/* The feature layer: the three inputs are laid out as documented (checked
 * against a brute-force construction from the tables), and the backward
 * routes each slice of dx to the right table and rows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/features.h"
#include "suites.h"
#include "testutil.h"

enum { N = 5, D = 3 };

/* fields: 0 user u1 (vocab 4), 1 item i1 (6), 2 context c1 (3), 3 cross x1 (5),
 * 4 user multi m1 (7), 5 user u2 (2); 2 dense columns. */
static dataset_field fields[6] = {
    {"u1", SIDE_USER, 0, 4}, {"i1", SIDE_ITEM, 0, 6}, {"c1", SIDE_CONTEXT, 0, 3},
    {"x1", SIDE_CROSS, 0, 5}, {"m1", SIDE_USER, 1, 7}, {"u2", SIDE_USER, 0, 2},
};

typedef struct fixture {
    dataset_schema schema;
    batch b;
    int user_fields[2], item_fields[1], ctx_fields[1], cross_fields[1];
    int32_t user_ids[N * 2], item_ids[N], ctx_ids[N], cross_ids[N];
    int64_t offsets[N + 1];
    int32_t indices[9];
    float weights[9], dense[N * 2];
    batch_multi multi[1];
} fixture;

static void make_fixture(fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    fx->schema.n_fields = 6;
    fx->schema.fields = fields;
    fx->schema.n_dense = 2;
    const int32_t u[N * 2] = {1, 0, 3, 1, 1, 1, 0, 0, 2, 1};
    const int32_t it[N] = {5, 2, 5, 0, 1}, c[N] = {2, 2, 1, 0, 1}, x[N] = {4, 4, 3, 1, 0};
    memcpy(fx->user_ids, u, sizeof u);
    memcpy(fx->item_ids, it, sizeof it);
    memcpy(fx->ctx_ids, c, sizeof c);
    memcpy(fx->cross_ids, x, sizeof x);
    const int64_t off[N + 1] = {0, 2, 2, 5, 6, 9};
    const int32_t idx[9] = {1, 6, 3, 3, 0, 2, 6, 1, 5};
    const float w[9] = {0.5f, 2, 1, 1, 0.25f, 3, 1, 1, 0.5f};
    memcpy(fx->offsets, off, sizeof off);
    memcpy(fx->indices, idx, sizeof idx);
    memcpy(fx->weights, w, sizeof w);
    for (int i = 0; i < N * 2; i++) fx->dense[i] = 0.1f * (float)i;
    fx->user_fields[0] = 0;
    fx->user_fields[1] = 5;
    fx->item_fields[0] = 1;
    fx->ctx_fields[0] = 2;
    fx->cross_fields[0] = 3;
    fx->b.n = N;
    fx->b.side[SIDE_USER] = (batch_side){2, fx->user_fields, fx->user_ids};
    fx->b.side[SIDE_ITEM] = (batch_side){1, fx->item_fields, fx->item_ids};
    fx->b.side[SIDE_CONTEXT] = (batch_side){1, fx->ctx_fields, fx->ctx_ids};
    fx->b.side[SIDE_CROSS] = (batch_side){1, fx->cross_fields, fx->cross_ids};
    fx->multi[0] = (batch_multi){4, SIDE_USER, fx->offsets, fx->indices, fx->weights};
    fx->b.n_multi = 1;
    fx->b.multi = fx->multi;
    fx->b.n_dense = 2;
    fx->b.dense = fx->dense;
}

static features_config small_config(void)
{
    features_config c;
    memset(&c, 0, sizeof c);
    c.dim = D;
    c.pool = POOL_SUM;
    c.teacher = c.student = c.dense = 1;
    c.max_batch = 8;
    c.init_stddev = 0.5f;
    c.optimizer = SPARSE_OPT_ADAGRAD;
    c.opt = sparse_opt_config_default(SPARSE_OPT_ADAGRAD);
    return c;
}

/* The table a view uses for a field (by construction order). */
static const feature_table *table_of(const features *f, int view, int field)
{
    for (int i = 0; i < f->n_tables; i++)
        if (f->tables[i].view == view && f->tables[i].field == field) return &f->tables[i];
    return NULL;
}

/* Brute force: the expected block of field `field` in row i. */
static void expected_block(const fixture *fx, const features *f, int view, int field, int i, double *out)
{
    const feature_table *t = table_of(f, view, field);
    for (int j = 0; j < D; j++) out[j] = 0;
    if (field == 4) {
        for (int64_t p = fx->offsets[i]; p < fx->offsets[i + 1]; p++)
            for (int j = 0; j < D; j++) out[j] += fx->weights[p] * t->emb.weight[fx->indices[p] * D + j];
        return;
    }
    int32_t id = field == 0 ? fx->user_ids[i * 2] : field == 5 ? fx->user_ids[i * 2 + 1] : field == 1 ? fx->item_ids[i]
                 : field == 2 ? fx->ctx_ids[i] : fx->cross_ids[i];
    for (int j = 0; j < D; j++) out[j] = t->emb.weight[id * D + j];
}

/* Documented order: single-valued fields in schema order, then multi, then dense. */
static const int teacher_order[] = {0, 1, 2, 3, 5, 4};
static const int user_order[] = {0, 2, 5, 4};
static const int item_order[] = {1};

static void test_layout(void)
{
    fixture fx;
    features f;
    make_fixture(&fx);
    features_config c = small_config();
    CU_ASSERT_EQUAL_FATAL(features_init(&f, &fx.schema, &c, 3), DMMP_OK);
    CU_ASSERT_EQUAL(f.view[VIEW_TEACHER].width, 6 * D + 2);
    CU_ASSERT_EQUAL(f.view[VIEW_USER].width, 4 * D);
    CU_ASSERT_EQUAL(f.view[VIEW_ITEM].width, 1 * D);
    CU_ASSERT_EQUAL(f.n_tables, 6 + 4 + 1);
    CU_ASSERT_PTR_NULL(table_of(&f, VIEW_USER, 3)); /* towers never read cross fields */
    CU_ASSERT_EQUAL_FATAL(features_forward(&f, &fx.b), DMMP_OK);
    const int *orders[3] = {teacher_order, user_order, item_order};
    const int counts[3] = {6, 4, 1};
    double e[D];
    for (int v = 0; v < VIEW_COUNT; v++) {
        const feature_view *fv = &f.view[v];
        for (int i = 0; i < N; i++) {
            for (int k = 0; k < counts[v]; k++) {
                expected_block(&fx, &f, v, orders[v][k], i, e);
                for (int j = 0; j < D; j++) TU_ASSERT_NEAR(fv->x[i * fv->width + k * D + j], e[j], 1e-6);
            }
            if (v == VIEW_TEACHER)
                for (int j = 0; j < 2; j++) CU_ASSERT_EQUAL(fv->x[i * fv->width + 6 * D + j], fx.dense[i * 2 + j]);
        }
    }
    features_free(&f);
}

static void test_backward_routes(void)
{
    fixture fx;
    features f;
    make_fixture(&fx);
    features_config c = small_config();
    CU_ASSERT_EQUAL_FATAL(features_init(&f, &fx.schema, &c, 3), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(features_forward(&f, &fx.b), DMMP_OK);
    rng r;
    rng_seed(&r, 5);
    float *dx[VIEW_COUNT];
    for (int v = 0; v < VIEW_COUNT; v++) {
        dx[v] = malloc(sizeof(float) * N * (size_t)f.view[v].width);
        tu_fill(&r, dx[v], (size_t)N * f.view[v].width, -1, 1);
    }
    const float *cdx[VIEW_COUNT] = {dx[0], dx[1], dx[2]};
    CU_ASSERT_EQUAL_FATAL(features_backward(&f, &fx.b, cdx), DMMP_OK);
    /* Brute force per table: d/dW[row] of sum(x * dx) over the table's slice. */
    const int *orders[3] = {teacher_order, user_order, item_order};
    const int counts[3] = {6, 4, 1};
    for (int v = 0; v < VIEW_COUNT; v++) {
        int width = f.view[v].width;
        for (int k = 0; k < counts[v]; k++) {
            int field = orders[v][k];
            const feature_table *t = table_of(&f, v, field);
            double g[8][D];
            memset(g, 0, sizeof g);
            for (int i = 0; i < N; i++) {
                const float *d = dx[v] + i * width + k * D;
                if (field == 4) {
                    for (int64_t p = fx.offsets[i]; p < fx.offsets[i + 1]; p++)
                        for (int j = 0; j < D; j++) g[fx.indices[p]][j] += fx.weights[p] * d[j];
                } else {
                    int32_t id = field == 0 ? fx.user_ids[i * 2] : field == 5 ? fx.user_ids[i * 2 + 1]
                                 : field == 1 ? fx.item_ids[i] : field == 2 ? fx.ctx_ids[i] : fx.cross_ids[i];
                    for (int j = 0; j < D; j++) g[id][j] += d[j];
                }
            }
            int expect_rows = 0;
            for (int row = 0; row < fields[field].vocab_size; row++) {
                int touched = 0;
                for (int i = 0; i < N; i++) {
                    if (field == 4) {
                        for (int64_t p = fx.offsets[i]; p < fx.offsets[i + 1]; p++) touched |= fx.indices[p] == row;
                    } else {
                        int32_t id = field == 0 ? fx.user_ids[i * 2] : field == 5 ? fx.user_ids[i * 2 + 1]
                                     : field == 1 ? fx.item_ids[i] : field == 2 ? fx.ctx_ids[i] : fx.cross_ids[i];
                        touched |= id == row;
                    }
                }
                if (!touched) continue;
                CU_ASSERT_EQUAL(t->grad.rows[expect_rows], row);
                for (int j = 0; j < D; j++) TU_ASSERT_NEAR(t->grad.values[expect_rows * D + j], g[row][j], 1e-5);
                expect_rows++;
            }
            CU_ASSERT_EQUAL(t->grad.n_rows, expect_rows);
        }
    }
    /* A step changes exactly the touched rows of each table. */
    const feature_table *t = table_of(&f, VIEW_ITEM, 1);
    float before[6 * D];
    memcpy(before, t->emb.weight, sizeof before);
    CU_ASSERT_EQUAL(features_step(&f), DMMP_OK);
    for (int row = 0; row < 6; row++) {
        int touched = row == 5 || row == 2 || row == 0 || row == 1;
        int changed = memcmp(before + row * D, t->emb.weight + row * D, sizeof(float) * D) != 0;
        CU_ASSERT_EQUAL(changed, touched);
    }
    for (int v = 0; v < VIEW_COUNT; v++) free(dx[v]);
    features_free(&f);
}

static void test_errors(void)
{
    fixture fx;
    features f;
    make_fixture(&fx);
    features_config c = small_config();
    CU_ASSERT_EQUAL_FATAL(features_init(&f, &fx.schema, &c, 3), DMMP_OK);
    fx.item_ids[2] = 6; /* outside the item vocabulary */
    dmmp_status s = features_forward(&f, &fx.b);
    CU_ASSERT(s == DMMP_EFORMAT || s == DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "i1"));
    fx.b.n = 9;
    CU_ASSERT_EQUAL(features_forward(&f, &fx.b), DMMP_EINVAL);
    features_free(&f);
}

int register_features_suites(void)
{
    static const char *const names[] = {"views laid out as documented", "backward routes dx to tables and rows",
                                        "bad ids and batch sizes"};
    static const CU_TestFunc fns[] = {test_layout, test_backward_routes, test_errors};
    return tu_add_suite("layer_features", names, fns, sizeof fns / sizeof fns[0]);
}
