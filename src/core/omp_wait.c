#include "core/omp_wait.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"

extern char **environ;

static omp_wait_source source = OMP_WAIT_UNKNOWN;
static int exec_errno;

/* The value of name in the environment, or NULL when unset or empty. */
static const char *env_value(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

long omp_wait_spin_rounds(void)
{
    /* libgomp's do_spin: while the word is unchanged, a relaxed load and a pause */
    static int word;
    enum { ROUNDS = 20000 };
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = 1e9 * clock_wall_seconds();
        for (int i = 0; i < ROUNDS; i++) {
            if (__atomic_load_n(&word, __ATOMIC_RELAXED)) break;
#if defined(__x86_64__) || defined(__i386__)
            __asm__ volatile("pause" ::: "memory");
#else
            __asm__ volatile("" ::: "memory");
#endif
        }
        double ns = (1e9 * clock_wall_seconds() - t0) / ROUNDS;
        if (rep == 0 || ns < best) best = ns; /* the fastest: preemption only adds */
    }
    double rounds = best > 0 ? 1e3 * OMP_WAIT_SPIN_US / best : 1e6;
    if (rounds < 1000) rounds = 1000;
    if (rounds > 1000000) rounds = 1000000;
    return (long)rounds;
}

/* Executes the binary again with the program's GOMP_SPINCOUNT and the marker added; returns only on failure. */
static void reexec(char **argv)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        exec_errno = errno;
        return;
    }
    exe[n] = '\0';
    size_t count = 0;
    while (environ && environ[count]) count++;
    char **env = malloc((count + 3) * sizeof *env);
    if (!env) {
        exec_errno = ENOMEM;
        return;
    }
    static char policy[64];
    snprintf(policy, sizeof policy, "GOMP_SPINCOUNT=%ld", omp_wait_spin_rounds());
    char marker[64];
    snprintf(marker, sizeof marker, "%s=%ld", OMP_WAIT_MARKER, (long)getpid());
    size_t k = 0;
    /* an empty OMP_WAIT_POLICY or GOMP_SPINCOUNT counts as unset: dropped, not left to shadow ours */
    for (size_t i = 0; i < count; i++)
        if (strncmp(environ[i], OMP_WAIT_MARKER "=", sizeof OMP_WAIT_MARKER) &&
            strncmp(environ[i], "OMP_WAIT_POLICY=", 16) && strncmp(environ[i], "GOMP_SPINCOUNT=", 15))
            env[k++] = environ[i];
    env[k++] = policy;
    env[k++] = marker;
    env[k] = NULL;
    execve(exe, argv, env);
    exec_errno = errno;
    free(env);
}

void omp_wait_init(char **argv)
{
    const char *marker = getenv(OMP_WAIT_MARKER);
    /* exec keeps the process id: a marker naming another process was inherited, not ours */
    int reexecuted = marker && strtol(marker, NULL, 10) == (long)getpid();
    if (marker) unsetenv(OMP_WAIT_MARKER);
    const char *policy = env_value("OMP_WAIT_POLICY"), *spin = env_value("GOMP_SPINCOUNT");
    if (reexecuted && !policy && spin) {
        source = OMP_WAIT_PROGRAM;
        return;
    }
    if (policy || spin) {
        source = OMP_WAIT_USER;
        return;
    }
    if (!reexecuted) reexec(argv);
    source = OMP_WAIT_FALLBACK;
    log_debug("OpenMP wait policy: could not re-execute with a short spin (%s); libgomp's default",
              strerror(exec_errno ? exec_errno : EAGAIN));
}

omp_wait_source omp_wait_source_get(void)
{
    return source;
}

void omp_wait_describe(char *buf, size_t len)
{
    const char *policy = env_value("OMP_WAIT_POLICY"), *spin = env_value("GOMP_SPINCOUNT");
    switch (source) {
    case OMP_WAIT_PROGRAM:
        snprintf(buf, len, "short spin, GOMP_SPINCOUNT=%.20s (about %d us on this CPU, chosen by dmmp: OMP_WAIT_POLICY and "
                 "GOMP_SPINCOUNT were unset)", spin ? spin : "?", OMP_WAIT_SPIN_US);
        return;
    case OMP_WAIT_FALLBACK:
        snprintf(buf, len, "libgomp default, spin then sleep (dmmp could not re-execute itself with its short spin)");
        return;
    default:
        break;
    }
    if (!policy && !spin) {
        snprintf(buf, len, "libgomp default, spin then sleep (OMP_WAIT_POLICY and GOMP_SPINCOUNT unset)");
        return;
    }
    char what[128] = "";
    if (policy) snprintf(what, sizeof what, "OMP_WAIT_POLICY=%.40s", policy);
    if (spin) snprintf(what + strlen(what), sizeof what - strlen(what), "%sGOMP_SPINCOUNT=%.40s", policy ? " " : "", spin);
    snprintf(buf, len, "%s (set in the environment, by the user)", what);
}
