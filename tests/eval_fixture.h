/* Fixture of the evaluation suites: a tiny synthetic dataset in a temporary
 * directory and models trained on it for a few hundred steps. */
#ifndef DMMP_TESTS_EVAL_FIXTURE_H
#define DMMP_TESTS_EVAL_FIXTURE_H

#include "data/dataset.h"
#include "metrics/eval_metrics.h"
#include "model/features.h"
#include "model/model.h"
#include "train/recipe.h"

enum { N_USERS = 150, N_ITEMS = 80, N_IMPRESSIONS = 20000, TRAIN_STEPS = 200, TRAIN_BATCH = 128 };

typedef struct world {
    char dir[512], path[600];
    dataset *d;
} world;

typedef struct trained {
    dmmp_config cfg;
    features f;
    model m;
} trained;

/* Generates and opens the dataset (1 on success, CUnit failure otherwise). */
int world_open(world *w);
/* The same world with purchase intent of the given spread (0: world_open's). */
int world_open_spread(world *w, double intent_spread);
void world_close(world *w);

/* The small configuration of kind (eval.topk = 5, 20, 100 > N_ITEMS). */
void eval_small_config(dmmp_config *c, config_model_kind kind);

/* Builds and trains kind for TRAIN_STEPS steps (1 on success). */
int eval_train(trained *t, const dataset *d, config_model_kind kind);
void trained_free(trained *t);

/* Value of a metric that must be present (CUnit failure and NAN otherwise). */
double eval_metric_value(const eval_metrics *l, const char *name);

/* Adds the eval_retrieval suite (test_retrieval_eval.c); nonzero on failure. */
int add_retrieval_eval_suite(void);

#endif
