/* The progress report of a training run: on a terminal one line rewritten
 * in place (\r) with epoch, step, samples/s, running losses and ETA; when
 * stderr is not a terminal (a log file, CI) a plain log line every
 * train.log_every steps instead. */
#ifndef DMMP_TRAIN_PROGRESS_H
#define DMMP_TRAIN_PROGRESS_H

#include <stdint.h>

typedef struct progress_line {
    int tty;            /* stderr is a terminal */
    int log_every;      /* steps between plain lines (0: none) */
    double last_draw;   /* monotonic seconds of the last terminal redraw */
    int drawn;          /* a terminal line is on screen without its newline */
} progress_line;

/* What one report shows. */
typedef struct progress_info {
    int epoch, n_epochs;              /* 1-based epoch of n */
    int64_t batch, batches_per_epoch; /* batches done in this epoch (of about) */
    int64_t step;                     /* optimiser steps in total */
    double samples_per_second;
    double eta_seconds;               /* of the run (< 0: unknown) */
    int n_terms;
    const char *term_name[16];
    double term_loss[16];             /* running means of the epoch */
} progress_info;

/* Decides between terminal and plain lines (isatty(2)). */
void progress_init(progress_line *p, int log_every);

/* Reports after a step: redraws the terminal line (at most 5 times a
 * second) or logs a plain line when step is a multiple of log_every. */
void progress_update(progress_line *p, const progress_info *info);

/* Ends a terminal line with a newline so the next log line starts clean. */
void progress_finish(progress_line *p);

#endif
