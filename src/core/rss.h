/* Resident memory of this process, for long-run stability checks: a trainer
 * that leaks shows an RSS that climbs epoch after epoch. */
#ifndef DMMP_CORE_RSS_H
#define DMMP_CORE_RSS_H

/* Current resident set size in MiB (VmRSS of /proc/self/status); NaN where
 * /proc is not available. */
double rss_current_mb(void);

#endif
