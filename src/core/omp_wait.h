/* The OpenMP wait policy of the process.
 *
 * libgomp reads OMP_WAIT_POLICY and GOMP_SPINCOUNT once, when the library
 * initialises (before main). Unset, its threads spin up to 300000 rounds at
 * every barrier before sleeping; on a machine shared with another CPU-bound
 * process the spinning threads take the CPU the working ones need (a
 * training step 3-4x slower). OMP_WAIT_POLICY=passive fixes that but makes
 * every parallel region wake sleeping threads, and a training step opens
 * about 150 of them: alone it ran at 0.62x of spinning on an Intel Xeon.
 * A short spin bridges the gaps between consecutive regions and then
 * sleeps: GOMP_SPINCOUNT=1000 gave 47k samples/s alone against 52k spinning
 * on that Xeon. libgomp counts its spin in rounds of a pause instruction,
 * whose length differs by CPU (Intel made it about ten times longer with
 * Skylake; about 24 ns a round on an AMD EPYC of the Zen 5 family), so the
 * program times the rounds on the machine it runs on (omp_wait_spin_rounds)
 * and chooses the count for OMP_WAIT_SPIN_US: a spin that means the same
 * time on every CPU. On that EPYC, alone, 24 to 400 us all ran within 4% of
 * spinning; next to a process busy a fifth of the time 100 us gave 0.94 of
 * spinning's rate and 24 us 0.90 (README: Performance).
 * When the user has set neither variable, omp_wait_init re-executes the
 * program once (the same binary, the same argv) with that GOMP_SPINCOUNT
 * added to the environment; a marker variable holding the process id
 * (DMMP_OMP_REEXEC, kept by exec, removed again after it) makes the second
 * start know it is the re-executed one, so there is never a second exec. If
 * the exec fails the program continues with libgomp's default. Setting
 * OMP_WAIT_POLICY (active for a dedicated machine, passive for a crowded
 * one) or GOMP_SPINCOUNT keeps the user's choice and skips the exec.
 * Next to a CPU-bound process the training loop also shrinks its team to the
 * free processors (core/free_cores.h).
 */
#ifndef DMMP_CORE_OMP_WAIT_H
#define DMMP_CORE_OMP_WAIT_H

#include <stddef.h>

typedef enum {
    OMP_WAIT_UNKNOWN,  /* omp_wait_init was not called (a library user, the tests) */
    OMP_WAIT_PROGRAM,  /* GOMP_SPINCOUNT=omp_wait_spin_rounds(), chosen by the program (it re-executed itself) */
    OMP_WAIT_USER,     /* OMP_WAIT_POLICY or GOMP_SPINCOUNT came from the environment */
    OMP_WAIT_FALLBACK  /* neither was set and the re-exec failed: libgomp's default */
} omp_wait_source;

/* The marker variable set for the re-executed start. */
#define OMP_WAIT_MARKER "DMMP_OMP_REEXEC"

/* How long the program's threads spin at a barrier before they sleep. */
#define OMP_WAIT_SPIN_US 100

/* The spin count the program chooses: the rounds of libgomp's spin loop
 * (a relaxed load and a pause) that take OMP_WAIT_SPIN_US on this CPU, timed
 * once (about a millisecond), in [1000, 1000000]. */
long omp_wait_spin_rounds(void);

/* Call first in main, before any thread starts: returns only when the process
 * keeps running as it is (the policy is settled, or the exec failed). */
void omp_wait_init(char **argv);

/* Who chose the policy in effect. */
omp_wait_source omp_wait_source_get(void);

/* One line for people: "short spin, GOMP_SPINCOUNT=4100 (chosen by dmmp: ...)", "active (OMP_WAIT_POLICY
 * set in the environment)", ... */
void omp_wait_describe(char *buf, size_t len);

#endif
