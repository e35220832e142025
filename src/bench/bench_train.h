/* Training throughput of a whole model step: the feature layer forward and
 * backward, the model forward and backward with every loss term, Adam on the
 * dense parameter buffer and the lazy sparse optimiser on every embedding
 * table; and the forward alone. Rates are also given in model FLOP/s
 * (bench_flops.h) and as a share of the gemm ceiling measured in the same run.
 *
 * Without a data file the batches come from a synthetic schema of the
 * default shapes (13 user and context fields, 6 item, 4 cross, all
 * single-valued over vocab-row tables) with Zipf-distributed ids, generated
 * before timing; with one, the batcher streams its training split inside
 * the timed loop. */
#ifndef DMMP_BENCH_BENCH_TRAIN_H
#define DMMP_BENCH_BENCH_TRAIN_H

#include <stdint.h>

#include "bench/bench_stats.h"
#include "data/batch.h"
#include "data/schema.h"
#include "config/config.h"

typedef struct bench_train_options {
    const char *config; /* INI file (NULL: the model defaults) */
    const char *const *sets; /* n_sets "section.key=value" overrides applied after it */
    int n_sets;
    const char *data;   /* dataset file (NULL: synthetic batches) */
    int batch;          /* 0: the config's train.batch_size */
    int threads;        /* 0: the config's train.threads */
    int steps;          /* steps per timed run (default 10) */
    int warmup;         /* untimed steps first (default 5) */
    int repeat;         /* timed runs (default 5) */
    int gemm_size;      /* the ceiling's n (default 2048) */
    int64_t vocab;      /* synthetic table rows (default 100000) */
    double zipf_s;      /* synthetic id exponent (default 1.1) */
    uint64_t seed;
    int contended;      /* 1: the timed runs again while a busy child process occupies one core */
} bench_train_options;

/* Sets the defaults above. */
void bench_train_options_default(bench_train_options *o);

/* Figures: train_samples_per_s, forward_samples_per_s, train_gflops,
 * forward_gflops, gemm_gflops, train_share_of_gemm, forward_share_of_gemm,
 * flops_per_sample_train / _forward, train_cpu_ms_per_step (CPU time of
 * the process, all threads: with one thread it is the least noisy figure on
 * a shared machine, with more it includes OpenMP spin-waiting), and the median milliseconds per step of
 * each phase of the joint step. With contended, the warm-up and timed runs
 * are repeated while a forked child spins on one core (killed after, and
 * bounded by an alarm): train_samples_per_s_alone, _contended and
 * contended_share (their ratio; a fair share of 2 cores is 0.5). Under
 * mpirun the tables are placed as training places them
 * (model.table_placement, e.g. --set model.table_placement=sharded), and
 * with sharded tables rank 0 adds what a step moved for them:
 * exchange_sharded_grad_bytes_per_step, lookup_id_bytes_per_step,
 * lookup_vector_bytes_per_step (received by rank 0) and
 * sharded_bytes_per_step_rank_mean (their sum: mean, min and max over the
 * ranks). */
dmmp_status bench_train(const bench_train_options *o, bench_report *r);

/* The synthetic schema of the benchmark: 10 user, 3 context, 6 item and 4
 * cross single-valued fields, each with vocab rows. fields must hold 23. */
void bench_train_schema(dataset_schema *s, dataset_field *fields, int64_t vocab);

#endif
