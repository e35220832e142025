/* An HDF5 output file written by the rules of every file the framework
 * writes (data/h5_integrity.h, core/atomic_file.h): created as a hidden
 * temporary beside the target with the 1.10 format bounds (checksummed
 * metadata) and object times off, and renamed into place only by
 * h5_out_commit; a failure or a kill leaves no file under the target name.
 * Datasets go in with h5_column (chunked: Fletcher32 last) or
 * h5_write_array (compact when small) and h5_out_strings. */
#ifndef DMMP_DATA_H5_OUT_H
#define DMMP_DATA_H5_OUT_H

#include <hdf5.h>
#include <stdint.h>

#include "core/status.h"

#define H5_OUT_PATH_MAX 4096

typedef struct h5_out {
    hid_t file;
    char path[H5_OUT_PATH_MAX], tmp[H5_OUT_PATH_MAX];
} h5_out;

/* Removes stale temporaries of dead writers of path, then creates the temporary. */
dmmp_status h5_out_create(h5_out *o, const char *path);

/* Flushes and closes the file, then renames it over path (fsync, rename,
 * directory fsync); on failure the temporary is removed. */
dmmp_status h5_out_commit(h5_out *o);

/* Closes and removes the temporary (a zeroed or committed o is fine). */
void h5_out_abort(h5_out *o);

/* A fixed-length string type of len bytes (NUL-padded, UTF-8); the caller closes it. */
hid_t h5_out_string_type(size_t len);

/* Writes n fixed-length strings (buf: n * len bytes, each NUL-padded) as
 * the 1-D dataset name under loc: chunked by 16384 with shuffle, deflate
 * and Fletcher32, or compact when small. */
dmmp_status h5_out_strings(hid_t loc, const char *name, const char *buf, int64_t n, size_t len);

#endif
