/* The logger: leveled messages to stderr, optionally mirrored to a file. */
#ifndef DMMP_CORE_LOG_H
#define DMMP_CORE_LOG_H

#include <stdio.h>

#include "core/status.h"

typedef enum { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3, LOG_QUIET = 4 } log_level;

/* Sets the minimum level printed (default LOG_INFO; DMMP_LOG=debug|info|warn|error|quiet). */
void log_set_level(log_level level);

/* Sets the level from DMMP_LOG (unset: LOG_INFO); fails with EINVAL naming the
 * valid levels when DMMP_LOG holds another value. */
dmmp_status log_level_from_env(void);

log_level log_get_level(void);

/* Mirrors every message to f as well (NULL stops mirroring). Not owned. */
void log_set_mirror(FILE *f);

/* Prints one line "[level] message" when level is enabled. */
void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
