/* Suites data_vocab, data_parse (tests/test_import_parse.c) and data_import
 * (tests/test_import_raw.c, tests/test_import_csv.c). */
#include "suites.h"
#include "test_import.h"
#include "testutil.h"

int register_import_suites(void)
{
    static const char *const names[] = {"ali-ccp raw: generated files against a plain reference parser",
                                        "ali-ccp raw: malformed files fail with file:line:column or are skipped"};
    static const CU_TestFunc tests[] = {test_import_raw_roundtrip, test_import_raw_malformed};
    if (register_import_parse_suites()) return 1;
    return tu_add_suite("data_import", names, tests, sizeof tests / sizeof tests[0]);
}
