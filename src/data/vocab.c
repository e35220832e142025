/* Open-addressing hash map (linear probing, power-of-two table, load <= 1/2)
 * from 64-bit ids to int32 indices; slot value 0 marks an empty slot, which
 * is free because index 0 is never assigned to an id. A slot holds key and
 * value side by side: big vocabularies outgrow the caches, and one line per
 * probe instead of two is most of the cost of a lookup. */
#include "data/vocab.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct vocab_slot {
    uint64_t key;
    int32_t value; /* 0 = empty slot */
    int32_t unused;
} vocab_slot;

struct vocab {
    char name[64];
    int64_t buckets;   /* > 0: hashed mode */
    vocab_slot *slots; /* table */
    uint64_t mask;     /* table size - 1 */
    int64_t count;     /* ids stored */
    uint64_t *by_index;/* by_index[i] = id of index i (i >= 1) */
    int64_t by_index_cap;
    raw_ids raw;       /* raw value of every index (exact mode) */
};

/* The splitmix64 finaliser: a bijection that spreads consecutive ids over
 * the whole table, so linear probing stays short on sequential ids. */
static uint64_t mix_id(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static dmmp_status alloc_table(vocab *v, uint64_t slots)
{
    vocab_slot *table = calloc(slots, sizeof *table);
    if (!table)
        return dmmp_fail(DMMP_ENOMEM, "vocabulary '%s': cannot allocate %llu slots", v->name,
                         (unsigned long long)slots);
    v->slots = table;
    v->mask = slots - 1;
    return DMMP_OK;
}

dmmp_status vocab_create(vocab **out, int64_t buckets, const char *name)
{
    *out = NULL;
    if (buckets < 0 || buckets >= INT32_MAX)
        return dmmp_fail(DMMP_EINVAL, "vocabulary '%s': hash buckets %lld outside [0, %d)", name,
                         (long long)buckets, INT32_MAX);
    vocab *v = calloc(1, sizeof *v);
    if (!v) return dmmp_fail(DMMP_ENOMEM, "vocabulary '%s': out of memory", name);
    snprintf(v->name, sizeof v->name, "%s", name);
    v->buckets = buckets;
    raw_ids_init(&v->raw);
    if (buckets == 0) {
        dmmp_status s = alloc_table(v, 1024);
        if (s == DMMP_OK) s = raw_ids_push(&v->raw, "", 0, v->name);
        if (s != DMMP_OK) {
            vocab_free(v);
            return s;
        }
    }
    *out = v;
    return DMMP_OK;
}

void vocab_free(vocab *v)
{
    if (!v) return;
    free(v->slots);
    free(v->by_index);
    raw_ids_free(&v->raw);
    free(v);
}

static dmmp_status grow(vocab *v)
{
    vocab_slot *old = v->slots;
    uint64_t old_slots = v->mask + 1;
    DMMP_TRY(alloc_table(v, old_slots * 2));
    for (uint64_t i = 0; i < old_slots; i++) {
        if (!old[i].value) continue;
        uint64_t slot = mix_id(old[i].key) & v->mask;
        while (v->slots[slot].value) slot = (slot + 1) & v->mask;
        v->slots[slot] = old[i];
    }
    free(old);
    return DMMP_OK;
}

static int32_t hashed_index(const vocab *v, uint64_t id)
{
    return (int32_t)(1 + mix_id(id ^ 0x9e3779b97f4a7c15ULL) % (uint64_t)v->buckets);
}

static dmmp_status insert(vocab *v, uint64_t id, const char *text, size_t len, int32_t *index)
{
    if (v->buckets) {
        *index = hashed_index(v, id);
        return DMMP_OK;
    }
    uint64_t slot = mix_id(id) & v->mask;
    while (v->slots[slot].value) {
        if (v->slots[slot].key == id) {
            *index = v->slots[slot].value;
            return DMMP_OK;
        }
        slot = (slot + 1) & v->mask;
    }
    if (v->count + 1 >= INT32_MAX)
        return dmmp_fail(DMMP_EFORMAT, "vocabulary '%s': more than %d distinct ids; hash the field", v->name,
                         INT32_MAX - 1);
    int32_t idx = (int32_t)(v->count + 1);
    if (idx >= v->by_index_cap) {
        int64_t cap = v->by_index_cap ? v->by_index_cap * 2 : 1024;
        uint64_t *p = realloc(v->by_index, (size_t)cap * sizeof *p);
        if (!p) return dmmp_fail(DMMP_ENOMEM, "vocabulary '%s': out of memory", v->name);
        v->by_index = p;
        v->by_index_cap = cap;
    }
    char num[24];
    if (!text) {
        len = (size_t)snprintf(num, sizeof num, "%" PRId64, (int64_t)id);
        text = num;
    }
    DMMP_TRY(raw_ids_push(&v->raw, text, len, v->name));
    v->by_index[idx] = id;
    v->slots[slot].key = id;
    v->slots[slot].value = idx;
    v->count++;
    if ((uint64_t)v->count * 2 > v->mask + 1) DMMP_TRY(grow(v));
    *index = idx;
    return DMMP_OK;
}

dmmp_status vocab_insert(vocab *v, uint64_t id, int32_t *index) { return insert(v, id, NULL, 0, index); }

dmmp_status vocab_insert_text(vocab *v, uint64_t id, const char *s, size_t len, int32_t *index)
{
    return insert(v, id, s, len, index);
}

const raw_ids *vocab_raw_ids(const vocab *v) { return &v->raw; }

int32_t vocab_lookup(const vocab *v, uint64_t id)
{
    if (v->buckets) return hashed_index(v, id);
    uint64_t slot = mix_id(id) & v->mask;
    while (v->slots[slot].value) {
        if (v->slots[slot].key == id) return v->slots[slot].value;
        slot = (slot + 1) & v->mask;
    }
    return 0;
}

void vocab_prefetch(const vocab *v, uint64_t id)
{
    if (!v->buckets) __builtin_prefetch(&v->slots[mix_id(id) & v->mask]);
}

int64_t vocab_size(const vocab *v) { return v->buckets ? v->buckets + 1 : v->count + 1; }

int64_t vocab_count(const vocab *v) { return v->buckets ? 0 : v->count; }

int vocab_is_hashed(const vocab *v) { return v->buckets > 0; }

uint64_t vocab_id_at(const vocab *v, int32_t index)
{
    if (v->buckets || index < 1 || index > v->count) return 0;
    return v->by_index[index];
}
