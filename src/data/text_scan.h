/* Scanning text records: where we are (file, line, column) for error
 * messages, line splitting, and numbers parsed by hand (no locale, no
 * NUL terminator needed, an exact range [p, end) per token). */
#ifndef DMMP_DATA_TEXT_SCAN_H
#define DMMP_DATA_TEXT_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* The position of the line being parsed; columns are 1-based byte offsets
 * from line_start. */
typedef struct text_loc {
    const char *file;
    int64_t line;
    const char *line_start;
} text_loc;

/* Records DMMP_EFORMAT with "file:line:column: message" (column of at). */
dmmp_status text_fail(const text_loc *loc, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* End of the line starting at p (the '\n' or end), with a trailing '\r'
 * excluded from [p, *content_end); returns the start of the next line. */
const char *text_next_line(const char *p, const char *end, const char **content_end);

/* Parses [p, end) as a non-negative decimal integer (digits only, at least
 * one, no overflow); what names the column in the error. */
dmmp_status text_parse_u64(const char *p, const char *end, const text_loc *loc, const char *what, uint64_t *val);

/* Parses [p, end) as an optionally signed decimal integer. */
dmmp_status text_parse_i64(const char *p, const char *end, const text_loc *loc, const char *what, int64_t *val);

/* Parses [p, end) as a finite decimal number ([+-]digits[.digits][e[+-]digits],
 * also ".5" and "5."), rounded to float; an empty range is an error. */
dmmp_status text_parse_f32(const char *p, const char *end, const text_loc *loc, const char *what, float *val);

/* Parses a 0/1 label. */
dmmp_status text_parse_label(const char *p, const char *end, const text_loc *loc, const char *what, uint8_t *val);

/* 64-bit hash of the bytes [p, p + n): used for string keys such as Ali-CCP's
 * common_feature_index (collisions among a million keys: ~3e-8). */
uint64_t text_hash64(const char *p, size_t n);

#endif
