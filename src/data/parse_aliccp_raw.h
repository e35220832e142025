/* Parsers of the two Ali-CCP raw line types (the dataset as released):
 *   skeleton: sample_id,click,conversion,common_feature_index,feature_count,feature_list
 *   common:   common_feature_index,feature_count,feature_list
 * A feature_list is entries joined by 0x01; an entry is
 * field_id 0x02 feature_id 0x03 value. The parsers are pure functions of
 * the line: they append the entries to a caller-owned growable array and
 * report errors as "file:line:column: what". */
#ifndef DMMP_DATA_PARSE_ALICCP_RAW_H
#define DMMP_DATA_PARSE_ALICCP_RAW_H

#include <stdint.h>

#include "core/status.h"
#include "data/schema.h"
#include "data/text_scan.h"

#define ALICCP_N_FIELDS 23
#define ALICCP_N_MULTI 4

/* The declared fields in dataset order (user, user multi-valued, item,
 * context, cross) with their sides. */
typedef struct aliccp_field_info {
    const char *name;
    field_side side;
    int multi;
} aliccp_field_info;

extern const aliccp_field_info aliccp_fields[ALICCP_N_FIELDS];

/* Index into aliccp_fields of the field id text [p, end), or -1 when the id is
 * not declared. */
int aliccp_field_index(const char *p, const char *end);

/* One parsed entry. */
typedef struct aliccp_entry {
    uint64_t feature_id;
    float value;
    int32_t field; /* index into aliccp_fields */
} aliccp_entry;

/* A growable array of entries (zero-initialise; free with aliccp_entries_free). */
typedef struct aliccp_entries {
    aliccp_entry *v;
    int64_t n, cap;
} aliccp_entries;

void aliccp_entries_free(aliccp_entries *e);

/* A parsed skeleton line; its entries went to the entries array. */
typedef struct aliccp_skeleton {
    uint64_t sample_id;
    uint8_t click, conversion;
    uint64_t common_key;    /* text_hash64 of the common_feature_index text */
    int32_t common_key_col; /* 1-based column of common_feature_index, for later errors */
    int32_t n_entries;
} aliccp_skeleton;

/* Parses one skeleton line [line, end); appends its entries to out (on
 * failure out is left as it was). Errors: a short line, a bad number, a
 * conversion without a click, a feature_count that disagrees with the
 * list, an undeclared field id, an empty entry. */
dmmp_status aliccp_parse_skeleton(const char *line, const char *end, const text_loc *loc, aliccp_skeleton *row,
                                  aliccp_entries *out);

/* Parses one common-features line; *key is text_hash64 of its
 * common_feature_index; appends its entries to out (unchanged on failure). */
dmmp_status aliccp_parse_common(const char *line, const char *end, const text_loc *loc, uint64_t *key,
                                int32_t *n_entries, aliccp_entries *out);

/* Reads only the common_feature_index of a line: column `column` (0-based:
 * 3 in skeleton lines, 0 in common lines), hashed as above. */
dmmp_status aliccp_scan_key(const char *line, const char *end, const text_loc *loc, int column, uint64_t *key);

#endif
