#include "core/mem.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Blocks of at least HUGE_MIN bytes start on a huge page (HUGE_PAGE
 * aligned) and ask the kernel to back their whole huge pages with huge
 * pages (MADV_HUGEPAGE: Linux's transparent huge pages, which many systems
 * give only to memory that asks for them); the part of the last huge page
 * they do not fill keeps small pages, so no memory is added. The embedding
 * tables and their optimiser moments are read at random rows: with 4 KiB
 * pages nearly every row is a TLB miss. */
enum { HUGE_PAGE = 2 << 20, HUGE_MIN = 4 << 20 };

dmmp_status mem_alloc(void **out, size_t n, const char *what)
{
    size_t rounded = (n + 63) & ~(size_t)63;
    if (rounded == 0) rounded = 64;
    int huge = rounded >= HUGE_MIN;
    if (posix_memalign(out, huge ? HUGE_PAGE : 64, rounded) != 0) *out = NULL;
    if (!*out)
        return dmmp_fail(DMMP_ENOMEM, "cannot allocate %zu bytes for %s", n, what ? what : "buffer");
#ifdef MADV_HUGEPAGE
    /* advice only: where it is refused the block keeps small pages */
    if (huge) (void)madvise(*out, rounded & ~(size_t)(HUGE_PAGE - 1), MADV_HUGEPAGE);
#endif
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
