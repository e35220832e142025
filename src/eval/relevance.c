#include "eval/relevance.h"

#include <stdlib.h>
#include <string.h>

#include "data/batcher.h"

/* A growable list of (user, item) pairs. */
typedef struct pair_list {
    int64_t n, cap;
    int64_t *key; /* user * n_items + item: sorting it sorts by user, then item */
} pair_list;

static dmmp_status pair_push(pair_list *l, int64_t key)
{
    if (l->n == l->cap) {
        int64_t cap = l->cap ? 2 * l->cap : 1024;
        int64_t *grown = realloc(l->key, (size_t)cap * sizeof *grown);
        if (!grown) return dmmp_fail(DMMP_ENOMEM, "relevant sets: out of memory at %lld pairs", (long long)l->n);
        l->key = grown;
        l->cap = cap;
    }
    l->key[l->n++] = key;
    return DMMP_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sorts and deduplicates the pairs into per-user CSR. */
static dmmp_status to_csr(pair_list *l, int64_t n_users, int64_t n_items, int64_t **offsets, int32_t **items)
{
    /* A split where nobody clicked has no pairs and l->key is NULL, which
     * qsort must not be given even with a count of 0. */
    if (l->n > 1) qsort(l->key, (size_t)l->n, sizeof *l->key, cmp_i64);
    *offsets = calloc((size_t)n_users + 1, sizeof **offsets);
    *items = malloc((size_t)(l->n ? l->n : 1) * sizeof **items);
    if (!*offsets || !*items) return dmmp_fail(DMMP_ENOMEM, "relevant sets: out of memory");
    int64_t m = 0;
    for (int64_t i = 0; i < l->n; i++) {
        if (i > 0 && l->key[i] == l->key[i - 1]) continue;
        int64_t user = l->key[i] / n_items;
        (*items)[m++] = (int32_t)(l->key[i] % n_items);
        (*offsets)[user + 1]++;
    }
    for (int64_t u = 0; u < n_users; u++) (*offsets)[u + 1] += (*offsets)[u];
    return DMMP_OK;
}

dmmp_status relevance_build(relevance_sets *r, const dataset *d, data_split split, int batch_rows)
{
    memset(r, 0, sizeof *r);
    int64_t n_users = dataset_n_users(d), n_items = dataset_n_items(d);
    r->n_users = n_users;
    int32_t first_user, first_item;
    DMMP_TRY(dataset_first_entity(d, SIDE_USER, &first_user));
    DMMP_TRY(dataset_first_entity(d, SIDE_ITEM, &first_item));
    pair_list clicks = {0, 0, NULL}, buys = {0, 0, NULL};
    batcher *bt = NULL;
    dmmp_status s = batcher_open(&bt, d, split, batch_rows, 0, 0);
    while (s == DMMP_OK) {
        const batch *b = NULL;
        s = batcher_next(bt, &b);
        if (s != DMMP_OK || !b) break;
        for (int i = 0; s == DMMP_OK && i < b->n; i++) {
            if (!b->click[i] && !b->conversion[i]) continue;
            if (b->user[i] < 0 || b->user[i] >= n_users || b->item[i] < 0 || b->item[i] >= n_items) {
                s = dmmp_fail(DMMP_EFORMAT, "%s: sample row %lld has user %d / item %d outside 0..%lld / 0..%lld",
                              dataset_path(d), (long long)b->row[i], b->user[i], b->item[i], (long long)n_users - 1,
                              (long long)n_items - 1);
                break;
            }
            /* The unknown user and item (ids unseen in training) are no one and nothing to retrieve. */
            if (b->user[i] < first_user || b->item[i] < first_item) continue;
            int64_t key = (int64_t)b->user[i] * n_items + b->item[i];
            if (b->click[i]) s = pair_push(&clicks, key);
            if (s == DMMP_OK && b->conversion[i]) s = pair_push(&buys, key);
        }
    }
    batcher_close(bt);
    if (s == DMMP_OK) s = to_csr(&clicks, n_users, n_items, &r->click_offsets, &r->click_items);
    if (s == DMMP_OK) s = to_csr(&buys, n_users, n_items, &r->buy_offsets, &r->buy_items);
    free(clicks.key);
    free(buys.key);
    if (s != DMMP_OK) relevance_free(r);
    return s;
}

const int32_t *relevance_clicked(const relevance_sets *r, int64_t user, int64_t *n)
{
    *n = r->click_offsets[user + 1] - r->click_offsets[user];
    return r->click_items + r->click_offsets[user];
}

const int32_t *relevance_bought(const relevance_sets *r, int64_t user, int64_t *n)
{
    *n = r->buy_offsets[user + 1] - r->buy_offsets[user];
    return r->buy_items + r->buy_offsets[user];
}

void relevance_free(relevance_sets *r)
{
    free(r->click_offsets);
    free(r->buy_offsets);
    free(r->click_items);
    free(r->buy_items);
    memset(r, 0, sizeof *r);
}
