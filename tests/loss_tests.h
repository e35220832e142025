/* Shared by the nn-loss suites (tests/test_loss.c registers them all):
 * the two other registration functions and finite-difference helpers. */
#ifndef DMMP_TESTS_LOSS_TESTS_H
#define DMMP_TESTS_LOSS_TESTS_H

#include <math.h>

/* kernel_act (tests/test_act.c). */
int register_act_kernel_suite(void);
/* layer_gate and layer_score (tests/test_gate.c). */
int register_gate_score_suites(void);

/* A scalar function of a double parameter vector, evaluated in double. */
typedef double (*fd_objective)(const double *x, void *ctx);

/* Central difference d f / d x[i] with step h; x is restored. */
static inline double fd_central(fd_objective f, void *ctx, double *x, int i, double h)
{
    double x0 = x[i];
    x[i] = x0 + h;
    double fp = f(x, ctx);
    x[i] = x0 - h;
    double fm = f(x, ctx);
    x[i] = x0;
    return (fp - fm) / (2.0 * h);
}

/* |a - b| <= abs_tol + rel_tol |b|, printing the offender on failure. */
static inline int fd_close(double a, double b, double abs_tol, double rel_tol)
{
    return fabs(a - b) <= abs_tol + rel_tol * fabs(b);
}

#endif
