/* The option-table parser of every dmmp subcommand (cli/options.h). */
#include "cli/options.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CLI_MAX_OPTIONS 64

int cli_is_help(const char *arg)
{
    return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

void cli_print_help_hint(FILE *f, const char *cmd)
{
    fprintf(f, "(dmmp %s --help describes the options)\n", cmd);
}

static int verror(FILE *err, const char *cmd, const char *fmt, va_list ap)
{
    fprintf(err, "dmmp %s: ", cmd);
    vfprintf(err, fmt, ap);
    fputc('\n', err);
    cli_print_help_hint(err, cmd);
    return 2;
}

static int error_to(FILE *err, const char *cmd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int error_to(FILE *err, const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(err, cmd, fmt, ap);
    va_end(ap);
    return 2;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(stderr, cmd, fmt, ap);
    va_end(ap);
    return 2;
}

/* "  --name ARG" padded to width, then the help lines aligned after it. */
static void print_option(FILE *f, const cli_option *o, int indent, int width)
{
    char head[160];
    snprintf(head, sizeof head, "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
    fprintf(f, "%*s%-*s  ", indent, "", width, head);
    for (const char *p = o->help ? o->help : ""; *p; p++) {
        fputc(*p, f);
        if (*p == '\n' && p[1]) fprintf(f, "%*s", indent + width + 2, "");
    }
    fputc('\n', f);
}

void cli_print_options(FILE *f, const cli_command *cmd, int indent)
{
    int width = 14;
    for (int i = 0; i < cmd->n_options; i++) {
        const cli_option *o = &cmd->options[i];
        int w = (int)strlen(o->name) + (o->arg ? 1 + (int)strlen(o->arg) : 0);
        if (w > width) width = w;
    }
    for (int i = 0; i < cmd->n_options; i++) print_option(f, &cmd->options[i], indent, width);
}

void cli_print_help(FILE *f, const cli_command *cmd)
{
    fprintf(f, "%s\n", cmd->usage);
    if (cmd->about) fprintf(f, "\n%s", cmd->about);
    if (cmd->n_options > 0) {
        fputc('\n', f);
        cli_print_options(f, cmd, 2);
    }
    if (cmd->notes) fprintf(f, "\n%s", cmd->notes);
}

void cli_list_free(cli_list *l)
{
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* Edit distance of two short strings (option names), capped at 99. */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40) return 99;
    int row[41];
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static int unknown_option(FILE *err, const cli_command *cmd, const char *arg)
{
    const char *best = NULL;
    int best_d = 3; /* a suggestion only for a near miss */
    for (int i = 0; i < cmd->n_options; i++) {
        int d = edit_distance(arg, cmd->options[i].name);
        if (d < best_d) {
            best_d = d;
            best = cmd->options[i].name;
        }
    }
    if (best) return error_to(err, cmd->name, "unknown option '%s' (did you mean %s?)", arg, best);
    return error_to(err, cmd->name, "unknown option '%s'", arg);
}

/* The range of a number option as text: "in [1, 64]", ">= 0", or "" for none. */
static void range_text(const cli_option *o, char *buf, size_t len)
{
    int whole = o->min == 0 && o->max == 0;
    if (whole) buf[0] = 0;
    else if (o->kind == CLI_DOUBLE)
        snprintf(buf, len, " in [%g, %g%c", o->min, o->max, o->max_open ? ')' : ']');
    else if (o->max >= 9e18)
        snprintf(buf, len, " >= %lld", (long long)o->min);
    else
        snprintf(buf, len, " in [%lld, %lld]", (long long)o->min, (long long)o->max);
}

static int parse_integer(FILE *err, const char *cmd, const cli_option *o, const char *v)
{
    char range[96];
    range_text(o, range, sizeof range);
    char *end = NULL;
    errno = 0;
    long long x = isspace((unsigned char)v[0]) ? 0 : strtoll(v, &end, 10);
    long long lo = o->kind == CLI_INT ? INT_MIN : LLONG_MIN, hi = o->kind == CLI_INT ? INT_MAX : LLONG_MAX;
    if (o->min != 0 || o->max != 0) {
        lo = (long long)o->min;
        hi = (long long)o->max;
    }
    if (!end || end == v || *end || errno || x < lo || x > hi)
        return error_to(err, cmd, "%s '%s': expected an integer%s", o->name, v, range);
    if (o->kind == CLI_INT) *(int *)o->value = (int)x;
    else *(int64_t *)o->value = (int64_t)x;
    return 0;
}

static int parse_double(FILE *err, const char *cmd, const cli_option *o, const char *v)
{
    char range[96];
    range_text(o, range, sizeof range);
    char *end = NULL;
    errno = 0;
    double x = isspace((unsigned char)v[0]) ? 0 : strtod(v, &end);
    int ok = end && end != v && !*end && !errno && isfinite(x);
    if (ok && (o->min != 0 || o->max != 0)) ok = x >= o->min && (o->max_open ? x < o->max : x <= o->max);
    if (!ok) return error_to(err, cmd, "%s '%s': expected a number%s", o->name, v, range);
    *(double *)o->value = x;
    return 0;
}

/* 1 when v is one of the '|'-separated choices. */
static int is_choice(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, v, n)) return 1;
        p += len + (bar != NULL);
    }
    return 0;
}

static int parse_choice(FILE *err, const char *cmd, const cli_option *o, const char *v)
{
    if (is_choice(o->choices, v)) {
        *(const char **)o->value = v;
        return 0;
    }
    /* "a|b|c" -> "a, b or c" */
    char list[256];
    size_t at = 0;
    const char *last = strrchr(o->choices, '|');
    for (const char *p = o->choices; *p && at + 5 < sizeof list; p++) {
        if (*p != '|') list[at++] = *p;
        else if (p == last) at += (size_t)snprintf(list + at, sizeof list - at, " or ");
        else at += (size_t)snprintf(list + at, sizeof list - at, ", ");
    }
    list[at < sizeof list ? at : sizeof list - 1] = 0;
    return error_to(err, cmd, "%s '%s': expected %s", o->name, v, list);
}

static int list_add(cli_list *l, const char *v, int capacity)
{
    if (!l->items && !(l->items = calloc((size_t)capacity, sizeof *l->items))) return 0;
    l->items[l->n++] = v;
    return 1;
}

static void free_all(const cli_command *cmd, cli_list *positionals)
{
    for (int i = 0; i < cmd->n_options; i++)
        if (cmd->options[i].kind == CLI_LIST) cli_list_free(cmd->options[i].value);
    cli_list_free(positionals);
}

/* Parses one option's value v; 0 or the exit status 2. */
static int parse_value(FILE *err, const cli_command *cmd, const cli_option *o, const char *v, int capacity)
{
    switch (o->kind) {
    case CLI_STRING: *(const char **)o->value = v; return 0;
    case CLI_INT:
    case CLI_INT64: return parse_integer(err, cmd->name, o, v);
    case CLI_DOUBLE: return parse_double(err, cmd->name, o, v);
    case CLI_CHOICE: return parse_choice(err, cmd->name, o, v);
    case CLI_LIST:
        if (!list_add(o->value, v, capacity)) return error_to(err, cmd->name, "out of memory for %s", o->name);
        return 0;
    case CLI_FLAG: break;
    }
    return 0;
}

/* Nothing at all given to a command that needs something: the error, then the whole help. */
static int needs_something(const cli_command *cmd)
{
    if (cmd->min_positionals > 0) return 1;
    for (int i = 0; i < cmd->n_options; i++)
        if (cmd->options[i].required) return 1;
    return 0;
}

static int check_counts(const cli_command *cmd, const cli_list *positionals, const char *given, FILE *err)
{
    const char *what = cmd->positional_what ? cmd->positional_what : "argument";
    if (positionals->n < cmd->min_positionals) {
        if (positionals->n == 0) return error_to(err, cmd->name, "no %s given", what);
        return error_to(err, cmd->name, "needs at least %d (%s), got %d", cmd->min_positionals, what, positionals->n);
    }
    for (int i = 0; i < cmd->n_options; i++)
        if (cmd->options[i].required && !given[i])
            return error_to(err, cmd->name, "%s%s%s is required", cmd->options[i].name,
                            cmd->options[i].arg ? " " : "", cmd->options[i].arg ? cmd->options[i].arg : "");
    return 0;
}

int cli_parse_to(const cli_command *cmd, int argc, char **argv, cli_list *positionals, FILE *out, FILE *err)
{
    char given[CLI_MAX_OPTIONS] = {0};
    positionals->items = NULL;
    positionals->n = 0;
    if (cmd->n_options > CLI_MAX_OPTIONS) return error_to(err, cmd->name, "too many options in the table");
    for (int i = 0; i < cmd->n_options; i++)
        if (cmd->options[i].kind == CLI_LIST) {
            cli_list *l = cmd->options[i].value;
            l->items = NULL;
            l->n = 0;
        }
    int rc = 0;
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            cli_print_help(out, cmd);
            free_all(cmd, positionals);
            return 0;
        }
        if (a[0] == '-' && a[1]) {
            int f = 0;
            while (f < cmd->n_options && strcmp(a, cmd->options[f].name)) f++;
            if (f == cmd->n_options) {
                rc = unknown_option(err, cmd, a);
                break;
            }
            const cli_option *o = &cmd->options[f];
            given[f] = 1;
            if (o->kind == CLI_FLAG) {
                *(int *)o->value = 1;
                continue;
            }
            if (i + 1 >= argc) {
                rc = error_to(err, cmd->name, "%s needs a value (%s %s)", o->name, o->name, o->arg ? o->arg : "VALUE");
                break;
            }
            rc = parse_value(err, cmd, o, argv[++i], argc);
            continue;
        }
        if (cmd->max_positionals >= 0 && positionals->n >= cmd->max_positionals) {
            if (cmd->max_positionals == 0) rc = error_to(err, cmd->name, "takes no arguments; extra argument '%s'", a);
            else
                rc = error_to(err, cmd->name, "extra argument '%s' (at most %d: %s)", a, cmd->max_positionals,
                              cmd->positional_what ? cmd->positional_what : "argument");
            break;
        }
        if (!list_add(positionals, a, argc)) rc = error_to(err, cmd->name, "out of memory for the arguments");
    }
    if (!rc) {
        if (argc <= 1 && needs_something(cmd)) {
            /* bare command: say what is missing, then show the whole usage */
            rc = check_counts(cmd, positionals, given, err);
            if (rc) {
                fputc('\n', err);
                cli_print_help(err, cmd);
            }
        } else {
            rc = check_counts(cmd, positionals, given, err);
        }
    }
    if (rc) {
        free_all(cmd, positionals);
        return rc;
    }
    return CLI_PARSED;
}

int cli_parse(const cli_command *cmd, int argc, char **argv, cli_list *positionals)
{
    return cli_parse_to(cmd, argc, argv, positionals, stdout, stderr);
}
