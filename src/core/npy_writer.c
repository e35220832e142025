#include "core/npy_writer.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "core/atomic_file.h"

static const char npy_magic[] = "\x93NUMPY";

static int host_little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

static dmmp_status write_fail(npy_file *f, const char *what)
{
    int err = errno;
    dmmp_status s = dmmp_fail(DMMP_EIO, "writing %s (temporary %s): %s: %s", f->path, f->tmp, what,
                              err ? strerror(err) : "short write");
    return s;
}

dmmp_status npy_begin(npy_file *f, const char *path, npy_dtype dtype, int64_t rows, int64_t cols, int64_t str_len)
{
    memset(f, 0, sizeof *f);
    if (!path || !*path) return dmmp_fail(DMMP_EINVAL, "npy: empty path");
    if (strlen(path) >= sizeof f->path) return dmmp_fail(DMMP_EINVAL, "%s: path is too long", path);
    snprintf(f->path, sizeof f->path, "%s", path);
    if (rows < 0 || cols < 0)
        return dmmp_fail(DMMP_EINVAL, "%s: shape (%" PRId64 ", %" PRId64 ") is negative", path, rows, cols);
    if (!host_little_endian() && dtype != NPY_BYTES)
        return dmmp_fail(DMMP_EUNSUPPORTED, "%s: .npy output needs a little-endian host", path);
    char descr[32];
    switch (dtype) {
    case NPY_F32: f->elem = 4; snprintf(descr, sizeof descr, "<f4"); break;
    case NPY_I32: f->elem = 4; snprintf(descr, sizeof descr, "<i4"); break;
    case NPY_I64: f->elem = 8; snprintf(descr, sizeof descr, "<i8"); break;
    case NPY_BYTES:
        if (str_len < 1 || str_len > 1 << 20)
            return dmmp_fail(DMMP_EINVAL, "%s: string length %" PRId64 " outside [1, 1048576]", path, str_len);
        f->elem = str_len;
        snprintf(descr, sizeof descr, "|S%" PRId64, str_len);
        break;
    default: return dmmp_fail(DMMP_EINVAL, "%s: unknown npy dtype %d", path, (int)dtype);
    }
    f->dtype = dtype;
    f->rows = rows;
    f->cols = cols;
    char dict[256];
    int n = cols > 0 ? snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%" PRId64 ", %" PRId64 "), }",
                                descr, rows, cols)
                     : snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%" PRId64 ",), }",
                                descr, rows);
    /* magic (6) + version (2) + header length (2) + dict + padding + '\n': a multiple of 64. */
    size_t total = 10 + (size_t)n + 1;
    size_t padded = (total + 63) / 64 * 64;
    size_t hlen = padded - 10;
    if (hlen > 65535) return dmmp_fail(DMMP_EINVAL, "%s: npy header too long", path);
    unsigned char header[512];
    memcpy(header, npy_magic, 6);
    header[6] = 1;
    header[7] = 0;
    header[8] = (unsigned char)(hlen & 0xff);
    header[9] = (unsigned char)(hlen >> 8);
    memcpy(header + 10, dict, (size_t)n);
    memset(header + 10 + n, ' ', padded - 10 - (size_t)n - 1);
    header[padded - 1] = '\n';

    DMMP_TRY(atomic_clean_stale(path, NULL));
    DMMP_TRY(atomic_tmp_path(path, f->tmp, sizeof f->tmp));
    f->f = fopen(f->tmp, "wbx");
    if (!f->f) {
        dmmp_status s = dmmp_fail(DMMP_EIO, "writing %s: creating temporary %s: %s", path, f->tmp, strerror(errno));
        f->tmp[0] = '\0';
        return s;
    }
    errno = 0;
    if (fwrite(header, 1, padded, f->f) != padded) {
        dmmp_status s = write_fail(f, "the header");
        npy_abort(f);
        return s;
    }
    return DMMP_OK;
}

dmmp_status npy_append(npy_file *f, const void *data, int64_t n)
{
    if (!f->f) return dmmp_fail(DMMP_EINVAL, "%s: npy file is not open", f->path);
    if (n < 0 || f->written + n > f->rows)
        return dmmp_fail(DMMP_EINVAL, "%s: %" PRId64 " rows appended to %" PRId64 " of %" PRId64, f->path, n,
                         f->written, f->rows);
    size_t count = (size_t)n * (size_t)(f->cols > 0 ? f->cols : 1);
    errno = 0;
    if (count > 0 && fwrite(data, (size_t)f->elem, count, f->f) != count) return write_fail(f, "the data");
    f->written += n;
    return DMMP_OK;
}

dmmp_status npy_finish(npy_file *f)
{
    if (!f->f) return dmmp_fail(DMMP_EINVAL, "%s: npy file is not open", f->path);
    if (f->written != f->rows)
        return dmmp_fail(DMMP_EINVAL, "%s: %" PRId64 " of %" PRId64 " rows written", f->path, f->written, f->rows);
    errno = 0;
    int flushed = fflush(f->f) == 0;
    dmmp_status s = flushed ? DMMP_OK : write_fail(f, "flush");
    errno = 0;
    int closed = fclose(f->f) == 0;
    f->f = NULL;
    if (s == DMMP_OK && !closed) s = write_fail(f, "close");
    if (s == DMMP_OK) f->finished = 1;
    return s;
}

dmmp_status npy_commit(npy_file *f)
{
    if (!f->finished) return dmmp_fail(DMMP_EINVAL, "%s: npy file committed before it was finished", f->path);
    dmmp_status s = atomic_commit(f->tmp, f->path); /* removes the temporary itself on failure */
    f->tmp[0] = '\0';
    f->finished = 0;
    return s;
}

void npy_abort(npy_file *f)
{
    if (f->f) fclose(f->f);
    f->f = NULL;
    if (f->tmp[0]) atomic_discard(f->tmp);
    f->tmp[0] = '\0';
    f->finished = 0;
}

dmmp_status npy_write(const char *path, npy_dtype dtype, int64_t rows, int64_t cols, int64_t str_len,
                      const void *data)
{
    npy_file f;
    DMMP_TRY(npy_begin(&f, path, dtype, rows, cols, str_len));
    dmmp_status s = npy_append(&f, data, rows);
    if (s == DMMP_OK) s = npy_finish(&f);
    if (s == DMMP_OK) return npy_commit(&f);
    npy_abort(&f);
    return s;
}
