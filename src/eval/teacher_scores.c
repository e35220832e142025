#include "eval/teacher_scores.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/evaluate.h"
#include "train/recipe.h"

dmmp_status teacher_scorer_init(teacher_scorer *s, model *m, features *f, const dataset *d)
{
    memset(s, 0, sizeof *s);
    if (!m->has_teacher) return dmmp_fail(DMMP_EINVAL, "teacher scores: the model has no teacher");
    s->m = m;
    s->f = f;
    s->rows = eval_batch_rows(m, f);
    DMMP_TRY(batch_alloc(d, &s->pairs, s->rows));
    s->p_ctr = malloc((size_t)s->rows * sizeof(float));
    s->p_ctcvr = malloc((size_t)s->rows * sizeof(float));
    if (!s->p_ctr || !s->p_ctcvr) {
        teacher_scorer_free(s);
        return dmmp_fail(DMMP_ENOMEM, "teacher scores: out of memory for %d rows", s->rows);
    }
    return DMMP_OK;
}

/* Lays out n pairs in s->pairs: pair p (p0 <= p < p0 + n) of the sequence
 * (query row rows[p / N], corpus row p % N), N = corpus->n, users outer. */
static dmmp_status fill_pairs(teacher_scorer *s, const batch *queries, const int64_t *rows, const batch *corpus,
                              int64_t p0, int n)
{
    batch *p = &s->pairs;
    const int64_t n_items = corpus->n;
    p->n = n;
    for (int side = 0; side < 4; side++) {
        batch_side *ps = &p->side[side];
        if (side == SIDE_CROSS) {
            memset(ps->ids, 0, (size_t)n * (size_t)ps->n_fields * sizeof(int32_t));
            continue;
        }
        const batch_side *from = side == SIDE_ITEM ? &corpus->side[side] : &queries->side[side];
        if (from->n_fields != ps->n_fields)
            return dmmp_fail(DMMP_EINVAL, "teacher scores: the %s rows have %d columns of side %d, the dataset %d",
                             side == SIDE_ITEM ? "corpus" : "query", from->n_fields, side, ps->n_fields);
        const size_t width = (size_t)ps->n_fields;
        if (width == 0) continue;
        for (int i = 0; i < n; i++) {
            int64_t r = side == SIDE_ITEM ? (p0 + i) % n_items : rows[(p0 + i) / n_items];
            memcpy(ps->ids + (size_t)i * width, from->ids + (size_t)r * width, width * sizeof(int32_t));
        }
    }
    for (int k = 0; k < p->n_multi; k++) {
        batch_multi *pm = &p->multi[k];
        /* User and context bags come from the query row (repeated per pair),
         * item bags from each corpus row; cross bags stay empty. */
        int from_query = pm->side == SIDE_USER || pm->side == SIDE_CONTEXT;
        int used = from_query || pm->side == SIDE_ITEM;
        const batch_multi *src = from_query ? &queries->multi[k] : &corpus->multi[k];
        int64_t nnz = 0;
        for (int i = 0; used && i < n; i++) {
            int64_t r = from_query ? rows[(p0 + i) / n_items] : (p0 + i) % n_items;
            nnz += src->offsets[r + 1] - src->offsets[r];
        }
        int32_t *idx = realloc(pm->indices, (size_t)(nnz ? nnz : 1) * sizeof *idx);
        if (idx) pm->indices = idx;
        float *w = idx ? realloc(pm->weights, (size_t)(nnz ? nnz : 1) * sizeof *w) : NULL;
        if (w) pm->weights = w;
        if (!idx || !w) return dmmp_fail(DMMP_ENOMEM, "teacher scores: out of memory for %lld bag ids", (long long)nnz);
        pm->offsets[0] = 0;
        for (int i = 0; i < n; i++) {
            int64_t at = pm->offsets[i], len = 0;
            if (used) {
                int64_t r = from_query ? rows[(p0 + i) / n_items] : (p0 + i) % n_items;
                int64_t lo = src->offsets[r];
                len = src->offsets[r + 1] - lo;
                memcpy(pm->indices + at, src->indices + lo, (size_t)len * sizeof(int32_t));
                for (int64_t t = 0; t < len; t++) pm->weights[at + t] = src->weights ? src->weights[lo + t] : 1.0f;
            }
            pm->offsets[i + 1] = at + len;
        }
    }
    if (p->n_dense > 0) memset(p->dense, 0, (size_t)n * (size_t)p->n_dense * sizeof(float));
    for (int i = 0; i < n; i++) {
        p->user[i] = queries->user[rows[(p0 + i) / n_items]];
        p->item[i] = corpus->item[(p0 + i) % n_items];
        p->row[i] = -1;
    }
    return DMMP_OK;
}

dmmp_status teacher_score_users(teacher_scorer *s, const batch *queries, const int64_t *rows, int n_users,
                                const batch *corpus, float *scores)
{
    for (int u = 0; u < n_users; u++)
        if (rows[u] < 0 || rows[u] >= queries->n)
            return dmmp_fail(DMMP_EINVAL, "teacher scores: query row %lld outside 0..%d", (long long)rows[u],
                             queries->n - 1);
    double lambda = s->m->spec.conversion_weight;
    const int64_t n_pairs = (int64_t)n_users * corpus->n;
    for (int64_t start = 0; start < n_pairs; start += s->rows) {
        int n = n_pairs - start < s->rows ? (int)(n_pairs - start) : s->rows;
        DMMP_TRY(fill_pairs(s, queries, rows, corpus, start, n));
        DMMP_TRY(recipe_forward(s->f, s->m, &s->pairs));
        model_teacher_predictions(s->m, n, s->p_ctr, NULL, s->p_ctcvr);
        for (int i = 0; i < n; i++) scores[start + i] = (float)((1.0 - lambda) * s->p_ctr[i] + lambda * s->p_ctcvr[i]);
    }
    return DMMP_OK;
}

dmmp_status teacher_score_corpus(teacher_scorer *s, const batch *queries, int64_t q, const batch *corpus,
                                 float *scores)
{
    return teacher_score_users(s, queries, &q, 1, corpus, scores);
}

int teacher_users_per_call(const teacher_scorer *s, int64_t n_items)
{
    int64_t pairs = (int64_t)TEACHER_CALL_FORWARDS * s->rows;
    int64_t users = n_items > 0 ? (pairs + n_items - 1) / n_items : 1;
    return users < 1 ? 1 : (int)users;
}

/* Heap order: the root is the worst kept item (lowest score, then largest id). */
static int worse(float sa, int32_t ia, float sb, int32_t ib) { return sa < sb || (sa == sb && ia > ib); }

static void sift_down(float *hs, int32_t *hi, int n, int at)
{
    for (;;) {
        int l = 2 * at + 1, r = l + 1, w = at;
        if (l < n && worse(hs[l], hi[l], hs[w], hi[w])) w = l;
        if (r < n && worse(hs[r], hi[r], hs[w], hi[w])) w = r;
        if (w == at) return;
        float ts = hs[at];
        int32_t ti = hi[at];
        hs[at] = hs[w];
        hi[at] = hi[w];
        hs[w] = ts;
        hi[w] = ti;
        at = w;
    }
}

void topk_of_scores(const float *scores, int64_t n, int k, int32_t *ids, float *top)
{
    int kept = 0;
    for (int64_t j = 0; j < n; j++) {
        float sc = scores[j];
        if (isnan(sc)) continue;
        if (kept < k) {
            /* sift up the new leaf */
            int at = kept++;
            top[at] = sc;
            ids[at] = (int32_t)j;
            while (at > 0) {
                int parent = (at - 1) / 2;
                if (!worse(top[at], ids[at], top[parent], ids[parent])) break;
                float ts = top[at];
                int32_t ti = ids[at];
                top[at] = top[parent];
                ids[at] = ids[parent];
                top[parent] = ts;
                ids[parent] = ti;
                at = parent;
            }
        } else if (worse(top[0], ids[0], sc, (int32_t)j)) {
            top[0] = sc;
            ids[0] = (int32_t)j;
            sift_down(top, ids, kept, 0);
        }
    }
    /* Pop the worst to the back: the array ends up best first. */
    for (int end = kept - 1; end > 0; end--) {
        float ts = top[0];
        int32_t ti = ids[0];
        top[0] = top[end];
        ids[0] = ids[end];
        top[end] = ts;
        ids[end] = ti;
        sift_down(top, ids, end, 0);
    }
    for (int i = kept; i < k; i++) {
        ids[i] = -1;
        top[i] = -INFINITY;
    }
}

void teacher_scorer_free(teacher_scorer *s)
{
    batch_free(&s->pairs);
    free(s->p_ctr);
    free(s->p_ctcvr);
    memset(s, 0, sizeof *s);
}
