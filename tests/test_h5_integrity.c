/* Checksums: our Fletcher32 against HDF5's own filter, and damage found on
 * read. */
#include <CUnit/CUnit.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"
#include "data/chunk_pool.h"
#include "data/h5_column.h"
#include "data/h5_integrity.h"
#include "suites.h"
#include "testutil.h"

/* Writes len bytes through the normal H5Dwrite path (one chunk, Fletcher32
 * the only filter), reads the stored chunk back raw and compares its last 4
 * bytes with h5_append_fletcher32 over the first len. */
static int matches_hdf5(const char *path, const unsigned char *data, size_t len)
{
    hid_t fapl = h5_fapl_checksummed();
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (f < 0) return 0;
    hsize_t dims[1] = {len};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, dims);
    H5Pset_fletcher32(dcpl);
    hid_t d = H5Dcreate2(f, "x", H5T_STD_U8LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    int ok = d >= 0 && H5Dwrite(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0;
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Fclose(f);
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    d = f >= 0 ? H5Dopen2(f, "x", H5P_DEFAULT) : -1;
    hsize_t off[1] = {0}, stored = 0;
    uint32_t mask = 1;
    ok = ok && d >= 0 && H5Dget_chunk_storage_size(d, off, &stored) >= 0 && stored == len + 4;
    unsigned char *raw = malloc(len + 4), *mine = malloc(len + 4);
    ok = ok && raw && mine && H5Dread_chunk(d, H5P_DEFAULT, off, &mask, raw) >= 0 && mask == 0;
    if (ok) {
        memcpy(mine, data, len);
        h5_append_fletcher32(mine, len);
        ok = memcmp(raw, mine, len + 4) == 0;
    }
    free(raw);
    free(mine);
    if (d >= 0) H5Dclose(d);
    if (f >= 0) H5Fclose(f);
    return ok;
}

static void test_fletcher32_like_hdf5(void)
{
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/f32.h5", dir);
    static const size_t lens[] = {1, 2, 3, 4, 719, 720, 721, 1441, 4096, 65537, 300001};
    unsigned char *buf = malloc(300001);
    CU_ASSERT_FATAL(buf != NULL);
    for (int pattern = 0; pattern < 3; pattern++) {
        uint32_t x = 12345;
        for (size_t i = 0; i < 300001; i++) {
            x = x * 1664525u + 1013904223u;
            /* random, all 0xff (the sums' worst case), all zero */
            buf[i] = pattern == 0 ? (unsigned char)(x >> 24) : pattern == 1 ? 0xff : 0;
        }
        for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++)
            TU_ASSERT_MSG(matches_hdf5(path, buf, lens[k]), "pattern %d, %zu bytes", pattern, lens[k]);
    }
    free(buf);
    unlink(path);
    rmdir(dir);
}

/* A flipped byte in a pooled (raw-written) chunk is refused on read, and the
 * message says checksum mismatch and names the dataset. */
static void test_damaged_chunk_refused(void)
{
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/dmg.h5", dir);
    enum { N = 5000 };
    int32_t *v = malloc(N * sizeof *v), *back = malloc(N * sizeof *back);
    CU_ASSERT_FATAL(v && back);
    for (int i = 0; i < N; i++) v[i] = i * 7919 % 1000;
    hid_t fapl = h5_fapl_checksummed();
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    CU_ASSERT_FATAL(f >= 0);
    CU_ASSERT(h5_file_has_checksums(f) == 1);
    chunk_pool *pool = NULL;
    CU_ASSERT_FATAL(chunk_pool_create(&pool, 2) == DMMP_OK);
    h5_column c;
    CU_ASSERT_FATAL(h5_column_create(&c, f, "col", H5T_NATIVE_INT32, 0, 1024, 1) == DMMP_OK);
    h5_column_use_pool(&c, pool);
    CU_ASSERT(h5_column_append(&c, v, N) == DMMP_OK);
    CU_ASSERT(h5_column_close(&c) == DMMP_OK);
    chunk_pool_free(pool);
    /* Where the first chunk is stored, from the chunk index. */
    hid_t d = H5Dopen2(f, "col", H5P_DEFAULT);
    haddr_t addr = 0;
    hsize_t size = 0, off[1] = {0};
    unsigned mask = 0;
    CU_ASSERT(H5Dget_chunk_info_by_coord(d, off, &mask, &addr, &size) >= 0 && size > 8);
    H5Dclose(d);
    H5Fclose(f);
    /* Intact: reads back. */
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    d = H5Dopen2(f, "col", H5P_DEFAULT);
    CU_ASSERT(H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, back) >= 0 &&
              memcmp(v, back, N * sizeof *v) == 0);
    H5Dclose(d);
    H5Fclose(f);
    FILE *fp = fopen(path, "r+b");
    CU_ASSERT_FATAL(fp != NULL);
    fseek(fp, (long)(addr + size / 2), SEEK_SET);
    int byte = fgetc(fp);
    fseek(fp, (long)(addr + size / 2), SEEK_SET);
    fputc(byte ^ 0x10, fp);
    fclose(fp);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    d = H5Dopen2(f, "col", H5P_DEFAULT);
    CU_ASSERT(H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, back) < 0);
    CU_ASSERT(h5_error_is_checksum(NULL, 0) == 1);
    dmmp_status s = h5_read_failure("dmg.h5", "/col");
    CU_ASSERT(s == DMMP_EFORMAT);
    TU_ASSERT_MSG(strstr(dmmp_errmsg(), "checksum mismatch in /col: the file is damaged") != NULL, "%s",
                  dmmp_errmsg());
    dmmp_error_clear();
    H5Dclose(d);
    H5Fclose(f);
    free(v);
    free(back);
    unlink(path);
    rmdir(dir);
}

int register_h5_integrity_suites(void)
{
    static const char *const names[] = {
        "Fletcher32 matches HDF5's filter byte for byte",
        "a damaged raw-written chunk is refused as a checksum mismatch",
    };
    static const CU_TestFunc fns[] = {test_fletcher32_like_hdf5, test_damaged_chunk_refused};
    return tu_add_suite("data_h5_integrity", names, fns, sizeof fns / sizeof fns[0]);
}
