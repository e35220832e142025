#include "data/import_rows.h"

#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

dmmp_status row_block_init(row_block *b, int n_single, int n_multi, int n_dense)
{
    memset(b, 0, sizeof *b);
    if (n_multi > ROW_BLOCK_MAX_MULTI)
        return dmmp_fail(DMMP_EINVAL, "row block: %d multi-valued fields, at most %d", n_multi, ROW_BLOCK_MAX_MULTI);
    b->n_single = n_single;
    b->n_multi = n_multi;
    b->n_dense = n_dense;
    b->cap = ROW_BLOCK_ROWS;
    size_t n = (size_t)b->cap;
    b->click = calloc(n, 1);
    b->conversion = calloc(n, 1);
    b->split = calloc(n, 1);
    b->user = calloc(n, sizeof(int32_t));
    b->item = calloc(n, sizeof(int32_t));
    b->sparse = calloc(n * (size_t)(n_single ? n_single : 1), sizeof(int32_t));
    b->dense = calloc(n * (size_t)(n_dense ? n_dense : 1), sizeof(float));
    int ok = b->click && b->conversion && b->split && b->user && b->item && b->sparse && b->dense;
    for (int k = 0; k < n_multi; k++) {
        b->multi_cap[k] = 4 * b->cap;
        b->offsets[k] = calloc(n + 1, sizeof(int64_t));
        b->indices[k] = malloc((size_t)b->multi_cap[k] * sizeof(int32_t));
        b->weights[k] = malloc((size_t)b->multi_cap[k] * sizeof(float));
        ok = ok && b->offsets[k] && b->indices[k] && b->weights[k];
    }
    if (!ok) {
        row_block_free(b);
        return dmmp_fail(DMMP_ENOMEM, "row block: out of memory");
    }
    return DMMP_OK;
}

void row_block_free(row_block *b)
{
    free(b->click);
    free(b->conversion);
    free(b->split);
    free(b->user);
    free(b->item);
    free(b->sparse);
    free(b->dense);
    for (int k = 0; k < ROW_BLOCK_MAX_MULTI; k++) {
        free(b->offsets[k]);
        free(b->indices[k]);
        free(b->weights[k]);
    }
    memset(b, 0, sizeof *b);
}

int64_t row_block_begin(row_block *b)
{
    int64_t r = b->n;
    b->click[r] = b->conversion[r] = b->split[r] = 0;
    b->user[r] = b->item[r] = 0;
    memset(b->sparse + r * b->n_single, 0, (size_t)b->n_single * sizeof(int32_t));
    memset(b->dense + r * b->n_dense, 0, (size_t)b->n_dense * sizeof(float));
    for (int k = 0; k < b->n_multi; k++) b->offsets[k][r + 1] = b->offsets[k][r];
    return r;
}

dmmp_status row_block_push_multi(row_block *b, int k, int32_t index, float weight)
{
    int64_t at = b->offsets[k][b->n + 1];
    if (at == b->multi_cap[k]) {
        int64_t cap = b->multi_cap[k] * 2;
        int32_t *idx = realloc(b->indices[k], (size_t)cap * sizeof *idx);
        if (idx) b->indices[k] = idx;
        float *wt = realloc(b->weights[k], (size_t)cap * sizeof *wt);
        if (wt) b->weights[k] = wt;
        if (!idx || !wt) return dmmp_fail(DMMP_ENOMEM, "row block: out of memory for multi-valued entries");
        b->multi_cap[k] = cap;
    }
    b->indices[k][at] = index;
    b->weights[k][at] = weight;
    b->offsets[k][b->n + 1] = at + 1;
    return DMMP_OK;
}

dmmp_status row_block_end(row_block *b, dataset_writer *w)
{
    b->n++;
    if (b->n == b->cap) return row_block_flush(b, w);
    return DMMP_OK;
}

dmmp_status row_block_flush(row_block *b, dataset_writer *w)
{
    if (b->n == 0) return DMMP_OK;
    const int64_t *offs[ROW_BLOCK_MAX_MULTI];
    const int32_t *idx[ROW_BLOCK_MAX_MULTI];
    const float *wts[ROW_BLOCK_MAX_MULTI];
    for (int k = 0; k < b->n_multi; k++) {
        offs[k] = b->offsets[k];
        idx[k] = b->indices[k];
        wts[k] = b->weights[k];
    }
    dataset_rows rows = {
        .n = b->n,
        .click = b->click,
        .conversion = b->conversion,
        .split = b->split,
        .user = b->user,
        .item = b->item,
        .sparse = b->sparse,
        .multi_offsets = b->n_multi ? offs : NULL,
        .multi_indices = b->n_multi ? idx : NULL,
        .multi_weights = b->n_multi ? wts : NULL,
        .dense = b->n_dense ? b->dense : NULL,
    };
    dmmp_status s = dataset_writer_append(w, &rows);
    b->n = 0;
    for (int k = 0; k < b->n_multi; k++) b->offsets[k][0] = 0;
    return s;
}

dmmp_status entity_table_init(entity_table *t, int width)
{
    memset(t, 0, sizeof *t);
    t->width = width;
    return entity_table_resize(t, 1);
}

void entity_table_free(entity_table *t)
{
    free(t->rows);
    free(t->set);
    memset(t, 0, sizeof *t);
}

static dmmp_status reserve_rows(entity_table *t, int64_t n)
{
    if (n <= t->cap) return DMMP_OK;
    int64_t cap = t->cap ? t->cap : 1024;
    while (cap < n) cap *= 2;
    int32_t *rows = realloc(t->rows, (size_t)cap * (size_t)(t->width ? t->width : 1) * sizeof(int32_t));
    if (rows) t->rows = rows;
    uint8_t *set = realloc(t->set, (size_t)cap);
    if (set) t->set = set;
    if (!rows || !set) return dmmp_fail(DMMP_ENOMEM, "entity table: out of memory for %lld rows", (long long)cap);
    memset(t->rows + t->cap * t->width, 0, (size_t)(cap - t->cap) * (size_t)t->width * sizeof(int32_t));
    memset(t->set + t->cap, 0, (size_t)(cap - t->cap));
    t->cap = cap;
    return DMMP_OK;
}

dmmp_status entity_table_resize(entity_table *t, int64_t n)
{
    DMMP_TRY(reserve_rows(t, n));
    t->n = n;
    return DMMP_OK;
}

dmmp_status entity_table_offer(entity_table *t, int32_t index, const int32_t *values)
{
    if (index <= 0) return DMMP_OK;
    if (index >= t->n) DMMP_TRY(entity_table_resize(t, (int64_t)index + 1));
    if (t->set[index]) return DMMP_OK;
    t->set[index] = 1;
    memcpy(t->rows + (int64_t)index * t->width, values, (size_t)t->width * sizeof(int32_t));
    return DMMP_OK;
}

/* A uniform draw in [0, 1) from (seed, row_index) alone. */
static double row_draw(uint64_t seed, int64_t row_index)
{
    uint64_t st = seed * 0x9e3779b97f4a7c15ULL ^ (uint64_t)row_index;
    (void)rng_splitmix64(&st);
    uint64_t h = rng_splitmix64(&st);
    return (double)(h >> 11) * 0x1.0p-53;
}

int import_row_is_val(uint64_t seed, int64_t row_index, double fraction)
{
    return row_draw(seed, row_index) < fraction;
}

data_split import_row_split(uint64_t seed, int64_t row_index, double val_fraction, double test_fraction)
{
    double u = row_draw(seed, row_index);
    if (u < val_fraction) return SPLIT_VAL;
    if (u < val_fraction + test_fraction) return SPLIT_TEST;
    return SPLIT_TRAIN;
}

dmmp_status import_check_fractions(double val_fraction, double test_fraction)
{
    if (!(val_fraction >= 0 && val_fraction < 1))
        return dmmp_fail(DMMP_EINVAL, "--val-fraction %g outside [0, 1)", val_fraction);
    if (!(test_fraction >= 0 && test_fraction < 1))
        return dmmp_fail(DMMP_EINVAL, "--test-fraction %g outside [0, 1)", test_fraction);
    if (!(val_fraction + test_fraction < 1))
        return dmmp_fail(DMMP_EINVAL, "--val-fraction %g + --test-fraction %g leave no training rows (the sum must be below 1)",
                         val_fraction, test_fraction);
    return DMMP_OK;
}

/* Walks "F=B,F=B"; calls back per entry; returns an error for malformed ones. */
static dmmp_status find_entry(const char *spec, const char *name, int64_t *buckets, const char *const *names,
                              int n_names)
{
    *buckets = 0;
    if (!spec || !*spec) return DMMP_OK;
    const char *p = spec;
    while (*p) {
        const char *comma = strchr(p, ',');
        const char *stop = comma ? comma : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (!eq || eq == p)
            return dmmp_fail(DMMP_EINVAL, "--hash: entry '%.*s' is not FIELD=BUCKETS", (int)(stop - p), p);
        char *num_end;
        long long b = strtoll(eq + 1, &num_end, 10);
        if (num_end != stop || b <= 0 || b >= INT32_MAX)
            return dmmp_fail(DMMP_EINVAL, "--hash: buckets of '%.*s' must be an integer in [1, %d)", (int)(stop - p), p,
                             INT32_MAX);
        size_t len = (size_t)(eq - p);
        if (name && strlen(name) == len && !memcmp(name, p, len)) *buckets = b;
        if (names) {
            int known = 0;
            for (int i = 0; i < n_names; i++) known |= strlen(names[i]) == len && !memcmp(names[i], p, len);
            if (!known) return dmmp_fail(DMMP_EINVAL, "--hash: field '%.*s' is not a field of this dataset", (int)len, p);
        }
        p = comma ? comma + 1 : stop;
    }
    return DMMP_OK;
}

dmmp_status import_hash_buckets(const char *spec, const char *name, int64_t *buckets)
{
    return find_entry(spec, name, buckets, NULL, 0);
}

dmmp_status import_check_hash_spec(const char *spec, const char *const *names, int n)
{
    int64_t unused;
    return find_entry(spec, NULL, &unused, names, n);
}

void import_options_default(import_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->val_fraction = 0.1;
    opt->seed = 1;
    opt->progress = 1;
}
