#include "core/log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The logger is one of the two pieces of global state (with the ISA table). */
static log_level current_level = LOG_INFO;
static int level_from_env_done = 0;
static FILE *mirror = NULL;

static void level_from_env(void)
{
    const char *s = getenv("DMMP_LOG");
    level_from_env_done = 1;
    if (!s) return;
    if (!strcmp(s, "debug")) current_level = LOG_DEBUG;
    else if (!strcmp(s, "info")) current_level = LOG_INFO;
    else if (!strcmp(s, "warn")) current_level = LOG_WARN;
    else if (!strcmp(s, "error")) current_level = LOG_ERROR;
    else if (!strcmp(s, "quiet")) current_level = LOG_QUIET;
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
