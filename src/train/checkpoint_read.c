/* The checkpoint reader: every way a file can differ from what the caller
 * expects (absent, not HDF5, truncated, other format version, missing
 * dataset, other dtype or shape) is a message naming the file and dataset. */
#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/file_kind.h"
#include "data/h5_integrity.h"
#include "data/h5_open.h"
#include "data/h5_text.h"
#include "train/checkpoint.h"
#include "train/checkpoint_h5.h"

#define CKPT_PATH_MAX 4096

struct ckpt_reader {
    hid_t file;
    char path[CKPT_PATH_MAX];
};

static dmmp_status reader_h5_fail(const ckpt_reader *r, dmmp_status code, const char *fmt_what, const char *name)
{
    char detail[512];
    /* Checksummed files: HDF5 verifies every structure and chunk it loads. */
    if (h5_error_is_checksum(NULL, 0)) {
        H5Eclear2(H5E_DEFAULT);
        return dmmp_fail(DMMP_EFORMAT, "reading checkpoint %s: checksum mismatch in %s: the file is damaged", r->path,
                         name);
    }
    ckpt_h5_error_text(detail, sizeof detail);
    return dmmp_fail(code, "reading checkpoint %s: %s %s: %s", r->path, fmt_what, name, detail);
}

static dmmp_status read_format_version(ckpt_reader *r)
{
    htri_t e = H5Aexists(r->file, "format_version");
    if (e < 0) return reader_h5_fail(r, DMMP_EFORMAT, "checking attribute", "format_version");
    if (e == 0)
        return dmmp_fail(DMMP_EFORMAT, "reading checkpoint %s: no format_version attribute: not a checkpoint of this "
                         "framework", r->path);
    int64_t version = 0;
    dmmp_status s = ckpt_get_attr_i64(r, "format_version", &version);
    if (s != DMMP_OK) return s;
    if (version < CKPT_FORMAT_VERSION_MIN || version > CKPT_FORMAT_VERSION)
        return dmmp_fail(DMMP_EFORMAT, "reading checkpoint %s: format_version is %lld, this build reads %d to %d",
                         r->path, (long long)version, CKPT_FORMAT_VERSION_MIN, CKPT_FORMAT_VERSION);
    return DMMP_OK;
}

dmmp_status ckpt_reader_open(ckpt_reader **out, const char *path)
{
    *out = NULL;
    if (!path || !*path) return dmmp_fail(DMMP_EINVAL, "checkpoint: empty path");
    if (strlen(path) >= CKPT_PATH_MAX) return dmmp_fail(DMMP_EINVAL, "checkpoint %s: path is too long", path);
    ckpt_h5_quiet();
    /* stat first: HDF5 says "unable to open file" for every cause alike. */
    struct stat st;
    if (stat(path, &st) != 0)
        return dmmp_fail(errno == ENOENT || errno == ENOTDIR ? DMMP_EINVAL : DMMP_EIO, "reading checkpoint %s: %s",
                         path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return dmmp_fail(DMMP_EFORMAT, "reading checkpoint %s: not a regular file (%s)", path,
                         S_ISDIR(st.st_mode) ? "a directory" : "a device, pipe or socket");
    if (h5_path_has_checksums(path) < 0)
        return dmmp_fail(DMMP_EFORMAT, "reading checkpoint %s: not an HDF5 file (%lld bytes, no HDF5 signature)",
                         path, (long long)st.st_size);
    ckpt_reader *r = calloc(1, sizeof *r);
    if (!r) return dmmp_fail(DMMP_ENOMEM, "reading checkpoint %s: out of memory", path);
    snprintf(r->path, sizeof r->path, "%s", path);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    dmmp_status s = fapl >= 0 && H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0
                        ? h5_open_read(path, fapl, &r->file) /* structure checked (data/h5_open.h) */
                        : dmmp_fail(DMMP_EIO, "reading checkpoint %s: cannot make a file access list", path);
    if (fapl >= 0) H5Pclose(fapl);
    if (s != DMMP_OK) {
        free(r);
        return s;
    }
    /* A dataset or a results.h5 given for a checkpoint is named as such, not by
     * the first attribute it lacks. */
    file_kind kind = file_kind_of_h5(r->file);
    if (kind == FILE_KIND_DATASET || kind == FILE_KIND_RESULTS || kind == FILE_KIND_BENCH)
        s = dmmp_fail(DMMP_EFORMAT, "reading checkpoint %s: the file is %s, expected %s", path, file_kind_name(kind),
                      file_kind_name(FILE_KIND_RUN_STATE));
    if (s == DMMP_OK) s = read_format_version(r);
    if (s != DMMP_OK) {
        ckpt_reader_close(r);
        return s;
    }
    *out = r;
    return DMMP_OK;
}

void ckpt_reader_close(ckpt_reader *r)
{
    if (!r) return;
    if (r->file >= 0) H5Fclose(r->file);
    H5Eclear2(H5E_DEFAULT);
    free(r);
}

int ckpt_has(ckpt_reader *r, const char *name)
{
    if (!r || !name || ckpt_check_name(r->path, name) != DMMP_OK) {
        dmmp_error_clear();
        return 0;
    }
    return ckpt_h5_path_exists(r->file, name);
}

/* Opens dataset name, failing clearly if it is missing or not a dataset. */
static dmmp_status open_dataset(ckpt_reader *r, const char *name, hid_t *dset)
{
    if (!r) return dmmp_fail(DMMP_EINVAL, "checkpoint: NULL reader");
    DMMP_TRY(ckpt_check_name(r->path, name));
    if (!ckpt_h5_path_exists(r->file, name)) {
        if (h5_error_is_checksum(NULL, 0)) return reader_h5_fail(r, DMMP_EFORMAT, "opening", name);
        return dmmp_fail(DMMP_EFORMAT, "reading checkpoint %s: dataset %s is missing", r->path, name);
    }
    H5O_info_t info;
    if (H5Oget_info_by_name2(r->file, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
        return reader_h5_fail(r, DMMP_EFORMAT, "inspecting", name);
    if (info.type != H5O_TYPE_DATASET)
        return dmmp_fail(DMMP_EFORMAT, "reading checkpoint %s: %s is a group, not a dataset", r->path, name);
    *dset = H5Dopen2(r->file, name, H5P_DEFAULT);
    if (*dset < 0) return reader_h5_fail(r, DMMP_EFORMAT, "opening dataset", name);
    return DMMP_OK;
}

static void format_shape(char *buf, size_t len, int rank, const int64_t *dims)
{
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < rank && used < len; d++)
        used += (size_t)snprintf(buf + used, len - used, d ? ", %lld" : "%lld", (long long)dims[d]);
    if (used < len) snprintf(buf + used, len - used, "]");
}

/* Reads the rank and dims of an open dataset's dataspace. */
static dmmp_status dataset_shape(ckpt_reader *r, const char *name, hid_t dset, int *rank, int64_t *dims)
{
    hid_t space = H5Dget_space(dset);
    if (space < 0) return reader_h5_fail(r, DMMP_EFORMAT, "reading the dataspace of", name);
    int nd = H5Sget_simple_extent_ndims(space);
    if (nd < 0 || nd > CKPT_MAX_RANK) {
        dmmp_status s = nd < 0 ? reader_h5_fail(r, DMMP_EFORMAT, "reading the rank of", name) : DMMP_OK;
        H5Sclose(space);
        if (s != DMMP_OK) return s;
        return dmmp_fail(DMMP_EFORMAT, "reading checkpoint %s: dataset %s has rank %d (at most %d)", r->path, name, nd,
                         CKPT_MAX_RANK);
    }
    hsize_t hd[CKPT_MAX_RANK];
    H5Sget_simple_extent_dims(space, hd, NULL);
    H5Sclose(space);
    for (int d = 0; d < nd; d++) dims[d] = (int64_t)hd[d];
    *rank = nd;
    return DMMP_OK;
}

static dmmp_status check_shape(ckpt_reader *r, const char *name, hid_t dset, int rank, const int64_t *dims)
{
    int found_rank;
    int64_t found[CKPT_MAX_RANK];
    DMMP_TRY(dataset_shape(r, name, dset, &found_rank, found));
    if (rank < 0 || rank > CKPT_MAX_RANK || (rank > 0 && !dims))
        return dmmp_fail(DMMP_EINVAL, "reading checkpoint %s: dataset %s: bad expected rank %d or NULL dims", r->path,
                         name, rank);
    int same = found_rank == rank;
    for (int d = 0; same && d < rank; d++) same = found[d] == dims[d];
    if (same) return DMMP_OK;
    char want[256], got[256];
    format_shape(want, sizeof want, rank, dims);
    format_shape(got, sizeof got, found_rank, found);
    return dmmp_fail(DMMP_EFORMAT, "reading checkpoint %s: dataset %s has shape %s, expected %s", r->path, name, got,
                     want);
}

static dmmp_status check_type(ckpt_reader *r, const char *name, hid_t dset, ckpt_dtype t)
{
    hid_t type = H5Dget_type(dset);
    if (type < 0) return reader_h5_fail(r, DMMP_EFORMAT, "reading the type of", name);
    if (ckpt_dtype_matches(t, type)) {
        H5Tclose(type);
        return DMMP_OK;
    }
    char got[64];
    ckpt_describe_h5_type(type, got, sizeof got);
    H5Tclose(type);
    return dmmp_fail(DMMP_EFORMAT, "reading checkpoint %s: dataset %s is %s, expected %s", r->path, name, got,
                     ckpt_dtype_name(t));
}

static dmmp_status get_array(ckpt_reader *r, const char *name, ckpt_dtype t, void *out, int rank,
                             const int64_t *dims)
{
    hid_t dset;
    DMMP_TRY(open_dataset(r, name, &dset));
    dmmp_status s = check_type(r, name, dset, t);
    if (s == DMMP_OK) s = check_shape(r, name, dset, rank, dims);
    size_t count = 1;
    for (int d = 0; s == DMMP_OK && d < rank; d++) count *= (size_t)dims[d];
    if (s == DMMP_OK && count > 0 && !out)
        s = dmmp_fail(DMMP_EINVAL, "reading checkpoint %s: dataset %s: out is NULL", r->path, name);
    /* A damaged chunk or a short file shows up here, after the shape checks. */
    if (s == DMMP_OK && count > 0 && H5Dread(dset, ckpt_dtype_mem_type(t), H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
        s = reader_h5_fail(r, DMMP_EFORMAT, "reading dataset", name);
    H5Dclose(dset);
    return s;
}

/* Rows [lo, lo + n) of a dataset of shape dims (the first dimension is
 * the rows): a hyperslab of the file, the rest of it is not read. */
static dmmp_status get_rows(ckpt_reader *r, const char *name, ckpt_dtype t, void *out, int rank, const int64_t *dims,
                            int64_t lo, int64_t n)
{
    if (rank < 1 || lo < 0 || n < 0 || lo + n > dims[0])
        return dmmp_fail(DMMP_EINVAL, "reading checkpoint %s: dataset %s: rows [%lld, %lld) outside its %lld rows",
                         r->path, name, (long long)lo, (long long)(lo + n), rank >= 1 ? (long long)dims[0] : 0LL);
    hid_t dset;
    DMMP_TRY(open_dataset(r, name, &dset));
    dmmp_status s = check_type(r, name, dset, t);
    if (s == DMMP_OK) s = check_shape(r, name, dset, rank, dims);
    if (s == DMMP_OK && n > 0 && !out)
        s = dmmp_fail(DMMP_EINVAL, "reading checkpoint %s: dataset %s: out is NULL", r->path, name);
    if (s == DMMP_OK && n > 0) {
        hsize_t start[CKPT_MAX_RANK] = {0}, count[CKPT_MAX_RANK];
        for (int d = 0; d < rank; d++) count[d] = (hsize_t)dims[d];
        start[0] = (hsize_t)lo;
        count[0] = (hsize_t)n;
        hid_t file_space = H5Dget_space(dset);
        hid_t mem_space = H5Screate_simple(rank, count, NULL);
        if (file_space < 0 || mem_space < 0 ||
            H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
            H5Dread(dset, ckpt_dtype_mem_type(t), mem_space, file_space, H5P_DEFAULT, out) < 0)
            s = reader_h5_fail(r, DMMP_EFORMAT, "reading rows of dataset", name);
        if (mem_space >= 0) H5Sclose(mem_space);
        if (file_space >= 0) H5Sclose(file_space);
    }
    H5Dclose(dset);
    return s;
}

dmmp_status ckpt_get_f32_rows(ckpt_reader *r, const char *name, float *out, int rank, const int64_t *dims, int64_t lo,
                              int64_t n)
{
    return get_rows(r, name, CKPT_F32, out, rank, dims, lo, n);
}

dmmp_status ckpt_get_i64_rows(ckpt_reader *r, const char *name, int64_t *out, int rank, const int64_t *dims, int64_t lo,
                              int64_t n)
{
    return get_rows(r, name, CKPT_I64, out, rank, dims, lo, n);
}

dmmp_status ckpt_get_f32(ckpt_reader *r, const char *name, float *out, int rank, const int64_t *dims)
{
    return get_array(r, name, CKPT_F32, out, rank, dims);
}

dmmp_status ckpt_get_f64(ckpt_reader *r, const char *name, double *out, int rank, const int64_t *dims)
{
    return get_array(r, name, CKPT_F64, out, rank, dims);
}

dmmp_status ckpt_get_i64(ckpt_reader *r, const char *name, int64_t *out, int rank, const int64_t *dims)
{
    return get_array(r, name, CKPT_I64, out, rank, dims);
}

dmmp_status ckpt_get_i32(ckpt_reader *r, const char *name, int32_t *out, int rank, const int64_t *dims)
{
    return get_array(r, name, CKPT_I32, out, rank, dims);
}

dmmp_status ckpt_get_u8(ckpt_reader *r, const char *name, uint8_t *out, int rank, const int64_t *dims)
{
    return get_array(r, name, CKPT_U8, out, rank, dims);
}

dmmp_status ckpt_get_shape(ckpt_reader *r, const char *name, int *rank, int64_t *dims)
{
    hid_t dset;
    DMMP_TRY(open_dataset(r, name, &dset));
    dmmp_status s = dataset_shape(r, name, dset, rank, dims);
    H5Dclose(dset);
    return s;
}

/* Reads a fixed-length string of an attribute (is_attr) or scalar dataset
 * whose type is type into a malloc'ed, NUL-terminated *out. */
static dmmp_status read_fixed_string(ckpt_reader *r, const char *what, const char *name, hid_t obj, int is_attr,
                                     hid_t type, char **out)
{
    if (H5Tget_class(type) != H5T_STRING || H5Tis_variable_str(type) != 0) {
        char got[64];
        ckpt_describe_h5_type(type, got, sizeof got);
        return dmmp_fail(DMMP_EFORMAT, "reading checkpoint %s: %s %s is %s, expected a fixed-length string", r->path,
                         what, name, got);
    }
    size_t size = H5Tget_size(type);
    char *buf = calloc(size + 1, 1);
    if (!buf) return dmmp_fail(DMMP_ENOMEM, "reading checkpoint %s: %s %s: out of memory", r->path, what, name);
    herr_t rd = is_attr ? H5Aread(obj, type, buf) : H5Dread(obj, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    if (rd < 0) {
        free(buf);
        return reader_h5_fail(r, DMMP_EFORMAT, is_attr ? "reading attribute" : "reading dataset", name);
    }
    *out = buf;
    return DMMP_OK;
}

dmmp_status ckpt_get_string(ckpt_reader *r, const char *name, char **out)
{
    hid_t dset;
    *out = NULL;
    DMMP_TRY(open_dataset(r, name, &dset));
    if (h5_text_is_long(dset)) { /* a text too long for an object header */
        dmmp_status s = h5_text_read_long(dset, r->path, name, out);
        H5Dclose(dset);
        return s;
    }
    int rank;
    int64_t dims[CKPT_MAX_RANK];
    dmmp_status s = dataset_shape(r, name, dset, &rank, dims);
    if (s == DMMP_OK && rank != 0)
        s = dmmp_fail(DMMP_EFORMAT, "reading checkpoint %s: dataset %s has rank %d, expected a scalar string", r->path,
                      name, rank);
    hid_t type = s == DMMP_OK ? H5Dget_type(dset) : H5I_INVALID_HID;
    if (s == DMMP_OK && type < 0) s = reader_h5_fail(r, DMMP_EFORMAT, "reading the type of", name);
    if (s == DMMP_OK) s = read_fixed_string(r, "dataset", name, dset, 0, type, out);
    if (type >= 0) H5Tclose(type);
    H5Dclose(dset);
    return s;
}

/* Opens root attribute name, failing clearly if it is missing. */
static dmmp_status open_attr(ckpt_reader *r, const char *name, hid_t *attr)
{
    if (!r) return dmmp_fail(DMMP_EINVAL, "checkpoint: NULL reader");
    if (!name || !*name) return dmmp_fail(DMMP_EINVAL, "reading checkpoint %s: empty attribute name", r->path);
    htri_t e = H5Aexists(r->file, name);
    if (e < 0) return reader_h5_fail(r, DMMP_EFORMAT, "checking attribute", name);
    if (e == 0) return dmmp_fail(DMMP_EFORMAT, "reading checkpoint %s: attribute %s is missing", r->path, name);
    *attr = H5Aopen(r->file, name, H5P_DEFAULT);
    if (*attr < 0) return reader_h5_fail(r, DMMP_EFORMAT, "opening attribute", name);
    return DMMP_OK;
}

static dmmp_status get_attr_number(ckpt_reader *r, const char *name, ckpt_dtype t, void *out)
{
    hid_t attr;
    DMMP_TRY(open_attr(r, name, &attr));
    hid_t type = H5Aget_type(attr);
    hid_t space = H5Aget_space(attr);
    dmmp_status s = DMMP_OK;
    if (type < 0 || space < 0) s = reader_h5_fail(r, DMMP_EFORMAT, "inspecting attribute", name);
    else if (!ckpt_dtype_matches(t, type) || H5Sget_simple_extent_npoints(space) != 1) {
        char got[64];
        ckpt_describe_h5_type(type, got, sizeof got);
        s = dmmp_fail(DMMP_EFORMAT, "reading checkpoint %s: attribute %s is %s with %lld elements, expected one %s",
                      r->path, name, got, (long long)H5Sget_simple_extent_npoints(space), ckpt_dtype_name(t));
    } else if (H5Aread(attr, ckpt_dtype_mem_type(t), out) < 0)
        s = reader_h5_fail(r, DMMP_EFORMAT, "reading attribute", name);
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    H5Aclose(attr);
    return s;
}

dmmp_status ckpt_get_attr_i64(ckpt_reader *r, const char *name, int64_t *out)
{
    return get_attr_number(r, name, CKPT_I64, out);
}

dmmp_status ckpt_get_attr_f64(ckpt_reader *r, const char *name, double *out)
{
    return get_attr_number(r, name, CKPT_F64, out);
}

dmmp_status ckpt_get_attr_string(ckpt_reader *r, const char *name, char **out)
{
    hid_t attr;
    *out = NULL;
    DMMP_TRY(open_attr(r, name, &attr));
    hid_t type = H5Aget_type(attr);
    hid_t space = H5Aget_space(attr);
    dmmp_status s = DMMP_OK;
    if (type < 0 || space < 0) s = reader_h5_fail(r, DMMP_EFORMAT, "inspecting attribute", name);
    else if (H5Sget_simple_extent_npoints(space) != 1)
        s = dmmp_fail(DMMP_EFORMAT, "reading checkpoint %s: attribute %s has %lld elements, expected one string",
                      r->path, name, (long long)H5Sget_simple_extent_npoints(space));
    else s = read_fixed_string(r, "attribute", name, attr, 1, type, out);
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    H5Aclose(attr);
    return s;
}
