#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DMMP_ERRMSG_LEN 1024

/* Per-thread like errno: OpenMP workers and the prefetch thread may fail
 * independently without clobbering each other's message. */
static _Thread_local char errmsg[DMMP_ERRMSG_LEN];

dmmp_status dmmp_fail(dmmp_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
    return code;
}

dmmp_status dmmp_fail_prefix(dmmp_status code, const char *fmt, ...)
{
    char prefix[DMMP_ERRMSG_LEN];
    char old[DMMP_ERRMSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, errmsg, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof errmsg - 3) n = sizeof errmsg - 3;
    memcpy(errmsg, prefix, n);
    errmsg[n] = ':';
    errmsg[n + 1] = ' ';
    size_t room = sizeof errmsg - n - 3;
    size_t m = strlen(old);
    if (m > room) m = room;
    memcpy(errmsg + n + 2, old, m);
    errmsg[n + 2 + m] = '\0';
    return code;
}

const char *dmmp_errmsg(void) { return errmsg; }

void dmmp_error_clear(void) { errmsg[0] = '\0'; }

const char *dmmp_status_name(dmmp_status code)
{
    switch (code) {
    case DMMP_OK: return "ok";
    case DMMP_EINVAL: return "invalid argument";
    case DMMP_EIO: return "I/O error";
    case DMMP_ENOMEM: return "out of memory";
    case DMMP_EFORMAT: return "bad format";
    case DMMP_EDNNL: return "oneDNN error";
    case DMMP_EUNSUPPORTED: return "unsupported";
    case DMMP_ENUMERIC: return "non-finite number";
    case DMMP_EINTERRUPTED: return "interrupted";
    }
    return "unknown status";
}
