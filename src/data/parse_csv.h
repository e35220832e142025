/* A CSV field scanner for the numeric CSV layouts the importers read (Ali-CCP
 * preprocessed, AliExpress): fields separated by ',', one record per line,
 * no quoting (a '"' is reported as an error rather than misread). */
#ifndef DMMP_DATA_PARSE_CSV_H
#define DMMP_DATA_PARSE_CSV_H

#include <stddef.h>

#include "core/status.h"
#include "data/text_scan.h"

/* One field: the bytes [start, end) of the line. */
typedef struct csv_field {
    const char *start;
    const char *end;
} csv_field;

/* Splits the line [line, end) into exactly n_expected fields; a short or
 * long line is an error naming the column where it went wrong. */
dmmp_status csv_split(const char *line, const char *end, const text_loc *loc, csv_field *fields, int n_expected);

/* Counts the fields of the line [line, end) (the header sets the width). */
int csv_count_fields(const char *line, const char *end);

/* Index of the field whose text equals name, or -1. */
int csv_find(const csv_field *fields, int n, const char *name);

#endif
