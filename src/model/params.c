#include "model/params.h"

#include <stdint.h>
#include <string.h>

#include "core/mem.h"

size_t param_block(size_t *cursor, size_t n)
{
    size_t offset = *cursor;
    *cursor += (n + 15) & ~(size_t)15;
    return offset;
}

size_t param_take(param_buffer *p, size_t n) { return param_block(&p->total, n); }

dmmp_status param_alloc(param_buffer *p)
{
    p->capacity = p->total;
    DMMP_TRY(mem_alloc((void **)&p->values, p->total * sizeof(float), "model parameters"));
    dmmp_status s = mem_alloc((void **)&p->grads, p->total * sizeof(float), "model gradients");
    if (s != DMMP_OK) {
        mem_free(p->values);
        p->values = NULL;
    }
    return s;
}

/* Floats per block of param_zero_grads: below two blocks one thread does it. */
#define ZERO_BLOCK 16384

void param_zero_grads(param_buffer *p)
{
    if (!p->grads) return;
    /* A few MB at every step: on all threads (one thread's stores leave
     * the other cores idle for that long). */
    int64_t n_blocks = ((int64_t)p->total + ZERO_BLOCK - 1) / ZERO_BLOCK;
#pragma omp parallel for schedule(static) if (n_blocks > 1)
    for (int64_t blk = 0; blk < n_blocks; blk++) {
        size_t at = (size_t)blk * ZERO_BLOCK;
        size_t n = at + ZERO_BLOCK <= p->total ? ZERO_BLOCK : p->total - at;
        memset(p->grads + at, 0, n * sizeof(float));
    }
}

void param_free(param_buffer *p)
{
    mem_free(p->values);
    mem_free(p->grads);
    memset(p, 0, sizeof *p);
}
