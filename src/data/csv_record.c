/* Lines without a quote character take the memchr path of the numeric
 * layouts; only lines that hold one are scanned byte by byte. */
#include "data/csv_record.h"

#include <string.h>

/* Scans the quoted field whose opening quote is at p; on success *close is
 * the closing quote and *out_end the end of the unescaped content, which
 * starts at p + 1. */
static dmmp_status scan_quoted(char *p, const char *end, char delim, char quote, const text_loc *loc, char **close,
                               char **out_end)
{
    char *w = p + 1;
    for (char *q = p + 1; q < end; q++) {
        if (*q != quote) {
            *w++ = *q;
            continue;
        }
        if (q + 1 < end && q[1] == quote) {
            *w++ = quote;
            q++;
            continue;
        }
        if (q + 1 < end && q[1] != delim)
            return text_fail(loc, q + 1, "text after a closing quote (a quote inside a quoted field is written \"\")");
        *close = q;
        *out_end = w;
        return DMMP_OK;
    }
    return text_fail(loc, p, "unterminated quote (a quoted field must end on its own line)");
}

dmmp_status csv_record_split(char *line, const char *end, char delim, char quote, const text_loc *loc,
                             csv_field *fields, int n)
{
    char *p = line;
    int plain = !quote || !memchr(line, quote, (size_t)(end - line));
    for (int i = 0; i < n; i++) {
        char *stop;
        if (!plain && p < end && *p == quote) {
            char *close = p, *content_end = p;
            DMMP_TRY(scan_quoted(p, end, delim, quote, loc, &close, &content_end));
            fields[i].start = p + 1;
            fields[i].end = content_end;
            stop = close + 1;
        } else {
            char *d = memchr(p, delim, (size_t)(end - p));
            stop = d ? d : (char *)end;
            fields[i].start = p;
            fields[i].end = stop;
        }
        if (stop >= end) {
            if (i + 1 < n) return text_fail(loc, end, "short line: %d fields, expected %d", i + 1, n);
            return DMMP_OK;
        }
        p = stop + 1;
    }
    return text_fail(loc, p - 1, "long line: more than %d fields", n);
}

int csv_record_count(const char *line, const char *end, char delim, char quote)
{
    int n = 1, in_quote = 0, at_start = 1;
    for (const char *q = line; q < end; q++) {
        if (in_quote) {
            if (*q == quote) {
                if (q + 1 < end && q[1] == quote) q++;
                else in_quote = 0;
            }
            continue;
        }
        if (quote && at_start && *q == quote) {
            in_quote = 1;
            at_start = 0;
            continue;
        }
        at_start = 0;
        if (*q == delim) {
            n++;
            at_start = 1;
        }
    }
    return n;
}
