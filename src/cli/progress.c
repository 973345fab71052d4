/* progress.c: a terminal progress bar or periodic plain lines, and the
 * callbacks that draw a training run's progress with them. */
#include "cli/progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/stopsig.h"
#include "core/log.h"

void progress_init(Progress *p, int64_t total, int64_t done_at_start) {
    memset(p, 0, sizeof *p); /* mean_only too: set after this by an evaluation */
    p->tty = isatty(STDERR_FILENO);
    p->t_start = pifi_now();
    p->t_last = 0;
    p->interval = p->tty ? 0.2 : 10.0;
    p->total = total;
    p->done_at_start = done_at_start;
    p->phase[0] = 0;
    p->done = done_at_start;
    p->mean_loss = p->last_loss = p->examples_per_s = 0;
    p->pending = 0;
    p->open_line = 0;
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

static void print(Progress *p, double now) {
    p->t_last = now;
    p->pending = 0;
    double elapsed = now - p->t_start;
    int64_t run = p->done - p->done_at_start;
    double eta = run > 0 ? elapsed / run * (p->total - p->done) : -1;
    char eta_s[32], el_s[32];
    fmt_time(eta_s, sizeof eta_s, eta);
    fmt_time(el_s, sizeof el_s, elapsed);
    if (p->tty) {
        int width = 24, fill = p->total ? (int)(width * p->done / p->total) : 0;
        char bar[32];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = 0;
        p->open_line = 1;
        char last[32] = "";
        if (!p->mean_only) snprintf(last, sizeof last, " (last %.4f)", p->last_loss);
        if (p->decoding)
            fprintf(stderr, "\r%s [%s] %lld/%lld sentences %.1f/s %s<%s   ", p->phase, bar, (long long)p->done,
                    (long long)p->total, p->examples_per_s, el_s, eta_s);
        else
            fprintf(stderr, "\r%s [%s] %lld/%lld loss %.4f%s %.1f ex/s %s<%s   ", p->phase, bar, (long long)p->done,
                    (long long)p->total, p->mean_loss, last, p->examples_per_s, el_s, eta_s);
    } else {
        char last[48] = " (mean so far)";
        if (!p->mean_only) snprintf(last, sizeof last, " (epoch mean; last step %.4f)", p->last_loss);
        if (p->decoding)
            fprintf(stderr, "pifi: %s %lld/%lld sentences %.1f/s elapsed %s eta %s\n", p->phase, (long long)p->done,
                    (long long)p->total, p->examples_per_s, el_s, eta_s);
        else
            fprintf(stderr, "pifi: %s step %lld/%lld loss %.4f%s %.1f ex/s elapsed %s eta %s\n", p->phase,
                    (long long)p->done, (long long)p->total, p->mean_loss, last, p->examples_per_s, el_s, eta_s);
    }
    fflush(stderr);
}

void progress_update(Progress *p, const char *phase, int64_t done, double mean_loss, double last_loss,
                     double examples_per_s) {
    snprintf(p->phase, sizeof p->phase, "%s", phase);
    p->done = done;
    p->mean_loss = mean_loss;
    p->last_loss = last_loss;
    p->examples_per_s = examples_per_s;
    p->pending = 1;
    double now = pifi_now();
    if (now - p->t_last >= p->interval) print(p, now);
}

void progress_flush(Progress *p) {
    if (p->pending) print(p, pifi_now());
}

void progress_finish(Progress *p) {
    if (p->tty && p->open_line) fputc('\n', stderr);
    p->open_line = 0;
}

void cli_log(PifiLogLevel level, const char *line, void *user) {
    (void)user;
    if (level == PIFI_LOG_NOTE) fprintf(stderr, "pifi: %s\n", line);
    else fprintf(stderr, "%s\n", line);
}

static void on_train_progress(const TrainProgress *tp, void *user) {
    Progress *p = user;
    switch (tp->kind) {
    case TRAIN_PROGRESS_START: progress_init(p, tp->total, tp->done), p->decoding = tp->decoding; break;
    case TRAIN_PROGRESS_STEP:
        progress_update(p, tp->phase, tp->done, tp->mean_loss, tp->last_loss, tp->examples_per_s);
        break;
    case TRAIN_PROGRESS_PAUSE: progress_flush(p), progress_finish(p); break;
    }
}

TrainCallbacks cli_train_callbacks(Progress *p) {
    return (TrainCallbacks){.on_progress = on_train_progress, .on_log = cli_log, .stop_requested = stop_requested,
                            .on_phase = stop_on_phase, .user = p};
}

static void on_api_progress(const pifi_progress *pp, void *user) {
    Progress *p = user;
    switch (pp->event) {
    case PIFI_PROGRESS_BEGIN: progress_init(p, pp->total, pp->done), p->decoding = pp->decoding; break;
    case PIFI_PROGRESS_STEP:
        progress_update(p, pp->phase, pp->done, pp->loss_mean, pp->loss_last, pp->examples_per_s);
        break;
    case PIFI_PROGRESS_PAUSE: progress_flush(p), progress_finish(p); break;
    }
}

static void on_api_log(const char *line, void *user) {
    cli_log(PIFI_LOG_NOTE, line, user);
}

static int on_api_stop(void *user) { return stop_requested(user); }

static void on_api_phase(pifi_phase phase, const char *msg, void *user) {
    stop_on_phase((TrainPhase)phase, msg, user);
}

pifi_callbacks cli_api_train_callbacks(Progress *p) {
    return (pifi_callbacks){.progress = on_api_progress, .log = on_api_log, .stop = on_api_stop,
                            .phase = on_api_phase, .user = p};
}
