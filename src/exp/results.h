/* results.h: the rows of an experiment's results.csv: one per trained cell
 * and evaluation set (its own task's test split, and each cross-domain
 * task's). Missing values (no validation split, no time recorded) are NaN
 * in memory and empty in the file. */
#ifndef PIFI_EXP_RESULTS_H
#define PIFI_EXP_RESULTS_H

#include <limits.h>

#include "pifi/err.h"

typedef struct {
    char task[64];      /* trained on */
    char eval_task[64]; /* evaluated on (= task for the cell's own test split) */
    char method[64];    /* "pifi", or "pifi@<llm_name>" for a cell of an [[also]] block's own llm */
    int has_layer;      /* the method plugs an LLM layer */
    int layer;          /* as the grid names it (INT_MIN: an extracted layer's own, written "own") */
    long long seed;
    double train_fraction;
    double accuracy, macro_f1, mcc; /* on eval_task's test split */
    double valid_accuracy;          /* of the best epoch on the task's own validation split */
    long long best_epoch, steps;
    double seconds;                 /* training (own row) or evaluation (cross-domain row) wall time */
    char run_dir[PATH_MAX];
} ExpRow;

typedef struct {
    ExpRow *rows;
    int n, cap;
} ExpResults;

int results_add(ExpResults *r, const ExpRow *row, PifiErr *err);
void results_free(ExpResults *r);

/* Write results.csv atomically (RFC 4180 quoting where needed; numbers in
 * the shortest form that reads back to the same double). */
int results_write_csv(const ExpResults *r, const char *path, PifiErr *err);
/* Read it back (the header must be results.csv's). */
int results_read_csv(ExpResults *r, const char *path, PifiErr *err);

/* The values of one metric over the rows of one label (results_label) in a
 * group: trained on task, evaluated on eval_task, with this train fraction.
 * metric: a PifiMetric, or PIFI_METRIC_COUNT for the validation accuracy.
 * NaN values are left out; returns how many went into out (r->n at most). */
int results_values(const ExpResults *r, const char *task, const char *eval_task, double fraction, const char *label,
                   int metric, double *out);

/* "pifi-L3" style label of a row's method and layer (for tables and plots;
 * "pifi@stories260K-L3" for another LLM's). */
void results_label(const ExpRow *row, char *out, size_t n);

#endif
