/* The robust_* suites (corrupt and hostile inputs, CLI exit statuses,
 * determinism, fuzz regressions) and the helpers they share. */
#ifndef DMMP_TESTS_TEST_ROBUST_H
#define DMMP_TESTS_TEST_ROBUST_H

#include <stddef.h>
#include <stdint.h>

int register_robust_data_suites(void);
int register_robust_cli_suites(void);
int register_robust_omp_wait_suites(void);
int register_robust_regression_suites(void);
int register_robust_determinism_suites(void);
/* robust_atomic (test_robust_atomic.c) and robust_train_determinism
 * (test_robust_train_det.c); register_robust_e2e_suites registers them. */
int register_robust_atomic_suites(void);
int register_robust_train_determinism_suites(void);

/* Writes a small synthetic dataset (users, items, impressions, seed; 512-row
 * chunks so reads cross chunk boundaries) to path; 1 on success. */
int robust_synth(const char *path, int64_t users, int64_t items, int64_t impressions, uint64_t seed);

/* Copies the dataset valid to bad with every sample moved into split `to`
 * (the split statistics follow); 1 on success. */
int robust_move_all_rows(const char *valid, const char *bad, int to);

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

/* robust_run_dmmp with the environment env (NULL-ended) instead of the tests' own. */
int robust_run_dmmp_env(const char *const *args, char *const *env, char *output, size_t len);

/* Writes a tiny training configuration (embedding 8, towers 16,8, batch
 * 512, one thread) of `epochs` epochs to path; 1 on success. */
int robust_tiny_ini(const char *path, int epochs);

/* A fresh temporary dir holding data.h5 (300 users, 120 items, 20000
 * impressions) and tiny.ini (1 epoch); data and ini get their paths
 * (path_len bytes each). 1 on success. */
int robust_e2e_fixture(char *dir, size_t len, char *data, char *ini, size_t path_len);

/* Runs dmmp with args and asserts (CUnit) that it exits, not by a signal,
 * with a status in [code_lo, code_hi], its output (in out) containing says
 * (NULL: anything). 1 when all of that holds. */
int robust_expect_exit(const char *const *args, int code_lo, int code_hi, const char *says, char *out, size_t len);

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
