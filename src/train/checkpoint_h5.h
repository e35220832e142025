/* Pieces shared by the checkpoint writer and reader (not a public API): the
 * element types a checkpoint stores, HDF5 error text and path checks. */
#ifndef DMMP_TRAIN_CHECKPOINT_H5_H
#define DMMP_TRAIN_CHECKPOINT_H5_H

#include <hdf5.h>
#include <stddef.h>

#include "core/status.h"

typedef enum ckpt_dtype { CKPT_F32 = 0, CKPT_F64, CKPT_I64, CKPT_I32, CKPT_U8 } ckpt_dtype;

/* "float32", "int64", ... as the messages and h5dump name them. */
const char *ckpt_dtype_name(ckpt_dtype t);

/* Size in bytes of one element of t. */
size_t ckpt_dtype_size(ckpt_dtype t);

/* The little-endian type stored in the file for t (a predefined id: never close). */
hid_t ckpt_dtype_file_type(ckpt_dtype t);

/* The native in-memory type for t (a predefined id: never close). */
hid_t ckpt_dtype_mem_type(ckpt_dtype t);

/* 1 if the HDF5 type h is exactly t (class, size and signedness), else 0. */
int ckpt_dtype_matches(ckpt_dtype t, hid_t h);

/* Describes HDF5 type h into buf ("float64", "uint16", "string", "compound"). */
void ckpt_describe_h5_type(hid_t h, char *buf, size_t len);

/* The innermost message on HDF5's error stack (the most specific cause,
 * e.g. "truncated file: eof = ..."), or "no HDF5 detail"; clears the stack. */
void ckpt_h5_error_text(char *buf, size_t len);

/* Checks a dataset or group name: non-empty, no empty components, no "." or
 * ".." components, at most 1023 bytes. what names the file for messages. */
dmmp_status ckpt_check_name(const char *file, const char *name);

/* 1 if every component of name exists below loc (so HDF5 never errors on a
 * missing intermediate group), else 0. */
int ckpt_h5_path_exists(hid_t loc, const char *name);

/* Target size of a chunk of a large array; no chunk is larger. */
#define CKPT_CHUNK_BYTES (1 << 20)

/* Chunk shape for an array of rank dims of elem-byte elements: trailing
 * dimensions whole while they fit in CKPT_CHUNK_BYTES, then the next one cut
 * into equal pieces, leading ones 1. */
void ckpt_chunk_dims(int rank, const hsize_t *dims, size_t elem, hsize_t *chunk);

/* Per-slot buffers for compressing chunks in parallel, made once per writer. */
typedef struct ckpt_chunk_pool ckpt_chunk_pool;
dmmp_status ckpt_chunk_pool_create(ckpt_chunk_pool **out);
void ckpt_chunk_pool_free(ckpt_chunk_pool *p);

/* Writes data (rank dims, elem-byte elements) into dset, created chunked by
 * ckpt_chunk_dims with the shuffle and deflate filters: chunks are compressed
 * in parallel and written in order with H5Dwrite_chunk. The message of a
 * failure names the chunk and HDF5's reason. */
dmmp_status ckpt_write_chunks(ckpt_chunk_pool *pool, hid_t dset, const void *data, int rank, const hsize_t *dims,
                              const hsize_t *chunk, size_t elem);

/* Turns off HDF5's automatic printing of error stacks on this thread: every
 * failure is reported once, through dmmp_fail, naming the file at fault. */
void ckpt_h5_quiet(void);

#endif
