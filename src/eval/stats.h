/* Statistics over seeds: mean, sample standard deviation, Student's t
 * distribution and the paired t-test the report uses to compare variants. */
#ifndef DMMP_EVAL_STATS_H
#define DMMP_EVAL_STATS_H

#include <stddef.h>

/* Arithmetic mean of x[0..n); NaN when n is 0. */
double stats_mean(const double *x, size_t n);

/* Sample standard deviation (divisor n - 1) of x[0..n); NaN when n < 2. */
double stats_std(const double *x, size_t n);

/* Regularised incomplete beta I_x(a, b) for a, b > 0 and x in [0, 1]
 * (NaN outside), by its continued fraction; relative error ~1e-12. */
double stats_incomplete_beta(double a, double b, double x);

/* P(T <= t) for Student's t with df > 0 degrees of freedom (NaN otherwise). */
double stats_t_cdf(double t, double df);

/* Two-sided p-value P(|T| >= |t|) for Student's t with df degrees of freedom. */
double stats_t_two_sided_p(double t, double df);

/* Paired two-sided t-test of a[i] against b[i], i < n. Returns 1 and sets
 * *t, *df, *p when defined; returns 0 (outputs NaN) when n < 2, the
 * differences have zero variance, or any value is not finite. */
int stats_paired_t(const double *a, const double *b, size_t n, double *t, double *df, double *p);

#endif
