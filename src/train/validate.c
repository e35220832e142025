#include "train/validate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "metrics/eval_metrics.h"
#include "train/evaluate.h"

const char *validate_metric_name(config_metric m) { return m == CONFIG_METRIC_NONE ? "" : config_metric_name(m); }

double val_metrics_get(const val_metrics *v, const char *name)
{
    for (int i = 0; i < v->n; i++)
        if (!strcmp(v->name[i], name)) return v->value[i];
    return NAN;
}

dmmp_status validate_split(features *f, model *m, const dataset *d, data_split split, val_metrics *out)
{
    memset(out, 0, sizeof *out);
    out->rows = dataset_split_stats_of(d, split).rows;
    if (out->rows == 0) return DMMP_OK;
    /* The evaluator of dmmp eval, so validation and test numbers of a run
     * follow one rule: an undefined metric is left out (with a warning). */
    eval_metrics em;
    eval_metrics_init(&em);
    dmmp_status s = eval_ranking(m, f, d, split, &em);
    for (int i = 0; s == DMMP_OK && i < em.n; i++) {
        if (out->n >= VAL_MAX_METRICS) {
            s = dmmp_fail(DMMP_EINVAL, "validation: more than %d metrics", VAL_MAX_METRICS);
            break;
        }
        snprintf(out->name[out->n], sizeof out->name[out->n], "%s", em.items[i].name);
        out->value[out->n++] = em.items[i].value;
    }
    eval_metrics_free(&em);
    return s;
}
