/* Reads every object of an HDF5 file, so that damage is found in bytes no
 * command reads: every group, every dataset in full (slab by slab, through
 * its filter pipeline, so each chunk's Fletcher32 is checked), every
 * attribute of every object, and every link. HDF5 checks the checksums of
 * the metadata (superblock, object headers, B-trees, heaps, chunk indexes)
 * as it loads them, so in a checksummed file a damaged header is refused
 * before the walk is handed anything from it.
 *
 * The walk is by links, one group at a time (H5Literate2 with a fresh
 * H5Oget_info per link, every return checked), an object reached by two
 * hard links is read once, soft and external links are counted but not
 * followed. It stops at the first object that fails.
 *
 * HDF5 1.10.8 reports a damaged continuation chunk of an object header only
 * to the first call that loads the header; later calls see the chunks before
 * it as the whole object (a group with fewer links, an object with fewer
 * attributes) and succeed, and some calls succeed but leave the error on
 * HDF5's stack. The walk therefore loads every header in full (H5O_INFO_HDR)
 * before anything else reads it and treats an error left on the stack as a
 * failure; h5_check_structure gives the readers the same walk, without the
 * data, on the file they have open.
 *
 * In a file written before checksums nothing checks the structures HDF5
 * decodes, and HDF5 1.10.8 can crash on damaged ones (freeing attribute
 * messages or a sorted link table decoded from bad bytes) or loop in them.
 * Such a file is walked in a child process (core/child_run.h): a crash or a
 * walk that reports no progress for 60 s is the failure "FILE: HDF5 crashed
 * reading OBJECT (signal 11, Segmentation fault): the file, written before
 * checksums, is damaged" (DMMP_EFORMAT), and the command goes on. */
#ifndef DMMP_DATA_H5_VERIFY_H
#define DMMP_DATA_H5_VERIFY_H

#include <stdint.h>

#include "core/status.h"
#include "data/file_kind.h"

typedef struct h5_verify_report {
    file_kind kind;            /* the kind of file (file_kind_of_h5) */
    int metadata_checksummed;  /* 1: superblock version 2 or later (checksummed metadata) */
    int64_t groups;            /* root included */
    int64_t datasets;
    int64_t datatypes;         /* committed (named) datatypes */
    int64_t attributes;
    int64_t links;             /* soft, external and user-defined links (not followed) */
    int64_t data_bytes;        /* bytes of dataset and attribute values read */
    int64_t unchecked_datasets;/* datasets whose data carries no checksum: contiguous, or chunked
                                * without Fletcher32 (compact ones are inside their header) */
    char first_unchecked[1200]; /* the path of the first of them */
    int64_t file_bytes;        /* the file's size */
} h5_verify_report;

/* Reads every object of path and fills r. DMMP_OK when all of it reads; a
 * file written before checksums (r->metadata_checksummed 0, or
 * r->unchecked_datasets > 0) is read as far as it can be and also returns
 * DMMP_OK: h5_verify_fully_checked tells the two apart. Fails with
 *   EINVAL   nothing at path, or a directory;
 *   EFORMAT  not an HDF5 file, one HDF5 cannot open, or a damaged object:
 *            "FILE: checksum mismatch in OBJECT: the file is damaged", or
 *            "FILE: reading OBJECT failed: DETAIL (damaged file?)";
 *   ENOMEM   out of memory.
 * A file written before checksums is walked in a child process (above).
 * HDF5 prints nothing while it runs. */
dmmp_status h5_verify_file(const char *path, h5_verify_report *r);

/* The structure check a reader makes on a file it has just opened: the
 * walk of h5_verify_file without the datasets' data (every header loaded in
 * full, every group listed, every attribute read), so that a damaged header
 * is refused here, before a call that would see only part of it. Fails as
 * h5_verify_file does. */
dmmp_status h5_check_structure(hid_t file, const char *path);

/* For a file written before checksums, before anything in this process
 * opens it: in a child process, opens path, walks its structure in every
 * order the readers use (links by native order, by name and by creation
 * order; attributes by native order and by name; every chunk index), reads
 * the data of every dataset up to 1 MiB, and closes it. DMMP_OK when all of
 * it came back; the child's failure; or the crash, stall or abnormal end
 * failure above. */
dmmp_status h5_check_structure_contained(const char *path);

/* 1 when every byte read was covered by a checksum (checksummed metadata,
 * no unchecked dataset). */
int h5_verify_fully_checked(const h5_verify_report *r);

#endif
