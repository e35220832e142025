/* Checksums in every HDF5 file the framework writes, and what a reader says
 * when they do not match.
 *
 * Files are created with the 1.10 file format as both library version
 * bounds: its superblock, object headers, B-trees, heaps and chunk indexes
 * all carry checksums, which HDF5 verifies when it loads them. Every chunked
 * dataset has the Fletcher32 filter last in its pipeline (after shuffle and
 * deflate), so each stored chunk ends with a checksum of its stored bytes
 * that HDF5 verifies on every read; small and scalar datasets are stored
 * compact, inside their checksummed object header. Strings are fixed-length.
 * Older files (superblock 0, no checksums) still open. */
#ifndef DMMP_DATA_H5_INTEGRITY_H
#define DMMP_DATA_H5_INTEGRITY_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* Datasets of at most this many bytes are stored compact (in the object
 * header); larger ones chunked with Fletcher32. */
#define H5_COMPACT_MAX_BYTES 16384

/* A file access list for H5Fcreate: library version bounds 1.10 (checksummed
 * metadata). The caller closes it. Negative on failure. */
hid_t h5_fapl_checksummed(void);

/* Adds the Fletcher32 filter to dcpl (call after the other filters: it must
 * be the last one). Negative on failure. */
herr_t h5_dcpl_add_checksum(hid_t dcpl);

/* Sets dcpl up for a fixed-size dataset of rank dims (no unlimited
 * dimension) holding bytes bytes: compact when small or scalar, otherwise
 * one chunk per dataset with Fletcher32. Negative on failure. */
herr_t h5_dcpl_small(hid_t dcpl, int rank, const hsize_t *dims, size_t bytes);

/* HDF5's Fletcher32 of len bytes: 16-bit big-endian words (an odd last byte
 * is the high byte of a word), both sums folded mod 65535 as HDF5 folds
 * them. */
uint32_t h5_fletcher32(const void *data, size_t len);

/* Writes the checksum of buf[0 .. len) to buf[len .. len + 4) in the byte
 * order the Fletcher32 filter stores it (little-endian): a chunk written raw
 * with H5Dwrite_chunk through a pipeline ending in Fletcher32 is the
 * filtered bytes followed by these 4. */
void h5_append_fletcher32(unsigned char *buf, size_t len);

/* 1 if the current HDF5 error stack reports a checksum mismatch (metadata
 * or Fletcher32). Fills detail (if not NULL) with the stack's innermost
 * message on one line. Leaves the stack as it is. */
int h5_error_is_checksum(char *detail, size_t len);

/* 1 if the file has checksummed metadata (superblock version 2 or later),
 * 0 if it is an older file, -1 on failure. */
int h5_file_has_checksums(hid_t file);

/* The same answer from the file's bytes, without HDF5 (whose structures in
 * an older file are not safe to load before they are checked): the version
 * byte after the first HDF5 signature, looked for at 0, 512, 1024, 2048, ...
 * as HDF5 looks for it. -1 when path cannot be read or has no signature. */
int h5_path_has_checksums(const char *path);

/* The damaged-file failure for a failed read of object in file: with a
 * checksum mismatch on the stack, "FILE: checksum mismatch in OBJECT: the
 * file is damaged", otherwise "FILE: reading OBJECT failed: DETAIL (damaged
 * file?)". Always DMMP_EFORMAT. */
dmmp_status h5_read_failure(const char *file, const char *object);

/* "FILE: checksum mismatch in OBJECT: the file is damaged" (DMMP_EFORMAT);
 * clears the HDF5 error stack. */
dmmp_status h5_damage(const char *file, const char *object);

/* Whether an optional link (name below loc) or attribute (name of loc) is
 * there, trusted only when HDF5 answers cleanly: 1 present, 0 absent; -1
 * when the call fails or succeeds but leaves an error on HDF5's stack (as
 * HDF5 1.10.8 answers some calls on a damaged object header), with the
 * damaged-file failure of object in file set (h5_read_failure). An absent
 * object is then never a damaged one taken for absent. */
int h5_link_present(hid_t loc, const char *name, const char *file);
int h5_attr_present(hid_t loc, const char *name, const char *file, const char *object);

/* After a failed existence, open or type check: a checksum mismatch on the
 * stack is the real reason, and is returned as such. */
#define H5_RETURN_IF_DAMAGED(file, object)                                                                           \
    do {                                                                                                             \
        if (h5_error_is_checksum(NULL, 0)) return h5_damage(file, object);                                           \
    } while (0)

#endif
