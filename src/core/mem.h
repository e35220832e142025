/* Aligned allocation for SIMD buffers (64-byte alignment, zeroed). */
#ifndef DMMP_CORE_MEM_H
#define DMMP_CORE_MEM_H

#include <stddef.h>

#include "core/status.h"

/* Allocates n bytes aligned to 64, zero-filled, into *out; what names the
 * buffer in the error message. n == 0 yields a valid 64-byte block. */
dmmp_status mem_alloc(void **out, size_t n, const char *what);

/* Frees a block from mem_alloc (NULL is fine). */
void mem_free(void *p);

/* Typed helpers: count elements of float / double / int32. */
#define mem_alloc_f32(out, count, what) mem_alloc((void **)(out), (size_t)(count) * sizeof(float), (what))

#endif
