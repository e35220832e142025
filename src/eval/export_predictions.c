#include "eval/export_predictions.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/batcher.h"
#include "data/dataset_hash.h"
#include "train/evaluate.h"
#include "train/recipe.h"

enum {
    C_ROW, C_USER, C_USER_RAW, C_ITEM, C_ITEM_RAW, C_CLICK, C_CONV,
    C_T_CTR, C_T_CVR, C_T_CTCVR, C_S_CTR, C_S_CVR, C_S_CTCVR, C_S_PF, C_W_C, C_W_V, C_COUNT
};

static const export_col all_cols[C_COUNT] = {
    {"row", EXPORT_COL_I64, 0, "the sample's row of /samples in the dataset"},
    {"user", EXPORT_COL_I32, 0, "user index (/samples/user)"},
    {"user_raw_id", EXPORT_COL_STR, 0, "the user's raw id (/users/raw_id; #<index> when the dataset has none)"},
    {"item", EXPORT_COL_I32, 0, "item index (/samples/item)"},
    {"item_raw_id", EXPORT_COL_STR, 0, "the item's raw id (/items/raw_id; #<index> when the dataset has none)"},
    {"click", EXPORT_COL_U8, 0, "click label"},
    {"conversion", EXPORT_COL_U8, 0, "conversion label"},
    {"teacher_pctr", EXPORT_COL_F32, 0, "teacher pCTR = sigmoid(z_ctr)"},
    {"teacher_pcvr", EXPORT_COL_F32, 0, "teacher pCVR = sigmoid(z_cvr)"},
    {"teacher_pctcvr", EXPORT_COL_F32, 0, "teacher pCTCVR = pCTR * pCVR"},
    {"student_pctr", EXPORT_COL_F32, 0, "student pCTR = sigmoid(s_c)"},
    {"student_pcvr", EXPORT_COL_F32, 0, "student pCVR = sigmoid(s_v)"},
    {"student_pctcvr", EXPORT_COL_F32, 0, "student pCTCVR = pCTR_s * pCVR_s"},
    {"student_pf", EXPORT_COL_F32, 0, "fused p_f = sigmoid(w_c s_c + w_v s_v + b_f)"},
    {"gate_wc", EXPORT_COL_F32, 0, "user preference gate weight w_c"},
    {"gate_wv", EXPORT_COL_F32, 0, "user preference gate weight w_v"},
};

static float sigmoidf_(float x) { return 1.0f / (1.0f + expf(-x)); }

typedef struct pred_state {
    int used[C_COUNT];
    int n_cols;
    export_col cols[C_COUNT];
    int map[C_COUNT]; /* column -> position in cols, -1 */
    void *buf[C_COUNT];
    raw_ids users, items;
} pred_state;

static size_t col_elem(const export_col *c)
{
    switch (c->type) {
    case EXPORT_COL_I64: return 8;
    case EXPORT_COL_U8: return 1;
    case EXPORT_COL_STR: return c->str_len;
    default: return 4;
    }
}

static dmmp_status setup(pred_state *p, const model *m, const dataset *d, int rows)
{
    for (int c = 0; c <= C_CONV; c++) p->used[c] = 1;
    if (m->has_teacher) p->used[C_T_CTR] = p->used[C_T_CVR] = p->used[C_T_CTCVR] = 1;
    if (m->has_student) p->used[C_S_CTR] = 1;
    if (m->n_item_towers == 2)
        p->used[C_S_CVR] = p->used[C_S_CTCVR] = p->used[C_S_PF] = p->used[C_W_C] = p->used[C_W_V] = 1;
    DMMP_TRY(dataset_read_raw_ids(d, RAW_IDS_USERS, 0, &p->users));
    DMMP_TRY(dataset_read_raw_ids(d, RAW_IDS_ITEMS, 0, &p->items));
    for (int c = 0; c < C_COUNT; c++) {
        p->map[c] = -1;
        if (!p->used[c]) continue;
        export_col col = all_cols[c];
        if (c == C_USER_RAW) col.str_len = export_raw_id_width(&p->users, dataset_n_users(d));
        if (c == C_ITEM_RAW) col.str_len = export_raw_id_width(&p->items, dataset_n_items(d));
        p->map[c] = p->n_cols;
        p->cols[p->n_cols++] = col;
        p->buf[c] = malloc((size_t)rows * col_elem(&col));
        if (!p->buf[c]) return dmmp_fail(DMMP_ENOMEM, "export: out of memory for column %s", col.name);
    }
    return DMMP_OK;
}

static void state_free(pred_state *p)
{
    for (int c = 0; c < C_COUNT; c++) free(p->buf[c]);
    raw_ids_free(&p->users);
    raw_ids_free(&p->items);
}

/* Fills the column buffers from batch b and the model's last forward over it. */
static void fill(pred_state *p, const model *m, const batch *b)
{
    int n = b->n;
    for (int i = 0; i < n; i++) {
        ((int64_t *)p->buf[C_ROW])[i] = b->row[i];
        ((int32_t *)p->buf[C_USER])[i] = b->user[i];
        ((int32_t *)p->buf[C_ITEM])[i] = b->item[i];
        size_t uw = p->cols[p->map[C_USER_RAW]].str_len, iw = p->cols[p->map[C_ITEM_RAW]].str_len;
        export_raw_id_fill(&p->users, b->user[i], (char *)p->buf[C_USER_RAW] + (size_t)i * uw, uw);
        export_raw_id_fill(&p->items, b->item[i], (char *)p->buf[C_ITEM_RAW] + (size_t)i * iw, iw);
    }
    memcpy(p->buf[C_CLICK], b->click, (size_t)n);
    memcpy(p->buf[C_CONV], b->conversion, (size_t)n);
    if (m->has_teacher)
        model_teacher_predictions(m, n, p->buf[C_T_CTR], p->buf[C_T_CVR], p->buf[C_T_CTCVR]);
    if (!m->has_student) return;
    model_predictions(m, n, p->buf[C_S_CTR], p->buf[C_S_CVR], p->buf[C_S_CTCVR]);
    if (m->n_item_towers != 2) return;
    float *pf = p->buf[C_S_PF], *wc = p->buf[C_W_C], *wv = p->buf[C_W_V];
    for (int i = 0; i < n; i++) {
        pf[i] = sigmoidf_(m->z_f[i]);
        wc[i] = m->w[2 * i];
        wv[i] = m->w[2 * i + 1];
    }
}

static dmmp_status put_attrs(export_table *t, const model *m, const dataset *d, const export_predictions_request *rq,
                             int64_t rows)
{
    char hash[DATASET_HASH_LEN];
    DMMP_TRY(dataset_content_hash(rq->data, hash));
    (void)d;
    DMMP_TRY(export_table_attr_str(t, "kind", "dmmp-predictions"));
    DMMP_TRY(export_table_attr_str(t, "variant", rq->variant ? rq->variant : ""));
    DMMP_TRY(export_table_attr_str(t, "model_kind", model_variant_name(m->spec.variant)));
    DMMP_TRY(export_table_attr_str(t, "split", rq->split_name ? rq->split_name : ""));
    DMMP_TRY(export_table_attr_str(t, "run", rq->run ? rq->run : ""));
    DMMP_TRY(export_table_attr_str(t, "checkpoint", rq->checkpoint ? rq->checkpoint : ""));
    DMMP_TRY(export_table_attr_str(t, "dataset_path", rq->data));
    DMMP_TRY(export_table_attr_str(t, "dataset_hash", hash));
    return export_table_attr_i64(t, "n_rows", rows);
}

dmmp_status export_predictions(model *m, features *f, const dataset *d, const export_predictions_request *rq,
                               int64_t *rows_out)
{
    *rows_out = 0;
    int64_t rows = dataset_split_stats_of(d, rq->split).rows;
    if (rows <= 0)
        return dmmp_fail(DMMP_EINVAL, "%s: split %s has no rows: no predictions to export", dataset_path(d),
                         rq->split_name ? rq->split_name : "?");
    int brows = eval_batch_rows(m, f);
    pred_state p;
    memset(&p, 0, sizeof p);
    export_table *t = NULL;
    batcher *bt = NULL;
    dmmp_status s = setup(&p, m, d, brows);
    if (s == DMMP_OK) s = export_table_open(&t, rq->out, rq->format, p.cols, p.n_cols, rows);
    if (s == DMMP_OK) s = put_attrs(t, m, d, rq, rows);
    if (s == DMMP_OK) s = batcher_open(&bt, d, rq->split, brows, 0, 0);
    int64_t done = 0;
    while (s == DMMP_OK) {
        const batch *b = NULL;
        s = batcher_next(bt, &b);
        if (s != DMMP_OK || !b) break;
        if (done + b->n > rows) {
            s = dmmp_fail(DMMP_EFORMAT, "%s: split %s holds more rows than its recorded count %lld", dataset_path(d),
                          rq->split_name, (long long)rows);
            break;
        }
        s = recipe_forward(f, m, b);
        if (s != DMMP_OK) break;
        fill(&p, m, b);
        const void *cols[C_COUNT];
        for (int c = 0; c < C_COUNT; c++)
            if (p.map[c] >= 0) cols[p.map[c]] = p.buf[c];
        s = export_table_append(t, b->n, cols);
        done += b->n;
    }
    batcher_close(bt);
    if (s == DMMP_OK) s = export_table_commit(t);
    else export_table_abort(t);
    state_free(&p);
    if (s == DMMP_OK) *rows_out = done;
    return s;
}
