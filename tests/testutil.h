/* Shared helpers for the CUnit suites. */
#ifndef DMMP_TESTS_TESTUTIL_H
#define DMMP_TESTS_TESTUTIL_H

#include <CUnit/CUnit.h>
#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"
#include "simd/isa.h"

/* Suite registration: each tests/test_*.c defines one or more of these. */
typedef int (*tu_register_fn)(void);

/* Adds a suite with its tests; returns 0 on success. Suite names start with
 * their group ("kernel_", "layer_", "optim_", "data_", ...) so the runner's
 * --only option can pick groups. */
int tu_add_suite(const char *name, const char *const *test_names, const CU_TestFunc *tests, size_t n);

/* Largest |a[i] - b[i]| / max(1, |b[i]|) over n elements. */
double tu_max_rel_diff(const float *a, const float *b, size_t n);

/* Fills x with uniform values in [lo, hi) from a fixed stream. */
void tu_fill(rng *r, float *x, size_t n, float lo, float hi);

/* Allocates n floats at a deliberately unaligned address (offset by one
 * float from a 64-byte boundary); free with tu_free_unaligned. */
float *tu_alloc_unaligned(size_t n);
void tu_free_unaligned(float *p);

/* n floats from mem_alloc_f32 (free with mem_free), failing the test on error. */
float *tu_falloc(size_t n);

/* Kernel tests' buffers: n floats at an unaligned address followed by
 * TU_GUARD sentinel floats (free with tu_free_unaligned), and whether the
 * sentinels after the first n floats are still intact. */
#define TU_GUARD 16
float *tu_alloc_guarded(size_t n);
int tu_guard_intact(const float *p, size_t n);

/* Number of ISA levels the CPU has, and the i-th of them (0 = scalar). */
int tu_isa_count(void);
isa_level tu_isa_at(int i);

/* Directory holding the source tree (DMMP_SRCDIR, else the configured one), and ../shared
 * beside it, or NULL when absent (tests then skip with a message). */
const char *tu_srcdir(void);
const char *tu_shared_dir(void);

/* Prints "SKIP <test>: reason" so skipped checks are visible. */
void tu_skip(const char *test, const char *reason);

/* Creates a fresh temporary directory and returns its path (static buffer per call site is not needed: caller owns copy). */
void tu_tmpdir(char *buf, size_t len);

/* CU_ASSERT with a printed reason when it fails. */
#define TU_ASSERT_NEAR(actual, expected, tol)                                                   \
    do {                                                                                        \
        double tu_a_ = (double)(actual), tu_e_ = (double)(expected);                            \
        double tu_d_ = tu_a_ - tu_e_;                                                           \
        if (tu_d_ < 0) tu_d_ = -tu_d_;                                                          \
        if (!(tu_d_ <= (tol))) printf("\n    %s:%d: %s = %.9g, expected %.9g (tol %g)\n",      \
                                      __FILE__, __LINE__, #actual, tu_a_, tu_e_, (double)(tol)); \
        CU_ASSERT(tu_d_ <= (tol));                                                              \
    } while (0)

#define TU_ASSERT_MSG(cond, ...)                                              \
    do {                                                                      \
        int tu_c_ = (cond);                                                   \
        if (!tu_c_) {                                                         \
            printf("\n    %s:%d: %s failed: ", __FILE__, __LINE__, #cond);   \
            printf(__VA_ARGS__);                                              \
            printf("\n");                                                     \
        }                                                                     \
        CU_ASSERT(tu_c_);                                                     \
    } while (0)

#endif
