/* Aligned allocation for SIMD buffers (64-byte alignment, zeroed). */
#ifndef DMMP_CORE_MEM_H
#define DMMP_CORE_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* Allocates n bytes aligned to 64, zero-filled, into *out; what names the
 * buffer in the error message. n == 0 yields a valid 64-byte block. Blocks
 * of 4 MiB and more are aligned to 2 MiB and ask for transparent huge pages
 * (mem.c). */
dmmp_status mem_alloc(void **out, size_t n, const char *what);

/* Frees a block from mem_alloc (NULL is fine). */
void mem_free(void *p);

/* Grows the array *buf (*cap elements of elem bytes; NULL with *cap 0 at
 * first) to hold at least need elements, keeping its contents: to need * 3/2
 * + 16, so that a need that creeps up reallocates rarely. what names the
 * elements in the error message ("sharded tables: requested rows"). */
dmmp_status mem_grow(void **buf, int64_t *cap, int64_t need, size_t elem, const char *what);

/* Typed helpers: count elements of float / double / int32. */
#define mem_alloc_f32(out, count, what) mem_alloc((void **)(out), (size_t)(count) * sizeof(float), (what))

#endif
