/* Vose's alias construction (M. D. Vose, "A linear algorithm for
 * generating random numbers with a given distribution", 1991): columns
 * scaled to mean 1 are split into a small and a large worklist; each small
 * column is topped up from a large one, which keeps the rest. Leftovers of
 * either list are columns of exactly 1 up to rounding, so they accept
 * always. */
#include "core/alias.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

dmmp_status alias_build(alias_table *t, const double *weights, int64_t n)
{
    memset(t, 0, sizeof *t);
    if (n < 1) return dmmp_fail(DMMP_EINVAL, "alias table: %lld weights (need at least 1)", (long long)n);
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(weights[i]) || weights[i] < 0)
            return dmmp_fail(DMMP_EINVAL, "alias table: weight %lld is %g (must be finite and >= 0)", (long long)i,
                             weights[i]);
        sum += weights[i];
    }
    if (!(sum > 0)) return dmmp_fail(DMMP_EINVAL, "alias table: the %lld weights sum to 0", (long long)n);
    t->accept = malloc((size_t)n * sizeof *t->accept);
    t->alias = malloc((size_t)n * sizeof *t->alias);
    int64_t *small = malloc((size_t)n * sizeof *small), *large = malloc((size_t)n * sizeof *large);
    double *scaled = malloc((size_t)n * sizeof *scaled);
    if (!t->accept || !t->alias || !small || !large || !scaled) {
        free(small);
        free(large);
        free(scaled);
        alias_free(t);
        return dmmp_fail(DMMP_ENOMEM, "alias table: out of memory for %lld columns", (long long)n);
    }
    int64_t ns = 0, nl = 0, heaviest = 0;
    for (int64_t i = 0; i < n; i++) {
        if (weights[i] > weights[heaviest]) heaviest = i;
        scaled[i] = weights[i] * (double)n / sum;
        if (scaled[i] < 1.0) small[ns++] = i;
        else large[nl++] = i;
    }
    while (ns > 0 && nl > 0) {
        int64_t s = small[--ns], l = large[nl - 1];
        t->accept[s] = scaled[s];
        t->alias[s] = l;
        scaled[l] -= 1.0 - scaled[s];
        if (scaled[l] < 1.0) {
            nl--;
            small[ns++] = l;
        }
    }
    while (nl > 0) {
        int64_t l = large[--nl];
        t->accept[l] = 1.0;
        t->alias[l] = l;
    }
    /* A small column left over is short of 1 by rounding only; one of
     * weight 0 (possible only through rounding too) sends every draw to
     * the heaviest index, so a weight of 0 is never drawn. */
    while (ns > 0) {
        int64_t s = small[--ns];
        t->accept[s] = weights[s] > 0 ? 1.0 : 0.0;
        t->alias[s] = weights[s] > 0 ? s : heaviest;
    }
    free(small);
    free(large);
    free(scaled);
    t->n = n;
    return DMMP_OK;
}

int64_t alias_draw(const alias_table *t, rng *r)
{
    int64_t col = (int64_t)rng_below(r, (uint64_t)t->n);
    return rng_uniform(r) < t->accept[col] ? col : t->alias[col];
}

void alias_free(alias_table *t)
{
    free(t->accept);
    free(t->alias);
    memset(t, 0, sizeof *t);
}
