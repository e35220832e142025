/* A named list of evaluation results ("auc_ctr", "click_recall@100", ...)
 * in the order they were computed: what the evaluator hands to the run
 * record and to the printed table. */
#ifndef DMMP_METRICS_EVAL_METRICS_H
#define DMMP_METRICS_EVAL_METRICS_H

#include <stdio.h>

#include "core/status.h"

#define EVAL_METRIC_NAME_MAX 63

typedef struct eval_metric {
    char name[EVAL_METRIC_NAME_MAX + 1];
    double value;
} eval_metric;

typedef struct eval_metrics {
    int n, cap;
    eval_metric *items;
} eval_metrics;

/* An empty list. */
void eval_metrics_init(eval_metrics *l);

/* Appends name = value, or overwrites it when name is already there; fails
 * on an empty or too long name. */
dmmp_status eval_metrics_set(eval_metrics *l, const char *name, double value);

/* 1 and *value set when name is in the list, else 0. */
int eval_metrics_get(const eval_metrics *l, const char *name, double *value);

/* Prints the list as a two-column table (name, value) under a title line. */
void eval_metrics_print(const eval_metrics *l, const char *title, FILE *out);

/* Frees the list and leaves it empty. */
void eval_metrics_free(eval_metrics *l);

#endif
