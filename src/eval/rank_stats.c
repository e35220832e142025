#include "eval/rank_stats.h"

#include <math.h>
#include <stdlib.h>

typedef struct indexed {
    double v;
    int64_t i;
} indexed;

static int by_value(const void *a, const void *b)
{
    const indexed *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

dmmp_status rank_average(const double *x, int64_t n, double *rank)
{
    indexed *s = malloc((size_t)(n > 0 ? n : 1) * sizeof *s);
    if (!s) return dmmp_fail(DMMP_ENOMEM, "rank statistics: out of memory for %lld values", (long long)n);
    for (int64_t i = 0; i < n; i++) s[i] = (indexed){x[i], i};
    qsort(s, (size_t)n, sizeof *s, by_value);
    for (int64_t a = 0; a < n;) {
        int64_t b = a;
        while (b + 1 < n && s[b + 1].v == s[a].v) b++;
        double mean_rank = 0.5 * (double)(a + b) + 1.0;
        for (int64_t k = a; k <= b; k++) rank[s[k].i] = mean_rank;
        a = b + 1;
    }
    free(s);
    return DMMP_OK;
}

dmmp_status rank_spearman(const double *x, const double *y, int64_t n, double *rho)
{
    *rho = NAN;
    if (n < 3) return DMMP_OK;
    double *rx = malloc((size_t)n * sizeof *rx), *ry = malloc((size_t)n * sizeof *ry);
    dmmp_status s = rx && ry ? DMMP_OK : dmmp_fail(DMMP_ENOMEM, "rank statistics: out of memory for %lld values", (long long)n);
    if (s == DMMP_OK) s = rank_average(x, n, rx);
    if (s == DMMP_OK) s = rank_average(y, n, ry);
    if (s == DMMP_OK) {
        /* Both rank vectors have mean (n + 1) / 2. */
        double mean = 0.5 * (double)(n + 1), sxy = 0, sxx = 0, syy = 0;
        for (int64_t i = 0; i < n; i++) {
            double a = rx[i] - mean, b = ry[i] - mean;
            sxy += a * b;
            sxx += a * a;
            syy += b * b;
        }
        if (sxx > 0 && syy > 0) *rho = sxy / sqrt(sxx * syy);
    }
    free(rx);
    free(ry);
    return s;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

dmmp_status rank_quantile(const double *x, int64_t n, double q, double *value)
{
    *value = NAN;
    if (!(q >= 0 && q <= 1)) return dmmp_fail(DMMP_EINVAL, "quantile %g: expected 0 .. 1", q);
    if (n <= 0) return DMMP_OK;
    double *s = malloc((size_t)n * sizeof *s);
    if (!s) return dmmp_fail(DMMP_ENOMEM, "rank statistics: out of memory for %lld values", (long long)n);
    for (int64_t i = 0; i < n; i++) s[i] = x[i];
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double h = (double)(n - 1) * q;
    int64_t lo = (int64_t)floor(h);
    *value = lo + 1 < n ? s[lo] + (h - (double)lo) * (s[lo + 1] - s[lo]) : s[n - 1];
    free(s);
    return DMMP_OK;
}
