#include "model/params.h"

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

void param_zero_grads(param_buffer *p)
{
    if (p->grads) memset(p->grads, 0, p->total * sizeof(float));
}

void param_free(param_buffer *p)
{
    mem_free(p->values);
    mem_free(p->grads);
    memset(p, 0, sizeof *p);
}
