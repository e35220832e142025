/* Opening an HDF5 file for reading so that nothing after it meets a damaged
 * structure unprepared (every reader of the framework opens its files here).
 *
 * A file written before checksums (superblock version 0 or 1, read from the
 * file's bytes, not through HDF5) is first walked in a child process
 * (h5_check_structure_contained), so a crash of HDF5 on its damaged
 * structures ends that process, not the command. Then the file is opened and
 * its structure checked in this process (h5_check_structure): every object
 * header loaded in full and every group listed before the reader looks
 * anything up, so a damaged header is refused as such instead of looking
 * like a missing object or a group with fewer links. */
#ifndef DMMP_DATA_H5_OPEN_H
#define DMMP_DATA_H5_OPEN_H

#include <hdf5.h>

#include "core/status.h"

/* Opens path read-only with the file access list fapl (H5P_DEFAULT for
 * none) and checks it as above; *file is the open file (close it with
 * H5Fclose). Fails with DMMP_EFORMAT naming path: "PATH: HDF5 cannot open
 * it (N bytes; truncated or damaged?): DETAIL", or the damage the checks
 * found ("PATH: checksum mismatch in OBJECT: the file is damaged", "PATH:
 * HDF5 crashed reading OBJECT ..."); DMMP_EIO when the child process cannot
 * be started. HDF5 prints nothing. */
dmmp_status h5_open_read(const char *path, hid_t fapl, hid_t *file);

#endif
