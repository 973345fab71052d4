/* plot_internal.h: the gnuplot pipe shared by the plot files (plot.c,
 * plot_means.c): a gnuplot process writing one PNG under a temporary name,
 * renamed into place once it is checked. SIGPIPE is ignored while it runs,
 * so that a gnuplot that dies early makes writes fail instead of killing
 * pifi. */
#ifndef PIFI_EXP_PLOT_INTERNAL_H
#define PIFI_EXP_PLOT_INTERNAL_H

#include <signal.h>
#include <stdio.h>

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "pifi/err.h"

typedef struct {
    FILE *g;
    char tmp[4200];
    struct sigaction old_pipe;
} Plot;

/* Start gnuplot on a width x height PNG terminal with its output set. */
int plot_open(Plot *p, const char *png, int width, int height, PifiErr *err);
/* End the script, wait for gnuplot, check the PNG and rename it to png. */
int plot_close(Plot *p, const char *png, PifiErr *err);
/* A gnuplot single-quoted string: ' doubled; no newlines. */
void plot_put_quoted(FILE *f, const char *s);

/* A finished or running run's logs: train_log.jsonl (one JSON object per
 * optimizer step) and metrics.json (epochs[].valid at each epoch end). */
typedef struct {
    char *log;
    size_t n, pos;
    int64_t lines;
    cJSON *metrics;
} PlotRun;

/* Read run_dir's train_log.jsonl and metrics.json (err names the file that failed). */
int plot_run_open(PlotRun *r, const char *run_dir, PifiErr *err);
/* The next line of the log: 1 with its step and loss (both NaN when the line
 * has no finite pair), 0 at the end. */
int plot_run_next(PlotRun *r, double *step, double *loss);
void plot_run_close(PlotRun *r);
/* The validation metric a run's metrics.json holds per epoch: "bleu" (a
 * generation run) or "accuracy", and its axis label's words. */
const char *plot_valid_key(const cJSON *metrics, const char **words);

#endif
