/* Typed values of configuration keys: text to value with range checks, and
 * value to text that parses back to the identical value. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_schema.h"

static void *field(const config_key *k, dmmp_config *c) { return (char *)c + k->offset; }

static const void *field_const(const config_key *k, const dmmp_config *c)
{
    return (const char *)c + k->offset;
}

static void format_number(double x, char *buf, size_t len)
{
    /* The shortest %g form that reads back to the same double keeps
     * 0.001 readable while staying exact. */
    if (x == floor(x) && fabs(x) < 1e15) {
        snprintf(buf, len, "%.0f", x);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) return;
    }
}

void config_key_expected(const config_key *k, char *buf, size_t len)
{
    char lo[32], hi[32];
    format_number(k->min, lo, sizeof lo);
    format_number(k->max, hi, sizeof hi);
    switch (k->type) {
    case CONFIG_TYPE_INT:
        snprintf(buf, len, "an integer in [%s, %s]", lo, hi);
        return;
    case CONFIG_TYPE_DOUBLE:
        snprintf(buf, len, "a finite number in %c%s, %s%c", k->min_open ? '(' : '[', lo, hi,
                 k->max_open ? ')' : ']');
        return;
    case CONFIG_TYPE_BOOL:
        snprintf(buf, len, "on or off");
        return;
    case CONFIG_TYPE_ENUM: {
        size_t used = (size_t)snprintf(buf, len, "one of ");
        for (size_t i = 0; k->enum_names[i] && used < len; i++)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "|" : "", k->enum_names[i]);
        return;
    }
    case CONFIG_TYPE_INT_LIST:
        if (k->min_count == 0)
            snprintf(buf, len, "'none' or up to %d comma-separated%s integers in [%s, %s]", CONFIG_MAX_LIST,
                     k->ascending ? " increasing" : "", lo, hi);
        else
            snprintf(buf, len, "%d to %d comma-separated%s integers in [%s, %s]", k->min_count,
                     CONFIG_MAX_LIST, k->ascending ? " increasing" : "", lo, hi);
        return;
    case CONFIG_TYPE_STRING:
        snprintf(buf, len, "text of at most %d characters without control characters or ' ;'",
                 CONFIG_STRING_MAX);
        return;
    }
    snprintf(buf, len, "a value");
}

static dmmp_status bad_value(const config_key *k, const char *text, const char *where, const char *detail)
{
    char expected[256];
    config_key_expected(k, expected, sizeof expected);
    return dmmp_fail(DMMP_EINVAL, "[%s] %s: bad value '%s' at %s; expected %s%s%s", k->section, k->name, text,
                     where, expected, detail[0] ? ": " : "", detail);
}

/* Parses a whole decimal integer; 0 when text is not one or overflows long. */
static int parse_long(const char *text, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE || isspace((unsigned char)text[0])) return 0;
    *out = v;
    return 1;
}

static int in_range(const config_key *k, double v)
{
    if (k->min_open ? !(v > k->min) : !(v >= k->min)) return 0;
    if (k->max_open ? !(v < k->max) : !(v <= k->max)) return 0;
    return 1;
}

static int parse_bool(const char *text, int *out)
{
    static const char *const yes[] = {"on", "true", "yes", "1"};
    static const char *const no[] = {"off", "false", "no", "0"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (!strcmp(text, yes[i])) return *out = 1, 1;
        if (!strcmp(text, no[i])) return *out = 0, 1;
    }
    return 0;
}

static dmmp_status parse_list(const config_key *k, config_int_list *out, const char *text, const char *where)
{
    char detail[128] = "";
    config_int_list list = {0};
    if (!strcmp(text, "none") || text[0] == '\0') {
        if (k->min_count > 0) return bad_value(k, text, where, "the list may not be empty");
        *out = list;
        return DMMP_OK;
    }
    const char *p = text;
    for (;;) {
        char item[64];
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        while (n > 0 && isspace((unsigned char)*p)) p++, n--;
        while (n > 0 && isspace((unsigned char)p[n - 1])) n--;
        if (list.n == CONFIG_MAX_LIST) {
            snprintf(detail, sizeof detail, "more than %d entries", CONFIG_MAX_LIST);
            return bad_value(k, text, where, detail);
        }
        if (n >= sizeof item) n = sizeof item - 1;
        memcpy(item, p, n);
        item[n] = '\0';
        long v;
        if (!parse_long(item, &v) || !in_range(k, (double)v)) {
            snprintf(detail, sizeof detail, "entry %d is '%s'", list.n + 1, item);
            return bad_value(k, text, where, detail);
        }
        if (k->ascending && list.n > 0 && v <= list.v[list.n - 1]) {
            snprintf(detail, sizeof detail, "entry %d (%ld) does not exceed the one before", list.n + 1, v);
            return bad_value(k, text, where, detail);
        }
        list.v[list.n++] = (int)v;
        if (!comma) break;
        p = comma + 1;
    }
    if (list.n < k->min_count) return bad_value(k, text, where, "too few entries");
    *out = list;
    return DMMP_OK;
}

static dmmp_status parse_string(const config_key *k, char *out, const char *text, const char *where)
{
    size_t n = strlen(text);
    if (n > CONFIG_STRING_MAX) return bad_value(k, text, where, "too long");
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (iscntrl(ch)) return bad_value(k, text, where, "contains a control character");
        /* libinih would cut the value at an inline comment " ;"; a leading
         * ';' becomes one too once config_to_ini writes "key = ;...". */
        if (ch == ';' && (i == 0 || isspace((unsigned char)text[i - 1])))
            return bad_value(k, text, where, "' ;' starts a comment in INI files");
    }
    if (n > 0 && (isspace((unsigned char)text[0]) || isspace((unsigned char)text[n - 1])))
        return bad_value(k, text, where, "leading or trailing blanks would be lost");
    memcpy(out, text, n + 1);
    return DMMP_OK;
}

dmmp_status config_key_parse(const config_key *k, dmmp_config *c, const char *text, const char *where)
{
    switch (k->type) {
    case CONFIG_TYPE_INT: {
        long v;
        if (!parse_long(text, &v) || !in_range(k, (double)v)) return bad_value(k, text, where, "");
        *(int *)field(k, c) = (int)v;
        return DMMP_OK;
    }
    case CONFIG_TYPE_DOUBLE: {
        char *end;
        double v = strtod(text, &end);
        if (end == text || *end != '\0' || isspace((unsigned char)text[0]) || !isfinite(v) || !in_range(k, v))
            return bad_value(k, text, where, "");
        *(double *)field(k, c) = v;
        return DMMP_OK;
    }
    case CONFIG_TYPE_BOOL: {
        int v;
        if (!parse_bool(text, &v)) return bad_value(k, text, where, "");
        *(int *)field(k, c) = v;
        return DMMP_OK;
    }
    case CONFIG_TYPE_ENUM:
        for (int i = 0; k->enum_names[i]; i++) {
            if (!strcmp(text, k->enum_names[i])) {
                *(int *)field(k, c) = i;
                return DMMP_OK;
            }
        }
        return bad_value(k, text, where, "");
    case CONFIG_TYPE_INT_LIST:
        return parse_list(k, (config_int_list *)field(k, c), text, where);
    case CONFIG_TYPE_STRING:
        return parse_string(k, (char *)field(k, c), text, where);
    }
    return dmmp_fail(DMMP_EINVAL, "[%s] %s: key of unknown type %d", k->section, k->name, (int)k->type);
}

void config_key_format(const config_key *k, const dmmp_config *c, char *buf, size_t len)
{
    const void *f = field_const(k, c);
    switch (k->type) {
    case CONFIG_TYPE_INT:
        snprintf(buf, len, "%d", *(const int *)f);
        return;
    case CONFIG_TYPE_DOUBLE:
        format_number(*(const double *)f, buf, len);
        return;
    case CONFIG_TYPE_BOOL:
        snprintf(buf, len, "%s", *(const int *)f ? "on" : "off");
        return;
    case CONFIG_TYPE_ENUM: {
        int v = *(const int *)f, n = 0;
        while (k->enum_names[n]) n++;
        snprintf(buf, len, "%s", v >= 0 && v < n ? k->enum_names[v] : "?");
        return;
    }
    case CONFIG_TYPE_INT_LIST: {
        const config_int_list *l = f;
        size_t used = 0;
        if (l->n < 0 || l->n > CONFIG_MAX_LIST) {
            snprintf(buf, len, "?"); /* a corrupt count: printed so that parsing rejects it */
            return;
        }
        if (l->n == 0) snprintf(buf, len, "none");
        for (int i = 0; i < l->n && used < len; i++)
            used += (size_t)snprintf(buf + used, len - used, "%s%d", i ? "," : "", l->v[i]);
        return;
    }
    case CONFIG_TYPE_STRING:
        /* Bounded: a buffer without its terminator prints too long to parse. */
        snprintf(buf, len, "%.*s", CONFIG_STRING_MAX + 1, (const char *)f);
        return;
    }
    snprintf(buf, len, "?");
}

int config_key_equal(const config_key *k, const dmmp_config *a, const dmmp_config *b)
{
    const void *fa = field_const(k, a), *fb = field_const(k, b);
    switch (k->type) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_BOOL:
    case CONFIG_TYPE_ENUM:
        return *(const int *)fa == *(const int *)fb;
    case CONFIG_TYPE_DOUBLE:
        return *(const double *)fa == *(const double *)fb;
    case CONFIG_TYPE_INT_LIST: {
        const config_int_list *la = fa, *lb = fb;
        if (la->n != lb->n) return 0;
        for (int i = 0; i < la->n; i++)
            if (la->v[i] != lb->v[i]) return 0;
        return 1;
    }
    case CONFIG_TYPE_STRING:
        return strcmp(fa, fb) == 0;
    }
    return 0;
}

int config_equal(const dmmp_config *a, const dmmp_config *b)
{
    for (size_t i = 0; i < config_schema_size(); i++)
        if (!config_key_equal(config_schema_at(i), a, b)) return 0;
    return 1;
}

dmmp_status config_value_text(const dmmp_config *c, const char *dotted_key, char *buf, size_t len)
{
    char section[64];
    const char *dot = strchr(dotted_key, '.');
    size_t n = dot ? (size_t)(dot - dotted_key) : 0;
    if (!dot || n >= sizeof section)
        return dmmp_fail(DMMP_EINVAL, "config key '%s' is not of the form section.key", dotted_key);
    memcpy(section, dotted_key, n);
    section[n] = '\0';
    const config_key *k = config_schema_find(section, dot + 1);
    if (!k) return dmmp_fail(DMMP_EINVAL, "config key '%s' does not exist", dotted_key);
    config_key_format(k, c, buf, len);
    return DMMP_OK;
}
