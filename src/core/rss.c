#include "core/rss.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

double rss_current_mb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return NAN;
    char line[256];
    double mb = NAN;
    while (fgets(line, sizeof line, f)) {
        long kib;
        /* The kernel reports "VmRSS:\t   1234 kB". */
        if (!strncmp(line, "VmRSS:", 6) && sscanf(line + 6, "%ld", &kib) == 1) {
            mb = (double)kib / 1024.0;
            break;
        }
    }
    fclose(f);
    return mb;
}
