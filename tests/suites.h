/* Every suite registration function; tests/test_main.c calls them in order. */
#ifndef DMMP_TESTS_SUITES_H
#define DMMP_TESTS_SUITES_H

int register_core_suites(void);
int register_dataset_suites(void);
int register_synth_suites(void);
int register_import_suites(void);

#endif
