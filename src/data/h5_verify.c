/* Reading every object of an HDF5 file: groups by their links, datasets slab
 * by slab, attributes one by one. */
#include "data/h5_verify.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/child_run.h"
#include "data/file_kind.h"
#include "data/h5_integrity.h"

/* Deeper nesting than this is refused rather than recursed into. */
#define VERIFY_MAX_DEPTH 512
/* A slab of a dataset holds at most this many bytes (at least one row). */
#define VERIFY_SLAB_BYTES ((size_t)32 << 20)
/* The structure walk of a file written before checksums also reads the data
 * of datasets up to this size (the values results and bench records hold,
 * the small arrays of checkpoints and datasets). */
#define WALK_SMALL_DATA_BYTES ((hsize_t)1 << 20)
/* A walk in a child process that reports nothing for this long is killed. */
#define WALK_STALL_SECONDS 60

/* What a walk reads of each dataset. */
typedef enum walk_data { WALK_NO_DATA, WALK_SMALL_DATA, WALK_ALL_DATA } walk_data;

typedef struct verify_ctx {
    const char *file;
    h5_verify_report *r;
    haddr_t *seen; /* addresses of the objects read so far */
    size_t n_seen, cap_seen;
    walk_data data;
    int all_orders;   /* links also listed by name and by creation order, as the readers list them */
    child_link *link; /* progress reports when the walk runs in a child process */
} verify_ctx;

/* 1 when addr was read already; otherwise remembers it. -1 out of memory. */
static int seen_before(verify_ctx *c, haddr_t addr)
{
    for (size_t i = 0; i < c->n_seen; i++)
        if (c->seen[i] == addr) return 1;
    if (c->n_seen == c->cap_seen) {
        size_t cap = c->cap_seen ? 2 * c->cap_seen : 64;
        haddr_t *p = realloc(c->seen, cap * sizeof *p);
        if (!p) return -1;
        c->seen = p;
        c->cap_seen = cap;
    }
    c->seen[c->n_seen++] = addr;
    return 0;
}

/* Tells the parent what the walk reads next, when it runs in a child. */
static void progress(verify_ctx *c, const char *object)
{
    if (!c->link) return;
    char what[1500];
    snprintf(what, sizeof what, "while reading %s", object);
    child_progress(c->link, what);
}

static void child_path(char *buf, size_t len, const char *parent, const char *name)
{
    snprintf(buf, len, "%s%s%s", parent, strcmp(parent, "/") ? "/" : "", name);
}

/* The type values are read into: the native one when HDF5 has it, else the
 * stored one. The caller closes it. */
static hid_t memory_type(hid_t stored)
{
    hid_t t = H5Tget_native_type(stored, H5T_DIR_DEFAULT);
    if (t >= 0) return t;
    H5Eclear2(H5E_DEFAULT);
    return H5Tcopy(stored);
}

static int has_vlen(hid_t type) { return H5Tdetect_class(type, H5T_VLEN) > 0 || H5Tis_variable_str(type) > 0; }

/* HDF5 1.10.8 sometimes returns success with errors on its stack (a group
 * call that met a damaged continuation chunk of an object header keeps the
 * links it read before it): any error left on the stack is a failure. */
static int stack_dirty(void) { return H5Eget_num(H5E_DEFAULT) > 0; }

/* ---- attributes ---------------------------------------------------------- */

typedef struct attr_walk {
    verify_ctx *c;
    const char *owner;
    dmmp_status status;
} attr_walk;

static dmmp_status read_attribute(verify_ctx *c, hid_t loc, const char *owner, const char *name)
{
    char what[1400];
    snprintf(what, sizeof what, "the attribute %s of %s", name, owner);
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) return h5_read_failure(c->file, what);
    hid_t stored = H5Aget_type(a), space = H5Aget_space(a);
    hid_t mem = stored >= 0 ? memory_type(stored) : H5I_INVALID_HID;
    hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    size_t size = mem >= 0 ? H5Tget_size(mem) : 0;
    dmmp_status s = DMMP_OK;
    if (stored < 0 || space < 0 || mem < 0 || n < 0 || size == 0) {
        s = h5_read_failure(c->file, what);
    } else if (n > 0) {
        void *buf = calloc((size_t)n, size);
        if (!buf) {
            s = dmmp_fail(DMMP_ENOMEM, "%s: out of memory reading %s", c->file, what);
        } else {
            if (H5Aread(a, mem, buf) < 0) s = h5_read_failure(c->file, what);
            else c->r->data_bytes += (int64_t)n * (int64_t)size;
            if (s == DMMP_OK && has_vlen(mem)) H5Dvlen_reclaim(mem, space, H5P_DEFAULT, buf);
            free(buf);
        }
    }
    if (mem >= 0) H5Tclose(mem);
    if (stored >= 0) H5Tclose(stored);
    if (space >= 0) H5Sclose(space);
    H5Aclose(a);
    if (s == DMMP_OK) c->r->attributes++;
    return s;
}

static herr_t attr_cb(hid_t loc, const char *name, const H5A_info_t *info, void *op)
{
    (void)info;
    attr_walk *w = op;
    w->status = read_attribute(w->c, loc, w->owner, name);
    return w->status == DMMP_OK ? 0 : -1;
}

static herr_t count_attr_cb(hid_t loc, const char *name, const H5A_info_t *info, void *op)
{
    (void)loc;
    (void)name;
    (void)info;
    (void)op;
    return 0;
}

static dmmp_status read_attributes(verify_ctx *c, hid_t obj, const char *owner)
{
    attr_walk w = {c, owner, DMMP_OK};
    hsize_t at = 0;
    /* Native order: in any other order HDF5 1.10.8 first copies dense storage
     * into a table, and frees uninitialised entries of it (a crash) when one
     * fails to decode. */
    herr_t e = H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_NATIVE, &at, attr_cb, &w);
    if (w.status != DMMP_OK) return w.status;
    hsize_t native = at;
    if (e >= 0 && !stack_dirty() && c->all_orders) {
        /* By name too, the order h5py and h5dump list them in. */
        at = 0;
        e = H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &at, count_attr_cb, NULL);
        if (e >= 0 && at != native) e = -1;
    }
    if (e < 0 || stack_dirty()) {
        char what[1200];
        snprintf(what, sizeof what, "the attributes of %s", owner);
        return h5_read_failure(c->file, what);
    }
    return DMMP_OK;
}

/* ---- datasets ------------------------------------------------------------ */

/* 1 when the dataset's data carries a checksum: compact (inside its
 * checksummed header) or chunked with Fletcher32. */
static int data_checksummed(hid_t dcpl)
{
    H5D_layout_t layout = H5Pget_layout(dcpl);
    if (layout == H5D_COMPACT) return 1;
    if (layout != H5D_CHUNKED) return 0;
    int nf = H5Pget_nfilters(dcpl);
    for (int i = 0; i < nf; i++) {
        unsigned flags = 0;
        size_t nelmts = 0;
        if (H5Pget_filter2(dcpl, (unsigned)i, &flags, &nelmts, NULL, 0, NULL, NULL) == H5Z_FILTER_FLETCHER32)
            return 1;
    }
    return 0;
}

/* Reads the chunks of a chunked dataset whose extent covers more chunks than
 * are stored (a sparse dataset, or the damaged extent of a file written
 * before checksums, which may claim 2^40 rows): each stored chunk by its
 * index, none of the unstored ones (they hold the fill value and nothing to
 * check). */
static dmmp_status read_stored_chunks(verify_ctx *c, hid_t d, hid_t space, hid_t mem, int rank, const hsize_t *dims,
                                      const hsize_t *cdims, hsize_t n_chunks, const char *path)
{
    size_t size = H5Tget_size(mem), chunk_bytes = size;
    for (int k = 0; k < rank; k++) chunk_bytes *= (size_t)cdims[k];
    void *buf = malloc(chunk_bytes ? chunk_bytes : 1);
    if (!buf) return dmmp_fail(DMMP_ENOMEM, "%s: out of memory reading %s", c->file, path);
    hid_t whole = H5Dget_space(d); /* all selected: the chunks are counted in it */
    dmmp_status s = DMMP_OK;
    for (hsize_t i = 0; i < n_chunks && s == DMMP_OK; i++) {
        hsize_t off[H5S_MAX_RANK] = {0}, count[H5S_MAX_RANK];
        unsigned mask = 0;
        haddr_t addr = 0;
        hsize_t stored = 0;
        char what[1400];
        snprintf(what, sizeof what, "%s (stored chunk %llu)", path, (unsigned long long)i);
        progress(c, what);
        if (whole < 0 || H5Dget_chunk_info(d, whole, i, off, &mask, &addr, &stored) < 0) {
            s = h5_read_failure(c->file, what);
            break;
        }
        int inside = 1;
        for (int k = 0; k < rank; k++) {
            if (off[k] >= dims[k]) inside = 0;
            else count[k] = dims[k] - off[k] < cdims[k] ? dims[k] - off[k] : cdims[k];
        }
        if (!inside) continue; /* stored beyond the extent: never read */
        hid_t ms = H5Screate_simple(rank, count, NULL);
        herr_t e = ms >= 0 ? H5Sselect_hyperslab(space, H5S_SELECT_SET, off, NULL, count, NULL) : -1;
        if (e >= 0) e = H5Dread(d, mem, ms, space, H5P_DEFAULT, buf);
        if (e < 0) s = h5_read_failure(c->file, what);
        else {
            hsize_t n = 1;
            for (int k = 0; k < rank; k++) n *= count[k];
            c->r->data_bytes += (int64_t)(n * size);
            if (has_vlen(mem)) H5Dvlen_reclaim(mem, ms, H5P_DEFAULT, buf);
        }
        if (ms >= 0) H5Sclose(ms);
    }
    if (whole >= 0) H5Sclose(whole);
    free(buf);
    return s;
}

static dmmp_status read_dataset(verify_ctx *c, hid_t d, const char *path)
{
    hid_t space = H5Dget_space(d), stored = H5Dget_type(d), dcpl = H5Dget_create_plist(d);
    hid_t mem = stored >= 0 ? memory_type(stored) : H5I_INVALID_HID;
    int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    H5S_class_t cls = space >= 0 ? H5Sget_simple_extent_type(space) : H5S_NO_CLASS;
    size_t size = mem >= 0 ? H5Tget_size(mem) : 0;
    hsize_t dims[H5S_MAX_RANK] = {0}, cdims[H5S_MAX_RANK] = {0};
    dmmp_status s = DMMP_OK;
    if (space < 0 || stored < 0 || dcpl < 0 || mem < 0 || rank < 0 || rank > H5S_MAX_RANK || size == 0 ||
        cls == H5S_NO_CLASS || H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
        s = h5_read_failure(c->file, path);
        goto done;
    }
    if (!data_checksummed(dcpl)) {
        if (c->r->unchecked_datasets++ == 0)
            snprintf(c->r->first_unchecked, sizeof c->r->first_unchecked, "%s", path);
    }
    int chunked = H5Pget_layout(dcpl) == H5D_CHUNKED && rank > 0 && H5Pget_chunk(dcpl, rank, cdims) == rank;
    if (chunked && c->all_orders && H5Dget_storage_size(d) == 0 && H5Eget_num(H5E_DEFAULT) > 0) {
        /* the whole chunk index walked (a structure of its own) */
        s = h5_read_failure(c->file, path);
        goto done;
    }
    if (cls == H5S_NULL || c->data == WALK_NO_DATA) goto done;
    /* Rows are the first dimension; a scalar is one row of one value. */
    hsize_t rows = rank > 0 ? dims[0] : 1, per_row = 1;
    for (int k = 1; k < rank; k++) per_row *= dims[k];
    if (rows == 0 || per_row == 0) goto done;
    size_t row_bytes = (size_t)per_row * size;
    if (c->data == WALK_SMALL_DATA && (rows > WALK_SMALL_DATA_BYTES / row_bytes || row_bytes > WALK_SMALL_DATA_BYTES))
        goto done;
    if (chunked) {
        /* Fewer chunks stored than the extent covers: read the stored ones. */
        hsize_t n_chunks = 0, covered = 1;
        if (H5Dget_num_chunks(d, space, &n_chunks) < 0) {
            s = h5_read_failure(c->file, path);
            goto done;
        }
        for (int k = 0; k < rank && covered <= n_chunks; k++) covered *= (dims[k] + cdims[k] - 1) / cdims[k];
        if (covered > n_chunks) {
            s = read_stored_chunks(c, d, space, mem, rank, dims, cdims, n_chunks, path);
            goto done;
        }
    }
    hsize_t step = chunked ? cdims[0] : (hsize_t)(VERIFY_SLAB_BYTES / row_bytes);
    if (step * row_bytes > VERIFY_SLAB_BYTES) step = VERIFY_SLAB_BYTES / row_bytes;
    if (step < 1) step = 1;
    if (step > rows) step = rows;
    int vlen = has_vlen(mem);
    void *buf = malloc((size_t)step * row_bytes);
    if (!buf) {
        s = dmmp_fail(DMMP_ENOMEM, "%s: out of memory reading %s", c->file, path);
        goto done;
    }
    for (hsize_t at = 0; at < rows && s == DMMP_OK; at += step) {
        hsize_t n = rows - at < step ? rows - at : step;
        if (c->link) {
            char what[1400];
            snprintf(what, sizeof what, "%s (rows %llu..%llu)", path, (unsigned long long)at,
                     (unsigned long long)(at + n));
            progress(c, what);
        }
        hsize_t start[H5S_MAX_RANK] = {0}, count[H5S_MAX_RANK];
        for (int k = 0; k < rank; k++) count[k] = dims[k];
        hid_t ms = H5I_INVALID_HID;
        herr_t e;
        if (rank == 0) {
            ms = H5Screate(H5S_SCALAR);
            e = ms >= 0 ? H5Dread(d, mem, ms, H5S_ALL, H5P_DEFAULT, buf) : -1;
        } else {
            start[0] = at;
            count[0] = n;
            ms = H5Screate_simple(rank, count, NULL);
            e = ms >= 0 ? H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL) : -1;
            if (e >= 0) e = H5Dread(d, mem, ms, space, H5P_DEFAULT, buf);
        }
        if (e < 0) {
            char what[1400];
            if (rank == 0) snprintf(what, sizeof what, "%s", path);
            else snprintf(what, sizeof what, "%s (rows %llu..%llu)", path, (unsigned long long)at,
                          (unsigned long long)(at + n));
            s = h5_read_failure(c->file, what);
        } else {
            c->r->data_bytes += (int64_t)(n * row_bytes);
            if (vlen) H5Dvlen_reclaim(mem, ms, H5P_DEFAULT, buf);
        }
        if (ms >= 0) H5Sclose(ms);
    }
    free(buf);
done:
    if (mem >= 0) H5Tclose(mem);
    if (stored >= 0) H5Tclose(stored);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (space >= 0) H5Sclose(space);
    if (s == DMMP_OK) c->r->datasets++;
    return s;
}

/* ---- groups -------------------------------------------------------------- */

typedef struct name_list {
    char **names;
    size_t n, cap;
    int failed; /* out of memory */
} name_list;

static herr_t collect_cb(hid_t group, const char *name, const H5L_info_t *info, void *op)
{
    (void)group;
    (void)info;
    name_list *l = op;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **p = realloc(l->names, cap * sizeof *p);
        if (!p) {
            l->failed = 1;
            return -1;
        }
        l->names = p;
        l->cap = cap;
    }
    l->names[l->n] = strdup(name);
    if (!l->names[l->n]) {
        l->failed = 1;
        return -1;
    }
    l->n++;
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void names_free(name_list *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->names[i]);
    free(l->names);
}

static dmmp_status visit_group(verify_ctx *c, hid_t g, const char *path, int depth);

/* Reads the object a hard link names: its attributes, then its data or its
 * members. */
static dmmp_status visit_object(verify_ctx *c, hid_t parent, const char *name, const char *path, int depth)
{
    H5O_info_t info;
    progress(c, path);
    /* H5O_INFO_HDR loads every chunk of the object header, so each one's
     * checksum is checked: the group calls of HDF5 1.10.8 read the links of
     * a header whose continuation chunk is damaged as far as they can and
     * return the first ones without an error. */
    if (H5Oget_info_by_name2(parent, name, &info, H5O_INFO_BASIC | H5O_INFO_HDR, H5P_DEFAULT) < 0 || stack_dirty())
        return h5_read_failure(c->file, path);
    int seen = seen_before(c, info.addr);
    if (seen < 0) return dmmp_fail(DMMP_ENOMEM, "%s: out of memory", c->file);
    if (seen) return DMMP_OK;
    hid_t obj = H5Oopen(parent, name, H5P_DEFAULT);
    if (obj < 0) return h5_read_failure(c->file, path);
    dmmp_status s = read_attributes(c, obj, path);
    if (s == DMMP_OK) {
        switch (info.type) {
        case H5O_TYPE_GROUP: s = visit_group(c, obj, path, depth + 1); break;
        case H5O_TYPE_DATASET: s = read_dataset(c, obj, path); break;
        case H5O_TYPE_NAMED_DATATYPE: c->r->datatypes++; break;
        default: s = dmmp_fail(DMMP_EFORMAT, "%s: %s is an object of an unknown type (damaged file?)", c->file, path);
        }
    }
    H5Oclose(obj);
    return s;
}

static herr_t count_link_cb(hid_t group, const char *name, const H5L_info_t *info, void *op)
{
    (void)group;
    (void)name;
    (void)info;
    (void)op;
    return 0;
}

/* The group's links listed as the readers list them: by name, and by
 * creation order when the group tracks it (the first sorts a table of the
 * links, the second walks the creation-order index); each must give the
 * same n links as the native order. */
static dmmp_status list_sorted(verify_ctx *c, hid_t g, const char *path, size_t n)
{
    unsigned crt = 0;
    hid_t gcpl = H5Gget_create_plist(g);
    herr_t e = gcpl >= 0 ? H5Pget_link_creation_order(gcpl, &crt) : -1;
    if (gcpl >= 0) H5Pclose(gcpl);
    hsize_t at = 0;
    if (e >= 0) e = H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &at, count_link_cb, NULL);
    if (e >= 0 && at != n) e = -1;
    if (e >= 0 && (crt & H5P_CRT_ORDER_TRACKED)) {
        at = 0;
        e = H5Literate(g, H5_INDEX_CRT_ORDER, H5_ITER_INC, &at, count_link_cb, NULL);
        if (e >= 0 && at != n) e = -1;
        if (e < 0 && !(crt & H5P_CRT_ORDER_INDEXED)) { /* tracked without an index: no such order to list */
            H5Eclear2(H5E_DEFAULT);
            e = 0;
        }
    }
    if (e < 0 || stack_dirty()) {
        char what[1200];
        snprintf(what, sizeof what, "the links of %s", path);
        return h5_read_failure(c->file, what);
    }
    return DMMP_OK;
}

static dmmp_status visit_group(verify_ctx *c, hid_t g, const char *path, int depth)
{
    if (depth > VERIFY_MAX_DEPTH)
        return dmmp_fail(DMMP_EFORMAT, "%s: %s is nested deeper than %d groups (damaged file?)", c->file, path,
                         VERIFY_MAX_DEPTH);
    c->r->groups++;
    name_list l = {NULL, 0, 0, 0};
    hsize_t at = 0;
    /* Native order (see read_attributes), then sorted by name here. */
    herr_t e = H5Literate(g, H5_INDEX_NAME, H5_ITER_NATIVE, &at, collect_cb, &l);
    dmmp_status s = DMMP_OK;
    if (l.failed) s = dmmp_fail(DMMP_ENOMEM, "%s: out of memory listing %s", c->file, path);
    else if (e < 0 || stack_dirty()) {
        char what[1200];
        snprintf(what, sizeof what, "the links of %s", path);
        s = h5_read_failure(c->file, what);
    }
    if (s == DMMP_OK && c->all_orders) s = list_sorted(c, g, path, l.n);
    if (s == DMMP_OK && l.n > 1) qsort(l.names, l.n, sizeof *l.names, by_name);
    for (size_t i = 0; i < l.n && s == DMMP_OK; i++) {
        char child[1100];
        child_path(child, sizeof child, path, l.names[i]);
        H5L_info_t li;
        if (H5Lget_info(g, l.names[i], &li, H5P_DEFAULT) < 0) {
            s = h5_read_failure(c->file, child);
        } else if (li.type == H5L_TYPE_HARD) {
            s = visit_object(c, g, l.names[i], child, depth);
        } else {
            /* Soft, external or user-defined: the link's value is read (it is
             * in the group's checksummed storage), its target is not. */
            if (li.u.val_size > 0) {
                char *val = malloc(li.u.val_size);
                if (!val) s = dmmp_fail(DMMP_ENOMEM, "%s: out of memory", c->file);
                else if (H5Lget_val(g, l.names[i], val, li.u.val_size, H5P_DEFAULT) < 0)
                    s = h5_read_failure(c->file, child);
                free(val);
            }
            if (s == DMMP_OK) c->r->links++;
        }
    }
    names_free(&l);
    return s;
}

/* ---- the file ------------------------------------------------------------ */

/* Walks an open file from its root: the root's whole header first (the
 * first call that loads it decides whether a damaged continuation chunk is
 * noticed, see stack_dirty), its attributes, then every group below. */
static dmmp_status walk_root(verify_ctx *c, hid_t file)
{
    H5O_info_t info;
    dmmp_status s = DMMP_OK;
    H5Eclear2(H5E_DEFAULT);
    progress(c, "the root group");
    hid_t root = H5I_INVALID_HID;
    if (H5Oget_info2(file, &info, H5O_INFO_BASIC | H5O_INFO_HDR) < 0 || stack_dirty() ||
        (root = H5Gopen2(file, "/", H5P_DEFAULT)) < 0 || stack_dirty()) {
        s = h5_read_failure(c->file, "the root group");
    } else if (seen_before(c, info.addr) < 0) {
        s = dmmp_fail(DMMP_ENOMEM, "%s: out of memory", c->file);
    } else {
        c->r->metadata_checksummed = h5_file_has_checksums(file) == 1;
        H5Eclear2(H5E_DEFAULT);
        s = read_attributes(c, root, "/");
        if (s == DMMP_OK) s = visit_group(c, root, "/", 0);
    }
    if (root >= 0) H5Gclose(root);
    free(c->seen);
    c->seen = NULL;
    c->n_seen = c->cap_seen = 0;
    return s;
}

/* Opens path, walks it, tells its kind by layout, closes it. HDF5 prints
 * nothing meanwhile. */
static dmmp_status walk_path(const char *path, walk_data data, int all_orders, child_link *link, h5_verify_report *r)
{
    H5E_auto2_t func = NULL;
    void *fdata = NULL;
    H5Eget_auto2(H5E_DEFAULT, &func, &fdata);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    dmmp_status s = DMMP_OK;
    child_progress(link, "while opening the file");
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        s = h5_read_failure(path, "the superblock or the root group");
    } else {
        verify_ctx c = {path, r, NULL, 0, 0, data, all_orders, link};
        s = walk_root(&c, file);
        /* By layout, once the walk has loaded every header in full (its
         * probes clear the error stack). */
        if (s == DMMP_OK) r->kind = file_kind_of_h5(file);
        child_progress(link, "while closing the file");
        if (H5Fclose(file) < 0 && s == DMMP_OK) s = h5_read_failure(path, "the file (closing it)");
    }
    H5Eclear2(H5E_DEFAULT);
    H5Eset_auto2(H5E_DEFAULT, func, fdata);
    return s;
}

typedef struct walk_job {
    const char *path;
    walk_data data;
} walk_job;

/* In the child: the walk of a file written before checksums, in every
 * order the readers use. */
static dmmp_status walk_child(child_link *link, void *arg, void *out, size_t out_size)
{
    (void)out_size;
    const walk_job *job = arg;
    return walk_path(job->path, job->data, 1, link, out);
}

/* The failure for a walk in a child process that did not come back. */
static dmmp_status contained_failure(const char *path, const child_end *end)
{
    if (!end->started) return dmmp_fail_prefix(DMMP_EIO, "%s: checking the file", path);
    const char *at = end->last[0] ? end->last : "while reading the file";
    if (end->stalled)
        return dmmp_fail(DMMP_EFORMAT, "%s: HDF5 made no progress for %d s %s (a loop in damaged structures?): the "
                         "file, written before checksums, is damaged", path, WALK_STALL_SECONDS, at);
    if (end->signal)
        return dmmp_fail(DMMP_EFORMAT, "%s: HDF5 crashed %s (signal %d, %s): the file, written before checksums, is "
                         "damaged", path, at, end->signal, strsignal(end->signal));
    return dmmp_fail(DMMP_EFORMAT, "%s: HDF5 ended abnormally %s (exit status %d): the file, written before "
                     "checksums, is damaged", path, at, end->exit_status);
}

static dmmp_status walk_contained(const char *path, walk_data data, h5_verify_report *r)
{
    walk_job job = {path, data};
    child_end end;
    dmmp_status s = child_run(walk_child, &job, r, sizeof *r, WALK_STALL_SECONDS, &end);
    return end.finished ? s : contained_failure(path, &end);
}

dmmp_status h5_verify_file(const char *path, h5_verify_report *r)
{
    memset(r, 0, sizeof *r);
    r->kind = file_kind_of_path(path);
    switch (r->kind) {
    case FILE_KIND_MISSING:
    case FILE_KIND_DIRECTORY:
    case FILE_KIND_UNREADABLE: return dmmp_fail(DMMP_EINVAL, "%s: %s, expected an HDF5 file", path, file_kind_name(r->kind));
    case FILE_KIND_NOT_HDF5: return dmmp_fail(DMMP_EFORMAT, "%s: %s", path, file_kind_name(r->kind));
    default: break;
    }
    struct stat st;
    int64_t bytes = stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
    /* A file written before checksums can crash HDF5 1.10.8 (structures
     * decoded from unchecked bytes): it is walked in a child process. */
    dmmp_status s = h5_path_has_checksums(path) == 1 ? walk_path(path, WALK_ALL_DATA, 0, NULL, r)
                                                      : walk_contained(path, WALK_ALL_DATA, r);
    r->file_bytes = bytes;
    return s;
}

dmmp_status h5_check_structure(hid_t file, const char *path)
{
    h5_verify_report r;
    memset(&r, 0, sizeof r);
    H5E_auto2_t func = NULL;
    void *fdata = NULL;
    H5Eget_auto2(H5E_DEFAULT, &func, &fdata);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    verify_ctx c = {path, &r, NULL, 0, 0, WALK_NO_DATA, 0, NULL};
    dmmp_status s = walk_root(&c, file);
    H5Eclear2(H5E_DEFAULT);
    H5Eset_auto2(H5E_DEFAULT, func, fdata);
    return s;
}

dmmp_status h5_check_structure_contained(const char *path)
{
    h5_verify_report r;
    memset(&r, 0, sizeof r);
    return walk_contained(path, WALK_SMALL_DATA, &r);
}

int h5_verify_fully_checked(const h5_verify_report *r)
{
    return r->metadata_checksummed && r->unchecked_datasets == 0;
}
