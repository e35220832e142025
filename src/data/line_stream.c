/* The block loop of the line importers, pipelined over two output sets: the
 * calling thread merges block k while a helper thread reads and parses block
 * k + 1 (the line reader keeps block k intact meanwhile). One helper thread
 * per block: it is joined before the next one starts, so the reader, a set's
 * outputs and the callbacks are never used by two threads at once. */
#include "data/line_stream.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOB_ERR_LEN 1024

/* Reading and parsing one block into one set. */
typedef struct stream_job {
    const line_stream *st;
    line_reader *rd;
    int set, first, has_block;
    char *data;
    size_t len;
    int64_t offset, first_line, n_lines;
    line_range ranges[LINE_MAX_RANGES];
    dmmp_status status;
    char err[JOB_ERR_LEN]; /* the message of status (the message store is per thread) */
} stream_job;

static line_block block_of(const line_stream *st, const stream_job *j)
{
    line_block b = {st->path, j->data, j->len, j->offset, j->first_line, j->n_lines, j->set, st->n_ranges, j->ranges};
    return b;
}

static void job_run(stream_job *j)
{
    const line_stream *st = j->st;
    int64_t before = line_reader_bytes(j->rd);
    const char *data;
    size_t len;
    j->has_block = 0;
    j->n_lines = 0;
    dmmp_status s = line_reader_next(j->rd, &data, &len);
    if (s == DMMP_OK && len > 0) {
        j->has_block = 1;
        /* The block is the reader's own buffer and may be rewritten in place
         * (the csv parser unescapes quoted fields inside it). */
        j->data = (char *)data;
        j->len = len;
        j->offset = before;
        if (j->first && st->first) {
            char *start = j->data;
            s = st->first(st->user, &j->data, &j->len, &j->first_line);
            j->offset += j->data - start;
        }
        if (s == DMMP_OK) {
            if (st->reset) st->reset(st->user, j->set);
            s = line_parse_block(st->path, j->data, j->len, j->first_line, st->n_ranges, st->ctx[j->set], st->parse,
                                 st->skip, j->ranges, &j->n_lines);
        }
        if (s == DMMP_OK && st->parsed) {
            line_block b = block_of(st, j);
            s = st->parsed(st->user, &b);
        }
    }
    j->status = s;
    if (s != DMMP_OK) snprintf(j->err, sizeof j->err, "%s", dmmp_errmsg());
}

static void *job_main(void *arg)
{
    job_run(arg);
    return NULL;
}

dmmp_status line_stream_run(const line_stream *st, int64_t *bytes)
{
    *bytes = 0;
    if (st->n_ranges < 1 || st->n_ranges > LINE_MAX_RANGES)
        return dmmp_fail(DMMP_EINVAL, "%s: %d parser ranges outside [1, %d]", st->path, st->n_ranges, LINE_MAX_RANGES);
    line_reader *rd;
    DMMP_TRY(line_reader_open(&rd, st->path, st->block_bytes, st->label ? st->label : st->path, st->progress));
    stream_job *jobs = calloc(2, sizeof *jobs);
    if (!jobs) {
        line_reader_close(rd);
        return dmmp_fail(DMMP_ENOMEM, "%s: out of memory for the block parser", st->path);
    }
    for (int i = 0; i < 2; i++) {
        jobs[i].st = st;
        jobs[i].rd = rd;
        jobs[i].set = i;
    }
    jobs[0].first = 1;
    jobs[0].first_line = 1;
    job_run(&jobs[0]); /* on this thread: the first-block callback runs here */
    jobs[0].first = 0;
    dmmp_status s = DMMP_OK;
    for (int cur = 0;; cur = 1 - cur) {
        stream_job *j = &jobs[cur], *next = &jobs[1 - cur];
        if (j->status != DMMP_OK) {
            s = dmmp_fail(j->status, "%s", j->err);
            break;
        }
        if (!j->has_block) break;
        next->first_line = j->first_line + j->n_lines;
        pthread_t helper;
        int threaded = pthread_create(&helper, NULL, job_main, next) == 0;
        line_block b = block_of(st, j);
        s = st->merge(st->user, &b);
        if (threaded) pthread_join(helper, NULL);
        else if (s == DMMP_OK) job_run(next); /* no thread to spare: the same work in sequence */
        if (s != DMMP_OK) break;
    }
    *bytes = line_reader_bytes(rd);
    line_reader_close(rd);
    free(jobs);
    return s;
}
