/* Splitting one CSV/TSV record with any one-character delimiter and RFC 4180
 * quoting: a field that starts with the quote character runs to the quote
 * that is followed by the delimiter or the end of the line, and "" inside it
 * is one quote. A record is one line: a quoted field cannot hold a line
 * break (the line readers cut blocks at line ends), so a quote left open at
 * the end of the line is an error ("unterminated quote"). */
#ifndef DMMP_DATA_CSV_RECORD_H
#define DMMP_DATA_CSV_RECORD_H

#include "core/status.h"
#include "data/text_scan.h"

/* One field: the bytes [start, end) of the line. */
typedef struct csv_field {
    const char *start;
    const char *end;
} csv_field;

/* Splits [line, end) into exactly n fields; fields[i] is the content (the
 * quotes stripped). A quoted field holding "" is unescaped in place, inside
 * its own bytes of the line (the other fields and the columns of errors do
 * not move). quote 0 turns quoting off. A short or long line, an
 * unterminated quote or text after a closing quote is an error at its
 * column. */
dmmp_status csv_record_split(char *line, const char *end, char delim, char quote, const text_loc *loc,
                             csv_field *fields, int n);

/* The number of fields of [line, end) (quoting as above; an unterminated
 * quote ends the count). */
int csv_record_count(const char *line, const char *end, char delim, char quote);

#endif
