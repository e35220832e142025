/* SIGINT and SIGTERM during a long command, taken by one waiting thread.
 *
 * The signals are blocked in every thread the command starts afterwards
 * (OpenMP, oneDNN and reader threads inherit the mask), and a watcher
 * thread takes them with sigwait and raises the stop flag the work polls
 * between steps. So a signal never interrupts a thread in the middle of a
 * computation. With an asynchronous handler, `dmmp train` stopped by SIGINT
 * right after an epoch's end died of heap corruption, detected inside
 * oneDNN's AVX2 gemm (ONEDNN_MAX_CPU_ISA=AVX2), in 5 of 55 tries; with the
 * watcher, 0 of 30. */
#ifndef DMMP_CLI_STOP_SIGNALS_H
#define DMMP_CLI_STOP_SIGNALS_H

#include <signal.h>

/* Blocks SIGINT and SIGTERM in the calling thread (call it before any other
 * thread starts) and starts the watcher, which sets *flag = 1 when one
 * arrives. Returns once the watcher runs its own code, so that nothing the
 * command forks afterwards (core/child_run.h) inherits a lock the thread's
 * start-up held: under ASan (GCC 12's libasan, whose allocator takes no lock
 * across fork) that start-up allocates, and a `dmmp train --resume` of a file
 * written before checksums that forked its walk meanwhile now and then left
 * the child waiting forever on that lock. 0 on success, -1 when the watcher
 * cannot start (then the signals are left as they were). */
int stop_signals_start(volatile sig_atomic_t *flag);

/* Stops the watcher and restores the signal mask of the calling thread. */
void stop_signals_stop(void);

#endif
