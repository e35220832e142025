/* A generator of files in the raw Ali-CCP format, for tests and for
 * measuring the importer: sample_skeleton_{train,test}.csv and
 * common_features_{train,test}.csv in a directory, same seed -> same bytes. */
#ifndef DMMP_DATA_GEN_ALICCP_RAW_H
#define DMMP_DATA_GEN_ALICCP_RAW_H

#include <stdint.h>

#include "core/status.h"

typedef struct aliccp_gen_options {
    const char *out_dir;
    int64_t rows_train, rows_test; /* skeleton lines */
    int64_t n_users, n_items;      /* 0: rows_train / 20 and / 10 (at least 10) */
    uint64_t seed;
} aliccp_gen_options;

/* Writes the four files into out_dir (which must exist). Every user has a
 * common-features line in both common files (under different keys), some
 * of them used by no sample, and the files are not sorted by key. */
dmmp_status gen_aliccp_raw(const aliccp_gen_options *opt);

#endif
