/* What a path holds, so a command given the wrong file says what the file is
 * and what was expected ("run/checkpoint.h5 is a checkpoint of a run, expected
 * a dataset") instead of the first attribute it happens to miss.
 *
 * The kinds the framework writes are told apart by their layout: a dataset has
 * the groups /fields and /samples; a training run's state (checkpoint.h5,
 * last.h5) the groups /model and /optim; a run's results.h5 the root attribute
 * variant and no /model; a benchmark record one group per benchmark carrying a
 * machine attribute. A file with the HDF5 signature that HDF5 cannot open, or
 * whose structure the checks of data/h5_open.h refuse, is damaged. Every HDF5
 * file is opened through h5_open_read, so a file written before checksums is
 * first walked in a child process. */
#ifndef DMMP_DATA_FILE_KIND_H
#define DMMP_DATA_FILE_KIND_H

#include <hdf5.h>

#include "core/status.h"

typedef enum file_kind {
    FILE_KIND_MISSING,    /* nothing at the path (or a parent is missing) */
    FILE_KIND_DIRECTORY,  /* a directory */
    FILE_KIND_UNREADABLE, /* exists, but cannot be opened for reading */
    FILE_KIND_NOT_HDF5,   /* a file without the HDF5 signature (text, empty, ...) */
    FILE_KIND_DAMAGED,    /* the HDF5 signature, but HDF5 cannot open it or its structure is damaged */
    FILE_KIND_DATASET,    /* a dataset (data synth, data import) */
    FILE_KIND_RUN_STATE,  /* a run's checkpoint.h5 or last.h5 */
    FILE_KIND_RESULTS,    /* a run's results.h5 */
    FILE_KIND_BENCH,      /* a benchmark record (bench --out) */
    FILE_KIND_OTHER_HDF5  /* an HDF5 file of none of the kinds above */
} file_kind;

/* The kind of what path holds; never fails (HDF5 errors are not printed). */
file_kind file_kind_of(const char *path);

/* The kind of what path holds as far as the file system and the HDF5
 * signature tell it, without opening it with HDF5: MISSING, DIRECTORY,
 * UNREADABLE, NOT_HDF5, or OTHER_HDF5 for any HDF5 file. */
file_kind file_kind_of_path(const char *path);

/* The kind of an open HDF5 file, by its layout (DATASET, RUN_STATE, RESULTS,
 * BENCH or OTHER_HDF5). */
file_kind file_kind_of_h5(hid_t file);

/* Noun phrase for a kind, e.g. "a directory", "a checkpoint of a run
 * (checkpoint.h5 or last.h5)". */
const char *file_kind_name(file_kind k);

/* DMMP_OK when path holds a file of kind want; else fails with a message
 * "<path>: <what it is>, expected <want>": EINVAL for a missing path or a
 * directory (a usage error), EFORMAT for a file of the wrong kind or a damaged
 * one (bad input). OTHER_HDF5 is accepted for want so that the reader of that
 * kind can name the part that is missing. A damaged file fails with the
 * damage h5_open_read found ("PATH: checksum mismatch in OBJECT: the file is
 * damaged"). */
dmmp_status file_kind_expect(const char *path, file_kind want);

/* file_kind_expect, and the file left open for reading (h5_open_read with
 * fapl) in *file on success: what the readers open their files with. */
dmmp_status file_kind_open(const char *path, file_kind want, hid_t fapl, hid_t *file);

#endif
