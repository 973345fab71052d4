/* progress.h: progress reporting on stderr: a redrawn bar with ETA when
 * stderr is a terminal, plain periodic lines otherwise (logs, CI). */
#ifndef PIFI_PROGRESS_H
#define PIFI_PROGRESS_H

#include <stdint.h>

typedef struct {
    int tty;
    double t_start;      /* seconds, monotonic */
    double t_last;       /* last print */
    double interval;     /* seconds between plain lines */
    int64_t total;       /* steps in the whole run */
    int64_t done_at_start;
} Progress;

double progress_now(void);
void progress_init(Progress *p, int64_t total, int64_t done_at_start);
/* Report step `done` of total (global), with the phase label (e.g. "epoch 1/3"),
 * loss and throughput. Prints at most every `interval` seconds unless force. */
void progress_update(Progress *p, const char *phase, int64_t done, double loss, double examples_per_s,
                     int force);
/* End a bar line (newline on a terminal). */
void progress_finish(Progress *p);

#endif
