/* stopsig.c: stop signals blocked from main on, taken by a watcher thread
 * from a signalfd, acted on by phase (see stopsig.h for why this is
 * race-free). The only process-wide state of training besides the thread
 * pool: one struct, guarded by its mutex. */
#include "cli/stopsig.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "train/dist.h"

static struct {
    pthread_mutex_t mu;        /* phase, msg, and the decision to exit */
    pthread_t thread;
    int begun, watching, parent_forwards;
    int sfd, quit;             /* the watcher's signalfd, and the eventfd that ends it */
    pid_t pid;                 /* of the process that began: a fork()ed child has no watcher */
    StopPhase phase;
    char msg[1024];            /* printed when a signal ends the process at once */
    atomic_int requested;      /* the first stop signal, 0 until one came */
    int blocked_once;          /* stop_block ran: found_mask is set */
    sigset_t found_mask;       /* the mask the first stop_block found */
    struct sigaction old_xfsz;
} g_stop = {.mu = PTHREAD_MUTEX_INITIALIZER, .sfd = -1, .quit = -1};

static void stop_set(sigset_t *s) {
    sigemptyset(s);
    sigaddset(s, SIGINT);
    sigaddset(s, SIGTERM);
    sigaddset(s, SIGUSR1);
}

void stop_block(void) {
    sigset_t set, old;
    stop_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    if (!g_stop.blocked_once) g_stop.found_mask = old;
    g_stop.blocked_once = 1;
}

void stop_unblock(void) {
    if (g_stop.blocked_once) pthread_sigmask(SIG_SETMASK, &g_stop.found_mask, NULL);
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

/* One signal taken by the watcher: judged and acted on under the mutex. */
static void take(int sig, int from_parent) {
    pthread_mutex_lock(&g_stop.mu);
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
        die_now(sig, p == STOP_PHASE_STEPS || p == STOP_PHASE_FINISH ? g_stop.msg : "stopped at once by a second signal");
    }
    pthread_mutex_unlock(&g_stop.mu);
}

static void *watch(void *arg) {
    (void)arg;
    struct pollfd fds[2] = {{.fd = g_stop.quit, .events = POLLIN}, {.fd = g_stop.sfd, .events = POLLIN}};
    for (;;) {
        if (poll(fds, 2, -1) < 0) continue; /* EINTR: no handler runs in this thread, but harmless */
        if (fds[0].revents) return NULL;   /* stop_end: a signal not read yet stays pending */
        struct signalfd_siginfo si;
        if (read(g_stop.sfd, &si, sizeof si) != (ssize_t)sizeof si) continue;
        take((int)si.ssi_signo, si.ssi_code == SI_USER && (pid_t)si.ssi_pid == getppid());
    }
}

static void close_fds(void) {
    if (g_stop.sfd >= 0) close(g_stop.sfd);
    if (g_stop.quit >= 0) close(g_stop.quit);
    g_stop.sfd = g_stop.quit = -1;
}

/* The watcher, unless it cannot start: then stop_poll takes pending signals
 * between steps, as under MPI, and LOAD and EVAL do not exit early. */
static void start_watcher(void) {
    sigset_t set;
    stop_set(&set);
    g_stop.sfd = signalfd(-1, &set, SFD_CLOEXEC);
    g_stop.quit = eventfd(0, EFD_CLOEXEC);
    if (g_stop.sfd >= 0 && g_stop.quit >= 0 && pthread_create(&g_stop.thread, NULL, watch, NULL) == 0) {
        g_stop.watching = 1;
        return;
    }
    close_fds();
}

void stop_begin(int parent_forwards) {
    if (g_stop.begun && g_stop.pid == getpid()) return;
    if (g_stop.begun) { /* a fork()ed child: the mask came along, the parent's watcher did not */
        pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
        g_stop.mu = fresh;
        g_stop.watching = 0;
        close_fds();
    } else {
        struct sigaction ign;
        memset(&ign, 0, sizeof ign);
        ign.sa_handler = SIG_IGN;
        sigemptyset(&ign.sa_mask);
        sigaction(SIGXFSZ, &ign, &g_stop.old_xfsz);
    }
    stop_block();
    g_stop.begun = 1;
    g_stop.pid = getpid();
    g_stop.parent_forwards = parent_forwards;
    atomic_store(&g_stop.requested, 0);
    stop_phase(STOP_PHASE_LOAD, NULL);
    if (!dist_launched()) start_watcher();
}

void stop_end(void) {
    if (!g_stop.begun) return;
    if (g_stop.pid != getpid()) g_stop.watching = 0; /* a fork()ed child */
    if (g_stop.watching) {
        uint64_t one = 1;
        ssize_t w = write(g_stop.quit, &one, sizeof one);
        (void)w; /* an eventfd takes 8 bytes at once */
        pthread_join(g_stop.thread, NULL);
        g_stop.watching = 0;
    }
    close_fds();
    sigaction(SIGXFSZ, &g_stop.old_xfsz, NULL);
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

void stop_on_phase(TrainPhase p, const char *msg, void *user) {
    (void)user;
    stop_phase((StopPhase)p, msg);
}

int stop_requested(void *user) {
    (void)user;
    return stop_poll();
}
