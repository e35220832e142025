/* gnuplot as a child process: found on PATH, spawned without a shell (no
 * quoting of user paths needed), its output kept for error messages. */
#include "eval/gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int is_executable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

dmmp_status gnuplot_find(const char *program, char *out, size_t cap)
{
    if (strchr(program, '/')) {
        if (is_executable_file(program) && (size_t)snprintf(out, cap, "%s", program) < cap) return DMMP_OK;
    } else {
        const char *path = getenv("PATH");
        for (const char *dir = path && *path ? path : "/usr/bin:/bin"; dir;) {
            const char *colon = strchr(dir, ':');
            int len = colon ? (int)(colon - dir) : (int)strlen(dir);
            /* An empty PATH entry means the current directory. */
            int n = snprintf(out, cap, "%.*s/%s", len ? len : 1, len ? dir : ".", program);
            if (n > 0 && (size_t)n < cap && is_executable_file(out)) return DMMP_OK;
            dir = colon ? colon + 1 : NULL;
        }
    }
    return dmmp_fail(DMMP_EUNSUPPORTED,
                     "%s not found%s: plots are drawn by gnuplot; install it (Debian/Ubuntu: apt-get install "
                     "gnuplot-nox)",
                     program, strchr(program, '/') ? "" : " on PATH");
}

/* The last bytes of the log, one line, for the error message. */
static void log_tail(const char *log_path, char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen(log_path, "r");
    if (!f) return;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        long from = size > (long)cap - 1 ? size - (long)cap + 1 : 0;
        if (fseek(f, from, SEEK_SET) == 0) {
            size_t n = fread(buf, 1, cap - 1, f);
            buf[n] = '\0';
        }
    }
    fclose(f);
    for (char *c = buf; *c; c++)
        if (*c == '\n') *c = ' ';
}

dmmp_status gnuplot_run(const char *program, const char *script_path, const char *log_path)
{
    posix_spawn_file_actions_t actions;
    if (posix_spawn_file_actions_init(&actions) != 0) return dmmp_fail(DMMP_ENOMEM, "cannot prepare to run %s", program);
    int rc = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (rc == 0) rc = posix_spawn_file_actions_addopen(&actions, 1, log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = -1;
    char *argv[] = {(char *)program, (char *)script_path, NULL};
    if (rc == 0) rc = posix_spawn(&pid, program, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return dmmp_fail(DMMP_EIO, "cannot run %s: %s", program, strerror(rc));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return dmmp_fail(DMMP_EIO, "waiting for %s failed: %s", program, strerror(errno));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return DMMP_OK;
    char tail[600];
    log_tail(log_path, tail, sizeof tail);
    if (WIFSIGNALED(status))
        return dmmp_fail(DMMP_EIO, "%s was killed by signal %d; its output: %s", program, WTERMSIG(status), tail);
    return dmmp_fail(DMMP_EIO, "%s %s exited with status %d; its output: %s", program, script_path,
                     WEXITSTATUS(status), tail);
}
