/* The synthetic click-bait world: a seeded generator of Ali-CCP-like data
 * with a known ground truth (see synth.c for the design, synth_truth.h for
 * the probabilities). Same config -> same bytes, whatever the thread count. */
#ifndef DMMP_DATA_SYNTH_H
#define DMMP_DATA_SYNTH_H

#include <stdint.h>

#include "core/status.h"

typedef struct synth_config {
    int64_t n_users;       /* default 20000 */
    int64_t n_items;       /* default 5000 */
    int64_t n_impressions; /* default 1000000; streamed, any size */
    double bait_share;     /* share of items that are click baits, default 0.15 */
    double intent_spread;  /* sd of the users' purchase intent, default 0: the world without intent */
    uint64_t seed;         /* default 1 */
    int64_t chunk_rows;    /* HDF5 chunk rows, default DATASET_DEFAULT_CHUNK_ROWS */
} synth_config;

/* Summary of a generated file (for logs and tests). */
typedef struct synth_summary {
    int64_t rows[3], clicks[3], conversions[3];
    int64_t n_baits;
    double seconds;
} synth_summary;

/* Fills c with the defaults above. */
void synth_config_default(synth_config *c);

/* Checks ranges; the message names the option at fault. */
dmmp_status synth_config_check(const synth_config *c);

/* Generates the dataset into path (temporary file renamed on success);
 * summary may be NULL. */
dmmp_status synth_generate(const synth_config *c, const char *path, synth_summary *summary);

#endif
