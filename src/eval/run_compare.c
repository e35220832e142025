/* runs_check_comparable: same training dataset, same evaluation setting. */
#include "eval/run_compare.h"

#include <string.h>

/* 1 when the datasets (path, hash) are the same one: equal hashes when both
 * have one, else equal paths. */
static int same_dataset(const char *path_a, const char *hash_a, const char *path_b, const char *hash_b)
{
    if (hash_a[0] && hash_b[0]) return !strcmp(hash_a, hash_b);
    return !strcmp(path_a, path_b);
}

static const char *shown(const char *hash) { return hash[0] ? hash : "not recorded"; }

static dmmp_status check_against(const run_results *r, const char *source, const char *split, const char *data_hash)
{
    if (strcmp(r->dataset_hash, data_hash))
        return dmmp_fail(DMMP_EINVAL, "%s was trained on %s (content hash %s), not on the dataset given (hash %s)",
                         source, r->dataset_path, shown(r->dataset_hash), data_hash);
    const results_eval_setting *e = results_eval_setting_find(r, split);
    if (!e)
        return dmmp_fail(DMMP_EINVAL, "%s records no evaluation setting for split %s (evaluate it again with dmmp eval)",
                         source, split);
    if (strcmp(e->dataset_hash, data_hash))
        return dmmp_fail(DMMP_EINVAL, "%s: split %s was evaluated on %s (content hash %s), not on the dataset given (hash %s)",
                         source, split, e->dataset_path, e->dataset_hash, data_hash);
    return DMMP_OK;
}

dmmp_status runs_check_comparable(const run_results *runs, const char *const *sources, size_t n, const char *split,
                                  const char *data_hash)
{
    for (size_t i = 0; data_hash && i < n; i++) DMMP_TRY(check_against(&runs[i], sources[i], split, data_hash));
    if (n < 2) return DMMP_OK;
    const run_results *a = &runs[0];
    const results_eval_setting *ea = results_eval_setting_find(a, split);
    for (size_t i = 1; i < n; i++) {
        const run_results *b = &runs[i];
        if (!same_dataset(a->dataset_path, a->dataset_hash, b->dataset_path, b->dataset_hash))
            return dmmp_fail(DMMP_EINVAL,
                             "%s and %s were trained on different datasets (%s, hash %s; %s, hash %s): one table "
                             "compares runs of one dataset",
                             sources[0], sources[i], a->dataset_path, shown(a->dataset_hash), b->dataset_path,
                             shown(b->dataset_hash));
        const results_eval_setting *eb = results_eval_setting_find(b, split);
        if (!ea != !eb)
            return dmmp_fail(DMMP_EINVAL,
                             "%s records how split %s was evaluated and %s does not (an older evaluation): evaluate "
                             "%s again with dmmp eval",
                             ea ? sources[0] : sources[i], split, ea ? sources[i] : sources[0],
                             ea ? sources[i] : sources[0]);
        if (!ea) continue;
        if (!same_dataset(ea->dataset_path, ea->dataset_hash, eb->dataset_path, eb->dataset_hash))
            return dmmp_fail(DMMP_EINVAL, "%s and %s evaluated split %s on different datasets (%s, hash %s; %s, hash %s)",
                             sources[0], sources[i], split, ea->dataset_path, shown(ea->dataset_hash),
                             eb->dataset_path, shown(eb->dataset_hash));
        if (strcmp(ea->checkpoint, eb->checkpoint))
            return dmmp_fail(DMMP_EINVAL, "%s and %s evaluated split %s from different checkpoints (%s.h5, %s.h5)",
                             sources[0], sources[i], split, ea->checkpoint, eb->checkpoint);
        if (ea->max_users != eb->max_users)
            return dmmp_fail(DMMP_EINVAL,
                             "%s and %s evaluated split %s with different eval.max_users (%lld, %lld; 0 is all users)",
                             sources[0], sources[i], split, (long long)ea->max_users, (long long)eb->max_users);
    }
    return DMMP_OK;
}
