/* robust_cli: every subcommand of the built dmmp with a missing required
 * option, an unknown option, a missing file or an absurd configuration.
 * Each must exit with status 2 (bad usage or input), print a line that
 * points to the usage, and name what is wrong; never die by a signal. */
#include <config.h> /* PACKAGE_VERSION */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test_robust.h"
#include "testutil.h"

typedef struct cli_case {
    const char *args[12];
    int code;         /* expected exit status */
    const char *says; /* the output must contain this */
    int usage;        /* 1: a usage error, the output must point to the usage */
} cli_case;

/* dir is substituted for "@" at the start of an argument. */
static void run_cases(const cli_case *cases, size_t n, const char *dir)
{
    char out[8192];
    for (size_t i = 0; i < n; i++) {
        const char *args[12];
        char storage[12][600];
        int k = 0;
        for (; cases[i].args[k]; k++) {
            if (cases[i].args[k][0] == '@') {
                snprintf(storage[k], sizeof storage[k], "%s%s", dir, cases[i].args[k] + 1);
                args[k] = storage[k];
            } else {
                args[k] = cases[i].args[k];
            }
        }
        args[k] = NULL;
        int code = robust_run_dmmp(args, out, sizeof out);
        char shown[256] = "";
        for (int j = 0; args[j]; j++)
            snprintf(shown + strlen(shown), sizeof shown - strlen(shown), " %s", cases[i].args[j]);
        TU_ASSERT_MSG(code >= 0 && code < 128, "dmmp%s: killed by signal %d", shown, code - 128);
        TU_ASSERT_MSG(code == cases[i].code, "dmmp%s: exit %d, expected %d; output:\n%s", shown, code, cases[i].code,
                      out);
        TU_ASSERT_MSG(strstr(out, cases[i].says) != NULL, "dmmp%s: output lacks '%s':\n%s", shown, cases[i].says,
                      out);
        if (cases[i].usage)
            TU_ASSERT_MSG(strstr(out, "usage") || strstr(out, "--help"), "dmmp%s: no usage line:\n%s", shown, out);
    }
}

static int have_dmmp(const char *test)
{
    if (robust_dmmp()) return 1;
    tu_skip(test, "the dmmp command is not built (set DMMP_BUILDDIR)");
    return 0;
}

static void test_usage_errors(void)
{
    if (!have_dmmp("cli usage errors")) return;
    char dir[512];
    tu_tmpdir(dir, sizeof dir);
    static const cli_case cases[] = {
        {{NULL}, 2, "usage: dmmp", 1},
        {{"no-such-command", NULL}, 2, "no-such-command", 1},
        {{"env", "--bogus", NULL}, 2, "--bogus", 1},
        {{"config", NULL}, 2, "usage: dmmp config", 1},
        {{"config", "frobnicate", NULL}, 2, "frobnicate", 1},
        {{"config", "show", "--bogus", NULL}, 2, "--bogus", 1},
        {{"config", "show", "--set", NULL}, 2, "--set", 1},
        {{"config", "keys", "extra", NULL}, 2, "no arguments", 1},
        {{"config", "show", "@/absent.ini", NULL}, 2, "absent.ini", 1},
        {{"data", NULL}, 2, "usage: dmmp data", 1},
        {{"data", "frobnicate", NULL}, 2, "frobnicate", 1},
        {{"data", "synth", NULL}, 2, "--out", 1},
        {{"data", "synth", "--bogus", "1", NULL}, 2, "--bogus", 1},
        {{"data", "synth", "--out", NULL}, 2, "--out", 1},
        {{"data", "synth", "--out", "@/x.h5", "--users", "many", NULL}, 2, "--users", 1},
        {{"data", "inspect", NULL}, 2, "usage: dmmp data inspect", 1},
        {{"data", "inspect", "@/absent.h5", NULL}, 2, "absent.h5", 1},
        {{"data", "inspect", "a.h5", "b.h5", NULL}, 2, "dmmp data inspect --help", 1},
        {{"data", "inspect", NULL}, 2, "no dataset given", 1},
        {{"data", "inspect", "a.h5", "b.h5", NULL}, 2, "extra argument 'b.h5'", 1},
        /* output targets are checked before any work */
        {{"data", "synth", "--out", "@", "--users", "50", "--items", "20", "--impressions", "100", NULL}, 2,
         "is a directory", 1},
        {{"data", "synth", "--out", "@/nodir/x.h5", "--users", "50", "--items", "20", "--impressions", "100", NULL},
         2, "nodir does not exist", 1},
        {{"data", "import", "aliccp-csv", "--train", "@/absent.csv", "--out", "@", "--quiet", NULL}, 2,
         "is a directory", 1},
        {{"bench", "gemm", "--size", "64", "--repeat", "1", "--out", "@/nodir/b.h5", NULL}, 2,
         "nodir does not exist", 1},
        {{"report", "@", "--out", "@/nodir/t.md", NULL}, 2, "nodir does not exist", 1},
        {{"--version", NULL}, 0, "dmmp " PACKAGE_VERSION, 0},
        {{"data", "import", NULL}, 2, "usage: dmmp data import", 1},
        {{"data", "import", "aliccp-csv", "--out", "@/o.h5", NULL}, 2, "--train", 1},
        {{"data", "import", "aliccp-csv", "--train", "@/t.csv", NULL}, 2, "--out", 1},
        {{"data", "import", "aliccp-csv", "--bogus", "1", NULL}, 2, "--bogus", 1},
        {{"data", "import", "aliccp-csv", "--train", "@/absent.csv", "--out", "@/o.h5", "--quiet", NULL}, 2,
         "absent.csv", 1},
        {{"data", "import", "aliccp-raw", "--out", "@/o.h5", NULL}, 2, "--skeleton-train", 1},
        {{"data", "import", "aliexpress", "--train", "@/absent.csv", "--out", "@/o.h5", NULL}, 2, "--test", 1},
        {{"data", "import", "nosuchformat", "--out", "@/o.h5", NULL}, 2, "nosuchformat", 1},
        {{"data", "import", "aliccp-csv", "--train", "@/t.csv", "--out", "@/o.h5", "--threads", "0", NULL}, 2,
         "--threads", 1},
        {{"data", "gen-aliccp-raw", NULL}, 2, "--out-dir", 1},
        {{"data", "gen-aliccp-raw", "--out-dir", "@", "--rows", "-5", NULL}, 2, "--rows", 1},
        {{"data", "gen-aliccp-raw", "--bogus", "1", NULL}, 2, "--bogus", 1},
        {{"bench", NULL}, 2, "usage: dmmp bench", 1},
        {{"bench", "frobnicate", NULL}, 2, "frobnicate", 1},
        {{"bench", "retrieve", "--bogus", NULL}, 2, "--bogus", 1},
        {{"bench", "retrieve", "--items", NULL}, 2, "--items", 1},
        {{"bench", "retrieve", "--k", "0", NULL}, 2, "--k", 1},
        {{"bench", "train", "--config", "@/absent.ini", NULL}, 2, "absent.ini", 1},
        {{"bench", "gemm", "--size", "5", NULL}, 2, "--size", 1},
        {{"report", NULL}, 2, "usage: dmmp report", 1},
        {{"report", "--bogus", NULL}, 2, "--bogus", 1},
        {{"report", "@/absent", NULL}, 2, "absent", 1},
        {{"report", "@", "--format", "xml", NULL}, 2, "xml", 1},
        {{"plot", NULL}, 2, "usage: dmmp plot", 1},
        {{"plot", "@", NULL}, 2, "--out", 1},
        {{"plot", "--bogus", NULL}, 2, "--bogus", 1},
        {{"plot", "@/absent", "--out", "@/x.png", NULL}, 2, "absent", 1},
        /* one parser: what some commands once read loosely is refused by every one */
        {{"data", "synth", "--out", "@/x.h5", "--users", "1e3", NULL}, 2, "--users '1e3': expected an integer", 1},
        {{"data", "import", "aliccp-csv", "--train", "@/t.csv", "--out", "@/o.h5", "--seed", "-1", NULL}, 2,
         "--seed '-1': expected an integer >= 0", 1},
        {{"data", "import", "aliccp-csv", "--train", "@/t.csv", "--out", "@/o.h5", "--val-fraction", "", NULL}, 2,
         "--val-fraction '': expected a number in [0, 1)", 1},
        {{"retrieve", "--run", "@", "--data", "@/d.h5", "--user", "1", "--k", "10x", NULL}, 2,
         "--k '10x': expected an integer in [1, 100000]", 1},
        {{"train", "--config", "@/c.ini", "--out", "@/r", "--threads", "4x", NULL}, 2, "--threads '4x'", 1},
        {{"eval", "--run", "@", "--data", "@/d.h5", "--which", "best", NULL}, 2,
         "--which 'best': expected checkpoint or last", 1},
        {{"train", "--confg", "@/c.ini", NULL}, 2, "unknown option '--confg' (did you mean --config?)", 1},
        {{"report", "@", "--format", NULL}, 2, "dmmp report: --format needs a value", 1},
        {{"config", "show", "a.ini", "b.ini", NULL}, 2, "extra argument 'b.ini'", 1},
        {{"env", "extra", NULL}, 2, "dmmp env: takes no arguments", 1},
    };
    run_cases(cases, sizeof cases / sizeof cases[0], dir);
}

/* Input files that exist but are wrong: a text file where HDF5 is expected,
 * a directory where a file is expected, an empty CSV. */
static void test_bad_files(void)
{
    if (!have_dmmp("cli bad files")) return;
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/text.h5", dir);
    CU_ASSERT_FATAL(robust_put(path, "this is not HDF5\n"));
    snprintf(path, sizeof path, "%s/empty.csv", dir);
    CU_ASSERT_FATAL(robust_put(path, ""));
    static const cli_case cases[] = {
        {{"data", "inspect", "@/text.h5", NULL}, 2, "not an HDF5 file", 0},
        {{"report", "@/text.h5", NULL}, 2, "text.h5", 0},
        {{"data", "import", "aliccp-csv", "--train", "@", "--out", "@/o.h5", "--quiet", NULL}, 2, "not a regular file", 0},
        {{"data", "import", "aliccp-csv", "--train", "@/empty.csv", "--out", "@/o.h5", "--quiet", NULL}, 2, "empty", 0},
        {{"data", "import", "aliccp-csv", "--train", "@/text.h5", "--out", "@/o.h5", "--quiet", NULL}, 2, "text.h5:1:", 0},
    };
    run_cases(cases, sizeof cases / sizeof cases[0], dir);
    snprintf(path, sizeof path, "%s/o.h5", dir);
    TU_ASSERT_MSG(robust_file_size(path) < 0, "a failed import left %s", path);
}

/* Occurrences of part in text. */
static int count_of(const char *text, const char *part)
{
    int n = 0;
    for (const char *p = strstr(text, part); p; p = strstr(p + 1, part)) n++;
    return n;
}

/* One error line and one usage hint, not two; DMMP_LOG is validated. */
static void test_error_lines(void)
{
    if (!have_dmmp("cli error lines")) return;
    char out[8192];
    const char *gemm[] = {"bench", "gemm", "--size", "1", NULL};
    int code = robust_run_dmmp(gemm, out, sizeof out);
    TU_ASSERT_MSG(code == 2 && count_of(out, "dmmp bench --help") == 1,
                  "bench gemm --size 1: exit %d, the help hint must appear once:\n%s", code, out);
    const char *old = getenv("DMMP_LOG");
    char saved[64] = "";
    if (old) snprintf(saved, sizeof saved, "%s", old);
    setenv("DMMP_LOG", "bogus", 1);
    const char *env[] = {"env", NULL};
    code = robust_run_dmmp(env, out, sizeof out);
    if (old) setenv("DMMP_LOG", saved, 1);
    else unsetenv("DMMP_LOG");
    TU_ASSERT_MSG(code == 2 && strstr(out, "DMMP_LOG=bogus") && strstr(out, "debug, info, warn, error or quiet"),
                  "DMMP_LOG=bogus dmmp env: exit %d:\n%s", code, out);
}

/* A file of the wrong kind (a directory, a checkpoint, results.h5, a dataset
 * where a run is expected, a truncated file) is bad input, exit 2, and the
 * message says what the file is and what was expected. */
static void test_wrong_kinds(void)
{
    if (!have_dmmp("cli wrong kinds of file")) return;
    char dir[512], data[700], ini[700], path[800], out[8192];
    CU_ASSERT_FATAL(robust_e2e_fixture(dir, sizeof dir, data, ini, sizeof data));
    snprintf(path, sizeof path, "%s/run", dir);
    const char *train[] = {"train", "--config", ini, "--data", data, "--out", path, NULL};
    int code = robust_run_dmmp(train, out, sizeof out);
    TU_ASSERT_MSG(code == 0, "train exited %d:\n%s", code, out);
    if (code != 0) return;
    snprintf(path, sizeof path, "%s/fake", dir);
    CU_ASSERT_FATAL(mkdir(path, 0755) == 0);
    snprintf(path, sizeof path, "%s/fake/checkpoint.h5", dir);
    CU_ASSERT_FATAL(robust_copy(data, path, -1));
    snprintf(path, sizeof path, "%s/run/results.h5", dir);
    char cut[800];
    snprintf(cut, sizeof cut, "%s/cut-results.h5", dir);
    CU_ASSERT_FATAL(robust_copy(path, cut, robust_file_size(path) / 2));
    snprintf(cut, sizeof cut, "%s/cut-data.h5", dir);
    CU_ASSERT_FATAL(robust_copy(data, cut, robust_file_size(data) / 2));
    static const cli_case cases[] = {
        {{"train", "--config", "@/tiny.ini", "--data", "@", "--out", "@/r1", NULL}, 2,
         "is a directory, expected a dataset", 0},
        {{"eval", "--run", "@/run", "--data", "@", NULL}, 2, "is a directory, expected a dataset", 0},
        {{"data", "inspect", "@", NULL}, 2, "is a directory, expected a dataset", 0},
        {{"eval", "--run", "@/run", "--data", "@/run/checkpoint.h5", NULL}, 2,
         "checkpoint.h5 is a checkpoint of a run (checkpoint.h5 or last.h5), expected a dataset", 0},
        {{"train", "--config", "@/tiny.ini", "--data", "@/run/last.h5", "--out", "@/r2", NULL}, 2,
         "last.h5 is a checkpoint of a run", 0},
        {{"retrieve", "--run", "@/run", "--data", "@/run/results.h5", "--user", "1", NULL}, 2,
         "results.h5 is the results of a run (results.h5), expected a dataset", 0},
        {{"data", "inspect", "@/run/results.h5", NULL}, 2, "is the results of a run", 0},
        {{"data", "inspect", "@/tiny.ini", NULL}, 2, "not an HDF5 file, expected a dataset", 0},
        {{"eval", "--run", "@/cut-data.h5", "--data", "@/data.h5", NULL}, 2, "expected a run directory", 0},
        {{"eval", "--run", "@/data.h5", "--data", "@/data.h5", NULL}, 2,
         "data.h5 is a dataset, expected a run directory", 0},
        {{"eval", "--run", "@/fake", "--data", "@/data.h5", NULL}, 2,
         "the file is a dataset, expected a checkpoint of a run", 0},
        {{"eval", "--run", "@/run", "--data", "@/cut-data.h5", NULL}, 2, "truncated", 0},
        {{"train", "--config", "@/tiny.ini", "--data", "@/cut-data.h5", "--out", "@/r3", NULL}, 2, "truncated", 0},
        {{"report", "@/data.h5", NULL}, 2, "data.h5 is a dataset, expected the results of a run", 0},
        {{"report", "@/run/checkpoint.h5", NULL}, 2, "is a checkpoint of a run", 0},
        {{"report", "@/cut-results.h5", NULL}, 2, "truncated", 0},
        {{"plot", "@/run", "--out", "@/nodir/q.png", NULL}, 2, "nodir does not exist", 1},
        {{"report", "@/run", "--out", "@/run", NULL}, 2, "is a directory", 1},
    };
    run_cases(cases, sizeof cases / sizeof cases[0], dir);
}

/* Configurations: an unknown key, absurd values; exit status 2 naming the key. */
static void test_bad_config(void)
{
    if (!have_dmmp("cli bad config")) return;
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir);
    const char *files[][2] = {
        {"unknown.ini", "[train]\nbatchsize = 5\n"},
        {"negative.ini", "[train]\nbatch_size = -4\n"},
        {"experts.ini", "[teacher]\nshared_experts = 0\nspecific_experts = 0\n"},
        {"garbage.ini", "[train\nepochs = 3\n"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i][0]);
        CU_ASSERT_FATAL(robust_put(path, files[i][1]));
    }
    static const cli_case cases[] = {
        {{"config", "show", "@/unknown.ini", NULL}, 2, "batchsize", 0},
        {{"config", "show", "@/negative.ini", NULL}, 2, "batch_size", 0},
        {{"config", "show", "@/experts.ini", NULL}, 2, "experts", 0},
        {{"config", "show", "@/garbage.ini", NULL}, 2, "garbage.ini", 0},
        {{"config", "show", "--set", "train.batch_size=-4", NULL}, 2, "batch_size", 0},
        {{"config", "show", "--set", "teacher.shared_experts=0", "--set", "teacher.specific_experts=0", NULL}, 2,
         "experts", 0},
        {{"config", "show", "--set", "train.learning_rate=nan", NULL}, 2, "learning_rate", 0},
        {{"config", "show", "--set", "nosuch.key=1", NULL}, 2, "nosuch", 0},
        {{"config", "ini", "--set", "train.epochs=0", NULL}, 2, "epochs", 0},
    };
    run_cases(cases, sizeof cases / sizeof cases[0], dir);
}

int register_robust_cli_suites(void)
{
    static const char *const names[] = {
        "every subcommand: missing/unknown option or missing file exits 2 with usage",
        "wrong input files exit 2 naming the file; no output left behind",
        "unknown key and absurd config values exit 2 naming the key",
        "one error line and one usage hint; DMMP_LOG=bogus refused",
        "a file of the wrong kind or a truncated one exits 2 saying what it is",
    };
    static const CU_TestFunc tests[] = {test_usage_errors, test_bad_files, test_bad_config, test_error_lines,
                                        test_wrong_kinds};
    return tu_add_suite("robust_cli", names, tests, sizeof tests / sizeof tests[0]);
}
