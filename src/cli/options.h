/* One option table per subcommand: cli_parse reads argv against it (typed
 * values, ranges, repeatable options, positional arguments), generates the
 * --help text from it, and reports bad usage one way:
 *   dmmp <cmd>: <what is wrong>
 *   (dmmp <cmd> --help describes the options)
 * with exit status 2. A value is written only when its option is given, so
 * the variable's value before the call is the option's default. */
#ifndef DMMP_CLI_OPTIONS_H
#define DMMP_CLI_OPTIONS_H

#include <stdio.h>

typedef enum {
    CLI_FLAG,   /* no value; int *: set to 1 */
    CLI_STRING, /* const char **: the argument itself (not copied) */
    CLI_INT,    /* int *, checked against [min, max] */
    CLI_INT64,  /* int64_t *, checked against [min, max] */
    CLI_DOUBLE, /* double *, checked against [min, max] (or [min, max) with max_open) */
    CLI_LIST,   /* cli_list *: every value of a repeatable option, in order */
    CLI_CHOICE  /* const char **: one of choices, "a|b|c" */
} cli_kind;

/* The values of a repeatable option, or the positional arguments. */
typedef struct cli_list {
    const char **items; /* pointers into argv */
    int n;
} cli_list;

typedef struct cli_option {
    const char *name; /* "--seed" */
    cli_kind kind;
    void *value;      /* typed as cli_kind says */
    const char *arg;  /* the value's name in the help ("N", "F.h5"); NULL for a flag */
    const char *help; /* one or more lines ('\n' between them) */
    double min, max;  /* the range of a number; both 0: the type's whole range */
    int max_open;     /* 1: a number must be below max */
    int required;     /* 1: the command refuses to run without it */
    const char *choices; /* CLI_CHOICE: "checkpoint|last" */
} cli_option;

typedef struct cli_command {
    const char *name;           /* "data synth": messages say "dmmp data synth: ..." */
    const char *usage;          /* the usage line(s), "usage: dmmp ...", without a final newline */
    const char *about;          /* text between the usage and the options, or NULL */
    const char *notes;          /* text after the options, or NULL */
    const cli_option *options;
    int n_options;
    int min_positionals, max_positionals; /* max -1: no limit */
    const char *positional_what;          /* what a positional is, for messages ("dataset") */
} cli_command;

/* Table rows, one macro per kind (every field initialised). */
#define CLI_OPT_FLAG(name, var, help) {name, CLI_FLAG, var, NULL, help, 0, 0, 0, 0, NULL}
#define CLI_OPT_STRING(name, var, arg, help) {name, CLI_STRING, var, arg, help, 0, 0, 0, 0, NULL}
#define CLI_OPT_STRING_REQ(name, var, arg, help) {name, CLI_STRING, var, arg, help, 0, 0, 0, 1, NULL}
#define CLI_OPT_INT(name, var, arg, help, lo, hi) {name, CLI_INT, var, arg, help, lo, hi, 0, 0, NULL}
#define CLI_OPT_INT64(name, var, arg, help, lo, hi) {name, CLI_INT64, var, arg, help, lo, hi, 0, 0, NULL}
#define CLI_OPT_DOUBLE(name, var, arg, help, lo, hi) {name, CLI_DOUBLE, var, arg, help, lo, hi, 0, 0, NULL}
#define CLI_OPT_LIST(name, var, arg, help) {name, CLI_LIST, var, arg, help, 0, 0, 0, 0, NULL}
#define CLI_OPT_CHOICE(name, var, arg, help, choices) {name, CLI_CHOICE, var, arg, help, 0, 0, 0, 0, choices}

/* cli_parse's result when the command should run. */
#define CLI_PARSED (-1)

/* Parses argv[1..argc-1] against cmd; CLI_PARSED, or the exit status after the help (0) or a usage error (2). */
int cli_parse(const cli_command *cmd, int argc, char **argv, cli_list *positionals);

/* cli_parse writing the help to out and errors to err; on any result but CLI_PARSED nothing is left to free. */
int cli_parse_to(const cli_command *cmd, int argc, char **argv, cli_list *positionals, FILE *out, FILE *err);

/* Frees the items of a list cli_parse filled (values stay in argv); a zeroed list is fine. */
void cli_list_free(cli_list *l);

/* Prints "dmmp <cmd>: <message>" and the --help hint to stderr; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints the line that points to the help of cmd: "(dmmp <cmd> --help describes the options)". */
void cli_print_help_hint(FILE *f, const char *cmd);

/* Prints the whole help of cmd: usage, about, one line per option, notes. */
void cli_print_help(FILE *f, const cli_command *cmd);

/* Prints only the option lines of cmd, each indented by indent spaces. */
void cli_print_options(FILE *f, const cli_command *cmd, int indent);

/* 1 when arg asks for help (-h or --help). */
int cli_is_help(const char *arg);

#endif
