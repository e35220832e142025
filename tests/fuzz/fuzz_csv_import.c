/* Fuzz target: the CSV importers' row handling (src/data/import_csv.c
 * through import_aliccp_csv and import_aliexpress), end to end: the input is
 * a whole CSV file, imported into a temporary HDF5 file.
 *
 * The first byte picks the options (bit 0: skip bad lines; bit 1: hash the
 * item ids into buckets; bit 2: import the same file as the test split too (always for AliExpress, which requires one);
 * bit 3: the AliExpress layout). Properties: the status, the message, the
 * report and the output bytes are the same with 1 and 3 parser threads; on
 * failure no file is left under the output name; on success the file opens
 * with the dataset reader, holds the reported rows, and every sparse id,
 * user and item is inside its vocabulary. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "data/dataset.h"
#include "data/import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail_property(const char *what)
{
    fprintf(stderr, "csv import property violated: %s\n", what);
    abort();
}

static char work_dir[256];

static int setup(void)
{
    if (work_dir[0]) return 1;
    snprintf(work_dir, sizeof work_dir, "/tmp/dmmp-fuzz-import-XXXXXX");
    if (!mkdtemp(work_dir)) {
        work_dir[0] = '\0';
        return 0;
    }
    log_set_level(LOG_ERROR);
    return 1;
}

typedef struct outcome {
    dmmp_status status;
    char error[512];
    import_report rep;
    unsigned char *bytes;
    long n_bytes;
} outcome;

static void slurp(const char *path, outcome *o)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_property("the reported output file is missing");
    fseek(f, 0, SEEK_END);
    o->n_bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    o->bytes = malloc((size_t)o->n_bytes + 1);
    if (!o->bytes || fread(o->bytes, 1, (size_t)o->n_bytes, f) != (size_t)o->n_bytes) fail_property("reading back");
    fclose(f);
}

static void run_import(const char *in, const char *out, unsigned flags, int threads, outcome *o)
{
    import_options opt;
    import_options_default(&opt);
    opt.out = out;
    opt.progress = 0;
    opt.threads = threads;
    opt.val_fraction = 0.25;
    opt.skip_bad_lines = flags & 1;
    memset(o, 0, sizeof *o);
    unlink(out);
    if (flags & 8) {
        opt.hash_spec = flags & 2 ? "categorical_7=5" : NULL;
        o->status = import_aliexpress(in, in, "categorical_1", &opt, &o->rep); /* test is required */
    } else {
        opt.hash_spec = flags & 2 ? "205=5" : NULL;
        o->status = import_aliccp_csv(in, NULL, flags & 4 ? in : NULL, &opt, &o->rep);
    }
    if (o->status != DMMP_OK) {
        snprintf(o->error, sizeof o->error, "%s", dmmp_errmsg());
        if (access(out, F_OK) == 0) fail_property("a failed import left its output file");
        if (!o->error[0]) fail_property("a failure without a message");
        return;
    }
    slurp(out, o);
}

/* Opens out and checks every row against the report and the vocabularies. */
static void check_dataset(const char *out, const import_report *rep)
{
    dataset *d;
    if (dataset_open(&d, out) != DMMP_OK) {
        fprintf(stderr, "%s\n", dmmp_errmsg());
        fail_property("the imported file does not open");
    }
    int64_t n = dataset_n_samples(d);
    if (n != rep->rows[0] + rep->rows[1] + rep->rows[2]) fail_property("row count");
    dataset_block b;
    memset(&b, 0, sizeof b);
    if (dataset_read_block(d, 0, n, &b) != DMMP_OK) fail_property("reading the rows");
    const dataset_schema *sc = dataset_get_schema(d);
    int n_single = dataset_n_single(d);
    for (int64_t r = 0; r < n; r++) {
        if (b.click[r] > 1 || b.conversion[r] > b.click[r] || b.split[r] > 2) fail_property("labels or split");
        if (b.user[r] < 0 || b.user[r] >= dataset_n_users(d) || b.item[r] < 0 || b.item[r] >= dataset_n_items(d))
            fail_property("user or item index");
        for (int f = 0; f < sc->n_fields; f++) {
            int c = dataset_single_column(d, f);
            if (c < 0) continue;
            int32_t id = b.sparse[r * n_single + c];
            if (id < 0 || id >= sc->fields[f].vocab_size) fail_property("sparse id outside its vocabulary");
        }
    }
    dataset_block_free(&b);
    dataset_close(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 16384 || !setup()) return 0;
    char in[300], out1[300], out3[300];
    snprintf(in, sizeof in, "%s/in.csv", work_dir);
    snprintf(out1, sizeof out1, "%s/one.h5", work_dir);
    snprintf(out3, sizeof out3, "%s/three.h5", work_dir);
    FILE *f = fopen(in, "wb");
    if (!f) return 0;
    fwrite(data + 1, 1, size - 1, f);
    fclose(f);
    outcome one, three;
    run_import(in, out1, data[0], 1, &one);
    run_import(in, out3, data[0], 3, &three);
    if (one.status != three.status || strcmp(one.error, three.error)) fail_property("status depends on threads");
    if (one.status == DMMP_OK) {
        one.rep.seconds = three.rep.seconds = 0;
        if (memcmp(&one.rep, &three.rep, sizeof one.rep)) fail_property("report depends on threads");
        if (one.n_bytes != three.n_bytes || memcmp(one.bytes, three.bytes, (size_t)one.n_bytes))
            fail_property("output bytes depend on threads");
        check_dataset(out1, &one.rep);
    }
    free(one.bytes);
    free(three.bytes);
    unlink(out1);
    unlink(out3);
    return 0;
}
