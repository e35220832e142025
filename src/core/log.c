#include "core/log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The logger is one of the two pieces of global state (with the ISA table). */
static log_level current_level = LOG_INFO;
static int level_from_env_done = 0;
static FILE *mirror = NULL;

/* The level named s, or -1 when s names none. */
static int level_named(const char *s)
{
    static const char *names[] = {"debug", "info", "warn", "error", "quiet"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

/* An unknown value keeps the level here; log_level_from_env reports it. */
static void level_from_env(void)
{
    const char *s = getenv("DMMP_LOG");
    level_from_env_done = 1;
    int level = s ? level_named(s) : -1;
    if (level >= 0) current_level = (log_level)level;
}

dmmp_status log_level_from_env(void)
{
    const char *s = getenv("DMMP_LOG");
    level_from_env();
    if (s && level_named(s) < 0)
        return dmmp_fail(DMMP_EINVAL, "DMMP_LOG=%s: unknown level (expected debug, info, warn, error or quiet)", s);
    return DMMP_OK;
}

void log_set_level(log_level level)
{
    level_from_env_done = 1;
    current_level = level;
}

log_level log_get_level(void)
{
    if (!level_from_env_done) level_from_env();
    return current_level;
}

void log_set_mirror(FILE *f) { mirror = f; }

void log_msg(log_level level, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    char line[2048];
    va_list ap;
    if (level < log_get_level() || level >= LOG_QUIET) return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "[%s] %s\n", names[level], line);
    if (mirror) {
        fprintf(mirror, "[%s] %s\n", names[level], line);
        fflush(mirror);
    }
}
