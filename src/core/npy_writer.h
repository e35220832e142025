/* NumPy .npy files (format version 1.0), written as core/atomic_file.h writes
 * every file: into a hidden temporary beside the target, renamed into place
 * only by npy_commit, so a reader never sees half a file.
 *
 * A file holds one C-order array: float32 ('<f4'), int32 ('<i4'), int64
 * ('<i8') or fixed-length byte strings ('|S<n>', NUL-padded, as numpy stores
 * dtype 'S<n>'), of shape (rows,) or (rows, cols). The header is the magic
 * "\x93NUMPY", version 1.0, and the dict
 * {'descr': ..., 'fortran_order': False, 'shape': (...), } padded with spaces
 * to a multiple of 64 bytes and ended by a newline, so numpy.load reads it
 * without pickle and may memory-map it. Rows are appended in order; finishing
 * checks that exactly rows rows were written. Several files can be finished
 * first and committed together, so a failure leaves none of them behind. */
#ifndef DMMP_CORE_NPY_WRITER_H
#define DMMP_CORE_NPY_WRITER_H

#include <stdint.h>
#include <stdio.h>

#include "core/status.h"

#define NPY_PATH_MAX 4096

typedef enum npy_dtype { NPY_F32 = 0, NPY_I32, NPY_I64, NPY_BYTES } npy_dtype;

typedef struct npy_file {
    char path[NPY_PATH_MAX], tmp[NPY_PATH_MAX];
    FILE *f;
    npy_dtype dtype;
    int64_t rows, cols;     /* cols 0: a 1-D array of rows elements */
    int64_t elem;           /* bytes per element (the string length for NPY_BYTES) */
    int64_t written;        /* rows appended so far */
    int finished;           /* 1: the temporary is complete and closed */
} npy_file;

/* Creates the temporary for path (after removing stale temporaries of dead
 * writers) and writes the header of a rows x cols array (cols 0: shape
 * (rows,)) of dtype; str_len is the length of an NPY_BYTES element (>= 1),
 * ignored otherwise. */
dmmp_status npy_begin(npy_file *f, const char *path, npy_dtype dtype, int64_t rows, int64_t cols, int64_t str_len);

/* Appends n rows (n * max(cols, 1) elements; NPY_BYTES: str_len bytes each). */
dmmp_status npy_append(npy_file *f, const void *data, int64_t n);

/* Closes the temporary after checking the row count and flushing; the
 * target is not touched yet. */
dmmp_status npy_finish(npy_file *f);

/* Renames the finished temporary over the target (fsync, rename, directory
 * fsync). */
dmmp_status npy_commit(npy_file *f);

/* Removes the temporary, whatever state f is in (a zeroed f is fine). */
void npy_abort(npy_file *f);

/* begin + one append of every row + finish + commit. */
dmmp_status npy_write(const char *path, npy_dtype dtype, int64_t rows, int64_t cols, int64_t str_len,
                      const void *data);

#endif
