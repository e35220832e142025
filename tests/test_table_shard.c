/* Sharded tables' pure helpers (model/table_shard.h), each against a
 * brute-force version: owner blocks and the owner of a row, the distinct
 * rows of a batch, ids as indices of the fetched rows; a block's
 * initialisation against the whole table's; the lookup of one process. */
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "model/table_shard.h"
#include "nn/embedding.h"
#include "suites.h"
#include "testutil.h"

/* Owner blocks cover [0, rows) in rank order, contiguous, sizes within one
 * row of each other; shard_owner names the block that holds each row. */
static void test_owner_blocks(void)
{
    for (int64_t rows = 1; rows <= 150; rows++) {
        for (int ranks = 1; ranks <= 9; ranks++) {
            int64_t small = rows, large = 0;
            CU_ASSERT_EQUAL(shard_block_lo(rows, ranks, 0), 0);
            CU_ASSERT_EQUAL(shard_block_lo(rows, ranks, ranks), rows);
            for (int r = 0; r < ranks; r++) {
                int64_t n = shard_block_lo(rows, ranks, r + 1) - shard_block_lo(rows, ranks, r);
                CU_ASSERT(n >= 0);
                if (n < small) small = n;
                if (n > large) large = n;
            }
            CU_ASSERT(large - small <= 1);
            for (int64_t row = 0; row < rows; row++) {
                int brute = -1;
                for (int r = 0; r < ranks; r++)
                    if (shard_block_lo(rows, ranks, r) <= row && row < shard_block_lo(rows, ranks, r + 1)) brute = r;
                if (shard_owner(rows, ranks, row) != brute) {
                    TU_ASSERT_MSG(0, "rows %lld ranks %d row %lld: owner %d, brute force %d", (long long)rows, ranks,
                                  (long long)row, shard_owner(rows, ranks, row), brute);
                    return;
                }
            }
        }
    }
    /* The largest tables: ids are int32, so 2^31 rows on 4096 ranks. */
    int64_t rows = (int64_t)1 << 31;
    CU_ASSERT_EQUAL(shard_owner(rows, 4096, rows - 1), 4095);
    CU_ASSERT_EQUAL(shard_owner(rows, 4096, 0), 0);
    CU_ASSERT_EQUAL(shard_owner(rows, 4096, shard_block_lo(rows, 4096, 17)), 17);
    CU_ASSERT_EQUAL(shard_owner(rows, 4096, shard_block_lo(rows, 4096, 17) - 1), 16);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The distinct rows, ascending, as qsort and a unique pass give them;
 * small and large ids (every radix digit), with many repeats. */
static void test_distinct_rows(void)
{
    rng r;
    rng_seed(&r, 11);
    enum { MAX = 3000 };
    int32_t *ids = malloc(MAX * sizeof *ids), *out = malloc(MAX * sizeof *out), *tmp = malloc(MAX * sizeof *tmp);
    int32_t *ref = malloc(MAX * sizeof *ref);
    const int64_t ranges[] = {1, 7, 300, 70000, 20000000, 2147483647};
    for (int trial = 0; trial < 60; trial++) {
        int64_t n = (int64_t)rng_below(&r, MAX + 1);
        int64_t range = ranges[trial % 6];
        for (int64_t i = 0; i < n; i++) ids[i] = (int32_t)rng_below(&r, (uint64_t)range);
        memcpy(ref, ids, (size_t)n * sizeof *ref);
        qsort(ref, (size_t)n, sizeof *ref, cmp_i32);
        int64_t k = 0;
        for (int64_t i = 0; i < n; i++)
            if (k == 0 || ref[i] != ref[k - 1]) ref[k++] = ref[i];
        int64_t got = shard_distinct_rows(ids, n, out, tmp);
        CU_ASSERT_EQUAL(got, k);
        if (got == k) CU_ASSERT_EQUAL(memcmp(out, ref, (size_t)k * sizeof *ref), 0);
    }
    free(ids);
    free(out);
    free(tmp);
    free(ref);
}

/* Each id's index in the sorted rows, as a linear search finds it (-1 for
 * an id that is not there). */
static void test_remap(void)
{
    rng r;
    rng_seed(&r, 12);
    int32_t sorted[200], ids[500], out[500];
    for (int trial = 0; trial < 40; trial++) {
        int64_t n_sorted = (int64_t)rng_below(&r, 200), n = (int64_t)rng_below(&r, 500);
        int32_t v = 0;
        for (int64_t i = 0; i < n_sorted; i++) sorted[i] = v += 1 + (int32_t)rng_below(&r, 5);
        for (int64_t i = 0; i < n; i++) ids[i] = (int32_t)rng_below(&r, (uint64_t)v + 3);
        shard_remap(sorted, n_sorted, ids, n, out);
        for (int64_t i = 0; i < n; i++) {
            int32_t brute = -1;
            for (int64_t j = 0; j < n_sorted; j++)
                if (sorted[j] == ids[i]) brute = (int32_t)j;
            CU_ASSERT_EQUAL(out[i], brute);
        }
    }
}

/* A block holds exactly the whole table's rows there, and the stream ends
 * where the whole table's initialisation ends it. */
static void test_block_init(void)
{
    enum { ROWS = 37, DIM = 5 };
    float whole[ROWS * DIM], block[ROWS * DIM];
    embedding_table t;
    CU_ASSERT_EQUAL_FATAL(embedding_init(&t, "t", ROWS, DIM, whole), DMMP_OK);
    rng a, b;
    rng_stream(&a, 9, 3);
    embedding_init_weights(&t, 0.05f, &a);
    uint64_t next_a = rng_u64(&a);
    for (int ranks = 1; ranks <= 5; ranks++)
        for (int q = 0; q < ranks; q++) {
            int64_t lo = shard_block_lo(ROWS, ranks, q), hi = shard_block_lo(ROWS, ranks, q + 1);
            t.weight = block;
            rng_stream(&b, 9, 3);
            embedding_init_weights_block(&t, 0.05f, &b, lo, hi);
            CU_ASSERT_EQUAL(memcmp(block, whole + lo * DIM, (size_t)(hi - lo) * DIM * sizeof(float)), 0);
            CU_ASSERT_EQUAL(rng_u64(&b), next_a);
        }
}

/* One process owns every row: the fetch returns the block's rows. */
static void test_fetch_one_process(void)
{
    enum { ROWS = 50, DIM = 3 };
    float block[ROWS * DIM], got[ROWS * DIM], got2[4 * DIM];
    for (int i = 0; i < ROWS * DIM; i++) block[i] = (float)i * 0.5f;
    int32_t want[] = {0, 3, 4, 17, 49}, want2[] = {2, 5, 8, 9};
    shard_comm c;
    CU_ASSERT_EQUAL_FATAL(shard_comm_init(&c, 2), DMMP_OK);
    shard_lookup t[2] = {{"a", ROWS, DIM, block, want, 5, got}, {"b", ROWS, DIM, block, want2, 4, got2}};
    CU_ASSERT_EQUAL_FATAL(shard_fetch(&c, t, 2), DMMP_OK);
    for (int k = 0; k < 5; k++) CU_ASSERT_EQUAL(memcmp(got + k * DIM, block + want[k] * DIM, DIM * sizeof(float)), 0);
    for (int k = 0; k < 4; k++) CU_ASSERT_EQUAL(memcmp(got2 + k * DIM, block + want2[k] * DIM, DIM * sizeof(float)), 0);
    CU_ASSERT_EQUAL(c.stats.id_bytes + c.stats.vector_bytes, 0); /* nothing from other ranks */
    /* A row outside the table names it. */
    int32_t bad[] = {3, 50};
    shard_lookup tb = {"emb_x", ROWS, DIM, block, bad, 2, got};
    CU_ASSERT_EQUAL(shard_fetch(&c, &tb, 1), DMMP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmmp_errmsg(), "emb_x"));
    CU_ASSERT_EQUAL(shard_fetch(&c, t, 3), DMMP_EINVAL); /* more tables than set up for */
    shard_comm_free(&c);
}

int register_table_shard_suites(void)
{
    static const char *const names[] = {"owner blocks and owners against brute force",
                                        "distinct rows against qsort", "remapped ids against a linear search",
                                        "a block's initialisation is the whole table's there",
                                        "one process's fetch returns its rows"};
    static const CU_TestFunc fns[] = {test_owner_blocks, test_distinct_rows, test_remap, test_block_init,
                                      test_fetch_one_process};
    return tu_add_suite("model_table_shard", names, fns, sizeof fns / sizeof fns[0]);
}
