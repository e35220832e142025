/* Running a piece of work in a forked child process, so that a crash or an
 * endless loop inside it (in a library the work calls) ends the child, not
 * the command.
 *
 * The child runs fn and sends its status, its message and up to out_size
 * bytes of result back through a pipe, then ends with _exit (no atexit
 * handlers, no stdio flush of the parent's buffers). While it works it may
 * report progress (a short text saying what it is at); the parent waits for
 * the next report at most stall_seconds and otherwise kills the child
 * (SIGKILL). The child must not use OpenMP (libgomp's thread pool does not
 * survive fork) nor anything another thread of the parent may hold a lock
 * of; it is meant for single-threaded readers. Under ASan that includes
 * malloc (GCC 12's libasan does not lock its allocator across fork): no other
 * thread may be starting, ending or allocating when child_run is called
 * (cli/stop_signals.h waits for its watcher to start for this reason). */
#ifndef DMMP_CORE_CHILD_RUN_H
#define DMMP_CORE_CHILD_RUN_H

#include <stddef.h>

#include "core/status.h"

/* The child's end of the pipe, handed to fn. */
typedef struct child_link child_link;

/* In the child: tells the parent what the work is at now ("/eval/test").
 * NULL link (fn called in-process) does nothing. */
void child_progress(child_link *l, const char *what);

/* The work: fills out (out_size bytes) and returns its status, setting a
 * message (dmmp_fail) on failure. */
typedef dmmp_status (*child_fn)(child_link *l, void *arg, void *out, size_t out_size);

typedef struct child_end {
    int started;      /* 1: the child process was started (fork and pipe worked) */
    int finished;     /* 1: fn returned in the child and its status came back */
    int signal;       /* the signal that ended the child (0: none) */
    int exit_status;  /* the child's exit status when it ended without a result and without a signal */
    int stalled;      /* 1: no report for stall_seconds, the child was killed */
    char last[512];   /* the last progress report ("" when none) */
} child_end;

/* Runs fn(link, arg, out, out_size) in a child process. When it finished,
 * returns its status with its message as this thread's message (out holds
 * what it wrote when DMMP_OK). When the child died or stalled, end says how
 * and the return is DMMP_EIO with a message such as "the child process was
 * killed by signal 11 (Segmentation fault) at /eval/test"; so is a fork or
 * pipe that fails ("cannot start a child process: ..."), with end->started
 * 0. end may be NULL. */
dmmp_status child_run(child_fn fn, void *arg, void *out, size_t out_size, int stall_seconds, child_end *end);

#endif
