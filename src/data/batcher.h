/* The batcher: streams one split of a dataset in mini-batches, fast enough
 * for the trainer to call every step (>= 1M samples/s).
 *
 * Reading. The split column is read once at open to count the rows of the
 * split in every HDF5 chunk; chunks without such rows are never read. An
 * epoch visits the non-empty chunks in order, or, with shuffle, in a seeded
 * permutation (seed, epoch). Consecutive chunks of that order form windows
 * of window_chunks chunks; a window's rows of the split are loaded into
 * memory and, with shuffle, permuted (seed, epoch, window). Batches are cut
 * from the windows in order and may span two windows; the last batch of an
 * epoch may be short. Memory: two windows (the one being consumed and the
 * one being prefetched) plus one chunk of read buffer, whatever the file size.
 *
 * Threads. A prefetch thread (pthreads) loads the next window while the
 * caller consumes the current one. While a batcher is open its thread is the
 * only one that reads the dataset: the caller must not call dataset_read_* on
 * the same dataset (nor open two batchers on it) meanwhile. When the HDF5
 * library is not built thread-safe, windows are loaded synchronously instead.
 *
 * Position. (epoch, window, offset) names the next sample: offset rows of
 * window `window` of the epoch's order are consumed. Restoring a saved
 * position replays exactly the same remaining batches. */
#ifndef DMMP_DATA_BATCHER_H
#define DMMP_DATA_BATCHER_H

#include <stdint.h>

#include "core/status.h"
#include "data/batch.h"
#include "data/dataset.h"

typedef struct batcher_position {
    int epoch;
    int64_t window; /* index of the window in the epoch's chunk order */
    int64_t offset; /* samples of that window already delivered */
} batcher_position;

typedef struct batcher_options {
    int window_chunks; /* chunks per shuffle window (default 4) */
    int prefetch;      /* 1: load on a separate thread (default); 0: synchronously */
    /* Shards (several processes): shard_rank of shard_count (0 or 1: the
     * whole split) delivers the chunks at positions shard_rank, shard_rank +
     * shard_count, ... of the epoch's chunk order, the same order on every
     * shard; so in one epoch every row of the split reaches exactly one shard. */
    int shard_rank, shard_count;
} batcher_options;

typedef struct batcher batcher;

/* The defaults: 4 chunks a window, prefetch on, the whole split. */
void batcher_options_default(batcher_options *o);

/* Opens a batcher over split of d at epoch 0; d must outlive it. */
dmmp_status batcher_open(batcher **out, const dataset *d, data_split split, int batch_size, int shuffle,
                         uint64_t seed);

/* batcher_open with explicit options (NULL: defaults). */
dmmp_status batcher_open_opts(batcher **out, const dataset *d, data_split split, int batch_size, int shuffle,
                              uint64_t seed, const batcher_options *opts);

/* The next batch (valid until the next call), or *out = NULL at the end of the epoch. */
dmmp_status batcher_next(batcher *b, const batch **out);

/* Restarts at the beginning of epoch (its own chunk and row order). */
dmmp_status batcher_start_epoch(batcher *b, int epoch);

/* Where the next batch starts (for checkpoints). */
batcher_position batcher_get_position(const batcher *b);

/* Resumes at a saved position; later batches equal those after the save. */
dmmp_status batcher_set_position(batcher *b, batcher_position pos);

/* Rows of the split (the samples of one epoch). */
int64_t batcher_split_rows(const batcher *b);

/* Rows this batcher delivers in the current epoch (its shard's; the whole
 * split without shards). Shards of one epoch may differ by up to a few chunks. */
int64_t batcher_epoch_rows(const batcher *b);

/* Stops the prefetch thread and frees b (NULL is fine). */
void batcher_close(batcher *b);

#endif
