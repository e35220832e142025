/* Compressing HDF5 chunks on worker threads and writing them in order.
 *
 * The HDF5 library (serial build) may only be called from one thread, and
 * deflate is most of the cost of writing a dataset. A chunk_pool takes whole
 * chunks from the writing thread, applies the byte shuffle exactly as HDF5's
 * filter does and deflates the result into a zlib stream (run-length
 * strategy: faster and smaller on these columns than the filter's own
 * call) on worker threads, so the file declares the normal shuffle + deflate
 * filters and any reader, h5dump included, decodes it. It writes the results
 * with H5Dwrite_chunk on the calling
 * thread, strictly in submission order. Writes happen only inside
 * chunk_pool_submit (when too many chunks are in flight) and
 * chunk_pool_drain, and always oldest first, so the sequence of HDF5 calls,
 * hence the file's bytes, does not depend on the thread count or timing as
 * long as the caller drains before any other write to the same file. */
#ifndef DMMP_DATA_CHUNK_POOL_H
#define DMMP_DATA_CHUNK_POOL_H

#include <hdf5.h>
#include <stddef.h>

#include "core/status.h"

#define CHUNK_POOL_SLOTS 24 /* chunks in flight at most */

typedef struct chunk_pool chunk_pool;

/* One chunk to store: dataset, its extent after this chunk, the chunk's
 * offset, element size (the shuffle's unit), deflate level (0: no shuffle
 * or deflate, the bytes as they are) and whether the dataset's pipeline ends
 * with the Fletcher32 filter (then the stored chunk is followed by the
 * checksum of its stored bytes, as that filter writes it). */
typedef struct chunk_target {
    hid_t dset;
    int rank;
    hsize_t extent[2];
    hsize_t offset[2];
    size_t elem_size;
    int level;
    const char *path; /* for error messages; must outlive the write */
    int checksum;     /* the pipeline ends with Fletcher32: append its 4 bytes */
} chunk_target;

/* Starts `threads` compression workers (>= 1; the calling thread also
 * compresses while it waits). */
dmmp_status chunk_pool_create(chunk_pool **out, int threads);

/* Stops the workers and frees p, dropping chunks not yet written (call
 * chunk_pool_drain first to keep them). NULL is fine. */
void chunk_pool_free(chunk_pool *p);

/* Queues a copy of the chunk data[0 .. bytes) (a whole chunk: an edge chunk
 * padded with zeros) for t; may first write the oldest chunks to bound the
 * chunks in flight. Returns an earlier failure if one is pending. */
dmmp_status chunk_pool_submit(chunk_pool *p, const chunk_target *t, const void *data, size_t bytes);

/* Writes every queued chunk, oldest first. */
dmmp_status chunk_pool_drain(chunk_pool *p);

/* Byte shuffle of n elements of size bytes each, as HDF5's shuffle filter
 * stores them: byte j of element i goes to out[j * n + i]. */
void chunk_shuffle(const unsigned char *in, unsigned char *out, size_t n, size_t size);

#endif
