#include "data/h5_column.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "data/h5_integrity.h"

/* Files are little-endian whatever the host so they read the same anywhere. */
static hid_t file_type_of(hid_t mem_type)
{
    H5T_class_t cls = H5Tget_class(mem_type);
    size_t size = H5Tget_size(mem_type);
    if (cls == H5T_STRING) return mem_type; /* fixed-length strings: stored as given (the caller keeps it open) */
    if (cls == H5T_FLOAT) return size == 4 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE;
    if (cls == H5T_INTEGER) {
        int is_signed = H5Tget_sign(mem_type) == H5T_SGN_2;
        switch (size) {
        case 1: return is_signed ? H5T_STD_I8LE : H5T_STD_U8LE;
        case 2: return is_signed ? H5T_STD_I16LE : H5T_STD_U16LE;
        case 4: return is_signed ? H5T_STD_I32LE : H5T_STD_U32LE;
        default: return is_signed ? H5T_STD_I64LE : H5T_STD_U64LE;
        }
    }
    return H5I_INVALID_HID;
}

hid_t h5_dcpl_untimed(void)
{
    hid_t p = H5Pcreate(H5P_DATASET_CREATE);
    if (p >= 0) H5Pset_obj_track_times(p, 0);
    return p;
}

hid_t h5_gcpl_untimed(void)
{
    hid_t p = H5Pcreate(H5P_GROUP_CREATE);
    if (p >= 0) H5Pset_obj_track_times(p, 0);
    return p;
}

dmmp_status h5_column_create(h5_column *c, hid_t loc, const char *name, hid_t mem_type, int64_t width,
                             int64_t chunk_rows, int deflate)
{
    memset(c, 0, sizeof *c);
    c->dset = H5I_INVALID_HID;
    snprintf(c->path, sizeof c->path, "%s", name);
    if (width < 0 || chunk_rows < 1)
        return dmmp_fail(DMMP_EINVAL, "dataset %s: width %lld must be >= 0 and chunk rows %lld >= 1", name,
                         (long long)width, (long long)chunk_rows);
    /* The rank comes from the caller's intent, never from the column count:
     * a one-column matrix must stay rank 2. */
    int rank = width == 0 ? 1 : 2;
    if (width == 0) width = 1;
    hsize_t dims[2] = {0, (hsize_t)width};
    hsize_t maxdims[2] = {H5S_UNLIMITED, (hsize_t)width};
    hsize_t chunk[2] = {(hsize_t)chunk_rows, (hsize_t)width};
    hid_t space = H5Screate_simple(rank, dims, maxdims);
    hid_t dcpl = h5_dcpl_untimed();
    hid_t ftype = file_type_of(mem_type);
    dmmp_status s = DMMP_OK;
    if (space < 0 || dcpl < 0 || ftype < 0 || H5Pset_chunk(dcpl, rank, chunk) < 0) {
        s = dmmp_fail(DMMP_EIO, "dataset %s: cannot set up chunked layout", name);
        goto out;
    }
    if (deflate > 0) {
        /* Byte shuffle groups the high bytes of small ids, which deflate then
         * squeezes well even at a fast level. */
        if (H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, (unsigned)deflate) < 0) {
            s = dmmp_fail(DMMP_EIO, "dataset %s: cannot enable shuffle + deflate", name);
            goto out;
        }
    }
    /* Last in the pipeline: each stored chunk ends with a checksum of its
     * stored bytes, which HDF5 verifies on every read. */
    if (h5_dcpl_add_checksum(dcpl) < 0) {
        s = dmmp_fail(DMMP_EIO, "dataset %s: cannot enable the Fletcher32 checksum", name);
        goto out;
    }
    c->dset = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (c->dset < 0) {
        s = dmmp_fail(DMMP_EIO, "dataset %s: H5Dcreate failed", name);
        goto out;
    }
    c->mem_type = mem_type;
    c->elem_size = H5Tget_size(mem_type);
    c->width = width;
    c->rank = rank;
    c->level = deflate > 0 ? deflate : 0;
    c->chunk_rows = chunk_rows;
    s = mem_alloc((void **)&c->buf, (size_t)(chunk_rows * width) * c->elem_size, name);
    if (s != DMMP_OK) {
        H5Dclose(c->dset);
        c->dset = H5I_INVALID_HID;
    }
out:
    if (space >= 0) H5Sclose(space);
    if (dcpl >= 0) H5Pclose(dcpl);
    return s;
}

/* Writes n rows from src starting at file row `at`, growing the extent. */
static dmmp_status write_rows(h5_column *c, int64_t at, const void *src, int64_t n)
{
    if (n == 0) return DMMP_OK;
    int rank = c->rank;
    hsize_t newdims[2] = {(hsize_t)(at + n), (hsize_t)c->width};
    if (H5Dset_extent(c->dset, newdims) < 0)
        return dmmp_fail(DMMP_EIO, "dataset %s: cannot extend to %lld rows", c->path, (long long)(at + n));
    hid_t fspace = H5Dget_space(c->dset);
    hsize_t start[2] = {(hsize_t)at, 0}, count[2] = {(hsize_t)n, (hsize_t)c->width};
    hid_t mspace = H5Screate_simple(rank, count, NULL);
    dmmp_status s = DMMP_OK;
    if (fspace < 0 || mspace < 0 || H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        H5Dwrite(c->dset, c->mem_type, mspace, fspace, H5P_DEFAULT, src) < 0)
        s = dmmp_fail(DMMP_EIO, "dataset %s: writing rows %lld..%lld failed", c->path, (long long)at,
                      (long long)(at + n));
    if (mspace >= 0) H5Sclose(mspace);
    if (fspace >= 0) H5Sclose(fspace);
    return s;
}

void h5_column_use_pool(h5_column *c, chunk_pool *pool)
{
    if (H5Tget_order(c->mem_type) != H5T_ORDER_LE) return;
    c->pool = pool;
}

/* Pool mode: queues the chunk that starts at row `at` from src (rows of it
 * present; an edge chunk is padded with zeros, as HDF5 stores it). */
static dmmp_status queue_chunk(h5_column *c, int64_t at, const void *src, int64_t rows)
{
    size_t row_bytes = (size_t)c->width * c->elem_size;
    size_t bytes = (size_t)c->chunk_rows * row_bytes;
    if (rows < c->chunk_rows) {
        if (src != c->buf) memcpy(c->buf, src, (size_t)rows * row_bytes);
        memset(c->buf + (size_t)rows * row_bytes, 0, bytes - (size_t)rows * row_bytes);
        src = c->buf;
    }
    chunk_target t = {c->dset, c->rank, {(hsize_t)(at + rows), (hsize_t)c->width}, {(hsize_t)at, 0},
                      c->elem_size, c->level, c->path, 1};
    return chunk_pool_submit(c->pool, &t, src, bytes);
}

static dmmp_status append_pooled(h5_column *c, const unsigned char *src, int64_t n)
{
    size_t row_bytes = (size_t)c->width * c->elem_size;
    if (n > 0) c->buf_queued = 0;
    while (n > 0) {
        if (c->buffered == 0 && n >= c->chunk_rows) {
            /* A whole chunk straight from the caller's memory: the pool copies it. */
            DMMP_TRY(queue_chunk(c, c->rows, src, c->chunk_rows));
            c->rows += c->chunk_rows;
            src += (size_t)c->chunk_rows * row_bytes;
            n -= c->chunk_rows;
            continue;
        }
        int64_t take = c->chunk_rows - c->buffered;
        if (take > n) take = n;
        memcpy(c->buf + (size_t)c->buffered * row_bytes, src, (size_t)take * row_bytes);
        c->buffered += take;
        c->rows += take;
        src += (size_t)take * row_bytes;
        n -= take;
        if (c->buffered == c->chunk_rows) {
            DMMP_TRY(queue_chunk(c, c->rows - c->chunk_rows, c->buf, c->chunk_rows));
            c->buffered = 0;
        }
    }
    return DMMP_OK;
}

dmmp_status h5_column_append(h5_column *c, const void *rows, int64_t n)
{
    const unsigned char *src = rows;
    if (c->pool) return append_pooled(c, src, n);
    size_t row_bytes = (size_t)c->width * c->elem_size;
    while (n > 0) {
        if (c->buffered == 0 && n >= c->chunk_rows && c->rows % c->chunk_rows == 0) {
            /* Whole chunks straight from the caller's memory: no copy. */
            int64_t whole = n / c->chunk_rows * c->chunk_rows;
            DMMP_TRY(write_rows(c, c->rows, src, whole));
            c->rows += whole;
            src += (size_t)whole * row_bytes;
            n -= whole;
            continue;
        }
        int64_t take = c->chunk_rows - c->buffered;
        if (take > n) take = n;
        memcpy(c->buf + (size_t)c->buffered * row_bytes, src, (size_t)take * row_bytes);
        c->buffered += take;
        c->rows += take;
        src += (size_t)take * row_bytes;
        n -= take;
        if (c->buffered == c->chunk_rows) DMMP_TRY(h5_column_flush(c));
    }
    return DMMP_OK;
}

dmmp_status h5_column_flush(h5_column *c)
{
    if (c->pool) {
        /* The partial chunk stays in buf: later appends complete it and
         * queue it again, overwriting this edge version. */
        if (c->buffered > 0 && !c->buf_queued) {
            DMMP_TRY(queue_chunk(c, c->rows - c->buffered, c->buf, c->buffered));
            c->buf_queued = 1;
        }
        return chunk_pool_drain(c->pool);
    }
    if (c->buffered == 0) return DMMP_OK;
    DMMP_TRY(write_rows(c, c->rows - c->buffered, c->buf, c->buffered));
    c->buffered = 0;
    return DMMP_OK;
}

dmmp_status h5_column_close(h5_column *c)
{
    dmmp_status s = DMMP_OK;
    if (c->dset > 0) {
        s = h5_column_flush(c);
        if (H5Dclose(c->dset) < 0 && s == DMMP_OK) s = dmmp_fail(DMMP_EIO, "dataset %s: close failed", c->path);
    }
    c->dset = H5I_INVALID_HID;
    mem_free(c->buf);
    c->buf = NULL;
    return s;
}

void h5_column_discard(h5_column *c)
{
    if (c->dset > 0) H5Dclose(c->dset);
    c->dset = H5I_INVALID_HID;
    mem_free(c->buf);
    c->buf = NULL;
}

dmmp_status h5_write_array(hid_t loc, const char *name, hid_t mem_type, int64_t rows, int64_t width,
                           const void *data)
{
    int rank = width == 0 ? 1 : 2;
    hsize_t dims[2] = {(hsize_t)rows, (hsize_t)(width ? width : 1)};
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = h5_dcpl_untimed();
    hid_t ftype = H5Tget_class(mem_type) == H5T_STRING ? mem_type : file_type_of(mem_type);
    size_t row_elems = (size_t)(width ? width : 1);
    dmmp_status s = DMMP_OK;
    if (space < 0 || dcpl < 0 || ftype < 0) {
        s = dmmp_fail(DMMP_EIO, "dataset %s: cannot set up", name);
        goto out;
    }
    /* Tables such as /items/sparse can be large: compress them in chunks of
     * about 16k rows like the samples; tiny ones stay contiguous. */
    if (rows * (int64_t)row_elems > 4096 && H5Tget_class(mem_type) != H5T_STRING) {
        hsize_t chunk[2] = {(hsize_t)(rows < 16384 ? rows : 16384), dims[1]};
        if (H5Pset_chunk(dcpl, rank, chunk) < 0 || H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, 1) < 0 ||
            h5_dcpl_add_checksum(dcpl) < 0) {
            s = dmmp_fail(DMMP_EIO, "dataset %s: cannot set chunked layout", name);
            goto out;
        }
    } else if (h5_dcpl_small(dcpl, rank, dims, (size_t)rows * row_elems * H5Tget_size(ftype)) < 0) {
        s = dmmp_fail(DMMP_EIO, "dataset %s: cannot set the layout", name);
        goto out;
    }
    hid_t d = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d < 0) {
        s = dmmp_fail(DMMP_EIO, "dataset %s: H5Dcreate failed", name);
        goto out;
    }
    if (rows > 0 && H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        s = dmmp_fail(DMMP_EIO, "dataset %s: write failed", name);
    H5Dclose(d);
out:
    if (space >= 0) H5Sclose(space);
    if (dcpl >= 0) H5Pclose(dcpl);
    return s;
}

dmmp_status h5_create_group(hid_t loc, const char *name, hid_t *out)
{
    hid_t gcpl = h5_gcpl_untimed();
    *out = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (gcpl >= 0) H5Pclose(gcpl);
    if (*out < 0) return dmmp_fail(DMMP_EIO, "group %s: H5Gcreate failed", name);
    return DMMP_OK;
}

static dmmp_status attr_write(hid_t loc, const char *name, hid_t ftype, hid_t mtype, hid_t space, const void *v)
{
    hid_t a = H5Acreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    dmmp_status s = DMMP_OK;
    if (a < 0 || H5Awrite(a, mtype, v) < 0) s = dmmp_fail(DMMP_EIO, "attribute %s: write failed", name);
    if (a >= 0) H5Aclose(a);
    return s;
}

dmmp_status h5_attr_i64(hid_t loc, const char *name, int64_t v)
{
    hid_t space = H5Screate(H5S_SCALAR);
    dmmp_status s = attr_write(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, space, &v);
    H5Sclose(space);
    return s;
}

dmmp_status h5_attr_f64(hid_t loc, const char *name, double v)
{
    hid_t space = H5Screate(H5S_SCALAR);
    dmmp_status s = attr_write(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, space, &v);
    H5Sclose(space);
    return s;
}

dmmp_status h5_attr_str(hid_t loc, const char *name, const char *v)
{
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(v) + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    dmmp_status s = attr_write(loc, name, t, t, space, v);
    H5Tclose(t);
    H5Sclose(space);
    return s;
}

dmmp_status h5_attr_i64_array(hid_t loc, const char *name, const int64_t *v, int n)
{
    hsize_t dims[1] = {(hsize_t)n};
    hid_t space = H5Screate_simple(1, dims, NULL);
    dmmp_status s = attr_write(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, space, v);
    H5Sclose(space);
    return s;
}
