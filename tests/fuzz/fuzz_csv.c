/* Fuzz target: the CSV record splitter (src/data/csv_record.h).
 *
 * The first byte picks the delimiter (',' or tab) and whether quoting is on;
 * each following line is split with the width csv_record_count reports and
 * with one field more and one less. Properties: a line without the quote
 * character always splits, its fields tile the line (each ends at a
 * delimiter, the next starts right after it); a wrong width is always an
 * error with a "file:line:column" message; a line that splits re-encodes
 * (every field quoted, quotes doubled) to a line that splits to the same
 * field contents. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/csv_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail_property(const char *what)
{
    fprintf(stderr, "csv property violated: %s\n", what);
    abort();
}

static void check_line(const char *orig, size_t len, int64_t line_no, char delim, char quote)
{
    char *line = malloc(len + 1), *again = malloc(len + 1);
    char *enc = malloc(2 * len + 3 * (len + 1) + 8);
    if (!line || !again || !enc) goto out;
    memcpy(line, orig, len);
    memcpy(again, orig, len);
    const char *end = line + len;
    text_loc loc = {"fuzz.csv", line_no, line};
    int n = csv_record_count(line, end, delim, quote);
    if (n < 1 || n > 4096) goto out;
    csv_field *f = malloc((size_t)(n + 1) * sizeof *f);
    if (!f) goto out;
    int has_quote = quote && memchr(line, quote, len) != NULL;
    dmmp_status s = csv_record_split(line, end, delim, quote, &loc, f, n);
    if (!has_quote && s != DMMP_OK) fail_property("a line without quotes failed");
    if (s != DMMP_OK && strncmp(dmmp_errmsg(), "fuzz.csv:", 9)) fail_property("the error does not name the file");
    if (s == DMMP_OK && !has_quote) {
        if (f[0].start != line || f[n - 1].end != end) fail_property("fields do not cover the line");
        for (int i = 0; i + 1 < n; i++)
            if (*f[i].end != delim || f[i + 1].start != f[i].end + 1) fail_property("fields do not tile");
    }
    if (s == DMMP_OK && quote) {
        /* Re-encode every field quoted and split again. */
        size_t at = 0;
        for (int i = 0; i < n; i++) {
            if (i) enc[at++] = delim;
            enc[at++] = quote;
            for (const char *c = f[i].start; c < f[i].end; c++) {
                if (*c == quote) enc[at++] = quote;
                enc[at++] = *c;
            }
            enc[at++] = quote;
        }
        csv_field g[4097];
        text_loc l2 = {"fuzz.csv", line_no, enc};
        if (csv_record_count(enc, enc + at, delim, quote) != n) fail_property("re-encoded width");
        if (csv_record_split(enc, enc + at, delim, quote, &l2, g, n) != DMMP_OK) fail_property("re-encoded line fails");
        for (int i = 0; i < n; i++)
            if (g[i].end - g[i].start != f[i].end - f[i].start ||
                memcmp(g[i].start, f[i].start, (size_t)(f[i].end - f[i].start)))
                fail_property("re-encoded fields differ");
    }
    loc.line_start = again;
    if (csv_record_split(again, again + len, delim, quote, &loc, f, n + 1) == DMMP_OK)
        fail_property("a short line was accepted");
    if (strncmp(dmmp_errmsg(), "fuzz.csv:", 9)) fail_property("the error does not name the file");
    free(f);
out:
    free(line);
    free(again);
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536) return 0;
    char delim = data[0] & 1 ? '\t' : ',';
    char quote = data[0] & 2 ? 0 : '"';
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    int64_t line_no = 1;
    while (p < end) {
        const char *ce;
        const char *next = text_next_line(p, end, &ce);
        check_line(p, (size_t)(ce - p), line_no++, delim, quote);
        p = next;
    }
    return 0;
}
