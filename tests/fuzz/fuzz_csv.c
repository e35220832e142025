/* Fuzz target: the CSV field scanner (src/data/parse_csv.h).
 *
 * Each input line is split with the width csv_count_fields reports and with
 * one field more and one less. Properties: the counted width succeeds
 * exactly when the line holds no quote; the fields tile the line (each ends
 * at a comma, the next starts right after it, the last ends at the line's
 * end); a wrong width is always an error with a "file:line:column" message;
 * csv_find returns the first field equal to a name. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/parse_csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail_property(const char *what)
{
    fprintf(stderr, "csv property violated: %s\n", what);
    abort();
}

static void check_line(const char *line, const char *end, int64_t line_no)
{
    text_loc loc = {"fuzz.csv", line_no, line};
    int n = csv_count_fields(line, end);
    int commas = 0;
    for (const char *q = line; q < end; q++) commas += *q == ',';
    if (n != commas + 1) fail_property("csv_count_fields");
    if (n > 4096) return;
    csv_field *f = malloc((size_t)(n + 1) * sizeof *f);
    if (!f) return;
    int has_quote = memchr(line, '"', (size_t)(end - line)) != NULL;
    dmmp_status s = csv_split(line, end, &loc, f, n);
    if ((s == DMMP_OK) == has_quote) fail_property("success iff no quote");
    if (s == DMMP_OK) {
        if (f[0].start != line || f[n - 1].end != end) fail_property("fields do not cover the line");
        for (int i = 0; i < n; i++) {
            if (f[i].start > f[i].end || memchr(f[i].start, ',', (size_t)(f[i].end - f[i].start)))
                fail_property("a field holds a comma");
            if (i + 1 < n && (*f[i].end != ',' || f[i + 1].start != f[i].end + 1)) fail_property("fields do not tile");
        }
        /* The first field equal to the last one's text. */
        char name[64];
        size_t len = (size_t)(f[n - 1].end - f[n - 1].start);
        if (len < sizeof name && !memchr(f[n - 1].start, '\0', len)) {
            memcpy(name, f[n - 1].start, len);
            name[len] = '\0';
            int k = csv_find(f, n, name);
            if (k < 0 || k > n - 1 || (size_t)(f[k].end - f[k].start) != len || memcmp(f[k].start, name, len))
                fail_property("csv_find");
            for (int i = 0; i < k; i++)
                if ((size_t)(f[i].end - f[i].start) == len && !memcmp(f[i].start, name, len))
                    fail_property("csv_find missed an earlier match");
        }
    }
    if (csv_split(line, end, &loc, f, n + 1) == DMMP_OK) fail_property("a short line was accepted");
    if (n > 1 && csv_split(line, end, &loc, f, n - 1) == DMMP_OK) fail_property("a long line was accepted");
    if (strncmp(dmmp_errmsg(), "fuzz.csv:", 9)) fail_property("the error does not name the file");
    free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) return 0;
    const char *p = (const char *)data, *end = p + size;
    int64_t line_no = 1;
    while (p < end) {
        const char *ce;
        const char *next = text_next_line(p, end, &ce);
        check_line(p, ce, line_no++);
        p = next;
    }
    return 0;
}
