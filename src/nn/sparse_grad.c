#include "nn/sparse_grad.h"

#include <string.h>

#include "core/mem.h"

dmmp_status sparse_grad_init(sparse_grad *g, int64_t capacity, int dim)
{
    memset(g, 0, sizeof *g);
    if (dim <= 0) return dmmp_fail(DMMP_EINVAL, "sparse_grad_init: dim must be positive (got %d)", dim);
    g->dim = dim;
    return sparse_grad_reserve(g, capacity);
}

dmmp_status sparse_grad_reserve(sparse_grad *g, int64_t capacity)
{
    if (capacity < 0) return dmmp_fail(DMMP_EINVAL, "sparse_grad_reserve: negative capacity %lld", (long long)capacity);
    if (capacity <= g->capacity && g->rows) return DMMP_OK;
    mem_free(g->rows);
    mem_free(g->values);
    g->rows = NULL;
    g->values = NULL;
    g->capacity = 0;
    g->n_rows = 0;
    DMMP_TRY(mem_alloc((void **)&g->rows, (size_t)capacity * sizeof(int32_t), "sparse gradient rows"));
    dmmp_status s = mem_alloc((void **)&g->values, (size_t)capacity * (size_t)g->dim * sizeof(float),
                              "sparse gradient values");
    if (s != DMMP_OK) {
        mem_free(g->rows);
        g->rows = NULL;
        return s;
    }
    g->capacity = capacity;
    return DMMP_OK;
}

void sparse_grad_free(sparse_grad *g)
{
    mem_free(g->rows);
    mem_free(g->values);
    memset(g, 0, sizeof *g);
}
