/* plot.h: PNG plots of experiments, drawn by gnuplot (Debian's gnuplot-nox,
 * pngcairo terminal) fed a script through a pipe; the data travel inline as
 * datablocks, so no temporary files. A PNG is written under a temporary name,
 * checked for the PNG signature and renamed into place. */
#ifndef PIFI_EXP_PLOT_H
#define PIFI_EXP_PLOT_H

#include "pifi/err.h"

/* 0 when a gnuplot with the pngcairo terminal can be run. */
int plot_available(PifiErr *err);

/* A run's training curve: loss per step (train_log.jsonl) and validation
 * accuracy at each epoch end (metrics.json) on a second axis. */
int plot_curve(const char *run_dir, const char *png, const char *title, PifiErr *err);

/* Several methods' training curves side by side, each the mean over its
 * runs (seeds): run_dirs[r] belongs to series series_of[r] (labels[i] names
 * series i). Left, the training loss per step (train_log.jsonl) averaged
 * over the runs and smoothed by a centred moving average of about 1/40 of
 * the steps; right, the validation accuracy at each epoch end
 * (metrics.json) averaged over the runs. */
int plot_mean_curves(const char *png, const char *title, int n_series, const char *const *labels, int n_runs,
                     const char *const *run_dirs, const int *series_of, PifiErr *err);

/* Bars with error bars: mean[i] +- std[i] (NaN std: no bar) for labels[i]. */
int plot_bars(const char *png, const char *title, const char *ylabel, int n, const char *const *labels,
              const double *mean, const double *std, PifiErr *err);

/* 1 if path starts with the 8-byte PNG signature. */
int plot_is_png(const char *path);

#endif
