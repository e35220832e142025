#include "bench/bench_stats.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/omp_wait.h"
#include "simd/isa.h"

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *x, int n)
{
    qsort(x, (size_t)n, sizeof *x, compare_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

dmmp_status bench_add_figure(bench_report *r, const char *name, const char *unit, double median, double min,
                             double max)
{
    if (r->n_figures >= BENCH_MAX_FIGURES)
        return dmmp_fail(DMMP_EINVAL, "benchmark %s: more than %d figures (adding '%s')", r->group, BENCH_MAX_FIGURES,
                         name);
    bench_figure *f = &r->figures[r->n_figures++];
    snprintf(f->name, sizeof f->name, "%s", name);
    snprintf(f->unit, sizeof f->unit, "%s", unit);
    f->median = median;
    f->min = min;
    f->max = max;
    return DMMP_OK;
}

dmmp_status bench_add_rate(bench_report *r, const char *name, const char *unit, double work, double *seconds, int n)
{
    if (n < 1) return dmmp_fail(DMMP_EINVAL, "benchmark %s: figure '%s' has no runs", r->group, name);
    double med = bench_median(seconds, n);
    return bench_add_figure(r, name, unit, work / med, work / seconds[n - 1], work / seconds[0]);
}

dmmp_status bench_add_ratio(bench_report *r, const char *name, double work_a, const double *ta, double work_b,
                            const double *tb, int n)
{
    double q[1000];
    if (n < 1 || n > 1000) return dmmp_fail(DMMP_EINVAL, "benchmark %s: ratio '%s' over %d runs", r->group, name, n);
    for (int i = 0; i < n; i++) q[i] = (work_a / ta[i]) / (work_b / tb[i]);
    double med = bench_median(q, n);
    return bench_add_figure(r, name, "ratio", med, q[0], q[n - 1]);
}

dmmp_status bench_add_note(bench_report *r, const char *key, const char *value)
{
    if (r->n_notes >= (int)(sizeof r->notes / sizeof r->notes[0]))
        return dmmp_fail(DMMP_EINVAL, "benchmark %s: too many notes (adding '%s')", r->group, key);
    snprintf(r->notes[r->n_notes][0], sizeof r->notes[0][0], "%s", key);
    snprintf(r->notes[r->n_notes][1], sizeof r->notes[0][1], "%s", value);
    r->n_notes++;
    return DMMP_OK;
}

const bench_figure *bench_find(const bench_report *r, const char *name)
{
    for (int i = 0; i < r->n_figures; i++)
        if (!strcmp(r->figures[i].name, name)) return &r->figures[i];
    return NULL;
}

void bench_print(const bench_report *r)
{
    printf("%s:\n", r->group);
    for (int i = 0; i < r->n_notes; i++) printf("  %-22s %s\n", r->notes[i][0], r->notes[i][1]);
    for (int i = 0; i < r->n_figures; i++) {
        const bench_figure *f = &r->figures[i];
        printf("  %-22s median %12.4g  min %12.4g  max %12.4g  %s\n", f->name, f->median, f->min, f->max, f->unit);
    }
}

void bench_meta_collect(bench_meta *m, const char *commit)
{
    memset(m, 0, sizeof *m);
    isa_cpu_brand(m->machine, sizeof m->machine);
    if (gethostname(m->host, sizeof m->host - 1) != 0) snprintf(m->host, sizeof m->host, "unknown");
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(m->date, sizeof m->date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!commit) commit = getenv("DMMP_COMMIT");
    snprintf(m->commit, sizeof m->commit, "%s", commit && *commit ? commit : "unknown");
    snprintf(m->isa, sizeof m->isa, "%s", isa_name(isa_active()));
    m->threads = omp_get_max_threads();
    omp_wait_describe(m->omp_wait, sizeof m->omp_wait);
}
