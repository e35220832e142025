/* Optimiser kernels: the elementwise Adam/AdamW and Adagrad updates and the
 * squared-norm reduction used for clipping by global norm.
 *
 * One table per ISA; the dense optimisers call them over chunks of the flat
 * parameter buffer, the lazy sparse optimisers once per touched embedding row.
 * Every element's update depends only on that element, and the SIMD tails are
 * masked rather than scalar, so an element's result does not depend on where
 * a chunk or row boundary falls (OpenMP chunking stays deterministic). */
#ifndef DMMP_SIMD_OPTIM_H
#define DMMP_SIMD_OPTIM_H

#include <stddef.h>

#include "simd/isa.h"

/* Per-step constants of one Adam update, precomputed once per step (dense)
 * or per row (lazy sparse, where t is the row's own update count). */
typedef struct adam_coeffs {
    float beta1, one_minus_beta1;
    float beta2, one_minus_beta2;
    float step_size;    /* lr / (1 - beta1^t) */
    float inv_sqrt_bc2; /* 1 / sqrt(1 - beta2^t) */
    float eps;
    float decay;        /* lr * weight_decay when decoupled (AdamW), else 0 */
    float l2;           /* coupled L2: l2 * w is added to the gradient, else 0 */
    float grad_scale;   /* clip factor on the incoming gradient (1 = none) */
} adam_coeffs;

/* Constants of one Adagrad update. */
typedef struct adagrad_coeffs {
    float lr;
    float eps;
    float l2;         /* l2 * w is added to the gradient */
    float grad_scale; /* factor on the incoming gradient (1 = none) */
} adagrad_coeffs;

typedef struct optim_kernels {
    /* For i < n with gg = grad_scale*g + l2*w:
     *   m = beta1*m + (1-beta1)*gg;  v = beta2*v + (1-beta2)*gg*gg;
     *   w = w - decay*w - step_size * m / (sqrt(v)*inv_sqrt_bc2 + eps). */
    void (*adam_update)(float *w, float *m, float *v, const float *g, size_t n, const adam_coeffs *c);
    /* For i < n with gg = grad_scale*g + l2*w:
     *   acc += gg*gg;  w -= lr * gg / (sqrt(acc) + eps). */
    void (*adagrad_update)(float *w, float *acc, const float *g, size_t n, const adagrad_coeffs *c);
    /* Sum of x[i]^2 over i < n, accumulated in double. */
    double (*sum_squares)(const float *x, size_t n);
} optim_kernels;

extern const optim_kernels optim_kernels_scalar, optim_kernels_avx2, optim_kernels_avx512;

/* The table of the active ISA. */
const optim_kernels *optim_kernels_get(void);

/* The table of a given ISA (the caller checks that the CPU has it). */
const optim_kernels *optim_kernels_for(isa_level level);

#endif
