/* Lane helpers of the 8-float AVX2 kernels (act_avx2.c, vec_avx2.c): the
 * tail mask and the horizontal sum. Include only from files compiled with
 * the AVX2 flags. */
#ifndef DMMP_SIMD_LANES_AVX2_H
#define DMMP_SIMD_LANES_AVX2_H

#include <immintrin.h>
#include <stddef.h>

#define AVX2_LANES 8

/* Lanes below rem on (all of them once rem >= AVX2_LANES). */
static inline __m256i tail_mask(size_t rem)
{
    int live = rem >= AVX2_LANES ? AVX2_LANES : (int)rem;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(live), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#endif
