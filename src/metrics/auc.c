/* Exact AUC and GAUC by LSD radix sort of (score key, row) pairs, so 10M rows
 * cost a few linear passes instead of an O(n log n) comparison sort. */
#include "metrics/auc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)

/* Maps a non-NaN float to a uint32 whose unsigned order is the float order.
 * -0 and +0 compare equal as floats, so both map to the key of +0. */
static uint32_t float_order_key(float x)
{
    uint32_t u;
    if (x == 0.0f) x = 0.0f;
    memcpy(&u, &x, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

static double row_weight(const float *mask, uint32_t row) { return mask ? (double)mask[row] : 1.0; }

static dmmp_status check_rows(const float *value, const char *value_name, const uint8_t *label, const float *mask,
                              int64_t n)
{
    if (n < 0) return dmmp_fail(DMMP_EINVAL, "%s: row count %lld is negative", value_name, (long long)n);
    if ((uint64_t)n > UINT32_MAX)
        return dmmp_fail(DMMP_EINVAL, "%s: %lld rows exceed the 2^32 - 1 the sort supports", value_name, (long long)n);
    if (n > 0 && (!value || !label))
        return dmmp_fail(DMMP_EINVAL, "%s: %s or label array is NULL", value_name, value_name);
    for (int64_t i = 0; i < n; i++) {
        if (isnan(value[i])) return dmmp_fail(DMMP_ENUMERIC, "%s: row %lld is NaN", value_name, (long long)i);
        if (label[i] > 1)
            return dmmp_fail(DMMP_EINVAL, "%s: label of row %lld is %u, expected 0 or 1", value_name, (long long)i,
                             (unsigned)label[i]);
        if (mask && !(mask[i] >= 0.0f && isfinite(mask[i])))
            return dmmp_fail(DMMP_EINVAL, "%s: mask (row weight) of row %lld is %g, expected a finite value >= 0",
                             value_name, (long long)i, (double)mask[i]);
    }
    return DMMP_OK;
}

/* One stable counting-sort pass of src into dst on the RADIX_BITS-bit digit
 * at shift of either the entry's score key (user == NULL) or user[row].
 * Returns 0 without moving anything when every entry has the same digit. */
static int radix_pass(const uint64_t *src, uint64_t *dst, size_t n, unsigned shift, const int32_t *user)
{
    size_t count[RADIX_SIZE];
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++) {
        uint32_t d = user ? (uint32_t)user[(uint32_t)src[i]] : (uint32_t)(src[i] >> 32);
        count[(d >> shift) & (RADIX_SIZE - 1)]++;
    }
    for (size_t b = 0; b < RADIX_SIZE; b++)
        if (count[b] == n) return 0;
    size_t pos = 0;
    for (size_t b = 0; b < RADIX_SIZE; b++) {
        size_t c = count[b];
        count[b] = pos;
        pos += c;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t d = user ? (uint32_t)user[(uint32_t)src[i]] : (uint32_t)(src[i] >> 32);
        dst[count[(d >> shift) & (RADIX_SIZE - 1)]++] = src[i];
    }
    return 1;
}

/* Sorts entries (key << 32 | row) by key, then (when user != NULL) stably by
 * user; *sorted points at whichever of the two buffers holds the result. */
static void sort_entries(uint64_t *a, uint64_t *b, size_t n, const int32_t *user, int32_t max_user, uint64_t **sorted)
{
    uint64_t *src = a, *dst = b;
    for (unsigned shift = 0; shift < 32; shift += RADIX_BITS)
        if (radix_pass(src, dst, n, shift, NULL)) {
            uint64_t *t = src;
            src = dst;
            dst = t;
        }
    if (user)
        for (unsigned shift = 0; shift < 32 && ((uint32_t)max_user >> shift) != 0; shift += RADIX_BITS)
            if (radix_pass(src, dst, n, shift, user)) {
                uint64_t *t = src;
                src = dst;
                dst = t;
            }
    *sorted = src;
}

typedef struct class_sums {
    double pos, neg, pairs_won; /* pairs_won: weighted count of positive-above-negative pairs, ties 1/2 */
} class_sums;

/* Walks entries sorted by ascending score, grouping equal keys. */
static class_sums auc_sums(const uint64_t *e, size_t n, const uint8_t *label, const float *mask)
{
    class_sums s = {0, 0, 0};
    size_t i = 0;
    while (i < n) {
        uint32_t key = (uint32_t)(e[i] >> 32);
        double pos = 0, neg = 0;
        for (; i < n && (uint32_t)(e[i] >> 32) == key; i++) {
            uint32_t row = (uint32_t)e[i];
            double w = row_weight(mask, row);
            if (label[row]) pos += w;
            else neg += w;
        }
        s.pairs_won += pos * (s.neg + 0.5 * neg);
        s.pos += pos;
        s.neg += neg;
    }
    return s;
}

/* Builds the entries of rows with non-zero weight into *a (and a second
 * buffer *b of the same size); *m receives their count. */
static dmmp_status build_entries(const float *score, const float *mask, int64_t n, uint64_t **a, uint64_t **b,
                                 size_t *m)
{
    DMMP_TRY(mem_alloc((void **)a, (size_t)n * sizeof(uint64_t), "AUC sort keys"));
    dmmp_status s = mem_alloc((void **)b, (size_t)n * sizeof(uint64_t), "AUC sort buffer");
    if (s != DMMP_OK) {
        mem_free(*a);
        return s;
    }
    size_t k = 0;
    for (int64_t i = 0; i < n; i++)
        if (!mask || mask[i] != 0.0f) (*a)[k++] = (uint64_t)float_order_key(score[i]) << 32 | (uint64_t)i;
    *m = k;
    return DMMP_OK;
}

dmmp_status auc_exact(const float *score, const uint8_t *label, const float *mask, int64_t n, double *auc)
{
    DMMP_TRY(check_rows(score, "auc score", label, mask, n));
    uint64_t *a, *b, *sorted;
    size_t m;
    DMMP_TRY(build_entries(score, mask, n, &a, &b, &m));
    sort_entries(a, b, m, NULL, 0, &sorted);
    class_sums s = auc_sums(sorted, m, label, mask);
    mem_free(a);
    mem_free(b);
    if (!(s.pos > 0) || !(s.neg > 0))
        return dmmp_fail(DMMP_EINVAL, "auc: %s class is absent among the %lld rows (positive weight %g, negative %g)",
                         s.pos > 0 ? "negative" : "positive", (long long)n, s.pos, s.neg);
    *auc = s.pairs_won / (s.pos * s.neg);
    return DMMP_OK;
}

dmmp_status gauc(const float *score, const uint8_t *label, const int32_t *user, const float *mask, int64_t n,
                 double *gauc_out, int64_t *n_users)
{
    DMMP_TRY(check_rows(score, "gauc score", label, mask, n));
    if (n > 0 && !user) return dmmp_fail(DMMP_EINVAL, "gauc: user array is NULL");
    int32_t max_user = 0;
    for (int64_t i = 0; i < n; i++) {
        if (user[i] < 0)
            return dmmp_fail(DMMP_EINVAL, "gauc: user index of row %lld is %d, expected >= 0", (long long)i,
                             (int)user[i]);
        if (user[i] > max_user) max_user = user[i];
    }
    uint64_t *a, *b, *sorted;
    size_t m;
    DMMP_TRY(build_entries(score, mask, n, &a, &b, &m));
    sort_entries(a, b, m, user, max_user, &sorted);
    double weighted = 0, total = 0;
    int64_t used = 0;
    for (size_t i = 0; i < m;) {
        int32_t u = user[(uint32_t)sorted[i]];
        size_t j = i;
        while (j < m && user[(uint32_t)sorted[j]] == u) j++;
        class_sums s = auc_sums(sorted + i, j - i, label, mask);
        if (s.pos > 0 && s.neg > 0) {
            weighted += (s.pos + s.neg) * (s.pairs_won / (s.pos * s.neg));
            total += s.pos + s.neg;
            used++;
        }
        i = j;
    }
    mem_free(a);
    mem_free(b);
    if (n_users) *n_users = used;
    if (used == 0) return dmmp_fail(DMMP_EINVAL, "gauc: no user has both a positive and a negative row (%lld rows)",
                                    (long long)n);
    *gauc_out = weighted / total;
    return DMMP_OK;
}

dmmp_status logloss(const float *pred, const uint8_t *label, const float *mask, int64_t n, double *loss)
{
    DMMP_TRY(check_rows(pred, "logloss prediction", label, mask, n));
    double sum = 0, weight = 0;
    for (int64_t i = 0; i < n; i++) {
        double w = row_weight(mask, (uint32_t)i);
        if (w == 0) continue;
        double p = fmin(fmax((double)pred[i], LOGLOSS_EPS), 1.0 - LOGLOSS_EPS);
        sum -= w * (label[i] ? log(p) : log1p(-p));
        weight += w;
    }
    if (!(weight > 0)) return dmmp_fail(DMMP_EINVAL, "logloss: total row weight is 0 over %lld rows", (long long)n);
    *loss = sum / weight;
    return DMMP_OK;
}
