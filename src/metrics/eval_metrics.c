#include "metrics/eval_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void eval_metrics_init(eval_metrics *l) { memset(l, 0, sizeof *l); }

dmmp_status eval_metrics_set(eval_metrics *l, const char *name, double value)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > EVAL_METRIC_NAME_MAX)
        return dmmp_fail(DMMP_EINVAL, "metric name '%s' must have 1..%d bytes", name ? name : "(null)",
                         EVAL_METRIC_NAME_MAX);
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->items[i].name, name) == 0) {
            l->items[i].value = value;
            return DMMP_OK;
        }
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 32;
        eval_metric *grown = realloc(l->items, (size_t)cap * sizeof *grown);
        if (!grown) return dmmp_fail(DMMP_ENOMEM, "metric list: out of memory at %d entries", l->n);
        l->items = grown;
        l->cap = cap;
    }
    memcpy(l->items[l->n].name, name, len + 1);
    l->items[l->n].value = value;
    l->n++;
    return DMMP_OK;
}

int eval_metrics_get(const eval_metrics *l, const char *name, double *value)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->items[i].name, name) == 0) {
            if (value) *value = l->items[i].value;
            return 1;
        }
    return 0;
}

void eval_metrics_print(const eval_metrics *l, const char *title, FILE *out)
{
    int width = 6;
    for (int i = 0; i < l->n; i++) {
        int w = (int)strlen(l->items[i].name);
        if (w > width) width = w;
    }
    fprintf(out, "%s\n%-*s  %s\n", title, width, "metric", "value");
    for (int i = 0; i < l->n; i++) {
        double v = l->items[i].value;
        if (isnan(v))
            fprintf(out, "%-*s  %s\n", width, l->items[i].name, "n/a");
        else
            fprintf(out, "%-*s  %.6f\n", width, l->items[i].name, v);
    }
}

void eval_metrics_free(eval_metrics *l)
{
    free(l->items);
    memset(l, 0, sizeof *l);
}
