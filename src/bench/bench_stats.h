/* Figures of a benchmark: repeated timings summarised as median, min and max,
 * collected in a report that the command prints and writes to HDF5
 * (bench/bench_record.h).
 *
 * A report holds the figures of one benchmark (one group in the output file,
 * e.g. /train) and the facts that make them comparable later: machine, date,
 * commit, ISA and threads, written as attributes of the group. Each figure
 * becomes a dataset of three doubles (median, min, max) with its unit as an
 * attribute, so h5dump alone explains the file. */
#ifndef DMMP_BENCH_BENCH_STATS_H
#define DMMP_BENCH_BENCH_STATS_H

#include "core/status.h"

#define BENCH_MAX_FIGURES 32
#define BENCH_NAME_LEN 64

typedef struct bench_figure {
    char name[BENCH_NAME_LEN]; /* e.g. "samples_per_s" */
    char unit[BENCH_NAME_LEN]; /* e.g. "samples/s" */
    double median, min, max;
} bench_figure;

typedef struct bench_report {
    char group[BENCH_NAME_LEN]; /* benchmark name: the HDF5 group */
    int n_figures;
    bench_figure figures[BENCH_MAX_FIGURES];
    int n_notes;
    char notes[12][2][160]; /* extra string attributes (key, value): shapes, config */
} bench_report;

/* Median of x[0..n) (n >= 1); sorts x in place. */
double bench_median(double *x, int n);

/* Adds a figure computed as work / seconds[i] for each run (a rate): its
 * median is work / median(seconds), its min uses the slowest run. Sorts
 * seconds. */
dmmp_status bench_add_rate(bench_report *r, const char *name, const char *unit, double work, double *seconds, int n);

/* Adds the ratio of two rates measured in the same rounds: for each run i,
 * (work_a / ta[i]) / (work_b / tb[i]); median, min and max over the runs.
 * Call before bench_add_rate sorts ta or tb. */
dmmp_status bench_add_ratio(bench_report *r, const char *name, double work_a, const double *ta, double work_b,
                            const double *tb, int n);

/* Adds a figure given directly (for derived values such as ratios). */
dmmp_status bench_add_figure(bench_report *r, const char *name, const char *unit, double median, double min,
                             double max);

/* Adds a string attribute for the group (key and value truncated to 159 chars). */
dmmp_status bench_add_note(bench_report *r, const char *key, const char *value);

/* The figure called name, or NULL. */
const bench_figure *bench_find(const bench_report *r, const char *name);

/* Prints the report as aligned text lines. */
void bench_print(const bench_report *r);

/* The machine facts written with every report: CPU brand, host, date (UTC,
 * ISO 8601), the active ISA and OpenMP threads; commit is the caller's
 * (NULL: the DMMP_COMMIT environment variable, else "unknown"), and the
 * OpenMP wait policy in effect (omp_wait_describe). */
typedef struct bench_meta {
    char machine[256];
    char host[128];
    char date[32];
    char commit[64];
    char isa[16];
    int threads;
    char omp_wait[160]; /* the OpenMP wait policy in effect and who chose it (core/omp_wait.h): on a
                          shared machine "passive" measured 3-5x faster training steps than spinning */
} bench_meta;

/* Fills m from the running system. */
void bench_meta_collect(bench_meta *m, const char *commit);

/* bench_write_h5 (bench/bench_record.h) writes r with m to a record file. */

#endif
