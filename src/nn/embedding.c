#include "nn/embedding.h"

#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "simd/embed.h"

/* Below these sizes a parallel region costs more than it saves. */
enum { PAR_MIN_ROWS = 256, GATHER_CHUNK = 128, PAR_MIN_IDS = 4096, GRAD_CHUNK_ROWS = 64 };

/* Radix digits of at most 12 bits keep a pass's histogram (16 KiB) in L1 and
 * sort the ids of tables up to 16M rows in two passes (32 bits: three). */
enum { RADIX_MAX_BITS = 11, RADIX_MAX_PASSES = 3 };

dmmp_status embedding_init(embedding_table *t, const char *name, int64_t rows, int dim, float *weight)
{
    memset(t, 0, sizeof *t);
    if (!name || !*name) return dmmp_fail(DMMP_EINVAL, "embedding_init: the table needs a name");
    snprintf(t->name, sizeof t->name, "%s", name);
    if (rows < 1 || rows > (int64_t)INT32_MAX + 1)
        return dmmp_fail(DMMP_EINVAL, "embedding '%s': rows must be in [1, 2^31] (got %lld)", t->name,
                         (long long)rows);
    if (dim < 1) return dmmp_fail(DMMP_EINVAL, "embedding '%s': dim must be positive (got %d)", t->name, dim);
    if (!weight) return dmmp_fail(DMMP_EINVAL, "embedding '%s': weight buffer is NULL", t->name);
    t->rows = rows;
    t->dim = dim;
    t->weight = weight;
    return DMMP_OK;
}

void embedding_init_weights(embedding_table *t, float stddev, rng *r)
{
    rng_fill_normal(r, t->weight, (size_t)t->rows * (size_t)t->dim, stddev);
}

void embedding_init_weights_block(embedding_table *t, float stddev, rng *r, int64_t lo, int64_t hi)
{
    size_t d = (size_t)t->dim, before = (size_t)lo * d, mine = (size_t)(hi - lo) * d;
    size_t after = ((size_t)t->rows - (size_t)hi) * d;
    /* A normal value is two uniform draws (rng_normal): skipping a value
     * skips both. */
    for (size_t i = 0; i < 2 * before; i++) (void)rng_u64(r);
    rng_fill_normal(r, t->weight, mine, stddev);
    for (size_t i = 0; i < 2 * after; i++) (void)rng_u64(r);
}

static dmmp_status check_call(const embedding_table *t, const char *what, int batch, const void *rows_buf,
                              int stride)
{
    if (!t || !t->weight) return dmmp_fail(DMMP_EINVAL, "%s: table is not initialised", what);
    if (batch < 0) return dmmp_fail(DMMP_EINVAL, "embedding '%s' %s: negative batch %d", t->name, what, batch);
    if (stride < t->dim)
        return dmmp_fail(DMMP_EINVAL, "embedding '%s' %s: row stride %d is smaller than dim %d", t->name, what,
                         stride, t->dim);
    if (batch > 0 && !rows_buf)
        return dmmp_fail(DMMP_EINVAL, "embedding '%s' %s: output/gradient buffer is NULL", t->name, what);
    return DMMP_OK;
}

static dmmp_status check_ids(const embedding_table *t, const char *what, const int32_t *ids, int batch)
{
    if (batch > 0 && !ids) return dmmp_fail(DMMP_EINVAL, "embedding '%s' %s: ids is NULL", t->name, what);
    for (int b = 0; b < batch; b++)
        if (ids[b] < 0 || (int64_t)ids[b] >= t->rows)
            return dmmp_fail(DMMP_EINVAL, "embedding '%s' %s: id %d at batch row %d is outside [0, %lld)", t->name,
                             what, (int)ids[b], b, (long long)t->rows);
    return DMMP_OK;
}

/* Checks the CSR layout and every index; *n_ids receives offsets[batch]. */
static dmmp_status check_bag(const embedding_table *t, const char *what, const int64_t *offsets,
                             const int32_t *indices, int batch, int64_t *n_ids)
{
    if (!offsets) return dmmp_fail(DMMP_EINVAL, "embedding '%s' %s: offsets is NULL", t->name, what);
    if (offsets[0] != 0)
        return dmmp_fail(DMMP_EINVAL, "embedding '%s' %s: offsets[0] must be 0 (got %lld)", t->name, what,
                         (long long)offsets[0]);
    for (int b = 0; b < batch; b++)
        if (offsets[b + 1] < offsets[b])
            return dmmp_fail(DMMP_EINVAL, "embedding '%s' %s: offsets decrease at batch row %d (%lld then %lld)",
                             t->name, what, b, (long long)offsets[b], (long long)offsets[b + 1]);
    *n_ids = offsets[batch];
    if (*n_ids > INT32_MAX)
        return dmmp_fail(DMMP_EINVAL, "embedding '%s' %s: %lld ids in one batch exceed 2^31 - 1", t->name, what,
                         (long long)*n_ids);
    if (*n_ids > 0 && !indices) return dmmp_fail(DMMP_EINVAL, "embedding '%s' %s: indices is NULL", t->name, what);
    for (int b = 0; b < batch; b++)
        for (int64_t p = offsets[b]; p < offsets[b + 1]; p++)
            if (indices[p] < 0 || (int64_t)indices[p] >= t->rows)
                return dmmp_fail(DMMP_EINVAL,
                                 "embedding '%s' %s: id %d at batch row %d (indices[%lld]) is outside [0, %lld)",
                                 t->name, what, (int)indices[p], b, (long long)p, (long long)t->rows);
    return DMMP_OK;
}

/* The factor that turns a bag's weighted sum into its pooled value; forward
 * and backward both take it from here so they agree to the bit. */
static float bag_scale(const float *weights, int64_t begin, int64_t end, pool_mode mode)
{
    if (mode != POOL_MEAN || end == begin) return 1.0f;
    double total = 0;
    if (weights)
        for (int64_t p = begin; p < end; p++) total += weights[p];
    else
        total = (double)(end - begin);
    return total == 0 ? 0.0f : (float)(1.0 / total);
}

dmmp_status embedding_forward_single(const embedding_table *t, const int32_t *ids, int batch, float *out,
                                     int out_stride)
{
    DMMP_TRY(check_call(t, "forward", batch, out, out_stride));
    DMMP_TRY(check_ids(t, "forward", ids, batch));
    const embed_kernels *k = embed_kernels_get();
    const int n_chunks = (batch + GATHER_CHUNK - 1) / GATHER_CHUNK;
#pragma omp parallel for schedule(static) if (batch >= PAR_MIN_ROWS)
    for (int c = 0; c < n_chunks; c++) {
        int b0 = c * GATHER_CHUNK, n = batch - b0 < GATHER_CHUNK ? batch - b0 : GATHER_CHUNK;
        k->gather(t->dim, t->weight, ids + b0, n, out + (int64_t)b0 * out_stride, out_stride);
    }
    return DMMP_OK;
}

dmmp_status embedding_forward_bag(const embedding_table *t, const int64_t *offsets, const int32_t *indices,
                                  const float *weights, int batch, pool_mode mode, float *out, int out_stride)
{
    int64_t n_ids = 0;
    DMMP_TRY(check_call(t, "forward_bag", batch, out, out_stride));
    if (mode != POOL_SUM && mode != POOL_MEAN)
        return dmmp_fail(DMMP_EINVAL, "embedding '%s' forward_bag: unknown pooling mode %d", t->name, (int)mode);
    DMMP_TRY(check_bag(t, "forward_bag", offsets, indices, batch, &n_ids));
    const embed_kernels *k = embed_kernels_get();
#pragma omp parallel for schedule(static) if (batch >= PAR_MIN_ROWS)
    for (int b = 0; b < batch; b++) {
        int64_t p0 = offsets[b], p1 = offsets[b + 1];
        k->pool(t->dim, t->weight, t->dim, indices + p0, weights ? weights + p0 : NULL, p1 - p0,
                bag_scale(weights, p0, p1, mode), out + (int64_t)b * out_stride);
    }
    return DMMP_OK;
}

static void scratch_release_ids(embedding_scratch *s)
{
    int32_t **i32[] = {&s->src_row, &s->slot, &s->bag_of};
    for (size_t i = 0; i < sizeof i32 / sizeof i32[0]; i++) {
        mem_free(*i32[i]);
        *i32[i] = NULL;
    }
    mem_free(s->pairs);
    mem_free(s->pairs_tmp);
    mem_free(s->coef);
    mem_free(s->run_start);
    s->pairs = s->pairs_tmp = NULL;
    s->coef = NULL;
    s->run_start = NULL;
    s->capacity = 0;
}

/* Makes room for n_ids ids and batch rows; contents are not kept. */
static dmmp_status scratch_reserve(embedding_scratch *s, int64_t n_ids, int64_t batch)
{
    if (n_ids > s->capacity || !s->pairs) {
        /* Bags vary in size from batch to batch: grow by half again so a
         * slowly rising maximum costs few reallocations. */
        if (s->pairs && n_ids < s->capacity + s->capacity / 2) n_ids = s->capacity + s->capacity / 2;
        scratch_release_ids(s);
        size_t n = (size_t)n_ids, b32 = n * sizeof(int32_t);
        int32_t **i32[] = {&s->src_row, &s->slot, &s->bag_of};
        dmmp_status st = mem_alloc((void **)&s->pairs, n * sizeof(uint64_t), "embedding scratch ids");
        if (st == DMMP_OK) st = mem_alloc((void **)&s->pairs_tmp, n * sizeof(uint64_t), "embedding scratch ids");
        for (size_t i = 0; i < sizeof i32 / sizeof i32[0] && st == DMMP_OK; i++)
            st = mem_alloc((void **)i32[i], b32, "embedding scratch ids");
        if (st == DMMP_OK) st = mem_alloc((void **)&s->coef, n * sizeof(float), "embedding scratch coefficients");
        if (st == DMMP_OK) st = mem_alloc((void **)&s->run_start, (n + 1) * sizeof(int64_t), "embedding scratch runs");
        if (st != DMMP_OK) {
            scratch_release_ids(s);
            return st;
        }
        s->capacity = n_ids;
    }
    if (batch > s->batch_capacity || !s->bag_scale) {
        mem_free(s->bag_scale);
        s->bag_scale = NULL;
        s->batch_capacity = 0;
        DMMP_TRY(mem_alloc((void **)&s->bag_scale, (size_t)batch * sizeof(float), "embedding scratch bag scales"));
        s->batch_capacity = batch;
    }
    return DMMP_OK;
}

dmmp_status embedding_scratch_init(embedding_scratch *s, int64_t max_ids, int max_batch)
{
    memset(s, 0, sizeof *s);
    if (max_ids < 0 || max_batch < 0)
        return dmmp_fail(DMMP_EINVAL, "embedding_scratch_init: negative size (max_ids %lld, max_batch %d)",
                         (long long)max_ids, max_batch);
    DMMP_TRY(mem_alloc((void **)&s->hist, ((size_t)RADIX_MAX_PASSES << RADIX_MAX_BITS) * sizeof(uint32_t),
                       "radix histograms"));
    dmmp_status st = scratch_reserve(s, max_ids, max_batch);
    if (st != DMMP_OK) embedding_scratch_free(s);
    return st;
}

void embedding_scratch_free(embedding_scratch *s)
{
    scratch_release_ids(s);
    mem_free(s->bag_scale);
    mem_free(s->hist);
    memset(s, 0, sizeof *s);
}

/* Stable LSD radix sort of s->pairs[0..n) (id << 32 | position) by id, ids
 * in [0, max_key]. Stability keeps each id's occurrences in input order, which
 * is what makes the gradient sums deterministic. One read of the pairs fills
 * the histograms of every pass. */
static void radix_sort_ids(embedding_scratch *s, int64_t n, uint32_t max_key)
{
    int bits = 0;
    while (bits < 32 && (max_key >> bits) != 0) bits++;
    const int passes = (bits + RADIX_MAX_BITS - 1) / RADIX_MAX_BITS;
    if (n < 2 || passes == 0) return;
    const int digit = (bits + passes - 1) / passes;
    const uint32_t n_buckets = 1u << digit, mask = n_buckets - 1;
    uint32_t *restrict hist = s->hist;
    memset(hist, 0, (size_t)passes * n_buckets * sizeof *hist);
    const uint64_t *restrict in = s->pairs;
    for (int64_t i = 0; i < n; i++) {
        uint32_t key = (uint32_t)(in[i] >> 32);
        for (int pass = 0; pass < passes; pass++) hist[pass * n_buckets + ((key >> (pass * digit)) & mask)]++;
    }
    for (int pass = 0; pass < passes; pass++) {
        const int shift = 32 + pass * digit;
        uint32_t *restrict h = hist + pass * n_buckets;
        const uint64_t *restrict src = s->pairs;
        uint64_t *restrict dst = s->pairs_tmp;
        if (h[(src[0] >> shift) & mask] == (uint32_t)n) continue; /* one digit: order unchanged */
        uint32_t sum = 0;
        for (uint32_t d = 0; d < n_buckets; d++) {
            uint32_t c = h[d];
            h[d] = sum;
            sum += c;
        }
        for (int64_t i = 0; i < n; i++) dst[h[(src[i] >> shift) & mask]++] = src[i];
        s->pairs_tmp = s->pairs;
        s->pairs = dst;
    }
}

/* Shared tail of both backward passes: s->pairs holds the n ids and
 * their positions (s->pairs); with use_bags, s->bag_of maps a position to its batch
 * row (otherwise the position is the row); weighted says whether ids carry a coefficient
 * (a weight, a mean scale or both) or simply add. */
static dmmp_status backward_from_ids(const embedding_table *t, int64_t n, uint32_t max_key, const float *weights,
                                     int use_bags, int weighted, const float *dout, int dout_stride, sparse_grad *g,
                                     embedding_scratch *s)
{
    radix_sort_ids(s, n, max_key);
    const uint64_t *restrict pairs = s->pairs;
    const int32_t *restrict bag_of = s->bag_of;
    const float *restrict scale = s->bag_scale;
    int32_t *restrict slot = s->slot, *restrict src_row = s->src_row;
    float *restrict coef = s->coef;
    int64_t *restrict run_start = s->run_start;
    int64_t n_rows = 0;
    for (int64_t i = 0; i < n; i++) {
        if (i == 0 || (pairs[i] >> 32) != (pairs[i - 1] >> 32)) run_start[n_rows++] = i;
        slot[i] = (int32_t)(n_rows - 1);
        int32_t p = (int32_t)(uint32_t)pairs[i];
        int32_t b = use_bags ? bag_of[p] : p;
        src_row[i] = b;
        if (weighted) coef[i] = (weights ? weights[p] : 1.0f) * (use_bags ? scale[b] : 1.0f);
    }
    run_start[n_rows] = n;
    DMMP_TRY(sparse_grad_reserve(g, n_rows));
    for (int64_t u = 0; u < n_rows; u++) g->rows[u] = (int32_t)(pairs[run_start[u]] >> 32);
    g->n_rows = n_rows;

    const embed_kernels *k = embed_kernels_get();
    const int d = t->dim;
    const int64_t n_chunks = (n_rows + GRAD_CHUNK_ROWS - 1) / GRAD_CHUNK_ROWS;
    /* Each chunk owns its gradient rows and adds their contributions in sorted
     * (= input) order, so the schedule cannot change a single bit. */
#pragma omp parallel for schedule(dynamic, 1) if (n >= PAR_MIN_IDS)
    for (int64_t c = 0; c < n_chunks; c++) {
        int64_t u0 = c * GRAD_CHUNK_ROWS, u1 = u0 + GRAD_CHUNK_ROWS < n_rows ? u0 + GRAD_CHUNK_ROWS : n_rows;
        int64_t i0 = s->run_start[u0], i1 = s->run_start[u1];
        memset(g->values + u0 * d, 0, (size_t)(u1 - u0) * (size_t)d * sizeof(float));
        k->scatter_add(d, dout, dout_stride, s->src_row + i0, s->slot + i0, weighted ? s->coef + i0 : NULL, i1 - i0,
                       g->values);
    }
    return DMMP_OK;
}

static dmmp_status check_backward(const embedding_table *t, const char *what, int batch, const float *dout,
                                  int dout_stride, const sparse_grad *g, const embedding_scratch *s)
{
    DMMP_TRY(check_call(t, what, batch, dout, dout_stride));
    if (!g || !s || !s->hist)
        return dmmp_fail(DMMP_EINVAL, "embedding '%s' %s: gradient or scratch is missing or not initialised",
                         t->name, what);
    if (g->dim != t->dim)
        return dmmp_fail(DMMP_EINVAL, "embedding '%s' %s: sparse gradient has dim %d, table has dim %d", t->name,
                         what, g->dim, t->dim);
    return DMMP_OK;
}

dmmp_status embedding_backward_single(const embedding_table *t, const int32_t *ids, int batch, const float *dout,
                                      int dout_stride, sparse_grad *g, embedding_scratch *s)
{
    DMMP_TRY(check_backward(t, "backward", batch, dout, dout_stride, g, s));
    DMMP_TRY(check_ids(t, "backward", ids, batch));
    DMMP_TRY(scratch_reserve(s, batch, 0));
    uint32_t max_key = 0;
    for (int b = 0; b < batch; b++) {
        s->pairs[b] = (uint64_t)(uint32_t)ids[b] << 32 | (uint32_t)b;
        if ((uint32_t)ids[b] > max_key) max_key = (uint32_t)ids[b];
    }
    return backward_from_ids(t, batch, max_key, NULL, 0, 0, dout, dout_stride, g, s);
}

dmmp_status embedding_backward_bag(const embedding_table *t, const int64_t *offsets, const int32_t *indices,
                                   const float *weights, int batch, pool_mode mode, const float *dout,
                                   int dout_stride, sparse_grad *g, embedding_scratch *s)
{
    int64_t n = 0;
    DMMP_TRY(check_backward(t, "backward_bag", batch, dout, dout_stride, g, s));
    if (mode != POOL_SUM && mode != POOL_MEAN)
        return dmmp_fail(DMMP_EINVAL, "embedding '%s' backward_bag: unknown pooling mode %d", t->name, (int)mode);
    DMMP_TRY(check_bag(t, "backward_bag", offsets, indices, batch, &n));
    DMMP_TRY(scratch_reserve(s, n, batch));
    uint32_t max_key = 0;
    for (int b = 0; b < batch; b++) {
        s->bag_scale[b] = bag_scale(weights, offsets[b], offsets[b + 1], mode);
        for (int64_t p = offsets[b]; p < offsets[b + 1]; p++) {
            s->pairs[p] = (uint64_t)(uint32_t)indices[p] << 32 | (uint32_t)p;
            s->bag_of[p] = b;
            if ((uint32_t)indices[p] > max_key) max_key = (uint32_t)indices[p];
        }
    }
    int weighted = weights != NULL || mode == POOL_MEAN;
    return backward_from_ids(t, n, max_key, weights, 1, weighted, dout, dout_stride, g, s);
}
