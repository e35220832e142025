/* The schema file of `dmmp data import csv` (README: "Your own data"): how
 * a CSV/TSV log of impressions maps to the dataset layout.
 *
 *   [dataset]            name = ...           (optional; default: the schema file's name)
 *   [csv]                delimiter = ,        one character; \t (or "tab") for TSV
 *                        header = yes|no      no: the columns are c1, c2, ...
 *                        quote = "            RFC 4180 quoting ("" inside is a quote); "none" turns it off
 *   [labels]             click = EXPR         COLUMN (0/1), COLUMN >= | > | == NUMBER, or 0 / 1
 *                        conversion = EXPR    optional (default 0); must imply click
 *   [keys]               user = COLUMN        optional: default the tuple of the user-side fields
 *                        item = COLUMN        optional, likewise for items
 *                        time = COLUMN        needed by --split time and leave-last-out
 *   [field NAME]         column = COLUMN      optional (default NAME)
 *                        side = user|item|context|cross
 *                        kind = categorical|multi|dense
 *                        hash_buckets = N     optional: hash raw values into N ids
 *                        separator = |        multi: between values
 *                        weight_separator = : multi, optional: "value:weight" pairs
 *
 * Lines are "key = value"; ';' or '#' starts a comment at the start of a
 * line or after whitespace in a value. Every error names the schema file,
 * the line and the key. The schema is bound to a file's header afterwards
 * (csv_schema_bind), which names the schema line of a column the header
 * lacks. */
#ifndef DMMP_DATA_CSV_SCHEMA_H
#define DMMP_DATA_CSV_SCHEMA_H

#include <stdint.h>

#include "core/status.h"
#include "data/csv_record.h"
#include "data/schema.h"
#include "data/text_scan.h"

#define CSV_SCHEMA_MAX_FIELDS 256
#define CSV_SCHEMA_MAX_MULTI 8
#define CSV_SCHEMA_NAME_LEN 128

typedef enum csv_field_kind { CSV_KIND_CATEGORICAL = 0, CSV_KIND_MULTI = 1, CSV_KIND_DENSE = 2 } csv_field_kind;

typedef enum csv_label_op {
    LABEL_CONST = 0, /* the value `constant` for every row */
    LABEL_BINARY,    /* the column holds 0/1 */
    LABEL_GE,
    LABEL_GT,
    LABEL_EQ
} csv_label_op;

/* A column reference: its name, where the schema names it, and (after
 * csv_schema_bind) its index in the file's records. */
typedef struct csv_colref {
    char name[CSV_SCHEMA_NAME_LEN];
    int line; /* schema line (0: not set) */
    int col;  /* -1 until bound */
} csv_colref;

typedef struct csv_label {
    csv_label_op op;
    csv_colref column;
    double threshold;
    int constant;
    int set;
} csv_label;

typedef struct csv_schema_field {
    char name[DATASET_NAME_LEN];
    csv_colref column;
    field_side side;
    csv_field_kind kind;
    int64_t hash_buckets;
    char separator, weight_separator; /* multi; weight_separator 0: no weights */
    int line;                          /* line of [field NAME] */
    int side_set;
} csv_schema_field;

typedef struct csv_schema {
    char path[1024];
    char name[DATASET_NAME_LEN];
    char source[DATASET_NAME_LEN]; /* the file's source attribute ("csv") */
    char delimiter, quote; /* quote 0: no quoting */
    int header;
    csv_label click, conversion;
    csv_colref user, item, time; /* name[0] == 0: not given */
    int n_fields;
    csv_schema_field fields[CSV_SCHEMA_MAX_FIELDS];
} csv_schema;

/* Sets s to an empty schema of the defaults: delimiter ',', quote '"',
 * header yes, no labels, keys or fields; origin names it in messages. */
void csv_schema_init(csv_schema *s, const char *origin);

/* Appends field name with side and kind (column = name); an error names the
 * field when there is no room or the name is bad. */
dmmp_status csv_schema_add_field(csv_schema *s, const char *name, field_side side, csv_field_kind kind);

/* Sets l to the 0/1 label held by column (as `click = column` would). */
void csv_schema_label_column(csv_label *l, const char *column);

/* Builds a schema from a file's header fields (loc: line 1 of the file), for
 * layouts that are known without a schema file (Ali-CCP CSV, AliExpress). */
typedef dmmp_status (*csv_schema_describe_fn)(csv_schema *s, const csv_field *header, int n, const text_loc *loc,
                                              const void *arg);

/* Reads and checks the schema file path. */
dmmp_status csv_schema_load(csv_schema *s, const char *path);

/* Parses schema text (origin names it in messages). */
dmmp_status csv_schema_parse(csv_schema *s, const char *text, const char *origin);

/* Resolves every column reference against the names of a file's columns
 * (header fields, or c1..cN); extra is one more reference to resolve (the
 * --split column:NAME, or NULL). A missing column names the schema file,
 * line and key; file names the data file. */
dmmp_status csv_schema_bind(csv_schema *s, const char *const *names, int n_names, csv_colref *extra,
                            const char *file);

#endif
