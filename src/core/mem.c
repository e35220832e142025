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
