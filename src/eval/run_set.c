/* Loading the run files named on a command line. */
#include "eval/run_set.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* How deep below a directory argument runs are looked for (a driver's
 * folder holds <variant>/seed<S>/results.h5: two levels). */
#define RUN_SET_MAX_DEPTH 8

void run_set_free(run_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        results_free(&s->runs[i]);
        free(s->sources[i]);
    }
    free(s->runs);
    free(s->sources);
    memset(s, 0, sizeof *s);
}

/* A growing list of malloc'ed paths. */
typedef struct path_list {
    char **v;
    size_t n, cap;
} path_list;

static void path_list_free(path_list *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static dmmp_status path_list_add(path_list *l, const char *fmt_dir, const char *name)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **grown = realloc(l->v, cap * sizeof *grown);
        if (!grown) return dmmp_fail(DMMP_ENOMEM, "out of memory listing runs");
        l->v = grown;
        l->cap = cap;
    }
    size_t len = strlen(fmt_dir) + (name ? strlen(name) + 1 : 0) + 1;
    char *p = malloc(len);
    if (!p) return dmmp_fail(DMMP_ENOMEM, "out of memory listing runs");
    if (name) snprintf(p, len, "%s/%s", fmt_dir, name);
    else snprintf(p, len, "%s", fmt_dir);
    l->v[l->n++] = p;
    return DMMP_OK;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Adds dir/results.h5 when it exists, else the runs of every subdirectory
 * (in name order, so the run order does not depend on the file system). */
static dmmp_status find_runs(path_list *out, const char *dir, int depth)
{
    char path[4200];
    if ((size_t)snprintf(path, sizeof path, "%s/results.h5", dir) >= sizeof path)
        return dmmp_fail(DMMP_EINVAL, "%s: the path is too long", dir);
    if (is_file(path)) return path_list_add(out, path, NULL);
    if (depth >= RUN_SET_MAX_DEPTH) return DMMP_OK;
    DIR *dh = opendir(dir);
    if (!dh) return DMMP_OK; /* unreadable: nothing found there */
    path_list subs = {0};
    dmmp_status st = DMMP_OK;
    for (struct dirent *e; st == DMMP_OK && (e = readdir(dh)) != NULL;) {
        if (e->d_name[0] == '.') continue; /* ".", ".." and hidden temporaries */
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path) continue;
        if (is_dir(path)) st = path_list_add(&subs, path, NULL);
    }
    closedir(dh);
    if (st == DMMP_OK && subs.n > 1) qsort(subs.v, subs.n, sizeof *subs.v, cmp_names); /* v is NULL when empty */
    for (size_t i = 0; st == DMMP_OK && i < subs.n; i++) st = find_runs(out, subs.v[i], depth + 1);
    path_list_free(&subs);
    return st;
}

/* DIR -> DIR/results.h5, or every results.h5 below DIR; anything else is
 * taken as a results file. */
static dmmp_status resolve_arg(path_list *out, const char *arg)
{
    if (!is_dir(arg)) return path_list_add(out, arg, NULL);
    char dir[4096];
    size_t len = strlen(arg);
    while (len > 1 && arg[len - 1] == '/') len--; /* "DIR/" reads DIR/results.h5 */
    if (len >= sizeof dir) return dmmp_fail(DMMP_EINVAL, "%s: the path is too long", arg);
    memcpy(dir, arg, len);
    dir[len] = 0;
    size_t before = out->n;
    DMMP_TRY(find_runs(out, dir, 0));
    if (out->n == before)
        return dmmp_fail(DMMP_EINVAL, "%s: no results.h5 in the directory or below it (not a run or a driver's folder)",
                         arg);
    return DMMP_OK;
}

dmmp_status run_set_load(run_set *s, const char *const *args, size_t n_args)
{
    memset(s, 0, sizeof *s);
    if (n_args == 0) return dmmp_fail(DMMP_EINVAL, "no run directories or results files given");
    path_list paths = {0};
    dmmp_status st = DMMP_OK;
    for (size_t i = 0; i < n_args && st == DMMP_OK; i++) st = resolve_arg(&paths, args[i]);
    if (st == DMMP_OK) {
        s->runs = calloc(paths.n, sizeof *s->runs);
        s->sources = calloc(paths.n, sizeof *s->sources);
        if (!s->runs || !s->sources) st = dmmp_fail(DMMP_ENOMEM, "out of memory for %zu runs", paths.n);
    }
    for (size_t i = 0; i < paths.n && st == DMMP_OK; i++) {
        st = results_load(&s->runs[i], paths.v[i]);
        if (st != DMMP_OK) break;
        s->sources[i] = paths.v[i];
        paths.v[i] = NULL; /* owned by s now */
        s->n = i + 1;
    }
    path_list_free(&paths);
    if (st != DMMP_OK) run_set_free(s);
    return st;
}

static int ends_with(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    return n > k && !strcmp(name + n - k, suffix);
}

/* The row of run r under suffix into row (results_init'ed here). */
static dmmp_status suffix_row(const run_results *r, const char *split, const char *suffix, run_results *row)
{
    DMMP_TRY(results_init(row));
    char name[RESULTS_NAME_MAX + 1];
    if ((size_t)snprintf(name, sizeof name, "%s%s", r->variant, suffix) >= sizeof name)
        return dmmp_fail(DMMP_EINVAL, "variant %s%s: the name is too long", r->variant, suffix);
    DMMP_TRY(results_set_meta(row, "variant", name));
    static const char *const keys[] = {"model_kind", "git_commit", "dataset_path", "dataset_name", "dataset_hash"};
    const char *values[] = {r->model_kind, r->git_commit, r->dataset_path, r->dataset_name, r->dataset_hash};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) DMMP_TRY(results_set_meta(row, keys[i], values[i]));
    row->seed = r->seed;
    const results_eval_setting *e = results_eval_setting_find(r, split);
    if (e) DMMP_TRY(results_set_eval_setting(row, e));
    size_t k = strlen(suffix);
    for (size_t i = 0; i < r->n_metrics; i++) {
        const results_metric *m = &r->metrics[i];
        if (strcmp(m->split, split) || !ends_with(m->name, suffix)) continue;
        memcpy(name, m->name, strlen(m->name) - k);
        name[strlen(m->name) - k] = '\0';
        DMMP_TRY(results_set_metric(row, split, name, m->value));
    }
    return DMMP_OK;
}

dmmp_status run_set_add_suffix_rows(run_set *s, const char *split, const char *suffix)
{
    size_t n = s->n, extra = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < s->runs[i].n_metrics; j++)
            if (!strcmp(s->runs[i].metrics[j].split, split) && ends_with(s->runs[i].metrics[j].name, suffix)) {
                extra++;
                break;
            }
    if (extra == 0) return DMMP_OK;
    run_results *runs = realloc(s->runs, (n + extra) * sizeof *runs);
    if (!runs) return dmmp_fail(DMMP_ENOMEM, "out of memory for %zu runs", n + extra);
    s->runs = runs;
    char **sources = realloc(s->sources, (n + extra) * sizeof *sources);
    if (!sources) return dmmp_fail(DMMP_ENOMEM, "out of memory for %zu runs", n + extra);
    s->sources = sources;
    for (size_t i = 0; i < n; i++) {
        int has = 0;
        for (size_t j = 0; j < s->runs[i].n_metrics && !has; j++)
            has = !strcmp(s->runs[i].metrics[j].split, split) && ends_with(s->runs[i].metrics[j].name, suffix);
        if (!has) continue;
        size_t at = s->n;
        size_t len = strlen(s->sources[i]) + strlen(suffix) + 4;
        s->sources[at] = malloc(len);
        if (!s->sources[at]) return dmmp_fail(DMMP_ENOMEM, "out of memory for the run names");
        snprintf(s->sources[at], len, "%s (%s)", s->sources[i], suffix + (suffix[0] == '_'));
        dmmp_status st = suffix_row(&s->runs[i], split, suffix, &s->runs[at]);
        s->n = at + 1; /* owned now, freed with the set even on failure */
        DMMP_TRY(st);
    }
    return DMMP_OK;
}
