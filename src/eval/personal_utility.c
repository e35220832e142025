/* personal_utility@K. The sums of the K largest values are found by
 * quickselect on a copy (linear on average): a full-corpus evaluation calls
 * them for every user and cut-off, and sorting 5000 items per call cost
 * more than the retrieval itself. */
#include "eval/personal_utility.h"

#include <stdlib.h>
#include <string.h>

dmmp_status personal_utility_init(personal_utility *pu, int64_t n_items)
{
    memset(pu, 0, sizeof *pu);
    if (n_items < 1) return dmmp_fail(DMMP_EINVAL, "personal utility: a corpus of %lld items", (long long)n_items);
    pu->n_items = n_items;
    pu->c = malloc((size_t)n_items * sizeof(double));
    pu->e = malloc((size_t)n_items * sizeof(double));
    pu->value = malloc((size_t)n_items * sizeof(double));
    pu->work = malloc((size_t)n_items * sizeof(double));
    if (!pu->c || !pu->e || !pu->value || !pu->work) {
        personal_utility_free(pu);
        return dmmp_fail(DMMP_ENOMEM, "personal utility: out of memory for %lld items", (long long)n_items);
    }
    return DMMP_OK;
}

void personal_utility_free(personal_utility *pu)
{
    free(pu->c);
    free(pu->e);
    free(pu->value);
    free(pu->work);
    memset(pu, 0, sizeof *pu);
}

/* Sum of the k largest of x[0..n) (all of them when k >= n); w is scratch. */
static double sum_of_largest(const double *x, int64_t n, int64_t k, double *w)
{
    double sum = 0;
    if (k >= n) {
        for (int64_t i = 0; i < n; i++) sum += x[i];
        return sum;
    }
    memcpy(w, x, (size_t)n * sizeof *w);
    /* Quickselect: move the k largest into w[0..k). */
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = w[lo + (hi - lo) / 2];
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (w[i] > pivot) i++;
            while (w[j] < pivot) j--;
            if (i <= j) {
                double t = w[i];
                w[i] = w[j];
                w[j] = t;
                i++;
                j--;
            }
        }
        if (k - 1 <= j) hi = j;
        else if (k - 1 >= i) lo = i;
        else break;
    }
    for (int64_t i = 0; i < k; i++) sum += w[i];
    return sum;
}

void personal_utility_of_list(personal_utility *pu, const float *p_click, const float *p_conv, double share,
                              const int32_t *topk, int list_len, const int *ks, int n_ks, double *out)
{
    int64_t n = pu->n_items;
    for (int64_t i = 0; i < n; i++) {
        pu->c[i] = (double)p_click[i];
        pu->e[i] = (double)p_click[i] * (double)p_conv[i];
    }
    for (int j = 0; j < n_ks; j++) {
        int64_t k = ks[j];
        double C = sum_of_largest(pu->c, n, k, pu->work), P = sum_of_largest(pu->e, n, k, pu->work);
        double wc = C > 0 ? (1.0 - share) / C : 0.0, wv = P > 0 ? share / P : 0.0;
        for (int64_t i = 0; i < n; i++) pu->value[i] = wc * pu->c[i] + wv * pu->e[i];
        double best = sum_of_largest(pu->value, n, k, pu->work), got = 0;
        for (int r = 0; r < ks[j] && r < list_len; r++)
            if (topk[r] >= 0 && topk[r] < n) got += pu->value[topk[r]];
        out[j] = best > 0 ? got / best : 0.0;
    }
}
