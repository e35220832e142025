/* Helpers shared by the results and report suites: scratch directories and
 * small run files with known numbers. */
#ifndef DMMP_TESTS_RESULTS_FIXTURE_H
#define DMMP_TESTS_RESULTS_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "train/results.h"

/* Removes a directory tree (best effort; test scratch only). */
void fx_rm_rf(const char *path);

/* 1 when path exists. */
int fx_exists(const char *path);

/* Number of entries in dir other than . and .. (-1 when unreadable). */
int fx_count_entries(const char *dir);

/* Fills r (results_init'ed here) as a run of `variant` and `seed` with
 * n_metrics test metrics names[i] = values[i] and a two-epoch training
 * history; returns 0 on success. */
int fx_make_run(run_results *r, const char *variant, int64_t seed, size_t n_metrics, const char *const *names,
                const double *values);

/* Saves such a run as <dir>/<variant>_s<seed>/results.h5, creating the
 * run directory; returns 0 on success. */
int fx_write_run(const char *dir, const char *variant, int64_t seed, size_t n_metrics, const char *const *names,
                 const double *values);

#endif
