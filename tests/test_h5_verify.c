/* dmmp data verify: every kind of file the framework writes verifies ok;
 * damage in bytes no other command reads is found; files written before
 * checksums are reported as such; paths that are no HDF5 file exit 2. */
#include <CUnit/CUnit.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"
#include "data/h5_integrity.h"
#include "data/h5_verify.h"
#include "h5_fixture.h"
#include "results_fixture.h"
#include "suites.h"
#include "test_robust.h"
#include "testutil.h"

static void test_every_kind_ok(void)
{
    if (!h5_fixture("verify every kind")) return;
    const char *data = h5_fixture_data(), *run = h5_fixture_run(), *bench = h5_fixture_bench();
    char paths[5][700];
    snprintf(paths[0], sizeof paths[0], "%s", data);
    snprintf(paths[1], sizeof paths[1], "%s/checkpoint.h5", run);
    snprintf(paths[2], sizeof paths[2], "%s/last.h5", run);
    snprintf(paths[3], sizeof paths[3], "%s/results.h5", run);
    snprintf(paths[4], sizeof paths[4], "%s", bench);
    static const file_kind kinds[] = {FILE_KIND_DATASET, FILE_KIND_RUN_STATE, FILE_KIND_RUN_STATE, FILE_KIND_RESULTS,
                                      FILE_KIND_BENCH};
    for (int i = 0; i < 5; i++) {
        h5_verify_report r;
        dmmp_status s = h5_verify_file(paths[i], &r);
        TU_ASSERT_MSG(s == DMMP_OK, "%s: %s", paths[i], dmmp_errmsg());
        CU_ASSERT(r.kind == kinds[i]);
        CU_ASSERT(h5_verify_fully_checked(&r));
        CU_ASSERT(r.groups >= 2 && r.datasets >= 1 && r.attributes >= 1 && r.data_bytes > 0);
        char out[8192];
        const char *args[] = {"data", "verify", paths[i], NULL};
        robust_expect_exit(args, 0, 0, "\nok\n", out, sizeof out);
        CU_ASSERT(strstr(out, file_kind_name(kinds[i])) != NULL);
        dmmp_error_clear();
    }
}

/* Flips one byte in the middle of the stored chunk of a /truth array that no
 * command but verify reads: inspect still passes with the same output,
 * verify names the array. */
static void test_unread_damage_found(void)
{
    if (!h5_fixture("verify unread damage")) return;
    const char *data = h5_fixture_data();
    char copy[700];
    snprintf(copy, sizeof copy, "%s/damaged.h5", h5_fixture_dir());
    CU_ASSERT_FATAL(robust_copy(data, copy, -1));
    hid_t f = H5Fopen(copy, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = f >= 0 ? H5Dopen2(f, "/truth/p_click", H5P_DEFAULT) : -1;
    haddr_t addr = 0;
    hsize_t size = 0, off[1] = {0};
    unsigned mask = 0;
    CU_ASSERT_FATAL(d >= 0 && H5Dget_chunk_info_by_coord(d, off, &mask, &addr, &size) >= 0 && size > 8);
    H5Dclose(d);
    H5Fclose(f);
    FILE *fp = fopen(copy, "r+b");
    CU_ASSERT_FATAL(fp != NULL);
    fseek(fp, (long)(addr + size / 2), SEEK_SET);
    int byte = fgetc(fp);
    fseek(fp, (long)(addr + size / 2), SEEK_SET);
    fputc(byte ^ 0x04, fp);
    fclose(fp);

    char clean[8192], out[8192];
    const char *inspect_clean[] = {"data", "inspect", data, NULL};
    const char *inspect_copy[] = {"data", "inspect", copy, NULL};
    CU_ASSERT(robust_run_dmmp(inspect_clean, clean, sizeof clean) == 0);
    CU_ASSERT(robust_run_dmmp(inspect_copy, out, sizeof out) == 0);
    /* The same output but for the file name in the first line. */
    CU_ASSERT(strcmp(strchr(clean, '\n'), strchr(out, '\n')) == 0);

    h5_verify_report r;
    dmmp_status s = h5_verify_file(copy, &r);
    CU_ASSERT(s == DMMP_EFORMAT);
    TU_ASSERT_MSG(strstr(dmmp_errmsg(), "checksum mismatch in /truth/p_click (rows 0..512): the file is damaged") != NULL,
                  "%s", dmmp_errmsg());
    dmmp_error_clear();
    const char *args[] = {"data", "verify", copy, NULL};
    robust_expect_exit(args, 2, 2, "checksum mismatch in /truth/p_click", out, sizeof out);
    CU_ASSERT(strstr(out, "\nok\n") == NULL);
    unlink(copy);
}

/* A file as HDF5 writes it by default (superblock 0, no checksums), with a
 * chunked dataset without Fletcher32, a contiguous one, a string attribute
 * and a hard link back to its group; and a 1.10 file whose one chunked
 * dataset has no Fletcher32. */
static void write_plain(const char *path, int checksummed_metadata)
{
    hid_t fapl = checksummed_metadata ? h5_fapl_checksummed() : H5Pcreate(H5P_FILE_ACCESS);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    CU_ASSERT_FATAL(f >= 0);
    hid_t g = H5Gcreate2(f, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    float v[5000];
    for (int i = 0; i < 5000; i++) v[i] = (float)i;
    hsize_t dims[1] = {5000}, chunk[1] = {1024};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, chunk);
    hid_t d = H5Dcreate2(g, "chunked", H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    CU_ASSERT(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Dclose(d);
    H5Pclose(dcpl);
    if (!checksummed_metadata) {
        d = H5Dcreate2(f, "contiguous", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        CU_ASSERT(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
        H5Dclose(d);
        CU_ASSERT(H5Lcreate_hard(f, "/g", g, "loop", H5P_DEFAULT, H5P_DEFAULT) >= 0);
        CU_ASSERT(H5Lcreate_soft("/nowhere", f, "dangling", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    }
    H5Sclose(sp);
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, H5T_VARIABLE);
    hid_t scalar = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, "note", st, scalar, H5P_DEFAULT, H5P_DEFAULT);
    const char *text = "written by plain HDF5";
    CU_ASSERT(H5Awrite(a, st, &text) >= 0);
    H5Aclose(a);
    H5Sclose(scalar);
    H5Tclose(st);
    H5Gclose(g);
    H5Fclose(f);
}

static void test_written_before_checksums(void)
{
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/old.h5", dir);
    write_plain(path, 0);
    h5_verify_report r;
    dmmp_status s = h5_verify_file(path, &r);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    CU_ASSERT(r.metadata_checksummed == 0 && !h5_verify_fully_checked(&r));
    CU_ASSERT(r.kind == FILE_KIND_OTHER_HDF5);
    /* root and g (once, though linked twice), both datasets, the attribute, the soft link */
    CU_ASSERT(r.groups == 2 && r.datasets == 2 && r.attributes == 1 && r.links == 1 && r.unchecked_datasets == 2);
    CU_ASSERT(r.data_bytes == 2 * 5000 * 4 + (int64_t)sizeof(char *));
    char out[8192];
    const char *args[] = {"data", "verify", path, NULL};
    if (robust_dmmp()) {
        robust_expect_exit(args, 0, 0, "written before checksums: its metadata and data cannot be verified", out,
                           sizeof out);
        CU_ASSERT(strstr(out, "\nok\n") == NULL);
    }
    write_plain(path, 1);
    s = h5_verify_file(path, &r);
    CU_ASSERT(s == DMMP_OK);
    CU_ASSERT(r.metadata_checksummed == 1 && r.unchecked_datasets == 1 && !h5_verify_fully_checked(&r));
    CU_ASSERT(strcmp(r.first_unchecked, "/g/chunked") == 0);
    if (robust_dmmp()) robust_expect_exit(args, 0, 0, "/g/chunked) carries no checksum", out, sizeof out);
    unlink(path);
    rmdir(dir);
}

static void test_not_hdf5(void)
{
    char dir[512], path[600], out[8192];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/text.h5", dir);
    CU_ASSERT_FATAL(robust_put(path, "not HDF5\n"));
    h5_verify_report r;
    CU_ASSERT(h5_verify_file(path, &r) == DMMP_EFORMAT);
    CU_ASSERT(h5_verify_file(dir, &r) == DMMP_EINVAL);
    dmmp_error_clear();
    if (robust_dmmp()) {
        const char *text[] = {"data", "verify", path, NULL};
        const char *directory[] = {"data", "verify", dir, NULL};
        robust_expect_exit(text, 2, 2, "not an HDF5 file", out, sizeof out);
        robust_expect_exit(directory, 2, 2, "a directory", out, sizeof out);
    }
    unlink(path);
    rmdir(dir);
}

int register_h5_verify_suites(void)
{
    static const char *const names[] = {
        "a dataset, checkpoint, last.h5, results.h5 and bench record verify ok",
        "a flipped byte in a /truth chunk no other command reads is found",
        "a file written before checksums is read and reported as unverifiable",
        "a text file and a directory exit 2",
    };
    static const CU_TestFunc fns[] = {test_every_kind_ok, test_unread_damage_found, test_written_before_checksums,
                                      test_not_hdf5};
    return tu_add_suite("data_h5_verify", names, fns, sizeof fns / sizeof fns[0]);
}
