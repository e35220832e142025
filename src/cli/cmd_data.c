/* dmmp data <sub>: dataset tools. A table of subcommands so importers can
 * add theirs with one entry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/atomic_file.h"
#include "data/dataset.h"
#include "data/h5_verify.h"
#include "data/synth.h"
#include "data/synth_truth.h"

typedef struct data_subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} data_subcommand;

static int data_synth(int argc, char **argv);
static int data_inspect(int argc, char **argv);
static int data_verify(int argc, char **argv);

static const data_subcommand subcommands[] = {
    {"synth", data_synth, "generate the synthetic click-bait world"},
    {"inspect", data_inspect, "print a dataset's fields, splits and label rates"},
    {"verify", data_verify, "read every object of an HDF5 file the framework wrote, checking its checksums"},
    {"import", cmd_data_import, "import Ali-CCP (raw or CSV) or AliExpress"},
    {"gen-aliccp-raw", cmd_data_gen_aliccp_raw, "write raw Ali-CCP-format files for tests and timing"},
};

static void data_usage(FILE *out)
{
    fprintf(out, "usage: dmmp data <subcommand> [options]\n\nsubcommands:\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(out, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(out, "\n'dmmp data <subcommand> --help' describes its options.\n");
}

int cmd_data(int argc, char **argv)
{
    if (argc < 2) {
        data_usage(stderr);
        return 2;
    }
    if (cli_is_help(argv[1])) {
        data_usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (!strcmp(argv[1], subcommands[i].name)) return subcommands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "dmmp data: unknown subcommand '%s'\n\n", argv[1]);
    data_usage(stderr);
    return 2;
}

static const char synth_usage[] =
    "usage: dmmp data synth --out F.h5 [--users N] [--items N] [--impressions N]\n"
    "                       [--bait-share X] [--intent-spread X] [--seed S]";

static const char synth_about[] =
    "Generates a synthetic recommendation log with a known ground truth, laid out\n"
    "like Ali-CCP (user, item, context and user-item cross fields, one weighted\n"
    "multi-valued user field). Defaults: 20000 users, 5000 items, 1000000\n"
    "impressions, bait share 0.15, intent spread 0, seed 1. Same options -> same\n"
    "bytes.\n"
    "\n"
    "The world: users have taste vectors (dim 8) around 8 clusters; age, gender and\n"
    "city follow the cluster; a clickiness level shifts pCTR. Items have categories\n"
    "whose taste vectors they share (plus noise), brands and shops with quality\n"
    "levels, and a price level following quality. cat_interest lists each user's\n"
    "2..5 favourite categories with weights. A share of items are click baits:\n"
    "high click appeal, low conversion given a click, mostly in a few shops.\n"
    "  pCTR = sigmoid(-4.2 + <taste_u, taste_i> + appeal_i + clickiness_u\n"
    "                 + position effect + scenario effect)\n"
    "  pCVR = sigmoid(-2.0 + 0.7 <taste_u, quality vector_i> + quality_i - 2.5 bait_i)\n"
    "Impressions: users by Zipf-like activity; items 65 % from the user's favourite\n"
    "categories, 35 % by popularity; click ~ Bernoulli(pCTR), conversion ~\n"
    "Bernoulli(pCVR) given a click. Split: a seeded draw per impression, 80 % train,\n"
    "10 % val, 10 % test. /truth holds p_click and p_conv per sample, the bait flag\n"
    "per item and every parameter needed to recompute the true probabilities of any\n"
    "(user, item) pair (default context: position 1, scenario 1).\n"
    "\n"
    "Purchase intent (--intent-spread s > 0): shoppers differ in what they come\n"
    "for. Each user has a latent intent I_u = s * e_u, e_u ~ N(0, 1): browsers\n"
    "(I_u < 0) click much, are drawn to click baits and buy little; buyers\n"
    "(I_u > 0) click less and buy more; a continuum between. It enters\n"
    "  pCTR: - 0.5 I_u - 0.8 I_u bait_i     pCVR: + 1.0 I_u\n"
    "so at s = 1 a user one standard deviation below the mean clicks with odds\n"
    "x1.65, clicks a bait with odds x3.7, and converts after a click with odds\n"
    "x0.37 (a buyer one above: the inverse). A user field purchase_level (1..5,\n"
    "the last field) shows the quintile of e_u + 0.75 N(0, 1), a noisy view of the\n"
    "intent, as Ali-CCP's consumption-level fields are. /truth/user_intent holds\n"
    "I_u, /truth:intent_spread s. With s = 0 (the default) none of this is drawn\n"
    "or written: the file is byte for byte the world without intent.\n";

static int data_synth(int argc, char **argv)
{
    synth_config c;
    synth_config_default(&c);
    const char *out = NULL;
    int64_t seed = (int64_t)c.seed;
    const cli_option options[] = {
        CLI_OPT_STRING_REQ("--out", &out, "F.h5", "the dataset to write"),
        CLI_OPT_INT64("--users", &c.n_users, "N", "users (default 20000)", 0, 9e18),
        CLI_OPT_INT64("--items", &c.n_items, "N", "items (default 5000)", 0, 9e18),
        CLI_OPT_INT64("--impressions", &c.n_impressions, "N", "impressions (default 1000000)", 0, 9e18),
        CLI_OPT_DOUBLE("--bait-share", &c.bait_share, "X", "share of click-bait items (default 0.15)", 0, 0),
        CLI_OPT_DOUBLE("--intent-spread", &c.intent_spread, "X",
                       "sd of the users' purchase intent, 0 .. 3 (default 0: no intent)", 0, 0),
        CLI_OPT_INT64("--seed", &seed, "S", "seed (default 1)", 0, 9e18),
    };
    const cli_command cmd = {"data synth", synth_usage, synth_about, NULL, options, 7, 0, 0, NULL};
    cli_list none;
    int rc = cli_parse(&cmd, argc, argv, &none);
    if (rc != CLI_PARSED) return rc;
    cli_list_free(&none);
    c.seed = (uint64_t)seed;
    /* Refused before generating: a directory or a missing directory would
     * only show at the final rename. */
    dmmp_status s = atomic_check_target("--out", out);
    if (s != DMMP_OK) return cli_report_error("data synth", s);
    synth_summary sum;
    s = synth_generate(&c, out, &sum);
    if (s != DMMP_OK) return cli_report_error("data synth", s);
    int64_t rows = sum.rows[0] + sum.rows[1] + sum.rows[2];
    int64_t clicks = sum.clicks[0] + sum.clicks[1] + sum.clicks[2];
    int64_t convs = sum.conversions[0] + sum.conversions[1] + sum.conversions[2];
    printf("wrote %s: %lld impressions, %lld users, %lld items (%lld baits) in %.2f s\n", out, (long long)rows,
           (long long)c.n_users, (long long)c.n_items, (long long)sum.n_baits, sum.seconds);
    printf("CTR %.4f, CVR given click %.4f, CTCVR %.5f\n", rows ? (double)clicks / rows : 0.0,
           clicks ? (double)convs / clicks : 0.0, rows ? (double)convs / rows : 0.0);
    return 0;
}

static const char *side_name(field_side s)
{
    static const char *names[] = {"user", "item", "context", "cross"};
    return (int)s >= 0 && (int)s < 4 ? names[s] : "?";
}

static int data_inspect(int argc, char **argv)
{
    static const cli_command cmd = {
        "data inspect", "usage: dmmp data inspect F.h5",
        "Prints the fields (name, side, vocabulary size, multi-valued),\n"
        "rows per split, click and conversion rates per split, users and items,\n"
        "and for synthetic data the share of click-bait items.\n",
        NULL, NULL, 0, 1, 1, "dataset"};
    cli_list files;
    int rc = cli_parse(&cmd, argc, argv, &files);
    if (rc != CLI_PARSED) return rc;
    const char *path = files.items[0];
    cli_list_free(&files);
    dataset *d = NULL;
    dmmp_status s = dataset_open(&d, path);
    if (s != DMMP_OK) return cli_report_error("data inspect", s);
    const dataset_schema *sc = dataset_get_schema(d);
    /* Row 0 of /users and /items of imported data is the reserved unknown id
     * (ids never seen in training): not counted. */
    int32_t first_user = 0, first_item = 0;
    s = dataset_first_entity(d, SIDE_USER, &first_user);
    if (s == DMMP_OK) s = dataset_first_entity(d, SIDE_ITEM, &first_item);
    if (s != DMMP_OK) {
        dataset_close(d);
        return cli_report_error("data inspect", s);
    }
    int64_t n_users = dataset_n_users(d) > first_user ? dataset_n_users(d) - first_user : 0;
    int64_t n_items = dataset_n_items(d) > first_item ? dataset_n_items(d) - first_item : 0;
    printf("%s\n  name: %s\n  source: %s\n  samples: %lld, users: %lld, items: %lld (known from training; an\n"
           "  unknown id 0 not counted), chunk rows: %lld\n",
           dataset_path(d), dataset_name(d), dataset_source(d), (long long)dataset_n_samples(d), (long long)n_users,
           (long long)n_items, (long long)dataset_chunk_rows(d));
    printf("\nfields (%d):\n  %-20s %-8s %12s %6s %8s  %s\n", sc->n_fields, "name", "side", "vocab", "multi", "default",
           "raw values of ids 1, 2, 3");
    int n_raw = 0;
    for (int f = 0; f < sc->n_fields; f++) {
        raw_ids v;
        s = dataset_read_raw_ids(d, RAW_IDS_FIELD, f, &v);
        if (s != DMMP_OK) {
            dataset_close(d);
            return cli_report_error("data inspect", s);
        }
        char examples[200] = "", raw[48];
        size_t len = 0;
        for (int64_t i = 1; i <= 3 && i < v.n; i++)
            len += (size_t)snprintf(examples + len, sizeof examples - len, "%s%s", i > 1 ? ", " : "",
                                    raw_ids_format(&v, i, raw, sizeof raw));
        if (v.n == 0) snprintf(examples, sizeof examples, "(not stored)");
        n_raw += v.n > 0;
        printf("  %-20s %-8s %12lld %6s %8d  %s\n", sc->fields[f].name, side_name(sc->fields[f].side),
               (long long)sc->fields[f].vocab_size, sc->fields[f].multi ? "yes" : "no", dataset_default_id(d, f),
               examples);
        raw_ids_free(&v);
    }
    raw_ids users, items;
    s = dataset_read_raw_ids(d, RAW_IDS_USERS, 0, &users);
    if (s == DMMP_OK) s = dataset_read_raw_ids(d, RAW_IDS_ITEMS, 0, &items);
    if (s != DMMP_OK) {
        raw_ids_free(&users);
        dataset_close(d);
        return cli_report_error("data inspect", s);
    }
    if (users.n || items.n) {
        char a[48], b[48], c[48], e[48];
        int32_t fu = first_user, fi = first_item;
        printf("raw ids: %d of %d field vocabularies (/vocab), users (/users/raw_id: %s, %s, ...), items "
               "(/items/raw_id: %s, %s, ...)\n",
               n_raw, sc->n_fields, raw_ids_format(&users, fu, a, sizeof a), raw_ids_format(&users, fu + 1, b, sizeof b),
               raw_ids_format(&items, fi, c, sizeof c), raw_ids_format(&items, fi + 1, e, sizeof e));
    } else {
        printf("raw ids: not stored (a file written before raw ids existed): ids print as #<index>\n");
    }
    raw_ids_free(&users);
    raw_ids_free(&items);
    if (sc->n_dense > 0) {
        printf("dense columns (%d):", sc->n_dense);
        for (int k = 0; k < sc->n_dense; k++) printf(" %s", sc->dense_names[k]);
        printf("\n");
    }
    static const char *splits[] = {"train", "val", "test"};
    printf("\n  %-6s %12s %10s %10s %12s %10s\n", "split", "rows", "clicks", "CTR", "CVR|click", "CTCVR");
    for (int k = 0; k < 3; k++) {
        dataset_split_stats st = dataset_split_stats_of(d, (data_split)k);
        printf("  %-6s %12lld %10lld %10.4f %12.4f %10.5f\n", splits[k], (long long)st.rows, (long long)st.clicks,
               st.rows ? (double)st.clicks / st.rows : 0.0, st.clicks ? (double)st.conversions / st.clicks : 0.0,
               st.rows ? (double)st.conversions / st.rows : 0.0);
    }
    if (dataset_has_truth(d)) {
        synth_world w;
        s = synth_world_load(&w, d);
        if (s != DMMP_OK) {
            dataset_close(d);
            return cli_report_error("data inspect", s);
        }
        int64_t baits = 0;
        for (int64_t i = 0; i < w.n_items; i++) baits += w.item_bait[i];
        printf("\nsynthetic ground truth: %lld click-bait items (share %.4f)\n", (long long)baits,
               w.n_items ? (double)baits / (double)w.n_items : 0.0);
        if (w.has_intent)
            printf("purchase intent: spread %.3g (pCTR -%.3g I_u - %.3g I_u bait_i, pCVR +%.3g I_u; /truth/user_intent)\n",
                   (double)w.intent_spread, (double)w.intent_click, (double)w.intent_bait, (double)w.intent_conv);
        else
            printf("purchase intent: none (every user alike)\n");
        synth_world_free(&w);
    }
    dataset_close(d);
    return 0;
}

static const char verify_about[] =
    "Reads every object of F.h5 (a dataset, a run's checkpoint.h5 or last.h5, its\n"
    "results.h5 or a benchmark record): every group and link, every attribute,\n"
    "every dataset in full, so that HDF5 checks every checksum in the file, also\n"
    "those over bytes no other command reads (the /truth arrays of a synthetic\n"
    "dataset, a checkpoint's optimizer moments, ...). Prints the kind of file, what\n"
    "it read and \"ok\".\n"
    "\n"
    "Exit status: 0 when every object reads; 2 at the first damaged object\n"
    "(\"F.h5: checksum mismatch in OBJECT: the file is damaged\"), for a file that is\n"
    "not HDF5, a directory or a missing path. A file written before checksums (no\n"
    "HDF5 1.10 format, or chunked datasets without Fletcher32) is read in full, in a\n"
    "child process (HDF5 can crash on its damaged structures: that is exit 2 naming\n"
    "the file and the object it was reading), and exits 0 too, but its last line\n"
    "says that it cannot be verified instead of \"ok\".\n";

static int data_verify(int argc, char **argv)
{
    static const cli_command cmd = {"data verify", "usage: dmmp data verify F.h5", verify_about, NULL, NULL, 0, 1, 1,
                                    "file"};
    cli_list files;
    int rc = cli_parse(&cmd, argc, argv, &files);
    if (rc != CLI_PARSED) return rc;
    const char *path = files.items[0];
    cli_list_free(&files);
    h5_verify_report r;
    dmmp_status s = h5_verify_file(path, &r);
    if (s != DMMP_OK) return cli_report_error("data verify", s);
    printf("%s: %s\n", path, file_kind_name(r.kind));
    printf("%s %lld groups, %lld datasets, %lld attributes", h5_verify_fully_checked(&r) ? "verified" : "read",
           (long long)r.groups, (long long)r.datasets, (long long)r.attributes);
    if (r.links) printf(", %lld links (not followed)", (long long)r.links);
    if (r.datatypes) printf(", %lld named datatypes", (long long)r.datatypes);
    printf(": %lld bytes of data, file %lld bytes\n", (long long)r.data_bytes, (long long)r.file_bytes);
    if (!r.metadata_checksummed)
        printf("written before checksums: its metadata and data cannot be verified\n");
    else if (r.unchecked_datasets)
        printf("written before checksums: the data of %lld dataset(s) (the first %s) carries no checksum and cannot be "
               "verified\n",
               (long long)r.unchecked_datasets, r.first_unchecked);
    else
        printf("ok\n");
    return 0;
}
