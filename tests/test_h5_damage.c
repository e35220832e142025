/* Damaged files, the cases the random flips of tests/bitflip.sh reach only
 * by chance: files written before checksums read as they did, and a crash
 * of HDF5 on a damaged one ends a child process, not the command; a damaged
 * continuation chunk of an object header is refused as damage, not taken
 * for a missing object; texts too long for an object header are checksummed;
 * appending to a benchmark record reads it in full first. */
#include <CUnit/CUnit.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_record.h"
#include "core/status.h"
#include "data/h5_verify.h"
#include "h5_fixture.h"
#include "old_format.h"
#include "results_fixture.h"
#include "suites.h"
#include "test_robust.h"
#include "testutil.h"
#include "train/checkpoint.h"
#include "train/results.h"

#define ASSERT_HAS(text, part) TU_ASSERT_MSG(strstr((text), (part)) != NULL, "'%s' lacks '%s'", (text), (part))

/* ---- bytes of a file ----------------------------------------------------- */

static unsigned char *slurp(const char *path, long *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    rewind(f);
    unsigned char *b = malloc((size_t)*n + 1);
    if (b && fread(b, 1, (size_t)*n, f) != (size_t)*n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

/* Offsets of the first max occurrences of pat (len bytes) in path; their
 * count. */
static int find_all(const char *path, const void *pat, size_t len, long *at, int max)
{
    long n = 0;
    unsigned char *b = slurp(path, &n);
    int k = 0;
    for (long i = 0; b && i + (long)len <= n && k < max; i++)
        if (!memcmp(b + i, pat, len)) at[k++] = i;
    free(b);
    return k;
}

/* The offset of the last occurrence of pat, -1 when none. */
static long find_last(const char *path, const void *pat, size_t len)
{
    long n = 0, last = -1;
    unsigned char *b = slurp(path, &n);
    for (long i = 0; b && i + (long)len <= n; i++)
        if (!memcmp(b + i, pat, len)) last = i;
    free(b);
    return last;
}

static int flip_byte(const char *path, long off, int mask)
{
    FILE *f = fopen(path, "r+b");
    if (!f) return 0;
    int ok = fseek(f, off, SEEK_SET) == 0;
    int c = ok ? fgetc(f) : EOF;
    ok = c != EOF && fseek(f, off, SEEK_SET) == 0 && fputc(c ^ mask, f) != EOF;
    return fclose(f) == 0 && ok;
}

/* Flips a byte in the middle of the first stored chunk of dataset name. */
static int flip_in_chunk(const char *path, const char *name)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = f >= 0 ? H5Dopen2(f, name, H5P_DEFAULT) : -1;
    haddr_t addr = 0;
    hsize_t size = 0, off[1] = {0};
    unsigned mask = 0;
    int ok = d >= 0 && H5Dget_chunk_info_by_coord(d, off, &mask, &addr, &size) >= 0 && size > 8;
    if (d >= 0) H5Dclose(d);
    if (f >= 0) H5Fclose(f);
    return ok && flip_byte(path, (long)(addr + size / 2), 0x04);
}

/* stdout and stderr of dmmp run with args, without the first line. */
static const char *after_first_line(const char *s)
{
    const char *nl = strchr(s, '\n');
    return nl ? nl + 1 : s;
}

/* ---- files written before checksums -------------------------------------- */

/* The run directory of the fixture with its three files in the old format. */
static int old_run(const char *dir, char *orun, size_t len)
{
    snprintf(orun, len, "%s/orun", dir);
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", orun, h5_fixture_run(), orun);
    if (system(cmd) != 0) return 0;
    static const char *const files[] = {"checkpoint.h5", "last.h5", "results.h5"};
    for (int i = 0; i < 3; i++) {
        char src[1200], dst[1200];
        snprintf(src, sizeof src, "%s/%s", h5_fixture_run(), files[i]);
        snprintf(dst, sizeof dst, "%s/%s", orun, files[i]);
        if (old_format_copy(src, dst) != 0) return 0;
    }
    return 1;
}

static void test_old_files_read_as_before(void)
{
    if (!h5_fixture("old files read as before")) return;
    const char *dir = h5_fixture_dir();
    char old_data[700], orun[700], old_bench[700], out[8192], clean[8192];
    snprintf(old_data, sizeof old_data, "%s/old-d.h5", dir);
    snprintf(old_bench, sizeof old_bench, "%s/old-bench.h5", dir);
    CU_ASSERT_FATAL(old_format_copy(h5_fixture_data(), old_data) == 0);
    CU_ASSERT_FATAL(old_format_copy(h5_fixture_bench(), old_bench) == 0);
    CU_ASSERT_FATAL(old_run(dir, orun, sizeof orun));

    /* verify reads each in a child process and says what it is */
    const char *verify_old[] = {"data", "verify", old_data, NULL};
    robust_expect_exit(verify_old, 0, 0, "written before checksums: its metadata and data cannot be verified", out,
                       sizeof out);
    h5_verify_report r;
    CU_ASSERT(h5_verify_file(old_data, &r) == DMMP_OK && r.kind == FILE_KIND_DATASET && !r.metadata_checksummed);

    const char *inspect_new[] = {"data", "inspect", h5_fixture_data(), NULL};
    const char *inspect_old[] = {"data", "inspect", old_data, NULL};
    CU_ASSERT(robust_run_dmmp(inspect_new, clean, sizeof clean) == 0);
    CU_ASSERT(robust_run_dmmp(inspect_old, out, sizeof out) == 0);
    CU_ASSERT_STRING_EQUAL(after_first_line(out), after_first_line(clean));

    const char *report_new[] = {"report", h5_fixture_run(), NULL};
    const char *report_old[] = {"report", orun, NULL};
    CU_ASSERT(robust_run_dmmp(report_new, clean, sizeof clean) == 0);
    CU_ASSERT(robust_run_dmmp(report_old, out, sizeof out) == 0);
    CU_ASSERT_STRING_EQUAL(out, clean);

    const char *retrieve_new[] = {"retrieve", "--run", h5_fixture_run(), "--data", h5_fixture_data(), "--user", "3",
                                  "--k", "5", NULL};
    const char *retrieve_old[] = {"retrieve", "--run", orun, "--data", h5_fixture_data(), "--user", "3", "--k", "5",
                                  NULL};
    CU_ASSERT(robust_run_dmmp(retrieve_new, clean, sizeof clean) == 0);
    CU_ASSERT(robust_run_dmmp(retrieve_old, out, sizeof out) == 0);
    CU_ASSERT_STRING_EQUAL(out, clean);

    /* An old record appended to is written anew with checksums, its other
     * group carried over value for value. */
    bench_record before, after;
    CU_ASSERT_FATAL(bench_record_read(old_bench, &before) == DMMP_OK);
    CU_ASSERT(!before.checksummed && before.n_groups == 2);
    const char *append[] = {"bench", "gemm", "--size", "16", "--repeat", "1", "--out", old_bench, NULL};
    CU_ASSERT(robust_run_dmmp(append, out, sizeof out) == 0);
    CU_ASSERT(h5_verify_file(old_bench, &r) == DMMP_OK && h5_verify_fully_checked(&r) && r.kind == FILE_KIND_BENCH);
    CU_ASSERT_FATAL(bench_record_read(old_bench, &after) == DMMP_OK);
    CU_ASSERT(after.checksummed && after.n_groups == 2);
    const bench_record_group *a = &before.groups[1], *b = &after.groups[1];
    CU_ASSERT_STRING_EQUAL(a->name, "retrieve");
    CU_ASSERT_STRING_EQUAL(b->name, "retrieve");
    CU_ASSERT_FATAL(a->n_attrs == b->n_attrs && a->n_figures == b->n_figures && a->n_figures > 0);
    for (int i = 0; i < a->n_attrs; i++) {
        CU_ASSERT_STRING_EQUAL(a->attrs[i].name, b->attrs[i].name);
        CU_ASSERT(a->attrs[i].is_int == b->attrs[i].is_int);
        if (a->attrs[i].is_int) {
            CU_ASSERT(a->attrs[i].i == b->attrs[i].i);
        } else {
            CU_ASSERT_STRING_EQUAL(a->attrs[i].s, b->attrs[i].s);
        }
    }
    for (int i = 0; i < a->n_figures; i++) {
        CU_ASSERT_STRING_EQUAL(a->figures[i].name, b->figures[i].name);
        CU_ASSERT(a->figures[i].n == 3 && b->figures[i].n == 3 &&
                  !memcmp(a->figures[i].v, b->figures[i].v, 3 * sizeof(double)));
    }
    bench_record_free(&before);
    bench_record_free(&after);
    dmmp_error_clear();
}

/* In a forked child: plain HDF5 calls over every object's attributes and
 * the close, as any reader would make them. 1 when the child died of a
 * signal (HDF5 crashed on the file). */
static herr_t probe_attr(hid_t loc, const char *name, const H5A_info_t *info, void *op)
{
    (void)info;
    (void)op;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a >= 0) H5Aclose(a);
    return 0;
}

static herr_t probe_object(hid_t o, const char *name, const H5O_info_t *info, void *op)
{
    (void)info;
    (void)op;
    hid_t x = H5Oopen(o, name, H5P_DEFAULT);
    if (x < 0) return 0;
    hsize_t at = 0;
    H5Aiterate2(x, H5_INDEX_NAME, H5_ITER_NATIVE, &at, probe_attr, NULL);
    H5Oclose(x);
    return 0;
}

static int plain_hdf5_crashes(const char *path)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        if (f >= 0) {
            H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_NATIVE, probe_object, NULL, H5O_INFO_BASIC);
            H5Fclose(f);
        }
        _exit(0);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0) return 0;
    return WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) != 0); /* a sanitizer build exits 1 */
}

/* The datatype of the last string attribute omp_wait of an old benchmark
 * record (version 1 object header: the message's name, NUL-padded to 8
 * bytes, then its datatype) claims 16 kB more: HDF5 1.10.8 decodes the
 * attribute and crashes when it frees it, closing the file. */
static void test_old_file_crash_contained(void)
{
    if (!h5_fixture("old file crash contained")) return;
    char old_bench[700], copy[700], out[8192];
    snprintf(old_bench, sizeof old_bench, "%s/crash-bench.h5", h5_fixture_dir());
    snprintf(copy, sizeof copy, "%s/crash-bench-copy.h5", h5_fixture_dir());
    CU_ASSERT_FATAL(old_format_copy(h5_fixture_bench(), old_bench) == 0);
    long at = find_last(old_bench, "omp_wait", 9);
    CU_ASSERT_FATAL(at > 0);
    CU_ASSERT_FATAL(flip_byte(old_bench, at + 16 + 5, 0x40));
    int crashes = plain_hdf5_crashes(old_bench);
    if (!crashes) fprintf(stderr, "\n    (this HDF5 does not crash on the damaged record; checking the refusal only)\n");

    /* in this process: the walk runs in a child, this process goes on */
    h5_verify_report r;
    /* "HDF5 crashed ..." (a sanitizer build: "HDF5 ended abnormally ...") */
    static const char *const contained = "the file, written before checksums, is damaged";
    CU_ASSERT(h5_verify_file(old_bench, &r) == DMMP_EFORMAT);
    ASSERT_HAS(dmmp_errmsg(), old_bench);
    if (crashes) ASSERT_HAS(dmmp_errmsg(), contained);
    bench_record rec;
    CU_ASSERT(bench_record_read(old_bench, &rec) == DMMP_EFORMAT);
    if (crashes) ASSERT_HAS(dmmp_errmsg(), contained);
    dmmp_error_clear();

    const char *verify[] = {"data", "verify", old_bench, NULL};
    robust_expect_exit(verify, 2, 2, crashes ? contained : old_bench, out, sizeof out);
    ASSERT_HAS(out, old_bench);
    /* appending is refused before the benchmark runs, the record is left as it was */
    CU_ASSERT_FATAL(robust_copy(old_bench, copy, -1));
    const char *append[] = {"bench", "gemm", "--size", "16", "--repeat", "1", "--out", copy, NULL};
    robust_expect_exit(append, 2, 2, copy, out, sizeof out);
    CU_ASSERT(strstr(out, "GFLOP/s") == NULL);
    CU_ASSERT(robust_same_bytes(old_bench, copy));
    unlink(copy);
    unlink(old_bench);
}

/* ---- a damaged continuation chunk of an object header -------------------- */

/* HDF5 1.10.8 reports a damaged continuation chunk ("OCHK", checksummed)
 * only to the first call that loads the header; a reader whose first call
 * was an existence probe used to say "dataset model/params is missing" or
 * "/train is not a group". Each chunk of each kind is damaged in turn. */
static void test_continuation_chunk_damage(void)
{
    if (!h5_fixture("continuation chunk damage")) return;
    const char *dir = h5_fixture_dir();
    char trun[600], out[8192];
    snprintf(trun, sizeof trun, "%s/ochk-run", dir);
    static const char *const kinds[] = {"dataset", "checkpoint", "results", "bench"};
    int total = 0;
    for (int k = 0; k < 4; k++) {
        char src[700], dst[800];
        if (k == 0) snprintf(src, sizeof src, "%s", h5_fixture_data());
        else if (k == 1) snprintf(src, sizeof src, "%s/checkpoint.h5", h5_fixture_run());
        else if (k == 2) snprintf(src, sizeof src, "%s/results.h5", h5_fixture_run());
        else snprintf(src, sizeof src, "%s", h5_fixture_bench());
        long at[8];
        int n = find_all(src, "OCHK", 4, at, 8);
        if (k == 1 || k == 2) CU_ASSERT(n > 0); /* the root headers of these overflow their first chunk */
        for (int i = 0; i < n; i++) {
            char cmd[2000];
            snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", trun, h5_fixture_run(), trun);
            CU_ASSERT_FATAL(system(cmd) == 0);
            snprintf(dst, sizeof dst, "%s/%s.h5", trun, kinds[k]);
            CU_ASSERT_FATAL(robust_copy(src, dst, -1));
            CU_ASSERT_FATAL(flip_byte(dst, at[i] + 6, 0x10));
            const char *inspect[] = {"data", "inspect", dst, NULL};
            const char *eval[] = {"eval", "--run", trun, "--data", h5_fixture_data(), NULL};
            const char *report[] = {"report", trun, NULL};
            const char *append[] = {"bench", "gemm", "--size", "16", "--repeat", "1", "--out", dst, NULL};
            const char *const *args = k == 0 ? inspect : k == 1 ? eval : k == 2 ? report : append;
            robust_expect_exit(args, 2, 2, "checksum mismatch in", out, sizeof out);
            CU_ASSERT(strstr(out, "missing") == NULL && strstr(out, "not a group") == NULL);
            total++;
        }
    }
    CU_ASSERT(total >= 2);
    /* the library call names the object too */
    char dst[800];
    snprintf(dst, sizeof dst, "%s/checkpoint.h5", trun);
    char src[700];
    snprintf(src, sizeof src, "%s/checkpoint.h5", h5_fixture_run());
    long at[1];
    if (find_all(src, "OCHK", 4, at, 1) == 1 && robust_copy(src, dst, -1) && flip_byte(dst, at[0] + 6, 0x10)) {
        ckpt_reader *rd = NULL;
        CU_ASSERT(ckpt_reader_open(&rd, dst) == DMMP_EFORMAT);
        ASSERT_HAS(dmmp_errmsg(), "checksum mismatch in");
        ckpt_reader_close(rd);
        dmmp_error_clear();
    }
    fx_rm_rf(trun);
}

/* ---- long texts ------------------------------------------------------------ */

static char *long_text(size_t n)
{
    char *t = malloc(n + 1);
    for (size_t i = 0; t && i < n; i++) t[i] = i % 61 == 60 ? '\n' : (char)('a' + i * 7 % 26);
    if (t) t[n] = '\0';
    return t;
}

static void test_long_texts_checksummed(void)
{
    char dir[512], path[600], old[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/c.h5", dir);
    snprintf(old, sizeof old, "%s/old-c.h5", dir);
    char *text = long_text(150000);
    CU_ASSERT_FATAL(text != NULL);

    /* checkpoint: a long and a short text */
    ckpt_writer *w = NULL;
    CU_ASSERT_FATAL(ckpt_writer_open(&w, path) == DMMP_OK);
    CU_ASSERT(ckpt_put_string(w, "config", text) == DMMP_OK);
    CU_ASSERT(ckpt_put_string(w, "short", "[model]\n") == DMMP_OK);
    CU_ASSERT_FATAL(ckpt_writer_commit(w) == DMMP_OK);
    h5_verify_report r;
    CU_ASSERT(h5_verify_file(path, &r) == DMMP_OK && h5_verify_fully_checked(&r) && r.unchecked_datasets == 0);
    ckpt_reader *rd = NULL;
    char *got = NULL;
    CU_ASSERT_FATAL(ckpt_reader_open(&rd, path) == DMMP_OK);
    CU_ASSERT(ckpt_get_string(rd, "config", &got) == DMMP_OK && got && !strcmp(got, text));
    free(got);
    CU_ASSERT(ckpt_get_string(rd, "short", &got) == DMMP_OK && got && !strcmp(got, "[model]\n"));
    free(got);
    ckpt_reader_close(rd);
    /* as the older writers stored it (a contiguous string): still read */
    CU_ASSERT_FATAL(old_format_copy(path, old) == 0);
    CU_ASSERT_FATAL(ckpt_reader_open(&rd, old) == DMMP_OK);
    CU_ASSERT(ckpt_get_string(rd, "config", &got) == DMMP_OK && got && !strcmp(got, text));
    free(got);
    ckpt_reader_close(rd);
    /* a flipped bit in its stored chunk */
    CU_ASSERT_FATAL(flip_in_chunk(path, "config"));
    CU_ASSERT_FATAL(ckpt_reader_open(&rd, path) == DMMP_OK);
    got = NULL;
    CU_ASSERT(ckpt_get_string(rd, "config", &got) == DMMP_EFORMAT && got == NULL);
    ASSERT_HAS(dmmp_errmsg(), "checksum mismatch in config: the file is damaged");
    ckpt_reader_close(rd);

    /* results.h5: a long configuration */
    snprintf(path, sizeof path, "%s/results.h5", dir);
    run_results rr, back;
    static const char *const names[] = {"auc_ctr"};
    static const double values[] = {0.75};
    CU_ASSERT_FATAL(fx_make_run(&rr, "dmmp", 1, 1, names, values) == 0);
    CU_ASSERT_FATAL(results_set_meta(&rr, "config_ini", text) == DMMP_OK);
    CU_ASSERT_FATAL(results_save(&rr, path) == DMMP_OK);
    CU_ASSERT(h5_verify_file(path, &r) == DMMP_OK && h5_verify_fully_checked(&r));
    CU_ASSERT_FATAL(results_load(&back, path) == DMMP_OK);
    CU_ASSERT(back.config_ini && !strcmp(back.config_ini, text));
    results_free(&back);
    CU_ASSERT_FATAL(flip_in_chunk(path, "/config"));
    CU_ASSERT(results_load(&back, path) == DMMP_EFORMAT);
    ASSERT_HAS(dmmp_errmsg(), "checksum mismatch in /config: the file is damaged");
    results_free(&rr);
    free(text);
    dmmp_error_clear();
    fx_rm_rf(dir);
}

/* ---- benchmark records ------------------------------------------------------ */

static void test_damaged_record_not_appended(void)
{
    if (!h5_fixture("damaged record not appended")) return;
    char copy[700], kept[700], out[8192];
    snprintf(copy, sizeof copy, "%s/damaged-bench.h5", h5_fixture_dir());
    snprintf(kept, sizeof kept, "%s/damaged-bench-kept.h5", h5_fixture_dir());
    CU_ASSERT_FATAL(robust_copy(h5_fixture_bench(), copy, -1));
    /* the unit of a figure of /retrieve, inside its checksummed header */
    long at = find_last(copy, "queries/s", 9);
    CU_ASSERT_FATAL(at > 0 && flip_byte(copy, at + 2, 0x01));
    CU_ASSERT_FATAL(robust_copy(copy, kept, -1));
    const char *append[] = {"bench", "gemm", "--size", "16", "--repeat", "1", "--out", copy, NULL};
    robust_expect_exit(append, 2, 2, "checksum mismatch in", out, sizeof out);
    ASSERT_HAS(out, copy);
    CU_ASSERT(strstr(out, "GFLOP/s") == NULL); /* refused before the benchmark ran */
    CU_ASSERT(robust_same_bytes(copy, kept));
    unlink(copy);
    unlink(kept);
}

int register_h5_damage_suites(void)
{
    static const char *const names[] = {
        "files written before checksums read as before; an old benchmark record appended to gets checksums",
        "HDF5 crashing on a damaged old file ends a child process: exit 2 naming the file, record untouched",
        "a damaged header continuation chunk is refused as damage, not taken for a missing object",
        "texts over 60000 bytes are stored checksummed, read back verified, and a flipped bit is refused",
        "appending to a damaged benchmark record is refused before the benchmark runs, the record kept",
    };
    static const CU_TestFunc fns[] = {test_old_files_read_as_before, test_old_file_crash_contained,
                                      test_continuation_chunk_damage, test_long_texts_checksummed,
                                      test_damaged_record_not_appended};
    return tu_add_suite("data_h5_damage", names, fns, sizeof fns / sizeof fns[0]);
}
