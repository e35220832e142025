#include "data/neg_sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/item_counts.h"

/* The stream of the draws of one step: "negs" and the step. */
#define NEG_STREAM 0x6e65677300000000ULL

dmmp_status neg_sampler_init(neg_sampler *s, const dataset *d, neg_draw_kind kind, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->seed = seed;
    int64_t ni = dataset_n_items(d);
    DMMP_TRY(dataset_first_entity(d, SIDE_ITEM, &s->first));
    if (ni <= s->first || ni > INT32_MAX)
        return dmmp_fail(DMMP_EFORMAT, "%s: %lld items, none of them a real one to sample negatives from",
                         dataset_path(d), (long long)ni);
    s->n_items = (int32_t)ni;
    int64_t *counts = malloc((size_t)ni * sizeof *counts);
    double *weights = malloc((size_t)ni * sizeof *weights);
    s->neg_log_q = malloc((size_t)ni * sizeof *s->neg_log_q);
    dmmp_status st = counts && weights && s->neg_log_q
                         ? DMMP_OK
                         : dmmp_fail(DMMP_ENOMEM, "negative sampler: out of memory for %lld items", (long long)ni);
    if (st == DMMP_OK) st = dataset_item_counts(d, SPLIT_TRAIN, counts, &s->train_rows);
    if (st == DMMP_OK && s->train_rows == 0)
        st = dmmp_fail(DMMP_EFORMAT, "%s has no training rows to count item popularity from", dataset_path(d));
    for (int64_t i = 0; st == DMMP_OK && i < ni; i++) {
        weights[i] = i < s->first ? 0.0 : (double)counts[i];
        double c = counts[i] > 0 ? (double)counts[i] : 0.5;
        s->neg_log_q[i] = (float)-log(c / (double)s->train_rows);
    }
    if (st == DMMP_OK && kind == NEG_DRAW_POPULARITY) {
        st = alias_build(&s->alias, weights, ni);
        if (st != DMMP_OK)
            st = dmmp_fail_prefix(st, "%s: popularity negatives: no real item has a training impression", dataset_path(d));
    }
    free(counts);
    free(weights);
    if (st != DMMP_OK) neg_sampler_free(s);
    return st;
}

static int32_t draw_one(const neg_sampler *s, rng *r)
{
    if (s->kind == NEG_DRAW_POPULARITY) return (int32_t)alias_draw(&s->alias, r);
    return s->first + (int32_t)rng_below(r, (uint64_t)(s->n_items - s->first));
}

void neg_sampler_draw(const neg_sampler *s, int64_t step, const int32_t *own, int rows, int ratio, int32_t *items)
{
    rng r;
    rng_stream(&r, s->seed, NEG_STREAM + (uint64_t)step);
    for (int b = 0; b < rows; b++)
        for (int k = 0; k < ratio; k++) {
            int32_t it = draw_one(s, &r);
            for (int redraw = 0; it == own[b] && redraw < NEG_SAMPLER_REDRAWS; redraw++) it = draw_one(s, &r);
            items[(size_t)b * (size_t)ratio + (size_t)k] = it;
        }
}

void neg_sampler_log_q(const neg_sampler *s, const int32_t *items, int n, float *neg_log_q)
{
    for (int b = 0; b < n; b++) neg_log_q[b] = s->neg_log_q[items[b]];
}

void neg_sampler_free(neg_sampler *s)
{
    alias_free(&s->alias);
    free(s->neg_log_q);
    memset(s, 0, sizeof *s);
}
