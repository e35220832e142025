/* Output files of report and plot over the project's one atomic-replacement
 * mechanism (core/atomic_file.h): a reader (or a crash) sees either the old
 * file or the complete new one, never a half-written table or image. */
#include "eval/output_file.h"

#include <string.h>

#include "core/atomic_file.h"

static dmmp_status check_path(const char *path)
{
    if (!path || !path[0]) return dmmp_fail(DMMP_EINVAL, "output path is empty");
    if (strlen(path) > OUTPUT_PATH_MAX) return dmmp_fail(DMMP_EINVAL, "output path '%.64s...' is too long", path);
    return DMMP_OK;
}

dmmp_status output_temp_name(const char *path, char *tmp, size_t cap)
{
    DMMP_TRY(check_path(path));
    DMMP_TRY(atomic_clean_stale(path, NULL));
    return atomic_tmp_path(path, tmp, cap);
}

dmmp_status output_commit(const char *tmp, const char *path) { return atomic_commit(tmp, path); }

dmmp_status output_write_atomic(const char *path, const void *data, size_t len)
{
    DMMP_TRY(check_path(path));
    return atomic_write_text(path, data, len);
}
