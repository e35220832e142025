/* options: the option-table parser of the dmmp command (src/cli/options.c),
 * each case checked against a hand-written expectation: the values stored,
 * the exit status and the message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "suites.h"
#include "testutil.h"

/* The variables of the test table; their values before parsing are the defaults. */
typedef struct values {
    int flag, n;
    int64_t big;
    double x;
    const char *name, *which;
    cli_list sets;
} values;

static void values_default(values *v)
{
    memset(v, 0, sizeof *v);
    v->n = 7;
    v->big = -1;
    v->x = 0.5;
    v->name = "default";
    v->which = "checkpoint";
}

/* Parses args (NULL-ended, without the command name) against a table over v;
 * returns cli_parse's result, with what it printed in out and err. */
static int parse(values *v, const char *const *args, int max_pos, cli_list *pos, char *out, char *err, size_t len)
{
    const cli_option options[] = {
        CLI_OPT_FLAG("--flag", &v->flag, "a flag"),
        CLI_OPT_INT("--n", &v->n, "N", "a small integer (default 7)", 1, 64),
        CLI_OPT_INT64("--big", &v->big, "B", "a large integer", 0, 9e18),
        {"--x", CLI_DOUBLE, &v->x, "X", "a share\nbelow one", 0, 1, 1, 0, NULL},
        CLI_OPT_STRING("--name", &v->name, "S", "a name"),
        CLI_OPT_CHOICE("--which", &v->which, "checkpoint|last", "which file", "checkpoint|last"),
        CLI_OPT_LIST("--set", &v->sets, "k=v", "repeatable"),
    };
    const cli_command cmd = {"probe", "usage: dmmp probe [options] F...", "About the probe.\n", "Notes.\n",
                             options, 7, 1, max_pos, "input file"};
    char *argv[32];
    int argc = 0;
    argv[argc++] = "probe";
    for (int i = 0; args[i]; i++) argv[argc++] = (char *)args[i];
    FILE *fo = tmpfile(), *fe = tmpfile();
    CU_ASSERT_FATAL(fo && fe);
    int rc = cli_parse_to(&cmd, argc, argv, pos, fo, fe);
    FILE *files[2] = {fo, fe};
    char *bufs[2] = {out, err};
    for (int k = 0; k < 2; k++) {
        rewind(files[k]);
        size_t n = fread(bufs[k], 1, len - 1, files[k]);
        bufs[k][n] = 0;
        fclose(files[k]);
    }
    return rc;
}

static void test_values_and_defaults(void)
{
    values v;
    values_default(&v);
    cli_list pos;
    char out[4096], err[4096];
    const char *args[] = {"a.h5", "--n", "12", "--big", "9000000000", "--x", "0.25", "--flag", "--which", "last",
                          "b.h5", NULL};
    int rc = parse(&v, args, -1, &pos, out, err, sizeof out);
    TU_ASSERT_MSG(rc == CLI_PARSED, "rc %d, err: %s", rc, err);
    CU_ASSERT_EQUAL(v.flag, 1);
    CU_ASSERT_EQUAL(v.n, 12);
    CU_ASSERT(v.big == 9000000000LL);
    CU_ASSERT_DOUBLE_EQUAL(v.x, 0.25, 0);
    CU_ASSERT_STRING_EQUAL(v.which, "last");
    CU_ASSERT_STRING_EQUAL(v.name, "default"); /* not given: the default stays */
    CU_ASSERT_EQUAL(v.sets.n, 0);
    CU_ASSERT_EQUAL_FATAL(pos.n, 2);
    CU_ASSERT_STRING_EQUAL(pos.items[0], "a.h5");
    CU_ASSERT_STRING_EQUAL(pos.items[1], "b.h5");
    CU_ASSERT_STRING_EQUAL(err, "");
    cli_list_free(&pos);

    values_default(&v);
    const char *only[] = {"a.h5", NULL};
    CU_ASSERT_EQUAL(parse(&v, only, -1, &pos, out, err, sizeof out), CLI_PARSED);
    CU_ASSERT_EQUAL(v.n, 7);
    CU_ASSERT(v.big == -1);
    CU_ASSERT_DOUBLE_EQUAL(v.x, 0.5, 0);
    CU_ASSERT_EQUAL(v.flag, 0);
    cli_list_free(&pos);
}

static void test_repeatable(void)
{
    values v;
    values_default(&v);
    cli_list pos;
    char out[4096], err[4096];
    const char *args[] = {"--set", "a.b=1", "f", "--set", "c.d=2", "--set", "a.b=3", NULL};
    CU_ASSERT_EQUAL_FATAL(parse(&v, args, -1, &pos, out, err, sizeof out), CLI_PARSED);
    CU_ASSERT_EQUAL_FATAL(v.sets.n, 3);
    CU_ASSERT_STRING_EQUAL(v.sets.items[0], "a.b=1");
    CU_ASSERT_STRING_EQUAL(v.sets.items[1], "c.d=2");
    CU_ASSERT_STRING_EQUAL(v.sets.items[2], "a.b=3");
    cli_list_free(&v.sets);
    cli_list_free(&pos);
}

/* One refused command line: exit 2, err holds every part, the values of
 * repeatable options and the positionals are freed (pos empty). */
typedef struct bad_case {
    const char *args[8];
    int max_pos;
    const char *says[3];
} bad_case;

static void test_refused(void)
{
    static const bad_case cases[] = {
        {{"f", "--n", "65", NULL}, -1, {"dmmp probe: --n '65': expected an integer in [1, 64]", NULL}},
        {{"f", "--n", "0", NULL}, -1, {"--n '0'", "[1, 64]", NULL}},
        {{"f", "--n", "12x", NULL}, -1, {"--n '12x': expected an integer", NULL}},
        {{"f", "--n", "", NULL}, -1, {"--n '': expected an integer", NULL}},
        {{"f", "--n", " 3", NULL}, -1, {"--n ' 3'", NULL}},
        {{"f", "--n", "99999999999999999999", NULL}, -1, {"--n '99999999999999999999'", NULL}},
        {{"f", "--big", "-1", NULL}, -1, {"--big '-1': expected an integer >= 0", NULL}},
        {{"f", "--x", "1", NULL}, -1, {"--x '1': expected a number in [0, 1)", NULL}},
        {{"f", "--x", "nan", NULL}, -1, {"--x 'nan'", NULL}},
        {{"f", "--x", "0.5q", NULL}, -1, {"--x '0.5q'", NULL}},
        {{"f", "--which", "best", NULL}, -1, {"--which 'best': expected checkpoint or last", NULL}},
        {{"f", "--n", NULL}, -1, {"--n needs a value (--n N)", NULL}},
        {{"f", "--set", "a=1", "--set", NULL}, -1, {"--set needs a value", NULL}},
        {{"f", "--nam", "x", NULL}, -1, {"unknown option '--nam' (did you mean --name?)", NULL}},
        {{"f", "--frobnicate", NULL}, -1, {"unknown option '--frobnicate'", NULL}},
        {{"f", "g", "h", NULL}, 2, {"extra argument 'h' (at most 2: input file)", NULL}},
        {{"--flag", NULL}, -1, {"no input file given", NULL}},
        {{NULL}, -1, {"no input file given", "usage: dmmp probe", "--which checkpoint|last"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        values v;
        values_default(&v);
        cli_list pos;
        char out[4096], err[4096];
        int rc = parse(&v, cases[i].args, cases[i].max_pos, &pos, out, err, sizeof out);
        const char *first = cases[i].args[0] ? cases[i].args[0] : "(none)";
        TU_ASSERT_MSG(rc == 2, "case %zu (%s ...): rc %d, expected 2", i, first, rc);
        TU_ASSERT_MSG(strstr(err, "(dmmp probe --help describes the options)") != NULL, "case %zu: no hint:\n%s", i,
                      err);
        TU_ASSERT_MSG(!strncmp(err, "dmmp probe: ", 12), "case %zu: message does not start with the command:\n%s", i,
                      err);
        for (int k = 0; k < 3 && cases[i].says[k]; k++)
            TU_ASSERT_MSG(strstr(err, cases[i].says[k]) != NULL, "case %zu: lacks '%s':\n%s", i, cases[i].says[k],
                          err);
        CU_ASSERT(pos.items == NULL && pos.n == 0);
        CU_ASSERT(v.sets.items == NULL && v.sets.n == 0);
        CU_ASSERT_STRING_EQUAL(out, "");
    }
}

static void test_help_from_table(void)
{
    values v;
    values_default(&v);
    cli_list pos;
    char out[4096], err[4096];
    const char *args[] = {"--n", "3", "--help", "--bogus", NULL};
    int rc = parse(&v, args, -1, &pos, out, err, sizeof out);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(err, "");
    /* every option of the table, each on its own line, and the free texts */
    const char *parts[] = {"usage: dmmp probe [options] F...\n\nAbout the probe.\n\n", "  --flag ", "  --n N ",
                           "  --big B ", "  --x X ", "a share\n", " below one\n", "  --name S ",
                           "  --which checkpoint|last  which file\n", "  --set k=v ", "\nNotes.\n"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        TU_ASSERT_MSG(strstr(out, parts[i]) != NULL, "help lacks '%s':\n%s", parts[i], out);
    /* the help columns line up: every help text starts in one column */
    const char *a = strstr(out, "a flag"), *la = a;
    while (la > out && la[-1] != '\n') la--;
    const char *b = strstr(out, "a name"), *lb = b;
    while (lb > out && lb[-1] != '\n') lb--;
    CU_ASSERT_EQUAL(a - la, b - lb);
    CU_ASSERT_EQUAL(a - la, (long)strlen("  --which checkpoint|last  "));
}

int register_options_suites(void)
{
    static const char *const names[] = {
        "typed values are stored, options not given keep their defaults",
        "a repeatable option keeps every value in order",
        "out of range, trailing garbage, missing value, unknown option, positional counts: exit 2 naming them",
        "--help is generated from the table: usage, every option, the free text",
    };
    static const CU_TestFunc tests[] = {test_values_and_defaults, test_repeatable, test_refused,
                                        test_help_from_table};
    return tu_add_suite("options", names, tests, sizeof tests / sizeof tests[0]);
}
