/* One dataset, run (checkpoint.h5, last.h5, results.h5) and benchmark record
 * (groups /gemm and /retrieve), written once by the dmmp command and shared
 * by the data_h5_verify and data_h5_damage suites. */
#ifndef DMMP_TESTS_H5_FIXTURE_H
#define DMMP_TESTS_H5_FIXTURE_H

/* 1 when the files are there (written at the first call); 0 when dmmp is
 * not built (test skipped, named test) or writing them failed (asserted). */
int h5_fixture(const char *test);

const char *h5_fixture_dir(void);   /* the scratch directory holding them (and tiny.ini) */
const char *h5_fixture_data(void);  /* the dataset */
const char *h5_fixture_run(void);   /* the run directory */
const char *h5_fixture_bench(void); /* the benchmark record */
const char *h5_fixture_ini(void);   /* the configuration the run was trained with */

#endif
