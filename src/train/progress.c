/* progress.c: a terminal progress bar or periodic plain lines. */
#include "train/progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double progress_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

void progress_init(Progress *p, int64_t total, int64_t done_at_start) {
    p->tty = isatty(STDERR_FILENO);
    p->t_start = progress_now();
    p->t_last = 0;
    p->interval = p->tty ? 0.2 : 10.0;
    p->total = total;
    p->done_at_start = done_at_start;
}

static void fmt_time(char *buf, size_t n, double s) {
    if (s < 0 || s > 1e7) {
        snprintf(buf, n, "?");
        return;
    }
    int t = (int)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%d:%02d", t / 60, t % 60);
}

void progress_update(Progress *p, const char *phase, int64_t done, double loss, double examples_per_s,
                     int force) {
    double now = progress_now();
    if (!force && now - p->t_last < p->interval) return;
    p->t_last = now;
    double elapsed = now - p->t_start;
    int64_t run = done - p->done_at_start;
    double eta = run > 0 ? elapsed / run * (p->total - done) : -1;
    char eta_s[32], el_s[32];
    fmt_time(eta_s, sizeof eta_s, eta);
    fmt_time(el_s, sizeof el_s, elapsed);
    if (p->tty) {
        int width = 24, fill = p->total ? (int)(width * done / p->total) : 0;
        char bar[32];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = 0;
        fprintf(stderr, "\r%s [%s] %lld/%lld loss %.4f %.1f ex/s %s<%s   ", phase, bar, (long long)done,
                (long long)p->total, loss, examples_per_s, el_s, eta_s);
    } else {
        fprintf(stderr, "pifi: %s step %lld/%lld loss %.4f %.1f ex/s elapsed %s eta %s\n", phase,
                (long long)done, (long long)p->total, loss, examples_per_s, el_s, eta_s);
    }
    fflush(stderr);
}

void progress_finish(Progress *p) {
    if (p->tty) fputc('\n', stderr);
}
