/* The gradient exchange of data-parallel training (see grad_exchange.h).
 *
 * One rank's packet of sparse gradients, 8-byte aligned:
 *   int64 n_local, int64 rows[n_tables] (rows touched per table),
 *   then per table with rows: int32 row ids (ascending), float values
 *   (rows x dim), padded to 8 bytes. */
#include "train/grad_exchange.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/dist.h"
#include "core/mem.h"
#include "model/table_shard.h"

/* Table i of one rank's packet: its rows, their values and the rank's
 * weight n_r / N, with the merge's cursor. */
typedef struct rank_part {
    const int32_t *rows;
    const float *values;
    int64_t n, next;
    float w;
} rank_part;

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

static size_t table_bytes(int64_t rows, int dim)
{
    return pad8((size_t)rows * sizeof(int32_t) + (size_t)rows * (size_t)dim * sizeof(float));
}

static size_t header_bytes(int n_tables) { return sizeof(int64_t) * (size_t)(1 + n_tables); }

dmmp_status grad_exchange_init(grad_exchange *gx, const features *f, const model *m)
{
    memset(gx, 0, sizeof *gx);
    gx->ranks = dist_size();
    gx->rank = dist_rank();
    gx->n_tables = f->n_tables;
    if (gx->ranks <= 1) return DMMP_OK;
    DMMP_TRY(dist_sum_op_create(&gx->dense, (int64_t)m->params.total));
    gx->bytes = calloc((size_t)gx->ranks, sizeof *gx->bytes);
    gx->shard_send_bytes = calloc((size_t)gx->ranks, sizeof *gx->shard_send_bytes);
    gx->shard_recv_bytes = calloc((size_t)gx->ranks, sizeof *gx->shard_recv_bytes);
    gx->merged = calloc((size_t)(f->n_tables ? f->n_tables : 1), sizeof *gx->merged);
    gx->parts = calloc((size_t)(f->n_tables ? f->n_tables : 1) * (size_t)gx->ranks, sizeof *gx->parts);
    if (!gx->bytes || !gx->merged || !gx->parts || !gx->shard_send_bytes || !gx->shard_recv_bytes) {
        grad_exchange_free(gx);
        return dmmp_fail(DMMP_ENOMEM, "gradient exchange: out of memory for %lld dense parameters",
                         (long long)m->params.total);
    }
    for (int i = 0; i < f->n_tables; i++) {
        const feature_table *t = &f->tables[i];
        dmmp_status s = sparse_grad_init(&gx->merged[i], t->grad.capacity > 0 ? t->grad.capacity : 1, t->emb.dim);
        if (s != DMMP_OK) {
            grad_exchange_free(gx);
            return s;
        }
    }
    return DMMP_OK;
}

void grad_exchange_free(grad_exchange *gx)
{
    if (!gx) return;
    dist_sum_op_free(gx->dense);
    free(gx->send);
    free(gx->recv);
    free(gx->bytes);
    free(gx->shard_send);
    free(gx->shard_recv);
    free(gx->shard_send_bytes);
    free(gx->shard_recv_bytes);
    if (gx->merged)
        for (int i = 0; i < gx->n_tables; i++) sparse_grad_free(&gx->merged[i]);
    free(gx->merged);
    free(gx->parts);
    memset(gx, 0, sizeof *gx);
}

static dmmp_status grow(uint8_t **buf, int64_t *cap, size_t need)
{
    return mem_grow((void **)buf, cap, (int64_t)need, 1, "gradient exchange: bytes of sparse gradients");
}

static dmmp_status pack(grad_exchange *gx, const features *f, int n_local, size_t *out_bytes)
{
    size_t need = header_bytes(f->n_tables);
    for (int i = 0; i < f->n_tables; i++)
        if (!f->tables[i].sharded) need += table_bytes(f->tables[i].grad.n_rows, f->tables[i].emb.dim);
    DMMP_TRY(grow(&gx->send, &gx->send_cap, need));
    int64_t head[1 + f->n_tables];
    head[0] = n_local;
    for (int i = 0; i < f->n_tables; i++) head[1 + i] = f->tables[i].sharded ? 0 : f->tables[i].grad.n_rows;
    memcpy(gx->send, head, sizeof head);
    uint8_t *p = gx->send + header_bytes(f->n_tables);
    for (int i = 0; i < f->n_tables; i++) {
        const sparse_grad *g = &f->tables[i].grad;
        if (g->n_rows == 0 || f->tables[i].sharded) continue;
        size_t rb = (size_t)g->n_rows * sizeof(int32_t), vb = (size_t)g->n_rows * (size_t)g->dim * sizeof(float);
        memcpy(p, g->rows, rb);
        memcpy(p + rb, g->values, vb);
        memset(p + rb + vb, 0, table_bytes(g->n_rows, g->dim) - rb - vb);
        p += table_bytes(g->n_rows, g->dim);
    }
    *out_bytes = need;
    return DMMP_OK;
}

/* Table i of every rank's packet: its rows, their values and the rank's
 * weight n_r / N, and the merge of them into out (ascending rows; a row's
 * value is the weighted sum over the ranks that touched it, in rank order). */

static void merge_table(rank_part *part, int ranks, int dim, sparse_grad *out)
{
    int64_t o = 0;
    for (;;) {
        int64_t row = INT64_MAX;
        for (int r = 0; r < ranks; r++)
            if (part[r].next < part[r].n && part[r].rows[part[r].next] < row) row = part[r].rows[part[r].next];
        if (row == INT64_MAX) break;
        float *dst = out->values + (size_t)o * (size_t)dim;
        int first = 1;
        for (int r = 0; r < ranks; r++) {
            rank_part *q = &part[r];
            if (q->next >= q->n || q->rows[q->next] != row) continue;
            const float *src = q->values + (size_t)q->next * (size_t)dim;
            float w = q->w;
            if (first)
                for (int j = 0; j < dim; j++) dst[j] = w * src[j];
            else
                for (int j = 0; j < dim; j++) dst[j] += w * src[j];
            first = 0;
            q->next++;
        }
        out->rows[o++] = (int32_t)row;
    }
    out->n_rows = o;
}

/* Rank r's packet at p, of `bytes` bytes, holding tables idx[0..n) (NULL:
 * every table in order): points each table's part for r at its rows and
 * values, with the rank's weight n_r / n_total. Rows outside a sharded
 * table's own block are refused (they were sent to the wrong owner). */
static dmmp_status read_packet(const grad_exchange *gx, const features *f, const uint8_t *p, size_t bytes, int r,
                               const int *idx, int n, int64_t n_total, const char *what)
{
    int ranks = gx->ranks;
    int64_t head[1 + n];
    memcpy(head, p, sizeof head);
    float w = (float)((double)head[0] / (double)n_total);
    const uint8_t *q = p + header_bytes(n);
    for (int k = 0; k < n; k++) {
        int i = idx ? idx[k] : k;
        const feature_table *t = &f->tables[i];
        rank_part *pt = &gx->parts[(size_t)i * (size_t)ranks + (size_t)r];
        pt->n = head[1 + k];
        pt->next = 0;
        pt->w = w;
        pt->rows = (const int32_t *)q;
        pt->values = (const float *)(q + (size_t)pt->n * sizeof(int32_t));
        q += table_bytes(pt->n, t->emb.dim);
        if (!idx) continue;
        for (int64_t j = 0; j < pt->n; j++)
            if (pt->rows[j] < t->row_lo || pt->rows[j] >= t->row_hi)
                return dmmp_fail(DMMP_EFORMAT, "gradient exchange: rank %d sent rank %d row %d of sharded table "
                                 "'%s', outside its block [%lld, %lld)", r, gx->rank, (int)pt->rows[j], t->emb.name,
                                 (long long)t->row_lo, (long long)t->row_hi);
    }
    if ((size_t)(q - p) != bytes)
        return dmmp_fail(DMMP_EFORMAT, "gradient exchange: rank %d sent %zu bytes of %s gradients, its header "
                         "describes %zu (the ranks run different models?)", r, bytes, what, (size_t)(q - p));
    return DMMP_OK;
}

/* Room in each merged gradient of tables idx[0..n) (NULL: all) for the rows of every rank's part. */
static dmmp_status reserve_merged(grad_exchange *gx, const int *idx, int n)
{
    for (int k = 0; k < n; k++) {
        int i = idx ? idx[k] : k;
        int64_t cap = 0;
        for (int r = 0; r < gx->ranks; r++) cap += gx->parts[(size_t)i * (size_t)gx->ranks + (size_t)r].n;
        DMMP_TRY(sparse_grad_reserve(&gx->merged[i], cap > 0 ? cap : 1));
    }
    return DMMP_OK;
}

static dmmp_status exchange_sparse(grad_exchange *gx, features *f, int n_local, int64_t n_total)
{
    size_t mine = 0;
    DMMP_TRY(pack(gx, f, n_local, &mine));
    uint64_t mine64 = mine, all64[gx->ranks];
    DMMP_TRY(dist_allgather(&mine64, sizeof mine64, all64));
    size_t total = 0;
    for (int r = 0; r < gx->ranks; r++) {
        gx->bytes[r] = (size_t)all64[r];
        total += gx->bytes[r];
    }
    DMMP_TRY(grow(&gx->recv, &gx->recv_cap, total));
    DMMP_TRY(dist_allgatherv(gx->send, mine, gx->recv, gx->bytes));
    gx->stats.sparse_bytes += (double)(total - mine);

    double t0 = clock_wall_seconds();
    /* Where each rank's table parts are, and room for the merged rows. */
    int nt = f->n_tables, ranks = gx->ranks;
    rank_part *parts = gx->parts;
    const uint8_t *p = gx->recv;
    for (int r = 0; r < ranks; r++) {
        DMMP_TRY(read_packet(gx, f, p, gx->bytes[r], r, NULL, nt, n_total, "sparse"));
        p += gx->bytes[r];
    }
    dmmp_status s = reserve_merged(gx, NULL, nt);
    if (s == DMMP_OK) {
#pragma omp parallel for schedule(dynamic, 1) if (nt > 1)
        for (int i = 0; i < nt; i++) {
            if (f->tables[i].sharded) continue; /* exchange_sharded */
            merge_table(&parts[(size_t)i * (size_t)ranks], ranks, f->tables[i].emb.dim, &gx->merged[i]);
            /* The merged rows become the table's gradient; its old buffers
             * are the next merge's room. */
            sparse_grad tmp = f->tables[i].grad;
            f->tables[i].grad = gx->merged[i];
            gx->merged[i] = tmp;
            /* MPI moves the dense blocks on only inside MPI calls: one per
             * table, from the thread that may call MPI (FUNNELED) */
            if (omp_get_thread_num() == 0) dist_sum_f32_progress(gx->dense);
        }
    }
    gx->stats.merge_seconds += clock_wall_seconds() - t0;
    return s;
}

/* The rows of g in [lo, hi): g->rows is ascending, so they are a run
 * starting at *at (advanced past them). */
static int64_t rows_below(const sparse_grad *g, int64_t *at, int64_t hi)
{
    int64_t start = *at;
    while (*at < g->n_rows && g->rows[*at] < hi) (*at)++;
    return *at - start;
}

/* Sharded tables: every rank sends each owner the gradient rows of its
 * block (one MPI_Alltoallv for all sharded tables, after an MPI_Alltoall
 * of the sizes), and each owner merges the ranks' rows in rank order,
 * with the replicated tables' arithmetic (merge_table), so a row's value
 * is bit for bit what a replicated table would get; the merged rows
 * become the table's gradient as rows of the owner's block.
 *
 * The packet to one owner, 8-byte aligned: int64 n_local, int64 rows per
 * sharded table, then per sharded table int32 global rows (ascending) and
 * float values (rows x dim), padded to 8 bytes. */
static dmmp_status exchange_sharded(grad_exchange *gx, features *f, int n_local, int64_t n_total)
{
    int ranks = gx->ranks, ns = 0;
    int idx[f->n_tables > 0 ? f->n_tables : 1];
    for (int i = 0; i < f->n_tables; i++)
        if (f->tables[i].sharded) idx[ns++] = i;
    if (ns == 0) return DMMP_OK;
    /* Sizes of the packets, then the packets. */
    int64_t at[ns], cnt[ranks][ns];
    size_t total_out = 0;
    memset(at, 0, sizeof at);
    for (int r = 0; r < ranks; r++) {
        size_t bytes = header_bytes(ns);
        for (int k = 0; k < ns; k++) {
            const feature_table *t = &f->tables[idx[k]];
            cnt[r][k] = rows_below(&t->grad, &at[k], shard_block_lo(t->emb.rows, ranks, r + 1));
            bytes += table_bytes(cnt[r][k], t->emb.dim);
        }
        gx->shard_send_bytes[r] = bytes;
        total_out += bytes;
    }
    DMMP_TRY(grow(&gx->shard_send, &gx->shard_send_cap, total_out));
    uint8_t *p = gx->shard_send;
    memset(at, 0, sizeof at);
    for (int r = 0; r < ranks; r++) {
        int64_t head[1 + ns];
        head[0] = n_local;
        for (int k = 0; k < ns; k++) head[1 + k] = cnt[r][k];
        memcpy(p, head, sizeof head);
        p += header_bytes(ns);
        for (int k = 0; k < ns; k++) {
            const sparse_grad *g = &f->tables[idx[k]].grad;
            size_t rb = (size_t)cnt[r][k] * sizeof(int32_t), vb = (size_t)cnt[r][k] * (size_t)g->dim * sizeof(float);
            memcpy(p, g->rows + at[k], rb);
            memcpy(p + rb, g->values + (size_t)at[k] * (size_t)g->dim, vb);
            memset(p + rb + vb, 0, table_bytes(cnt[r][k], g->dim) - rb - vb);
            p += table_bytes(cnt[r][k], g->dim);
            at[k] += cnt[r][k];
        }
    }
    uint64_t out64[ranks], in64[ranks];
    for (int r = 0; r < ranks; r++) out64[r] = gx->shard_send_bytes[r];
    DMMP_TRY(dist_alltoall(out64, sizeof(uint64_t), in64));
    size_t total_in = 0;
    for (int r = 0; r < ranks; r++) {
        gx->shard_recv_bytes[r] = (size_t)in64[r];
        total_in += gx->shard_recv_bytes[r];
        if (r != gx->rank) gx->stats.sharded_bytes += (double)in64[r];
    }
    DMMP_TRY(grow(&gx->shard_recv, &gx->shard_recv_cap, total_in));
    DMMP_TRY(dist_alltoallv(gx->shard_send, gx->shard_send_bytes, gx->shard_recv, gx->shard_recv_bytes));

    double t0 = clock_wall_seconds();
    rank_part *parts = gx->parts;
    const uint8_t *q = gx->shard_recv;
    for (int r = 0; r < ranks; r++) {
        DMMP_TRY(read_packet(gx, f, q, gx->shard_recv_bytes[r], r, idx, ns, n_total, "sharded"));
        q += gx->shard_recv_bytes[r];
    }
    dmmp_status s = reserve_merged(gx, idx, ns);
    if (s == DMMP_OK) {
#pragma omp parallel for schedule(dynamic, 1) if (ns > 1)
        for (int k = 0; k < ns; k++) {
            int i = idx[k];
            feature_table *t = &f->tables[i];
            sparse_grad *g = &gx->merged[i];
            merge_table(&parts[(size_t)i * (size_t)ranks], ranks, t->emb.dim, g);
            for (int64_t j = 0; j < g->n_rows; j++) g->rows[j] -= (int32_t)t->row_lo; /* the owner's own rows */
            sparse_grad tmp = t->grad;
            t->grad = *g;
            *g = tmp;
        }
    }
    gx->stats.merge_seconds += clock_wall_seconds() - t0;
    return s;
}

dmmp_status grad_exchange_step(grad_exchange *gx, features *f, model *m, int n_local, int64_t n_total)
{
    if (!grad_exchange_active(gx)) return DMMP_OK;
    if (n_total <= 0) return dmmp_fail(DMMP_EINVAL, "gradient exchange: a step of %lld rows", (long long)n_total);
    double t0 = clock_wall_seconds();
    param_buffer *pb = &m->params;
    float w = (float)((double)n_local / (double)n_total);
    if (n_local == 0) {
        memset(pb->grads, 0, pb->total * sizeof(float));
    } else if (w != 1.0f) {
#pragma omp parallel for schedule(static) if (pb->total > 65536)
        for (size_t i = 0; i < pb->total; i++) pb->grads[i] *= w;
    }
    /* The dense blocks travel while the tables' rows are gathered and merged. */
    DMMP_TRY(dist_sum_f32_start(gx->dense, pb->grads));
    gx->stats.dense_bytes += 2.0 * (double)(gx->ranks - 1) / (double)gx->ranks * (double)pb->total * sizeof(float);
    dmmp_status st = exchange_sparse(gx, f, n_local, n_total);
    if (st == DMMP_OK) st = exchange_sharded(gx, f, n_local, n_total);
    if (st != DMMP_OK) return st; /* the job ends: the pending sum is waited for when gx is freed */
    DMMP_TRY(dist_sum_f32_finish(gx->dense));
    /* The step's losses: the row-weighted mean over the ranks. */
    double loss[TERM_COUNT + 1];
    for (int k = 0; k < TERM_COUNT; k++) loss[k] = n_local ? m->term_loss[k] * (double)n_local : 0;
    loss[TERM_COUNT] = n_local ? m->total_loss * (double)n_local : 0;
    DMMP_TRY(dist_sum_f64(loss, TERM_COUNT + 1));
    for (int k = 0; k < TERM_COUNT; k++) m->term_loss[k] = loss[k] / (double)n_total;
    m->total_loss = loss[TERM_COUNT] / (double)n_total;
    gx->stats.steps++;
    gx->stats.seconds += clock_wall_seconds() - t0;
    return DMMP_OK;
}
