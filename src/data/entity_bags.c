#include "data/entity_bags.h"

#include <stdlib.h>
#include <string.h>

dmmp_status entity_bags_init(entity_bags *b, int n_fields)
{
    memset(b, 0, sizeof *b);
    b->n_fields = n_fields;
    return DMMP_OK;
}

void entity_bags_free(entity_bags *b)
{
    free(b->off);
    free(b->len);
    free(b->idx);
    free(b->wt);
    memset(b, 0, sizeof *b);
}

static dmmp_status reserve_entities(entity_bags *b, int64_t n)
{
    if (n <= b->cap) return DMMP_OK;
    int64_t cap = b->cap ? b->cap : 1024;
    while (cap < n) cap *= 2;
    size_t w = (size_t)b->n_fields;
    int64_t *off = realloc(b->off, (size_t)cap * w * sizeof *off);
    if (off) b->off = off;
    int32_t *len = realloc(b->len, (size_t)cap * w * sizeof *len);
    if (len) b->len = len;
    if (!off || !len) return dmmp_fail(DMMP_ENOMEM, "out of memory for the bags of %lld entities", (long long)cap);
    for (int64_t i = b->cap * (int64_t)w; i < cap * (int64_t)w; i++) len[i] = -1;
    b->cap = cap;
    return DMMP_OK;
}

dmmp_status entity_bags_offer(entity_bags *b, int32_t entity, int k, const int32_t *idx, const float *wt, int64_t n)
{
    if (entity < 0 || k < 0 || k >= b->n_fields) return dmmp_fail(DMMP_EINVAL, "entity bags: bad entity or field");
    DMMP_TRY(reserve_entities(b, (int64_t)entity + 1));
    size_t at = (size_t)entity * (size_t)b->n_fields + (size_t)k;
    if (b->len[at] >= 0) return DMMP_OK;
    if (n > INT32_MAX) return dmmp_fail(DMMP_EFORMAT, "entity bags: a bag of %lld values", (long long)n);
    if (b->n + n > b->pool_cap) {
        int64_t cap = b->pool_cap ? b->pool_cap : 1 << 16;
        while (cap < b->n + n) cap *= 2;
        int32_t *i2 = realloc(b->idx, (size_t)cap * sizeof *i2);
        if (i2) b->idx = i2;
        float *w2 = realloc(b->wt, (size_t)cap * sizeof *w2);
        if (w2) b->wt = w2;
        if (!i2 || !w2) return dmmp_fail(DMMP_ENOMEM, "out of memory for entity bags");
        b->pool_cap = cap;
    }
    if (n) {
        memcpy(b->idx + b->n, idx, (size_t)n * sizeof *idx);
        memcpy(b->wt + b->n, wt, (size_t)n * sizeof *wt);
    }
    b->off[at] = b->n;
    b->len[at] = (int32_t)n;
    b->n += n;
    return DMMP_OK;
}

dmmp_status entity_bags_csr(const entity_bags *b, int k, int64_t n_entities, int64_t **offsets, int32_t **indices,
                            float **weights)
{
    *offsets = malloc((size_t)(n_entities + 1) * sizeof **offsets);
    *indices = malloc((size_t)(b->n + 1) * sizeof **indices);
    *weights = malloc((size_t)(b->n + 1) * sizeof **weights);
    if (!*offsets || !*indices || !*weights) {
        free(*offsets);
        free(*indices);
        free(*weights);
        *offsets = NULL;
        *indices = NULL;
        *weights = NULL;
        return dmmp_fail(DMMP_ENOMEM, "out of memory writing entity bags");
    }
    (*offsets)[0] = 0;
    for (int64_t e = 0; e < n_entities; e++) {
        size_t at = (size_t)e * (size_t)b->n_fields + (size_t)k;
        int64_t n = e < b->cap && b->len[at] > 0 ? b->len[at] : 0;
        if (n) {
            memcpy(*indices + (*offsets)[e], b->idx + b->off[at], (size_t)n * sizeof **indices);
            memcpy(*weights + (*offsets)[e], b->wt + b->off[at], (size_t)n * sizeof **weights);
        }
        (*offsets)[e + 1] = (*offsets)[e] + n;
    }
    return DMMP_OK;
}
