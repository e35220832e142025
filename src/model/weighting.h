/* Adaptive loss weighting: how the active loss terms combine into one loss.
 *
 * uncertainty (Kendall, Gal and Cipolla, 2018): L = sum_i 0.5 exp(-s_i) L_i
 *   + 0.5 s_i with one learned log-variance s_i per term; the s_i live in the
 *   model's dense parameter buffer and the optimiser updates them.
 * dwa (Liu, Johns and Davison, 2019): w_i = n exp(r_i / T) / sum_j exp(r_j / T)
 *   over the n active terms, with r_i = L_i(e-1) / L_i(e-2), the ratio of the
 *   last two epoch means; w_i = 1 for the first two epochs.
 * fixed: the user's weights. */
#ifndef DMMP_MODEL_WEIGHTING_H
#define DMMP_MODEL_WEIGHTING_H

#include "core/status.h"

#define WEIGHTING_MAX_TERMS 16

typedef enum weighting_kind { WEIGHTING_UNCERTAINTY = 0, WEIGHTING_DWA = 1, WEIGHTING_FIXED = 2 } weighting_kind;

typedef struct loss_weighting {
    weighting_kind kind;
    int n_terms;
    float *log_var;      /* uncertainty: n_terms learned s_i (in the parameter buffer) */
    float *log_var_grad; /* their gradients (accumulated by weighting_combine) */
    double weight[WEIGHTING_MAX_TERMS];     /* fixed and dwa: the current weights */
    double dwa_temperature;
    double epoch_mean[2][WEIGHTING_MAX_TERMS]; /* dwa: [0] last epoch, [1] the one before */
    int epochs_seen;
} loss_weighting;

/* Sets up n_terms terms. fixed_weights (n_terms values) is used by kind fixed
 * and ignored otherwise; log_var / log_var_grad are used by uncertainty
 * (log_var starts at 0: every term weighted 0.5). */
dmmp_status weighting_init(loss_weighting *w, weighting_kind kind, int n_terms, const double *fixed_weights,
                           double dwa_temperature, float *log_var, float *log_var_grad);

/* Combines the terms' losses into *total and writes, for each term, the
 * factor its gradient must be scaled by (dtotal/dL_i); inactive terms
 * (active[i] == 0) contribute nothing. For uncertainty, adds dtotal/ds_i to
 * log_var_grad. */
void weighting_combine(loss_weighting *w, const double *losses, const int *active, double *total, float *scale);

/* dwa: records the epoch's mean loss per term and recomputes the weights of
 * the active terms (they sum to the number of active terms; inactive terms
 * get 0). Other kinds only record the means. */
void weighting_end_epoch(loss_weighting *w, const double *epoch_mean_losses, const int *active);

/* The weight each term currently carries (uncertainty: 0.5 exp(-s_i)). */
void weighting_current(const loss_weighting *w, double *weights);

#endif
