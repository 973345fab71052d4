/* test_stopsig.c: the stop signals (src/train/stopsig.c), each case in a
 * fork()ed child (a signal may end it) whose status and stderr are checked:
 * a signal after stop_end is dropped, not a default-action death; one that
 * came after stop_block but before stop_begin is taken while loading with
 * its message; threads started later inherit the mask; a request during the
 * steps is polled, and entering an evaluation with one, or a second signal,
 * exits with the phase's message; a phase change racing with the watcher
 * always ends with the message; a handler installed before stop_unblock
 * receives a signal that was pending. */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "cli/stopsig.h"

typedef struct {
    int exited, code, signaled; /* exited with code, or killed by signal `signaled` */
    char err[4096];             /* its stderr */
} Child;

/* Run fn in a child with stderr to a pipe; the child exits 0 if fn returns,
 * and is killed by SIGALRM if it hangs. */
static void run_child(void (*fn)(void), Child *c) {
    memset(c, 0, sizeof *c);
    int fds[2];
    if (pipe(fds)) return;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        alarm(20);
        fn();
        _exit(0);
    }
    close(fds[1]);
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fds[0], c->err + got, sizeof c->err - 1 - got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fds[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    c->exited = WIFEXITED(st);
    c->code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    c->signaled = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

static void nap_ms(int ms) {
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* the run is complete (stop_end), then a signal: dropped, status 0 */
static void late_signal(void) {
    stop_begin(0);
    stop_phase(STOP_PHASE_EVAL, "too early");
    stop_end();
    kill(getpid(), SIGTERM);
    kill(getpid(), SIGINT);
    nap_ms(50);
}

/* blocked by main's stop_block, sent before stop_begin: the watcher takes it while loading */
static void before_begin(void) {
    stop_block();
    kill(getpid(), SIGTERM);
    nap_ms(20);
    stop_begin(0);
    nap_ms(5000); /* the watcher exits first */
}

static void *mask_of_thread(void *arg) {
    sigset_t *m = arg;
    pthread_sigmask(SIG_BLOCK, NULL, m);
    return NULL;
}

/* a thread started after stop_begin blocks all three */
static void thread_mask(void) {
    stop_begin(0);
    sigset_t m;
    pthread_t t;
    if (pthread_create(&t, NULL, mask_of_thread, &m)) _exit(3);
    pthread_join(t, NULL);
    _exit(sigismember(&m, SIGINT) == 1 && sigismember(&m, SIGTERM) == 1 && sigismember(&m, SIGUSR1) == 1 ? 0 : 4);
}

static int wait_poll(void) {
    for (int i = 0; i < 2000; i++) {
        int s = stop_poll();
        if (s) return s;
        nap_ms(1);
    }
    return 0;
}

/* a request during the steps is polled; the evaluation after it exits with its message */
static void steps_then_eval(void) {
    stop_begin(0);
    stop_phase(STOP_PHASE_STEPS, "second");
    kill(getpid(), SIGINT);
    if (wait_poll() != SIGINT || stop_poll() != SIGINT) _exit(5);
    stop_phase(STOP_PHASE_EVAL, "entered the evaluation");
    _exit(6);
}

/* a second signal during the steps exits at once with the steps' message */
static void second_signal(void) {
    stop_begin(0);
    stop_phase(STOP_PHASE_STEPS, "stopped at once, checkpoint intact");
    kill(getpid(), SIGINT);
    if (wait_poll() != SIGINT) _exit(5);
    kill(getpid(), SIGINT);
    nap_ms(5000);
}

/* the watcher and the main thread race: the signal in STEPS or in EVAL, the same end */
static void racing_phase(void) {
    stop_begin(0);
    stop_phase(STOP_PHASE_STEPS, "steps");
    kill(getpid(), SIGTERM);
    stop_phase(STOP_PHASE_EVAL, "evaluation");
    nap_ms(5000);
}

static volatile sig_atomic_t g_handled;
static void on_sig(int sig) { g_handled = sig; }

/* stop_end, a signal (pending), a handler, stop_unblock: the handler gets it */
static void hand_over(void) {
    stop_block();
    stop_begin(0);
    stop_end();
    kill(getpid(), SIGINT);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    stop_unblock();
    _exit(g_handled == SIGINT ? 0 : 7);
}

int main(void) {
    Child c;
    run_child(late_signal, &c);
    CHECKF(c.exited && c.code == 0, "a signal after stop_end: exit %d, killed by %d", c.code, c.signaled);

    run_child(before_begin, &c);
    CHECKF(c.code == 143 && strstr(c.err, "pifi: interrupted while loading; nothing was saved (SIGTERM)\n"),
           "exit %d, killed by %d: %s", c.code, c.signaled, c.err);

    run_child(thread_mask, &c);
    CHECKF(c.code == 0, "a later thread's mask: exit %d", c.code);

    run_child(steps_then_eval, &c);
    CHECKF(c.code == 130 && strstr(c.err, "pifi: entered the evaluation (SIGINT)\n"), "exit %d: %s", c.code, c.err);

    run_child(second_signal, &c);
    CHECKF(c.code == 130 && strstr(c.err, "pifi: stopped at once, checkpoint intact (SIGINT)\n"), "exit %d: %s",
           c.code, c.err);

    int bad = 0;
    for (int i = 0; i < 200; i++) {
        run_child(racing_phase, &c);
        if (!(c.code == 143 && !strcmp(c.err, "pifi: evaluation (SIGTERM)\n"))) {
            if (!bad++) fprintf(stderr, "race %d: exit %d, killed by %d: %s\n", i, c.code, c.signaled, c.err);
        }
    }
    CHECKF(bad == 0, "%d of 200 races ended otherwise", bad);

    run_child(hand_over, &c);
    CHECKF(c.code == 0, "a pending signal handed to a handler: exit %d, killed by %d", c.code, c.signaled);
    TEST_DONE();
}
