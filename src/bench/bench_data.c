#include "bench/bench_data.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "data/batcher.h"
#include "data/dataset.h"
#include "data/gen_aliccp_raw.h"
#include "data/import.h"
#include "data/synth.h"
#include "core/rng.h"

#define MAX_RUNS 100

static const char *const raw_files[] = {"sample_skeleton_train.csv", "common_features_train.csv",
                                        "sample_skeleton_test.csv", "common_features_test.csv"};

typedef struct data_dir {
    char dir[256];
    char path[9][320]; /* the four raw files, the imported file, the synthetic file, the csv log, its schema, its import */
} data_dir;

static dmmp_status dir_create(data_dir *d)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(d->dir, sizeof d->dir, "%s/dmmp-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(d->dir)) return dmmp_fail(DMMP_EIO, "bench data: cannot create a temporary directory under %s", tmp);
    for (int i = 0; i < 4; i++) snprintf(d->path[i], sizeof d->path[i], "%s/%s", d->dir, raw_files[i]);
    snprintf(d->path[4], sizeof d->path[4], "%s/imported.h5", d->dir);
    snprintf(d->path[5], sizeof d->path[5], "%s/synthetic.h5", d->dir);
    snprintf(d->path[6], sizeof d->path[6], "%s/ratings.csv", d->dir);
    snprintf(d->path[7], sizeof d->path[7], "%s/ratings.ini", d->dir);
    snprintf(d->path[8], sizeof d->path[8], "%s/ratings.h5", d->dir);
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
    double t0 = clock_wall_seconds();
    DMMP_TRY(import_aliccp_raw(&paths, &opt, &rep));
    *seconds = clock_wall_seconds() - t0;
    *bytes = rep.bytes;
    *rows = rep.rows[0] + rep.rows[1] + rep.rows[2];
    return DMMP_OK;
}

static const char csv_schema_text[] =
    "[csv]\ndelimiter = ,\nheader = yes\nquote = \"\n"
    "[labels]\nclick = rating >= 4\nconversion = rating >= 5\n"
    "[keys]\nuser = user_id\nitem = movie_id\ntime = timestamp\n"
    "[field user_id]\nside = user\n[field gender]\nside = user\n[field age]\nside = user\n"
    "[field movie_id]\nside = item\n[field genres]\nside = item\nkind = multi\nseparator = |\n";

/* A MovieLens-style log of about mb MB: Zipf-free uniform ids (the
 * vocabularies stay small, as in real rating logs), every third title
 * quoted with a comma inside. */
static dmmp_status write_csv_log(const data_dir *d, int64_t mb, uint64_t seed, int64_t *rows)
{
    static const char *const genres[] = {"Action", "Adventure", "Animation", "Children", "Comedy", "Crime",
                                         "Drama",  "Fantasy",   "Horror",    "Romance",  "Thriller", "Western"};
    FILE *f = fopen(d->path[7], "wb");
    if (!f) return dmmp_fail(DMMP_EIO, "bench data: cannot write %s", d->path[7]);
    fputs(csv_schema_text, f);
    if (fclose(f) != 0) return dmmp_fail(DMMP_EIO, "bench data: cannot write %s", d->path[7]);
    f = fopen(d->path[6], "wb");
    if (!f) return dmmp_fail(DMMP_EIO, "bench data: cannot write %s", d->path[6]);
    fputs("user_id,movie_id,rating,timestamp,title,genres,gender,age\n", f);
    uint64_t st = seed ^ 0x5bd1e995ULL, bytes = 0, ts = 978300000;
    int64_t n = 0;
    char line[256];
    while (bytes < (uint64_t)mb * 1000000u) {
        uint64_t h = rng_splitmix64(&st), g = rng_splitmix64(&st);
        int user = (int)(h % 200000) + 1, movie = (int)((h >> 18) % 30000) + 1, rating = (int)((h >> 34) % 5) + 1;
        ts += (h >> 40) % 30;
        int len = snprintf(line, sizeof line, "%d,%d,%d,%llu,", user, movie, rating, (unsigned long long)ts);
        if (movie % 3 == 0) len += snprintf(line + len, sizeof line - (size_t)len, "\"Movie %d, The (%d)\",", movie, 1950 + movie % 70);
        else len += snprintf(line + len, sizeof line - (size_t)len, "Movie %d (%d),", movie, 1950 + movie % 70);
        int k = 1 + (int)(g % 3);
        for (int j = 0; j < k; j++)
            len += snprintf(line + len, sizeof line - (size_t)len, "%s%s", j ? "|" : "", genres[(movie * 7 + j * 5) % 12]);
        len += snprintf(line + len, sizeof line - (size_t)len, ",%c,%d\n", user % 2 ? 'F' : 'M', 18 + 7 * (user % 6));
        if (fwrite(line, 1, (size_t)len, f) != (size_t)len) {
            fclose(f);
            return dmmp_fail(DMMP_EIO, "bench data: writing %s failed (disk full?)", d->path[6]);
        }
        bytes += (uint64_t)len;
        n++;
    }
    if (fclose(f) != 0) return dmmp_fail(DMMP_EIO, "bench data: writing %s failed (disk full?)", d->path[6]);
    *rows = n;
    return DMMP_OK;
}

static dmmp_status csv_import_once(const data_dir *d, double *seconds, int64_t *bytes)
{
    csv_import_args a = {d->path[7], d->path[6], NULL, NULL, IMPORT_SPLIT_RANDOM, NULL, NULL, NULL};
    import_options opt;
    import_report rep;
    import_options_default(&opt);
    opt.out = d->path[8];
    opt.progress = 0;
    opt.test_fraction = 0.1;
    unlink(d->path[8]);
    double t0 = clock_wall_seconds();
    DMMP_TRY(import_csv(&a, &opt, &rep));
    *seconds = clock_wall_seconds() - t0;
    *bytes = rep.bytes;
    return DMMP_OK;
}

static dmmp_status batcher_epoch(const dataset *ds, int batch_size, uint64_t seed, double *seconds, int64_t *samples)
{
    batcher *b;
    DMMP_TRY(batcher_open(&b, ds, SPLIT_TRAIN, batch_size, 1, seed));
    const batch *out;
    int64_t n = 0;
    dmmp_status st;
    double t0 = clock_wall_seconds();
    while ((st = batcher_next(b, &out)) == DMMP_OK && out) n += out->n;
    *seconds = clock_wall_seconds() - t0;
    batcher_close(b);
    *samples = n;
    return st;
}

static dmmp_status data_runs(const bench_data_options *o, data_dir *d, bench_report *r)
{
    double ti[MAX_RUNS], tb[MAX_RUNS], tc[MAX_RUNS];
    int64_t csv_bytes = 0, csv_rows = 0;
    int64_t bytes = 0, rows = 0, samples = 0;
    DMMP_TRY(dir_create(d));
    aliccp_gen_options gen = {d->dir, o->rows, o->rows / 10 > 0 ? o->rows / 10 : 1, 0, 0, o->seed};
    DMMP_TRY(gen_aliccp_raw(&gen));
    for (int run = -1; run < o->repeat; run++) {
        double s;
        DMMP_TRY(import_once(d, &s, &bytes, &rows));
        if (run >= 0) ti[run] = s;
    }
    if (o->csv_mb > 0) {
        DMMP_TRY(write_csv_log(d, o->csv_mb, o->seed, &csv_rows));
        for (int run = -1; run < o->repeat; run++) {
            double s;
            DMMP_TRY(csv_import_once(d, &s, &csv_bytes));
            if (run >= 0) tc[run] = s;
        }
        unlink(d->path[6]);
        unlink(d->path[8]);
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
    if (o->csv_mb > 0) {
        snprintf(note, sizeof note, "%lld rows (%.1f MB) of a MovieLens-style log imported with a schema",
                 (long long)csv_rows, (double)csv_bytes / 1e6);
        DMMP_TRY(bench_add_note(r, "csv_shape", note));
        memcpy(copy, tc, (size_t)o->repeat * sizeof *copy);
        DMMP_TRY(bench_add_rate(r, "csv_import_mb_per_s", "MB/s", (double)csv_bytes / 1e6, tc, o->repeat));
        DMMP_TRY(bench_add_rate(r, "csv_import_rows_per_s", "rows/s", (double)csv_rows, copy, o->repeat));
    }
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
