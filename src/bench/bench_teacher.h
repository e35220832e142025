/* The retrieval evaluation of teacher_only as `dmmp eval` runs it
 * (eval_retrieval: the teacher scores every user-item pair, one forward per
 * pair, each user's top K is ranked and its metrics summed), against the
 * teacher's own forward rate on full batches of training impressions, both
 * on the same model and dataset, alternating in every run.
 *
 * The model is the configuration's teacher alone (model.kind = teacher_only,
 * randomly initialised: the rates do not depend on the weights). Without a
 * data file a synthetic world (data/synth.h) of the given items is
 * generated in a temporary directory removed after. */
#ifndef DMMP_BENCH_BENCH_TEACHER_H
#define DMMP_BENCH_BENCH_TEACHER_H

#include <stdint.h>

#include "bench/bench_stats.h"

typedef struct bench_teacher_options {
    const char *config;      /* INI file (NULL: the model defaults) */
    const char *const *sets; /* n_sets "section.key=value" overrides applied after it */
    int n_sets;
    const char *data;        /* dataset file (NULL: a synthetic world) */
    int64_t items;           /* the synthetic world's items (default 5000) */
    int users;               /* test users evaluated per run (eval.max_users; default 100) */
    int steps;               /* forward batches per run (default 100) */
    int repeat;              /* timed runs (default 5) */
    uint64_t seed;
} bench_teacher_options;

/* Sets the defaults above. */
void bench_teacher_options_default(bench_teacher_options *o);

/* Figures: teacher_forward_samples_per_s (features and teacher forward on
 * full training batches of the eval batch size), teacher_eval_pairs_per_s
 * (users x items over the seconds of eval_retrieval with eval.max_users =
 * users, eval.topk and the rest of the configuration's eval section),
 * teacher_eval_share_of_forward (their ratio per run) and teacher_eval_s. */
dmmp_status bench_teacher(const bench_teacher_options *o, bench_report *r);

#endif
