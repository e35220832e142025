/* Ranking metrics over per-row predictions: exact AUC (ties count 1/2),
 * impression-weighted per-user AUC (GAUC) and clamped log loss.
 *
 * Every function takes an optional row weight array `mask` (NULL = every
 * row weighs 1): mask[i] == 0 leaves row i out, as when the CVR AUC is taken
 * over clicked rows only; other non-negative values weight the row. Labels
 * are 0 or 1. Sums are accumulated in double. */
#ifndef DMMP_METRICS_AUC_H
#define DMMP_METRICS_AUC_H

#include <stdint.h>

#include "core/status.h"

/* Clamp applied to predictions before taking logs in logloss. */
#define LOGLOSS_EPS 1e-7

/* AUC = P(score of a positive > score of a negative) + 0.5 P(equal), pairs
 * weighted by the product of their row weights; O(n) radix sort on the
 * float keys. Fails when a score is NaN, a label is not 0/1, a weight is
 * negative or NaN, or either class has zero total weight. */
dmmp_status auc_exact(const float *score, const uint8_t *label, const float *mask, int64_t n, double *auc);

/* GAUC = sum_u W_u AUC_u / sum_u W_u over users u (user[i] >= 0) having both
 * classes, W_u = the user's total row weight (impression count when mask is
 * NULL). *n_users (may be NULL) receives how many users entered the mean.
 * Fails like auc_exact, on a negative user index, or when no user has both
 * classes. */
dmmp_status gauc(const float *score, const uint8_t *label, const int32_t *user, const float *mask, int64_t n,
                 double *gauc_out, int64_t *n_users);

/* Weighted mean of -[y log p + (1-y) log(1-p)] with p clamped to
 * [LOGLOSS_EPS, 1 - LOGLOSS_EPS]. Fails on NaN predictions, bad labels or
 * weights, or zero total weight. */
dmmp_status logloss(const float *pred, const uint8_t *label, const float *mask, int64_t n, double *loss);

#endif
