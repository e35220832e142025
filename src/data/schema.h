/* The schema of a dataset file (format_version 1; README: Data): its fields,
 * their sides, the splits and the format version, shared by the writer
 * (data/dataset_writer.h) and the reader (data/dataset.h). */
#ifndef DMMP_DATA_SCHEMA_H
#define DMMP_DATA_SCHEMA_H

#include <stdint.h>

#define DATASET_FORMAT_VERSION 1
#define DATASET_NAME_LEN 64

typedef enum field_side {
    SIDE_USER = 0,    /* user profile fields: the user tower reads them */
    SIDE_ITEM = 1,    /* item fields: the item towers read them */
    SIDE_CONTEXT = 2, /* query-side context (scenario, position): the user tower reads them */
    SIDE_CROSS = 3    /* user-item cross features: only the teacher reads them */
} field_side;

typedef enum data_split { SPLIT_TRAIN = 0, SPLIT_VAL = 1, SPLIT_TEST = 2 } data_split;

typedef struct dataset_field {
    char name[DATASET_NAME_LEN];
    field_side side;
    int multi;          /* 1: multi-valued weighted field stored as CSR; 0: one id per row */
    int64_t vocab_size; /* ids are in [0, vocab_size); 0 means unknown/missing */
} dataset_field;

typedef struct dataset_schema {
    int n_fields;          /* all fields, in file order */
    dataset_field *fields; /* single-valued ones form /samples/sparse's columns in this order */
    int n_dense;           /* columns of /samples/dense (0: none) */
    char (*dense_names)[DATASET_NAME_LEN];
} dataset_schema;

#endif
