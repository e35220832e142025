/* The import test files register their suites through register_import_suites. */
#ifndef DMMP_TESTS_TEST_IMPORT_H
#define DMMP_TESTS_TEST_IMPORT_H

int register_import_parse_suites(void);
int register_import_schema_suites(void);

void test_import_raw_roundtrip(void);
void test_import_raw_malformed(void);
void test_import_csv_by_hand(void);
void test_import_aliexpress(void);
void test_import_aliccp_sample(void);
void test_import_csv_test_fraction(void);
void test_import_cli_counts(void);
void test_line_stream_blocks(void);

#endif
