/* The robust_* suites (corrupt and hostile inputs, CLI exit statuses,
 * determinism, fuzz regressions) and the helpers they share. */
#ifndef DMMP_TESTS_TEST_ROBUST_H
#define DMMP_TESTS_TEST_ROBUST_H

#include <stddef.h>
#include <stdint.h>

int register_robust_data_suites(void);
int register_robust_cli_suites(void);
int register_robust_regression_suites(void);
int register_robust_determinism_suites(void);

/* Writes a small synthetic dataset (users, items, impressions, seed; 512-row
 * chunks so reads cross chunk boundaries) to path; 1 on success. */
int robust_synth(const char *path, int64_t users, int64_t items, int64_t impressions, uint64_t seed);

/* Writes text to path; 1 on success. */
int robust_put(const char *path, const char *text);

/* Copies src to dst, the first `bytes` bytes only when bytes >= 0; 1 on success. */
int robust_copy(const char *src, const char *dst, long bytes);

/* Size of a file in bytes, -1 when absent. */
long robust_file_size(const char *path);

/* 1 when the two files hold the same bytes. */
int robust_same_bytes(const char *a, const char *b);

/* Path of the built dmmp command (DMMP_BUILDDIR/dmmp, else beside the test
 * binary's directory), or NULL when it is not there. */
const char *robust_dmmp(void);

/* Runs dmmp with args (NULL-terminated) and stdin from /dev/null; stdout and
 * stderr go to `output` (len bytes, truncated). Returns the exit status, or
 * 128 + the signal when dmmp was killed by one (a crash), -1 when it could
 * not be started. */
int robust_run_dmmp(const char *const *args, char *output, size_t len);

/* Opens file and edits it with HDF5 (each returns 1 on success): */
int robust_h5_delete(const char *file, const char *path);
/* Replaces a dataset with a float32 one of the same shape (zeros). */
int robust_h5_retype_f32(const char *file, const char *path);
/* Replaces a rank-1 dataset with one of its type holding one element less. */
int robust_h5_shrink(const char *file, const char *path);
/* Writes one element (row, col) of an int32 or float dataset; col 0 for rank 1. */
int robust_h5_set_i32(const char *file, const char *path, int64_t row, int64_t col, int32_t value);
int robust_h5_set_f32(const char *file, const char *path, int64_t row, int64_t col, float value);
/* Writes every element of a rank-1 uint8 dataset. */
int robust_h5_fill_u8(const char *file, const char *path, uint8_t value);
/* Writes an int64 attribute of n values on the object at path ("/" for the root). */
int robust_h5_set_attr_i64(const char *file, const char *path, const char *name, const int64_t *v, int n);

#endif
