/* Big sequential read() calls into two buffers used in turn; the partial
 * last line of a block is copied to the front of the other buffer and
 * completed by the next read, so blocks always end at a line boundary and a
 * block stays intact while the next one is read and parsed. */
#include "data/line_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"

struct line_reader {
    int fd;
    char path[1024];
    char label[64];
    int progress;
    char *buf[2]; /* blocks alternate between the two */
    size_t cap[2], block_bytes;
    int cur;                     /* the buffer of the last block */
    size_t carry_off, carry_len; /* the partial line after the last block */
    int eof;
    int64_t bytes, size;
    double t_start, t_last;
};

dmmp_status line_reader_open(line_reader **out, const char *path, size_t block_bytes, const char *label,
                             int progress)
{
    *out = NULL;
    int fd = open(path, O_RDONLY);
    /* A path that names no readable file is bad input (exit status 2), not
     * an I/O failure while working. */
    if (fd < 0)
        return dmmp_fail(errno == ENOENT || errno == ENOTDIR || errno == EACCES ? DMMP_EINVAL : DMMP_EIO,
                         "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return dmmp_fail(DMMP_EINVAL, "%s: not a regular file", path);
    }
    line_reader *r = calloc(1, sizeof *r);
    if (block_bytes < 4096) block_bytes = 4096;
    char *buf0 = malloc(block_bytes + 1), *buf1 = malloc(block_bytes + 1);
    if (!r || !buf0 || !buf1) {
        free(r);
        free(buf0);
        free(buf1);
        close(fd);
        return dmmp_fail(DMMP_ENOMEM, "%s: cannot allocate two %zu-byte read blocks", path, block_bytes);
    }
    r->fd = fd;
    snprintf(r->path, sizeof r->path, "%s", path);
    snprintf(r->label, sizeof r->label, "%s", label ? label : "read");
    r->progress = progress;
    r->buf[0] = buf0;
    r->buf[1] = buf1;
    r->cap[0] = r->cap[1] = r->block_bytes = block_bytes;
    r->cur = 1;
    r->size = (int64_t)st.st_size;
    r->t_start = r->t_last = clock_wall_seconds();
    *out = r;
    return DMMP_OK;
}

static void report_progress(line_reader *r)
{
    double t = clock_wall_seconds();
    if (!r->progress || t - r->t_last < 3.0) return;
    r->t_last = t;
    double mb = (double)r->bytes / 1e6;
    log_info("%s: %.0f of %.0f MB read, %.1f MB/s", r->label, mb, (double)r->size / 1e6, mb / (t - r->t_start));
}

dmmp_status line_reader_next(line_reader *r, const char **data, size_t *len)
{
    *len = 0;
    int nb = 1 - r->cur;
    if (r->cap[nb] < r->cap[r->cur]) { /* the other buffer grew for a long line: the carry may be as long */
        char *grown = realloc(r->buf[nb], r->cap[r->cur] + 1);
        if (!grown) return dmmp_fail(DMMP_ENOMEM, "%s: cannot grow a read block to %zu bytes", r->path, r->cap[r->cur]);
        r->buf[nb] = grown;
        r->cap[nb] = r->cap[r->cur];
    }
    char *buf = r->buf[nb];
    if (r->carry_len) memcpy(buf, r->buf[r->cur] + r->carry_off, r->carry_len);
    r->cur = nb;
    size_t have = r->carry_len;
    r->carry_len = 0;
    for (;;) {
        while (!r->eof && have < r->cap[nb]) {
            ssize_t got = read(r->fd, buf + have, r->cap[nb] - have);
            if (got < 0) {
                if (errno == EINTR) continue;
                return dmmp_fail(DMMP_EIO, "%s: read failed: %s", r->path, strerror(errno));
            }
            if (got == 0) r->eof = 1;
            have += (size_t)got;
        }
        if (have == 0) return DMMP_OK;
        if (r->eof) break;
        /* Cut after the last newline; a block without one holds part of a
         * very long line, so the buffer grows and reading continues. */
        const char *nl = NULL;
        for (size_t i = have; i > 0; i--)
            if (buf[i - 1] == '\n') {
                nl = buf + i;
                break;
            }
        if (nl) {
            size_t cut = (size_t)(nl - buf);
            r->carry_off = cut;
            r->carry_len = have - cut;
            have = cut;
            break;
        }
        size_t cap = r->cap[nb] * 2;
        char *grown = realloc(buf, cap + 1);
        if (!grown) return dmmp_fail(DMMP_ENOMEM, "%s: a line longer than %zu bytes", r->path, r->cap[nb]);
        r->buf[nb] = buf = grown;
        r->cap[nb] = cap;
    }
    r->bytes += (int64_t)have;
    report_progress(r);
    *data = buf;
    *len = have;
    return DMMP_OK;
}

int64_t line_reader_bytes(const line_reader *r) { return r->bytes; }
int64_t line_reader_size(const line_reader *r) { return r->size; }

void line_reader_close(line_reader *r)
{
    if (!r) return;
    close(r->fd);
    free(r->buf[0]);
    free(r->buf[1]);
    free(r);
}

int line_parse_threads(void)
{
    int t = omp_get_max_threads();
    return t < 1 ? 1 : t > LINE_MAX_RANGES ? LINE_MAX_RANGES : t;
}

static int64_t count_lines(const char *p, const char *end)
{
    int64_t n = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        n++;
        if (!nl) break;
        p = nl + 1;
    }
    return n;
}

static void parse_range(const char *file, line_range *rg, void *ctx, line_parse_fn parse, int skip)
{
    text_loc loc = {file, rg->first_line, NULL};
    const char *p = rg->start;
    while (p < rg->end) {
        const char *ce;
        const char *next = text_next_line(p, rg->end, &ce);
        if (ce > p) {
            loc.line_start = p;
            dmmp_status s = parse(ctx, p, ce, &loc);
            if (s != DMMP_OK) {
                if (!rg->n_skipped && rg->status == DMMP_OK)
                    snprintf(rg->first_error, sizeof rg->first_error, "%s", dmmp_errmsg());
                if (!skip || s == DMMP_ENOMEM) {
                    rg->status = s;
                    return;
                }
                rg->n_skipped++;
            }
        }
        loc.line++;
        p = next;
    }
}

dmmp_status line_parse_block(const char *file, const char *data, size_t len, int64_t first_line, int n_ranges,
                             void *const *ctx, line_parse_fn parse, int skip, line_range *ranges,
                             int64_t *n_lines)
{
    if (n_ranges < 1 || n_ranges > LINE_MAX_RANGES)
        return dmmp_fail(DMMP_EINVAL, "line_parse_block: %d ranges outside [1, %d]", n_ranges, LINE_MAX_RANGES);
    const char *end = data + len;
    const char *p = data;
    for (int i = 0; i < n_ranges; i++) {
        const char *stop = i + 1 == n_ranges ? end : data + len / (size_t)n_ranges * (size_t)(i + 1);
        if (stop < p) stop = p;
        if (stop < end) {
            const char *nl = memchr(stop, '\n', (size_t)(end - stop));
            stop = nl ? nl + 1 : end;
        }
        memset(&ranges[i], 0, sizeof ranges[i]);
        ranges[i].start = p;
        ranges[i].end = stop;
        p = stop;
    }
#pragma omp parallel for schedule(static, 1) num_threads(n_ranges)
    for (int i = 0; i < n_ranges; i++) ranges[i].n_lines = count_lines(ranges[i].start, ranges[i].end);
    int64_t line = first_line;
    for (int i = 0; i < n_ranges; i++) {
        ranges[i].first_line = line;
        line += ranges[i].n_lines;
    }
    *n_lines = line - first_line;
#pragma omp parallel for schedule(static, 1) num_threads(n_ranges)
    for (int i = 0; i < n_ranges; i++) parse_range(file, &ranges[i], ctx[i], parse, skip);
    for (int i = 0; i < n_ranges; i++)
        if (ranges[i].status != DMMP_OK) return dmmp_fail(ranges[i].status, "%s", ranges[i].first_error);
    return DMMP_OK;
}
