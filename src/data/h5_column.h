/* An extendible, chunked, compressed HDF5 dataset that grows by appending
 * rows: the building block of the dataset writer and of /truth.
 *
 * Rows are `width` elements of one type: width 0 makes a vector (rank 1, one
 * element a row), width >= 1 a matrix (rank 2, even with one column, so an
 * N x 1 table reads back as the N x D the layout promises). Appends are
 * buffered until a whole chunk is full and written as one hyperslab, so every
 * chunk is compressed once and the file never needs rewriting; close flushes
 * the last partial chunk. Object times are off so equal inputs give equal
 * bytes. */
#ifndef DMMP_DATA_H5_COLUMN_H
#define DMMP_DATA_H5_COLUMN_H

#include <hdf5.h>
#include <stdint.h>

#include "core/status.h"
#include "data/chunk_pool.h"

typedef struct h5_column {
    hid_t dset;
    hid_t mem_type;
    size_t elem_size;
    int64_t width;      /* elements per row (1 for a vector) */
    int rank;           /* 1: vector, 2: matrix */
    int64_t chunk_rows; /* rows per HDF5 chunk and per buffered write */
    int64_t rows;       /* rows appended so far (written + buffered) */
    int64_t buffered;   /* rows waiting in buf */
    unsigned char *buf; /* chunk_rows * width * elem_size bytes */
    char path[256];     /* for error messages */
    int level;          /* deflate level (0: no filters) */
    chunk_pool *pool;   /* NULL: written by H5Dwrite on the calling thread */
    int buf_queued;     /* pool mode: the partial chunk in buf is already queued */
} h5_column;

/* Creates dataset `name` under loc (type: H5T_NATIVE_*; stored as its
 * little-endian standard equivalent; or a fixed-length string type, stored
 * as it is and kept open by the caller until the column is closed): width 0 a vector, width >= 1 a matrix of
 * width columns; deflate 0 disables compression. */
dmmp_status h5_column_create(h5_column *c, hid_t loc, const char *name, hid_t mem_type, int64_t width,
                             int64_t chunk_rows, int deflate);

/* Sends c's chunks through pool from now on (compressed on its threads,
 * written in order by chunk_pool_submit/drain); buf then always holds the
 * rows of the current chunk from its start. No-op on a big-endian host,
 * where stored bytes differ from memory. Call before the first append. */
void h5_column_use_pool(h5_column *c, chunk_pool *pool);

/* Appends n rows (n * width elements). */
dmmp_status h5_column_append(h5_column *c, const void *rows, int64_t n);

/* Writes the buffered rows (the file's extent then equals c->rows); in pool
 * mode it drains the whole pool. */
dmmp_status h5_column_flush(h5_column *c);

/* Flushes and closes; safe on a zeroed or already closed column. */
dmmp_status h5_column_close(h5_column *c);

/* Closes without flushing (error paths). */
void h5_column_discard(h5_column *c);

/* Dataset/group/attribute creation property helpers shared by the data layer:
 * a creation property list with object time tracking off. */
hid_t h5_dcpl_untimed(void);
hid_t h5_gcpl_untimed(void);

/* Writes a whole small dataset name (rank 1 or 2, dims[0] x dims[1]) under loc,
 * contiguous when tiny, chunked + compressed otherwise. dims[1] == 0: rank 1. */
dmmp_status h5_write_array(hid_t loc, const char *name, hid_t mem_type, int64_t rows, int64_t width,
                           const void *data);

/* Creates group name under loc (object times off); *out must be H5Gclose'd. */
dmmp_status h5_create_group(hid_t loc, const char *name, hid_t *out);

/* Scalar attributes on loc. */
dmmp_status h5_attr_i64(hid_t loc, const char *name, int64_t v);
dmmp_status h5_attr_f64(hid_t loc, const char *name, double v);
dmmp_status h5_attr_str(hid_t loc, const char *name, const char *v);
/* A 1-D int64 attribute of n values. */
dmmp_status h5_attr_i64_array(hid_t loc, const char *name, const int64_t *v, int n);

#endif
