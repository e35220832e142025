#include "bench/bench_stats.h"

#include <errno.h>
#include <hdf5.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/omp_wait.h"
#include "core/atomic_file.h"
#include "data/h5_integrity.h"
#include "data/h5_column.h"
#include "simd/isa.h"

double bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

double bench_cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

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

static dmmp_status write_figure(hid_t group, const bench_figure *f)
{
    const double v[3] = {f->median, f->min, f->max};
    DMMP_TRY(h5_write_array(group, f->name, H5T_NATIVE_DOUBLE, 3, 0, v));
    hid_t d = H5Dopen2(group, f->name, H5P_DEFAULT);
    if (d < 0) return dmmp_fail(DMMP_EIO, "benchmark figure %s: H5Dopen failed", f->name);
    dmmp_status s = h5_attr_str(d, "unit", f->unit);
    if (s == DMMP_OK) s = h5_attr_str(d, "values", "median, min, max");
    H5Dclose(d);
    return s;
}

static dmmp_status write_group(hid_t file, const bench_report *r, const bench_meta *m)
{
    hid_t g;
    if (H5Lexists(file, r->group, H5P_DEFAULT) > 0 && H5Ldelete(file, r->group, H5P_DEFAULT) < 0)
        return dmmp_fail(DMMP_EIO, "benchmark output: cannot replace group /%s", r->group);
    DMMP_TRY(h5_create_group(file, r->group, &g));
    dmmp_status s = h5_attr_str(g, "machine", m->machine);
    if (s == DMMP_OK) s = h5_attr_str(g, "host", m->host);
    if (s == DMMP_OK) s = h5_attr_str(g, "date", m->date);
    if (s == DMMP_OK) s = h5_attr_str(g, "commit", m->commit);
    if (s == DMMP_OK) s = h5_attr_str(g, "isa", m->isa);
    if (s == DMMP_OK) s = h5_attr_i64(g, "threads", m->threads);
    if (s == DMMP_OK) s = h5_attr_str(g, "omp_wait", m->omp_wait);
    for (int i = 0; s == DMMP_OK && i < r->n_notes; i++) s = h5_attr_str(g, r->notes[i][0], r->notes[i][1]);
    for (int i = 0; s == DMMP_OK && i < r->n_figures; i++) s = write_figure(g, &r->figures[i]);
    H5Gclose(g);
    return s;
}

/* Copies the existing record into the temporary the new group is added to. */
static dmmp_status copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    if (!in) return dmmp_fail(DMMP_EIO, "benchmark output %s: cannot read it: %s", from, strerror(errno));
    FILE *out = fopen(to, "wbx");
    if (!out) {
        int err = errno;
        fclose(in);
        return dmmp_fail(DMMP_EIO, "benchmark output %s: cannot create %s: %s", from, to, strerror(err));
    }
    char buf[1 << 16];
    size_t n;
    int ok = 1;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0) ok = fwrite(buf, 1, n, out) == n;
    ok = ok && !ferror(in);
    int err = errno;
    fclose(in);
    if (fclose(out) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    return ok ? DMMP_OK : dmmp_fail(DMMP_EIO, "benchmark output %s: copying into %s: %s", from, to, strerror(err));
}

/* The record is extended in a copy that replaces it atomically
 * (core/atomic_file.h): a benchmark killed while writing leaves the earlier
 * groups as they were. */
dmmp_status bench_write_h5(const char *path, const bench_report *r, const bench_meta *m)
{
    char tmp[4200];
    DMMP_TRY(atomic_clean_stale(path, NULL));
    DMMP_TRY(atomic_tmp_path(path, tmp, sizeof tmp));
    int exists = access(path, F_OK) == 0;
    if (exists) DMMP_TRY(copy_file(path, tmp));
    hid_t file = -1;
    H5E_BEGIN_TRY
    {
        /* New records have checksummed metadata; an older record is
         * extended in its own format. */
        hid_t fapl = h5_fapl_checksummed();
        if (exists) file = H5Fopen(tmp, H5F_ACC_RDWR, H5P_DEFAULT);
        else if (fapl >= 0) file = H5Fcreate(tmp, H5F_ACC_EXCL, H5P_DEFAULT, fapl);
        if (fapl >= 0) H5Pclose(fapl);
    }
    H5E_END_TRY;
    if (file < 0) {
        atomic_discard(tmp);
        return dmmp_fail(DMMP_EIO, "benchmark output %s: cannot open or create an HDF5 file", path);
    }
    dmmp_status s = write_group(file, r, m);
    if (H5Fclose(file) < 0 && s == DMMP_OK) s = dmmp_fail(DMMP_EIO, "benchmark output %s: close failed", path);
    if (s != DMMP_OK) {
        atomic_discard(tmp);
        return s;
    }
    return atomic_commit(tmp, path);
}
