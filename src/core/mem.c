#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

dmmp_status mem_alloc(void **out, size_t n, const char *what)
{
    size_t rounded = (n + 63) & ~(size_t)63;
    if (rounded == 0) rounded = 64;
    *out = aligned_alloc(64, rounded);
    if (!*out)
        return dmmp_fail(DMMP_ENOMEM, "cannot allocate %zu bytes for %s", n, what ? what : "buffer");
    memset(*out, 0, rounded);
    return DMMP_OK;
}

void mem_free(void *p) { free(p); }

dmmp_status mem_grow(void **buf, int64_t *cap, int64_t need, size_t elem, const char *what)
{
    if (need <= *cap) return DMMP_OK;
    int64_t n = need + need / 2 + 16;
    void *p = realloc(*buf, (size_t)n * elem);
    if (!p)
        return dmmp_fail(DMMP_ENOMEM, "%s: out of memory for %lld elements of %zu bytes", what, (long long)need, elem);
    *buf = p;
    *cap = n;
    return DMMP_OK;
}
