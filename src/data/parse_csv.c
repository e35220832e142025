/* memchr finds each separator at vector speed; fields are ranges into the
 * caller's buffer, never copied. */
#include "data/parse_csv.h"

#include <string.h>

dmmp_status csv_split(const char *line, const char *end, const text_loc *loc, csv_field *fields, int n_expected)
{
    const char *p = line;
    for (int i = 0; i < n_expected; i++) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        const char *quote = memchr(p, '"', (size_t)(stop - p));
        if (quote) return text_fail(loc, quote, "quoted fields are not supported (field %d)", i + 1);
        fields[i].start = p;
        fields[i].end = stop;
        if (!comma) {
            if (i + 1 < n_expected)
                return text_fail(loc, end, "short line: %d fields, expected %d", i + 1, n_expected);
            return DMMP_OK;
        }
        p = comma + 1;
    }
    return text_fail(loc, p - 1, "long line: more than %d fields", n_expected);
}

int csv_count_fields(const char *line, const char *end)
{
    int n = 1;
    for (const char *p = line; (p = memchr(p, ',', (size_t)(end - p))) != NULL; p++) n++;
    return n;
}

int csv_find(const csv_field *fields, int n, const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < n; i++)
        if ((size_t)(fields[i].end - fields[i].start) == len && !memcmp(fields[i].start, name, len)) return i;
    return -1;
}
