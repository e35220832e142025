/* Benchmark records: reading one in full, and appending a group by writing
 * the record anew. */
#include "bench/bench_record.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/log.h"
#include "data/file_kind.h"
#include "data/h5_column.h"
#include "data/h5_integrity.h"

/* A figure holds at most this many values (bench_stats writes 3). */
#define RECORD_MAX_VALUES 64
/* A string attribute holds at most this many bytes. */
#define RECORD_MAX_STRING 65536

/* ---- reading ------------------------------------------------------------- */

typedef struct names {
    char **v;
    int n, cap;
    int failed;
} names;

static herr_t collect_link(hid_t g, const char *name, const H5L_info_t *info, void *op)
{
    (void)g;
    (void)info;
    names *l = op;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        char **p = realloc(l->v, (size_t)cap * sizeof *p);
        if (!p) {
            l->failed = 1;
            return -1;
        }
        l->v = p;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(name))) {
        l->failed = 1;
        return -1;
    }
    l->n++;
    return 0;
}

static herr_t collect_attr(hid_t loc, const char *name, const H5A_info_t *info, void *op)
{
    (void)info;
    return collect_link(loc, name, NULL, op);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void names_free(names *l)
{
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
}

/* The names of obj's links (attrs 0) or attributes (attrs 1), sorted
 * (listed in native order: see data/h5_verify.c). */
static dmmp_status list_names(const char *path, hid_t obj, const char *where, int attrs, names *l)
{
    memset(l, 0, sizeof *l);
    hsize_t at = 0;
    H5Eclear2(H5E_DEFAULT);
    herr_t e = attrs ? H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_NATIVE, &at, collect_attr, l)
                     : H5Literate(obj, H5_INDEX_NAME, H5_ITER_NATIVE, &at, collect_link, l);
    if (l->failed) {
        names_free(l);
        memset(l, 0, sizeof *l);
        return dmmp_fail(DMMP_ENOMEM, "%s: out of memory listing %s", path, where);
    }
    if (e < 0 || H5Eget_num(H5E_DEFAULT) > 0) {
        names_free(l);
        memset(l, 0, sizeof *l);
        char what[1200];
        snprintf(what, sizeof what, "the %s of %s", attrs ? "attributes" : "links", where);
        return h5_read_failure(path, what);
    }
    if (l->n > 1) qsort(l->v, (size_t)l->n, sizeof *l->v, by_name);
    return DMMP_OK;
}

static void attrs_free(bench_record_attr *a, int n)
{
    for (int i = 0; i < n; i++) {
        free(a[i].name);
        free(a[i].s);
    }
    free(a);
}

/* One scalar string or integer attribute of obj. */
static dmmp_status read_attr(const char *path, hid_t obj, const char *where, const char *name, bench_record_attr *out)
{
    char what[1400];
    snprintf(what, sizeof what, "the attribute %s of %s", name, where);
    memset(out, 0, sizeof *out);
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return h5_read_failure(path, what);
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    size_t size = t >= 0 ? H5Tget_size(t) : 0;
    dmmp_status s = DMMP_OK;
    if (t < 0 || sp < 0) s = h5_read_failure(path, what);
    else if (H5Sget_simple_extent_npoints(sp) != 1 ||
             !(cls == H5T_INTEGER || (cls == H5T_STRING && H5Tis_variable_str(t) == 0 && size <= RECORD_MAX_STRING)))
        s = dmmp_fail(DMMP_EFORMAT, "%s: %s is not one string or integer (not a benchmark record?)", path, what);
    else if (!(out->name = strdup(name)))
        s = dmmp_fail(DMMP_ENOMEM, "%s: out of memory reading %s", path, what);
    else if (cls == H5T_INTEGER) {
        out->is_int = 1;
        if (H5Aread(a, H5T_NATIVE_INT64, &out->i) < 0) s = h5_read_failure(path, what);
    } else {
        hid_t mt = H5Tcopy(H5T_C_S1);
        out->s = calloc(1, size + 1);
        if (mt < 0 || H5Tset_size(mt, size) < 0 || !out->s) s = dmmp_fail(DMMP_ENOMEM, "%s: reading %s", path, what);
        else if (H5Aread(a, mt, out->s) < 0) s = h5_read_failure(path, what);
        if (mt >= 0) H5Tclose(mt);
    }
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    H5Aclose(a);
    if (s != DMMP_OK) {
        free(out->name);
        free(out->s);
        memset(out, 0, sizeof *out);
    }
    return s;
}

static dmmp_status read_attrs(const char *path, hid_t obj, const char *where, bench_record_attr **out, int *n)
{
    names l;
    *out = NULL;
    *n = 0;
    DMMP_TRY(list_names(path, obj, where, 1, &l));
    dmmp_status s = DMMP_OK;
    bench_record_attr *a = calloc((size_t)(l.n ? l.n : 1), sizeof *a);
    if (!a) s = dmmp_fail(DMMP_ENOMEM, "%s: out of memory reading %s", path, where);
    int i = 0;
    for (; s == DMMP_OK && i < l.n; i++) s = read_attr(path, obj, where, l.v[i], &a[i]);
    names_free(&l);
    if (s != DMMP_OK) {
        if (a) attrs_free(a, i);
        return s;
    }
    *out = a;
    *n = i;
    return DMMP_OK;
}

static dmmp_status read_figure(const char *path, hid_t g, const char *where, const char *name, bench_record_figure *f)
{
    memset(f, 0, sizeof *f);
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    if (d < 0) return h5_read_failure(path, where);
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    dmmp_status s = DMMP_OK;
    if (t < 0 || sp < 0) s = h5_read_failure(path, where);
    else if (H5Tget_class(t) != H5T_FLOAT || H5Tget_size(t) != 8 || H5Sget_simple_extent_ndims(sp) != 1 || n < 1 ||
             n > RECORD_MAX_VALUES)
        s = dmmp_fail(DMMP_EFORMAT, "%s: %s is not a float64 figure of 1 to %d values (not a benchmark record?)", path,
                      where, RECORD_MAX_VALUES);
    else if (!(f->name = strdup(name)) || !(f->v = malloc((size_t)n * sizeof *f->v)))
        s = dmmp_fail(DMMP_ENOMEM, "%s: out of memory reading %s", path, where);
    else if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, f->v) < 0)
        s = h5_read_failure(path, where);
    else f->n = (int)n;
    if (s == DMMP_OK) s = read_attrs(path, d, where, &f->attrs, &f->n_attrs);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    H5Dclose(d);
    if (s != DMMP_OK) {
        free(f->name);
        free(f->v);
        memset(f, 0, sizeof *f);
    }
    return s;
}

static void group_free(bench_record_group *g)
{
    free(g->name);
    attrs_free(g->attrs, g->n_attrs);
    for (int i = 0; i < g->n_figures; i++) {
        free(g->figures[i].name);
        free(g->figures[i].v);
        attrs_free(g->figures[i].attrs, g->figures[i].n_attrs);
    }
    free(g->figures);
    memset(g, 0, sizeof *g);
}

/* The member name of parent is of type want (what: "a group", "a dataset"). */
static dmmp_status expect_type(const char *path, hid_t parent, const char *name, const char *where, H5O_type_t want,
                               const char *what)
{
    H5O_info_t info;
    if (H5Oget_info_by_name2(parent, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
        return h5_read_failure(path, where);
    if (info.type != want) return dmmp_fail(DMMP_EFORMAT, "%s: %s is not %s (not a benchmark record?)", path, where, what);
    return DMMP_OK;
}

static dmmp_status read_group(const char *path, hid_t file, const char *name, bench_record_group *out)
{
    char where[1100];
    snprintf(where, sizeof where, "/%s", name);
    memset(out, 0, sizeof *out);
    DMMP_TRY(expect_type(path, file, name, where, H5O_TYPE_GROUP, "a group"));
    hid_t g = H5Gopen2(file, name, H5P_DEFAULT);
    if (g < 0) return h5_read_failure(path, where);
    dmmp_status s = (out->name = strdup(name)) ? DMMP_OK : dmmp_fail(DMMP_ENOMEM, "%s: out of memory", path);
    if (s == DMMP_OK) s = read_attrs(path, g, where, &out->attrs, &out->n_attrs);
    names l = {NULL, 0, 0, 0};
    if (s == DMMP_OK) s = list_names(path, g, where, 0, &l);
    if (s == DMMP_OK && !(out->figures = calloc((size_t)(l.n ? l.n : 1), sizeof *out->figures)))
        s = dmmp_fail(DMMP_ENOMEM, "%s: out of memory reading %s", path, where);
    for (int i = 0; s == DMMP_OK && i < l.n; i++) {
        char fig[2200];
        snprintf(fig, sizeof fig, "%s/%s", where, l.v[i]);
        s = expect_type(path, g, l.v[i], fig, H5O_TYPE_DATASET, "a dataset");
        if (s == DMMP_OK) s = read_figure(path, g, fig, l.v[i], &out->figures[i]);
        if (s == DMMP_OK) out->n_figures++;
    }
    names_free(&l);
    H5Gclose(g);
    if (s != DMMP_OK) group_free(out);
    return s;
}

void bench_record_free(bench_record *rec)
{
    for (int i = 0; i < rec->n_groups; i++) group_free(&rec->groups[i]);
    free(rec->groups);
    memset(rec, 0, sizeof *rec);
}

dmmp_status bench_record_read(const char *path, bench_record *rec)
{
    memset(rec, 0, sizeof *rec);
    H5E_auto2_t func = NULL;
    void *data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &func, &data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t file;
    /* checked as it is opened: in a child process first when it was written
     * before checksums, every header loaded in full (data/h5_open.h) */
    dmmp_status s = file_kind_open(path, FILE_KIND_BENCH, H5P_DEFAULT, &file);
    if (s == DMMP_OK) {
        rec->checksummed = h5_file_has_checksums(file) == 1;
        names l;
        s = list_names(path, file, "/", 0, &l);
        if (s == DMMP_OK && !(rec->groups = calloc((size_t)(l.n ? l.n : 1), sizeof *rec->groups)))
            s = dmmp_fail(DMMP_ENOMEM, "%s: out of memory", path);
        for (int i = 0; s == DMMP_OK && i < l.n; i++) {
            s = read_group(path, file, l.v[i], &rec->groups[i]);
            if (s == DMMP_OK) rec->n_groups++;
        }
        names_free(&l);
        if (H5Fclose(file) < 0 && s == DMMP_OK) s = h5_read_failure(path, "the file (closing it)");
    }
    H5Eclear2(H5E_DEFAULT);
    H5Eset_auto2(H5E_DEFAULT, func, data);
    if (s != DMMP_OK) bench_record_free(rec);
    return s;
}

/* ---- writing ------------------------------------------------------------- */

static dmmp_status write_attrs(hid_t obj, const bench_record_attr *a, int n)
{
    dmmp_status s = DMMP_OK;
    for (int i = 0; s == DMMP_OK && i < n; i++)
        s = a[i].is_int ? h5_attr_i64(obj, a[i].name, a[i].i) : h5_attr_str(obj, a[i].name, a[i].s);
    return s;
}

static dmmp_status write_values(hid_t group, const char *name, const double *v, int n, hid_t *out)
{
    DMMP_TRY(h5_write_array(group, name, H5T_NATIVE_DOUBLE, n, 0, v));
    *out = H5Dopen2(group, name, H5P_DEFAULT);
    if (*out < 0) return dmmp_fail(DMMP_EIO, "benchmark figure %s: H5Dopen failed", name);
    return DMMP_OK;
}

/* An old group, value for value. */
static dmmp_status carry_group(hid_t file, const bench_record_group *g)
{
    hid_t grp;
    DMMP_TRY(h5_create_group(file, g->name, &grp));
    dmmp_status s = write_attrs(grp, g->attrs, g->n_attrs);
    for (int i = 0; s == DMMP_OK && i < g->n_figures; i++) {
        const bench_record_figure *f = &g->figures[i];
        hid_t d;
        s = write_values(grp, f->name, f->v, f->n, &d);
        if (s == DMMP_OK) {
            s = write_attrs(d, f->attrs, f->n_attrs);
            H5Dclose(d);
        }
    }
    H5Gclose(grp);
    return s;
}

static dmmp_status write_figure(hid_t group, const bench_figure *f)
{
    const double v[3] = {f->median, f->min, f->max};
    hid_t d;
    DMMP_TRY(write_values(group, f->name, v, 3, &d));
    dmmp_status s = h5_attr_str(d, "unit", f->unit);
    if (s == DMMP_OK) s = h5_attr_str(d, "values", "median, min, max");
    H5Dclose(d);
    return s;
}

static dmmp_status write_group(hid_t file, const bench_report *r, const bench_meta *m)
{
    hid_t g;
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

/* The record is written anew into a temporary that replaces it atomically
 * (core/atomic_file.h): a benchmark killed while writing, or a damaged
 * record, leaves the earlier file as it was. */
dmmp_status bench_write_h5(const char *path, const bench_report *r, const bench_meta *m)
{
    bench_record old;
    memset(&old, 0, sizeof old);
    if (access(path, F_OK) == 0) {
        DMMP_TRY(bench_record_read(path, &old));
        if (!old.checksummed)
            log_info("%s: a benchmark record written before checksums: written anew with them", path);
    }
    char tmp[4200];
    dmmp_status s = atomic_clean_stale(path, NULL);
    if (s == DMMP_OK) s = atomic_tmp_path(path, tmp, sizeof tmp);
    if (s != DMMP_OK) {
        bench_record_free(&old);
        return s;
    }
    hid_t file = -1;
    H5E_BEGIN_TRY
    {
        hid_t fapl = h5_fapl_checksummed();
        if (fapl >= 0) file = H5Fcreate(tmp, H5F_ACC_EXCL, H5P_DEFAULT, fapl);
        if (fapl >= 0) H5Pclose(fapl);
    }
    H5E_END_TRY;
    if (file < 0) {
        bench_record_free(&old);
        atomic_discard(tmp);
        return dmmp_fail(DMMP_EIO, "benchmark output %s: cannot create the temporary file %s", path, tmp);
    }
    H5E_BEGIN_TRY
    {
        for (int i = 0; s == DMMP_OK && i < old.n_groups; i++)
            if (strcmp(old.groups[i].name, r->group)) s = carry_group(file, &old.groups[i]);
        if (s == DMMP_OK) s = write_group(file, r, m);
        if (H5Fclose(file) < 0 && s == DMMP_OK) s = dmmp_fail(DMMP_EIO, "benchmark output %s: close failed", path);
    }
    H5E_END_TRY;
    bench_record_free(&old);
    if (s != DMMP_OK) {
        atomic_discard(tmp);
        return dmmp_fail_prefix(s, "benchmark output %s", path);
    }
    return atomic_commit(tmp, path);
}
