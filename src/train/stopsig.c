/* stopsig.c: stop signals taken by a watcher thread, acted on by phase (see
 * stopsig.h). The only process-wide state of training besides the thread
 * pool: one struct, guarded by its mutex. */
#include "train/stopsig.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "train/dist.h"

static struct {
    pthread_mutex_t mu;        /* phase, msg, and the decision to exit */
    pthread_t thread;
    int begun, watching, parent_forwards;
    pid_t pid;                 /* of the process that began: a fork()ed child has no watcher */
    StopPhase phase;
    char msg[1024];            /* printed when a signal ends the process at once */
    atomic_int requested;      /* the first stop signal, 0 until one came */
    sigset_t old_mask;
    struct sigaction old_xfsz;
} g_stop = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void stop_set(sigset_t *s) {
    sigemptyset(s);
    sigaddset(s, SIGINT);
    sigaddset(s, SIGTERM);
    sigaddset(s, SIGUSR1);
}

/* End the process now (mutex held, so no phase change races with it):
 * nothing is flushed or freed; files being written are temp files. */
static _Noreturn void die_now(int sig, const char *why) {
    char line[1200];
    int n = snprintf(line, sizeof line, "pifi: %s (%s)\n", why, sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM"
                                                                                   : "SIGUSR1");
    if (n > 0) {
        ssize_t w = write(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
        (void)w;
    }
    _exit(128 + sig);
}

static void *watch(void *arg) {
    (void)arg;
    sigset_t set;
    stop_set(&set);
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&set, &si); /* a cancellation point: stop_end cancels here */
        if (sig <= 0) continue;
        int old;
        pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
        pthread_mutex_lock(&g_stop.mu);
        int from_parent = si.si_code == SI_USER && si.si_pid == getppid();
        StopPhase p = g_stop.phase;
        if (atomic_load(&g_stop.requested) == 0) {
            atomic_store(&g_stop.requested, sig);
            if (p == STOP_PHASE_LOAD || p == STOP_PHASE_EVAL) die_now(sig, g_stop.msg);
            if (p == STOP_PHASE_FINISH) {
                static const char note[] = "pifi: stopping after this evaluation, once the epoch is saved "
                                           "(a second signal stops at once)\n";
                ssize_t w = write(STDERR_FILENO, note, sizeof note - 1);
                (void)w;
            }
        } else if (!(g_stop.parent_forwards && from_parent)) {
            die_now(sig, p == STOP_PHASE_STEPS || p == STOP_PHASE_FINISH ? g_stop.msg
                                                                         : "stopped at once by a second signal");
        }
        pthread_mutex_unlock(&g_stop.mu);
        pthread_setcancelstate(old, NULL);
    }
    return NULL;
}

void stop_begin(int parent_forwards) {
    if (g_stop.begun && g_stop.pid == getpid()) return;
    sigset_t set;
    stop_set(&set);
    if (g_stop.begun) { /* a fork()ed child: the mask came along, the parent's watcher did not */
        pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
        g_stop.mu = fresh;
        g_stop.watching = 0;
        pthread_sigmask(SIG_BLOCK, &set, NULL);
    } else {
        pthread_sigmask(SIG_BLOCK, &set, &g_stop.old_mask);
        struct sigaction ign;
        memset(&ign, 0, sizeof ign);
        ign.sa_handler = SIG_IGN;
        sigemptyset(&ign.sa_mask);
        sigaction(SIGXFSZ, &ign, &g_stop.old_xfsz);
    }
    g_stop.begun = 1;
    g_stop.pid = getpid();
    g_stop.parent_forwards = parent_forwards;
    atomic_store(&g_stop.requested, 0);
    stop_phase(STOP_PHASE_LOAD, NULL);
    if (!dist_launched() && pthread_create(&g_stop.thread, NULL, watch, NULL) == 0) g_stop.watching = 1;
}

void stop_end(void) {
    if (!g_stop.begun) return;
    if (g_stop.pid != getpid()) g_stop.watching = 0; /* a fork()ed child */
    if (g_stop.watching) {
        pthread_cancel(g_stop.thread);
        pthread_join(g_stop.thread, NULL);
        g_stop.watching = 0;
    }
    sigset_t set;
    stop_set(&set);
    struct timespec zero = {0, 0};
    while (sigtimedwait(&set, NULL, &zero) > 0) {
    } /* came after the run's last poll: the run is complete */
    sigaction(SIGXFSZ, &g_stop.old_xfsz, NULL);
    pthread_sigmask(SIG_SETMASK, &g_stop.old_mask, NULL);
    g_stop.begun = 0;
}

void stop_phase(StopPhase p, const char *msg) {
    pthread_mutex_lock(&g_stop.mu);
    g_stop.phase = p;
    if (!msg)
        msg = p == STOP_PHASE_LOAD ? "interrupted while loading; nothing was saved"
              : p == STOP_PHASE_EVAL ? "interrupted during an evaluation"
                                     : "stopped at once by a second signal";
    snprintf(g_stop.msg, sizeof g_stop.msg, "%s", msg);
    int sig = atomic_load(&g_stop.requested);
    if (sig && (p == STOP_PHASE_LOAD || p == STOP_PHASE_EVAL) && g_stop.watching) die_now(sig, g_stop.msg);
    pthread_mutex_unlock(&g_stop.mu);
}

int stop_poll(void) {
    int sig = atomic_load(&g_stop.requested);
    if (sig || g_stop.watching) return sig;
    sig = dist_take_signal(); /* MPI, or no watcher: pending ones are taken here */
    if (sig) atomic_store(&g_stop.requested, sig);
    return sig;
}
