#include "train/progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"

void progress_init(progress_line *p, int log_every)
{
    memset(p, 0, sizeof *p);
    p->tty = isatty(2);
    p->log_every = log_every;
}

static void format_eta(double s, char *buf, size_t len)
{
    if (s < 0) {
        snprintf(buf, len, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, len, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
}

static void format_line(const progress_info *in, char *buf, size_t len)
{
    char eta[32];
    format_eta(in->eta_seconds, eta, sizeof eta);
    int at = snprintf(buf, len, "epoch %d/%d step %lld (batch %lld/%lld) %.0f samples/s", in->epoch, in->n_epochs,
                      (long long)in->step, (long long)in->batch, (long long)in->batches_per_epoch,
                      in->samples_per_second);
    for (int t = 0; t < in->n_terms && at > 0 && (size_t)at < len; t++)
        at += snprintf(buf + at, len - (size_t)at, " %s %.4f", in->term_name[t], in->term_loss[t]);
    if (at > 0 && (size_t)at < len) snprintf(buf + at, len - (size_t)at, " ETA %s", eta);
}

void progress_update(progress_line *p, const progress_info *info)
{
    char line[512];
    if (p->tty) {
        double now = clock_wall_seconds();
        if (p->drawn && now - p->last_draw < 0.2) return;
        p->last_draw = now;
        format_line(info, line, sizeof line);
        /* \033[K clears what a longer previous line left behind. */
        fprintf(stderr, "\r%s\033[K", line);
        fflush(stderr);
        p->drawn = 1;
        return;
    }
    if (p->log_every > 0 && info->step % p->log_every == 0) {
        format_line(info, line, sizeof line);
        log_info("%s", line);
    }
}

void progress_finish(progress_line *p)
{
    if (p->tty && p->drawn) fputc('\n', stderr);
    p->drawn = 0;
}
