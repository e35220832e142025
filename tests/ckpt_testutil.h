/* File-system helpers shared by the atomic-file and checkpoint suites, and
 * the registration of their extra suites (register_checkpoint_suites in
 * test_checkpoint.c calls them, so tests/suites.h lists one function). */
#ifndef DMMP_TESTS_CKPT_TESTUTIL_H
#define DMMP_TESTS_CKPT_TESTUTIL_H

#include <stddef.h>
#include <string.h>

#include "testutil.h"

#define ASSERT_HAS(text, part) TU_ASSERT_MSG(strstr((text), (part)) != NULL, "'%s' lacks '%s'", (text), (part))

/* Removes a flat test directory and everything in it. */
void remove_dir(const char *dir);

/* Number of entries of dir whose name starts with prefix (-1: no dir). */
int count_prefixed(const char *dir, const char *prefix);

/* The whole content of path in a malloc'ed buffer (NULL if unreadable). */
unsigned char *slurp(const char *path, size_t *len);

/* 1 if both files exist and hold the same bytes. */
int same_bytes(const char *a, const char *b);

/* Creates path holding the n bytes (a CUnit failure if it cannot). */
void write_raw(const char *path, const void *bytes, size_t n);

void sleep_ms(long ms);

/* Runs child(arg, msg, len) in a forked process; what it leaves in msg comes
 * back through a pipe into msg. Returns the wait status. */
int run_forked(int (*child)(const char *arg, char *msg, size_t len), const char *arg, char *msg, size_t len);

/* Suites "data_atomic" (test_atomic_file.c) and "train_checkpoint_faults"
 * (test_checkpoint_faults.c). */
int register_atomic_file_suite(void);
int register_checkpoint_fault_suite(void);

#endif
