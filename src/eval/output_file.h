/* Files the report and plot commands produce, replaced atomically through
 * core/atomic_file.h: written under a hidden temporary name beside the target,
 * fsync'ed, renamed into place, the directory fsync'ed. */
#ifndef DMMP_EVAL_OUTPUT_FILE_H
#define DMMP_EVAL_OUTPUT_FILE_H

#include <stddef.h>

#include "core/status.h"

/* Longest target path accepted (the temporary name adds a prefix and suffix). */
#define OUTPUT_PATH_MAX 4000

/* Removes stale temporaries of path left by dead writers, then writes a fresh
 * temporary name for path into tmp (cap bytes). */
dmmp_status output_temp_name(const char *path, char *tmp, size_t cap);

/* fsyncs the finished file tmp, renames it to path and fsyncs the directory;
 * on failure removes tmp and leaves any previous path untouched. */
dmmp_status output_commit(const char *tmp, const char *path);

/* Writes len bytes of data to path atomically (temporary name + commit). */
dmmp_status output_write_atomic(const char *path, const void *data, size_t len);

#endif
