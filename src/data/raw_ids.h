/* Raw ids: the strings behind the dense indices of a dataset (README: Data,
 * "Raw ids").
 *
 * A raw-id table maps index i in [0, n) to the value the input held: a
 * field's vocabulary (index -> the raw value in the log), or the raw id of
 * every user and item. Index 0 is the reserved unknown id and maps to "".
 * A table is stored as two datasets under one group: offsets (int64, n + 1,
 * from 0, non-decreasing) and bytes (uint8, offsets[n]); entry i is
 * bytes[offsets[i] .. offsets[i + 1]), UTF-8 or any bytes but NUL, without
 * a terminator. Both are checksummed like every dataset of the file.
 *
 *   /vocab/<field>/{offsets,bytes}   one per field not hashed into buckets
 *   /users/raw_id/{offsets,bytes}    n_users entries
 *   /items/raw_id/{offsets,bytes}    n_items entries
 *
 * Files written before raw ids existed have none of these groups; readers
 * then print an index as "#<index>", as they do for a hashed field. */
#ifndef DMMP_DATA_RAW_IDS_H
#define DMMP_DATA_RAW_IDS_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct raw_ids {
    int64_t n;        /* entries (0: the file has no table) */
    int64_t *offsets; /* n + 1 */
    char *bytes;      /* offsets[n] bytes, plus one spare NUL */
    int64_t cap, bytes_cap;
} raw_ids;

/* Which table of a dataset file. */
typedef enum raw_ids_kind { RAW_IDS_FIELD = 0, RAW_IDS_USERS = 1, RAW_IDS_ITEMS = 2 } raw_ids_kind;

/* An empty table (n = 0) that raw_ids_push grows. */
void raw_ids_init(raw_ids *t);
void raw_ids_free(raw_ids *t);

/* Appends an entry of len bytes; a NUL inside is an error naming what. */
dmmp_status raw_ids_push(raw_ids *t, const char *s, size_t len, const char *what);

/* Entry i (0 <= i < n): its first byte, *len its length. */
const char *raw_ids_get(const raw_ids *t, int64_t i, size_t *len);

/* Writes entry i, NUL-terminated and cut to cap - 1 bytes, into buf; an index
 * the table does not cover (no table, a hashed field, i >= n) is written as
 * "#<i>". Returns buf. */
const char *raw_ids_format(const raw_ids *t, int64_t i, char *buf, size_t cap);

/* Index of the entry equal to s[0 .. len), or -1 (a linear scan: for tools,
 * not hot paths). */
int64_t raw_ids_find(const raw_ids *t, const char *s, size_t len);

/* Checks offsets (from 0, non-decreasing, ending at the byte count) and that
 * no entry holds a NUL; where names the table in the message. */
dmmp_status raw_ids_check(const raw_ids *t, const char *file, const char *where);

#endif
