/* Text too long for an object header, stored under a checksum.
 *
 * The writers store a text (a configuration, the field names of a schema)
 * as a scalar fixed-length string dataset kept compact, inside its
 * checksummed object header, while it has at most H5_TEXT_COMPACT_MAX bytes
 * (an object header holds at most 64 KiB). A longer text is a rank-1 uint8
 * dataset of its UTF-8 bytes, without a terminating NUL, in chunks of
 * H5_TEXT_CHUNK_BYTES, deflated when HDF5 has deflate, each chunk ending
 * with its Fletcher32 checksum, and carrying the attribute text = "utf-8" so
 * h5dump and h5py readers see what the bytes are. Reading verifies every
 * chunk. */
#ifndef DMMP_DATA_H5_TEXT_H
#define DMMP_DATA_H5_TEXT_H

#include <hdf5.h>
#include <stddef.h>

#include "core/status.h"

#define H5_TEXT_COMPACT_MAX 60000
#define H5_TEXT_CHUNK_BYTES 65536

/* Writes text[0 .. len) as the uint8 dataset name under loc (object time
 * stamps off, so the same text gives the same bytes). Fails with DMMP_EIO
 * naming file and name. */
dmmp_status h5_text_write_long(hid_t loc, const char *name, const char *text, size_t len, const char *file);

/* 1 when the open dataset d is a long text (rank-1 uint8 with the text
 * attribute), else 0. */
int h5_text_is_long(hid_t d);

/* Reads the long text d (named object in file, for messages) into a
 * malloc'ed NUL-terminated *out. A damaged chunk is "FILE: checksum mismatch
 * in OBJECT: the file is damaged" (DMMP_EFORMAT); a NUL byte inside the text
 * is refused as well. */
dmmp_status h5_text_read_long(hid_t d, const char *file, const char *object, char **out);

#endif
