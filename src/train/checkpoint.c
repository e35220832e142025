/* The checkpoint writer. Every HDF5 call is checked: a full disk shows up as
 * a failed H5Dwrite, H5Fflush or H5Fclose, and the writer then refuses to
 * commit, so the temporary is removed and the previous checkpoint stays. */
#include "train/checkpoint.h"

#include <hdf5.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"
#include "data/h5_integrity.h"
#include "data/h5_text.h"
#include "train/checkpoint_h5.h"

#define CKPT_PATH_MAX 4096

struct ckpt_writer {
    hid_t file;
    hid_t gcpl;        /* groups: time tracking off */
    hid_t dcpl_compact; /* strings: compact, time tracking off */
    int deflate;       /* the HDF5 build has the deflate and shuffle filters */
    ckpt_chunk_pool *pool; /* compression buffers, made at the first large array */
    int failed;        /* an earlier write failed: commit refuses */
    char path[CKPT_PATH_MAX];
    char tmp[CKPT_PATH_MAX];
};

/* Records the failure with HDF5's innermost message and poisons the writer. */
static dmmp_status writer_fail(ckpt_writer *w, const char *name, const char *what)
{
    char detail[512];
    ckpt_h5_error_text(detail, sizeof detail);
    w->failed = 1;
    if (name) return dmmp_fail(DMMP_EIO, "writing checkpoint %s: %s %s: %s", w->path, what, name, detail);
    return dmmp_fail(DMMP_EIO, "writing checkpoint %s: %s: %s", w->path, what, detail);
}

static void writer_free(ckpt_writer *w)
{
    if (w->gcpl >= 0) H5Pclose(w->gcpl);
    if (w->dcpl_compact >= 0) H5Pclose(w->dcpl_compact);
    ckpt_chunk_pool_free(w->pool);
    free(w);
}

dmmp_status ckpt_writer_open(ckpt_writer **out, const char *path)
{
    *out = NULL;
    if (!path || !*path) return dmmp_fail(DMMP_EINVAL, "checkpoint: empty path");
    if (strlen(path) >= CKPT_PATH_MAX) return dmmp_fail(DMMP_EINVAL, "checkpoint %s: path is too long", path);
    ckpt_h5_quiet();
    DMMP_TRY(atomic_clean_stale(path, NULL));
    ckpt_writer *w = calloc(1, sizeof *w);
    if (!w) return dmmp_fail(DMMP_ENOMEM, "writing checkpoint %s: out of memory", path);
    w->file = w->gcpl = w->dcpl_compact = H5I_INVALID_HID;
    snprintf(w->path, sizeof w->path, "%s", path);
    dmmp_status s = atomic_tmp_path(path, w->tmp, sizeof w->tmp);
    if (s != DMMP_OK) {
        writer_free(w);
        return s;
    }
    w->deflate = H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0 && H5Zfilter_avail(H5Z_FILTER_SHUFFLE) > 0;

    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    hid_t fapl = h5_fapl_checksummed(); /* checksummed metadata */
    w->gcpl = H5Pcreate(H5P_GROUP_CREATE);
    w->dcpl_compact = H5Pcreate(H5P_DATASET_CREATE);
    int ok = fcpl >= 0 && fapl >= 0 && w->gcpl >= 0 && w->dcpl_compact >= 0;
    /* Time stamps would make identical content give different bytes; the
     * root group takes its setting from the file creation list. */
    ok = ok && H5Pset_obj_track_times(fcpl, 0) >= 0 && H5Pset_obj_track_times(w->gcpl, 0) >= 0 &&
         H5Pset_obj_track_times(w->dcpl_compact, 0) >= 0 && H5Pset_layout(w->dcpl_compact, H5D_COMPACT) >= 0;
    /* Strong close: a failed put cannot leave an object open that keeps the
     * file alive after H5Fclose. */
    ok = ok && H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0;
    if (ok) w->file = H5Fcreate(w->tmp, H5F_ACC_EXCL, fcpl, fapl);
    char detail[512];
    ckpt_h5_error_text(detail, sizeof detail); /* before H5Pclose clears the stack */
    if (fcpl >= 0) H5Pclose(fcpl);
    if (fapl >= 0) H5Pclose(fapl);
    if (!ok || w->file < 0) {
        s = dmmp_fail(DMMP_EIO, "writing checkpoint %s: creating temporary %s: %s", path, w->tmp, detail);
        if (w->file >= 0) H5Fclose(w->file);
        atomic_discard(w->tmp);
        writer_free(w);
        return s;
    }
    *out = w;
    return DMMP_OK;
}

const char *ckpt_writer_tmp_path(const ckpt_writer *w) { return w->tmp; }

static dmmp_status check_writable(ckpt_writer *w, const char *name)
{
    if (!w) return dmmp_fail(DMMP_EINVAL, "checkpoint: NULL writer");
    if (w->failed)
        return dmmp_fail(DMMP_EIO, "writing checkpoint %s: %s: an earlier write failed, the checkpoint is abandoned",
                         w->path, name ? name : "(attribute)");
    return DMMP_OK;
}

/* Creates the groups on the way to name ("a/b/c" makes a and a/b) with our
 * gcpl, so implicit groups carry no time stamps either. */
static dmmp_status make_parents(ckpt_writer *w, const char *name)
{
    char prefix[1024];
    size_t n = strlen(name);
    memcpy(prefix, name, n + 1);
    for (size_t i = 1; i < n; i++) {
        if (prefix[i] != '/') continue;
        prefix[i] = '\0';
        if (!ckpt_h5_path_exists(w->file, prefix)) {
            hid_t g = H5Gcreate2(w->file, prefix, H5P_DEFAULT, w->gcpl, H5P_DEFAULT);
            if (g < 0) return writer_fail(w, prefix, "creating group");
            H5Gclose(g);
        }
        prefix[i] = '/';
    }
    return DMMP_OK;
}

static dmmp_status validate_shape(const ckpt_writer *w, const char *name, const void *data, int rank,
                                  const int64_t *dims, size_t elem, hsize_t *hdims, size_t *bytes)
{
    if (rank < 0 || rank > CKPT_MAX_RANK)
        return dmmp_fail(DMMP_EINVAL, "writing checkpoint %s: dataset %s: rank %d outside [0, %d]", w->path, name,
                         rank, CKPT_MAX_RANK);
    if (rank > 0 && !dims)
        return dmmp_fail(DMMP_EINVAL, "writing checkpoint %s: dataset %s: rank %d but dims is NULL", w->path, name,
                         rank);
    size_t count = 1;
    for (int d = 0; d < rank; d++) {
        if (dims[d] < 0)
            return dmmp_fail(DMMP_EINVAL, "writing checkpoint %s: dataset %s: dims[%d] = %lld is negative", w->path,
                             name, d, (long long)dims[d]);
        hdims[d] = (hsize_t)dims[d];
        if (dims[d] != 0 && count > SIZE_MAX / elem / (size_t)dims[d])
            return dmmp_fail(DMMP_EINVAL, "writing checkpoint %s: dataset %s: shape too large", w->path, name);
        count *= (size_t)dims[d];
    }
    if (count > 0 && !data)
        return dmmp_fail(DMMP_EINVAL, "writing checkpoint %s: dataset %s: data is NULL for %zu elements", w->path, name,
                         count);
    *bytes = count * elem;
    return DMMP_OK;
}

static dmmp_status put_array(ckpt_writer *w, const char *name, ckpt_dtype t, const void *data, int rank,
                             const int64_t *dims)
{
    hsize_t hdims[CKPT_MAX_RANK], chunk[CKPT_MAX_RANK];
    size_t bytes = 0;
    DMMP_TRY(check_writable(w, name));
    DMMP_TRY(ckpt_check_name(w->path, name));
    DMMP_TRY(validate_shape(w, name, data, rank, dims, ckpt_dtype_size(t), hdims, &bytes));
    if (ckpt_h5_path_exists(w->file, name))
        return dmmp_fail(DMMP_EINVAL, "writing checkpoint %s: dataset %s is written twice", w->path, name);
    DMMP_TRY(make_parents(w, name));

    hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, hdims, NULL);
    if (space < 0) return writer_fail(w, name, "creating the dataspace of");
    hid_t dcpl = H5I_INVALID_HID;
    int own_dcpl = 0;
    int compress = bytes >= CKPT_COMPRESS_MIN_BYTES && rank > 0 && w->deflate;
    if (compress && !w->pool) {
        dmmp_status ps = ckpt_chunk_pool_create(&w->pool);
        if (ps != DMMP_OK) {
            H5Sclose(space);
            return dmmp_fail_prefix(ps, "writing checkpoint %s: dataset %s", w->path, name);
        }
    }
    if (!compress) {
        /* Small (or no deflate): compact in the checksummed object header,
         * or one chunk with Fletcher32. */
        dcpl = H5Pcreate(H5P_DATASET_CREATE);
        own_dcpl = 1;
        if (dcpl < 0 || H5Pset_obj_track_times(dcpl, 0) < 0 || h5_dcpl_small(dcpl, rank, hdims, bytes) < 0) {
            if (dcpl >= 0) H5Pclose(dcpl);
            H5Sclose(space);
            return writer_fail(w, name, "setting up the layout of");
        }
    } else {
        ckpt_chunk_dims(rank, hdims, ckpt_dtype_size(t), chunk);
        dcpl = H5Pcreate(H5P_DATASET_CREATE);
        own_dcpl = 1;
        int ok = dcpl >= 0 && H5Pset_obj_track_times(dcpl, 0) >= 0 && H5Pset_chunk(dcpl, rank, chunk) >= 0;
        /* Shuffle groups the bytes of each float by significance, so deflate
         * finds the repeated exponent bytes even at level 1. The filters are
         * declared here; checkpoint_chunks.c applies them. */
        ok = ok && H5Pset_shuffle(dcpl) >= 0 && H5Pset_deflate(dcpl, 1) >= 0;
        /* Last: every stored chunk ends with its Fletcher32 checksum. */
        ok = ok && h5_dcpl_add_checksum(dcpl) >= 0;
        if (!ok) {
            if (dcpl >= 0) H5Pclose(dcpl);
            H5Sclose(space);
            return writer_fail(w, name, "setting up chunking for");
        }
    }
    /* Each failure is recorded before the next HDF5 call, which would clear
     * the error stack that explains it. */
    dmmp_status s = DMMP_OK;
    hid_t dset = H5Dcreate2(w->file, name, ckpt_dtype_file_type(t), space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (dset < 0) s = writer_fail(w, name, "creating dataset");
    if (own_dcpl) H5Pclose(dcpl);
    H5Sclose(space);
    if (s != DMMP_OK) return s;
    if (compress) {
        s = ckpt_write_chunks(w->pool, dset, data, rank, hdims, chunk, ckpt_dtype_size(t));
        if (s != DMMP_OK) {
            w->failed = 1;
            s = dmmp_fail_prefix(s, "writing checkpoint %s: dataset %s", w->path, name);
        }
    } else if (bytes > 0 && H5Dwrite(dset, ckpt_dtype_mem_type(t), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
        s = writer_fail(w, name, "writing dataset");
    }
    if (H5Dclose(dset) < 0 && s == DMMP_OK) s = writer_fail(w, name, "closing dataset");
    return s;
}

dmmp_status ckpt_put_f32(ckpt_writer *w, const char *name, const float *data, int rank, const int64_t *dims)
{
    return put_array(w, name, CKPT_F32, data, rank, dims);
}

dmmp_status ckpt_put_f64(ckpt_writer *w, const char *name, const double *data, int rank, const int64_t *dims)
{
    return put_array(w, name, CKPT_F64, data, rank, dims);
}

dmmp_status ckpt_put_i64(ckpt_writer *w, const char *name, const int64_t *data, int rank, const int64_t *dims)
{
    return put_array(w, name, CKPT_I64, data, rank, dims);
}

dmmp_status ckpt_put_i32(ckpt_writer *w, const char *name, const int32_t *data, int rank, const int64_t *dims)
{
    return put_array(w, name, CKPT_I32, data, rank, dims);
}

dmmp_status ckpt_put_u8(ckpt_writer *w, const char *name, const uint8_t *data, int rank, const int64_t *dims)
{
    return put_array(w, name, CKPT_U8, data, rank, dims);
}

/* A fixed-length, NUL-padded UTF-8 string type of max(len, 1) bytes (HDF5
 * refuses size 0; an empty string is one NUL). The caller closes it. */
static hid_t string_type(size_t len)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return t;
    if (H5Tset_size(t, len ? len : 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0 ||
        H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

dmmp_status ckpt_put_string(ckpt_writer *w, const char *name, const char *text)
{
    DMMP_TRY(check_writable(w, name));
    DMMP_TRY(ckpt_check_name(w->path, name));
    if (!text) return dmmp_fail(DMMP_EINVAL, "writing checkpoint %s: dataset %s: text is NULL", w->path, name);
    if (ckpt_h5_path_exists(w->file, name))
        return dmmp_fail(DMMP_EINVAL, "writing checkpoint %s: dataset %s is written twice", w->path, name);
    DMMP_TRY(make_parents(w, name));
    size_t len = strlen(text);
    if (len > H5_TEXT_COMPACT_MAX) {
        /* Too long for an object header: checksummed chunks of its bytes. */
        dmmp_status s = h5_text_write_long(w->file, name, text, len, w->path);
        if (s != DMMP_OK) w->failed = 1;
        return s;
    }
    dmmp_status s = DMMP_OK;
    hid_t type = string_type(len);
    hid_t space = type >= 0 ? H5Screate(H5S_SCALAR) : H5I_INVALID_HID;
    /* Compact: the text lives in the object header, under its checksum. */
    hid_t dset = space >= 0 ? H5Dcreate2(w->file, name, type, space, H5P_DEFAULT, w->dcpl_compact, H5P_DEFAULT)
                            : H5I_INVALID_HID;
    if (dset < 0) s = writer_fail(w, name, "creating string dataset");
    /* HDF5 reads max(len, 1) bytes from the buffer: "" has its NUL there. */
    else if (H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, text) < 0)
        s = writer_fail(w, name, "writing string dataset");
    if (dset >= 0 && H5Dclose(dset) < 0 && s == DMMP_OK) s = writer_fail(w, name, "closing string dataset");
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    return s;
}

dmmp_status ckpt_put_strings(ckpt_writer *w, const char *name, const char *const *strs, int64_t n)
{
    DMMP_TRY(check_writable(w, name));
    DMMP_TRY(ckpt_check_name(w->path, name));
    if (n < 0 || (n > 0 && !strs))
        return dmmp_fail(DMMP_EINVAL, "writing checkpoint %s: dataset %s: %lld strings", w->path, name, (long long)n);
    if (ckpt_h5_path_exists(w->file, name))
        return dmmp_fail(DMMP_EINVAL, "writing checkpoint %s: dataset %s is written twice", w->path, name);
    DMMP_TRY(make_parents(w, name));
    size_t len = 1;
    for (int64_t i = 0; i < n; i++)
        if (strlen(strs[i]) > len) len = strlen(strs[i]);
    char *buf = calloc((size_t)(n > 0 ? n : 1), len);
    if (!buf) return dmmp_fail(DMMP_ENOMEM, "writing checkpoint %s: dataset %s: out of memory", w->path, name);
    for (int64_t i = 0; i < n; i++) memcpy(buf + (size_t)i * len, strs[i], strlen(strs[i]));
    dmmp_status s = DMMP_OK;
    hsize_t dims[1] = {(hsize_t)n};
    hid_t type = string_type(len);
    hid_t space = type >= 0 ? H5Screate_simple(1, dims, NULL) : H5I_INVALID_HID;
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    /* Compact in the checksummed object header, or one chunk with Fletcher32. */
    int ok = space >= 0 && dcpl >= 0 && H5Pset_obj_track_times(dcpl, 0) >= 0 &&
             h5_dcpl_small(dcpl, 1, dims, (size_t)n * len) >= 0;
    hid_t dset = ok ? H5Dcreate2(w->file, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT) : H5I_INVALID_HID;
    if (dset < 0) s = writer_fail(w, name, "creating string dataset");
    else if (n > 0 && H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        s = writer_fail(w, name, "writing string dataset");
    if (dset >= 0 && H5Dclose(dset) < 0 && s == DMMP_OK) s = writer_fail(w, name, "closing string dataset");
    if (dcpl >= 0) H5Pclose(dcpl);
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    free(buf);
    return s;
}

static dmmp_status put_attr(ckpt_writer *w, const char *name, hid_t file_type, hid_t mem_type, const void *value)
{
    dmmp_status s = DMMP_OK;
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = space >= 0 ? H5Acreate2(w->file, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT)
                            : H5I_INVALID_HID;
    if (attr < 0) s = writer_fail(w, name, "creating attribute");
    else if (H5Awrite(attr, mem_type, value) < 0) s = writer_fail(w, name, "writing attribute");
    if (attr >= 0 && H5Aclose(attr) < 0 && s == DMMP_OK) s = writer_fail(w, name, "closing attribute");
    if (space >= 0) H5Sclose(space);
    return s;
}

static dmmp_status check_attr_name(ckpt_writer *w, const char *name)
{
    DMMP_TRY(check_writable(w, name));
    if (!name || !*name) return dmmp_fail(DMMP_EINVAL, "writing checkpoint %s: empty attribute name", w->path);
    if (!strcmp(name, "format_version"))
        return dmmp_fail(DMMP_EINVAL, "writing checkpoint %s: attribute format_version is reserved (set at commit)",
                         w->path);
    htri_t e = H5Aexists(w->file, name);
    if (e < 0) return writer_fail(w, name, "checking attribute");
    if (e > 0) return dmmp_fail(DMMP_EINVAL, "writing checkpoint %s: attribute %s is written twice", w->path, name);
    return DMMP_OK;
}

dmmp_status ckpt_put_attr_i64(ckpt_writer *w, const char *name, int64_t value)
{
    DMMP_TRY(check_attr_name(w, name));
    return put_attr(w, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

dmmp_status ckpt_put_attr_f64(ckpt_writer *w, const char *name, double value)
{
    DMMP_TRY(check_attr_name(w, name));
    return put_attr(w, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

dmmp_status ckpt_put_attr_string(ckpt_writer *w, const char *name, const char *value)
{
    DMMP_TRY(check_attr_name(w, name));
    if (!value) return dmmp_fail(DMMP_EINVAL, "writing checkpoint %s: attribute %s: value is NULL", w->path, name);
    hid_t type = string_type(strlen(value));
    if (type < 0) return writer_fail(w, name, "making the string type of attribute");
    dmmp_status s = put_attr(w, name, type, type, value);
    H5Tclose(type);
    return s;
}

dmmp_status ckpt_writer_commit(ckpt_writer *w)
{
    dmmp_status s = check_writable(w, NULL);
    if (s != DMMP_OK) {
        ckpt_writer_abort(w);
        return s;
    }
    int64_t version = CKPT_FORMAT_VERSION;
    s = put_attr(w, "format_version", H5T_STD_I64LE, H5T_NATIVE_INT64, &version);
    /* Deferred writes (metadata cache, last chunks) fail here on a full disk. */
    if (s == DMMP_OK && H5Fflush(w->file, H5F_SCOPE_LOCAL) < 0) s = writer_fail(w, NULL, "flushing");
    herr_t cl = H5Fclose(w->file);
    w->file = H5I_INVALID_HID;
    if (s == DMMP_OK && cl < 0) s = writer_fail(w, NULL, "closing");
    if (s == DMMP_OK) {
        s = atomic_commit(w->tmp, w->path);
        if (s != DMMP_OK) s = dmmp_fail_prefix(s, "writing checkpoint %s", w->path);
    } else {
        atomic_discard(w->tmp);
    }
    writer_free(w);
    return s;
}

void ckpt_writer_abort(ckpt_writer *w)
{
    if (!w) return;
    if (w->file >= 0) H5Fclose(w->file);
    H5Eclear2(H5E_DEFAULT);
    atomic_discard(w->tmp);
    writer_free(w);
}
