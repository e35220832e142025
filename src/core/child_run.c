/* child_run: fork, a pipe of records (progress and the result), a watchdog
 * on the time between records, waitpid. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "core/child_run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Records on the pipe: one type byte, a 4-byte length, the payload. */
#define REC_PROGRESS 'P'
#define REC_RESULT 'R'
#define PROGRESS_MAX 511

struct child_link {
    int fd;
};

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int send_record(int fd, char type, const void *a, uint32_t na, const void *b, uint32_t nb)
{
    unsigned char head[5];
    uint32_t len = na + nb;
    head[0] = (unsigned char)type;
    memcpy(head + 1, &len, 4);
    if (write_all(fd, head, 5) < 0) return -1;
    if (na && write_all(fd, a, na) < 0) return -1;
    if (nb && write_all(fd, b, nb) < 0) return -1;
    return 0;
}

void child_progress(child_link *l, const char *what)
{
    if (!l) return;
    size_t n = strlen(what);
    if (n > PROGRESS_MAX) n = PROGRESS_MAX;
    /* A parent that is gone ends the child at its next report. */
    if (send_record(l->fd, REC_PROGRESS, what, (uint32_t)n, NULL, 0) < 0) _exit(127);
}

/* The child: runs fn, sends the result, ends. */
static void run_child(int fd, child_fn fn, void *arg, size_t out_size) __attribute__((noreturn));
static void run_child(int fd, child_fn fn, void *arg, size_t out_size)
{
    child_link link = {fd};
    void *out = out_size ? calloc(1, out_size) : NULL;
    if (out_size && !out) _exit(126);
    dmmp_error_clear();
    dmmp_status s = fn(&link, arg, out, out_size);
    const char *msg = s == DMMP_OK ? "" : dmmp_errmsg();
    uint32_t nmsg = (uint32_t)strlen(msg);
    /* payload: int32 status, uint32 message length, the message, out */
    size_t n = 8 + nmsg;
    unsigned char *head = malloc(n);
    if (!head) _exit(126);
    int32_t code = (int32_t)s;
    memcpy(head, &code, 4);
    memcpy(head + 4, &nmsg, 4);
    memcpy(head + 8, msg, nmsg);
    int rc = send_record(fd, REC_RESULT, head, (uint32_t)n, out, s == DMMP_OK ? (uint32_t)out_size : 0);
    _exit(rc == 0 ? 0 : 127);
}

/* Reads exactly n bytes; 0 done, 1 end of file, -1 error, 2 timed out. */
static int read_full(int fd, void *buf, size_t n, int timeout_ms)
{
    char *p = buf;
    while (n > 0) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int r = poll(&pfd, 1, timeout_ms);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) return 2;
        ssize_t got = read(fd, p, n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return -1;
        if (got == 0) return 1;
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

dmmp_status child_run(child_fn fn, void *arg, void *out, size_t out_size, int stall_seconds, child_end *end)
{
    child_end local;
    if (!end) end = &local;
    memset(end, 0, sizeof *end);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return dmmp_fail(DMMP_EIO, "cannot start a child process: pipe: %s", strerror(errno));
    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        close(fds[0]);
        close(fds[1]);
        return dmmp_fail(DMMP_EIO, "cannot start a child process: fork: %s", strerror(err));
    }
    if (pid == 0) {
        close(fds[0]);
        run_child(fds[1], fn, arg, out_size);
    }
    close(fds[1]);
    end->started = 1;
    int timeout_ms = stall_seconds > 0 ? stall_seconds * 1000 : -1;
    dmmp_status result = DMMP_OK;
    char *msg = NULL;
    for (;;) {
        unsigned char head[5];
        int r = read_full(fds[0], head, 5, timeout_ms);
        if (r == 2) end->stalled = 1;
        if (r != 0) break;
        uint32_t len;
        memcpy(&len, head + 1, 4);
        if (head[0] == REC_PROGRESS && len <= PROGRESS_MAX) {
            char text[PROGRESS_MAX + 1];
            r = read_full(fds[0], text, len, timeout_ms);
            if (r == 2) end->stalled = 1;
            if (r != 0) break;
            text[len] = '\0';
            memcpy(end->last, text, len + 1);
        } else if (head[0] == REC_RESULT && len >= 8 && len <= 8 + (uint64_t)65536 + out_size) {
            unsigned char *p = malloc(len);
            if (!p) break;
            r = read_full(fds[0], p, len, timeout_ms);
            if (r == 2) end->stalled = 1;
            int32_t code;
            uint32_t nmsg;
            memcpy(&code, p, 4);
            memcpy(&nmsg, p + 4, 4);
            if (r == 0 && 8 + (uint64_t)nmsg <= len && (code != DMMP_OK || len == 8 + nmsg + out_size)) {
                result = (dmmp_status)code;
                msg = malloc(nmsg + 1);
                if (msg) {
                    memcpy(msg, p + 8, nmsg);
                    msg[nmsg] = '\0';
                }
                if (code == DMMP_OK && out_size) memcpy(out, p + 8 + nmsg, out_size);
                end->finished = msg != NULL;
            }
            free(p);
            break;
        } else {
            break; /* not a record of ours */
        }
    }
    close(fds[0]);
    if (!end->finished || end->stalled) kill(pid, SIGKILL);
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    if (end->finished && !end->stalled && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
        dmmp_status s = result == DMMP_OK ? DMMP_OK : dmmp_fail(result, "%s", msg);
        free(msg);
        return s;
    }
    free(msg);
    end->finished = 0;
    const char *at = end->last[0] ? " at " : "";
    if (end->stalled)
        return dmmp_fail(DMMP_EIO, "the child process made no progress for %d s%s%s and was killed", stall_seconds,
                         at, end->last);
    if (WIFSIGNALED(wstatus)) {
        end->signal = WTERMSIG(wstatus);
        return dmmp_fail(DMMP_EIO, "the child process was killed by signal %d (%s)%s%s", end->signal,
                         strsignal(end->signal), at, end->last);
    }
    end->exit_status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
    return dmmp_fail(DMMP_EIO, "the child process ended with exit status %d without a result%s%s", end->exit_status,
                     at, end->last);
}
