/* Plots of a set of runs in one PNG, drawn by gnuplot: per variant the
 * training losses per term per epoch (mean over seeds), the learned loss
 * weights, validation AUC per epoch, and click / purchase Recall@K against K
 * (mean ± std over seeds) from the evaluation metrics. */
#ifndef DMMP_EVAL_PLOT_H
#define DMMP_EVAL_PLOT_H

#include <stddef.h>

#include "core/status.h"
#include "train/results.h"

typedef struct plot_options {
    const char *gnuplot; /* program name (looked up on PATH) or path; NULL: "gnuplot" */
    const char *split;   /* eval split of the Recall@K panels; NULL: "test" */
} plot_options;

/* Draws runs[0..n_runs) into out_png (written atomically). Data files and
 * the script live in a temporary directory removed afterwards. Fails when no
 * run has anything to draw or gnuplot fails (its output is quoted). */
dmmp_status plot_runs(const run_results *runs, size_t n_runs, const char *out_png, const plot_options *options);

#endif
