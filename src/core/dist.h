/* Processes of one job (README: "Several processes"). Under mpirun (a build
 * with MPI, ./configure --with-mpi) every rank runs the same command and
 * these calls are MPI collectives over MPI_COMM_WORLD; otherwise, and when
 * the program was not started by mpirun, there is one process (rank 0 of 1)
 * and each call is the identity. Collectives must be called by every rank
 * in the same order. A rank that fails calls dist_abort, which ends every
 * rank of the job (with MPI_Abort), so no rank waits for a dead one. */
#ifndef DMMP_CORE_DIST_H
#define DMMP_CORE_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* Joins the job when started by mpirun (the launcher's environment says so),
 * else sets up one process. Call once at the start of main. */
dmmp_status dist_init(int *argc, char ***argv);

/* Leaves the job (MPI_Finalize); safe without dist_init. */
void dist_finalize(void);

int dist_rank(void);
int dist_size(void);
static inline int dist_is_root(void) { return dist_rank() == 0; }

/* 1 when the build has MPI (even if this run is a single process). */
int dist_built_with_mpi(void);

/* Sums n doubles over the ranks, in place; every rank gets the same bits. */
dmmp_status dist_sum_f64(double *v, int64_t n);

/* Gathers bytes (the same count on every rank) from every rank into out
 * (dist_size() * bytes, rank order) on every rank. */
dmmp_status dist_allgather(const void *in, size_t bytes, void *out);

/* Sums n floats over the ranks, in place, and every rank gets the same bits:
 * v is cut into one block per rank, block r of every rank goes to rank r
 * (MPI_Ialltoallv), which adds them in rank order, and the sums are gathered
 * back (MPI_Allgatherv). So the order of the additions is fixed (rank 0's
 * value first), whatever reduction tree the library would choose, and each
 * rank sends and receives about 2 (N - 1) / N of v's bytes, as a ring
 * allreduce does. The sum runs in two halves so that other work, other
 * collectives included, can run while the blocks travel: start sends the
 * blocks and returns, finish waits, adds and gathers. v must not change in
 * between, and every rank calls the same collectives in the same order. An
 * op holds the block layout and the receive buffer for sums of n floats and
 * serves one sum at a time. With one process start and finish do nothing. */
typedef struct dist_sum_op dist_sum_op;
dmmp_status dist_sum_op_create(dist_sum_op **op, int64_t n);
dmmp_status dist_sum_f32_start(dist_sum_op *op, float *v);
dmmp_status dist_sum_f32_finish(dist_sum_op *op);
/* Lets MPI move a started sum on (it progresses only inside MPI calls); for
 * the thread that may call MPI, between pieces of other work. */
void dist_sum_f32_progress(dist_sum_op *op);
/* Frees the op (NULL is fine); one with a pending sum (a failed step, the job
 * ends) is left allocated, as MPI may still write its buffer. */
void dist_sum_op_free(dist_sum_op *op);

/* Gathers a different number of bytes from every rank: counts[r] is rank
 * r's (the caller exchanged them, e.g. with dist_allgather); out receives
 * the ranks' bytes one after the other in rank order. */
dmmp_status dist_allgatherv(const void *in, size_t bytes, void *out, const size_t *counts);

/* Sends every rank its own block of bytes: block r of in (send[r] bytes,
 * the blocks one after the other in rank order) goes to rank r, and out
 * receives the ranks' blocks for this one (recv[r] bytes from rank r) one
 * after the other in rank order (MPI_Alltoallv). The caller exchanged the
 * counts (e.g. with dist_alltoall); one process copies its own block. */
dmmp_status dist_alltoallv(const void *in, const size_t *send, void *out, const size_t *recv);

/* dist_alltoallv with the same count, bytes, for every pair of ranks
 * (MPI_Alltoall): in and out hold dist_size() * bytes. */
dmmp_status dist_alltoall(const void *in, size_t bytes, void *out);

/* Gathers a different number of bytes from every rank on rank 0 only
 * (MPI_Gatherv): counts[r] is rank r's, out (rank 0; NULL elsewhere)
 * receives them one after the other in rank order. */
dmmp_status dist_gatherv(const void *in, size_t bytes, void *out, const size_t *counts);

/* Copies rank 0's bytes into buf on every rank. */
dmmp_status dist_broadcast(void *buf, size_t bytes);

/* Waits until every rank has called it. */
dmmp_status dist_barrier(void);

/* Ranks of the job running on this machine (1 without a launcher). */
int dist_local_size(void);

/* Ends every rank of the job with exit status code, after printing message
 * on stderr (names the rank). Does not return. */
void dist_abort(int code, const char *message) __attribute__((noreturn));

#endif
