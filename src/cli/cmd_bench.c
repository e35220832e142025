/* dmmp bench <what>: the benchmark suite (gemm ceiling, training step,
 * retrieval, teacher scoring, data path). Each prints median / min / max over repeated runs
 * after a warm-up and, with --out, writes its figures as one group of an
 * HDF5 file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_data.h"
#include "bench/bench_gemm.h"
#include "bench/bench_record.h"
#include "bench/bench_retrieve.h"
#include "bench/bench_teacher.h"
#include "bench/bench_train.h"
#include "cli/commands.h"
#include "core/dist.h"
#include "cli/options.h"
#include "core/atomic_file.h"

/* The options of every benchmark, with their defaults. */
typedef struct bench_args {
    bench_gemm_options gemm;
    bench_train_options train;
    bench_retrieve_options retrieve;
    bench_teacher_options teacher;
    bench_data_options data;
    int64_t seed;
    cli_list sets; /* bench train: --set section.key=value */
    const char *out, *commit;
} bench_args;

static void bench_args_default(bench_args *a)
{
    memset(a, 0, sizeof *a);
    a->gemm = (bench_gemm_options){2048, 5};
    bench_train_options_default(&a->train);
    a->retrieve = (bench_retrieve_options){1000000, 64, 1024, 100, 5, 2048, 1};
    bench_teacher_options_default(&a->teacher);
    a->data = (bench_data_options){200000, 1024, 3, 1, 64};
    a->seed = 1;
}

#define BENCH_MAX_OPTIONS 16
#define COMMON_OPTS(a)                                                                                 \
    CLI_OPT_STRING("--out", &(a)->out, "F.h5", "append the figures as group /<what> of this HDF5 file"), \
        CLI_OPT_STRING("--commit", &(a)->commit, "C", "the code the figures measure (default: $DMMP_COMMIT)")

/* Fills opts (room for BENCH_MAX_OPTIONS) with the options of benchmark what over a; returns their number. */
static int bench_options(const char *what, bench_args *a, cli_option *opts)
{
    if (!strcmp(what, "gemm")) {
        const cli_option o[] = {
            CLI_OPT_INT("--size", &a->gemm.size, "N", "matrix size (default 2048)", 16, 16384),
            CLI_OPT_INT("--repeat", &a->gemm.repeat, "R", "timed runs (default 5)", 1, 1000),
            COMMON_OPTS(a)};
        memcpy(opts, o, sizeof o);
        return (int)(sizeof o / sizeof o[0]);
    }
    if (!strcmp(what, "train")) {
        bench_train_options *t = &a->train;
        const cli_option o[] = {
            CLI_OPT_STRING("--config", &t->config, "F.ini", "configuration (default: the model defaults)"),
            CLI_OPT_LIST("--set", &a->sets, "k=v", "override one key of the configuration, in order"),
            CLI_OPT_STRING("--data", &t->data, "F.h5", "dataset (default: Zipf ids over synthetic tables)"),
            CLI_OPT_INT("--batch", &t->batch, "B", "batch size (default: the config's)", 1, 1 << 20),
            CLI_OPT_INT("--threads", &t->threads, "T", "threads (default: the config's)", 1, 1024),
            CLI_OPT_INT("--steps", &t->steps, "S", "steps per run (default 10)", 1, 100000),
            CLI_OPT_INT("--warmup", &t->warmup, "W", "untimed steps first (default 5)", 0, 100000),
            CLI_OPT_INT("--repeat", &t->repeat, "R", "timed runs (default 5)", 1, 1000),
            CLI_OPT_INT("--gemm-size", &t->gemm_size, "N", "size of the gemm ceiling (default 2048)", 16, 16384),
            CLI_OPT_INT64("--vocab", &t->vocab, "V", "rows per synthetic table (default 100000)", 1, 2147483647.0),
            CLI_OPT_DOUBLE("--zipf", &t->zipf_s, "S", "Zipf exponent of the synthetic ids (default 1.1)", 1e-3, 100),
            CLI_OPT_INT64("--seed", &a->seed, "X", "seed (default 1)", 0, 9e15),
            CLI_OPT_FLAG("--contended", &t->contended,
                         "then the runs again next to a busy child process on one core:\n"
                         "train_samples_per_s_alone, _contended and contended_share"),
            COMMON_OPTS(a)};
        memcpy(opts, o, sizeof o);
        return (int)(sizeof o / sizeof o[0]);
    }
    if (!strcmp(what, "retrieve")) {
        bench_retrieve_options *r = &a->retrieve;
        const cli_option o[] = {
            CLI_OPT_INT64("--items", &r->items, "N", "items in the corpus (default 1000000)", 1, 2147483647.0),
            CLI_OPT_INT("--dim", &r->dim, "D", "vector dimension (default 64)", 1, 4096),
            CLI_OPT_INT64("--queries", &r->queries, "Q", "queries per run (default 1024)", 1, 1e8),
            CLI_OPT_INT("--k", &r->k, "K", "items per query (default 100)", 1, 100000),
            CLI_OPT_INT("--repeat", &r->repeat, "R", "timed runs (default 5)", 1, 1000),
            CLI_OPT_INT("--gemm-size", &r->gemm_size, "N", "size of the gemm ceiling (default 2048)", 16, 16384),
            CLI_OPT_INT64("--seed", &a->seed, "X", "seed (default 1)", 0, 9e15),
            COMMON_OPTS(a)};
        memcpy(opts, o, sizeof o);
        return (int)(sizeof o / sizeof o[0]);
    }
    if (!strcmp(what, "teacher")) {
        bench_teacher_options *t = &a->teacher;
        const cli_option o[] = {
            CLI_OPT_STRING("--config", &t->config, "F.ini", "configuration whose teacher is scored (default: the\n"
                           "model defaults); model.kind is set to teacher_only"),
            CLI_OPT_LIST("--set", &a->sets, "k=v", "override one key of the configuration, in order"),
            CLI_OPT_STRING("--data", &t->data, "F.h5", "dataset (default: a synthetic world, generated)"),
            CLI_OPT_INT64("--items", &t->items, "N", "items of the synthetic world (default 5000)", 1, 1e8),
            CLI_OPT_INT("--users", &t->users, "U", "test users evaluated per run (default 100)", 1, 1000000),
            CLI_OPT_INT("--steps", &t->steps, "S", "forward batches per run (default 100)", 1, 100000),
            CLI_OPT_INT("--repeat", &t->repeat, "R", "timed runs (default 5)", 1, 1000),
            CLI_OPT_INT64("--seed", &a->seed, "X", "seed (default 1)", 0, 9e15),
            COMMON_OPTS(a)};
        memcpy(opts, o, sizeof o);
        return (int)(sizeof o / sizeof o[0]);
    }
    const cli_option o[] = {
        CLI_OPT_INT64("--rows", &a->data.rows, "N", "skeleton lines and synthetic impressions (default 200000)", 100,
                      1e10),
        CLI_OPT_INT64("--csv-mb", &a->data.csv_mb, "MB",
                      "size of the generated MovieLens-style log for the csv importer\n(default 64; 0 skips it)", 0,
                      1000000),
        CLI_OPT_INT("--batch", &a->data.batch, "B", "batcher batch size (default 1024)", 1, 1 << 20),
        CLI_OPT_INT("--repeat", &a->data.repeat, "R", "timed runs (default 3)", 1, 100),
        CLI_OPT_INT64("--seed", &a->seed, "X", "seed (default 1)", 0, 9e15),
        COMMON_OPTS(a)};
    memcpy(opts, o, sizeof o);
    return (int)(sizeof o / sizeof o[0]);
}

static dmmp_status run_gemm(bench_args *a, bench_report *r)
{
    return bench_gemm(&a->gemm, r);
}

/* A missing --config or --data is bad input (exit 2), not a failure while working. */
static dmmp_status check_inputs(const char *config, const char *data)
{
    if (config && access(config, R_OK) != 0) return dmmp_fail(DMMP_EINVAL, "--config %s: cannot read the file", config);
    if (data && access(data, R_OK) != 0) return dmmp_fail(DMMP_EINVAL, "--data %s: cannot read the file", data);
    return DMMP_OK;
}

static dmmp_status run_train(bench_args *a, bench_report *r)
{
    bench_train_options *o = &a->train;
    o->seed = (uint64_t)a->seed;
    o->sets = a->sets.items;
    o->n_sets = a->sets.n;
    DMMP_TRY(check_inputs(o->config, o->data));
    return bench_train(o, r);
}

static dmmp_status run_retrieve(bench_args *a, bench_report *r)
{
    a->retrieve.seed = (uint64_t)a->seed;
    return bench_retrieve(&a->retrieve, r);
}

static dmmp_status run_teacher(bench_args *a, bench_report *r)
{
    bench_teacher_options *o = &a->teacher;
    o->seed = (uint64_t)a->seed;
    o->sets = a->sets.items;
    o->n_sets = a->sets.n;
    DMMP_TRY(check_inputs(o->config, o->data));
    return bench_teacher(o, r);
}

static dmmp_status run_data(bench_args *a, bench_report *r)
{
    a->data.seed = (uint64_t)a->seed;
    return bench_data(&a->data, r);
}

typedef struct bench_entry {
    const char *name, *usage, *about;
    dmmp_status (*run)(bench_args *a, bench_report *r);
} bench_entry;

static const bench_entry benches[] = {
    {"gemm", "usage: dmmp bench gemm [options]", "fp32 oneDNN N x N x N matmul rate (GFLOP/s): the ceiling\n",
     run_gemm},
    {"train", "usage: dmmp bench train [options]",
     "samples/s of the joint step (features, model forward and backward with every\n"
     "loss, Adam, sparse optimiser steps) and of the forward alone, model GFLOP/s and\n"
     "their share of the gemm ceiling measured in the same run. Without --data:\n"
     "Zipf ids over synthetic tables, 23 fields of the default shapes.\n",
     run_train},
    {"retrieve", "usage: dmmp bench retrieve [options]", "exact top-K queries/s and GFLOP/s\n", run_retrieve},
    {"teacher", "usage: dmmp bench teacher [options]",
     "pairs/s of teacher_only's retrieval evaluation (what dmmp eval runs: a teacher\n"
     "forward per user-item pair, each user's top K and its metrics) next to the\n"
     "teacher's forward samples/s on training batches, and their ratio\n",
     run_teacher},
    {"data", "usage: dmmp bench data [options]",
     "raw Ali-CCP importer MB/s on a generated file and batcher samples/s on a\n"
     "generated synthetic file, in a temporary directory removed after\n",
     run_data},
};
#define N_BENCHES (sizeof benches / sizeof benches[0])

static const char bench_notes[] =
    "Each benchmark warms up, then reports median, min and max over its runs. --out appends\n"
    "the figures as group /<what> of an HDF5 file (attributes: machine, date, commit, ISA,\n"
    "threads); --commit names the code (default: $DMMP_COMMIT). An existing record is read in\n"
    "full before the benchmark runs (a damaged one is refused, exit 2) and written anew with\n"
    "the new group, in the current checksummed format. The machine may be shared: compare\n"
    "figures of one run, not across runs.\n";

/* The command of benchmark b: its table over a (opts has room for BENCH_MAX_OPTIONS). */
static cli_command bench_command(size_t b, bench_args *a, cli_option *opts)
{
    cli_command c = {"bench", benches[b].usage, benches[b].about, bench_notes, opts, 0, 0, 0, NULL};
    c.n_options = bench_options(benches[b].name, a, opts);
    return c;
}

/* The help of every benchmark, generated from their tables. */
static void usage(FILE *out)
{
    bench_args a;
    bench_args_default(&a);
    cli_option opts[BENCH_MAX_OPTIONS];
    fprintf(out, "usage: dmmp bench <what> [options] [--out F.h5] [--commit C]\n");
    for (size_t b = 0; b < N_BENCHES; b++) {
        cli_command c = bench_command(b, &a, opts);
        c.n_options -= 2; /* --out and --commit: once, below */
        fprintf(out, "\n  %-9s ", benches[b].name);
        for (const char *p = benches[b].about; *p; p++) {
            fputc(*p, out);
            if (*p == '\n' && p[1]) fprintf(out, "%12s", "");
        }
        cli_print_options(out, &c, 12);
    }
    fprintf(out, "\ncommon options:\n");
    cli_command c = bench_command(0, &a, opts);
    c.options += c.n_options - 2;
    c.n_options = 2;
    cli_print_options(out, &c, 2);
    fprintf(out, "\n%s", bench_notes);
}

int cmd_bench(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    size_t b = 0;
    while (b < N_BENCHES && strcmp(argv[1], benches[b].name)) b++;
    if (b == N_BENCHES) {
        fprintf(stderr, "dmmp bench: unknown benchmark '%s'\n\n", argv[1]);
        usage(stderr);
        return 2;
    }
    if (dist_size() > 1 && strcmp(argv[1], "train")) {
        fprintf(stderr, "dmmp bench %s: does not run on several processes (only bench train does); run it without "
                "mpirun\n", argv[1]);
        return 2;
    }
    if (dist_size() > 1 && strcmp(argv[1], "train")) {
        fprintf(stderr, "dmmp bench %s: does not run on several processes (only bench train does); run it without "
                "mpirun\n", argv[1]);
        return 2;
    }
    bench_args a;
    bench_args_default(&a);
    cli_option opts[BENCH_MAX_OPTIONS];
    cli_command c = bench_command(b, &a, opts);
    cli_list none;
    int rc = cli_parse(&c, argc - 1, argv + 1, &none);
    if (rc != CLI_PARSED) return rc;
    cli_list_free(&none);
    bench_report r;
    memset(&r, 0, sizeof r);
    snprintf(r.group, sizeof r.group, "%s", benches[b].name);
    /* the --out target is checked before the benchmark runs: a record there
     * is read in full (a damaged one is refused before any work) */
    dmmp_status st = a.out ? atomic_check_target("--out", a.out) : DMMP_OK;
    if (st == DMMP_OK && a.out && access(a.out, F_OK) == 0) {
        bench_record existing;
        st = bench_record_read(a.out, &existing);
        if (st == DMMP_OK) bench_record_free(&existing);
    }
    if (st == DMMP_OK) st = benches[b].run(&a, &r);
    cli_list_free(&a.sets);
    if (st != DMMP_OK) return cli_report_error("bench", st);
    const char *out = a.out, *commit = a.commit;
    bench_meta meta;
    bench_meta_collect(&meta, commit);
    printf("machine %s, isa %s, %d threads, commit %s, %s\n", meta.machine, meta.isa, meta.threads, meta.commit,
           meta.date);
    printf("openmp %s\n", meta.omp_wait);
    bench_print(&r);
    if (out && dist_is_root()) { /* several processes: rank 0 writes the record */
        st = bench_write_h5(out, &r, &meta);
        if (st != DMMP_OK) return cli_report_error("bench", st);
    }
    return 0;
}
