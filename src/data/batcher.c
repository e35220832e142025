/* The batcher (see batcher.h for the design). */
#include "data/batcher.h"

#include <hdf5.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

#define DEFAULT_WINDOW_CHUNKS 4

typedef enum { SLOT_FREE, SLOT_READY } slot_state;

/* The rows of the split from one window of chunks, column by column. */
typedef struct window {
    slot_state state;
    int64_t index, n;
    uint8_t *click, *conv;
    int32_t *user, *item, *sparse;
    float *dense;
    int64_t *row;
    int64_t **off;
    int32_t **idx;
    float **wt;
    int64_t *nnz_cap;
    uint32_t *order; /* delivery order of the rows */
} window;

struct batcher {
    const dataset *d;
    data_split split;
    int batch_size, shuffle, window_chunks, threaded;
    uint64_t seed;
    int n_single, n_multi, n_dense;
    int64_t chunk_rows, n_chunks, n_nonempty, split_rows, window_cap;
    int64_t *nonempty; /* chunk indices with rows of the split, ascending */
    int64_t *plan;     /* this epoch's chunk order (this shard's chunks of it) */
    int64_t n_plan;    /* chunks in plan */
    int64_t *chunk_count; /* per chunk: rows of the split */
    int shard_rank, shard_count;
    int64_t epoch_rows; /* rows of the split in this epoch's plan */
    int64_t n_windows;
    int *side_cols[4]; /* /samples/sparse column of each side's fields */
    window slot[2];
    dataset_block readbuf; /* used by whichever thread loads */
    batch out;
    int64_t *out_nnz_cap;
    /* consumer position */
    int epoch;
    int64_t cur_window, cur_offset;
    /* prefetch thread */
    pthread_t thread;
    int thread_running, stop;
    int64_t thread_first;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    dmmp_status thread_status;
    char thread_msg[1024];
};

static dmmp_status window_alloc(batcher *b, window *w)
{
    size_t cap = (size_t)b->window_cap;
    w->click = malloc(cap);
    w->conv = malloc(cap);
    w->user = malloc(cap * sizeof(int32_t));
    w->item = malloc(cap * sizeof(int32_t));
    w->sparse = malloc(cap * (size_t)(b->n_single ? b->n_single : 1) * sizeof(int32_t));
    w->dense = malloc(cap * (size_t)(b->n_dense ? b->n_dense : 1) * sizeof(float));
    w->row = malloc(cap * sizeof(int64_t));
    w->order = malloc(cap * sizeof(uint32_t));
    size_t k = (size_t)(b->n_multi ? b->n_multi : 1);
    w->off = calloc(k, sizeof *w->off);
    w->idx = calloc(k, sizeof *w->idx);
    w->wt = calloc(k, sizeof *w->wt);
    w->nnz_cap = calloc(k, sizeof *w->nnz_cap);
    int ok = w->click && w->conv && w->user && w->item && w->sparse && w->dense && w->row && w->order && w->off &&
             w->idx && w->wt && w->nnz_cap;
    for (int m = 0; ok && m < b->n_multi; m++) ok = (w->off[m] = malloc((cap + 1) * sizeof(int64_t))) != NULL;
    w->index = -1;
    return ok ? DMMP_OK : dmmp_fail(DMMP_ENOMEM, "batcher: out of memory for a window of %lld rows", (long long)cap);
}

static void window_free(batcher *b, window *w)
{
    free(w->click);
    free(w->conv);
    free(w->user);
    free(w->item);
    free(w->sparse);
    free(w->dense);
    free(w->row);
    free(w->order);
    for (int m = 0; m < b->n_multi; m++) {
        if (w->off) free(w->off[m]);
        if (w->idx) free(w->idx[m]);
        if (w->wt) free(w->wt[m]);
    }
    free(w->off);
    free(w->idx);
    free(w->wt);
    free(w->nnz_cap);
}

/* Appends the rows of the split in readbuf to w. */
static dmmp_status window_take(batcher *b, window *w, const dataset_block *rb)
{
    for (int m = 0; m < b->n_multi; m++) {
        int64_t need = w->off[m][w->n] + rb->multi_offsets[m][rb->n];
        if (need > w->nnz_cap[m]) {
            int64_t cap = need * 2;
            int32_t *ni = realloc(w->idx[m], (size_t)cap * sizeof *ni);
            if (ni) w->idx[m] = ni;
            float *nw = realloc(w->wt[m], (size_t)cap * sizeof *nw);
            if (nw) w->wt[m] = nw;
            if (!ni || !nw) return dmmp_fail(DMMP_ENOMEM, "batcher: out of memory for multi-valued ids");
            w->nnz_cap[m] = cap;
        }
    }
    for (int64_t i = 0; i < rb->n; i++) {
        if (rb->split[i] != b->split) continue;
        int64_t j = w->n++;
        w->click[j] = rb->click[i];
        w->conv[j] = rb->conversion[i];
        w->user[j] = rb->user[i];
        w->item[j] = rb->item[i];
        w->row[j] = rb->start + i;
        memcpy(w->sparse + j * b->n_single, rb->sparse + i * b->n_single, (size_t)b->n_single * sizeof(int32_t));
        if (b->n_dense) memcpy(w->dense + j * b->n_dense, rb->dense + i * b->n_dense, (size_t)b->n_dense * sizeof(float));
        for (int m = 0; m < b->n_multi; m++) {
            int64_t lo = rb->multi_offsets[m][i], len = rb->multi_offsets[m][i + 1] - lo, at = w->off[m][j];
            memcpy(w->idx[m] + at, rb->multi_indices[m] + lo, (size_t)len * sizeof(int32_t));
            memcpy(w->wt[m] + at, rb->multi_weights[m] + lo, (size_t)len * sizeof(float));
            w->off[m][j + 1] = at + len;
        }
    }
    return DMMP_OK;
}

/* Loads window k of the current plan into w (called by one thread at a time). */
static dmmp_status window_load(batcher *b, int64_t k, window *w)
{
    w->n = 0;
    for (int m = 0; m < b->n_multi; m++) w->off[m][0] = 0;
    int64_t first = k * b->window_chunks, last = first + b->window_chunks;
    if (last > b->n_plan) last = b->n_plan;
    int64_t n_samples = dataset_n_samples(b->d);
    for (int64_t c = first; c < last; c++) {
        int64_t start = b->plan[c] * b->chunk_rows;
        int64_t n = n_samples - start < b->chunk_rows ? n_samples - start : b->chunk_rows;
        DMMP_TRY(dataset_read_block(b->d, start, n, &b->readbuf));
        DMMP_TRY(window_take(b, w, &b->readbuf));
    }
    for (int64_t j = 0; j < w->n; j++) w->order[j] = (uint32_t)j;
    if (b->shuffle) {
        rng r;
        rng_stream(&r, b->seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(b->epoch + 1)), 0x57494e44ULL + (uint64_t)k);
        rng_shuffle_u32(&r, w->order, (size_t)w->n);
    }
    w->index = k;
    return DMMP_OK;
}

static void *prefetch_main(void *arg)
{
    batcher *b = arg;
    for (int64_t k = b->thread_first; k < b->n_windows; k++) {
        window *w = &b->slot[k % 2];
        pthread_mutex_lock(&b->lock);
        while (!b->stop && w->state != SLOT_FREE) pthread_cond_wait(&b->cond, &b->lock);
        int stop = b->stop;
        pthread_mutex_unlock(&b->lock);
        if (stop) break;
        dmmp_status s = window_load(b, k, w);
        pthread_mutex_lock(&b->lock);
        if (s != DMMP_OK) {
            b->thread_status = s;
            snprintf(b->thread_msg, sizeof b->thread_msg, "%s", dmmp_errmsg());
        } else {
            w->state = SLOT_READY;
        }
        pthread_cond_broadcast(&b->cond);
        pthread_mutex_unlock(&b->lock);
        if (s != DMMP_OK) break;
    }
    return NULL;
}

static void stop_thread(batcher *b)
{
    if (!b->thread_running) return;
    pthread_mutex_lock(&b->lock);
    b->stop = 1;
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
    pthread_join(b->thread, NULL);
    b->thread_running = 0;
}

/* Sets the epoch's plan and the consumer position, restarting the prefetch. */
static dmmp_status reset_to(batcher *b, int epoch, int64_t window_index, int64_t offset)
{
    stop_thread(b);
    b->epoch = epoch;
    memcpy(b->plan, b->nonempty, (size_t)b->n_nonempty * sizeof *b->plan);
    if (b->shuffle) {
        rng r;
        rng_stream(&r, b->seed, 0x4348554e4bULL + (uint64_t)epoch);
        for (int64_t i = b->n_nonempty; i > 1; i--) {
            int64_t j = (int64_t)rng_below(&r, (uint64_t)i), t = b->plan[i - 1];
            b->plan[i - 1] = b->plan[j];
            b->plan[j] = t;
        }
    }
    /* A shard takes the chunks at positions rank, rank + count, ... of the
     * common order: the shards of one epoch are disjoint and cover it. */
    b->n_plan = 0;
    b->epoch_rows = 0;
    for (int64_t i = 0; i < b->n_nonempty; i++) {
        if (i % b->shard_count != b->shard_rank) continue;
        b->plan[b->n_plan++] = b->plan[i];
        b->epoch_rows += b->chunk_count[b->plan[i]];
    }
    b->cur_window = window_index;
    b->cur_offset = offset;
    b->slot[0].state = b->slot[1].state = SLOT_FREE;
    b->slot[0].index = b->slot[1].index = -1;
    b->stop = 0;
    b->thread_status = DMMP_OK;
    if (b->threaded && window_index < b->n_windows) {
        b->thread_first = window_index;
        if (pthread_create(&b->thread, NULL, prefetch_main, b) != 0)
            return dmmp_fail(DMMP_EIO, "batcher: cannot start the prefetch thread");
        b->thread_running = 1;
    }
    return DMMP_OK;
}

/* The loaded window k (waits for the prefetch thread, or loads it here). */
static dmmp_status acquire(batcher *b, int64_t k, window **out)
{
    window *w = &b->slot[k % 2];
    if (!b->threaded) {
        if (w->index != k) DMMP_TRY(window_load(b, k, w));
        *out = w;
        return DMMP_OK;
    }
    pthread_mutex_lock(&b->lock);
    while (w->state != SLOT_READY && b->thread_status == DMMP_OK) pthread_cond_wait(&b->cond, &b->lock);
    dmmp_status s = w->state == SLOT_READY ? DMMP_OK : b->thread_status;
    pthread_mutex_unlock(&b->lock);
    if (s != DMMP_OK) return dmmp_fail(s, "%s", b->thread_msg);
    *out = w;
    return DMMP_OK;
}

static void release(batcher *b, int64_t k)
{
    window *w = &b->slot[k % 2];
    if (!b->threaded) {
        w->index = -1;
        return;
    }
    pthread_mutex_lock(&b->lock);
    w->state = SLOT_FREE;
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

/* Copies take rows of w (in delivery order from cur_offset) to the batch at fill. */
static dmmp_status copy_rows(batcher *b, const window *w, int fill, int64_t take)
{
    batch *o = &b->out;
    for (int m = 0; m < b->n_multi; m++) {
        int64_t need = o->multi[m].offsets[fill];
        for (int64_t t = 0; t < take; t++) {
            uint32_t j = w->order[b->cur_offset + t];
            need += w->off[m][j + 1] - w->off[m][j];
        }
        if (need > b->out_nnz_cap[m]) {
            int64_t cap = need * 2;
            int32_t *ni = realloc(o->multi[m].indices, (size_t)cap * sizeof *ni);
            if (ni) o->multi[m].indices = ni;
            float *nw = realloc(o->multi[m].weights, (size_t)cap * sizeof *nw);
            if (nw) o->multi[m].weights = nw;
            if (!ni || !nw) return dmmp_fail(DMMP_ENOMEM, "batcher: out of memory for a batch's multi-valued ids");
            b->out_nnz_cap[m] = cap;
        }
    }
    for (int64_t t = 0; t < take; t++) {
        uint32_t j = w->order[b->cur_offset + t];
        int64_t r = fill + t;
        o->click[r] = w->click[j];
        o->conversion[r] = w->conv[j];
        o->user[r] = w->user[j];
        o->item[r] = w->item[j];
        o->row[r] = w->row[j];
        const int32_t *src = w->sparse + (int64_t)j * b->n_single;
        for (int s = 0; s < 4; s++) {
            int nf = o->side[s].n_fields;
            int32_t *dst = o->side[s].ids + r * nf;
            for (int c = 0; c < nf; c++) dst[c] = src[b->side_cols[s][c]];
        }
        if (b->n_dense) memcpy(o->dense + r * b->n_dense, w->dense + (int64_t)j * b->n_dense, (size_t)b->n_dense * 4);
        for (int m = 0; m < b->n_multi; m++) {
            batch_multi *bm = &o->multi[m];
            int64_t lo = w->off[m][j], len = w->off[m][j + 1] - lo, at = bm->offsets[r];
            memcpy(bm->indices + at, w->idx[m] + lo, (size_t)len * sizeof(int32_t));
            memcpy(bm->weights + at, w->wt[m] + lo, (size_t)len * sizeof(float));
            bm->offsets[r + 1] = at + len;
        }
    }
    return DMMP_OK;
}

dmmp_status batcher_next(batcher *b, const batch **out)
{
    *out = NULL;
    int fill = 0;
    for (int m = 0; m < b->n_multi; m++) b->out.multi[m].offsets[0] = 0;
    while (fill < b->batch_size && b->cur_window < b->n_windows) {
        window *w = NULL;
        DMMP_TRY(acquire(b, b->cur_window, &w));
        int64_t take = w->n - b->cur_offset;
        if (take > b->batch_size - fill) take = b->batch_size - fill;
        if (take > 0) DMMP_TRY(copy_rows(b, w, fill, take));
        fill += (int)(take > 0 ? take : 0);
        b->cur_offset += take > 0 ? take : 0;
        if (b->cur_offset >= w->n) {
            release(b, b->cur_window);
            b->cur_window++;
            b->cur_offset = 0;
        }
    }
    if (fill == 0) return DMMP_OK;
    b->out.n = fill;
    *out = &b->out;
    return DMMP_OK;
}

/* Counts the split's rows per chunk from the split column, a chunk at a time. */
static dmmp_status count_chunks(batcher *b)
{
    int64_t n = dataset_n_samples(b->d);
    uint8_t *buf = malloc((size_t)b->chunk_rows);
    b->nonempty = malloc((size_t)(b->n_chunks ? b->n_chunks : 1) * sizeof(int64_t));
    b->plan = malloc((size_t)(b->n_chunks ? b->n_chunks : 1) * sizeof(int64_t));
    b->chunk_count = calloc((size_t)(b->n_chunks ? b->n_chunks : 1), sizeof(int64_t));
    if (!buf || !b->nonempty || !b->plan || !b->chunk_count) {
        free(buf);
        return dmmp_fail(DMMP_ENOMEM, "batcher: out of memory");
    }
    for (int64_t c = 0; c < b->n_chunks; c++) {
        int64_t start = c * b->chunk_rows, m = n - start < b->chunk_rows ? n - start : b->chunk_rows, cnt = 0;
        dmmp_status s = dataset_read_split(b->d, start, m, buf);
        if (s != DMMP_OK) {
            free(buf);
            return s;
        }
        for (int64_t i = 0; i < m; i++) cnt += buf[i] == b->split;
        b->chunk_count[c] = cnt;
        if (cnt > 0) b->nonempty[b->n_nonempty++] = c;
        b->split_rows += cnt;
    }
    free(buf);
    /* The same number of chunks, so of windows, every epoch. */
    int64_t mine = (b->n_nonempty - b->shard_rank + b->shard_count - 1) / b->shard_count;
    if (mine < 0) mine = 0;
    b->n_windows = (mine + b->window_chunks - 1) / b->window_chunks;
    return DMMP_OK;
}

dmmp_status batcher_open_opts(batcher **out, const dataset *d, data_split split, int batch_size, int shuffle,
                              uint64_t seed, const batcher_options *opts)
{
    *out = NULL;
    batcher_options o;
    batcher_options_default(&o);
    if (opts) o = *opts;
    if (o.shard_count == 0) o.shard_count = 1;
    if (o.shard_count < 1 || o.shard_rank < 0 || o.shard_rank >= o.shard_count)
        return dmmp_fail(DMMP_EINVAL, "batcher: shard %d of %d", o.shard_rank, o.shard_count);
    if (batch_size < 1) return dmmp_fail(DMMP_EINVAL, "batcher: batch size %d must be >= 1", batch_size);
    if (o.window_chunks < 1) return dmmp_fail(DMMP_EINVAL, "batcher: window_chunks %d must be >= 1", o.window_chunks);
    if ((int)split < SPLIT_TRAIN || (int)split > SPLIT_TEST) return dmmp_fail(DMMP_EINVAL, "batcher: bad split %d", (int)split);
    batcher *b = calloc(1, sizeof *b);
    if (!b) return dmmp_fail(DMMP_ENOMEM, "batcher: out of memory");
    b->d = d;
    b->split = split;
    b->batch_size = batch_size;
    b->shuffle = shuffle != 0;
    b->seed = seed;
    b->window_chunks = o.window_chunks;
    b->shard_rank = o.shard_rank;
    b->shard_count = o.shard_count;
    hbool_t safe = 0;
    H5is_library_threadsafe(&safe);
    b->threaded = o.prefetch && safe;
    b->n_single = dataset_n_single(d);
    b->n_multi = dataset_n_multi(d);
    b->n_dense = dataset_get_schema(d)->n_dense;
    b->chunk_rows = dataset_chunk_rows(d);
    b->n_chunks = (dataset_n_samples(d) + b->chunk_rows - 1) / b->chunk_rows;
    b->window_cap = b->chunk_rows * b->window_chunks;
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->cond, NULL);
    dmmp_status s = count_chunks(b);
    if (s == DMMP_OK) s = window_alloc(b, &b->slot[0]);
    if (s == DMMP_OK) s = window_alloc(b, &b->slot[1]);
    if (s == DMMP_OK) s = batch_alloc(d, &b->out, batch_size);
    for (int sd = 0; s == DMMP_OK && sd < 4; sd++) {
        int nf = b->out.side[sd].n_fields;
        b->side_cols[sd] = malloc((size_t)(nf ? nf : 1) * sizeof(int));
        if (!b->side_cols[sd]) s = dmmp_fail(DMMP_ENOMEM, "batcher: out of memory");
        for (int c = 0; s == DMMP_OK && c < nf; c++) b->side_cols[sd][c] = dataset_single_column(d, b->out.side[sd].fields[c]);
    }
    if (s == DMMP_OK) {
        b->out_nnz_cap = calloc((size_t)(b->n_multi ? b->n_multi : 1), sizeof(int64_t));
        if (!b->out_nnz_cap) s = dmmp_fail(DMMP_ENOMEM, "batcher: out of memory");
    }
    if (s == DMMP_OK) s = reset_to(b, 0, 0, 0);
    if (s != DMMP_OK) {
        batcher_close(b);
        return s;
    }
    *out = b;
    return DMMP_OK;
}

void batcher_options_default(batcher_options *o)
{
    *o = (batcher_options){DEFAULT_WINDOW_CHUNKS, 1, 0, 1};
}

dmmp_status batcher_open(batcher **out, const dataset *d, data_split split, int batch_size, int shuffle,
                         uint64_t seed)
{
    return batcher_open_opts(out, d, split, batch_size, shuffle, seed, NULL);
}

dmmp_status batcher_start_epoch(batcher *b, int epoch)
{
    if (epoch < 0) return dmmp_fail(DMMP_EINVAL, "batcher: epoch %d must be >= 0", epoch);
    return reset_to(b, epoch, 0, 0);
}

batcher_position batcher_get_position(const batcher *b)
{
    batcher_position p = {b->epoch, b->cur_window, b->cur_offset};
    return p;
}

dmmp_status batcher_set_position(batcher *b, batcher_position p)
{
    if (p.epoch < 0 || p.window < 0 || p.window > b->n_windows || p.offset < 0 ||
        (p.window == b->n_windows && p.offset != 0) || p.offset >= b->window_cap)
        return dmmp_fail(DMMP_EINVAL, "batcher: position (epoch %d, window %lld, offset %lld) is outside the %lld windows",
                         p.epoch, (long long)p.window, (long long)p.offset, (long long)b->n_windows);
    return reset_to(b, p.epoch, p.window, p.offset);
}

int64_t batcher_split_rows(const batcher *b) { return b->split_rows; }

int64_t batcher_epoch_rows(const batcher *b) { return b->epoch_rows; }

void batcher_close(batcher *b)
{
    if (!b) return;
    stop_thread(b);
    window_free(b, &b->slot[0]);
    window_free(b, &b->slot[1]);
    dataset_block_free(&b->readbuf);
    batch_free(&b->out);
    for (int s = 0; s < 4; s++) free(b->side_cols[s]);
    free(b->out_nnz_cap);
    free(b->nonempty);
    free(b->plan);
    free(b->chunk_count);
    pthread_mutex_destroy(&b->lock);
    pthread_cond_destroy(&b->cond);
    free(b);
}
