/* The engine behind the CSV importers (Ali-CCP preprocessed, AliExpress): a
 * header names the columns; a plan says what each column is (a label, a
 * sparse field, a dense feature, ignored); rows are parsed in parallel blocks
 * and merged in file order through the field vocabularies into the writer. */
#ifndef DMMP_DATA_IMPORT_CSV_TABLE_H
#define DMMP_DATA_IMPORT_CSV_TABLE_H

#include "core/status.h"
#include "data/import.h"
#include "data/parse_csv.h"
#include "data/schema.h"

#define CSV_MAX_COLUMNS 256

typedef enum csv_col_kind { CSV_IGNORE = 0, CSV_CLICK, CSV_CONVERSION, CSV_SPARSE, CSV_DENSE } csv_col_kind;

/* How a dataset's columns map to the layout, filled by the importer from the
 * training file's header (csv_plan_describe_fn). */
typedef struct csv_plan {
    int n_cols;
    csv_col_kind kind[CSV_MAX_COLUMNS];
    int target[CSV_MAX_COLUMNS]; /* field (CSV_SPARSE) or dense column (CSV_DENSE) */
    int n_fields;
    dataset_field fields[CSV_MAX_COLUMNS]; /* all single-valued */
    int n_dense;
    char dense_names[CSV_MAX_COLUMNS][DATASET_NAME_LEN];
    int user_field, item_field; /* field giving the user / item index; -1: the tuple of that side's fields */
    const char *name, *source;
} csv_plan;

/* Fills plan from the header fields (names and sides); errors name the
 * file, line 1 and the column. */
typedef dmmp_status (*csv_plan_describe_fn)(csv_plan *plan, const csv_field *header, int n, const text_loc *loc,
                                            const void *arg);

/* Imports up to three files (val and test may be NULL; with val NULL a
 * seeded val_fraction of train goes to val) with the plan describe makes
 * from train's header; val and test must have the same header. */
dmmp_status import_csv_table(const char *train, const char *val, const char *test, csv_plan_describe_fn describe,
                             const void *arg, const import_options *opt, import_report *rep);

#endif
