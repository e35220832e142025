/* The OpenMP wait policy of the process.
 *
 * libgomp reads OMP_WAIT_POLICY and GOMP_SPINCOUNT once, when the library
 * initialises (before main). Unset, its threads spin up to 300000 rounds at
 * every barrier before sleeping; on a machine shared with another CPU-bound
 * process the spinning threads take the CPU the working ones need, and a
 * training step measured 3-4x slower than with OMP_WAIT_POLICY=passive.
 * So when the user has set neither variable, omp_wait_init re-executes the
 * program once (the same binary, the same argv) with OMP_WAIT_POLICY=passive
 * added to the environment; a marker variable holding the process id
 * (DMMP_OMP_REEXEC, kept by exec, removed again after it) makes the second
 * start know it is the re-executed one, so there is never a second exec. If
 * the exec fails the program continues with libgomp's default. Setting
 * OMP_WAIT_POLICY (active for a dedicated machine) or GOMP_SPINCOUNT keeps
 * the user's choice and skips the exec. */
#ifndef DMMP_CORE_OMP_WAIT_H
#define DMMP_CORE_OMP_WAIT_H

#include <stddef.h>

typedef enum {
    OMP_WAIT_UNKNOWN,  /* omp_wait_init was not called (a library user, the tests) */
    OMP_WAIT_PROGRAM,  /* passive, chosen by the program (it re-executed itself) */
    OMP_WAIT_USER,     /* OMP_WAIT_POLICY or GOMP_SPINCOUNT came from the environment */
    OMP_WAIT_FALLBACK  /* neither was set and the re-exec failed: libgomp's default */
} omp_wait_source;

/* The marker variable set for the re-executed start. */
#define OMP_WAIT_MARKER "DMMP_OMP_REEXEC"

/* Call first in main, before any thread starts: returns only when the process
 * keeps running as it is (the policy is settled, or the exec failed). */
void omp_wait_init(char **argv);

/* Who chose the policy in effect. */
omp_wait_source omp_wait_source_get(void);

/* One line for people: "passive (chosen by dmmp: ...)", "active (OMP_WAIT_POLICY
 * set in the environment)", ... */
void omp_wait_describe(char *buf, size_t len);

#endif
