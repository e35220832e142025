/* The program's clocks: wall seconds that never step back (for durations and
 * rates) and the CPU seconds this process has used on all its threads. */
#ifndef DMMP_CORE_CLOCK_H
#define DMMP_CORE_CLOCK_H

/* Seconds of CLOCK_MONOTONIC: only differences mean something. */
double clock_wall_seconds(void);

/* Seconds of CLOCK_PROCESS_CPUTIME_ID: the CPU time of every thread so far. */
double clock_cpu_seconds(void);

#endif
