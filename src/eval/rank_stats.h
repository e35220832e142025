/* Statistics of one sample of users: the rank correlation and the quantiles
 * the gate diagnostics report (gate_intent_corr, gate_w_v_p10/p50/p90). */
#ifndef DMMP_EVAL_RANK_STATS_H
#define DMMP_EVAL_RANK_STATS_H

#include <stdint.h>

#include "core/status.h"

/* Average ranks (1-based; tied values share the mean of their ranks) of
 * x[0..n) into rank[0..n). */
dmmp_status rank_average(const double *x, int64_t n, double *rank);

/* Spearman's rank correlation of x and y: the Pearson correlation of their
 * average ranks. NaN when n < 3 or either sample is constant. */
dmmp_status rank_spearman(const double *x, const double *y, int64_t n, double *rho);

/* The q-quantile (0 <= q <= 1) of x[0..n) by linear interpolation between
 * order statistics: with s = x sorted ascending and h = (n - 1) q,
 * s[floor h] + (h - floor h) (s[floor h + 1] - s[floor h]) (the default of
 * R and numpy). NaN when n is 0. */
dmmp_status rank_quantile(const double *x, int64_t n, double q, double *value);

#endif
