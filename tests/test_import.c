/* Suites data_vocab, data_parse (tests/test_import_parse.c) and data_import. */
#include "suites.h"
#include "test_import.h"
#include "testutil.h"

int register_import_suites(void)
{
    return register_import_parse_suites();
}
