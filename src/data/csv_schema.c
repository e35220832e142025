/* A small line parser of its own: every message needs the line of the key,
 * which the Debian build of libinih does not pass to its handler. */
#include "data/csv_schema.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA_MAX_BYTES (1 << 20)

typedef enum section { SEC_NONE, SEC_DATASET, SEC_CSV, SEC_LABELS, SEC_KEYS, SEC_FIELD } section;

typedef struct parser {
    csv_schema *s;
    const char *origin;
    int line;
    section sec;
    csv_schema_field *field; /* the current [field NAME] */
} parser;

static dmmp_status fail_at(const parser *p, const char *key, const char *fmt, const char *a, const char *b)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
    if (key) return dmmp_fail(DMMP_EINVAL, "%s:%d: %s: %s", p->origin, p->line, key, msg);
    return dmmp_fail(DMMP_EINVAL, "%s:%d: %s", p->origin, p->line, msg);
}

static char *trim(char *a)
{
    while (*a == ' ' || *a == '\t') a++;
    size_t n = strlen(a);
    while (n > 0 && (a[n - 1] == ' ' || a[n - 1] == '\t' || a[n - 1] == '\r')) a[--n] = '\0';
    return a;
}

/* Cuts an inline comment: ';' or '#' after whitespace (a value may itself
 * start with ';', as a delimiter does). */
static void cut_comment(char *v)
{
    if (!*v) return;
    for (char *q = v + 1; *q; q++)
        if ((*q == ';' || *q == '#') && (q[-1] == ' ' || q[-1] == '\t')) {
            *q = '\0';
            return;
        }
}

static dmmp_status set_colref(const parser *p, const char *key, const char *v, csv_colref *c)
{
    if (!*v) return fail_at(p, key, "empty column name", NULL, NULL);
    if (strlen(v) >= sizeof c->name) return fail_at(p, key, "column name '%s' is too long", v, NULL);
    snprintf(c->name, sizeof c->name, "%s", v);
    c->line = p->line;
    c->col = -1;
    return DMMP_OK;
}

static dmmp_status parse_char(const parser *p, const char *key, const char *v, char *out, int allow_none)
{
    if (!strcmp(v, "\\t") || !strcmp(v, "tab")) {
        *out = '\t';
        return DMMP_OK;
    }
    if (allow_none && !strcmp(v, "none")) {
        *out = 0;
        return DMMP_OK;
    }
    if (strlen(v) != 1 || v[0] == '\n' || v[0] == '\r')
        return fail_at(p, key, "'%s' is not one character (\\t or tab for a tab%s)", v,
                       allow_none ? ", none for no quoting" : "");
    *out = v[0];
    return DMMP_OK;
}

static int parse_number(const char *v, double *out)
{
    if (!*v) return 0;
    char *end;
    errno = 0;
    *out = strtod(v, &end);
    return *end == '\0' && errno == 0;
}

/* COLUMN | COLUMN >= N | COLUMN > N | COLUMN == N | 0 | 1 */
static dmmp_status parse_label(const parser *p, const char *key, char *v, csv_label *l)
{
    memset(l, 0, sizeof *l);
    l->set = 1;
    l->column.col = -1;
    if (!strcmp(v, "0") || !strcmp(v, "1")) {
        l->op = LABEL_CONST;
        l->constant = v[0] == '1';
        return DMMP_OK;
    }
    static const struct {
        const char *tok;
        csv_label_op op;
    } ops[] = {{">=", LABEL_GE}, {"==", LABEL_EQ}, {">", LABEL_GT}};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        char *at = strstr(v, ops[k].tok);
        if (!at) continue;
        *at = '\0';
        char *col = trim(v), *num = trim(at + strlen(ops[k].tok));
        if (!*col) return fail_at(p, key, "no column before '%s'", ops[k].tok, NULL);
        if (!parse_number(num, &l->threshold))
            return fail_at(p, key, "'%s' is not a number (expected COLUMN %s NUMBER)", num, ops[k].tok);
        l->op = ops[k].op;
        return set_colref(p, key, col, &l->column);
    }
    if (strpbrk(v, "<=!>&| "))
        return fail_at(p, key, "cannot parse '%s': expected COLUMN, COLUMN >= N, COLUMN > N, COLUMN == N, 0 or 1", v,
                       NULL);
    l->op = LABEL_BINARY;
    return set_colref(p, key, v, &l->column);
}

static dmmp_status field_key(parser *p, const char *key, const char *v)
{
    csv_schema_field *f = p->field;
    if (!strcmp(key, "column")) return set_colref(p, key, v, &f->column);
    if (!strcmp(key, "side")) {
        static const char *const sides[] = {"user", "item", "context", "cross"};
        for (int k = 0; k < 4; k++)
            if (!strcmp(v, sides[k])) {
                f->side = (field_side)k;
                f->side_set = 1;
                return DMMP_OK;
            }
        return fail_at(p, key, "unknown side '%s' (user, item, context, cross)", v, NULL);
    }
    if (!strcmp(key, "kind")) {
        static const char *const kinds[] = {"categorical", "multi", "dense"};
        for (int k = 0; k < 3; k++)
            if (!strcmp(v, kinds[k])) {
                f->kind = (csv_field_kind)k;
                return DMMP_OK;
            }
        return fail_at(p, key, "unknown kind '%s' (categorical, multi, dense)", v, NULL);
    }
    if (!strcmp(key, "hash_buckets")) {
        char *end;
        errno = 0;
        long long b = strtoll(v, &end, 10);
        if (!*v || *end || errno || b < 0 || b >= INT32_MAX - 1)
            return fail_at(p, key, "'%s' is not an integer in [0, 2147483646)", v, NULL);
        f->hash_buckets = b;
        return DMMP_OK;
    }
    if (!strcmp(key, "separator")) return parse_char(p, key, v, &f->separator, 0);
    if (!strcmp(key, "weight_separator")) return parse_char(p, key, v, &f->weight_separator, 0);
    return fail_at(p, key, "unknown key in [field %s] (column, side, kind, hash_buckets, separator, weight_separator)",
                   f->name, NULL);
}

static dmmp_status key_value(parser *p, const char *key, char *v)
{
    csv_schema *s = p->s;
    switch (p->sec) {
    case SEC_NONE: return fail_at(p, key, "a key before any [section]", NULL, NULL);
    case SEC_DATASET:
        if (!strcmp(key, "name")) {
            if (!*v || strlen(v) >= sizeof s->name) return fail_at(p, key, "empty or too long", NULL, NULL);
            snprintf(s->name, sizeof s->name, "%s", v);
            return DMMP_OK;
        }
        return fail_at(p, key, "unknown key in [dataset] (name)", NULL, NULL);
    case SEC_CSV:
        if (!strcmp(key, "delimiter")) return parse_char(p, key, v, &s->delimiter, 0);
        if (!strcmp(key, "quote")) return parse_char(p, key, v, &s->quote, 1);
        if (!strcmp(key, "header")) {
            if (!strcmp(v, "yes") || !strcmp(v, "no")) {
                s->header = v[0] == 'y';
                return DMMP_OK;
            }
            return fail_at(p, key, "'%s': expected yes or no", v, NULL);
        }
        return fail_at(p, key, "unknown key in [csv] (delimiter, header, quote)", NULL, NULL);
    case SEC_LABELS:
        if (!strcmp(key, "click")) return parse_label(p, key, v, &s->click);
        if (!strcmp(key, "conversion")) return parse_label(p, key, v, &s->conversion);
        return fail_at(p, key, "unknown key in [labels] (click, conversion)", NULL, NULL);
    case SEC_KEYS:
        if (!strcmp(key, "user")) return set_colref(p, key, v, &s->user);
        if (!strcmp(key, "item")) return set_colref(p, key, v, &s->item);
        if (!strcmp(key, "time")) return set_colref(p, key, v, &s->time);
        return fail_at(p, key, "unknown key in [keys] (user, item, time)", NULL, NULL);
    case SEC_FIELD: return field_key(p, key, v);
    }
    return DMMP_OK;
}

static dmmp_status open_section(parser *p, char *name)
{
    p->field = NULL;
    if (!strcmp(name, "dataset")) p->sec = SEC_DATASET;
    else if (!strcmp(name, "csv")) p->sec = SEC_CSV;
    else if (!strcmp(name, "labels")) p->sec = SEC_LABELS;
    else if (!strcmp(name, "keys")) p->sec = SEC_KEYS;
    else if (!strncmp(name, "field", 5) && (name[5] == ' ' || name[5] == '\t')) {
        char *fname = trim(name + 5);
        csv_schema *s = p->s;
        if (!*fname) return fail_at(p, NULL, "[field] needs a name: [field NAME]", NULL, NULL);
        if (strlen(fname) >= DATASET_NAME_LEN) return fail_at(p, NULL, "field name '%s' is too long", fname, NULL);
        if (strpbrk(fname, "/.")) return fail_at(p, NULL, "field name '%s' may not hold '/' or '.'", fname, NULL);
        for (int k = 0; k < s->n_fields; k++)
            if (!strcmp(s->fields[k].name, fname))
                return fail_at(p, NULL, "[field %s] appears twice", fname, NULL);
        if (s->n_fields == CSV_SCHEMA_MAX_FIELDS) return fail_at(p, NULL, "more than 256 fields", NULL, NULL);
        csv_schema_field *f = &s->fields[s->n_fields++];
        memset(f, 0, sizeof *f);
        snprintf(f->name, sizeof f->name, "%s", fname);
        f->line = p->line;
        f->column.col = -1;
        p->sec = SEC_FIELD;
        p->field = f;
    } else
        return fail_at(p, NULL, "unknown section [%s] (dataset, csv, labels, keys, field NAME)", name, NULL);
    return DMMP_OK;
}

/* Fills defaults and checks what needs the whole file. */
static dmmp_status finish(csv_schema *s, const char *origin)
{
    if (!s->click.set) return dmmp_fail(DMMP_EINVAL, "%s: [labels] click is required", origin);
    if (s->n_fields == 0) return dmmp_fail(DMMP_EINVAL, "%s: no [field NAME] section", origin);
    int n_multi = 0;
    for (int k = 0; k < s->n_fields; k++) {
        csv_schema_field *f = &s->fields[k];
        if (!f->column.name[0]) {
            snprintf(f->column.name, sizeof f->column.name, "%s", f->name);
            f->column.line = f->line;
        }
        if (f->kind != CSV_KIND_DENSE && !f->side_set)
            return dmmp_fail(DMMP_EINVAL, "%s:%d: [field %s]: side is required (user, item, context, cross)", origin,
                             f->line, f->name);
        if (f->kind == CSV_KIND_MULTI) {
            if (++n_multi > CSV_SCHEMA_MAX_MULTI)
                return dmmp_fail(DMMP_EINVAL, "%s:%d: [field %s]: more than %d multi-valued fields", origin, f->line,
                                 f->name, CSV_SCHEMA_MAX_MULTI);
            if (!f->separator)
                return dmmp_fail(DMMP_EINVAL, "%s:%d: [field %s]: kind = multi needs separator", origin, f->line,
                                 f->name);
            if (f->separator == s->delimiter || f->weight_separator == s->delimiter ||
                f->separator == f->weight_separator)
                return dmmp_fail(DMMP_EINVAL,
                                 "%s:%d: [field %s]: separator, weight_separator and the delimiter must differ",
                                 origin, f->line, f->name);
        } else if (f->separator || f->weight_separator) {
            return dmmp_fail(DMMP_EINVAL, "%s:%d: [field %s]: separator is only for kind = multi", origin, f->line,
                             f->name);
        }
        if (f->kind == CSV_KIND_DENSE && f->hash_buckets)
            return dmmp_fail(DMMP_EINVAL, "%s:%d: [field %s]: hash_buckets is not for kind = dense", origin, f->line,
                             f->name);
    }
    if (s->quote && s->quote == s->delimiter)
        return dmmp_fail(DMMP_EINVAL, "%s: [csv] quote and delimiter are the same character", origin);
    return DMMP_OK;
}

void csv_schema_init(csv_schema *s, const char *origin)
{
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", origin);
    snprintf(s->source, sizeof s->source, "csv");
    s->delimiter = ',';
    s->quote = '"';
    s->header = 1;
    s->user.col = s->item.col = s->time.col = -1;
    const char *base = strrchr(origin, '/');
    base = base ? base + 1 : origin;
    size_t stem = strcspn(base, ".");
    snprintf(s->name, sizeof s->name, "%.*s", (int)(stem < DATASET_NAME_LEN - 1 ? stem : DATASET_NAME_LEN - 1), base);
}

dmmp_status csv_schema_add_field(csv_schema *s, const char *name, field_side side, csv_field_kind kind)
{
    if (s->n_fields == CSV_SCHEMA_MAX_FIELDS)
        return dmmp_fail(DMMP_EINVAL, "%s: field %s: more than %d fields", s->path, name, CSV_SCHEMA_MAX_FIELDS);
    if (!*name || strlen(name) >= DATASET_NAME_LEN || strpbrk(name, "/."))
        return dmmp_fail(DMMP_EINVAL, "%s: field name '%s' is empty, too long or holds '/' or '.'", s->path, name);
    csv_schema_field *f = &s->fields[s->n_fields++];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    snprintf(f->column.name, sizeof f->column.name, "%s", name);
    f->column.col = -1;
    f->side = side;
    f->side_set = 1;
    f->kind = kind;
    return DMMP_OK;
}

void csv_schema_label_column(csv_label *l, const char *column)
{
    memset(l, 0, sizeof *l);
    l->op = LABEL_BINARY;
    l->set = 1;
    snprintf(l->column.name, sizeof l->column.name, "%s", column);
    l->column.col = -1;
}

dmmp_status csv_schema_parse(csv_schema *s, const char *text, const char *origin)
{
    csv_schema_init(s, origin);
    parser p = {s, origin, 0, SEC_NONE, NULL};
    char line[4096];
    for (const char *at = text; *at;) {
        size_t n = strcspn(at, "\n");
        p.line++;
        if (n >= sizeof line) return fail_at(&p, NULL, "line longer than 4095 bytes", NULL, NULL);
        memcpy(line, at, n);
        line[n] = '\0';
        at += n + (at[n] == '\n');
        char *l = line;
        if (p.line == 1 && !memcmp(l, "\xEF\xBB\xBF", 3)) l += 3;
        l = trim(l);
        if (!*l || *l == ';' || *l == '#') continue;
        if (*l == '[') {
            char *close = strchr(l, ']');
            if (!close || *trim(close + 1)) return fail_at(&p, NULL, "a section header must be [name] alone", NULL, NULL);
            *close = '\0';
            DMMP_TRY(open_section(&p, trim(l + 1)));
            continue;
        }
        char *eq = strchr(l, '=');
        if (!eq) return fail_at(&p, NULL, "'%s': expected key = value", l, NULL);
        *eq = '\0';
        char *key = trim(l), *v = eq + 1;
        while (*v == ' ' || *v == '\t') v++;
        cut_comment(v);
        v = trim(v);
        if (!*key) return fail_at(&p, NULL, "a value without a key", NULL, NULL);
        DMMP_TRY(key_value(&p, key, v));
    }
    return finish(s, origin);
}

dmmp_status csv_schema_load(csv_schema *s, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return dmmp_fail(DMMP_EINVAL, "--schema %s: cannot open: %s", path, strerror(errno));
    char *text = malloc(SCHEMA_MAX_BYTES + 1);
    if (!text) {
        fclose(f);
        return dmmp_fail(DMMP_ENOMEM, "%s: out of memory", path);
    }
    size_t n = fread(text, 1, SCHEMA_MAX_BYTES + 1, f);
    int err = ferror(f);
    fclose(f);
    dmmp_status st;
    if (err) st = dmmp_fail(DMMP_EINVAL, "--schema %s: read failed", path);
    else if (n > SCHEMA_MAX_BYTES) st = dmmp_fail(DMMP_EINVAL, "--schema %s: larger than 1 MB", path);
    else if (memchr(text, '\0', n)) st = dmmp_fail(DMMP_EINVAL, "--schema %s: holds a NUL byte (not a text file)", path);
    else {
        text[n] = '\0';
        st = csv_schema_parse(s, text, path);
    }
    free(text);
    return st;
}

static dmmp_status bind_one(const csv_schema *s, csv_colref *c, const char *key, const char *const *names, int n,
                            const char *file)
{
    if (!c->name[0]) return DMMP_OK;
    for (int k = 0; k < n; k++)
        if (!strcmp(names[k], c->name)) {
            c->col = k;
            return DMMP_OK;
        }
    if (c->line)
        return dmmp_fail(DMMP_EINVAL, "%s:%d: %s: column '%s' is not in the header of %s", s->path, c->line, key,
                         c->name, file);
    return dmmp_fail(DMMP_EINVAL, "%s: column '%s' is not in the header of %s", key, c->name, file);
}

dmmp_status csv_schema_bind(csv_schema *s, const char *const *names, int n_names, csv_colref *extra,
                            const char *file)
{
    if (s->click.op != LABEL_CONST) DMMP_TRY(bind_one(s, &s->click.column, "click", names, n_names, file));
    if (s->conversion.set && s->conversion.op != LABEL_CONST)
        DMMP_TRY(bind_one(s, &s->conversion.column, "conversion", names, n_names, file));
    DMMP_TRY(bind_one(s, &s->user, "user", names, n_names, file));
    DMMP_TRY(bind_one(s, &s->item, "item", names, n_names, file));
    DMMP_TRY(bind_one(s, &s->time, "time", names, n_names, file));
    for (int k = 0; k < s->n_fields; k++) DMMP_TRY(bind_one(s, &s->fields[k].column, "column", names, n_names, file));
    if (extra) DMMP_TRY(bind_one(s, extra, "--split column", names, n_names, file));
    return DMMP_OK;
}
