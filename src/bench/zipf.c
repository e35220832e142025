#include "bench/zipf.h"

#include <math.h>
#include <string.h>

#include "core/mem.h"

dmmp_status zipf_init(zipf_sampler *z, int64_t n, double s)
{
    memset(z, 0, sizeof *z);
    if (n < 1 || n > INT32_MAX || !(s > 0))
        return dmmp_fail(DMMP_EINVAL, "zipf: need 1 <= n <= 2^31-1 ids and exponent s > 0 (got n %lld, s %g)",
                         (long long)n, s);
    DMMP_TRY(mem_alloc((void **)&z->cdf, (size_t)n * sizeof *z->cdf, "zipf table"));
    z->n = n;
    z->s = s;
    double total = 0;
    for (int64_t k = 0; k < n; k++) {
        total += pow((double)(k + 1), -s);
        z->cdf[k] = total;
    }
    for (int64_t k = 0; k < n; k++) z->cdf[k] /= total;
    z->cdf[n - 1] = 1.0; /* rounding must not leave a gap above the last id */
    return DMMP_OK;
}

int32_t zipf_sample(const zipf_sampler *z, rng *r)
{
    double u = rng_uniform(r);
    int64_t lo = 0, hi = z->n - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (z->cdf[mid] > u) hi = mid;
        else lo = mid + 1;
    }
    return (int32_t)lo;
}

void zipf_free(zipf_sampler *z)
{
    mem_free(z->cdf);
    memset(z, 0, sizeof *z);
}
