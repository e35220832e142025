/* Atomic replacement of output files: a reader (or a crash) sees either the
 * old file or the complete new one, never a half-written table or image. */
#include "eval/output_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

dmmp_status output_temp_name(const char *path, char *tmp, size_t cap)
{
    if (!path || !path[0]) return dmmp_fail(DMMP_EINVAL, "output path is empty");
    if (strlen(path) > OUTPUT_PATH_MAX) return dmmp_fail(DMMP_EINVAL, "output path '%.64s...' is too long", path);
    if ((size_t)snprintf(tmp, cap, "%s.tmp-%ld", path, (long)getpid()) >= cap)
        return dmmp_fail(DMMP_EINVAL, "output path '%s' is too long", path);
    return DMMP_OK;
}

static dmmp_status fsync_path(const char *path, int flags, const char *what)
{
    int fd = open(path, flags);
    if (fd < 0) return dmmp_fail(DMMP_EIO, "%s: cannot open %s to sync it: %s", path, what, strerror(errno));
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    return rc != 0 ? dmmp_fail(DMMP_EIO, "%s: fsync of %s failed: %s", path, what, strerror(err)) : DMMP_OK;
}

dmmp_status output_commit(const char *tmp, const char *path)
{
    dmmp_status s = fsync_path(tmp, O_RDONLY, "the new file");
    if (s == DMMP_OK && rename(tmp, path) != 0)
        s = dmmp_fail(DMMP_EIO, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
    if (s != DMMP_OK) {
        unlink(tmp);
        return s;
    }
    char dir[OUTPUT_PATH_MAX + 1];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    return fsync_path(dir, O_RDONLY | O_DIRECTORY, "its directory");
}

dmmp_status output_write_atomic(const char *path, const void *data, size_t len)
{
    char tmp[OUTPUT_PATH_MAX + 64];
    DMMP_TRY(output_temp_name(path, tmp, sizeof tmp));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return dmmp_fail(DMMP_EIO, "%s: cannot create %s: %s", path, tmp, strerror(errno));
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int err = errno;
            close(fd);
            unlink(tmp);
            return dmmp_fail(DMMP_EIO, "%s: write failed: %s", tmp, strerror(err));
        }
        p += n;
        left -= (size_t)n;
    }
    if (close(fd) != 0) {
        int err = errno;
        unlink(tmp);
        return dmmp_fail(DMMP_EIO, "%s: close failed: %s", tmp, strerror(err));
    }
    return output_commit(tmp, path);
}
