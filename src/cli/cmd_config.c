/* dmmp config: show the fully resolved configuration, render it as INI, or
 * list the keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "config/config.h"
#include "config/config_schema.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: dmmp config show [C.ini] [--set section.key=value ...]\n"
            "       dmmp config ini  [C.ini] [--set section.key=value ...]\n"
            "       dmmp config keys\n\n"
            "show  prints the resolved configuration (defaults, then C.ini, then each\n"
            "      --set in order), one 'section.key = value' per line, after checking\n"
            "      every value and the rules between keys.\n"
            "ini   prints the same configuration as a complete, commented INI file.\n"
            "keys  lists every key with its default, what it accepts and what it does.\n");
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

/* Builds the configuration from argv (optional file, then --set pairs). */
static dmmp_status resolve(int argc, char **argv, dmmp_config *c, int *bad_input)
{
    int i = 0;
    config_defaults(c);
    *bad_input = 0;
    if (i < argc && strncmp(argv[i], "--", 2)) {
        dmmp_status s = config_load(c, argv[i]);
        /* The file is this command's input: unreadable or wrong, it is bad input. */
        *bad_input = s != DMMP_OK;
        if (s != DMMP_OK) return s;
        i++;
    }
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--set") && i + 1 < argc) {
            DMMP_TRY(config_set(c, argv[++i], "--set"));
        } else {
            *bad_input = 1;
            return dmmp_fail(DMMP_EINVAL, "unexpected argument '%s' (see dmmp config --help)", argv[i]);
        }
    }
    dmmp_status s = config_validate(c);
    if (s != DMMP_OK && argc > 0 && strncmp(argv[0], "--", 2))
        return dmmp_fail_prefix(s, "%s", argv[0]);
    return s;
}

int cmd_config(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        }
    }
    const char *action = argv[1];
    if (!strcmp(action, "keys")) {
        if (argc > 2) {
            fprintf(stderr, "dmmp config keys: takes no arguments\nusage: dmmp config keys\n");
            return 2;
        }
        return print_keys();
    }
    if (strcmp(action, "show") && strcmp(action, "ini")) {
        fprintf(stderr, "dmmp config: unknown action '%s'\n\n", action);
        usage(stderr);
        return 2;
    }
    dmmp_config c;
    int bad_input;
    dmmp_status s = resolve(argc - 2, argv + 2, &c, &bad_input);
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
