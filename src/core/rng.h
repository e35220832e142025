/* The one random number generator of the framework: xoshiro256** 1.0
 * (Blackman and Vigna, 2018), seeded from a 64-bit seed through splitmix64.
 *
 * Every use (initialisation, shuffling, dropout, synthetic data) derives its
 * own stream with rng_stream(seed, stream_id), so adding a consumer never
 * shifts the numbers another consumer sees. The state is four uint64 words
 * and is saved in checkpoints as is. */
#ifndef DMMP_CORE_RNG_H
#define DMMP_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct rng {
    uint64_t s[4];
} rng;

/* Seeds r from seed (splitmix64 expansion; any seed, including 0, is fine). */
void rng_seed(rng *r, uint64_t seed);

/* Seeds r for an independent named stream: same (seed, stream) -> same numbers. */
void rng_stream(rng *r, uint64_t seed, uint64_t stream);

/* Next 64 uniformly random bits. */
uint64_t rng_u64(rng *r);

/* Uniform integer in [0, n) without modulo bias (Lemire's method); n > 0. */
uint64_t rng_below(rng *r, uint64_t n);

/* Uniform double in [0, 1) with 53 random bits. */
double rng_uniform(rng *r);

/* Standard normal deviate (Box-Muller, one value per call, no cached state). */
double rng_normal(rng *r);

/* Fills x[0..n) with uniform values in [lo, hi). */
void rng_fill_uniform(rng *r, float *x, size_t n, float lo, float hi);

/* Fills x[0..n) with N(0, stddev^2) values. */
void rng_fill_normal(rng *r, float *x, size_t n, float stddev);

/* Shuffles idx[0..n) in place (Fisher-Yates). */
void rng_shuffle_u32(rng *r, uint32_t *idx, size_t n);

/* The splitmix64 mixer, exposed for hashing seeds and ids. */
uint64_t rng_splitmix64(uint64_t *state);

#endif
