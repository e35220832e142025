/* Status codes and error messages.
 *
 * Every fallible function returns a dmmp_status. On failure it also records a
 * human-readable message (naming the file, line, field or parameter at fault)
 * in a per-thread buffer, read with dmmp_errmsg(). The message survives until
 * the next failure on the same thread. */
#ifndef DMMP_CORE_STATUS_H
#define DMMP_CORE_STATUS_H

typedef enum dmmp_status {
    DMMP_OK = 0,
    DMMP_EINVAL = 1,      /* bad argument, option or config value */
    DMMP_EIO = 2,         /* file system or HDF5 I/O failure */
    DMMP_ENOMEM = 3,      /* allocation failed */
    DMMP_EFORMAT = 4,     /* malformed input file or dataset */
    DMMP_EDNNL = 5,       /* oneDNN call failed */
    DMMP_EUNSUPPORTED = 6,/* CPU or build lacks a requested feature */
    DMMP_ENUMERIC = 7,    /* NaN or Inf where a finite number is required */
    DMMP_EINTERRUPTED = 8 /* stopped by a signal */
} dmmp_status;

/* Records a printf-style message for this thread and returns code. */
dmmp_status dmmp_fail(dmmp_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepends "prefix: " to this thread's current message; returns code. */
dmmp_status dmmp_fail_prefix(dmmp_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* This thread's last error message ("" when none). */
const char *dmmp_errmsg(void);

/* Clears this thread's error message. */
void dmmp_error_clear(void);

/* Short name of a status code, e.g. "invalid argument". */
const char *dmmp_status_name(dmmp_status code);

/* Evaluates expr; returns its status from the enclosing function on failure. */
#define DMMP_TRY(expr)                                   \
    do {                                                 \
        dmmp_status dmmp_try_s_ = (expr);                \
        if (dmmp_try_s_ != DMMP_OK) return dmmp_try_s_;  \
    } while (0)

#endif
