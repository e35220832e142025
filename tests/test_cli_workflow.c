/* The whole command-line workflow on a small synthetic world, as a user runs
 * it: dmmp train interrupted by SIGINT (exit 130, last.h5 written, the resume
 * command, as invoked, printed), resumed to the end, then dmmp eval (metrics printed and
 * stored in results.h5), dmmp retrieve and dmmp report. */
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
