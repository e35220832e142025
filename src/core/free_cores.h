/* The OpenMP team sized to the processors other programs leave free.
 *
 * On a machine shared with a CPU-bound process, a team as large as the
 * machine loses twice: its threads take turns with the other process on the
 * same processors, and every barrier of a step waits for the thread that is
 * not running (bench train next to one busy process on 2 cores: a quarter
 * of its speed alone, where a fair share is half). A team of the free
 * processors runs each thread on a processor of its own.
 *
 * The monitor compares, over windows of at least FREE_CORES_WINDOW_S, the
 * busy time of the whole machine (/proc/stat: every state but idle and
 * iowait, steal included) with this process's own CPU time; the difference
 * is what other programs used, in processors. The team is the processors
 * left, rounded, between 1 and the team the run started with. A new size
 * takes effect after two windows in a row agree on it, so a short burst of
 * another program does not change it. Thread counts change only how the work
 * is spread: the results of a step do not depend on them (nn/dnnl_matmul).
 *
 * The monitor is on only where dmmp chooses the team itself: train.threads
 * = 0 and OMP_NUM_THREADS unset (free_cores_wanted). */
#ifndef DMMP_CORE_FREE_CORES_H
#define DMMP_CORE_FREE_CORES_H

#include <stdint.h>

#define FREE_CORES_WINDOW_S 0.25

typedef struct free_cores {
    int enabled;
    int max_team;        /* the team the run started with */
    int team;            /* the team in use */
    int proposed;        /* the size the last window asked for */
    int changes;         /* times the team changed */
    double others;       /* processors other programs used in the last window */
    double wall, own;    /* at the window's start: wall clock, own CPU seconds */
    uint64_t busy, total; /* at the window's start: /proc/stat ticks of the machine */
    int cpus;            /* processors /proc/stat counts */
} free_cores;

/* 1 when dmmp sizes the team: threads = 0 (all processors) and
 * OMP_NUM_THREADS unset or empty. */
int free_cores_wanted(int threads);

/* Starts the monitor for the current team (omp_get_max_threads()); off when
 * enabled is 0 or /proc/stat cannot be read, and then update does nothing. */
void free_cores_init(free_cores *fc, int enabled);

/* At a step's end: when a window has passed, measures it and resizes the
 * team (omp_set_num_threads) when two windows in a row ask for a new size.
 * Returns the team in use. */
int free_cores_update(free_cores *fc);

/* The measurement of update, given the window's end: wall clock and own CPU
 * seconds, the machine's busy and total ticks and its processor count. Does
 * nothing before FREE_CORES_WINDOW_S has passed or when no tick has. */
int free_cores_sample(free_cores *fc, double wall, double own, uint64_t busy, uint64_t total, int cpus);

/* The team for `others` processors used by other programs on a machine of
 * `cpus`, at most max_team: cpus - others rounded to the nearest, in
 * [1, max_team]. */
int free_cores_team(double others, int cpus, int max_team);

/* Busy and total ticks of /proc/stat's first line ("cpu  user nice system
 * idle iowait irq softirq steal ..."): busy is every field but idle and
 * iowait. 0 on success, -1 when the text is not such a line. */
int free_cores_parse_stat(const char *line, uint64_t *busy, uint64_t *total);

#endif
