#include "core/atomic_file.h"

#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define ATOMIC_PATH_MAX 4096

/* The one piece of process-wide state: temporaries of the same target written
 * by two threads (or twice by one) need distinct names, and the pid alone does
 * not distinguish them. Atomic so concurrent writers never share a number. */
static atomic_ulong tmp_counter;

/* Splits path into its directory (".", "/" or "a/b") and its last component. */
static dmmp_status split_path(const char *path, char *dir, size_t dir_len, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    if (**base == '\0' || !strcmp(*base, ".") || !strcmp(*base, ".."))
        return dmmp_fail(DMMP_EINVAL, "%s: path names a directory, not a file", path);
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (!slash) n = (size_t)snprintf(dir, dir_len, ".");
    else if (n == 0) n = (size_t)snprintf(dir, dir_len, "/");
    else if (n < dir_len) {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    if (n >= dir_len) return dmmp_fail(DMMP_EINVAL, "%s: path is too long", path);
    return DMMP_OK;
}

dmmp_status atomic_tmp_path(const char *final_path, char *buf, size_t len)
{
    char dir[ATOMIC_PATH_MAX];
    const char *base;
    DMMP_TRY(split_path(final_path, dir, sizeof dir, &base));
    unsigned long n = atomic_fetch_add(&tmp_counter, 1);
    /* The directory part is copied verbatim from final_path (not rebuilt from
     * dir) so "x.h5" gives ".x.h5.tmp-..." and "/x.h5" gives "/.x.h5.tmp-...". */
    int dir_chars = (int)(base - final_path);
    int w = snprintf(buf, len, "%.*s.%s.tmp-%ld-%lu", dir_chars, final_path, base, (long)getpid(), n);
    if (w < 0 || (size_t)w >= len)
        return dmmp_fail(DMMP_EINVAL, "%s: temporary file name does not fit in %zu bytes", final_path, len);
    return DMMP_OK;
}

dmmp_status atomic_check_target(const char *opt, const char *final_path)
{
    struct stat st;
    if (stat(final_path, &st) == 0 && S_ISDIR(st.st_mode))
        return dmmp_fail(DMMP_EINVAL, "%s %s is a directory; give a file name inside it", opt, final_path);
    char dir[ATOMIC_PATH_MAX];
    const char *base;
    dmmp_status s = split_path(final_path, dir, sizeof dir, &base);
    if (s != DMMP_OK) return dmmp_fail_prefix(s, "%s", opt);
    if (stat(dir, &st) != 0)
        return dmmp_fail(DMMP_EINVAL, "%s %s: directory %s does not exist", opt, final_path, dir);
    if (!S_ISDIR(st.st_mode)) return dmmp_fail(DMMP_EINVAL, "%s %s: %s is not a directory", opt, final_path, dir);
    if (access(dir, W_OK | X_OK) != 0)
        return dmmp_fail(DMMP_EINVAL, "%s %s: directory %s is not writable: %s", opt, final_path, dir,
                         strerror(errno));
    return DMMP_OK;
}

void atomic_discard(const char *tmp_path)
{
    int saved = errno;
    unlink(tmp_path);
    errno = saved;
}

/* fsync of the directory makes the rename itself durable. File systems that
 * cannot sync a directory say EINVAL; the rename is then as durable as that
 * file system allows, which is not an error of ours. */
static dmmp_status fsync_dir(const char *final_path)
{
    char dir[ATOMIC_PATH_MAX];
    const char *base;
    DMMP_TRY(split_path(final_path, dir, sizeof dir, &base));
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return dmmp_fail(DMMP_EIO, "%s: opening directory %s to sync it: %s", final_path, dir, strerror(errno));
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    if (rc != 0 && err != EINVAL)
        return dmmp_fail(DMMP_EIO, "%s: renamed into place, but syncing directory %s failed: %s", final_path, dir,
                         strerror(err));
    return DMMP_OK;
}

dmmp_status atomic_commit(const char *tmp_path, const char *final_path)
{
    int fd = open(tmp_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        atomic_discard(tmp_path);
        return dmmp_fail(DMMP_EIO, "committing %s to %s: opening the temporary: %s", tmp_path, final_path,
                         strerror(err));
    }
    if (fsync(fd) != 0) {
        int err = errno;
        close(fd);
        atomic_discard(tmp_path);
        return dmmp_fail(DMMP_EIO, "committing %s to %s: fsync: %s", tmp_path, final_path, strerror(err));
    }
    close(fd);
    if (rename(tmp_path, final_path) != 0) {
        int err = errno;
        atomic_discard(tmp_path);
        return dmmp_fail(DMMP_EIO, "committing %s to %s: rename: %s", tmp_path, final_path, strerror(err));
    }
    return fsync_dir(final_path);
}

/* write(2) until done: a short count is not an error by itself (signals,
 * pipes), but the call after it reports why the rest did not fit. */
static dmmp_status write_all(int fd, const char *path, const char *tmp_path, const char *text, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            const char *why = w < 0 ? strerror(errno) : "write returned 0";
            return dmmp_fail(DMMP_EIO, "writing %s (temporary %s): %s after %zu of %zu bytes", path, tmp_path, why, done,
                             len);
        }
        done += (size_t)w;
    }
    return DMMP_OK;
}

dmmp_status atomic_write_text(const char *path, const char *text, size_t len)
{
    char tmp[ATOMIC_PATH_MAX];
    if (!text && len > 0) return dmmp_fail(DMMP_EINVAL, "writing %s: text is NULL but len is %zu", path, len);
    DMMP_TRY(atomic_clean_stale(path, NULL));
    DMMP_TRY(atomic_tmp_path(path, tmp, sizeof tmp));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) return dmmp_fail(DMMP_EIO, "writing %s: creating temporary %s: %s", path, tmp, strerror(errno));
    dmmp_status s = write_all(fd, path, tmp, text, len);
    /* close() is where NFS and quota-limited file systems report deferred errors. */
    if (close(fd) != 0 && s == DMMP_OK)
        s = dmmp_fail(DMMP_EIO, "writing %s (temporary %s): close: %s", path, tmp, strerror(errno));
    if (s != DMMP_OK) {
        atomic_discard(tmp);
        return s;
    }
    return atomic_commit(tmp, path);
}

/* Parses "<pid>-<digits>" (the part after ".<base>.tmp-"); 0 if malformed. */
static long parse_tmp_pid(const char *suffix)
{
    char *end;
    errno = 0;
    long pid = strtol(suffix, &end, 10);
    if (errno || end == suffix || *end != '-' || pid <= 0) return 0;
    const char *p = end + 1;
    if (*p == '\0') return 0;
    for (; *p; p++)
        if (*p < '0' || *p > '9') return 0;
    return pid;
}

dmmp_status atomic_clean_stale(const char *final_path, int *n_removed)
{
    char dir[ATOMIC_PATH_MAX], prefix[ATOMIC_PATH_MAX], victim[ATOMIC_PATH_MAX];
    const char *base;
    int removed = 0;
    if (n_removed) *n_removed = 0;
    DMMP_TRY(split_path(final_path, dir, sizeof dir, &base));
    int pn = snprintf(prefix, sizeof prefix, ".%s.tmp-", base);
    if (pn < 0 || (size_t)pn >= sizeof prefix) return dmmp_fail(DMMP_EINVAL, "%s: path is too long", final_path);
    DIR *d = opendir(dir);
    /* A directory that does not exist yet holds no stale files; the create
     * that follows reports the real problem with the path. */
    if (!d) return errno == ENOENT ? DMMP_OK : dmmp_fail(DMMP_EIO, "%s: listing %s: %s", final_path, dir, strerror(errno));
    long self = (long)getpid();
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        if (strncmp(e->d_name, prefix, (size_t)pn) != 0) continue;
        long pid = parse_tmp_pid(e->d_name + pn);
        if (pid == 0 || pid == self || (pid_t)pid != pid) continue;
        /* EPERM means the process exists under another user: keep its file. */
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        int vn = snprintf(victim, sizeof victim, "%s/%s", dir, e->d_name);
        if (vn < 0 || (size_t)vn >= sizeof victim) continue;
        if (unlink(victim) == 0) removed++;
        else if (errno != ENOENT) /* another writer may have removed it first */
            log_warn("%s: could not remove stale temporary %s: %s", final_path, victim, strerror(errno));
    }
    closedir(d);
    if (n_removed) *n_removed = removed;
    return DMMP_OK;
}
