/* Sharded embedding tables: owner blocks and the collective lookup (see
 * table_shard.h). */
#include "model/table_shard.h"

#include <stdlib.h>
#include <string.h>

#include "core/dist.h"
#include "core/mem.h"

int64_t shard_block_lo(int64_t rows, int ranks, int r) { return (int64_t)r * rows / ranks; }

/* Rank r owns row when r R / N <= row < (r + 1) R / N (integer division),
 * i.e. r = ceil((row + 1) N / R) - 1 = floor(((row + 1) N - 1) / R). */
int shard_owner(int64_t rows, int ranks, int64_t row) { return (int)(((row + 1) * ranks - 1) / rows); }

/* LSD radix sort of non-negative int32 values, 8-bit digits; a pass whose
 * digit is the same for every value is skipped. */
static void sort_rows(int32_t *a, int64_t n, int32_t *tmp)
{
    int32_t *src = a, *dst = tmp;
    for (int shift = 0; shift < 32; shift += 8) {
        int64_t count[256] = {0};
        for (int64_t i = 0; i < n; i++) count[((uint32_t)src[i] >> shift) & 255]++;
        if (n == 0 || count[((uint32_t)src[0] >> shift) & 255] == n) continue;
        int64_t at = 0;
        for (int d = 0; d < 256; d++) {
            int64_t c = count[d];
            count[d] = at;
            at += c;
        }
        for (int64_t i = 0; i < n; i++) dst[count[((uint32_t)src[i] >> shift) & 255]++] = src[i];
        int32_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a) memcpy(a, src, (size_t)n * sizeof *a);
}

int64_t shard_distinct_rows(const int32_t *ids, int64_t n, int32_t *out, int32_t *tmp)
{
    if (n <= 0) return 0;
    memcpy(out, ids, (size_t)n * sizeof *out);
    sort_rows(out, n, tmp);
    int64_t k = 1;
    for (int64_t i = 1; i < n; i++)
        if (out[i] != out[k - 1]) out[k++] = out[i];
    return k;
}

void shard_remap(const int32_t *sorted, int64_t n_sorted, const int32_t *ids, int64_t n, int32_t *out)
{
    for (int64_t k = 0; k < n; k++) {
        int64_t lo = 0, hi = n_sorted;
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (sorted[mid] < ids[k])
                lo = mid + 1;
            else
                hi = mid;
        }
        out[k] = lo < n_sorted && sorted[lo] == ids[k] ? (int32_t)lo : -1;
    }
}

dmmp_status shard_comm_init(shard_comm *c, int max_tables)
{
    memset(c, 0, sizeof *c);
    c->ranks = dist_size();
    c->rank = dist_rank();
    c->max_tables = max_tables > 0 ? max_tables : 1;
    size_t cells = (size_t)c->ranks * (size_t)c->max_tables;
    c->counts_out = calloc(cells, sizeof *c->counts_out);
    c->counts_in = calloc(cells, sizeof *c->counts_in);
    c->send_bytes = calloc((size_t)c->ranks, sizeof *c->send_bytes);
    c->recv_bytes = calloc((size_t)c->ranks, sizeof *c->recv_bytes);
    if (!c->counts_out || !c->counts_in || !c->send_bytes || !c->recv_bytes) {
        shard_comm_free(c);
        return dmmp_fail(DMMP_ENOMEM, "sharded tables: out of memory for the counts of %d tables on %d ranks",
                         max_tables, dist_size());
    }
    return DMMP_OK;
}

void shard_comm_free(shard_comm *c)
{
    if (!c) return;
    free(c->counts_out);
    free(c->counts_in);
    free(c->send_bytes);
    free(c->recv_bytes);
    free(c->ids_out);
    free(c->ids_in);
    free(c->vec_out);
    free(c->vec_in);
    memset(c, 0, sizeof *c);
}

dmmp_status shard_fetch(shard_comm *c, shard_lookup *t, int n)
{
    int ranks = c->ranks, me = c->rank;
    if (n < 0 || n > c->max_tables)
        return dmmp_fail(DMMP_EINVAL, "sharded tables: a fetch of %d tables (set up for %d)", n, c->max_tables);
    /* Requests: the rows of table i owned by rank r are a contiguous run of
     * the ascending want list. */
    int64_t *co = c->counts_out, *ci = c->counts_in;
    int64_t n_out = 0;
    for (int i = 0; i < n; i++) {
        int64_t k = 0;
        for (int r = 0; r < ranks; r++) {
            int64_t hi = shard_block_lo(t[i].rows, ranks, r + 1), start = k;
            while (k < t[i].n_want && t[i].want[k] < hi) k++;
            co[(size_t)r * (size_t)n + (size_t)i] = k - start;
        }
        if (k != t[i].n_want || (t[i].n_want > 0 && t[i].want[0] < 0))
            return dmmp_fail(DMMP_EINVAL, "sharded table '%s': rank %d looks up a row outside [0, %lld)", t[i].name, me,
                             (long long)t[i].rows);
        n_out += t[i].n_want;
    }
    DMMP_TRY(dist_alltoall(co, (size_t)n * sizeof *co, ci));
    int64_t n_in = 0, vec_in = 0, vec_out = 0;
    for (int r = 0; r < ranks; r++) {
        int64_t so = 0, si = 0;
        for (int i = 0; i < n; i++) {
            int64_t o = co[(size_t)r * (size_t)n + (size_t)i], q = ci[(size_t)r * (size_t)n + (size_t)i];
            if (q < 0) return dmmp_fail(DMMP_EFORMAT, "sharded table '%s': rank %d asks for %lld rows", t[i].name, r, (long long)q);
            so += o;
            si += q;
            vec_in += o * t[i].dim;
            vec_out += q * t[i].dim;
        }
        c->send_bytes[r] = (size_t)so * sizeof(int32_t);
        c->recv_bytes[r] = (size_t)si * sizeof(int32_t);
        n_in += si;
    }
    DMMP_TRY(mem_grow((void **)&c->ids_out, &c->ids_out_cap, n_out, sizeof(int32_t), "sharded tables: requested rows"));
    DMMP_TRY(mem_grow((void **)&c->ids_in, &c->ids_in_cap, n_in, sizeof(int32_t), "sharded tables: rows requested by the other ranks"));
    int32_t *p = c->ids_out;
    for (int r = 0; r < ranks; r++)
        for (int i = 0; i < n; i++) {
            int64_t first = 0;
            for (int q = 0; q < r; q++) first += co[(size_t)q * (size_t)n + (size_t)i];
            int64_t cnt = co[(size_t)r * (size_t)n + (size_t)i];
            if (cnt) memcpy(p, t[i].want + first, (size_t)cnt * sizeof *p);
            p += cnt;
        }
    DMMP_TRY(dist_alltoallv(c->ids_out, c->send_bytes, c->ids_in, c->recv_bytes));
    for (int r = 0; r < ranks; r++)
        if (r != me) c->stats.id_bytes += (double)c->recv_bytes[r];

    /* Replies: the requested rows of this rank's block, in request order. */
    DMMP_TRY(mem_grow((void **)&c->vec_out, &c->vec_out_cap, vec_out, sizeof(float), "sharded tables: floats of replies"));
    DMMP_TRY(mem_grow((void **)&c->vec_in, &c->vec_in_cap, vec_in, sizeof(float), "sharded tables: floats of fetched rows"));
    const int32_t *q = c->ids_in;
    float *v = c->vec_out;
    for (int r = 0; r < ranks; r++) {
        int64_t si = 0, so = 0;
        for (int i = 0; i < n; i++) {
            int64_t cnt = ci[(size_t)r * (size_t)n + (size_t)i];
            int64_t lo = shard_block_lo(t[i].rows, ranks, me), hi = shard_block_lo(t[i].rows, ranks, me + 1);
            int dim = t[i].dim;
            for (int64_t k = 0; k < cnt; k++, q++, v += dim) {
                if (*q < lo || *q >= hi)
                    return dmmp_fail(DMMP_EFORMAT, "sharded table '%s': rank %d asks rank %d for row %d, outside its "
                                     "block [%lld, %lld)", t[i].name, r, me, (int)*q, (long long)lo, (long long)hi);
                memcpy(v, t[i].block + (size_t)(*q - lo) * (size_t)dim, (size_t)dim * sizeof *v);
            }
            si += cnt * dim;
            so += co[(size_t)r * (size_t)n + (size_t)i] * dim;
        }
        c->send_bytes[r] = (size_t)si * sizeof(float);
        c->recv_bytes[r] = (size_t)so * sizeof(float);
    }
    DMMP_TRY(dist_alltoallv(c->vec_out, c->send_bytes, c->vec_in, c->recv_bytes));
    for (int r = 0; r < ranks; r++)
        if (r != me) c->stats.vector_bytes += (double)c->recv_bytes[r];
    /* Rank r's reply for table i fills its run of the want list. */
    const float *src = c->vec_in;
    for (int r = 0; r < ranks; r++)
        for (int i = 0; i < n; i++) {
            int64_t first = 0;
            for (int s = 0; s < r; s++) first += co[(size_t)s * (size_t)n + (size_t)i];
            int64_t cnt = co[(size_t)r * (size_t)n + (size_t)i];
            size_t len = (size_t)cnt * (size_t)t[i].dim;
            if (len) memcpy(t[i].got + (size_t)first * (size_t)t[i].dim, src, len * sizeof *src);
            src += len;
        }
    c->stats.fetches++;
    return DMMP_OK;
}

dmmp_status shard_gather(const void *block, int64_t rows, size_t row_bytes, void *full, const char *what)
{
    int ranks = dist_size(), me = dist_rank();
    if (ranks <= 1) {
        if (full && rows > 0) memmove(full, block, (size_t)rows * row_bytes);
        return DMMP_OK;
    }
    if (me == 0 && !full && rows > 0) return dmmp_fail(DMMP_EINVAL, "gathering %s: rank 0 has no room for it", what);
    /* In each round rank r sends up to `piece` rows of its block. */
    int64_t most = 0;
    for (int r = 0; r < ranks; r++) {
        int64_t n = shard_block_lo(rows, ranks, r + 1) - shard_block_lo(rows, ranks, r);
        if (n > most) most = n;
    }
    int64_t piece = (int64_t)((256u << 20) / (row_bytes > 0 ? row_bytes : 1));
    if (piece < 1) piece = 1;
    if (piece > most) piece = most;
    size_t counts[ranks];
    uint8_t *stage = NULL;
    if (me == 0 && piece > 0) {
        stage = malloc((size_t)ranks * (size_t)piece * row_bytes);
        if (!stage)
            return dmmp_fail(DMMP_ENOMEM, "gathering %s: out of memory for %lld rows of %zu bytes from %d ranks", what,
                             (long long)piece, row_bytes, ranks);
    }
    int64_t lo_me = shard_block_lo(rows, ranks, me), n_me = shard_block_lo(rows, ranks, me + 1) - lo_me;
    dmmp_status s = DMMP_OK;
    for (int64_t at = 0; at < most && s == DMMP_OK; at += piece) {
        for (int r = 0; r < ranks; r++) {
            int64_t n = shard_block_lo(rows, ranks, r + 1) - shard_block_lo(rows, ranks, r) - at;
            counts[r] = (size_t)(n < 0 ? 0 : n > piece ? piece : n) * row_bytes;
        }
        const uint8_t *mine = (const uint8_t *)block + (size_t)(at < n_me ? at : n_me) * row_bytes;
        s = dist_gatherv(mine, counts[me], stage, counts);
        if (s == DMMP_OK && me == 0) {
            size_t off = 0;
            for (int r = 0; r < ranks; r++) {
                uint8_t *dst = (uint8_t *)full + (size_t)(shard_block_lo(rows, ranks, r) + at) * row_bytes;
                if (counts[r]) memcpy(dst, stage + off, counts[r]);
                off += counts[r];
            }
        }
    }
    free(stage);
    if (s != DMMP_OK) return dmmp_fail_prefix(s, "gathering %s", what);
    return DMMP_OK;
}
