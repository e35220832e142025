/* Dense Adam / AdamW and the lazy sparse optimisers (see optim.h). */
#include "nn/optim.h"

#include <math.h>
#include <string.h>

#include "core/mem.h"
#include "simd/optim.h"

/* Floats per OpenMP work item of a dense update: large enough to amortise
 * scheduling, small enough to balance two to a few dozen threads. */
#define DENSE_CHUNK 16384
/* Below this many floats (dense) or touched elements (sparse) a single thread
 * is faster than waking the team. */
#define PARALLEL_MIN 65536
/* Rows ahead whose state the lazy sparse step prefetches. */
#define SPARSE_PREFETCH 8
/* Reduction blocks: fixed size and combined in index order, so the sum does
 * not depend on how many threads computed the blocks. */
#define SUMSQ_BLOCK 32768
#define SUMSQ_GROUP 256

static int finite_in(float x, float lo, float hi) { return isfinite(x) && x >= lo && x <= hi; }

/* Bias-corrected constants of the t-th update (t >= 1) of one Adam moment
 * pair; shared by the dense step and the per-row lazy step so a row updated
 * k times matches k dense steps bit for bit. */
static adam_coeffs adam_coeffs_at(float lr, float beta1, float beta2, float eps, int64_t t)
{
    double bc1 = 1.0 - pow((double)beta1, (double)t);
    double bc2 = 1.0 - pow((double)beta2, (double)t);
    adam_coeffs c = {
        .beta1 = beta1,
        .one_minus_beta1 = (float)(1.0 - (double)beta1),
        .beta2 = beta2,
        .one_minus_beta2 = (float)(1.0 - (double)beta2),
        .step_size = (float)((double)lr / bc1),
        .inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2)),
        .eps = eps,
        .decay = 0.0f,
        .l2 = 0.0f,
        .grad_scale = 1.0f,
    };
    return c;
}

double optim_sum_squares(const float *x, size_t n)
{
    const optim_kernels *k = optim_kernels_get();
    size_t n_blocks = (n + SUMSQ_BLOCK - 1) / SUMSQ_BLOCK;
    double total = 0.0;
    for (size_t first = 0; first < n_blocks; first += SUMSQ_GROUP) {
        double partial[SUMSQ_GROUP];
        long group = (long)(n_blocks - first < SUMSQ_GROUP ? n_blocks - first : SUMSQ_GROUP);
#pragma omp parallel for schedule(static) if (n >= PARALLEL_MIN)
        for (long b = 0; b < group; b++) {
            size_t start = (first + (size_t)b) * SUMSQ_BLOCK;
            size_t len = n - start < SUMSQ_BLOCK ? n - start : SUMSQ_BLOCK;
            partial[b] = k->sum_squares(x + start, len);
        }
        for (long b = 0; b < group; b++) total += partial[b];
    }
    return total;
}

/* ---- dense Adam / AdamW ------------------------------------------------ */

adam_config adam_config_default(void)
{
    adam_config c = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                     .weight_decay = 0.0f, .decoupled = 0, .clip_norm = 0.0f};
    return c;
}

static dmmp_status adam_config_check(const adam_config *c)
{
    if (!c) return dmmp_fail(DMMP_EINVAL, "adam: config is NULL");
    if (!(isfinite(c->lr) && c->lr > 0))
        return dmmp_fail(DMMP_EINVAL, "adam: lr must be positive and finite (got %g)", (double)c->lr);
    if (!finite_in(c->beta1, 0.0f, 1.0f) || c->beta1 == 1.0f)
        return dmmp_fail(DMMP_EINVAL, "adam: beta1 must be in [0, 1) (got %g)", (double)c->beta1);
    if (!finite_in(c->beta2, 0.0f, 1.0f) || c->beta2 == 1.0f)
        return dmmp_fail(DMMP_EINVAL, "adam: beta2 must be in [0, 1) (got %g)", (double)c->beta2);
    if (!(isfinite(c->eps) && c->eps > 0))
        return dmmp_fail(DMMP_EINVAL, "adam: eps must be positive and finite (got %g)", (double)c->eps);
    if (!(isfinite(c->weight_decay) && c->weight_decay >= 0))
        return dmmp_fail(DMMP_EINVAL, "adam: weight_decay must be >= 0 and finite (got %g)",
                         (double)c->weight_decay);
    if (c->decoupled != 0 && c->decoupled != 1)
        return dmmp_fail(DMMP_EINVAL, "adam: decoupled must be 0 or 1 (got %d)", c->decoupled);
    if (!(isfinite(c->clip_norm) && c->clip_norm >= 0))
        return dmmp_fail(DMMP_EINVAL, "adam: clip_norm must be >= 0 and finite (got %g)", (double)c->clip_norm);
    return DMMP_OK;
}

dmmp_status adam_init(adam_state *s, size_t n, const adam_config *c)
{
    memset(s, 0, sizeof *s);
    DMMP_TRY(adam_config_check(c));
    s->cfg = *c;
    s->n = n;
    DMMP_TRY(mem_alloc_f32(&s->m, n, "adam first moments"));
    dmmp_status st = mem_alloc_f32(&s->v, n, "adam second moments");
    if (st != DMMP_OK) {
        adam_free(s);
        return st;
    }
    return DMMP_OK;
}

static dmmp_status adam_check_call(const adam_state *s, const float *w, const float *g)
{
    if (!s || !s->m || !s->v) return dmmp_fail(DMMP_EINVAL, "adam_step: state is not initialised");
    if (s->n > 0 && (!w || !g)) return dmmp_fail(DMMP_EINVAL, "adam_step: weights or gradient is NULL");
    return adam_config_check(&s->cfg);
}

/* Records the gradient norm and turns it into the clip factor. */
static dmmp_status adam_clip_scale(adam_state *s, double norm, float *grad_scale)
{
    *grad_scale = 1.0f;
    if (!isfinite(norm) || norm < 0)
        return dmmp_fail(DMMP_ENUMERIC, "adam_step: gradient norm %g is not finite at step %lld (%zu parameters)",
                         norm, (long long)s->step + 1, s->n);
    s->last_grad_norm = norm;
    if (s->cfg.clip_norm > 0 && norm > s->cfg.clip_norm) *grad_scale = (float)(s->cfg.clip_norm / norm);
    return DMMP_OK;
}

static void adam_apply(adam_state *s, float *w, const float *g, float grad_scale)
{
    const adam_config *cfg = &s->cfg;
    int64_t t = s->step + 1;
    adam_coeffs c = adam_coeffs_at(cfg->lr, cfg->beta1, cfg->beta2, cfg->eps, t);
    c.grad_scale = grad_scale;
    if (cfg->decoupled) c.decay = cfg->lr * cfg->weight_decay;
    else c.l2 = cfg->weight_decay;

    const optim_kernels *k = optim_kernels_get();
    size_t n = s->n;
    long n_chunks = (long)((n + DENSE_CHUNK - 1) / DENSE_CHUNK);
    float *m = s->m, *v = s->v;
#pragma omp parallel for schedule(static) if (n >= PARALLEL_MIN)
    for (long ch = 0; ch < n_chunks; ch++) {
        size_t off = (size_t)ch * DENSE_CHUNK;
        size_t len = n - off < DENSE_CHUNK ? n - off : DENSE_CHUNK;
        k->adam_update(w + off, m + off, v + off, g + off, len, &c);
    }
    s->step = t;
}

dmmp_status adam_step(adam_state *s, float *w, const float *g)
{
    DMMP_TRY(adam_check_call(s, w, g));
    float grad_scale = 1.0f;
    if (s->cfg.clip_norm > 0) DMMP_TRY(adam_clip_scale(s, sqrt(optim_sum_squares(g, s->n)), &grad_scale));
    adam_apply(s, w, g, grad_scale);
    return DMMP_OK;
}

dmmp_status adam_step_with_norm(adam_state *s, float *w, const float *g, double grad_norm)
{
    DMMP_TRY(adam_check_call(s, w, g));
    float grad_scale;
    DMMP_TRY(adam_clip_scale(s, grad_norm, &grad_scale));
    adam_apply(s, w, g, grad_scale);
    return DMMP_OK;
}

void adam_free(adam_state *s)
{
    if (!s) return;
    mem_free(s->m);
    mem_free(s->v);
    memset(s, 0, sizeof *s);
}

/* ---- lazy sparse optimisers -------------------------------------------- */

sparse_opt_config sparse_opt_config_default(sparse_opt_kind kind)
{
    sparse_opt_config c = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                           .initial_accumulator = 0.1f, .l2 = 0.0f};
    if (kind == SPARSE_OPT_ADAGRAD) c.eps = 1e-7f;
    return c;
}

static const char *sparse_opt_kind_name(sparse_opt_kind kind)
{
    return kind == SPARSE_OPT_ADAM ? "sparse adam" : "sparse adagrad";
}

static dmmp_status sparse_opt_config_check(sparse_opt_kind kind, const sparse_opt_config *c)
{
    const char *who = sparse_opt_kind_name(kind);
    if (!c) return dmmp_fail(DMMP_EINVAL, "%s: config is NULL", who);
    if (!(isfinite(c->lr) && c->lr > 0))
        return dmmp_fail(DMMP_EINVAL, "%s: lr must be positive and finite (got %g)", who, (double)c->lr);
    if (!(isfinite(c->eps) && c->eps > 0))
        return dmmp_fail(DMMP_EINVAL, "%s: eps must be positive and finite (got %g)", who, (double)c->eps);
    if (!(isfinite(c->l2) && c->l2 >= 0))
        return dmmp_fail(DMMP_EINVAL, "%s: l2 must be >= 0 and finite (got %g)", who, (double)c->l2);
    if (kind == SPARSE_OPT_ADAM) {
        if (!finite_in(c->beta1, 0.0f, 1.0f) || c->beta1 == 1.0f)
            return dmmp_fail(DMMP_EINVAL, "%s: beta1 must be in [0, 1) (got %g)", who, (double)c->beta1);
        if (!finite_in(c->beta2, 0.0f, 1.0f) || c->beta2 == 1.0f)
            return dmmp_fail(DMMP_EINVAL, "%s: beta2 must be in [0, 1) (got %g)", who, (double)c->beta2);
    } else if (!(isfinite(c->initial_accumulator) && c->initial_accumulator >= 0)) {
        return dmmp_fail(DMMP_EINVAL, "%s: initial_accumulator must be >= 0 and finite (got %g)", who,
                         (double)c->initial_accumulator);
    }
    return DMMP_OK;
}

dmmp_status sparse_opt_init(sparse_opt *o, sparse_opt_kind kind, int64_t rows, int dim, const sparse_opt_config *c)
{
    memset(o, 0, sizeof *o);
    if (kind != SPARSE_OPT_ADAM && kind != SPARSE_OPT_ADAGRAD)
        return dmmp_fail(DMMP_EINVAL, "sparse_opt_init: unknown optimiser kind %d", (int)kind);
    const char *who = sparse_opt_kind_name(kind);
    if (rows <= 0) return dmmp_fail(DMMP_EINVAL, "%s: table rows must be positive (got %lld)", who, (long long)rows);
    if (dim <= 0) return dmmp_fail(DMMP_EINVAL, "%s: table dim must be positive (got %d)", who, dim);
    DMMP_TRY(sparse_opt_config_check(kind, c));
    o->kind = kind;
    o->cfg = *c;
    o->rows = rows;
    o->dim = dim;
    size_t n = (size_t)rows * (size_t)dim;
    dmmp_status st;
    if (kind == SPARSE_OPT_ADAM) {
        st = mem_alloc_f32(&o->m, n, "sparse adam first moments");
        if (st == DMMP_OK) st = mem_alloc_f32(&o->v, n, "sparse adam second moments");
        if (st == DMMP_OK)
            st = mem_alloc((void **)&o->steps, (size_t)rows * sizeof(int64_t), "sparse adam row step counts");
    } else {
        st = mem_alloc_f32(&o->accum, n, "sparse adagrad accumulators");
        if (st == DMMP_OK)
            for (size_t i = 0; i < n; i++) o->accum[i] = c->initial_accumulator;
    }
    if (st != DMMP_OK) sparse_opt_free(o);
    return st;
}

/* The rows must be strictly ascending (hence distinct, so rows can be updated
 * in parallel without races) and inside the table. */
static dmmp_status sparse_grad_check(const sparse_opt *o, const sparse_grad *g)
{
    const char *who = sparse_opt_kind_name(o->kind);
    if (!g) return dmmp_fail(DMMP_EINVAL, "%s: gradient is NULL", who);
    if (g->dim != o->dim)
        return dmmp_fail(DMMP_EINVAL, "%s: gradient width %d does not match table width %d", who, g->dim, o->dim);
    if (g->n_rows < 0 || g->n_rows > g->capacity)
        return dmmp_fail(DMMP_EINVAL, "%s: gradient has %lld rows for capacity %lld", who, (long long)g->n_rows,
                         (long long)g->capacity);
    for (int64_t i = 0; i < g->n_rows; i++) {
        int32_t r = g->rows[i];
        if (r < 0 || r >= o->rows)
            return dmmp_fail(DMMP_EINVAL, "%s: gradient row %lld is %d, outside the table's %lld rows", who,
                             (long long)i, (int)r, (long long)o->rows);
        if (i > 0 && r <= g->rows[i - 1])
            return dmmp_fail(DMMP_EINVAL, "%s: gradient rows not strictly ascending at entry %lld (%d after %d)",
                             who, (long long)i, (int)r, (int)g->rows[i - 1]);
    }
    return DMMP_OK;
}

/* The coefficients of a step count, kept for the next rows with the same
 * count: a row's bias corrections depend on its count alone, and the rows of
 * a batch share few counts (hot rows are touched every step, cold ones a few
 * times), so most rows skip the two pow() calls. Direct-mapped by t. */
enum { COEFF_SLOTS = 64 };
typedef struct coeff_slot {
    int64_t t;
    adam_coeffs c;
} coeff_slot;

static void sparse_adam_rows(sparse_opt *o, float *table, const sparse_grad *g, const optim_kernels *k)
{
    const sparse_opt_config *cfg = &o->cfg;
    size_t dim = (size_t)o->dim;
    int64_t n_rows = g->n_rows;
#pragma omp parallel if (n_rows * (int64_t)dim >= PARALLEL_MIN)
    {
        coeff_slot cache[COEFF_SLOTS];
        for (int j = 0; j < COEFF_SLOTS; j++) cache[j].t = -1;
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n_rows; i++) {
            /* The rows are scattered over a table far larger than the caches:
             * ask for a later row's weights, moments and count now, so their
             * misses overlap this row's update. */
            if (i + SPARSE_PREFETCH < n_rows) {
                size_t q = (size_t)g->rows[i + SPARSE_PREFETCH], qo = q * dim;
                __builtin_prefetch(table + qo, 1);
                __builtin_prefetch(o->m + qo, 1);
                __builtin_prefetch(o->v + qo, 1);
                __builtin_prefetch(o->steps + q, 1);
            }
            size_t r = (size_t)g->rows[i];
            int64_t t = o->steps[r] + 1;
            coeff_slot *cs = &cache[t & (COEFF_SLOTS - 1)];
            if (cs->t != t) {
                cs->c = adam_coeffs_at(cfg->lr, cfg->beta1, cfg->beta2, cfg->eps, t);
                cs->c.l2 = cfg->l2;
                cs->t = t;
            }
            size_t off = r * dim;
            k->adam_update(table + off, o->m + off, o->v + off, g->values + (size_t)i * dim, dim, &cs->c);
            o->steps[r] = t;
        }
    }
}

static void sparse_adagrad_rows(sparse_opt *o, float *table, const sparse_grad *g, const optim_kernels *k)
{
    const sparse_opt_config *cfg = &o->cfg;
    adagrad_coeffs c = {.lr = cfg->lr, .eps = cfg->eps, .l2 = cfg->l2, .grad_scale = 1.0f};
    size_t dim = (size_t)o->dim;
    int64_t n_rows = g->n_rows;
#pragma omp parallel for schedule(static) if (n_rows * (int64_t)dim >= PARALLEL_MIN)
    for (int64_t i = 0; i < n_rows; i++) {
        size_t off = (size_t)g->rows[i] * dim;
        k->adagrad_update(table + off, o->accum + off, g->values + (size_t)i * dim, dim, &c);
    }
}

dmmp_status sparse_opt_step(sparse_opt *o, float *table, const sparse_grad *g)
{
    if (!o || o->rows <= 0 || (o->kind == SPARSE_OPT_ADAM ? !o->m : !o->accum))
        return dmmp_fail(DMMP_EINVAL, "sparse_opt_step: optimiser is not initialised");
    if (!table) return dmmp_fail(DMMP_EINVAL, "%s: table is NULL", sparse_opt_kind_name(o->kind));
    DMMP_TRY(sparse_opt_config_check(o->kind, &o->cfg));
    DMMP_TRY(sparse_grad_check(o, g));
    const optim_kernels *k = optim_kernels_get();
    if (o->kind == SPARSE_OPT_ADAM) sparse_adam_rows(o, table, g, k);
    else sparse_adagrad_rows(o, table, g, k);
    return DMMP_OK;
}

void sparse_opt_free(sparse_opt *o)
{
    if (!o) return;
    mem_free(o->m);
    mem_free(o->v);
    mem_free(o->steps);
    mem_free(o->accum);
    memset(o, 0, sizeof *o);
}
