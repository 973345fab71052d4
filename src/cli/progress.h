/* progress.h: progress reporting on stderr: a redrawn bar with ETA when
 * stderr is a terminal, plain periodic lines otherwise (logs, CI). The loss
 * shown is the mean of the epoch so far (what metrics.json's train_loss of
 * the epoch will be) and the last step's. Presentation, so the CLI's: the
 * library reports through callbacks (train_run.h's TrainCallbacks), and
 * cli_train_callbacks draws what they report. */
#ifndef PIFI_CLI_PROGRESS_H
#define PIFI_CLI_PROGRESS_H

#include <stdint.h>

#include "core/log.h"
#include "pifi.h"
#include "train/train_run.h"

typedef struct {
    int tty;
    double t_start;      /* seconds, monotonic */
    double t_last;       /* last print */
    double interval;     /* seconds between plain lines */
    int64_t total;       /* steps in the whole run */
    int64_t done_at_start;
    /* the last report, kept for progress_flush when the interval held it back */
    char phase[64];
    int64_t done;
    double mean_loss, last_loss, examples_per_s;
    int pending;         /* recorded but not printed */
    int open_line;       /* a terminal: a bar is drawn on the current line */
    int mean_only;       /* show the mean loss so far only (an evaluation: no "last step") */
    int decoding;        /* sentences decoded: no loss at all */
} Progress;

void progress_init(Progress *p, int64_t total, int64_t done_at_start);
/* Record step `done` of total (global), with the phase label (e.g. "epoch
 * 1/3"), the epoch's mean loss so far, the step's loss and the throughput;
 * printed when `interval` seconds passed since the last print. */
void progress_update(Progress *p, const char *phase, int64_t done, double mean_loss, double last_loss,
                     double examples_per_s);
/* Print the last recorded step unless it was printed already (an epoch's
 * end: its last step is always shown, once). */
void progress_flush(Progress *p);
/* End a bar line (a newline on a terminal, when a bar was drawn). */
void progress_finish(Progress *p);

/* A line the library logs (core/log.h), on stderr: "pifi: <line>" for a
 * note, the line as it is for a listing. user: unused. */
void cli_log(PifiLogLevel level, const char *line, void *user);
/* Callbacks that draw a run's progress into p and write its notes with
 * cli_log (p: the caller's, for as long as the run). */
TrainCallbacks cli_train_callbacks(Progress *p);
/* The same for include/pifi.h's pifi_train and pifi_train_resume: the bar,
 * the notes, and the stop signals' phases and requests (stopsig.h). */
pifi_callbacks cli_api_train_callbacks(Progress *p);

#endif
