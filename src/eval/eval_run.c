#include "eval/eval_run.h"

#include <string.h>

#include "train/evaluate.h"
#include "eval/retrieval_eval.h"

const char *eval_split_name(data_split split)
{
    switch (split) {
    case SPLIT_TRAIN: return "train";
    case SPLIT_VAL: return "val";
    case SPLIT_TEST: return "test";
    }
    return "unknown";
}

dmmp_status eval_split_parse(const char *name, data_split *split)
{
    static const data_split all[] = {SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (name && strcmp(name, eval_split_name(all[i])) == 0) {
            *split = all[i];
            return DMMP_OK;
        }
    return dmmp_fail(DMMP_EINVAL, "split '%s': expected train, val or test", name ? name : "(null)");
}

dmmp_status eval_all(model *m, features *f, const dataset *d, data_split split, const config_eval *ce,
                     eval_metrics *out)
{
    DMMP_TRY(eval_ranking(m, f, d, split, out));
    return eval_retrieval(m, f, d, split, ce, out);
}

dmmp_status eval_store(const eval_metrics *l, data_split split, run_results *r)
{
    for (int i = 0; i < l->n; i++)
        DMMP_TRY(results_set_metric(r, eval_split_name(split), l->items[i].name, l->items[i].value));
    return DMMP_OK;
}
