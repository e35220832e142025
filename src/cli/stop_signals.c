#include "cli/stop_signals.h"

#include <pthread.h>
#include <string.h>

/* SIGUSR2, sent to the watcher alone, ends it once the work is done. */
static pthread_t watcher;
static int watching;
static sigset_t old_mask;
static volatile sig_atomic_t *stop_flag;
/* Set by the watcher once it runs its own code: stop_signals_start waits for
 * it (see stop_signals.h). */
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t start_cond = PTHREAD_COND_INITIALIZER;
static int started;

static void *watch(void *arg)
{
    (void)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR2);
    /* The thread's start-up (the sanitizers' own, which allocates) is over:
     * from here to sigwait nothing allocates. */
    pthread_mutex_lock(&start_lock);
    started = 1;
    pthread_cond_signal(&start_cond);
    pthread_mutex_unlock(&start_lock);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        if (sig == SIGUSR2) break;
        *stop_flag = 1;
    }
    return NULL;
}

int stop_signals_start(volatile sig_atomic_t *flag)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR2);
    if (pthread_sigmask(SIG_BLOCK, &set, &old_mask) != 0) return -1;
    stop_flag = flag;
    started = 0;
    if (pthread_create(&watcher, NULL, watch, NULL) != 0) {
        pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
        return -1;
    }
    pthread_mutex_lock(&start_lock);
    while (!started) pthread_cond_wait(&start_cond, &start_lock);
    pthread_mutex_unlock(&start_lock);
    watching = 1;
    return 0;
}

void stop_signals_stop(void)
{
    if (!watching) return;
    pthread_kill(watcher, SIGUSR2);
    pthread_join(watcher, NULL);
    watching = 0;
    /* A SIGINT that came after the work ended stays pending until the mask
     * is restored, then acts as usual (the work already saw the flag or
     * finished). */
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
}
