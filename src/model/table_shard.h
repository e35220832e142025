/* Embedding tables sharded across the ranks of a job (README: "Several
 * processes", model.table_placement).
 *
 * Owner blocks: a table of R rows on N ranks is cut row-wise into N
 * contiguous blocks; rank r owns rows [r R / N, (r + 1) R / N) (integer
 * division) and holds only those rows' weights and optimiser state. The
 * blocks differ in size by at most one row.
 *
 * A lookup of a sharded table (shard_fetch) is collective: every rank
 * names the rows it needs (distinct, ascending), each owner receives the
 * requests for its block and replies with the vectors:
 *   MPI_Alltoall  the request counts (ranks x tables int64),
 *   MPI_Alltoallv the requested row ids (int32),
 *   MPI_Alltoallv the vectors (float), in the order of the requests.
 * One fetch serves every sharded table of a feature view at once. A rank
 * with nothing to look up still takes part, with zero requests. */
#ifndef DMMP_MODEL_TABLE_SHARD_H
#define DMMP_MODEL_TABLE_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* First row of rank r's block of a table of rows rows on ranks ranks
 * (r = ranks gives rows, the end of the last block). */
int64_t shard_block_lo(int64_t rows, int ranks, int r);

/* The rank whose block holds row (0 <= row < rows). */
int shard_owner(int64_t rows, int ranks, int64_t row);

/* The distinct values of ids[0..n), ascending, into out (room for n);
 * returns their count. tmp holds n values (the sort's other buffer). */
int64_t shard_distinct_rows(const int32_t *ids, int64_t n, int32_t *out, int32_t *tmp);

/* out[k] = the index of ids[k] in sorted[0..n_sorted) (distinct,
 * ascending); -1 when it is not there. */
void shard_remap(const int32_t *sorted, int64_t n_sorted, const int32_t *ids, int64_t n, int32_t *out);

/* One sharded table in one fetch. */
typedef struct shard_lookup {
    const char *name;      /* the table, for messages */
    int64_t rows;          /* rows of the whole table */
    int dim;
    const float *block;    /* this rank's block: rows [lo, hi) of the table, dim floats each */
    const int32_t *want;   /* n_want distinct rows, ascending, that this rank needs */
    int64_t n_want;
    float *got;            /* n_want x dim: receives the rows' vectors */
} shard_lookup;

/* What the lookups cost since the last reset: bytes this rank received
 * from the other ranks (requests it answers and vectors it was sent). */
typedef struct shard_stats {
    int64_t fetches;
    double id_bytes;
    double vector_bytes;
} shard_stats;

/* The buffers of the fetches, created once and grown. */
typedef struct shard_comm {
    int ranks, rank;
    int max_tables;
    int64_t *counts_out, *counts_in; /* ranks x max_tables */
    size_t *send_bytes, *recv_bytes; /* ranks */
    int32_t *ids_out, *ids_in;
    int64_t ids_out_cap, ids_in_cap;
    float *vec_out, *vec_in;
    int64_t vec_out_cap, vec_in_cap;
    shard_stats stats;
} shard_comm;

/* Sets up the buffers for fetches of up to max_tables tables on the ranks
 * of this job. */
dmmp_status shard_comm_init(shard_comm *c, int max_tables);

/* The collective lookup of n tables (see above): fills every t[i].got.
 * Every rank calls it with the same tables in the same order. */
dmmp_status shard_fetch(shard_comm *c, shard_lookup *t, int n);

/* Gathers a sharded array on rank 0: every rank gives its block (rows
 * [lo, hi) of its rank, row_bytes each) and rank 0 receives the whole
 * array of rows rows into full (NULL on the other ranks), in pieces of at
 * most about 256 MB per rank so no message passes MPI's 2 GB. Collective;
 * what is the array, for messages. */
dmmp_status shard_gather(const void *block, int64_t rows, size_t row_bytes, void *full, const char *what);

void shard_comm_free(shard_comm *c);

#endif
