/* core/child_run: what a child process returns comes back whole; a child
 * killed by a signal, one that ends without a result and one that stalls
 * are told apart, with the last progress it reported. */
#include <CUnit/CUnit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/child_run.h"
#include "suites.h"
#include "testutil.h"

/* Fills out with a pattern and returns OK, or fails with a message. */
static dmmp_status work_returns(child_link *l, void *arg, void *out, size_t out_size)
{
    child_progress(l, "filling");
    if (arg) return dmmp_fail(DMMP_EFORMAT, "f.h5: checksum mismatch in %s: the file is damaged", (const char *)arg);
    unsigned char *p = out;
    for (size_t i = 0; i < out_size; i++) p[i] = (unsigned char)(i * 7 + 1);
    return DMMP_OK;
}

static void test_result_comes_back(void)
{
    static unsigned char out[100000]; /* more than a pipe holds at once */
    child_end end;
    dmmp_error_clear();
    CU_ASSERT_EQUAL(child_run(work_returns, NULL, out, sizeof out, 10, &end), DMMP_OK);
    CU_ASSERT(end.started && end.finished && !end.signal && !end.stalled);
    CU_ASSERT_STRING_EQUAL(end.last, "filling");
    int same = 1;
    for (size_t i = 0; i < sizeof out; i++) same &= out[i] == (unsigned char)(i * 7 + 1);
    CU_ASSERT(same);
    CU_ASSERT_EQUAL(child_run(work_returns, "/eval/test", out, sizeof out, 10, &end), DMMP_EFORMAT);
    CU_ASSERT(end.finished);
    CU_ASSERT_STRING_EQUAL(dmmp_errmsg(), "f.h5: checksum mismatch in /eval/test: the file is damaged");
    dmmp_error_clear();
}

static dmmp_status work_crashes(child_link *l, void *arg, void *out, size_t out_size)
{
    (void)out;
    (void)out_size;
    child_progress(l, "reading /a");
    child_progress(l, "reading /b");
    if (!strcmp(arg, "abort")) abort();
    if (!strcmp(arg, "segv")) raise(SIGSEGV);
    if (!strcmp(arg, "exit")) _exit(3);
    for (;;) pause(); /* "stall" */
}

static void test_ends_told_apart(void)
{
    char out[8];
    child_end end;
    CU_ASSERT_EQUAL(child_run(work_crashes, "abort", out, sizeof out, 10, &end), DMMP_EIO);
    CU_ASSERT(end.started && !end.finished && end.signal == SIGABRT && !end.stalled);
    CU_ASSERT_STRING_EQUAL(end.last, "reading /b");
    TU_ASSERT_MSG(strstr(dmmp_errmsg(), "killed by signal 6") && strstr(dmmp_errmsg(), "reading /b"), "%s",
                  dmmp_errmsg());
    /* A sanitizer build reports the fault itself and exits 1: no result either way. */
    CU_ASSERT_EQUAL(child_run(work_crashes, "segv", out, sizeof out, 10, &end), DMMP_EIO);
    CU_ASSERT(!end.finished && (end.signal == SIGSEGV || end.exit_status != 0));
    CU_ASSERT_EQUAL(child_run(work_crashes, "exit", out, sizeof out, 10, &end), DMMP_EIO);
    CU_ASSERT(!end.finished && end.signal == 0 && end.exit_status == 3);
    TU_ASSERT_MSG(strstr(dmmp_errmsg(), "exit status 3 without a result") != NULL, "%s", dmmp_errmsg());
    CU_ASSERT_EQUAL(child_run(work_crashes, "stall", out, sizeof out, 1, &end), DMMP_EIO);
    CU_ASSERT(!end.finished && end.stalled);
    CU_ASSERT_STRING_EQUAL(end.last, "reading /b");
    TU_ASSERT_MSG(strstr(dmmp_errmsg(), "no progress for 1 s") != NULL, "%s", dmmp_errmsg());
    dmmp_error_clear();
}

int register_child_run_suites(void)
{
    static const char *const names[] = {
        "status, message and a 100 kB result come back from the child",
        "a signal, an exit without a result and a stall are told apart, with the last progress",
    };
    static const CU_TestFunc fns[] = {test_result_comes_back, test_ends_told_apart};
    return tu_add_suite("core_child_run", names, fns, sizeof fns / sizeof fns[0]);
}
