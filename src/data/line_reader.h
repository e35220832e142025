/* Reading big text files as large blocks of whole lines, and parsing a block
 * in parallel: the block is cut into ranges at line boundaries, each range is
 * parsed by its own thread into its own output, and the caller then merges
 * the outputs in range order. The merged result, the line numbers in errors
 * and the skip counts do not depend on the number of threads. */
#ifndef DMMP_DATA_LINE_READER_H
#define DMMP_DATA_LINE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "data/text_scan.h"

typedef struct line_reader line_reader;

/* Opens path for block reads of about block_bytes (a line longer than a block
 * grows the buffer); label prefixes the progress lines printed on stderr
 * every few seconds (MB read, MB/s) when progress is non-zero. */
dmmp_status line_reader_open(line_reader **out, const char *path, size_t block_bytes, const char *label,
                             int progress);

/* The next block of whole lines (the last may lack its '\n'); *len = 0 at the
 * end of the file. The block stays valid (and may be written to) until the
 * call after next: the reader alternates between two buffers. */
dmmp_status line_reader_next(line_reader *r, const char **data, size_t *len);

/* Bytes consumed so far and the file's size. */
int64_t line_reader_bytes(const line_reader *r);
int64_t line_reader_size(const line_reader *r);

/* Closes r (NULL is fine). */
void line_reader_close(line_reader *r);

/* Parses one line [line, end) at loc into the range's output ctx. On failure
 * it must leave ctx as it was before the line. */
typedef dmmp_status (*line_parse_fn)(void *ctx, const char *line, const char *end, const text_loc *loc);

#define LINE_MAX_RANGES 64
#define LINE_ERR_LEN 512

/* The outcome of one range. */
typedef struct line_range {
    const char *start, *end;
    int64_t first_line; /* line number of start */
    int64_t n_lines;    /* lines in the range (blank ones included) */
    int64_t n_skipped;  /* bad lines skipped (skip mode) */
    dmmp_status status; /* stop mode: the first error, else DMMP_OK */
    char first_error[LINE_ERR_LEN];
} line_range;

/* Parses the block [data, data + len) whose first line is first_line, cut into
 * n_ranges ranges (1..LINE_MAX_RANGES) parsed concurrently; ctx[i] is range
 * i's output. Blank lines are ignored. skip = 0: a range stops at its first
 * bad line and the earliest error of the block is returned; skip = 1: bad
 * lines are counted in ranges[i].n_skipped. *n_lines receives the block's
 * line count (to advance first_line). */
dmmp_status line_parse_block(const char *file, const char *data, size_t len, int64_t first_line, int n_ranges,
                             void *const *ctx, line_parse_fn parse, int skip, line_range *ranges,
                             int64_t *n_lines);

/* Threads line_parse_block should use (OpenMP's maximum, capped). */
int line_parse_threads(void);

#endif
