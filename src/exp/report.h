/* report.h: results.md and the plots of an experiment, from its rows (as
 * read from results.csv): per trained task, evaluation set and train
 * fraction, each method's mean +- std over seeds, the difference to `base`
 * and Welch's t-test p-value against it; a bar chart per group and a
 * training-curve PNG per run (docs/experiments.md). */
#ifndef PIFI_EXP_REPORT_H
#define PIFI_EXP_REPORT_H

#include <stdio.h>

#include "core/log.h"
#include "exp/results.h"

typedef enum {
    REPORT_CURVES_NONE = 0,
    REPORT_CURVES_MISSING = 1, /* draw the curves whose PNG is not there yet */
    REPORT_CURVES_ALL = 2,
} ReportCurves;

/* The PNG of a row's training curve under out_dir (for its own-task row). */
void report_curve_path(const ExpRow *row, const char *out_dir, char *path, size_t n);

/* Draw one row's training curve (own-task rows whose run_dir exists). */
int report_curve(const ExpRow *row, const char *out_dir, PifiErr *err);

/* Write out_dir/results.md and out_dir/plots/ (bar charts, and curves as
 * asked). Plots that fail are reported in err after everything else is
 * written (-1); on_log (may be NULL) gets one line per problem. */
int report_write(const ExpResults *r, const char *out_dir, ReportCurves curves, PifiLogFn on_log, void *log_user,
                 PifiErr *err);

#endif
