/* Scalar weight-gradient kernel: the reference for the SIMD tables. Row r
 * of A and B is added to every element before row r + 1, so each element's
 * sum runs over r in order, as wgrad.h promises. */
#include "simd/wgrad.h"

static void atb_scalar(const float *a, size_t lda, size_t m, size_t k, const float *b, size_t ldb, size_t n,
                       int accumulate, float *c, size_t ldc)
{
    if (!accumulate)
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++) c[i * ldc + j] = 0.0f;
    for (size_t r = 0; r < k; r++) {
        const float *ar = a + r * lda, *br = b + r * ldb;
        for (size_t i = 0; i < m; i++) {
            float ai = ar[i];
            float *ci = c + i * ldc;
            for (size_t j = 0; j < n; j++) {
                float p = ai * br[j];
                ci[j] = ci[j] + p;
            }
        }
    }
}

const wgrad_kernels wgrad_kernels_scalar = {.atb = atb_scalar};

const wgrad_kernels *wgrad_kernels_for(isa_level level)
{
    return ISA_SELECT_FOR(level, &wgrad_kernels_scalar, &wgrad_kernels_avx2, &wgrad_kernels_avx512);
}

const wgrad_kernels *wgrad_kernels_get(void) { return wgrad_kernels_for(isa_active()); }
