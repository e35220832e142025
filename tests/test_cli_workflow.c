/* The whole command-line workflow on a small synthetic world, as a user runs
 * it: dmmp train interrupted by SIGINT (exit 130, last.h5 written, the resume
 * command, as invoked, printed), resumed to the end, then dmmp eval (metrics printed and
 * stored in results.h5), dmmp retrieve (its ids checked against /items) and
 * dmmp report. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "suites.h"
#include "test_robust.h"
#include "testutil.h"
#include "data/dataset.h"
#include "train/results.h"

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* dmmp retrieve prints one id per item, the item index, and names its
 * score: every row's category= is the category of that row of /items/sparse
 * (read here with the dataset API), and item_id (index + 1 on synthetic
 * data) is not printed beside it. */
static void check_retrieve_ids(const char *out, const char *data)
{
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "score: the tower inner product"));
    TU_ASSERT_MSG(strstr(out, "item_id=") == NULL, "a second item id printed: %s", out);
    dataset *d = NULL;
    CU_ASSERT_EQUAL_FATAL(dataset_open(&d, data), DMMP_OK);
    int nf = dataset_side_fields(d, SIDE_ITEM, NULL);
    int *fields = malloc(sizeof(int) * (size_t)nf);
    int32_t *table = malloc(sizeof(int32_t) * (size_t)dataset_n_items(d) * (size_t)nf);
    CU_ASSERT_FATAL(fields && table);
    dataset_side_fields(d, SIDE_ITEM, fields);
    CU_ASSERT_EQUAL_FATAL(dataset_read_items(d, table), DMMP_OK);
    int category = -1;
    for (int c = 0; c < nf; c++)
        if (!strcmp(dataset_get_schema(d)->fields[fields[c]].name, "category")) category = c;
    CU_ASSERT_FATAL(category >= 0);
    int rows = 0;
    for (const char *line = out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        int rank = 0, item = -1;
        const char *cat = strstr(line, "category=");
        const char *eol = strchr(line, '\n');
        if (sscanf(line, "%d %d", &rank, &item) != 2 || !cat || (eol && cat > eol)) continue;
        CU_ASSERT_FATAL(item >= 0 && item < dataset_n_items(d));
        TU_ASSERT_MSG(atoi(cat + 9) == table[(size_t)item * (size_t)nf + (size_t)category],
                      "item %d: printed category %d, /items/sparse holds %d", item, atoi(cat + 9),
                      table[(size_t)item * (size_t)nf + (size_t)category]);
        rows++;
    }
    CU_ASSERT_EQUAL(rows, 5);
    free(fields);
    free(table);
    dataset_close(d);
}

static void test_interrupt_resume_eval(void)
{
    const char *dmmp = robust_dmmp();
    if (!dmmp) {
        tu_skip("cli workflow", "the dmmp command is not built (set DMMP_BUILDDIR)");
        return;
    }
    char dir[512], data[600], run[600], log[600], last[700], cfg[1024], out[16384];
    tu_tmpdir(dir, sizeof dir);
    snprintf(data, sizeof data, "%s/world.h5", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(log, sizeof log, "%s/train.out", dir);
    snprintf(last, sizeof last, "%s/last.h5", run);
    snprintf(cfg, sizeof cfg, "%s/experiments/configs/dmmp.ini", tu_srcdir());
    CU_ASSERT_FATAL(robust_synth(data, 400, 150, 40000, 3));

    /* A run long enough to be interrupted after its first epoch. */
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        FILE *o = freopen(log, "w", stdout);
        if (!o || dup2(fileno(stdout), 2) < 0) _exit(99);
        execl(dmmp, dmmp, "train", "--config", cfg, "--data", data, "--out", run, "--threads", "1", "--set",
              "train.epochs=60", "--set", "train.patience=60", "--set", "train.batch_size=256", (char *)NULL);
        _exit(98);
    }
    int waited = 0;
    while (!exists(last) && waited < 120000) {
        sleep_ms(20);
        waited += 20;
    }
    TU_ASSERT_MSG(exists(last), "no last.h5 after %d ms", waited);
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    CU_ASSERT_TRUE(WIFEXITED(status));
    TU_ASSERT_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 130, "train exited with status %d (signal %d)",
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    const char *text = slurp(log);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    TU_ASSERT_MSG(strstr(text, "--resume") != NULL, "no resume command in: %s", text);
    /* The resume command starts with the program as it was invoked (here
     * its full path), not a "dmmp" that may not be on the PATH. */
    char invoked[1200];
    snprintf(invoked, sizeof invoked, "Resume with:\n  %s train --config", dmmp);
    TU_ASSERT_MSG(strstr(text, invoked) != NULL, "no '%s' in: %s", invoked, text);

    /* Resume (more epochs than done so far would take long: stop at 2 more). */
    run_results r;
    char results_path[700];
    snprintf(results_path, sizeof results_path, "%s/results.h5", run);
    CU_ASSERT_EQUAL_FATAL(results_load(&r, results_path), DMMP_OK);
    int done = (int)r.epochs;
    results_free(&r);
    char epochs[64];
    snprintf(epochs, sizeof epochs, "train.epochs=%d", done + 2);
    const char *resume[] = {"train", "--config", cfg, "--data", data, "--out", run, "--threads", "1", "--set",
                            epochs, "--set", "train.patience=60", "--set", "train.batch_size=256", "--resume", NULL};
    int rc = robust_run_dmmp(resume, out, sizeof out);
    TU_ASSERT_MSG(rc == 0, "resume exited %d: %s", rc, out);
    CU_ASSERT_EQUAL_FATAL(results_load(&r, results_path), DMMP_OK);
    CU_ASSERT_EQUAL(r.epochs, done + 2);
    results_free(&r);

    const char *eval[] = {"eval", "--run", run, "--data", data, NULL};
    rc = robust_run_dmmp(eval, out, sizeof out);
    TU_ASSERT_MSG(rc == 0, "eval exited %d: %s", rc, out);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "click_recall@100"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "clickbait@20"));
    CU_ASSERT_EQUAL_FATAL(results_load(&r, results_path), DMMP_OK);
    double auc = 0, recall = -1;
    CU_ASSERT_TRUE(results_get_metric(&r, "test", "auc_ctr", &auc));
    CU_ASSERT_TRUE(results_get_metric(&r, "test", "purchase_recall@100", &recall));
    TU_ASSERT_MSG(auc > 0.5 && auc < 1.0, "auc_ctr %g", auc);
    CU_ASSERT(recall >= 0 && recall <= 1);
    results_free(&r);

    const char *retrieve[] = {"retrieve", "--run", run, "--data", data, "--user", "7", "--k", "5", NULL};
    rc = robust_run_dmmp(retrieve, out, sizeof out);
    TU_ASSERT_MSG(rc == 0, "retrieve exited %d: %s", rc, out);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "w_c"));
    check_retrieve_ids(out, data);

    const char *report[] = {"report", run, "--format", "csv", NULL};
    rc = robust_run_dmmp(report, out, sizeof out);
    TU_ASSERT_MSG(rc == 0, "report exited %d: %s", rc, out);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "dmmp,"));
}

int register_cli_workflow_suites(void)
{
    static const char *const names[] = {"train interrupted by SIGINT, resumed; eval, retrieve, report"};
    static const CU_TestFunc fns[] = {test_interrupt_resume_eval};
    return tu_add_suite("train_cli_workflow", names, fns, sizeof fns / sizeof fns[0]);
}
