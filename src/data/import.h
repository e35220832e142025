/* Importers of public datasets into the HDF5 dataset layout (README: Data):
 * Ali-CCP raw, Ali-CCP preprocessed CSV, AliExpress. Each streams its input,
 * builds the vocabularies from the training split (unseen ids at val/test
 * map to 0), writes through dataset_writer (temporary file, renamed only on
 * success) and fills /items and /users. */
#ifndef DMMP_DATA_IMPORT_H
#define DMMP_DATA_IMPORT_H

#include <stdint.h>

#include "core/status.h"
#include "data/csv_schema.h"

typedef struct import_options {
    const char *out;       /* the .h5 file to create */
    double val_fraction;   /* share of the training file sent to val, [0, 1) */
    double test_fraction;  /* share of the training file sent to test, [0, 1 - val_fraction) (aliccp-csv without a test file) */
    uint64_t seed;         /* decides the val and test rows */
    int skip_bad_lines;    /* 0: stop at the first bad line; 1: skip and count */
    const char *hash_spec; /* "FIELD=BUCKETS[,FIELD=BUCKETS...]" or NULL: fields hashed into buckets */
    int progress;          /* print MB read and MB/s on stderr every few seconds */
    int threads;           /* parser threads (0: OpenMP's default) */
} import_options;

/* Sets the defaults: val_fraction 0.1, test_fraction 0, seed 1, stop on
 * error, no hashing, progress on, default threads. */
void import_options_default(import_options *opt);

typedef struct import_report {
    int64_t rows[3];   /* rows written per split: train, val, test */
    int64_t clicks, conversions;
    int64_t skipped;   /* bad lines skipped */
    int64_t n_users, n_items;
    int64_t bytes;     /* input bytes read (every pass) */
    double seconds;
} import_report;

/* The four files of the raw Ali-CCP release. */
typedef struct aliccp_raw_paths {
    const char *skeleton_train, *common_train, *skeleton_test, *common_test;
} aliccp_raw_paths;

/* Imports raw Ali-CCP: train -> train/val (seeded fraction), test -> test. */
dmmp_status import_aliccp_raw(const aliccp_raw_paths *paths, const import_options *opt, import_report *rep);

/* Imports the preprocessed Ali-CCP CSV layout; val and test may be NULL (a
 * NULL val splits val_fraction off train, a NULL test test_fraction). */
dmmp_status import_aliccp_csv(const char *train, const char *val, const char *test, const import_options *opt,
                              import_report *rep);

/* The categorical columns that are user side when none are given. */
#define ALIEXPRESS_DEFAULT_USER_FIELDS "categorical_1,categorical_2,categorical_3,categorical_4,categorical_5,categorical_6"

/* Imports AliExpress: train -> train/val, test -> test; user_fields lists
 * the user-side categorical columns (NULL: the default), the rest are item side. */
dmmp_status import_aliexpress(const char *train, const char *test, const char *user_fields, const import_options *opt,
                              import_report *rep);

/* How `dmmp data import csv` splits its training file (README: "Your own data"). */
typedef enum import_split_rule {
    IMPORT_SPLIT_RANDOM = 0,         /* seeded, by row: val_fraction and test_fraction */
    IMPORT_SPLIT_TIME = 1,           /* the last test_fraction of the time range to test, the val_fraction before to val */
    IMPORT_SPLIT_LEAVE_LAST_OUT = 2, /* each user's last row by time to test, the one before to val */
    IMPORT_SPLIT_COLUMN = 3          /* a column of train/val/test or 0/1/2 */
} import_split_rule;

typedef struct csv_import_args {
    const char *schema;            /* the schema file (data/csv_schema.h), or NULL with describe */
    const char *train, *val, *test; /* val and test may be NULL */
    import_split_rule split;       /* only IMPORT_SPLIT_RANDOM with a val or test file */
    const char *split_column;      /* IMPORT_SPLIT_COLUMN */
    /* A layout known without a schema file: builds the schema from the
     * training file's header (a csv_schema_describe_fn of data/csv_schema.h;
     * NULL: read `schema`). The Ali-CCP CSV and AliExpress importers use it. */
    csv_schema_describe_fn describe;
    const void *describe_arg;
} csv_import_args;

/* Imports any CSV/TSV log of impressions described by a schema file; raw
 * ids are kept in /vocab, /users/raw_id and /items/raw_id. opt->hash_spec is
 * not used (the schema has hash_buckets). */
dmmp_status import_csv(const csv_import_args *a, const import_options *opt, import_report *rep);

/* "random", "time", "leave-last-out", "column". */
const char *import_split_name(import_split_rule r);

#endif
