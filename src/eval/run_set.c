/* Loading the run files named on a command line. */
#include "eval/run_set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

static dmmp_status resolve_path(const char *arg, char **out)
{
    struct stat st;
    int is_dir = stat(arg, &st) == 0 && S_ISDIR(st.st_mode);
    int arg_len = (int)strlen(arg);
    while (is_dir && arg_len > 1 && arg[arg_len - 1] == '/') arg_len--; /* "DIR/" reads DIR/results.h5 */
    size_t len = (size_t)arg_len + (is_dir ? sizeof "/results.h5" : 1);
    *out = malloc(len);
    if (!*out) return dmmp_fail(DMMP_ENOMEM, "out of memory");
    snprintf(*out, len, is_dir ? "%.*s/results.h5" : "%.*s", arg_len, arg);
    return DMMP_OK;
}

dmmp_status run_set_load(run_set *s, const char *const *args, size_t n_args)
{
    memset(s, 0, sizeof *s);
    if (n_args == 0) return dmmp_fail(DMMP_EINVAL, "no run directories or results files given");
    s->runs = calloc(n_args, sizeof *s->runs);
    s->sources = calloc(n_args, sizeof *s->sources);
    if (!s->runs || !s->sources) {
        run_set_free(s);
        return dmmp_fail(DMMP_ENOMEM, "out of memory for %zu runs", n_args);
    }
    for (size_t i = 0; i < n_args; i++) {
        dmmp_status st = resolve_path(args[i], &s->sources[i]);
        if (st == DMMP_OK) st = results_load(&s->runs[i], s->sources[i]);
        if (st != DMMP_OK) {
            free(s->sources[i]); /* not yet counted in s->n */
            s->sources[i] = NULL;
            run_set_free(s);
            return st;
        }
        s->n = i + 1;
    }
    return DMMP_OK;
}
