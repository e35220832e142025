/* dmmp eval and dmmp retrieve: evaluate a trained run on a dataset split, and
 * show one user's top items. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/run_input.h"
#include "core/log.h"
#include "data/dataset.h"
#include "data/file_kind.h"
#include "data/dataset_hash.h"
#include "eval/eval_run.h"
#include "core/dist.h"
#include "eval/retrieve_user.h"
#include "train/results.h"
#include "train/trainer.h"

static const char eval_usage[] = "usage: dmmp eval --run DIR --data F.h5 [--split test] [--which checkpoint|last]";

static const char eval_help[] =
    "Evaluates the model saved in DIR (DIR/checkpoint.h5, the best epoch, or\n"
    "DIR/last.h5) on one split of F.h5 and prints every metric that applies:\n"
    "  ranking:   auc_ctr, gauc_ctr, logloss_ctr, auc_cvr (clicked impressions),\n"
    "             auc_ctcvr, logloss_ctcvr (no cvr/ctcvr for two_tower); dmmp\n"
    "             also its teacher's, as teacher_auc_ctr, ...\n"
    "  retrieval: per K of eval.topk, over the users with a click in the split,\n"
    "             click_recall@K, purchase_recall@K, click_ndcg@K, purchase_ndcg@K,\n"
    "             hitrate@K; on synthetic data clickbait@K and exp_conversions@K.\n"
    "             teacher_only scores every (user, item) pair (an upper bound; a\n"
    "             fixed sample of 2000 users when users x items > 5e7, or\n"
    "             eval.max_users).\n"
    "The metrics are also stored in DIR/results.h5 under /eval/<split> (replacing\n"
    "that split's earlier ones), with how they were computed: the dataset's path\n"
    "and content hash, the checkpoint (--which) and eval.max_users.\n"
    "Exit: 0 done, 1 failure while working, 2 bad usage, missing run or data,\n"
    "or a dataset other than the one the run was trained on.\n";

static const char retrieve_usage[] =
    "usage: dmmp retrieve --run DIR --data F.h5 (--user U | --user-id RAW) [--k 10] [--which checkpoint|last]";

static const char retrieve_help[] =
    "Prints the k items the model of DIR retrieves for one user from the whole\n"
    "corpus of F.h5, best first. The user is given by index U (from 0) or by the\n"
    "raw id the input log used (--user-id; /users/raw_id of the dataset). Each\n"
    "row: the item index (a row of /items/sparse, a value of /samples/item), the\n"
    "item's raw id (/items/raw_id), the score the model ranks by (named in the\n"
    "output) and the item fields as raw values (one that only restates the\n"
    "index, such as item_id, is left out); for dmmp also the user's preference\n"
    "gate weights (w_c, w_v); on synthetic data each item's true pCTR and pCVR\n"
    "(default context) and its bait flag. A dataset written before raw ids\n"
    "existed prints an index as #<index>.\n"
    "Exit: 0 done, 1 failure while working, 2 bad usage or input.\n";

typedef struct run_args {
    const char *run, *data, *split, *which, *user_id;
    int64_t user;
    int k;
} run_args;

/* Parses the options of eval or retrieve; 0 ok, or the exit status (0 after --help: *done set). */
static int parse_args(int argc, char **argv, run_args *a, int retrieve, int *done)
{
    const char *cmd = retrieve ? "retrieve" : "eval";
    memset(a, 0, sizeof *a);
    a->split = "test";
    a->which = "checkpoint";
    a->user = -1;
    a->k = 10;
    *done = 0;
    const cli_option eval_options[] = {
        CLI_OPT_STRING_REQ("--run", &a->run, "DIR", "the run directory (the --out of dmmp train)"),
        CLI_OPT_STRING_REQ("--data", &a->data, "F.h5", "the dataset"),
        CLI_OPT_STRING("--split", &a->split, "NAME", "train, val or test (default test)"),
        CLI_OPT_CHOICE("--which", &a->which, "checkpoint|last",
                       "DIR/checkpoint.h5, the best epoch (default), or DIR/last.h5", "checkpoint|last"),
    };
    const cli_option retrieve_options[] = {
        CLI_OPT_STRING_REQ("--run", &a->run, "DIR", "the run directory (the --out of dmmp train)"),
        CLI_OPT_STRING_REQ("--data", &a->data, "F.h5", "the dataset"),
        CLI_OPT_INT64("--user", &a->user, "U", "the user index (from 0)", 0, 9e18),
        CLI_OPT_STRING("--user-id", &a->user_id, "RAW", "the user's raw id in the input log (instead of --user)"),
        CLI_OPT_INT("--k", &a->k, "K", "items to print (default 10)", 1, 100000),
        CLI_OPT_CHOICE("--which", &a->which, "checkpoint|last",
                       "DIR/checkpoint.h5, the best epoch (default), or DIR/last.h5", "checkpoint|last"),
    };
    const cli_command c = {cmd,
                           retrieve ? retrieve_usage : eval_usage,
                           retrieve ? retrieve_help : eval_help,
                           NULL,
                           retrieve ? retrieve_options : eval_options,
                           retrieve ? 6 : 4,
                           0,
                           0,
                           NULL};
    cli_list none;
    int rc = cli_parse(&c, argc, argv, &none);
    if (rc != CLI_PARSED) {
        *done = rc == 0;
        return rc;
    }
    cli_list_free(&none);
    if (retrieve && (a->user >= 0) == (a->user_id != NULL))
        return cli_usage_error(cmd, "give the user as one of --user U or --user-id RAW");
    return cli_check_run_input(cmd, a->run, a->which, a->data);
}

/* Opens the dataset and loads the run for it; exit code or 0. */
static int open_run(const char *cmd, const run_args *a, dataset **d, run_handle *h)
{
    return cli_open_run_input(cmd, a->run, a->which, a->data, d, h);
}

/* Replaces the split's metrics in DIR/results.h5 (a new record when the run
 * has none) with these, and records how they were computed: the dataset
 * (path and content hash), the checkpoint and eval.max_users. */
static dmmp_status store_metrics(const run_args *a, const eval_metrics *l, data_split split, int64_t max_users)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/results.h5", a->run);
    results_eval_setting e;
    memset(&e, 0, sizeof e);
    snprintf(e.split, sizeof e.split, "%s", eval_split_name(split));
    snprintf(e.checkpoint, sizeof e.checkpoint, "%s", a->which);
    e.max_users = max_users;
    if (strlen(a->data) >= sizeof e.dataset_path) return dmmp_fail(DMMP_EINVAL, "--data %s: the path is too long", a->data);
    snprintf(e.dataset_path, sizeof e.dataset_path, "%s", a->data);
    char hash[DATASET_HASH_LEN];
    DMMP_TRY(dataset_content_hash(a->data, hash));
    snprintf(e.dataset_hash, sizeof e.dataset_hash, "%s", hash);
    run_results r;
    dmmp_status s = cli_file_exists(path) ? results_load(&r, path) : results_init(&r);
    if (s != DMMP_OK) return s;
    results_clear_split(&r, e.split);
    s = results_set_eval_setting(&r, &e);
    if (s == DMMP_OK) s = eval_store(l, split, &r);
    if (s == DMMP_OK) s = results_save(&r, path);
    results_free(&r);
    return s;
}

int cmd_eval(int argc, char **argv)
{
    run_args a;
    int done;
    int rc = parse_args(argc, argv, &a, 0, &done);
    if (rc || done) return rc;
    data_split split;
    if (eval_split_parse(a.split, &split) != DMMP_OK) return cli_report_error("eval", DMMP_EINVAL);
    dataset *d = NULL;
    run_handle h;
    memset(&h, 0, sizeof h);
    if ((rc = open_run("eval", &a, &d, &h))) return rc;
    eval_metrics m;
    eval_metrics_init(&m);
    dmmp_status s = eval_all(&h.model, &h.feat, d, split, &h.cfg.eval, &m);
    if (s == DMMP_OK) {
        char title[512];
        snprintf(title, sizeof title, "%s (%s, seed %llu, %s.h5) on %s, split %s", h.variant,
                 h.cfg.model.kind == CONFIG_MODEL_TEACHER_ONLY ? "teacher_only" : "towers",
                 (unsigned long long)h.seed, a.which, dataset_name(d), a.split);
        eval_metrics_print(&m, title, stdout);
        /* Under mpirun every rank holds the same metrics; rank 0 stores them. */
        if (dist_is_root()) s = store_metrics(&a, &m, split, h.cfg.eval.max_users);
        if (s == DMMP_OK) printf("stored in %s/results.h5 under /eval/%s\n", a.run, a.split);
    }
    rc = s == DMMP_OK ? 0 : cli_report_error("eval", s);
    eval_metrics_free(&m);
    run_close(&h);
    dataset_close(d);
    return rc;
}

/* 1 when item field column c holds the item index plus one constant for
 * every item (the item's own id field: synthetic item_id = index + 1): it
 * restates the index, which is printed already. */
static int restates_index(const int32_t *table, int nf, int c, int64_t n_items)
{
    if (n_items < 2) return 0;
    int64_t offset = (int64_t)table[c];
    for (int64_t i = 1; i < n_items; i++)
        if ((int64_t)table[(size_t)i * (size_t)nf + (size_t)c] - i != offset) return 0;
    return 1;
}

/* Prints the item-side fields of item (names from the schema), leaving out
 * those that restate the index. */
static void print_item_fields(const dataset *d, const int32_t *table, int nf, const int *fields, const int *skip,
                              const raw_ids *vocabs, int32_t item)
{
    const dataset_schema *sc = dataset_get_schema(d);
    int printed = 0;
    char raw[256];
    for (int c = 0; c < nf; c++) {
        if (skip[c]) continue;
        printf("%s%s=%s", printed++ ? " " : "", sc->fields[fields[c]].name,
               raw_ids_format(&vocabs[c], table[(size_t)item * nf + c], raw, sizeof raw));
    }
}

/* The index of the user whose raw id is raw, or an error naming it. */
static dmmp_status find_user(const dataset *d, const char *raw, int64_t *user)
{
    raw_ids ids;
    DMMP_TRY(dataset_read_raw_ids(d, RAW_IDS_USERS, 0, &ids));
    dmmp_status s = DMMP_OK;
    if (ids.n == 0)
        s = dmmp_fail(DMMP_EINVAL, "--user-id %s: %s has no raw user ids (written before raw ids existed); give --user",
                      raw, dataset_path(d));
    else if (!*raw || (*user = raw_ids_find(&ids, raw, strlen(raw))) < 0)
        s = dmmp_fail(DMMP_EINVAL, "--user-id %s: no such user in %s", raw, dataset_path(d));
    raw_ids_free(&ids);
    return s;
}

/* What the score column holds for the model of h. */
static const char *score_meaning(const run_handle *h)
{
    switch (h->cfg.model.kind) {
    case CONFIG_MODEL_TEACHER_ONLY:
        return "the teacher's fused target (1 - lambda) pCTR + lambda pCTR*pCVR, lambda = fuse.conversion_weight";
    case CONFIG_MODEL_TWO_TOWER: return "the inner product <u, v_c> of the user and item tower vectors";
    default:
        return "the tower inner product w_c <u, v_c> + w_v <u, v_v> (click and conversion item vectors, "
               "weighted by the gate)";
    }
}

int cmd_retrieve(int argc, char **argv)
{
    run_args a;
    int done;
    int rc = parse_args(argc, argv, &a, 1, &done);
    if (rc || done) return rc;
    dataset *d = NULL;
    run_handle h;
    memset(&h, 0, sizeof h);
    if ((rc = open_run("retrieve", &a, &d, &h))) return rc;
    retrieved r;
    memset(&r, 0, sizeof r);
    dmmp_status s = a.user_id ? find_user(d, a.user_id, &a.user) : DMMP_OK;
    if (s == DMMP_OK) s = retrieve_user(&h.model, &h.feat, d, a.user, a.k, &r);
    int nf = dataset_side_fields(d, SIDE_ITEM, NULL);
    int64_t n_items = dataset_n_items(d);
    int *fields = malloc(sizeof(int) * (size_t)(nf + 1));
    int *skip = calloc((size_t)(nf + 1), sizeof(int));
    int32_t *table = malloc(sizeof(int32_t) * (size_t)(n_items + 1) * (size_t)(nf + 1));
    raw_ids *vocabs = calloc((size_t)(nf + 1), sizeof *vocabs);
    raw_ids items, users;
    raw_ids_init(&items);
    raw_ids_init(&users);
    if (s == DMMP_OK && (!fields || !skip || !table || !vocabs))
        s = dmmp_fail(DMMP_ENOMEM, "retrieve: out of memory for the item table");
    if (s == DMMP_OK) {
        dataset_side_fields(d, SIDE_ITEM, fields);
        s = nf ? dataset_read_items(d, table) : DMMP_OK;
    }
    for (int c = 0; s == DMMP_OK && c < nf; c++) {
        skip[c] = restates_index(table, nf, c, n_items);
        s = dataset_read_raw_ids(d, RAW_IDS_FIELD, fields[c], &vocabs[c]);
    }
    if (s == DMMP_OK) s = dataset_read_raw_ids(d, RAW_IDS_ITEMS, 0, &items);
    if (s == DMMP_OK) s = dataset_read_raw_ids(d, RAW_IDS_USERS, 0, &users);
    if (s == DMMP_OK) {
        char raw[256];
        printf("user %lld (raw id %s), top %d of %lld items (%s)\n", (long long)a.user,
               raw_ids_format(&users, a.user, raw, sizeof raw), a.k, (long long)r.n_ranked, h.variant);
        if (r.has_gate) printf("preference gate: w_c = %.4f, w_v = %.4f\n", r.gate[0], r.gate[1]);
        printf("item: the item index, as --user is the user index (row of /items/sparse, value of /samples/item);\n"
               "raw_id: the item's id in the input log (/items/raw_id)\n");
        printf("score: %s; higher ranks first\n", score_meaning(&h));
        printf("%4s  %8s  %-12s  %12s%s  item fields (raw values)\n", "rank", "item", "raw_id", "score",
               r.has_truth ? "  true_pctr  true_pcvr  bait" : "");
        for (int i = 0; i < r.k && r.ids[i] >= 0; i++) {
            printf("%4d  %8d  %-12s  %12.6f", i + 1, r.ids[i], raw_ids_format(&items, r.ids[i], raw, sizeof raw),
                   r.scores[i]);
            if (r.has_truth) printf("  %9.5f  %9.5f  %4d", r.p_ctr[i], r.p_cvr[i], r.bait[i]);
            printf("  ");
            print_item_fields(d, table, nf, fields, skip, vocabs, r.ids[i]);
            printf("\n");
        }
    }
    rc = s == DMMP_OK ? 0 : cli_report_error("retrieve", s);
    for (int c = 0; vocabs && c < nf; c++) raw_ids_free(&vocabs[c]);
    free(vocabs);
    raw_ids_free(&items);
    raw_ids_free(&users);
    free(fields);
    free(skip);
    free(table);
    retrieved_free(&r);
    run_close(&h);
    dataset_close(d);
    return rc;
}
