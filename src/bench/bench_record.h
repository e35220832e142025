/* Benchmark records: the HDF5 file `dmmp bench ... --out F.h5` writes and
 * appends to, one group per benchmark (bench_stats.h says what a group
 * holds: the machine facts as attributes, each figure a float64 dataset of
 * median, min and max with its unit).
 *
 * Appending reads the whole existing record first, through the checked open
 * of every reader (data/h5_open.h), so a damaged record is refused (exit 2)
 * and never passed on; the record is then written anew in the current
 * format (checksummed metadata, every dataset compact in its checksummed
 * header), its old groups carried over value for value, and replaces the old
 * file atomically. A record written before checksums is thereby rewritten
 * with them the first time it is appended to. */
#ifndef DMMP_BENCH_BENCH_RECORD_H
#define DMMP_BENCH_BENCH_RECORD_H

#include <stdint.h>

#include "bench/bench_stats.h"
#include "core/status.h"

/* A scalar attribute: a string or an integer. */
typedef struct bench_record_attr {
    char *name;
    int is_int;
    int64_t i;
    char *s; /* when !is_int */
} bench_record_attr;

/* A figure: a float64 dataset of n values (median, min, max) and its
 * attributes (unit, values). */
typedef struct bench_record_figure {
    char *name;
    double *v;
    int n;
    bench_record_attr *attrs;
    int n_attrs;
} bench_record_figure;

typedef struct bench_record_group {
    char *name;
    bench_record_attr *attrs;
    int n_attrs;
    bench_record_figure *figures;
    int n_figures;
} bench_record_group;

/* Groups, figures and attributes in name order. */
typedef struct bench_record {
    bench_record_group *groups;
    int n_groups;
    int checksummed; /* the file had checksummed metadata */
} bench_record;

/* Reads every group, figure and attribute of the record at path. Fails with
 * DMMP_EFORMAT naming the file and object for a damaged file, a file of
 * another kind, or an object no benchmark record holds ("F.h5: /train/x is
 * not a float64 figure"); DMMP_EINVAL when nothing is at path. */
dmmp_status bench_record_read(const char *path, bench_record *rec);

void bench_record_free(bench_record *rec);

/* Writes r as group /<r->group> of the record at path: created when
 * missing; otherwise the existing record is read in full (a damaged one is
 * refused and left as it is) and written anew, its group of that name
 * replaced, every other group carried over. */
dmmp_status bench_write_h5(const char *path, const bench_report *r, const bench_meta *m);

#endif
