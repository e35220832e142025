/* Suites data_vocab, data_parse (tests/test_import_parse.c) and data_import
 * (tests/test_import_raw.c, tests/test_import_csv.c). */
#include "suites.h"
#include "test_import.h"
#include "testutil.h"

int register_import_suites(void)
{
    static const char *const names[] = {"ali-ccp raw: generated files against a plain reference parser",
                                        "ali-ccp raw: malformed files fail with file:line:column or are skipped",
                                        "ali-ccp csv: indices worked by hand, malformed files",
                                        "aliexpress: user and item tuples worked by hand",
                                        "ali-ccp csv: the real sample in ../shared",
                                        "ali-ccp csv: --test-fraction splits by the seeded rule",
                                        "data import and inspect: no unknown id counted, empty splits warned"};
    static const CU_TestFunc tests[] = {test_import_raw_roundtrip, test_import_raw_malformed, test_import_csv_by_hand,
                                        test_import_aliexpress, test_import_aliccp_sample,
                                        test_import_csv_test_fraction, test_import_cli_counts};
    if (register_import_parse_suites()) return 1;
    if (register_import_schema_suites()) return 1;
    return tu_add_suite("data_import", names, tests, sizeof tests / sizeof tests[0]);
}
