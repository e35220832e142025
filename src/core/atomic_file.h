/* Atomic replacement of files: a writer fills a temporary file in the target's
 * directory, then atomic_commit makes it durable and renames it over the
 * target. A reader therefore sees either the previous complete file or the new
 * complete file, never a half-written one, whatever happens to the writer
 * (Ctrl-C, SIGKILL, a full disk, a crash).
 *
 * Temporary names are "<dir>/.<base>.tmp-<pid>-<counter>": hidden, in the same
 * directory (rename(2) is only atomic within one file system) and carrying the
 * pid of their writer. A writer killed midway leaves its temporary behind;
 * atomic_clean_stale, which every writer of the project calls before writing
 * a path, removes the temporaries of that path whose writer is no longer
 * alive, and readers never look at them. */
#ifndef DMMP_CORE_ATOMIC_FILE_H
#define DMMP_CORE_ATOMIC_FILE_H

#include <stddef.h>

#include "core/status.h"

/* Writes a fresh temporary name for final_path ("<dir>/.<base>.tmp-<pid>-<n>",
 * n unique within the process) into buf of len bytes; fails if it does not fit
 * or final_path has no file name. */
dmmp_status atomic_tmp_path(const char *final_path, char *buf, size_t len);

/* fsyncs tmp_path, renames it over final_path and fsyncs the directory. On a
 * failure before the rename it removes tmp_path and final_path keeps its old
 * content; the message names both paths and strerror. */
dmmp_status atomic_commit(const char *tmp_path, const char *final_path);

/* Replaces path by the len bytes of text atomically (temp, write, fsync,
 * rename). A short write (ENOSPC, EFBIG, ...) is reported with the byte count
 * and leaves the previous file untouched and no temporary behind. */
dmmp_status atomic_write_text(const char *path, const char *text, size_t len);

/* Removes temporaries of final_path left by writers that are no longer alive
 * (their pid does not exist); returns how many were removed in *n_removed
 * (may be NULL). Temporaries of live processes, this one included, are kept. */
dmmp_status atomic_clean_stale(const char *final_path, int *n_removed);

/* Checks, before any work, that final_path can be written: it is not a
 * directory and its directory exists, is a directory and is writable. Fails
 * with EINVAL (a usage error) naming the option opt (e.g. "--out") and the
 * path or directory at fault. */
dmmp_status atomic_check_target(const char *opt, const char *final_path);

/* Removes tmp_path if it exists (abort path of a writer); never fails. */
void atomic_discard(const char *tmp_path);

#endif
