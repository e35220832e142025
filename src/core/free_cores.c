#include "core/free_cores.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"

int free_cores_wanted(int threads)
{
    const char *n = getenv("OMP_NUM_THREADS");
    return threads == 0 && !(n && *n);
}

int free_cores_team(double others, int cpus, int max_team)
{
    double free = (double)cpus - (others > 0 ? others : 0);
    int team = (int)floor(free + 0.5);
    if (team > max_team) team = max_team;
    return team < 1 ? 1 : team;
}

int free_cores_parse_stat(const char *line, uint64_t *busy, uint64_t *total)
{
    if (strncmp(line, "cpu ", 4)) return -1;
    /* user nice system idle iowait irq softirq steal; guest time is in user already */
    unsigned long long v[8];
    if (sscanf(line + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
               &v[6], &v[7]) != 8)
        return -1;
    *busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    *total = *busy + v[3] + v[4];
    return 0;
}

/* The machine's ticks and processor count from /proc/stat. */
static int read_stat(uint64_t *busy, uint64_t *total, int *cpus)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return -1;
    char line[512];
    int ok = -1, n = 0;
    if (fgets(line, sizeof line, f)) ok = free_cores_parse_stat(line, busy, total);
    while (ok == 0 && fgets(line, sizeof line, f) && !strncmp(line, "cpu", 3)) n++;
    fclose(f);
    *cpus = n;
    return ok == 0 && n > 0 ? 0 : -1;
}

/* Starts a window now. */
static int window_start(free_cores *fc)
{
    fc->wall = clock_wall_seconds();
    fc->own = clock_cpu_seconds();
    return read_stat(&fc->busy, &fc->total, &fc->cpus);
}

void free_cores_init(free_cores *fc, int enabled)
{
    memset(fc, 0, sizeof *fc);
    fc->max_team = fc->team = fc->proposed = omp_get_max_threads();
    fc->enabled = enabled && fc->max_team > 1 && window_start(fc) == 0;
}

int free_cores_sample(free_cores *fc, double wall, double own, uint64_t busy, uint64_t total, int cpus)
{
    if (!fc->enabled || wall - fc->wall < FREE_CORES_WINDOW_S || total <= fc->total || busy < fc->busy)
        return fc->team;
    double machine = (double)(busy - fc->busy) / (double)(total - fc->total) * fc->cpus;
    fc->others = machine - (own - fc->own) / (wall - fc->wall);
    int want = free_cores_team(fc->others, fc->cpus, fc->max_team);
    if (want != fc->team && want == fc->proposed) {
        log_debug("OpenMP team: %d threads, was %d (other programs used %.2f of %d processors)", want, fc->team,
                  fc->others, fc->cpus);
        fc->team = want;
        fc->changes++;
        omp_set_num_threads(want);
    }
    fc->proposed = want;
    fc->wall = wall;
    fc->own = own;
    fc->busy = busy;
    fc->total = total;
    fc->cpus = cpus;
    return fc->team;
}

int free_cores_update(free_cores *fc)
{
    if (!fc->enabled) return fc->team;
    double wall = clock_wall_seconds();
    if (wall - fc->wall < FREE_CORES_WINDOW_S) return fc->team;
    uint64_t busy, total;
    int cpus;
    if (read_stat(&busy, &total, &cpus) != 0) return fc->team;
    return free_cores_sample(fc, wall, clock_cpu_seconds(), busy, total, cpus);
}
