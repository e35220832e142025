#define _XOPEN_SOURCE 700
#include "results_fixture.h"

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void fx_rm_rf(const char *path)
{
    if (path && path[0]) nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int fx_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int fx_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

int fx_make_run(run_results *r, const char *variant, int64_t seed, size_t n_metrics, const char *const *names,
                const double *values)
{
    if (results_init(r) != DMMP_OK) return -1;
    int bad = results_set_meta(r, "variant", variant) != DMMP_OK;
    bad |= results_set_meta(r, "model_kind", variant) != DMMP_OK;
    r->seed = seed;
    /* A small, seed-dependent history so plots have something to draw. */
    for (int e = 0; e < 2 && !bad; e++) {
        double s = (double)seed * 0.01;
        bad |= results_series_append(r, "loss/student_ctr", 0.6 - 0.1 * e + s) != DMMP_OK;
        bad |= results_series_append(r, "val/auc_ctr", 0.6 + 0.05 * e + s) != DMMP_OK;
        bad |= results_series_append(r, "wall_time_s", 10.0 * (e + 1)) != DMMP_OK;
    }
    bad |= results_set_progress(r, 2, 200) != DMMP_OK;
    for (size_t i = 0; i < n_metrics && !bad; i++)
        bad |= results_set_metric(r, "test", names[i], values[i]) != DMMP_OK;
    if (bad) results_free(r);
    return bad ? -1 : 0;
}

int fx_write_run(const char *dir, const char *variant, int64_t seed, size_t n_metrics, const char *const *names,
                 const double *values)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s_s%lld", dir, variant, (long long)seed);
    if (mkdir(path, 0755) != 0) return -1;
    run_results r;
    if (fx_make_run(&r, variant, seed, n_metrics, names, values) != 0) return -1;
    strncat(path, "/results.h5", sizeof path - strlen(path) - 1);
    int rc = results_save(&r, path) == DMMP_OK ? 0 : -1;
    results_free(&r);
    return rc;
}
