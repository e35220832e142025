/* Hand-written number parsing: strtod needs NUL-terminated text and obeys
 * the locale, and the importers parse hundreds of millions of tokens. */
#include "data/text_scan.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

dmmp_status text_fail(const text_loc *loc, const char *at, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    long long col = at && loc->line_start ? (long long)(at - loc->line_start) + 1 : 1;
    return dmmp_fail(DMMP_EFORMAT, "%s:%lld:%lld: %s", loc->file ? loc->file : "<input>", (long long)loc->line,
                     col, msg);
}

const char *text_next_line(const char *p, const char *end, const char **content_end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *stop = nl ? nl : end;
    *content_end = (stop > p && stop[-1] == '\r') ? stop - 1 : stop;
    return nl ? nl + 1 : end;
}

/* Shows the offending token (at most 24 bytes) in messages. */
static int token_len(const char *p, const char *end) { return (int)(end - p > 24 ? 24 : end - p); }

dmmp_status text_parse_u64(const char *p, const char *end, const text_loc *loc, const char *what, uint64_t *val)
{
    if (p == end) return text_fail(loc, p, "%s: empty where a non-negative integer is expected", what);
    uint64_t v = 0;
    for (const char *q = p; q < end; q++) {
        unsigned d = (unsigned)(unsigned char)*q - '0';
        if (d > 9)
            return text_fail(loc, q, "%s: bad integer '%.*s'", what, token_len(p, end), p);
        if (v > (UINT64_MAX - d) / 10)
            return text_fail(loc, p, "%s: integer '%.*s' overflows 64 bits", what, token_len(p, end), p);
        v = v * 10 + d;
    }
    *val = v;
    return DMMP_OK;
}

dmmp_status text_parse_i64(const char *p, const char *end, const text_loc *loc, const char *what, int64_t *val)
{
    int neg = p < end && *p == '-';
    const char *q = p + (p < end && (*p == '-' || *p == '+'));
    uint64_t mag;
    DMMP_TRY(text_parse_u64(q, end, loc, what, &mag));
    if (mag > (uint64_t)INT64_MAX + (uint64_t)neg)
        return text_fail(loc, p, "%s: integer '%.*s' overflows 64 bits", what, token_len(p, end), p);
    *val = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return DMMP_OK;
}

/* Exact powers of ten representable in a double. */
static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

dmmp_status text_parse_f32(const char *p, const char *end, const text_loc *loc, const char *what, float *val)
{
    const char *q = p;
    int neg = 0;
    if (q < end && (*q == '-' || *q == '+')) neg = *q++ == '-';
    uint64_t mant = 0;
    int digits = 0, scale = 0, seen_digit = 0;
    /* Up to 19 significant digits are kept; later ones only shift the scale. */
    for (; q < end && (unsigned)(*q - '0') <= 9; q++) {
        seen_digit = 1;
        if (digits < 19) {
            mant = mant * 10 + (uint64_t)(*q - '0');
            if (mant) digits++;
        } else {
            scale++;
        }
    }
    if (q < end && *q == '.') {
        for (q++; q < end && (unsigned)(*q - '0') <= 9; q++) {
            seen_digit = 1;
            if (digits < 19) {
                mant = mant * 10 + (uint64_t)(*q - '0');
                if (mant) digits++;
                scale--;
            }
        }
    }
    if (!seen_digit)
        return text_fail(loc, p, "%s: bad number '%.*s'", what, token_len(p, end), p);
    if (q < end && (*q == 'e' || *q == 'E')) {
        const char *e = ++q;
        int eneg = 0, ev = 0;
        if (q < end && (*q == '-' || *q == '+')) eneg = *q++ == '-';
        if (q == end || (unsigned)(*q - '0') > 9)
            return text_fail(loc, e, "%s: bad exponent in '%.*s'", what, token_len(p, end), p);
        for (; q < end && (unsigned)(*q - '0') <= 9; q++)
            if (ev < 10000) ev = ev * 10 + (*q - '0');
        scale += eneg ? -ev : ev;
    }
    if (q != end) return text_fail(loc, q, "%s: bad number '%.*s'", what, token_len(p, end), p);
    double v = (double)mant;
    if (mant == 0) v = 0.0;
    else if (scale >= 0 && scale <= 22) v *= pow10_exact[scale];
    else if (scale < 0 && scale >= -22) v /= pow10_exact[-scale];
    else v *= pow(10.0, scale);
    if (!(fabs(v) <= 3.4028234663852886e38))
        return text_fail(loc, p, "%s: number '%.*s' is out of float range", what, token_len(p, end), p);
    *val = (float)(neg ? -v : v);
    return DMMP_OK;
}

dmmp_status text_parse_label(const char *p, const char *end, const text_loc *loc, const char *what, uint8_t *val)
{
    if (end - p == 1 && (*p == '0' || *p == '1')) {
        *val = (uint8_t)(*p - '0');
        return DMMP_OK;
    }
    return text_fail(loc, p, "%s: expected 0 or 1, found '%.*s'", what, token_len(p, end), p);
}

uint64_t text_hash64(const char *p, size_t n)
{
    /* Eight bytes at a time through a multiply-xorshift, then the splitmix64
     * finaliser; the length is mixed in so that prefixes differ. */
    uint64_t h = 0x243f6a8885a308d3ULL ^ (n * 0x9e3779b97f4a7c15ULL);
    while (n > 0) {
        uint64_t w = 0;
        size_t k = n < 8 ? n : 8;
        memcpy(&w, p, k);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
        p += k;
        n -= k;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}
