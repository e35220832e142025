#include "data/raw_ids.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void raw_ids_init(raw_ids *t) { memset(t, 0, sizeof *t); }

void raw_ids_free(raw_ids *t)
{
    free(t->offsets);
    free(t->bytes);
    memset(t, 0, sizeof *t);
}

dmmp_status raw_ids_push(raw_ids *t, const char *s, size_t len, const char *what)
{
    if (len && memchr(s, '\0', len)) return dmmp_fail(DMMP_EFORMAT, "%s: a raw id holds a NUL byte", what);
    if (t->n + 2 > t->cap) {
        int64_t cap = t->cap ? t->cap * 2 : 1024;
        int64_t *o = realloc(t->offsets, (size_t)cap * sizeof *o);
        if (!o) return dmmp_fail(DMMP_ENOMEM, "%s: out of memory for %lld raw ids", what, (long long)cap);
        if (!t->offsets) o[0] = 0;
        t->offsets = o;
        t->cap = cap;
    }
    int64_t at = t->offsets[t->n];
    if (at + (int64_t)len + 1 > t->bytes_cap) {
        int64_t cap = t->bytes_cap ? t->bytes_cap : 4096;
        while (cap < at + (int64_t)len + 1) cap *= 2;
        char *b = realloc(t->bytes, (size_t)cap);
        if (!b) return dmmp_fail(DMMP_ENOMEM, "%s: out of memory for raw ids (%lld bytes)", what, (long long)cap);
        t->bytes = b;
        t->bytes_cap = cap;
    }
    memcpy(t->bytes + at, s, len);
    t->bytes[at + (int64_t)len] = '\0';
    t->offsets[++t->n] = at + (int64_t)len;
    return DMMP_OK;
}

const char *raw_ids_get(const raw_ids *t, int64_t i, size_t *len)
{
    *len = (size_t)(t->offsets[i + 1] - t->offsets[i]);
    return t->bytes + t->offsets[i];
}

const char *raw_ids_format(const raw_ids *t, int64_t i, char *buf, size_t cap)
{
    if (cap == 0) return buf;
    if (!t || i < 0 || i >= t->n) {
        snprintf(buf, cap, "#%" PRId64, i);
        return buf;
    }
    size_t len;
    const char *s = raw_ids_get(t, i, &len);
    if (len > cap - 1) len = cap - 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return buf;
}

int64_t raw_ids_find(const raw_ids *t, const char *s, size_t len)
{
    for (int64_t i = 0; i < t->n; i++) {
        size_t l;
        const char *e = raw_ids_get(t, i, &l);
        if (l == len && !memcmp(e, s, len)) return i;
    }
    return -1;
}

dmmp_status raw_ids_check(const raw_ids *t, const char *file, const char *where)
{
    if (t->n == 0) return DMMP_OK;
    if (t->offsets[0] != 0) return dmmp_fail(DMMP_EFORMAT, "%s: %s/offsets does not start at 0", file, where);
    for (int64_t i = 0; i < t->n; i++)
        if (t->offsets[i + 1] < t->offsets[i])
            return dmmp_fail(DMMP_EFORMAT, "%s: %s/offsets decrease at entry %lld", file, where, (long long)i);
    int64_t total = t->offsets[t->n];
    if (memchr(t->bytes, '\0', (size_t)total))
        return dmmp_fail(DMMP_EFORMAT, "%s: %s/bytes holds a NUL byte", file, where);
    return DMMP_OK;
}
