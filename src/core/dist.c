/* MPI is joined only when a launcher started the process (Open MPI sets
 * OMPI_COMM_WORLD_SIZE, PMIx launchers PMIX_RANK, others PMI_SIZE): a plain
 * `dmmp ...` never initialises MPI, so it behaves exactly as a build without
 * it. Threads: OpenMP teams run inside a rank, and only the thread that
 * called dist_init communicates (MPI_THREAD_FUNNELED). */
#include "core/dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#ifdef HAVE_MPI
#include <mpi.h>
#include <pthread.h>
#include <signal.h>
#endif

static int g_rank = 0, g_size = 1, g_mpi = 0;

int dist_rank(void) { return g_rank; }
int dist_size(void) { return g_size; }

int dist_built_with_mpi(void)
{
#ifdef HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

static int launched_by_mpirun(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_SIZE");
}

dmmp_status dist_init(int *argc, char ***argv)
{
    g_rank = 0;
    g_size = 1;
#ifdef HAVE_MPI
    if (!launched_by_mpirun()) return DMMP_OK;
    int provided = 0;
    /* The threads MPI starts (progress, launcher connection) block SIGINT
     * and SIGTERM, so a stop request reaches the command's own thread (see
     * cli/stop_signals.h) and never kills the process from a thread that
     * has no use for it. */
    sigset_t stop, before;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, &before);
    int rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    pthread_sigmask(SIG_SETMASK, &before, NULL);
    if (rc != MPI_SUCCESS) return dmmp_fail(DMMP_EIO, "MPI_Init_thread failed");
    g_mpi = 1;
    /* A failing collective ends the job with a message instead of hanging. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    if (provided < MPI_THREAD_FUNNELED)
        return dmmp_fail(DMMP_EIO, "MPI provides thread level %d, FUNNELED (%d) is needed", provided,
                         MPI_THREAD_FUNNELED);
#else
    (void)argc;
    (void)argv;
    /* N copies started by a launcher would each run the whole command (N
     * trainings writing one run directory): refuse. */
    const char *n = getenv("OMPI_COMM_WORLD_SIZE") ? getenv("OMPI_COMM_WORLD_SIZE") : getenv("PMI_SIZE");
    if (launched_by_mpirun() && ((n && atoi(n) > 1) || getenv("PMIX_RANK")))
        return dmmp_fail(DMMP_EINVAL,
                         "started by an MPI launcher (%s processes), but this dmmp was built without MPI "
                         "(install libopenmpi-dev and run ./configure --with-mpi)",
                         n ? n : "several");
#endif
    return DMMP_OK;
}

void dist_finalize(void)
{
#ifdef HAVE_MPI
    if (g_mpi) MPI_Finalize();
#endif
    g_mpi = 0;
}

dmmp_status dist_sum_f64(double *v, int64_t n)
{
#ifdef HAVE_MPI
    if (g_mpi && g_size > 1) {
        if (n < 0 || n > 0x7fffffff / g_size)
            return dmmp_fail(DMMP_EINVAL, "dist: a sum of %lld values is too long", (long long)n);
        /* Gathered and summed in rank order on every rank, so every rank holds
         * the same bits whatever reduction tree the library would pick. */
        double *all = malloc((size_t)g_size * (size_t)(n ? n : 1) * sizeof *all);
        if (!all) return dmmp_fail(DMMP_ENOMEM, "dist: out of memory for a %lld-value sum", (long long)n);
        if (MPI_Allgather(v, (int)n, MPI_DOUBLE, all, (int)n, MPI_DOUBLE, MPI_COMM_WORLD) != MPI_SUCCESS) {
            free(all);
            return dmmp_fail(DMMP_EIO, "dist: MPI_Allgather failed");
        }
        for (int64_t i = 0; i < n; i++) {
            double s = 0;
            for (int r = 0; r < g_size; r++) s += all[(size_t)r * (size_t)n + (size_t)i];
            v[i] = s;
        }
        free(all);
    }
#else
    (void)v;
    (void)n;
#endif
    return DMMP_OK;
}

dmmp_status dist_allgather(const void *in, size_t bytes, void *out)
{
#ifdef HAVE_MPI
    if (g_mpi && g_size > 1) {
        if (bytes > (size_t)0x7fffffff) return dmmp_fail(DMMP_EINVAL, "dist: %zu bytes per rank is too many", bytes);
        if (MPI_Allgather(in, (int)bytes, MPI_BYTE, out, (int)bytes, MPI_BYTE, MPI_COMM_WORLD) != MPI_SUCCESS)
            return dmmp_fail(DMMP_EIO, "dist: MPI_Allgather failed");
        return DMMP_OK;
    }
#endif
    memmove(out, in, bytes);
    return DMMP_OK;
}

static int64_t sum_work(int64_t n)
{
    int64_t block = (n + g_size - 1) / g_size;
    return (block ? block : 1) * g_size;
}

/* One sum of n floats: the blocks of every rank and, while it travels, its request. */
struct dist_sum_op {
    int64_t n;
    float *v, *work;
    int *counts, *displs, *rcounts, *rdispls; /* dist_size() each: the block layout of the alltoallv */
    int pending;
#ifdef HAVE_MPI
    MPI_Request req;
#endif
};

dmmp_status dist_sum_op_create(dist_sum_op **out, int64_t n)
{
    *out = NULL;
    if (n < 0) return dmmp_fail(DMMP_EINVAL, "dist: a sum of %lld floats", (long long)n);
    int64_t block = (n + g_size - 1) / g_size;
    if (block > 0x7fffffff / g_size) return dmmp_fail(DMMP_EINVAL, "dist: a sum of %lld floats is too long", (long long)n);
    dist_sum_op *op = calloc(1, sizeof *op);
    int *ints = op ? calloc((size_t)g_size * 4, sizeof *ints) : NULL;
    float *work = ints ? malloc((size_t)sum_work(n) * sizeof *work) : NULL;
    if (!work) {
        free(ints);
        free(op);
        return dmmp_fail(DMMP_ENOMEM, "dist: out of memory for a sum of %lld floats", (long long)n);
    }
    op->n = n;
    op->work = work;
    op->counts = ints;
    op->displs = ints + g_size;
    op->rcounts = ints + 2 * g_size;
    op->rdispls = ints + 3 * g_size;
    /* Block r is [r * block, min(n, (r + 1) * block)). */
    for (int r = 0; r < g_size; r++) {
        int64_t lo = (int64_t)r * block < n ? (int64_t)r * block : n;
        int64_t hi = lo + block < n ? lo + block : n;
        op->counts[r] = (int)(hi - lo);
        op->displs[r] = (int)lo;
    }
    int mine = op->counts[g_rank];
    for (int r = 0; r < g_size; r++) op->rcounts[r] = mine, op->rdispls[r] = r * mine;
    *out = op;
    return DMMP_OK;
}

void dist_sum_op_free(dist_sum_op *op)
{
    if (!op) return;
    /* A sum still travelling means the step failed and the job is ending: its
     * peers may never take part, so it is not waited for, and its buffers
     * stay allocated (MPI may still write them; a collective's request cannot
     * be freed or cancelled). */
    if (op->pending == 1) return;
    free(op->counts);
    free(op->work);
    free(op);
}

dmmp_status dist_sum_f32_start(dist_sum_op *op, float *v)
{
    if (op->pending) return dmmp_fail(DMMP_EINVAL, "dist: a sum was started while the last one is pending");
    op->v = v;
#ifdef HAVE_MPI
    if (g_mpi && g_size > 1) {
        if (MPI_Ialltoallv(v, op->counts, op->displs, MPI_FLOAT, op->work, op->rcounts, op->rdispls, MPI_FLOAT,
                           MPI_COMM_WORLD, &op->req) != MPI_SUCCESS)
            return dmmp_fail(DMMP_EIO, "dist: MPI_Ialltoallv failed");
        op->pending = 1;
    }
#endif
    return DMMP_OK;
}

void dist_sum_f32_progress(dist_sum_op *op)
{
#ifdef HAVE_MPI
    if (op && op->pending) {
        int done = 0;
        MPI_Test(&op->req, &done, MPI_STATUS_IGNORE);
        if (done) op->pending = 2; /* complete: finish does not wait */
    }
#else
    (void)op;
#endif
}

dmmp_status dist_sum_f32_finish(dist_sum_op *op)
{
#ifdef HAVE_MPI
    if (op->pending) {
        int complete = op->pending == 2;
        op->pending = 0;
        if (!complete && MPI_Wait(&op->req, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return dmmp_fail(DMMP_EIO, "dist: MPI_Wait failed");
        int mine = op->counts[g_rank];
        const float *work = op->work;
        float *out = op->v + op->displs[g_rank];
        for (int i = 0; i < mine; i++) {
            float s = work[i];
            for (int r = 1; r < g_size; r++) s += work[(size_t)r * (size_t)mine + (size_t)i];
            out[i] = s;
        }
        if (MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, op->v, op->counts, op->displs, MPI_FLOAT, MPI_COMM_WORLD) !=
            MPI_SUCCESS)
            return dmmp_fail(DMMP_EIO, "dist: MPI_Allgatherv failed");
    }
#endif
    op->v = NULL;
    return DMMP_OK;
}

dmmp_status dist_allgatherv(const void *in, size_t bytes, void *out, const size_t *counts)
{
#ifdef HAVE_MPI
    if (g_mpi && g_size > 1) {
        int c[g_size], d[g_size];
        size_t at = 0;
        for (int r = 0; r < g_size; r++) {
            if (counts[r] > (size_t)0x7fffffff || at > (size_t)0x7fffffff)
                return dmmp_fail(DMMP_EINVAL, "dist: a gather of more than 2 GB (rank %d sends %zu bytes)", r, counts[r]);
            c[r] = (int)counts[r];
            d[r] = (int)at;
            at += counts[r];
        }
        if (at > (size_t)0x7fffffff) return dmmp_fail(DMMP_EINVAL, "dist: a gather of %zu bytes is more than 2 GB", at);
        if (bytes != counts[g_rank])
            return dmmp_fail(DMMP_EINVAL, "dist: rank %d sends %zu bytes but counts say %zu", g_rank, bytes, counts[g_rank]);
        if (MPI_Allgatherv(in, (int)bytes, MPI_BYTE, out, c, d, MPI_BYTE, MPI_COMM_WORLD) != MPI_SUCCESS)
            return dmmp_fail(DMMP_EIO, "dist: MPI_Allgatherv failed");
        return DMMP_OK;
    }
#endif
    (void)counts;
    memmove(out, in, bytes);
    return DMMP_OK;
}

#ifdef HAVE_MPI
/* MPI's counts and displacements of a list of byte counts; fails beyond
 * 2 GB in all. */
static dmmp_status int_counts(const size_t *counts, int *c, int *d, const char *what)
{
    size_t at = 0;
    for (int r = 0; r < g_size; r++) {
        if (counts[r] > (size_t)0x7fffffff || at > (size_t)0x7fffffff - counts[r])
            return dmmp_fail(DMMP_EINVAL, "dist: %s of more than 2 GB (%zu bytes for rank %d)", what, counts[r], r);
        c[r] = (int)counts[r];
        d[r] = (int)at;
        at += counts[r];
    }
    return DMMP_OK;
}
#endif

dmmp_status dist_alltoallv(const void *in, const size_t *send, void *out, const size_t *recv)
{
#ifdef HAVE_MPI
    if (g_mpi && g_size > 1) {
        int sc[g_size], sd[g_size], rc[g_size], rd[g_size];
        DMMP_TRY(int_counts(send, sc, sd, "an exchange sending"));
        DMMP_TRY(int_counts(recv, rc, rd, "an exchange receiving"));
        if (MPI_Alltoallv(in, sc, sd, MPI_BYTE, out, rc, rd, MPI_BYTE, MPI_COMM_WORLD) != MPI_SUCCESS)
            return dmmp_fail(DMMP_EIO, "dist: MPI_Alltoallv failed");
        return DMMP_OK;
    }
#endif
    if (send[0] != recv[0])
        return dmmp_fail(DMMP_EINVAL, "dist: one process sends itself %zu bytes but expects %zu", send[0], recv[0]);
    memmove(out, in, send[0]);
    return DMMP_OK;
}

dmmp_status dist_alltoall(const void *in, size_t bytes, void *out)
{
#ifdef HAVE_MPI
    if (g_mpi && g_size > 1) {
        if (bytes > (size_t)0x7fffffff / (size_t)g_size)
            return dmmp_fail(DMMP_EINVAL, "dist: %zu bytes per rank pair is too many", bytes);
        if (MPI_Alltoall(in, (int)bytes, MPI_BYTE, out, (int)bytes, MPI_BYTE, MPI_COMM_WORLD) != MPI_SUCCESS)
            return dmmp_fail(DMMP_EIO, "dist: MPI_Alltoall failed");
        return DMMP_OK;
    }
#endif
    memmove(out, in, bytes);
    return DMMP_OK;
}

dmmp_status dist_gatherv(const void *in, size_t bytes, void *out, const size_t *counts)
{
#ifdef HAVE_MPI
    if (g_mpi && g_size > 1) {
        int c[g_size], d[g_size];
        DMMP_TRY(int_counts(counts, c, d, "a gather"));
        if (bytes != counts[g_rank])
            return dmmp_fail(DMMP_EINVAL, "dist: rank %d sends %zu bytes but counts say %zu", g_rank, bytes, counts[g_rank]);
        if (MPI_Gatherv(in, (int)bytes, MPI_BYTE, out, c, d, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
            return dmmp_fail(DMMP_EIO, "dist: MPI_Gatherv failed");
        return DMMP_OK;
    }
#endif
    (void)counts;
    if (out) memmove(out, in, bytes);
    return DMMP_OK;
}

dmmp_status dist_broadcast(void *buf, size_t bytes)
{
#ifdef HAVE_MPI
    if (g_mpi && g_size > 1) {
        if (bytes > (size_t)0x7fffffff) return dmmp_fail(DMMP_EINVAL, "dist: a broadcast of %zu bytes is too long", bytes);
        if (MPI_Bcast(buf, (int)bytes, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
            return dmmp_fail(DMMP_EIO, "dist: MPI_Bcast failed");
    }
#else
    (void)buf;
    (void)bytes;
#endif
    return DMMP_OK;
}

dmmp_status dist_barrier(void)
{
#ifdef HAVE_MPI
    if (g_mpi && g_size > 1 && MPI_Barrier(MPI_COMM_WORLD) != MPI_SUCCESS)
        return dmmp_fail(DMMP_EIO, "dist: MPI_Barrier failed");
#endif
    return DMMP_OK;
}

int dist_local_size(void)
{
    if (g_size <= 1) return 1;
    const char *s = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (!s) s = getenv("MPI_LOCALNRANKS");
    int n = s ? atoi(s) : 0;
    return n >= 1 && n <= g_size ? n : 1;
}

void dist_abort(int code, const char *message)
{
    fprintf(stderr, "dmmp (rank %d of %d): %s\n", g_rank, g_size, message ? message : "failed");
    fflush(stderr);
#ifdef HAVE_MPI
    if (g_mpi) MPI_Abort(MPI_COMM_WORLD, code);
#endif
    exit(code);
}
