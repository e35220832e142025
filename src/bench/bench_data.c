#include "bench/bench_data.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/batcher.h"
#include "data/dataset.h"
#include "data/gen_aliccp_raw.h"
#include "data/import.h"
#include "data/synth.h"

#define MAX_RUNS 100

static const char *const raw_files[] = {"sample_skeleton_train.csv", "common_features_train.csv",
                                        "sample_skeleton_test.csv", "common_features_test.csv"};

typedef struct data_dir {
    char dir[256];
    char path[6][320]; /* the four raw files, the imported file, the synthetic file */
} data_dir;

static dmmp_status dir_create(data_dir *d)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(d->dir, sizeof d->dir, "%s/dmmp-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(d->dir)) return dmmp_fail(DMMP_EIO, "bench data: cannot create a temporary directory under %s", tmp);
    for (int i = 0; i < 4; i++) snprintf(d->path[i], sizeof d->path[i], "%s/%s", d->dir, raw_files[i]);
    snprintf(d->path[4], sizeof d->path[4], "%s/imported.h5", d->dir);
    snprintf(d->path[5], sizeof d->path[5], "%s/synthetic.h5", d->dir);
    return DMMP_OK;
}

/* Removes every file in the directory (the importer and the writer may
 * leave temporaries beside the ones named here), then the directory. */
static void dir_remove(data_dir *d)
{
    if (!d->dir[0] || strstr(d->dir, "XXXXXX")) return;
    DIR *dir = opendir(d->dir);
    if (dir) {
        struct dirent *e;
        char path[600];
        while ((e = readdir(dir)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(path, sizeof path, "%s/%s", d->dir, e->d_name);
            unlink(path);
        }
        closedir(dir);
    }
    rmdir(d->dir);
}

static dmmp_status import_once(const data_dir *d, double *seconds, int64_t *bytes, int64_t *rows)
{
    aliccp_raw_paths paths = {d->path[0], d->path[1], d->path[2], d->path[3]};
    import_options opt;
    import_report rep;
    import_options_default(&opt);
    opt.out = d->path[4];
    opt.progress = 0;
    unlink(d->path[4]);
    double t0 = bench_now();
    DMMP_TRY(import_aliccp_raw(&paths, &opt, &rep));
    *seconds = bench_now() - t0;
    *bytes = rep.bytes;
    *rows = rep.rows[0] + rep.rows[1] + rep.rows[2];
    return DMMP_OK;
}

static dmmp_status batcher_epoch(const dataset *ds, int batch_size, uint64_t seed, double *seconds, int64_t *samples)
{
    batcher *b;
    DMMP_TRY(batcher_open(&b, ds, SPLIT_TRAIN, batch_size, 1, seed));
    const batch *out;
    int64_t n = 0;
    dmmp_status st;
    double t0 = bench_now();
    while ((st = batcher_next(b, &out)) == DMMP_OK && out) n += out->n;
    *seconds = bench_now() - t0;
    batcher_close(b);
    *samples = n;
    return st;
}

static dmmp_status data_runs(const bench_data_options *o, data_dir *d, bench_report *r)
{
    double ti[MAX_RUNS], tb[MAX_RUNS];
    int64_t bytes = 0, rows = 0, samples = 0;
    DMMP_TRY(dir_create(d));
    aliccp_gen_options gen = {d->dir, o->rows, o->rows / 10 > 0 ? o->rows / 10 : 1, 0, 0, o->seed};
    DMMP_TRY(gen_aliccp_raw(&gen));
    for (int run = -1; run < o->repeat; run++) {
        double s;
        DMMP_TRY(import_once(d, &s, &bytes, &rows));
        if (run >= 0) ti[run] = s;
    }
    synth_config sc;
    synth_config_default(&sc);
    sc.n_impressions = o->rows;
    sc.seed = o->seed;
    DMMP_TRY(synth_generate(&sc, d->path[5], NULL));
    dataset *ds;
    DMMP_TRY(dataset_open(&ds, d->path[5]));
    dmmp_status st = DMMP_OK;
    for (int run = -1; run < o->repeat && st == DMMP_OK; run++) {
        double s = 0;
        st = batcher_epoch(ds, o->batch, o->seed + (uint64_t)(run + 1), &s, &samples);
        if (run >= 0) tb[run] = s;
    }
    dataset_close(ds);
    DMMP_TRY(st);
    char note[160];
    snprintf(note, sizeof note, "%lld rows (%.1f MB of text) imported; batcher over %lld training samples, batch %d",
             (long long)rows, (double)bytes / 1e6, (long long)samples, o->batch);
    DMMP_TRY(bench_add_note(r, "shape", note));
    double copy[MAX_RUNS];
    memcpy(copy, ti, (size_t)o->repeat * sizeof *copy);
    DMMP_TRY(bench_add_rate(r, "import_mb_per_s", "MB/s", (double)bytes / 1e6, ti, o->repeat));
    DMMP_TRY(bench_add_rate(r, "import_rows_per_s", "rows/s", (double)rows, copy, o->repeat));
    return bench_add_rate(r, "batcher_samples_per_s", "samples/s", (double)samples, tb, o->repeat);
}

dmmp_status bench_data(const bench_data_options *o, bench_report *r)
{
    if (o->rows < 100 || o->repeat < 1 || o->repeat > MAX_RUNS || o->batch < 1)
        return dmmp_fail(DMMP_EINVAL, "bench data: rows %lld must be >= 100, repeat %d in [1, %d], batch %d >= 1",
                         (long long)o->rows, o->repeat, MAX_RUNS, o->batch);
    data_dir d;
    memset(&d, 0, sizeof d);
    dmmp_status st = data_runs(o, &d, r);
    dir_remove(&d);
    return st;
}
