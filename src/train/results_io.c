/* results_save / results_load: the run record as a self-describing HDF5 file
 * (layout in results.h), written atomically. */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/log.h"
#include "data/file_kind.h"
#include "data/h5_integrity.h"
#include "data/h5_text.h"
#include "train/results.h"

/* HDF5 prints its error stack on every failed call; messages here say what
 * went wrong in our terms, so the stack is silenced while we work. */
typedef struct h5_quiet {
    H5E_auto2_t func;
    void *data;
} h5_quiet;

static h5_quiet h5_quiet_begin(void)
{
    h5_quiet q = {NULL, NULL};
    H5Eget_auto2(H5E_DEFAULT, &q.func, &q.data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return q;
}

static void h5_quiet_end(h5_quiet q) { H5Eset_auto2(H5E_DEFAULT, q.func, q.data); }

/* A fixed-length NUL-terminated string type holding len bytes of text. */
static hid_t string_type(size_t len)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return t;
    if (H5Tset_size(t, len + 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static dmmp_status write_string_attr(hid_t obj, const char *name, const char *value, const char *path)
{
    hid_t t = string_type(strlen(value));
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = t >= 0 && sp >= 0 ? H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT) : -1;
    herr_t w = a >= 0 ? H5Awrite(a, t, value) : -1;
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    return w < 0 ? dmmp_fail(DMMP_EIO, "%s: cannot write attribute '%s'", path, name) : DMMP_OK;
}

static dmmp_status write_i64_attr(hid_t obj, const char *name, int64_t value, const char *path)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = sp >= 0 ? H5Acreate2(obj, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT) : -1;
    herr_t w = a >= 0 ? H5Awrite(a, H5T_NATIVE_INT64, &value) : -1;
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    return w < 0 ? dmmp_fail(DMMP_EIO, "%s: cannot write attribute '%s'", path, name) : DMMP_OK;
}

/* Writes a float64 dataset: n values in rank 1, or one value when scalar is set. */
static dmmp_status write_doubles(hid_t loc, const char *name, const double *v, size_t n, int scalar,
                                 const char *path)
{
    hsize_t dims[1] = {(hsize_t)n};
    hid_t sp = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, NULL);
    /* Compact or one Fletcher32 chunk: the values are under a checksum. */
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (dcpl >= 0 && h5_dcpl_small(dcpl, scalar ? 0 : 1, dims, n * sizeof(double)) < 0) {
        H5Pclose(dcpl);
        dcpl = -1;
    }
    hid_t d = sp >= 0 && dcpl >= 0 ? H5Dcreate2(loc, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT) : -1;
    if (dcpl >= 0) H5Pclose(dcpl);
    herr_t w = d >= 0 && (scalar || n > 0) ? H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v)
                                           : (d >= 0 ? 0 : -1);
    if (d >= 0) H5Dclose(d);
    if (sp >= 0) H5Sclose(sp);
    return w < 0 ? dmmp_fail(DMMP_EIO, "%s: cannot write dataset '%s'", path, name) : DMMP_OK;
}

/* Opens group `name` under loc, creating it (tracking link creation order,
 * so series and metrics load back in the order they were recorded). */
static hid_t open_or_create_group(hid_t loc, const char *name)
{
    htri_t exists = H5Lexists(loc, name, H5P_DEFAULT);
    if (exists > 0) return H5Gopen2(loc, name, H5P_DEFAULT);
    if (exists < 0) return -1;
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (gcpl < 0) return -1;
    hid_t g = -1;
    if (H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) >= 0)
        g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    return g;
}

static dmmp_status write_series(hid_t train, const results_series *s, const char *path)
{
    /* Walk the '/'-separated parts, creating each group, then the dataset. */
    char name[RESULTS_NAME_MAX + 1];
    memcpy(name, s->name, strlen(s->name) + 1);
    hid_t loc = train;
    char *part = name;
    dmmp_status st = DMMP_OK;
    for (char *slash; (slash = strchr(part, '/')) != NULL; part = slash + 1) {
        *slash = '\0';
        hid_t g = open_or_create_group(loc, part);
        if (loc != train) H5Gclose(loc);
        if (g < 0) return dmmp_fail(DMMP_EIO, "%s: cannot create the group of series '%s'", path, s->name);
        loc = g;
    }
    st = write_doubles(loc, part, s->values, s->n, 0, path);
    if (loc != train) H5Gclose(loc);
    return st;
}

static dmmp_status write_config(hid_t file, const char *text, const char *path)
{
    /* Too long for an object header: checksummed chunks of its bytes. */
    if (strlen(text) > H5_TEXT_COMPACT_MAX) return h5_text_write_long(file, "config", text, strlen(text), path);
    hid_t t = string_type(strlen(text));
    hid_t sp = H5Screate(H5S_SCALAR);
    /* Compact: the text is in the checksummed object header. */
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (dcpl >= 0 && H5Pset_layout(dcpl, H5D_COMPACT) < 0) {
        H5Pclose(dcpl);
        dcpl = -1;
    }
    hid_t d = t >= 0 && sp >= 0 && dcpl >= 0 ? H5Dcreate2(file, "config", t, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT) : -1;
    if (dcpl >= 0) H5Pclose(dcpl);
    herr_t w = d >= 0 ? H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, text) : -1;
    if (d >= 0) H5Dclose(d);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    return w < 0 ? dmmp_fail(DMMP_EIO, "%s: cannot write /config", path) : DMMP_OK;
}

static dmmp_status write_eval(hid_t file, const run_results *r, const char *path)
{
    hid_t eval = open_or_create_group(file, "eval");
    if (eval < 0) return dmmp_fail(DMMP_EIO, "%s: cannot create /eval", path);
    dmmp_status st = DMMP_OK;
    for (size_t i = 0; i < r->n_metrics && st == DMMP_OK; i++) {
        const results_metric *m = &r->metrics[i];
        hid_t split = open_or_create_group(eval, m->split);
        if (split < 0) {
            st = dmmp_fail(DMMP_EIO, "%s: cannot create /eval/%s", path, m->split);
            break;
        }
        st = write_doubles(split, m->name, &m->value, 1, 1, path);
        H5Gclose(split);
    }
    for (size_t i = 0; i < r->n_settings && st == DMMP_OK; i++) {
        const results_eval_setting *e = &r->settings[i];
        hid_t split = open_or_create_group(eval, e->split);
        if (split < 0) {
            st = dmmp_fail(DMMP_EIO, "%s: cannot create /eval/%s", path, e->split);
            break;
        }
        st = write_string_attr(split, "dataset_path", e->dataset_path, path);
        if (st == DMMP_OK) st = write_string_attr(split, "dataset_hash", e->dataset_hash, path);
        if (st == DMMP_OK) st = write_string_attr(split, "checkpoint", e->checkpoint, path);
        if (st == DMMP_OK) st = write_i64_attr(split, "max_users", e->max_users, path);
        H5Gclose(split);
    }
    H5Gclose(eval);
    return st;
}

static dmmp_status write_curves(hid_t file, const run_results *r, const char *path)
{
    const results_curves *c = &r->curves;
    if (c->n == 0 && c->every == 0) return DMMP_OK;
    hid_t g = open_or_create_group(file, "curves");
    if (g < 0) return dmmp_fail(DMMP_EIO, "%s: cannot create /curves", path);
    dmmp_status st = write_i64_attr(g, "every", c->every, path);
    if (st == DMMP_OK) st = write_doubles(g, "step", c->step, c->n, 0, path);
    for (size_t i = 0; i < c->n_series && st == DMMP_OK; i++) st = write_series(g, &c->series[i], path);
    H5Gclose(g);
    return st;
}

static dmmp_status write_contents(hid_t file, const run_results *r, const char *path)
{
    static const char *const meta_keys[] = {"variant",      "model_kind",   "git_commit",  "created_with",
                                            "dataset_path", "dataset_name", "dataset_hash"};
    const char *meta_values[] = {r->variant,      r->model_kind,   r->git_commit,  r->created_with,
                                 r->dataset_path, r->dataset_name, r->dataset_hash};
    DMMP_TRY(write_i64_attr(file, "format_version", RESULTS_FORMAT_VERSION, path));
    for (size_t i = 0; i < sizeof meta_keys / sizeof meta_keys[0]; i++)
        DMMP_TRY(write_string_attr(file, meta_keys[i], meta_values[i], path));
    DMMP_TRY(write_i64_attr(file, "seed", r->seed, path));
    DMMP_TRY(write_config(file, r->config_ini ? r->config_ini : "", path));
    hid_t train = open_or_create_group(file, "train");
    if (train < 0) return dmmp_fail(DMMP_EIO, "%s: cannot create /train", path);
    dmmp_status st = write_i64_attr(train, "epochs", r->epochs, path);
    if (st == DMMP_OK) st = write_i64_attr(train, "steps", r->steps, path);
    for (size_t i = 0; i < r->n_series && st == DMMP_OK; i++) st = write_series(train, &r->series[i], path);
    H5Gclose(train);
    DMMP_TRY(st);
    DMMP_TRY(write_curves(file, r, path));
    return write_eval(file, r, path);
}

dmmp_status results_save(const run_results *r, const char *path)
{
    for (size_t i = 0; i < r->n_series; i++)
        if ((int64_t)r->series[i].n != r->epochs)
            return dmmp_fail(DMMP_EINVAL, "%s: series '%s' holds %zu values but the run has %lld epochs", path,
                             r->series[i].name, r->series[i].n, (long long)r->epochs);
    for (size_t i = 0; i < r->curves.n_series; i++)
        if (r->curves.series[i].n != r->curves.n)
            return dmmp_fail(DMMP_EINVAL, "%s: curve '%s' holds %zu values but the curves have %zu points", path,
                             r->curves.series[i].name, r->curves.series[i].n, r->curves.n);
    char tmp[4200];
    DMMP_TRY(atomic_clean_stale(path, NULL));
    DMMP_TRY(atomic_tmp_path(path, tmp, sizeof tmp));

    h5_quiet q = h5_quiet_begin();
    hid_t fapl = h5_fapl_checksummed(); /* checksummed metadata */
    hid_t file = fapl >= 0 ? H5Fcreate(tmp, H5F_ACC_EXCL, H5P_DEFAULT, fapl) : -1;
    if (fapl >= 0) H5Pclose(fapl);
    if (file < 0) {
        h5_quiet_end(q);
        atomic_discard(tmp);
        return dmmp_fail(DMMP_EIO, "%s: cannot create the temporary file %s (missing or read-only directory?)",
                         path, tmp);
    }
    dmmp_status st = write_contents(file, r, path);
    /* H5Fclose is where HDF5 writes its metadata: a full disk shows here. */
    if (H5Fclose(file) < 0 && st == DMMP_OK) st = dmmp_fail(DMMP_EIO, "%s: closing %s failed (disk full?)", path, tmp);
    h5_quiet_end(q);
    if (st != DMMP_OK) {
        atomic_discard(tmp);
        return st;
    }
    return atomic_commit(tmp, path);
}

/* ---- loading ------------------------------------------------------------ */

static dmmp_status read_string_attr(hid_t obj, const char *name, char *buf, size_t cap, const char *path)
{
    htri_t exists = H5Aexists(obj, name);
    if (exists <= 0) {
        H5_RETURN_IF_DAMAGED(path, "/");
        return dmmp_fail(DMMP_EFORMAT, "%s: missing attribute '%s' on /", path, name);
    }
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : -1;
    dmmp_status st = DMMP_OK;
    if (t < 0 || H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) != 0) {
        st = dmmp_fail(DMMP_EFORMAT, "%s: attribute '%s' is not a fixed-length string", path, name);
    } else {
        size_t size = H5Tget_size(t);
        char *tmp = calloc(1, size + 1);
        hid_t mt = string_type(size);
        if (!tmp || mt < 0 || H5Aread(a, mt, tmp) < 0) {
            char what[300];
            snprintf(what, sizeof what, "attribute '%s' of /", name);
            st = h5_read_failure(path, what);
        } else if (strlen(tmp) >= cap)
            st = dmmp_fail(DMMP_EFORMAT, "%s: attribute '%s' is %zu bytes long, at most %zu allowed", path, name,
                           strlen(tmp), cap - 1);
        else memcpy(buf, tmp, strlen(tmp) + 1);
        if (mt >= 0) H5Tclose(mt);
        free(tmp);
    }
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    return st;
}

static dmmp_status read_i64_attr(hid_t obj, const char *obj_name, const char *name, int64_t *v, const char *path)
{
    if (H5Aexists(obj, name) <= 0) {
        H5_RETURN_IF_DAMAGED(path, obj_name);
        return dmmp_fail(DMMP_EFORMAT, "%s: missing attribute '%s' on %s", path, name, obj_name);
    }
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : -1;
    herr_t rd = t >= 0 && H5Tget_class(t) == H5T_INTEGER ? H5Aread(a, H5T_NATIVE_INT64, v) : -1;
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    return rd < 0 ? dmmp_fail(DMMP_EFORMAT, "%s: attribute '%s' on %s is not a readable integer", path, name, obj_name)
                  : DMMP_OK;
}

static dmmp_status read_config(hid_t file, run_results *r, const char *path)
{
    if (H5Lexists(file, "config", H5P_DEFAULT) <= 0) {
        H5_RETURN_IF_DAMAGED(path, "/");
        return dmmp_fail(DMMP_EFORMAT, "%s: missing dataset /config", path);
    }
    hid_t d = H5Dopen2(file, "config", H5P_DEFAULT);
    if (d >= 0 && h5_text_is_long(d)) { /* a configuration too long for an object header */
        char *text = NULL;
        dmmp_status st = h5_text_read_long(d, path, "/config", &text);
        H5Dclose(d);
        if (st == DMMP_OK) {
            free(r->config_ini);
            r->config_ini = text;
        }
        return st;
    }
    hid_t t = d >= 0 ? H5Dget_type(d) : -1;
    dmmp_status st = DMMP_OK;
    if (t < 0 && h5_error_is_checksum(NULL, 0)) {
        st = h5_damage(path, "/config");
    } else if (t < 0 || H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) != 0) {
        st = dmmp_fail(DMMP_EFORMAT, "%s: /config is not a fixed-length string", path);
    } else {
        size_t size = H5Tget_size(t);
        char *text = calloc(1, size + 1);
        hid_t mt = string_type(size);
        if (!text || mt < 0 || H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, text) < 0) {
            free(text);
            st = h5_read_failure(path, "/config");
        } else {
            free(r->config_ini);
            r->config_ini = text;
        }
        if (mt >= 0) H5Tclose(mt);
    }
    if (t >= 0) H5Tclose(t);
    if (d >= 0) H5Dclose(d);
    return st;
}

/* Reads a scalar or rank-1 float64 dataset into a malloc'ed array of *n values. */
static dmmp_status read_doubles(hid_t d, const char *where, const char *path, double **out, size_t *n)
{
    hid_t sp = H5Dget_space(d);
    hssize_t count = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    if (sp >= 0) H5Sclose(sp);
    if (count < 0 || rank > 1) return dmmp_fail(DMMP_EFORMAT, "%s: %s is not a scalar or 1-d dataset", path, where);
    double *v = malloc(((size_t)count + 1) * sizeof *v);
    if (!v) return dmmp_fail(DMMP_ENOMEM, "%s: out of memory reading %s", path, where);
    if (count > 0 && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) {
        free(v);
        return h5_read_failure(path, where);
    }
    *out = v;
    *n = (size_t)count;
    return DMMP_OK;
}

typedef struct visit_ctx {
    run_results *r;
    const char *path;
    const char *split; /* set while reading /eval/<split> */
    dmmp_status st;
} visit_ctx;

static herr_t visit_series(hid_t group, const char *name, const H5L_info_t *info, void *data)
{
    visit_ctx *ctx = data;
    hid_t obj = H5Oopen(group, name, H5P_DEFAULT);
    if (obj < 0) {
        char where[RESULTS_NAME_MAX + 16];
        snprintf(where, sizeof where, "/train/%s", name);
        ctx->st = h5_error_is_checksum(NULL, 0) ? h5_damage(ctx->path, where)
                                                : dmmp_fail(DMMP_EFORMAT, "%s: cannot open %s", ctx->path, where);
        return -1;
    }
    if (H5Iget_type(obj) == H5I_DATASET) {
        char where[RESULTS_NAME_MAX + 16];
        snprintf(where, sizeof where, "/train/%s", name);
        double *v = NULL;
        size_t n = 0;
        /* An empty dataset adds no series: series exist from their first
         * value on, and the epoch check below catches any mismatch. */
        ctx->st = read_doubles(obj, where, ctx->path, &v, &n);
        for (size_t i = 0; i < n && ctx->st == DMMP_OK; i++) ctx->st = results_series_append(ctx->r, name, v[i]);
        free(v);
    }
    H5Oclose(obj);
    return ctx->st == DMMP_OK ? 0 : -1;
}

static herr_t visit_metric(hid_t group, const char *name, const H5L_info_t *info, void *data)
{
    visit_ctx *ctx = data;
    char where[2 * RESULTS_NAME_MAX + 16];
    snprintf(where, sizeof where, "/eval/%s/%s", ctx->split, name);
    hid_t d = H5Dopen2(group, name, H5P_DEFAULT);
    if (d < 0) {
        ctx->st = dmmp_fail(DMMP_EFORMAT, "%s: %s is not a dataset", ctx->path, where);
        return -1;
    }
    double *v = NULL;
    size_t n = 0;
    ctx->st = read_doubles(d, where, ctx->path, &v, &n);
    H5Dclose(d);
    if (ctx->st == DMMP_OK && n != 1) ctx->st = dmmp_fail(DMMP_EFORMAT, "%s: %s holds %zu values, expected 1", ctx->path, where, n);
    if (ctx->st == DMMP_OK) ctx->st = results_set_metric(ctx->r, ctx->split, name, v[0]);
    free(v);
    return ctx->st == DMMP_OK ? 0 : -1;
}

static herr_t visit_split(hid_t eval, const char *name, const H5L_info_t *info, void *data)
{
    visit_ctx *ctx = data;
    hid_t g = H5Gopen2(eval, name, H5P_DEFAULT);
    if (g < 0) {
        ctx->st = dmmp_fail(DMMP_EFORMAT, "%s: /eval/%s is not a group", ctx->path, name);
        return -1;
    }
    ctx->split = name;
    char split_path[RESULTS_NAME_MAX + 16];
    snprintf(split_path, sizeof split_path, "/eval/%s", name);
    int present = h5_attr_present(g, "dataset_hash", ctx->path, split_path);
    if (present < 0) {
        ctx->st = DMMP_EFORMAT;
        H5Gclose(g);
        return -1;
    }
    if (present) {
        /* The evaluation's setting (files from before it was recorded have none). */
        results_eval_setting e;
        memset(&e, 0, sizeof e);
        snprintf(e.split, sizeof e.split, "%s", name);
        char where[RESULTS_NAME_MAX + 16];
        snprintf(where, sizeof where, "/eval/%s", name);
        ctx->st = read_string_attr(g, "dataset_path", e.dataset_path, sizeof e.dataset_path, ctx->path);
        if (ctx->st == DMMP_OK) ctx->st = read_string_attr(g, "dataset_hash", e.dataset_hash, sizeof e.dataset_hash, ctx->path);
        if (ctx->st == DMMP_OK) ctx->st = read_string_attr(g, "checkpoint", e.checkpoint, sizeof e.checkpoint, ctx->path);
        if (ctx->st == DMMP_OK) ctx->st = read_i64_attr(g, where, "max_users", &e.max_users, ctx->path);
        if (ctx->st == DMMP_OK) ctx->st = results_set_eval_setting(ctx->r, &e);
        if (ctx->st != DMMP_OK) {
            ctx->st = dmmp_fail_prefix(ctx->st, "the evaluation setting on %s", where);
            H5Gclose(g);
            return -1;
        }
    }
    hsize_t idx = 0;
    herr_t rc = H5Literate(g, H5_INDEX_CRT_ORDER, H5_ITER_INC, &idx, visit_metric, ctx);
    if (rc < 0 && ctx->st == DMMP_OK) {
        idx = 0; /* a group written without creation order: fall back to names */
        rc = H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, visit_metric, ctx);
    }
    H5Gclose(g);
    if (rc < 0 && ctx->st == DMMP_OK) {
        char obj[300];
        snprintf(obj, sizeof obj, "/eval/%s", name);
        ctx->st = h5_read_failure(ctx->path, obj);
    }
    return ctx->st == DMMP_OK ? 0 : -1;
}

/* The curves as read: names and values, before they become points. */
typedef struct curve_read {
    const char *path;
    size_t n_points;
    size_t n, cap;
    char (*names)[RESULTS_NAME_MAX + 1];
    double **values;
    dmmp_status st;
} curve_read;

static herr_t visit_curve(hid_t group, const char *name, const H5L_info_t *info, void *data)
{
    (void)info;
    curve_read *c = data;
    if (!strcmp(name, "step")) return 0;
    hid_t obj = H5Oopen(group, name, H5P_DEFAULT);
    char where[RESULTS_NAME_MAX + 16];
    snprintf(where, sizeof where, "/curves/%s", name);
    if (obj < 0) {
        c->st = h5_error_is_checksum(NULL, 0) ? h5_damage(c->path, where)
                                              : dmmp_fail(DMMP_EFORMAT, "%s: cannot open %s", c->path, where);
        return -1;
    }
    if (H5Iget_type(obj) == H5I_DATASET) {
        double *v = NULL;
        size_t n = 0;
        c->st = read_doubles(obj, where, c->path, &v, &n);
        if (c->st == DMMP_OK && n != c->n_points)
            c->st = dmmp_fail(DMMP_EFORMAT, "%s: %s holds %zu values but /curves/step %zu", c->path, where, n,
                              c->n_points);
        if (c->st == DMMP_OK && strlen(name) > RESULTS_NAME_MAX)
            c->st = dmmp_fail(DMMP_EFORMAT, "%s: %s: the name is too long", c->path, where);
        if (c->st == DMMP_OK && c->n == c->cap) {
            size_t cap = c->cap ? 2 * c->cap : 16;
            void *nn = realloc(c->names, cap * sizeof *c->names), *vv = realloc(c->values, cap * sizeof *c->values);
            if (nn) c->names = nn;
            if (vv) c->values = vv;
            if (!nn || !vv) c->st = dmmp_fail(DMMP_ENOMEM, "%s: out of memory reading /curves", c->path);
            else c->cap = cap;
        }
        if (c->st == DMMP_OK) {
            snprintf(c->names[c->n], sizeof c->names[c->n], "%s", name);
            c->values[c->n++] = v;
        } else {
            free(v);
        }
    }
    H5Oclose(obj);
    return c->st == DMMP_OK ? 0 : -1;
}

/* /curves, when the file has it (runs with train.curve_every > 0). */
static dmmp_status read_curves(hid_t file, run_results *r, const char *path)
{
    if (H5Lexists(file, "curves", H5P_DEFAULT) <= 0) {
        H5_RETURN_IF_DAMAGED(path, "/");
        return DMMP_OK;
    }
    hid_t g = H5Gopen2(file, "curves", H5P_DEFAULT);
    if (g < 0) return dmmp_fail(DMMP_EFORMAT, "%s: /curves is not a group", path);
    curve_read c = {path, 0, 0, 0, NULL, NULL, DMMP_OK};
    double *step = NULL;
    c.st = read_i64_attr(g, "/curves", "every", &r->curves.every, path);
    if (c.st == DMMP_OK && H5Lexists(g, "step", H5P_DEFAULT) <= 0)
        c.st = dmmp_fail(DMMP_EFORMAT, "%s: missing dataset /curves/step", path);
    if (c.st == DMMP_OK) {
        hid_t d = H5Dopen2(g, "step", H5P_DEFAULT);
        c.st = d < 0 ? h5_read_failure(path, "/curves/step") : read_doubles(d, "/curves/step", path, &step, &c.n_points);
        if (d >= 0) H5Dclose(d);
    }
    if (c.st == DMMP_OK) {
        herr_t rc = H5Lvisit(g, H5_INDEX_CRT_ORDER, H5_ITER_INC, visit_curve, &c);
        if (rc < 0 && c.st == DMMP_OK) c.st = h5_read_failure(path, "/curves");
    }
    H5Gclose(g);
    const char **names = malloc((c.n + 1) * sizeof *names);
    double *point = malloc((c.n + 1) * sizeof *point);
    if (c.st == DMMP_OK && (!names || !point)) c.st = dmmp_fail(DMMP_ENOMEM, "%s: out of memory reading /curves", path);
    for (size_t k = 0; k < c.n && c.st == DMMP_OK; k++) names[k] = c.names[k];
    for (size_t p = 0; p < c.n_points && c.st == DMMP_OK; p++) {
        for (size_t k = 0; k < c.n; k++) point[k] = c.values[k][p];
        c.st = results_curve_point(r, (int64_t)step[p], names, point, c.n);
        if (c.st != DMMP_OK) c.st = dmmp_fail_prefix(DMMP_EFORMAT, "%s: /curves", path);
    }
    for (size_t k = 0; k < c.n; k++) free(c.values[k]);
    free(c.values);
    free(c.names);
    free(names);
    free(point);
    free(step);
    return c.st;
}

static hid_t open_required_group(hid_t file, const char *name, const char *path, dmmp_status *st)
{
    if (H5Lexists(file, name, H5P_DEFAULT) <= 0) {
        *st = dmmp_fail(DMMP_EFORMAT, "%s: missing group /%s (not a complete dmmp results file)", path, name);
        return -1;
    }
    hid_t g = H5Gopen2(file, name, H5P_DEFAULT);
    if (g < 0) *st = dmmp_fail(DMMP_EFORMAT, "%s: /%s is not a group", path, name);
    return g;
}

static dmmp_status read_contents(hid_t file, run_results *r, const char *path)
{
    int64_t version = 0;
    DMMP_TRY(read_i64_attr(file, "/", "format_version", &version, path));
    if (version != RESULTS_FORMAT_VERSION)
        return dmmp_fail(DMMP_EFORMAT, "%s: format_version %lld, this build reads %d", path, (long long)version,
                         RESULTS_FORMAT_VERSION);
    static const char *const keys[] = {"variant", "model_kind", "git_commit", "created_with", "dataset_path", "dataset_name"};
    char value[4096];
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        DMMP_TRY(read_string_attr(file, keys[i], value, sizeof value, path));
        DMMP_TRY(results_set_meta(r, keys[i], value));
    }
    int present = h5_attr_present(file, "dataset_hash", path, "/");
    if (present < 0) return DMMP_EFORMAT;
    if (present) { /* recorded since; "" in older files */
        DMMP_TRY(read_string_attr(file, "dataset_hash", value, sizeof value, path));
        DMMP_TRY(results_set_meta(r, "dataset_hash", value));
    }
    DMMP_TRY(read_i64_attr(file, "/", "seed", &r->seed, path));
    DMMP_TRY(read_config(file, r, path));

    dmmp_status st = DMMP_OK;
    hid_t train = open_required_group(file, "train", path, &st);
    if (train < 0) return st;
    visit_ctx ctx = {r, path, NULL, DMMP_OK};
    st = read_i64_attr(train, "/train", "epochs", &r->epochs, path);
    if (st == DMMP_OK) st = read_i64_attr(train, "/train", "steps", &r->steps, path);
    if (st == DMMP_OK) {
        herr_t rc = H5Lvisit(train, H5_INDEX_CRT_ORDER, H5_ITER_INC, visit_series, &ctx);
        if (rc < 0 && ctx.st == DMMP_OK) {
            /* A file written without creation order: drop what the failed
             * visit appended, then read in name order. */
            for (size_t i = 0; i < r->n_series; i++) free(r->series[i].values);
            r->n_series = 0;
            rc = H5Lvisit(train, H5_INDEX_NAME, H5_ITER_INC, visit_series, &ctx);
        }
        st = ctx.st;
        if (rc < 0 && st == DMMP_OK) st = h5_read_failure(path, "/train");
    }
    H5Gclose(train);
    DMMP_TRY(st);
    for (size_t i = 0; i < r->n_series; i++)
        if ((int64_t)r->series[i].n != r->epochs)
            return dmmp_fail(DMMP_EFORMAT, "%s: /train/%s holds %zu values but /train says %lld epochs", path,
                             r->series[i].name, r->series[i].n, (long long)r->epochs);
    DMMP_TRY(read_curves(file, r, path));

    hid_t eval = open_required_group(file, "eval", path, &st);
    if (eval < 0) return st;
    hsize_t idx = 0;
    herr_t rc = H5Literate(eval, H5_INDEX_CRT_ORDER, H5_ITER_INC, &idx, visit_split, &ctx);
    if (rc < 0 && ctx.st == DMMP_OK) {
        idx = 0;
        rc = H5Literate(eval, H5_INDEX_NAME, H5_ITER_INC, &idx, visit_split, &ctx);
    }
    H5Gclose(eval);
    if (ctx.st != DMMP_OK) return ctx.st;
    return rc < 0 ? h5_read_failure(path, "/eval") : DMMP_OK;
}

dmmp_status results_load(run_results *r, const char *path)
{
    DMMP_TRY(results_init(r));
    if (access(path, R_OK) != 0) {
        int err = errno;
        results_free(r);
        return dmmp_fail(err == ENOENT ? DMMP_EINVAL : DMMP_EIO, "%s: cannot read: %s", path, strerror(err));
    }
    h5_quiet q = h5_quiet_begin();
    /* a text file, a truncated file or a dataset is refused by what it is */
    hid_t file;
    /* the structure is checked as the file is opened (data/h5_open.h) */
    dmmp_status st = file_kind_open(path, FILE_KIND_RESULTS, H5P_DEFAULT, &file);
    if (st == DMMP_OK) {
        if (h5_file_has_checksums(file) == 0)
            log_debug("%s: an older results file without checksums: damage may go unnoticed", path);
        st = read_contents(file, r, path);
        H5Fclose(file);
    }
    h5_quiet_end(q);
    if (st != DMMP_OK) results_free(r);
    return st;
}
