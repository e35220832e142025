/* Streaming a text file through a parser and a merge: the loop every
 * line-based importer runs. Blocks of whole lines are read (line_reader),
 * parsed in parallel ranges (line_parse_block) and handed in file order to
 * one merge call on the calling thread. While block k is merged, block k+1
 * is read and parsed on a helper thread into the other of two output sets,
 * so the merge (vocabularies, the writer: one thread) overlaps with the
 * parse. The merge sees the same blocks, ranges and line numbers in the same
 * order as a strictly sequential loop, so the result does not depend on the
 * thread count or timing; the first error in file order wins (a failed
 * merge of block k before a parse error in block k + 1). */
#ifndef DMMP_DATA_LINE_STREAM_H
#define DMMP_DATA_LINE_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "data/line_reader.h"

/* One parsed block as the merge sees it. */
typedef struct line_block {
    const char *path;
    const char *data; /* the block's text (whole lines), valid during the merge */
    size_t len;
    int64_t offset;     /* file offset of data[0] */
    int64_t first_line; /* line number of data[0] */
    int64_t n_lines;
    int set;                  /* which output set (0 or 1) the ranges were parsed into */
    int n_ranges;
    const line_range *ranges; /* n_ranges: skip counts and first errors */
} line_block;

typedef struct line_stream {
    const char *path;
    const char *label; /* progress lines; NULL: the path */
    int progress;
    size_t block_bytes;
    int n_ranges;         /* 1..LINE_MAX_RANGES */
    void *const *ctx[2];  /* ctx[set][i]: range i's parser output in set */
    line_parse_fn parse;
    int skip;             /* skip and count bad lines (else stop at the first) */
    void *user;           /* passed to the callbacks */
    /* Optional: called once with the first block before it is parsed; may
     * drop a prefix (a byte order mark, a header) by advancing *data and
     * *first_line and shrinking *len. It runs on the calling thread. */
    dmmp_status (*first)(void *user, char **data, size_t *len, int64_t *first_line);
    /* Clears the outputs of a set before a block is parsed into it (runs on
     * the helper thread, so it may touch only that set). */
    void (*reset)(void *user, int set);
    /* Optional: called after a block is parsed, before its merge, on the
     * helper thread (block 0: the calling thread), in file order. It runs
     * while the previous block is merged, so it may only touch state that
     * no merge writes (e.g. tables the later merges read). */
    dmmp_status (*parsed)(void *user, const line_block *b);
    /* Merges one parsed block, in file order, on the calling thread. */
    dmmp_status (*merge)(void *user, const line_block *b);
} line_stream;

/* Streams st->path to the end; *bytes receives the bytes read (0: an empty
 * file, on which no callback runs). */
dmmp_status line_stream_run(const line_stream *st, int64_t *bytes);

#endif
