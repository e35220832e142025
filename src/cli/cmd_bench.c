/* dmmp bench <what>: the benchmark suite (gemm ceiling, training step,
 * retrieval, data path). Each prints median / min / max over repeated runs
 * after a warm-up and, with --out, writes its figures as one group of an
 * HDF5 file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_data.h"
#include "bench/bench_gemm.h"
#include "bench/bench_retrieve.h"
#include "bench/bench_train.h"
#include "cli/commands.h"
#include "core/atomic_file.h"

typedef enum { OPT_INT, OPT_I64, OPT_DOUBLE, OPT_STRING } opt_kind;

typedef struct bench_opt {
    const char *name;
    opt_kind kind;
    void *value;
    double lo, hi;
} bench_opt;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: dmmp bench <what> [options] [--out F.h5] [--commit C]\n\n"
            "  gemm      [--size N] [--repeat R]\n"
            "            fp32 oneDNN N x N x N matmul rate (GFLOP/s): the ceiling (N 2048, R 5)\n"
            "  train     [--config F.ini] [--batch B] [--threads T] [--data F.h5] [--steps S]\n"
            "            [--warmup W] [--repeat R] [--gemm-size N] [--vocab V] [--zipf S] [--seed X]\n"
            "            samples/s of the joint step (features, model forward and backward with every\n"
            "            loss, Adam, sparse optimiser steps) and of the forward alone, model GFLOP/s and\n"
            "            their share of the gemm ceiling measured in the same run. Without --data:\n"
            "            Zipf(S 1.1) ids over V-row tables (100000), 23 fields of the default shapes.\n"
            "            S 10 steps per run, W 5, R 5; config defaults to the model defaults.\n"
            "  retrieve  [--items N] [--dim D] [--queries Q] [--k K] [--repeat R] [--gemm-size N] [--seed X]\n"
            "            exact top-K queries/s and GFLOP/s (1000000 items, dim 64, 1024 queries, K 100)\n"
            "  data      [--rows N] [--batch B] [--repeat R] [--seed X]\n"
            "            raw Ali-CCP importer MB/s on a generated file and batcher samples/s on a\n"
            "            generated synthetic file (N 200000), in a temporary directory removed after\n\n"
            "Each benchmark warms up, then reports median, min and max over its runs. --out appends\n"
            "the figures as group /<what> of an HDF5 file (attributes: machine, date, commit, ISA,\n"
            "threads); --commit names the code (default: $DMMP_COMMIT). The machine may be shared:\n"
            "compare figures of one run, not across runs.\n");
}

static dmmp_status parse_value(const bench_opt *o, const char *text)
{
    char *end;
    errno = 0;
    if (o->kind == OPT_STRING) {
        *(const char **)o->value = text;
        return DMMP_OK;
    }
    double v = o->kind == OPT_DOUBLE ? strtod(text, &end) : (double)strtoll(text, &end, 10);
    if (errno || *end || end == text || v < o->lo || v > o->hi)
        return dmmp_fail(DMMP_EINVAL, "%s '%s': expected %s in %g..%g", o->name, text,
                         o->kind == OPT_DOUBLE ? "a number" : "an integer", o->lo, o->hi);
    if (o->kind == OPT_INT) *(int *)o->value = (int)v;
    else if (o->kind == OPT_I64) *(int64_t *)o->value = (int64_t)v;
    else *(double *)o->value = v;
    return DMMP_OK;
}

/* Parses the options of one benchmark; then checks the --out target, so a
 * bad one is refused before the benchmark runs. */
static dmmp_status parse_options(int argc, char **argv, const bench_opt *opts, int n_opts, const char *const *out)
{
    for (int i = 1; i < argc; i++) {
        int f = 0;
        while (f < n_opts && strcmp(argv[i], opts[f].name)) f++;
        if (f == n_opts) return dmmp_fail(DMMP_EINVAL, "unknown option '%s' (see --help)", argv[i]);
        if (i + 1 >= argc) return dmmp_fail(DMMP_EINVAL, "%s needs a value", opts[f].name);
        DMMP_TRY(parse_value(&opts[f], argv[++i]));
    }
    return *out ? atomic_check_target("--out", *out) : DMMP_OK;
}

#define COMMON_OPTS(out, commit) {"--out", OPT_STRING, &(out), 0, 0}, {"--commit", OPT_STRING, &(commit), 0, 0}

static dmmp_status run_gemm(int argc, char **argv, bench_report *r, const char **out, const char **commit)
{
    bench_gemm_options o = {2048, 5};
    const bench_opt opts[] = {{"--size", OPT_INT, &o.size, 16, 16384}, {"--repeat", OPT_INT, &o.repeat, 1, 1000},
                              COMMON_OPTS(*out, *commit)};
    DMMP_TRY(parse_options(argc, argv, opts, (int)(sizeof opts / sizeof opts[0]), out));
    return bench_gemm(&o, r);
}

static dmmp_status run_train(int argc, char **argv, bench_report *r, const char **out, const char **commit)
{
    bench_train_options o;
    bench_train_options_default(&o);
    int64_t seed = 1;
    const bench_opt opts[] = {
        {"--config", OPT_STRING, &o.config, 0, 0},       {"--data", OPT_STRING, &o.data, 0, 0},
        {"--batch", OPT_INT, &o.batch, 1, 1 << 20},      {"--threads", OPT_INT, &o.threads, 1, 1024},
        {"--steps", OPT_INT, &o.steps, 1, 100000},       {"--warmup", OPT_INT, &o.warmup, 0, 100000},
        {"--repeat", OPT_INT, &o.repeat, 1, 1000},       {"--gemm-size", OPT_INT, &o.gemm_size, 16, 16384},
        {"--vocab", OPT_I64, &o.vocab, 1, 2147483647.0}, {"--zipf", OPT_DOUBLE, &o.zipf_s, 1e-3, 100},
        {"--seed", OPT_I64, &seed, 0, 9e15},             COMMON_OPTS(*out, *commit)};
    DMMP_TRY(parse_options(argc, argv, opts, (int)(sizeof opts / sizeof opts[0]), out));
    o.seed = (uint64_t)seed;
    /* A missing file is bad input (exit 2), not a failure while working. */
    if (o.config && access(o.config, R_OK) != 0)
        return dmmp_fail(DMMP_EINVAL, "--config %s: cannot read the file", o.config);
    if (o.data && access(o.data, R_OK) != 0) return dmmp_fail(DMMP_EINVAL, "--data %s: cannot read the file", o.data);
    return bench_train(&o, r);
}

static dmmp_status run_retrieve(int argc, char **argv, bench_report *r, const char **out, const char **commit)
{
    bench_retrieve_options o = {1000000, 64, 1024, 100, 5, 2048, 1};
    int64_t seed = 1;
    const bench_opt opts[] = {
        {"--items", OPT_I64, &o.items, 1, 2147483647.0}, {"--dim", OPT_INT, &o.dim, 1, 4096},
        {"--queries", OPT_I64, &o.queries, 1, 1e8},      {"--k", OPT_INT, &o.k, 1, 100000},
        {"--repeat", OPT_INT, &o.repeat, 1, 1000},       {"--gemm-size", OPT_INT, &o.gemm_size, 16, 16384},
        {"--seed", OPT_I64, &seed, 0, 9e15},             COMMON_OPTS(*out, *commit)};
    DMMP_TRY(parse_options(argc, argv, opts, (int)(sizeof opts / sizeof opts[0]), out));
    o.seed = (uint64_t)seed;
    return bench_retrieve(&o, r);
}

static dmmp_status run_data(int argc, char **argv, bench_report *r, const char **out, const char **commit)
{
    bench_data_options o = {200000, 1024, 3, 1};
    int64_t seed = 1;
    const bench_opt opts[] = {{"--rows", OPT_I64, &o.rows, 100, 1e10},  {"--batch", OPT_INT, &o.batch, 1, 1 << 20},
                              {"--repeat", OPT_INT, &o.repeat, 1, 100}, {"--seed", OPT_I64, &seed, 0, 9e15},
                              COMMON_OPTS(*out, *commit)};
    DMMP_TRY(parse_options(argc, argv, opts, (int)(sizeof opts / sizeof opts[0]), out));
    o.seed = (uint64_t)seed;
    return bench_data(&o, r);
}

typedef dmmp_status (*bench_fn)(int, char **, bench_report *, const char **, const char **);

int cmd_bench(int argc, char **argv)
{
    static const struct { const char *name; bench_fn run; } benches[] = {
        {"gemm", run_gemm}, {"train", run_train}, {"retrieve", run_retrieve}, {"data", run_data}};
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        }
    size_t b = 0;
    while (b < sizeof benches / sizeof benches[0] && strcmp(argv[1], benches[b].name)) b++;
    if (b == sizeof benches / sizeof benches[0]) {
        fprintf(stderr, "dmmp bench: unknown benchmark '%s'\n\n", argv[1]);
        usage(stderr);
        return 2;
    }
    bench_report r;
    memset(&r, 0, sizeof r);
    snprintf(r.group, sizeof r.group, "%s", benches[b].name);
    const char *out = NULL, *commit = NULL;
    dmmp_status st = benches[b].run(argc - 1, argv + 1, &r, &out, &commit);
    if (st != DMMP_OK) return cli_report_error("bench", st);
    bench_meta meta;
    bench_meta_collect(&meta, commit);
    printf("machine %s, isa %s, %d threads, commit %s, %s\n", meta.machine, meta.isa, meta.threads, meta.commit,
           meta.date);
    printf("openmp %s\n", meta.omp_wait);
    bench_print(&r);
    if (out) {
        st = bench_write_h5(out, &r, &meta);
        if (st != DMMP_OK) return cli_report_error("bench", st);
    }
    return 0;
}
