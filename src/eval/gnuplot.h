/* Running gnuplot as a child process on a script file. */
#ifndef DMMP_EVAL_GNUPLOT_H
#define DMMP_EVAL_GNUPLOT_H

#include <stddef.h>

#include "core/status.h"

/* Finds program (a name searched on PATH, or a path holding a '/') and
 * writes its path into out (cap bytes); DMMP_EUNSUPPORTED with an install
 * hint (Debian: gnuplot-nox) when it is not there. */
dmmp_status gnuplot_find(const char *program, char *out, size_t cap);

/* Runs `program script_path` with stdin from /dev/null and stdout/stderr
 * into log_path; fails quoting the end of the log when gnuplot exits
 * non-zero or dies. */
dmmp_status gnuplot_run(const char *program, const char *script_path, const char *log_path);

#endif
