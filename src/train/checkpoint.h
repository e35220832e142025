/* Checkpoints: named tensors and root attributes in one HDF5 file.
 *
 * A name may contain '/' to make groups ("teacher/level0/expert1/W"); every
 * tensor is a dataset with its shape, so h5ls / h5dump show the whole model.
 * Arrays of at least CKPT_COMPRESS_MIN_BYTES are stored in chunks of about
 * 1 MiB with HDF5's standard shuffle + deflate filters, compressed in
 * parallel (checkpoint_chunks.c; ~50 MB of weights take well under a
 * second); smaller ones are contiguous, as are all arrays when the HDF5
 * build lacks deflate. Object time stamps are off, so the same content
 * written twice gives the same bytes, whatever the thread count. A process
 * forked from one that has run OpenMP regions must call
 * omp_set_num_threads(1) before writing large arrays: libgomp's thread pool
 * does not survive fork, and its next parallel region would hang.
 *
 * The writer fills a temporary file beside the target (core/atomic_file.h)
 * and only ckpt_writer_commit renames it into place: a killed process, a full
 * disk or any failed write leaves the previous checkpoint intact. Opening a
 * writer removes the temporaries of dead writers of the same path.
 *
 * The reader checks that the file is HDF5 at all and carries the
 * format_version this build writes; every getter checks dtype and shape and
 * names the file and dataset when they differ. HDF5's own error printing is
 * turned off; its innermost message is appended to ours instead. */
#ifndef DMMP_TRAIN_CHECKPOINT_H
#define DMMP_TRAIN_CHECKPOINT_H

#include <stdint.h>

#include "core/status.h"

/* Version 2 adds the layout table /model/layout (train/checkpoint_layout.h);
 * version 1 files (without it) still load. */
#define CKPT_FORMAT_VERSION 2
#define CKPT_FORMAT_VERSION_MIN 1
#define CKPT_MAX_RANK 8
#define CKPT_COMPRESS_MIN_BYTES (1 << 20)

typedef struct ckpt_writer ckpt_writer;
typedef struct ckpt_reader ckpt_reader;

/* Creates the temporary file for path (after removing stale temporaries of
 * dead writers); nothing appears under path until ckpt_writer_commit. */
dmmp_status ckpt_writer_open(ckpt_writer **out, const char *path);

/* Writes a dataset name of rank (0..CKPT_MAX_RANK) dims (NULL for rank 0)
 * from data (row-major); fails if name exists. */
dmmp_status ckpt_put_f32(ckpt_writer *w, const char *name, const float *data, int rank, const int64_t *dims);
dmmp_status ckpt_put_f64(ckpt_writer *w, const char *name, const double *data, int rank, const int64_t *dims);
dmmp_status ckpt_put_i64(ckpt_writer *w, const char *name, const int64_t *data, int rank, const int64_t *dims);
dmmp_status ckpt_put_i32(ckpt_writer *w, const char *name, const int32_t *data, int rank, const int64_t *dims);
dmmp_status ckpt_put_u8(ckpt_writer *w, const char *name, const uint8_t *data, int rank, const int64_t *dims);

/* Writes text (NUL-terminated) as a scalar fixed-length string dataset,
 * compact; a text longer than H5_TEXT_COMPACT_MAX bytes as a checksummed
 * uint8 dataset of its bytes (data/h5_text.h). */
dmmp_status ckpt_put_string(ckpt_writer *w, const char *name, const char *text);

/* Writes n strings as a 1-D dataset of fixed-length, NUL-padded strings
 * (the longest one's length). */
dmmp_status ckpt_put_strings(ckpt_writer *w, const char *name, const char *const *strs, int64_t n);

/* Sets an attribute of the root group; "format_version" is reserved. */
dmmp_status ckpt_put_attr_i64(ckpt_writer *w, const char *name, int64_t value);
dmmp_status ckpt_put_attr_f64(ckpt_writer *w, const char *name, double value);
dmmp_status ckpt_put_attr_string(ckpt_writer *w, const char *name, const char *value);

/* Writes format_version, flushes, closes and renames the file into place;
 * frees w whatever the outcome (on failure the previous file is intact and
 * the temporary removed). A writer that failed earlier cannot commit. */
dmmp_status ckpt_writer_commit(ckpt_writer *w);

/* Closes and deletes the temporary file; frees w. NULL is fine. */
void ckpt_writer_abort(ckpt_writer *w);

/* The temporary file a writer is filling (for diagnostics and tests). */
const char *ckpt_writer_tmp_path(const ckpt_writer *w);

/* Opens a checkpoint for reading; fails with a message naming path when it
 * does not exist, is not HDF5, is truncated or has a format_version outside
 * CKPT_FORMAT_VERSION_MIN..CKPT_FORMAT_VERSION. */
dmmp_status ckpt_reader_open(ckpt_reader **out, const char *path);

/* Reads dataset name into out, which holds prod(dims) elements; fails naming
 * the file and dataset if it is missing or its dtype or shape differ. */
dmmp_status ckpt_get_f32(ckpt_reader *r, const char *name, float *out, int rank, const int64_t *dims);
dmmp_status ckpt_get_f64(ckpt_reader *r, const char *name, double *out, int rank, const int64_t *dims);
dmmp_status ckpt_get_i64(ckpt_reader *r, const char *name, int64_t *out, int rank, const int64_t *dims);
dmmp_status ckpt_get_i32(ckpt_reader *r, const char *name, int32_t *out, int rank, const int64_t *dims);
dmmp_status ckpt_get_u8(ckpt_reader *r, const char *name, uint8_t *out, int rank, const int64_t *dims);

/* Reads rows [lo, lo + n) of dataset name (its first dimension counts the
 * rows; the whole dataset must have the shape dims) into out, which holds n
 * rows; the other rows are not read (a rank's block of a sharded table). */
dmmp_status ckpt_get_f32_rows(ckpt_reader *r, const char *name, float *out, int rank, const int64_t *dims, int64_t lo,
                              int64_t n);
dmmp_status ckpt_get_i64_rows(ckpt_reader *r, const char *name, int64_t *out, int rank, const int64_t *dims, int64_t lo,
                              int64_t n);

/* Reads a string dataset (either form ckpt_put_string writes) into a
 * malloc'ed NUL-terminated *out (free it). */
dmmp_status ckpt_get_string(ckpt_reader *r, const char *name, char **out);

/* Reports the rank and dims (dims holds CKPT_MAX_RANK) of dataset name. */
dmmp_status ckpt_get_shape(ckpt_reader *r, const char *name, int *rank, int64_t *dims);

/* 1 if dataset (or group) name exists, else 0; never fails. */
int ckpt_has(ckpt_reader *r, const char *name);

/* Read root attributes; fail naming file and attribute if missing or of
 * another type. The string is malloc'ed into *out (free it). */
dmmp_status ckpt_get_attr_i64(ckpt_reader *r, const char *name, int64_t *out);
dmmp_status ckpt_get_attr_f64(ckpt_reader *r, const char *name, double *out);
dmmp_status ckpt_get_attr_string(ckpt_reader *r, const char *name, char **out);

/* Closes the file and frees r. NULL is fine. */
void ckpt_reader_close(ckpt_reader *r);

#endif
