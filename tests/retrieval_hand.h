/* The brute-force side of the retrieval suites (test_retrieval_eval.c):
 * the dataset's tables read once, one-row batches built from them, and the
 * retrieval metrics computed by hand from a full ranking. */
#ifndef DMMP_TESTS_RETRIEVAL_HAND_H
#define DMMP_TESTS_RETRIEVAL_HAND_H

#include <stdint.h>

#include "data/batch.h"
#include "data/dataset.h"
#include "data/synth_truth.h"
#include "eval_fixture.h"

#define MAX_SIDE_FIELDS 32

/* The dataset's per-user and per-item tables, read once. */
typedef struct hand_tables {
    const dataset *d;
    int nf[4];
    int32_t *users, *items, ctx_default[MAX_SIDE_FIELDS];
    int64_t *bag_off[8];
    int32_t *bag_idx[8];
    float *bag_wt[8];
    uint8_t *clicked, *bought; /* N_USERS x N_ITEMS, test split */
    synth_world truth;
} hand_tables;

int tables_open(hand_tables *h, const dataset *d);
void tables_close(hand_tables *h);

/* One row: user's fields, bags and the default context (user >= 0), item's
 * fields (item >= 0), everything else 0 ("unknown"). b from batch_alloc(d, b, 1). */
void fill_row(const hand_tables *h, batch *b, int user, int item);

typedef struct ranked {
    float score;
    int32_t item;
} ranked;

/* Score descending, then item id. */
int by_score(const void *a, const void *b);

/* The brute-force metrics, summed per K over users, then averaged. */
typedef struct hand_metrics {
    double recall_c[3], ndcg_c[3], hit[3], recall_b[3], ndcg_b[3], bait[3], conv[3];
    int64_t users, buyers;
} hand_metrics;

static const int KS[3] = {5, 20, 100};

/* Adds one user ranked by scores[0..N_ITEMS). */
void hand_add_user(const hand_tables *h, hand_metrics *hm, int user, const float *scores);

/* The inner product the search uses: fmaf over dimensions in order. */
float dot_fma(const float *q, const float *x, int dim);

/* Adds the eval_retrieval_intent suite (test_retrieval_intent.c); nonzero on failure. */
int add_retrieval_intent_suite(void);

#endif
