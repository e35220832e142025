/* The configuration API: loading INI text, --set overrides and rendering
 * the configuration back as INI.
 *
 * libinih (Debian build) does not pass line numbers to the handler, so the
 * text is fed to ini_parse_stream through a reader that hands out one line
 * per call and counts them: when the handler runs, the reader's count is the
 * line of the key. The same reader checks section headers, so an unknown
 * section is reported even when it holds no keys. */
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_schema.h"
#include "config/config_suggest.h"

/* Config files are a few kilobytes; anything this large is not one. */
#define CONFIG_FILE_MAX (1 << 20)

typedef struct ini_source {
    const char *text;
    const char *origin;  /* file name or label used in messages */
    size_t pos;
    int lineno;          /* line most recently handed to libinih */
    int stop;            /* set on the first error: hand out no more lines */
} ini_source;

typedef struct ini_parse_state {
    dmmp_config cfg;
    ini_source src;
    int *first_line;     /* per schema key: line where it was set, 0 if not yet */
    int error_line;      /* line of the first error found here, 0 if none */
    dmmp_status error;
} ini_parse_state;

static void record_error(ini_parse_state *p, int line, dmmp_status s)
{
    p->error_line = line;
    p->error = s;
    p->src.stop = 1;
}

static dmmp_status unknown_section(const char *section, const char *where)
{
    char hint[512];
    config_suggest_section(section, hint, sizeof hint);
    return dmmp_fail(DMMP_EINVAL, "[%s]: unknown section at %s; %s", section, where, hint);
}

/* Checks "[name]" lines as libinih will see them; lines without ']' are left
 * to libinih, which reports them as syntax errors. */
static void check_section_header(ini_parse_state *p, const char *line, size_t n)
{
    if (p->src.lineno == 1 && n >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3)) line += 3, n -= 3;
    if (n == 0 || line[0] != '[') return;
    const char *close = memchr(line, ']', n);
    if (!close) return;
    char name[128], where[256];
    size_t len = (size_t)(close - line - 1);
    if (len >= sizeof name) len = sizeof name - 1;
    memcpy(name, line + 1, len);
    name[len] = '\0';
    if (config_section_known(name)) return;
    snprintf(where, sizeof where, "%s:%d", p->src.origin, p->src.lineno);
    record_error(p, p->src.lineno, unknown_section(name, where));
}

/* fgets-like reader for libinih: exactly one line per call. */
static char *read_line(char *str, int num, void *stream)
{
    ini_parse_state *p = stream;
    ini_source *s = &p->src;
    if (s->stop || s->text[s->pos] == '\0') return NULL;
    const char *line = s->text + s->pos;
    size_t n = strcspn(line, "\n");
    size_t take = n + (line[n] == '\n');
    s->lineno++;
    if (take + 1 > (size_t)num) {
        record_error(p, s->lineno,
                     dmmp_fail(DMMP_EFORMAT, "%s:%d: line is longer than the %d characters an INI line may have",
                               s->origin, s->lineno, num - 2));
        return NULL;
    }
    memcpy(str, line, take);
    str[take] = '\0';
    s->pos += take;
    check_section_header(p, line, n);
    return s->stop ? NULL : str;
}

/* Start of line `lineno` (1-based) in text and its length without newline. */
static const char *line_at(const char *text, int lineno, int *len)
{
    for (int i = 1; i < lineno && *text; i++) {
        const char *nl = strchr(text, '\n');
        if (!nl) break;
        text = nl + 1;
    }
    *len = (int)strcspn(text, "\r\n");
    return text;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
    ini_parse_state *p = user;
    if (p->error_line) return 0;
    int line = p->src.lineno;
    char where[256], hint[512];
    snprintf(where, sizeof where, "%s:%d", p->src.origin, line);
    if (section[0] == '\0') {
        config_suggest_section("", hint, sizeof hint);
        record_error(p, line,
                     dmmp_fail(DMMP_EINVAL, "%s: key '%s' is outside any section; %s", where, name, hint));
        return 0;
    }
    if (!config_section_known(section)) {
        record_error(p, line, unknown_section(section, where));
        return 0;
    }
    const config_key *k = config_schema_find(section, name);
    if (!k) {
        config_suggest_key(section, name, hint, sizeof hint);
        record_error(p, line, dmmp_fail(DMMP_EINVAL, "[%s] %s: unknown key at %s; %s", section, name, where, hint));
        return 0;
    }
    size_t idx = (size_t)(k - config_schema_at(0));
    if (p->first_line[idx]) {
        int len;
        const char *raw = line_at(p->src.text, line, &len);
        int continued = len > 0 && (raw[0] == ' ' || raw[0] == '\t');
        record_error(p, line,
                     dmmp_fail(DMMP_EINVAL, "[%s] %s: duplicate key at %s (first set at line %d)%s", section, name,
                               where, p->first_line[idx],
                               continued ? "; an indented line continues the value above it" : ""));
        return 0;
    }
    p->first_line[idx] = line;
    dmmp_status s = config_key_parse(k, &p->cfg, value, where);
    if (s != DMMP_OK) {
        record_error(p, line, s);
        return 0;
    }
    return 1;
}

dmmp_status config_load_string(dmmp_config *c, const char *text, const char *origin)
{
    if (!c || !text || !origin) return dmmp_fail(DMMP_EINVAL, "config_load_string: NULL argument");
    ini_parse_state *p = calloc(1, sizeof *p);
    int *first_line = calloc(config_schema_size(), sizeof *first_line);
    if (!p || !first_line) {
        free(p);
        free(first_line);
        return dmmp_fail(DMMP_ENOMEM, "%s: out of memory parsing the configuration", origin);
    }
    config_defaults(&p->cfg);
    p->src.text = text;
    p->src.origin = origin;
    p->first_line = first_line;
    int r = ini_parse_stream(read_line, p, on_key, p);
    dmmp_status s = DMMP_OK;
    if (r > 0 && (p->error_line == 0 || r < p->error_line)) {
        /* libinih found a line that is neither a section, a key nor a comment. */
        int len;
        const char *raw = line_at(text, r, &len);
        s = dmmp_fail(DMMP_EFORMAT, "%s:%d: cannot parse '%.*s'; expected [section], key = value or a ; comment",
                      origin, r, len > 80 ? 80 : len, raw);
    } else if (p->error_line) {
        s = p->error;
    } else if (r < 0) {
        s = dmmp_fail(DMMP_ENOMEM, "%s: the INI parser ran out of memory", origin);
    }
    if (s == DMMP_OK) *c = p->cfg;
    free(first_line);
    free(p);
    return s;
}

dmmp_status config_load(dmmp_config *c, const char *path)
{
    if (!c || !path) return dmmp_fail(DMMP_EINVAL, "config_load: NULL argument");
    FILE *f = fopen(path, "rb");
    if (!f) return dmmp_fail(DMMP_EIO, "cannot open config file %s: %s", path, strerror(errno));
    char *text = malloc(CONFIG_FILE_MAX + 1);
    if (!text) {
        fclose(f);
        return dmmp_fail(DMMP_ENOMEM, "%s: out of memory reading the config file", path);
    }
    size_t n = fread(text, 1, CONFIG_FILE_MAX + 1, f);
    int read_error = ferror(f);
    fclose(f);
    dmmp_status s;
    if (read_error)
        s = dmmp_fail(DMMP_EIO, "cannot read config file %s", path);
    else if (n > CONFIG_FILE_MAX)
        s = dmmp_fail(DMMP_EFORMAT, "%s: larger than %d bytes, not a config file", path, CONFIG_FILE_MAX);
    else if (memchr(text, '\0', n))
        s = dmmp_fail(DMMP_EFORMAT, "%s: contains a NUL byte, not a text config file", path);
    else {
        text[n] = '\0';
        s = config_load_string(c, text, path);
    }
    free(text);
    return s;
}

/* Copies [b, e) without surrounding blanks into out (len bytes). */
static void copy_trimmed(const char *b, const char *e, char *out, size_t len)
{
    while (b < e && (*b == ' ' || *b == '\t')) b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t')) e--;
    size_t n = (size_t)(e - b);
    if (n >= len) n = len - 1;
    memcpy(out, b, n);
    out[n] = '\0';
}

dmmp_status config_set(dmmp_config *c, const char *assignment, const char *origin)
{
    if (!c || !assignment || !origin) return dmmp_fail(DMMP_EINVAL, "config_set: NULL argument");
    const char *eq = strchr(assignment, '=');
    char key[128], section[64], value[CONFIG_STRING_MAX + 64], hint[512];
    if (!eq) return dmmp_fail(DMMP_EINVAL, "%s '%s': expected section.key=value", origin, assignment);
    /* Refuse rather than truncate: a cut value could turn into a valid one. */
    if ((size_t)(eq - assignment) >= sizeof key || strlen(eq + 1) >= sizeof value)
        return dmmp_fail(DMMP_EINVAL, "%s '%.60s...': key or value too long", origin, assignment);
    copy_trimmed(assignment, eq, key, sizeof key);
    copy_trimmed(eq + 1, eq + strlen(eq), value, sizeof value);
    const char *dot = strchr(key, '.');
    if (!dot || dot == key || !dot[1])
        return dmmp_fail(DMMP_EINVAL, "%s '%s': expected section.key=value (e.g. train.batch_size=512)", origin,
                         assignment);
    size_t sl = (size_t)(dot - key);
    if (sl >= sizeof section) sl = sizeof section - 1;
    memcpy(section, key, sl);
    section[sl] = '\0';
    const char *name = dot + 1;
    if (!config_section_known(section)) {
        config_suggest_dotted(key, hint, sizeof hint);
        return dmmp_fail(DMMP_EINVAL, "[%s]: unknown section at %s '%s'; %s", section, origin, assignment, hint);
    }
    const config_key *k = config_schema_find(section, name);
    if (!k) {
        config_suggest_key(section, name, hint, sizeof hint);
        return dmmp_fail(DMMP_EINVAL, "[%s] %s: unknown key at %s; %s", section, name, origin, hint);
    }
    return config_key_parse(k, c, value, origin);
}

typedef struct text_buf {
    char *data;
    size_t len, cap;
    int failed;
} text_buf;

static void append(text_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void append(text_buf *b, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (b->failed || n < 0) return;
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, line, (size_t)n + 1);
    b->len += (size_t)n;
}

dmmp_status config_to_ini(const dmmp_config *c, char **out_text)
{
    if (!c || !out_text) return dmmp_fail(DMMP_EINVAL, "config_to_ini: NULL argument");
    text_buf b = {0};
    char value[CONFIG_STRING_MAX + 256], expected[256];
    append(&b, "; dmmp configuration: every key with its value, defaults included.\n");
    for (size_t s = 0; s < config_section_count(); s++) {
        const char *section = config_section_at(s);
        append(&b, "\n[%s]\n", section);
        for (size_t i = 0; i < config_schema_size(); i++) {
            const config_key *k = config_schema_at(i);
            if (strcmp(k->section, section)) continue;
            config_key_format(k, c, value, sizeof value);
            config_key_expected(k, expected, sizeof expected);
            append(&b, "; %s; %s\n%s =%s%s\n", k->doc, expected, k->name, value[0] ? " " : "", value);
        }
    }
    if (b.failed) {
        free(b.data);
        return dmmp_fail(DMMP_ENOMEM, "config_to_ini: out of memory");
    }
    *out_text = b.data;
    return DMMP_OK;
}
