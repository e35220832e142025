/* Field ids are matched by a switch on their number ("101", "109_14"), not
 * by string comparison: a feature list holds hundreds of entries. */
#include "data/parse_aliccp_raw.h"

#include <stdlib.h>
#include <string.h>

const aliccp_field_info aliccp_fields[ALICCP_N_FIELDS] = {
    {"101", SIDE_USER, 0},    {"121", SIDE_USER, 0},    {"122", SIDE_USER, 0},    {"124", SIDE_USER, 0},
    {"125", SIDE_USER, 0},    {"126", SIDE_USER, 0},    {"127", SIDE_USER, 0},    {"128", SIDE_USER, 0},
    {"129", SIDE_USER, 0},    {"109_14", SIDE_USER, 1}, {"110_14", SIDE_USER, 1}, {"127_14", SIDE_USER, 1},
    {"150_14", SIDE_USER, 1}, {"205", SIDE_ITEM, 0},    {"206", SIDE_ITEM, 0},    {"207", SIDE_ITEM, 0},
    {"210", SIDE_ITEM, 0},    {"216", SIDE_ITEM, 0},    {"301", SIDE_CONTEXT, 0}, {"508", SIDE_CROSS, 0},
    {"509", SIDE_CROSS, 0},   {"702", SIDE_CROSS, 0},   {"853", SIDE_CROSS, 0},
};

int aliccp_field_index(const char *p, const char *end)
{
    if (end - p != 3 && !(end - p == 6 && p[3] == '_' && p[4] == '1' && p[5] == '4')) return -1;
    int code = 0;
    for (int i = 0; i < 3; i++) {
        unsigned d = (unsigned)(unsigned char)p[i] - '0';
        if (d > 9) return -1;
        code = code * 10 + (int)d;
    }
    if (end - p == 6) {
        switch (code) {
        case 109: return 9;
        case 110: return 10;
        case 127: return 11;
        case 150: return 12;
        default: return -1;
        }
    }
    switch (code) {
    case 101: return 0;
    case 121: return 1;
    case 122: return 2;
    case 124: return 3;
    case 125: return 4;
    case 126: return 5;
    case 127: return 6;
    case 128: return 7;
    case 129: return 8;
    case 205: return 13;
    case 206: return 14;
    case 207: return 15;
    case 210: return 16;
    case 216: return 17;
    case 301: return 18;
    case 508: return 19;
    case 509: return 20;
    case 702: return 21;
    case 853: return 22;
    default: return -1;
    }
}

void aliccp_entries_free(aliccp_entries *e)
{
    free(e->v);
    e->v = NULL;
    e->n = e->cap = 0;
}

static dmmp_status reserve(aliccp_entries *e, int64_t extra)
{
    if (e->n + extra <= e->cap) return DMMP_OK;
    int64_t cap = e->cap ? e->cap : 256;
    while (cap < e->n + extra) cap *= 2;
    aliccp_entry *v = realloc(e->v, (size_t)cap * sizeof *v);
    if (!v) return dmmp_fail(DMMP_ENOMEM, "feature entries: cannot grow to %lld", (long long)cap);
    e->v = v;
    e->cap = cap;
    return DMMP_OK;
}

/* The next ','-separated column of [*p, end); fails naming `what` when the
 * line ends first. */
static dmmp_status next_column(const char **p, const char *end, const text_loc *loc, const char *what,
                               const char **col_start, const char **col_end)
{
    if (*p > end) return text_fail(loc, end, "short line: missing %s", what);
    const char *comma = memchr(*p, ',', (size_t)(end - *p));
    if (!comma) return text_fail(loc, end, "short line: missing %s", what);
    *col_start = *p;
    *col_end = comma;
    *p = comma + 1;
    return DMMP_OK;
}

/* Parses feature_count then the feature_list [p, end). */
static dmmp_status parse_feature_list(const char *p, const char *end, const char *count_start,
                                      const char *count_end, const text_loc *loc, int32_t *n_out,
                                      aliccp_entries *out)
{
    uint64_t count;
    DMMP_TRY(text_parse_u64(count_start, count_end, loc, "feature_count", &count));
    if (count > 1000000) return text_fail(loc, count_start, "feature_count %llu is implausible", (unsigned long long)count);
    int64_t base = out->n;
    DMMP_TRY(reserve(out, (int64_t)count + 1));
    int64_t n = 0;
    const char *q = p;
    while (q < end || (q == end && n < (int64_t)count && count > 0)) {
        const char *sep = memchr(q, 0x01, (size_t)(end - q));
        const char *e_end = sep ? sep : end;
        const char *f2 = memchr(q, 0x02, (size_t)(e_end - q));
        if (!f2) {
            out->n = base;
            return text_fail(loc, q, "feature entry %lld: missing 0x02 after the field id", (long long)n + 1);
        }
        int field = aliccp_field_index(q, f2);
        if (field < 0) {
            out->n = base;
            return text_fail(loc, q, "field id '%.*s' is not declared", (int)(f2 - q > 16 ? 16 : f2 - q), q);
        }
        const char *f3 = memchr(f2 + 1, 0x03, (size_t)(e_end - f2 - 1));
        if (!f3) {
            out->n = base;
            return text_fail(loc, f2 + 1, "feature entry %lld: missing 0x03 after the feature id", (long long)n + 1);
        }
        if (n >= (int64_t)count) {
            out->n = base;
            return text_fail(loc, q, "feature_list has more entries than feature_count %llu", (unsigned long long)count);
        }
        aliccp_entry *e = &out->v[base + n];
        dmmp_status s = text_parse_u64(f2 + 1, f3, loc, "feature_id", &e->feature_id);
        if (s == DMMP_OK) s = text_parse_f32(f3 + 1, e_end, loc, "feature value", &e->value);
        if (s != DMMP_OK) {
            out->n = base;
            return s;
        }
        e->field = field;
        n++;
        if (!sep) break;
        q = sep + 1;
    }
    if (n != (int64_t)count) {
        out->n = base;
        return text_fail(loc, end, "feature_list has %lld entries, feature_count says %llu", (long long)n,
                         (unsigned long long)count);
    }
    out->n = base + n;
    *n_out = (int32_t)n;
    return DMMP_OK;
}

dmmp_status aliccp_parse_skeleton(const char *line, const char *end, const text_loc *loc, aliccp_skeleton *row,
                                  aliccp_entries *out)
{
    const char *p = line, *a = line, *b = line;
    DMMP_TRY(next_column(&p, end, loc, "click", &a, &b));
    DMMP_TRY(text_parse_u64(a, b, loc, "sample_id", &row->sample_id));
    DMMP_TRY(next_column(&p, end, loc, "conversion", &a, &b));
    DMMP_TRY(text_parse_label(a, b, loc, "click", &row->click));
    DMMP_TRY(next_column(&p, end, loc, "common_feature_index", &a, &b));
    DMMP_TRY(text_parse_label(a, b, loc, "conversion", &row->conversion));
    if (row->conversion && !row->click) return text_fail(loc, a, "conversion without a click");
    DMMP_TRY(next_column(&p, end, loc, "feature_count", &a, &b));
    if (a == b) return text_fail(loc, a, "empty common_feature_index");
    row->common_key = text_hash64(a, (size_t)(b - a));
    row->common_key_col = (int32_t)(a - loc->line_start) + 1;
    DMMP_TRY(next_column(&p, end, loc, "feature_list", &a, &b));
    return parse_feature_list(p, end, a, b, loc, &row->n_entries, out);
}

dmmp_status aliccp_parse_common(const char *line, const char *end, const text_loc *loc, uint64_t *key,
                                int32_t *n_entries, aliccp_entries *out)
{
    const char *p = line, *a = line, *b = line;
    DMMP_TRY(next_column(&p, end, loc, "feature_count", &a, &b));
    if (a == b) return text_fail(loc, a, "empty common_feature_index");
    *key = text_hash64(a, (size_t)(b - a));
    DMMP_TRY(next_column(&p, end, loc, "feature_list", &a, &b));
    return parse_feature_list(p, end, a, b, loc, n_entries, out);
}

dmmp_status aliccp_scan_key(const char *line, const char *end, const text_loc *loc, int column, uint64_t *key)
{
    const char *p = line, *a = line, *b = line;
    for (int i = 0; i < column; i++) DMMP_TRY(next_column(&p, end, loc, "common_feature_index", &a, &b));
    /* The key may end the line here; the full parse reports what follows. */
    a = p;
    b = memchr(p, ',', (size_t)(end - p));
    if (!b) b = end;
    if (a == b) return text_fail(loc, a, "empty common_feature_index");
    *key = text_hash64(a, (size_t)(b - a));
    return DMMP_OK;
}
