/* Fuzz target: the number parsers and line splitter of src/data/text_scan.h.
 *
 * The first input byte picks the parser; the rest is one token. Beyond "no
 * crash, no undefined behaviour", each accepted token is checked against the
 * C library (strtoull, strtoll, strtod) on a NUL-terminated copy, and a
 * decimal token the C library reads in full and in float range must not be
 * rejected: a parser that silently misreads a number would change results. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/text_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail_property(const char *what, const char *token)
{
    fprintf(stderr, "text_scan property violated: %s (token '%s')\n", what, token);
    abort();
}

/* 1 when every byte is one a plain decimal number can hold. */
static int plain_decimal(const char *s)
{
    for (; *s; s++)
        if (!strchr("0123456789+-.eE", *s)) return 0;
    return 1;
}

static void check_u64(const char *p, const char *end, const text_loc *loc, const char *copy)
{
    uint64_t v;
    if (text_parse_u64(p, end, loc, "u64", &v) != DMMP_OK) {
        int digits_only = p < end;
        for (const char *q = p; q < end; q++) digits_only &= *q >= '0' && *q <= '9';
        errno = 0;
        unsigned long long ref = strtoull(copy, NULL, 10);
        if (digits_only && errno == 0 && ref <= UINT64_MAX) fail_property("u64 rejected a valid integer", copy);
        return;
    }
    if (copy[0] == '-' || copy[0] == '+' || copy[0] == ' ') fail_property("u64 accepted a sign or space", copy);
    errno = 0;
    unsigned long long ref = strtoull(copy, NULL, 10);
    if (errno || ref != v) fail_property("u64 disagrees with strtoull", copy);
}

static void check_i64(const char *p, const char *end, const text_loc *loc, const char *copy)
{
    int64_t v;
    if (text_parse_i64(p, end, loc, "i64", &v) != DMMP_OK) return;
    char *stop;
    errno = 0;
    long long ref = strtoll(copy, &stop, 10);
    if (errno || *stop || ref != v) fail_property("i64 disagrees with strtoll", copy);
}

static void check_f32(const char *p, const char *end, const text_loc *loc, const char *copy)
{
    float v;
    char *stop;
    errno = 0;
    double ref = strtod(copy, &stop);
    int ref_whole = stop != copy && *stop == '\0' && plain_decimal(copy);
    if (text_parse_f32(p, end, loc, "f32", &v) != DMMP_OK) {
        /* 0.999: values within rounding of FLT_MAX may go either way. */
        if (ref_whole && fabs(ref) < 0.999 * FLT_MAX) fail_property("f32 rejected a valid number", copy);
        return;
    }
    if (!isfinite(v)) fail_property("f32 returned a non-finite value", copy);
    if (!ref_whole) fail_property("f32 accepted what strtod does not read in full", copy);
    /* The parser rounds a 19-digit mantissa times a power of ten in double,
     * then to float: within 2 float ulps (2^-22 relative) of the exact value,
     * plus the spacing of subnormal floats near zero. */
    double tol = fabs(ref) * 2.4e-7 + 1.5e-45;
    if (fabs((double)v - (double)(float)ref) > tol) fail_property("f32 disagrees with strtod", copy);
}

static void check_label(const char *p, const char *end, const text_loc *loc, const char *copy)
{
    uint8_t v;
    int ok = text_parse_label(p, end, loc, "label", &v) == DMMP_OK;
    int want = end - p == 1 && (*p == '0' || *p == '1');
    if (ok != want || (ok && v != (uint8_t)(*p - '0'))) fail_property("label", copy);
}

/* Splits the whole input into lines: every line ends before the next one
 * starts, holds no '\n', and the walk always advances. */
static void check_lines(const char *p, const char *end)
{
    while (p < end) {
        const char *ce;
        const char *next = text_next_line(p, end, &ce);
        if (next <= p || next > end || ce < p || ce > next) fail_property("text_next_line bounds", "");
        if (memchr(p, '\n', (size_t)(ce - p))) fail_property("text_next_line kept a newline", "");
        p = next;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096) return 0;
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    size_t n = size - 1;
    char *copy = malloc(n + 1);
    if (!copy) return 0;
    memcpy(copy, p, n);
    copy[n] = '\0';
    text_loc loc = {"fuzz", 1, p};
    /* A NUL inside the token makes the C library stop early: compare only
     * tokens it sees whole. */
    int comparable = strlen(copy) == n;
    switch (data[0] % 5) {
    case 0:
        if (comparable) check_u64(p, end, &loc, copy);
        break;
    case 1:
        if (comparable) check_i64(p, end, &loc, copy);
        break;
    case 2:
        if (comparable) check_f32(p, end, &loc, copy);
        break;
    case 3: check_label(p, end, &loc, copy); break;
    default: check_lines(p, end); break;
    }
    (void)text_hash64(p, n);
    free(copy);
    return 0;
}
