/* Vocabulary of one sparse field: raw 64-bit ids -> dense indices.
 *
 * Index 0 is reserved for "unknown / missing". In exact mode the importer
 * inserts ids while streaming the training split (indices 1, 2, ... in order
 * of first appearance, so the result depends only on the file's order) and
 * only looks ids up for val/test, where unseen ids map to 0. In hashed mode
 * (buckets > 0) every id, seen or not, maps to 1 + hash(id) mod buckets:
 * memory stays fixed for fields with very many ids, and unseen ids share
 * buckets with seen ones as the hashing trick intends.
 *
 * An exact vocabulary also keeps the raw value of every index (its
 * raw_ids table, data/raw_ids.h): the text given to vocab_insert_text, or
 * the decimal form of the id for vocab_insert. */
#ifndef DMMP_DATA_VOCAB_H
#define DMMP_DATA_VOCAB_H

#include <stdint.h>

#include "core/status.h"
#include "data/raw_ids.h"

typedef struct vocab vocab;

/* Creates an empty vocabulary; buckets 0 = exact, > 0 = hashed into that many
 * buckets (at most INT32_MAX - 1); name labels error messages. */
dmmp_status vocab_create(vocab **out, int64_t buckets, const char *name);

/* Frees v (NULL is fine). */
void vocab_free(vocab *v);

/* Index of id, adding it when absent (training split). Fails only when
 * memory runs out or the index space (int32) is exhausted. */
dmmp_status vocab_insert(vocab *v, uint64_t id, int32_t *index);

/* vocab_insert for an id whose raw value is the text s[0 .. len) (kept
 * when the id is new). */
dmmp_status vocab_insert_text(vocab *v, uint64_t id, const char *s, size_t len, int32_t *index);

/* The raw values by index (index 0: ""); an empty table when hashed. */
const raw_ids *vocab_raw_ids(const vocab *v);

/* Index of id, or 0 when the id was never inserted (val/test splits). */
int32_t vocab_lookup(const vocab *v, uint64_t id);

/* Hints that id will be inserted or looked up soon (starts loading its slot
 * into the cache); changes nothing. */
void vocab_prefetch(const vocab *v, uint64_t id);

/* Number of indices including the reserved 0 (buckets + 1 when hashed). */
int64_t vocab_size(const vocab *v);

/* Number of distinct ids inserted (exact mode; 0 when hashed). */
int64_t vocab_count(const vocab *v);

/* 1 when v hashes ids into buckets. */
int vocab_is_hashed(const vocab *v);

/* The raw id behind index (1 <= index < vocab_size, exact mode only). */
uint64_t vocab_id_at(const vocab *v, int32_t index);

#endif
