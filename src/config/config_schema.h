/* The table of configuration keys: for each key its section, name, type,
 * place in dmmp_config, allowed range or enum names, default and a one-line
 * doc. Loading, "--set", printing and `dmmp config keys` all read this one
 * table, so a key exists in exactly one place. */
#ifndef DMMP_CONFIG_CONFIG_SCHEMA_H
#define DMMP_CONFIG_CONFIG_SCHEMA_H

#include <stddef.h>

#include "core/status.h"
#include "config/config.h"

typedef enum config_type {
    CONFIG_TYPE_INT,
    CONFIG_TYPE_DOUBLE,
    CONFIG_TYPE_BOOL,      /* int 0/1, written on|off */
    CONFIG_TYPE_ENUM,      /* C enum, written by name */
    CONFIG_TYPE_INT_LIST,  /* config_int_list, written "256,128" */
    CONFIG_TYPE_STRING     /* char[CONFIG_STRING_MAX + 1] */
} config_type;

typedef struct config_key {
    const char *section;
    const char *name;
    config_type type;
    size_t offset;                 /* of the field in dmmp_config */
    const char *const *enum_names; /* ENUM: names by value, NULL-terminated */
    double min, max;               /* INT, DOUBLE, INT_LIST entries */
    int min_open, max_open;        /* DOUBLE: bound excluded */
    int min_count;                 /* INT_LIST: fewest entries (most: CONFIG_MAX_LIST) */
    int ascending;                 /* INT_LIST: entries strictly increasing */
    const char *default_text;      /* parsed by config_defaults */
    const char *doc;
} config_key;

/* Number of keys, and the i-th (sections in order, keys grouped by section). */
size_t config_schema_size(void);
const config_key *config_schema_at(size_t i);

/* The key section.name, or NULL when there is none. */
const config_key *config_schema_find(const char *section, const char *name);

/* Number of sections and the i-th section name, in file order. */
size_t config_section_count(void);
const char *config_section_at(size_t i);

/* 1 when section names a section of the schema. */
int config_section_known(const char *section);

/* Parses text as the value of k into c; where ("dmmp.ini:12", "--set")
 * goes into the message. On failure c is unchanged. */
dmmp_status config_key_parse(const config_key *k, dmmp_config *c, const char *text, const char *where);

/* Writes k's value in c as text config_key_parse reads back exactly. */
void config_key_format(const config_key *k, const dmmp_config *c, char *buf, size_t len);

/* Describes what k accepts, e.g. "an integer in [1, 1048576]". */
void config_key_expected(const config_key *k, char *buf, size_t len);

/* 1 when a and b hold the same value of k. */
int config_key_equal(const config_key *k, const dmmp_config *a, const dmmp_config *b);

#endif
