#include "model/weighting.h"

#include <math.h>
#include <string.h>

dmmp_status weighting_init(loss_weighting *w, weighting_kind kind, int n_terms, const double *fixed_weights,
                           double dwa_temperature, float *log_var, float *log_var_grad)
{
    memset(w, 0, sizeof *w);
    if (n_terms < 1 || n_terms > WEIGHTING_MAX_TERMS)
        return dmmp_fail(DMMP_EINVAL, "loss weighting: %d terms (expected 1 to %d)", n_terms, WEIGHTING_MAX_TERMS);
    w->kind = kind;
    w->n_terms = n_terms;
    w->dwa_temperature = dwa_temperature;
    for (int i = 0; i < n_terms; i++) w->weight[i] = 1.0;
    switch (kind) {
    case WEIGHTING_UNCERTAINTY:
        if (!log_var || !log_var_grad)
            return dmmp_fail(DMMP_EINVAL, "loss weighting: uncertainty needs its log-variance parameters");
        w->log_var = log_var;
        w->log_var_grad = log_var_grad;
        return DMMP_OK;
    case WEIGHTING_DWA:
        if (!(dwa_temperature > 0))
            return dmmp_fail(DMMP_EINVAL, "weighting.dwa_temperature: must be > 0 (got %g)", dwa_temperature);
        return DMMP_OK;
    case WEIGHTING_FIXED:
        for (int i = 0; i < n_terms; i++) {
            if (!(fixed_weights[i] >= 0) || !isfinite(fixed_weights[i]))
                return dmmp_fail(DMMP_EINVAL, "loss weighting: fixed weight of term %d is %g (must be finite and >= 0)",
                                 i, fixed_weights[i]);
            w->weight[i] = fixed_weights[i];
        }
        return DMMP_OK;
    }
    return dmmp_fail(DMMP_EINVAL, "loss weighting: unknown kind %d", (int)kind);
}

void weighting_combine(loss_weighting *w, const double *losses, const int *active, double *total, float *scale)
{
    double sum = 0;
    for (int i = 0; i < w->n_terms; i++) {
        if (!active[i]) {
            scale[i] = 0;
            continue;
        }
        if (w->kind == WEIGHTING_UNCERTAINTY) {
            double s = w->log_var[i], e = 0.5 * exp(-s);
            sum += e * losses[i] + 0.5 * s;
            scale[i] = (float)e;
            w->log_var_grad[i] += (float)(0.5 - e * losses[i]);
        } else {
            sum += w->weight[i] * losses[i];
            scale[i] = (float)w->weight[i];
        }
    }
    *total = sum;
}

void weighting_end_epoch(loss_weighting *w, const double *epoch_mean_losses, const int *active)
{
    memcpy(w->epoch_mean[1], w->epoch_mean[0], sizeof w->epoch_mean[0]);
    memcpy(w->epoch_mean[0], epoch_mean_losses, (size_t)w->n_terms * sizeof(double));
    w->epochs_seen++;
    if (w->kind != WEIGHTING_DWA || w->epochs_seen < 2) return;
    double r[WEIGHTING_MAX_TERMS], denom = 0, rmax = -INFINITY;
    int n_active = 0;
    for (int i = 0; i < w->n_terms; i++) {
        if (!active[i]) continue;
        double prev = w->epoch_mean[1][i];
        r[i] = prev > 0 ? w->epoch_mean[0][i] / prev : 1.0;
        r[i] /= w->dwa_temperature;
        if (r[i] > rmax) rmax = r[i];
        n_active++;
    }
    for (int i = 0; i < w->n_terms; i++)
        if (active[i]) denom += exp(r[i] - rmax);
    for (int i = 0; i < w->n_terms; i++) w->weight[i] = active[i] ? n_active * exp(r[i] - rmax) / denom : 0.0;
}

void weighting_current(const loss_weighting *w, double *weights)
{
    for (int i = 0; i < w->n_terms; i++)
        weights[i] = w->kind == WEIGHTING_UNCERTAINTY ? 0.5 * exp(-(double)w->log_var[i]) : w->weight[i];
}
