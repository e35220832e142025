/* The OpenMP wait policy of the process.
 *
 * libgomp reads OMP_WAIT_POLICY and GOMP_SPINCOUNT once, when the library
 * initialises (before main). Unset, its threads spin up to 300000 rounds at
 * every barrier before sleeping; on a machine shared with another CPU-bound
 * process the spinning threads take the CPU the working ones need (a
 * training step 3-4x slower). OMP_WAIT_POLICY=passive fixes that but makes
 * every parallel region wake sleeping threads, and a training step opens
 * about 150 of them: alone it ran at 0.62x of spinning. A short spin,
 * GOMP_SPINCOUNT=1000, bridges the gaps between consecutive regions and
 * then sleeps: bench train (2 threads, Intel Xeon, two rounds) 47k samples/s
 * alone against 52k spinning and 32k passive, and 0.54 of that next to a
 * busy process (spinning 0.29-0.37, passive 0.89).
 * So when the user has set neither variable, omp_wait_init re-executes the
 * program once (the same binary, the same argv) with GOMP_SPINCOUNT=1000
 * added to the environment; a marker variable holding the process id
 * (DMMP_OMP_REEXEC, kept by exec, removed again after it) makes the second
 * start know it is the re-executed one, so there is never a second exec. If
 * the exec fails the program continues with libgomp's default. Setting
 * OMP_WAIT_POLICY (active for a dedicated machine, passive for a crowded
 * one) or GOMP_SPINCOUNT keeps the user's choice and skips the exec.
 */
#ifndef DMMP_CORE_OMP_WAIT_H
#define DMMP_CORE_OMP_WAIT_H

#include <stddef.h>

typedef enum {
    OMP_WAIT_UNKNOWN,  /* omp_wait_init was not called (a library user, the tests) */
    OMP_WAIT_PROGRAM,  /* GOMP_SPINCOUNT=OMP_WAIT_SPIN, chosen by the program (it re-executed itself) */
    OMP_WAIT_USER,     /* OMP_WAIT_POLICY or GOMP_SPINCOUNT came from the environment */
    OMP_WAIT_FALLBACK  /* neither was set and the re-exec failed: libgomp's default */
} omp_wait_source;

/* The marker variable set for the re-executed start. */
#define OMP_WAIT_MARKER "DMMP_OMP_REEXEC"

/* The spin count the program chooses. */
#define OMP_WAIT_SPIN "1000"

/* Call first in main, before any thread starts: returns only when the process
 * keeps running as it is (the policy is settled, or the exec failed). */
void omp_wait_init(char **argv);

/* Who chose the policy in effect. */
omp_wait_source omp_wait_source_get(void);

/* One line for people: "short spin, GOMP_SPINCOUNT=1000 (chosen by dmmp: ...)", "active (OMP_WAIT_POLICY
 * set in the environment)", ... */
void omp_wait_describe(char *buf, size_t len);

#endif
