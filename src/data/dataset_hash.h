/* A cheap content hash of a dataset file, recorded by training and
 * evaluation so reports can tell runs of different datasets apart.
 *
 * It reads a fixed amount whatever the file's size: the size itself and 64
 * blocks of 4 KiB, block b at byte (size - 4096) * b / 63, so the first
 * starts at the first byte and the last ends at the last (the whole file
 * when it is smaller than that), hashed with text_hash64. A copy of a
 * file hashes the same (no path or time goes in); a rewritten dataset (other
 * seed, rows, vocabularies) changes its size or sampled bytes. An in-place
 * edit that keeps the size and touches no sampled block is not seen. */
#ifndef DMMP_DATA_DATASET_HASH_H
#define DMMP_DATA_DATASET_HASH_H

#include <stddef.h>

#include "core/status.h"

/* Room for the text form ("sample-64x4KiB:" and 16 hex digits) and the NUL. */
#define DATASET_HASH_LEN 48

/* Writes the hash of the file at path as text into out (DATASET_HASH_LEN
 * bytes); fails naming the file when it cannot be read. */
dmmp_status dataset_content_hash(const char *path, char out[DATASET_HASH_LEN]);

#endif
