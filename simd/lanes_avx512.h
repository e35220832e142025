/* Lane helpers of the 16-float AVX-512 kernels (act_avx512.c, vec_avx512.c):
 * the tail mask. Include only from files compiled with the AVX-512 flags. */
#ifndef DMMP_SIMD_LANES_AVX512_H
#define DMMP_SIMD_LANES_AVX512_H

#include <immintrin.h>
#include <stddef.h>

#define AVX512_LANES 16

/* Lanes below rem on (all of them once rem >= AVX512_LANES). */
static inline __mmask16 tail_mask(size_t rem)
{
    return rem >= AVX512_LANES ? (__mmask16)0xffff : (__mmask16)((1u << rem) - 1u);
}

#endif
