/* The gradient exchange against one process (tests/mpi.sh).
 *
 *   dist_step CONFIG DATA STEPS OUT [REF TOL]   (STEPS 0: one epoch)
 *
 * Every rank reads the same training batches of train.batch_size rows.
 * With one process each batch is one step; with N ranks rank r steps on its
 * share of each batch (rows [r n / N, (r + 1) n / N)) and the ranks
 * exchange their gradients (train/grad_exchange.h). So a job of N ranks
 * trains on exactly the rows of the single process, and the two differ only
 * in the order of the floating-point sums. After STEPS steps rank 0 writes
 * the dense parameters and every embedding table to OUT (raw floats), then
 * the mean weighted loss of the steps and the validation AUCs (doubles).
 * With REF (a file the single process wrote) it prints the largest
 * differences and fails when a weight differs by more than TOL or the loss
 * or an AUC by more than 1e-4 (TOL 0: by anything); every rank fails when the replicas' weights
 * are not bit-identical. The tables follow the configuration's
 * model.table_placement: sharded tables are gathered on rank 0 for OUT,
 * so a sharded job compares with a replicated one weight for weight. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dist.h"
#include "data/batcher.h"
#include "train/recipe.h"
#include "train/validate.h"

#define N_AUC 3
static const char *const auc_name[N_AUC] = {"auc_ctr", "auc_ctcvr", "teacher_auc_ctr"};

/* Rows [lo, lo + n) of src, pointing into src's arrays; the multi-valued
 * fields' offsets are rebased into offs (n_multi x (n + 1)). */
static void view_rows(const batch *src, int lo, int n, batch *v, batch_multi *multi, int64_t *offs)
{
    *v = *src;
    v->n = n;
    v->click = src->click + lo;
    v->conversion = src->conversion + lo;
    v->user = src->user + lo;
    v->item = src->item + lo;
    if (src->row) v->row = src->row + lo;
    for (int s = 0; s < 4; s++)
        if (src->side[s].ids) v->side[s].ids = src->side[s].ids + (size_t)lo * (size_t)src->side[s].n_fields;
    if (src->dense) v->dense = src->dense + (size_t)lo * (size_t)src->n_dense;
    v->multi = multi;
    for (int k = 0; k < src->n_multi; k++) {
        const batch_multi *m = &src->multi[k];
        int64_t base = m->offsets[lo], *o = offs + (size_t)k * (size_t)(n + 1);
        multi[k] = *m;
        for (int i = 0; i <= n; i++) o[i] = m->offsets[lo + i] - base;
        multi[k].offsets = o;
        multi[k].indices = m->indices + base;
        if (m->weights) multi[k].weights = m->weights + base;
    }
}

static int fail(const char *what)
{
    fprintf(stderr, "dist_step (rank %d): %s: %s\n", dist_rank(), what, dmmp_errmsg());
    return 1;
}

static uint64_t hash_floats(uint64_t h, const float *x, size_t n)
{
    const unsigned char *c = (const unsigned char *)x;
    for (size_t i = 0; i < n * sizeof(float); i++) h = (h ^ c[i]) * 1099511628211ull;
    return h;
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 7) {
        fprintf(stderr, "usage: dist_step CONFIG DATA STEPS OUT [REF TOL]\n");
        return 2;
    }
    if (dist_init(&argc, &argv) != DMMP_OK) return fail("joining the job");
    int steps = atoi(argv[3]);
    dmmp_config cfg;
    config_defaults(&cfg);
    if (config_load(&cfg, argv[1]) != DMMP_OK || config_validate(&cfg) != DMMP_OK) return fail(argv[1]);
    dataset *d = NULL;
    if (dataset_open(&d, argv[2]) != DMMP_OK) return fail(argv[2]);
    int bs = cfg.train.batch_size;
    uint64_t seed = (uint64_t)cfg.train.seed;
    features f;
    model m;
    adam_state adam;
    recipe_negs negs;
    grad_exchange gx;
    memset(&negs, 0, sizeof negs);
    if (recipe_build_placed(&cfg, dataset_get_schema(d), seed, bs, 1, &f, &m) != DMMP_OK) return fail("building the model");
    if (recipe_negs_open(&negs, &cfg, d, seed, bs) != DMMP_OK) return fail("the negatives");
    adam_config ac = recipe_adam_config(&cfg);
    if (adam_init(&adam, m.params.total, &ac) != DMMP_OK) return fail("adam");
    if (grad_exchange_init(&gx, &f, &m) != DMMP_OK) return fail("the exchange");
    batcher *bt = NULL;
    if (batcher_open(&bt, d, SPLIT_TRAIN, bs, 1, seed) != DMMP_OK) return fail("the batcher");
    int ranks = dist_size(), rank = dist_rank();
    batch_multi *multi = calloc(16, sizeof *multi);
    int64_t *offs = malloc(sizeof *offs * 16 * (size_t)(bs + 1));
    double loss_sum = 0;
    int done = 0;
    for (int s = 0; steps == 0 || s < steps; s++) {
        const batch *b = NULL;
        if (batcher_next(bt, &b) != DMMP_OK) return fail("a batch");
        if (!b) break;
        if (b->n_multi > 16) return fail("more than 16 multi-valued fields");
        if (ranks == 1) {
            if (recipe_train_step(&f, &m, &adam, &negs, b, s, STAGE_JOINT, NULL, NULL) != DMMP_OK) return fail("a step");
            loss_sum += m.total_loss;
            done++;
            continue;
        }
        int lo = (int)((int64_t)rank * b->n / ranks), hi = (int)((int64_t)(rank + 1) * b->n / ranks);
        batch v;
        view_rows(b, lo, hi - lo, &v, multi, offs);
        recipe_shard sh = {&gx, b->n};
        if (recipe_train_step(&f, &m, &adam, &negs, hi > lo ? &v : NULL, s, STAGE_JOINT, &sh, NULL) != DMMP_OK)
            return fail("a step");
        loss_sum += m.total_loss;
        done++;
    }
    batcher_close(bt);
    double tail[1 + N_AUC];
    tail[0] = done ? loss_sum / done : 0;
    val_metrics val;
    if (validate_split(&f, &m, d, SPLIT_VAL, &val) != DMMP_OK) return fail("validation");
    for (int k = 0; k < N_AUC; k++) tail[1 + k] = val_metrics_get(&val, auc_name[k]);

    /* The replicas: bit-identical weights on every rank. */
    uint64_t h = hash_floats(1469598103934665603ull, m.params.values, m.params.total);
    for (int i = 0; i < f.n_tables; i++)
        if (!f.tables[i].sharded)
            h = hash_floats(h, f.tables[i].emb.weight, (size_t)f.tables[i].emb.rows * (size_t)f.tables[i].emb.dim);
    uint64_t all[ranks];
    if (dist_allgather(&h, sizeof h, all) != DMMP_OK) return fail("gathering the hashes");
    int rc = 0;
    for (int r = 1; r < ranks; r++)
        if (all[r] != all[0]) {
            fprintf(stderr, "dist_step: the weights of rank %d differ from rank 0's\n", r);
            rc = 1;
        }
    size_t n = m.params.total;
    for (int i = 0; i < f.n_tables; i++) n += (size_t)f.tables[i].emb.rows * (size_t)f.tables[i].emb.dim;
    float *w = malloc(n * sizeof *w);
    size_t at = m.params.total;
    memcpy(w, m.params.values, m.params.total * sizeof *w);
    for (int i = 0; i < f.n_tables; i++) {
        size_t k = (size_t)f.tables[i].emb.rows * (size_t)f.tables[i].emb.dim;
        if (features_gather_table(&f, i, 0, rank == 0 ? w + at : NULL, NULL, NULL, NULL) != DMMP_OK)
            return fail("gathering a table");
        at += k;
    }
    if (rank == 0) {
        FILE *o = fopen(argv[4], "wb");
        if (!o || fwrite(w, sizeof *w, n, o) != n || fwrite(tail, sizeof tail, 1, o) != 1 || fclose(o) != 0) {
            fprintf(stderr, "dist_step: cannot write %s\n", argv[4]);
            rc = 1;
        }
        if (argc == 7) {
            float *ref = malloc(n * sizeof *ref);
            FILE *in = fopen(argv[5], "rb");
            double ref_tail[1 + N_AUC];
            if (!in || fread(ref, sizeof *ref, n, in) != n || fread(ref_tail, sizeof ref_tail, 1, in) != 1) {
                fprintf(stderr, "dist_step: cannot read %zu floats of %s\n", n, argv[5]);
                rc = 1;
            } else {
                double tol = atof(argv[6]), worst = 0, sum = 0;
                size_t where = 0, differ = 0;
                for (size_t i = 0; i < n; i++) {
                    double e = fabs((double)w[i] - (double)ref[i]);
                    if (!(e <= worst)) worst = e, where = i;
                    differ += e > 0;
                    sum += e;
                }
                printf("dist_step: %zu weights, %zu differ from the reference's, largest difference %.3g (weight %zu), "
                       "mean %.3g; tolerance %g\n", n, differ, worst, where, sum / (double)n, tol);
                if (!(worst <= tol)) rc = 1;
                /* TOL 0 (the same sums, e.g. sharded against replicated
                 * tables): the loss and the AUCs must be equal too. */
                double tail_tol = tol == 0 ? 0 : 1e-4;
                for (int k = 0; k <= N_AUC; k++) {
                    double e = fabs(tail[k] - ref_tail[k]);
                    printf("dist_step: %s %.6f, reference %.6f (difference %.2g)\n",
                           k ? auc_name[k - 1] : "mean loss", tail[k], ref_tail[k], e);
                    if (!(e <= tail_tol)) rc = 1;
                }
            }
            if (in) fclose(in);
            free(ref);
        }
    }
    free(w);
    free(multi);
    free(offs);
    grad_exchange_free(&gx);
    adam_free(&adam);
    recipe_negs_close(&negs);
    model_free(&m);
    features_free(&f);
    dataset_close(d);
    dist_finalize();
    return rc;
}
