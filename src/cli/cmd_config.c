/* dmmp config: show the fully resolved configuration, render it as INI, or
 * list the keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "config/config.h"
#include "config/config_schema.h"

static const char config_usage[] =
    "usage: dmmp config show [C.ini] [--set section.key=value ...]\n"
    "       dmmp config ini  [C.ini] [--set section.key=value ...]\n"
    "       dmmp config keys";

static const char config_notes[] =
    "show  prints the resolved configuration (defaults, then C.ini, then each\n"
    "      --set in order), one 'section.key = value' per line, after checking\n"
    "      every value and the rules between keys.\n"
    "ini   prints the same configuration as a complete, commented INI file.\n"
    "keys  lists every key with its default, what it accepts and what it does.\n";

static void usage(FILE *out)
{
    fprintf(out, "%s\n\n%s", config_usage, config_notes);
}

static int print_keys(void)
{
    char expected[256];
    for (size_t i = 0; i < config_schema_size(); i++) {
        const config_key *k = config_schema_at(i);
        char name[96];
        snprintf(name, sizeof name, "%s.%s", k->section, k->name);
        config_key_expected(k, expected, sizeof expected);
        printf("%-32s default %-14s %s; %s\n", name, k->default_text[0] ? k->default_text : "''", k->doc,
               expected);
    }
    return 0;
}

/* Builds the configuration: defaults, the file if one is given, then the --set pairs in order. */
static dmmp_status resolve(const char *file, const cli_list *sets, dmmp_config *c, int *bad_input)
{
    config_defaults(c);
    *bad_input = 0;
    if (file) {
        dmmp_status s = config_load(c, file);
        /* The file is this command's input: unreadable or wrong, it is bad input. */
        *bad_input = s != DMMP_OK;
        if (s != DMMP_OK) return s;
    }
    for (int i = 0; i < sets->n; i++) DMMP_TRY(config_set(c, sets->items[i], "--set"));
    dmmp_status s = config_validate(c);
    if (s != DMMP_OK && file) return dmmp_fail_prefix(s, "%s", file);
    return s;
}

int cmd_config(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *action = argv[1];
    cli_list sets, files;
    const cli_option options[] = {
        CLI_OPT_LIST("--set", &sets, "section.key=value", "override one key, applied after C.ini, in order")};
    if (!strcmp(action, "keys")) {
        const cli_command keys = {"config keys", config_usage, NULL, config_notes, NULL, 0, 0, 0, NULL};
        int rc = cli_parse(&keys, argc - 1, argv + 1, &files);
        if (rc != CLI_PARSED) return rc;
        cli_list_free(&files);
        return print_keys();
    }
    if (strcmp(action, "show") && strcmp(action, "ini")) {
        fprintf(stderr, "dmmp config: unknown action '%s'\n\n", action);
        usage(stderr);
        return 2;
    }
    const cli_command cmd = {"config", config_usage, NULL, config_notes, options, 1, 0, 1, "configuration file"};
    int rc = cli_parse(&cmd, argc - 1, argv + 1, &files);
    if (rc != CLI_PARSED) return rc;
    dmmp_config c;
    int bad_input;
    dmmp_status s = resolve(files.n ? files.items[0] : NULL, &sets, &c, &bad_input);
    cli_list_free(&files);
    cli_list_free(&sets);
    if (s != DMMP_OK) {
        /* An unreadable or wrong file or argument is bad input, whatever the status. */
        return cli_report_error("config", bad_input ? DMMP_EINVAL : s);
    }
    if (!strcmp(action, "ini")) {
        char *text;
        s = config_to_ini(&c, &text);
        if (s != DMMP_OK) return cli_report_error("config", s);
        fputs(text, stdout);
        free(text);
        return 0;
    }
    char value[CONFIG_STRING_MAX + 256];
    for (size_t i = 0; i < config_schema_size(); i++) {
        const config_key *k = config_schema_at(i);
        config_key_format(k, &c, value, sizeof value);
        printf("%s.%s =%s%s\n", k->section, k->name, value[0] ? " " : "", value);
    }
    return 0;
}
