/* A Zipf-like sampler over ids 0..n-1: P(id = k) proportional to
 * 1 / (k + 1)^s, so id 0 is the most frequent. Benchmarks draw embedding ids
 * from it to touch tables the way real categorical data does (a few hot rows,
 * a long tail) rather than uniformly. */
#ifndef DMMP_BENCH_ZIPF_H
#define DMMP_BENCH_ZIPF_H

#include <stdint.h>

#include "core/rng.h"
#include "core/status.h"

typedef struct zipf_sampler {
    int64_t n;
    double s;
    double *cdf; /* n cumulative probabilities, cdf[n - 1] = 1 */
} zipf_sampler;

/* Builds the table for n >= 1 ids and exponent s > 0. */
dmmp_status zipf_init(zipf_sampler *z, int64_t n, double s);

/* One id in [0, n) (binary search of a uniform draw in the cumulative table). */
int32_t zipf_sample(const zipf_sampler *z, rng *r);

/* Frees the table. */
void zipf_free(zipf_sampler *z);

#endif
