/* runner.h: running an experiment grid: each cell is a `pifi train` run
 * (train_run in-process) in its own run directory, skipped when finished and
 * resumed when interrupted; cross-domain evaluations of finished cells; the
 * rows of results.csv gathered from the run directories. */
#ifndef PIFI_EXP_RUNNER_H
#define PIFI_EXP_RUNNER_H

#include <stdio.h>

#include "exp/grid.h"
#include "exp/results.h"
#include "train/train_run.h"

typedef enum {
    CELL_NEW,     /* nothing there yet */
    CELL_DONE,    /* metrics.json has the test metrics: skipped */
    CELL_RESUME,  /* a checkpoint, no test metrics: train_run(..., resume = 1) */
    CELL_RESTART, /* a run directory without a checkpoint: trained again from scratch */
} CellState;

const char *cell_state_name(CellState s);
CellState cell_state(const ExpCell *c);

/* A cell's existing run directory must hold the grid's settings for it
 * (method, layer, the cell's own LLM, data, every [train] value); else an
 * error that names the first difference. A setting the run's config.json
 * lacks (written by an older pifi) counts as its default. Passes when there
 * is no run yet. */
int cell_check_config(const ExpGrid *g, const ExpCell *c, PifiErr *err);

/* How the cells run in processes of their own, each stopping on its own
 * signals: the command line supplies it (src/cli/cells.c), as it owns the
 * process's signals and its exit; the library forks, pipes and waits. */
typedef struct {
    void (*cell_begin)(void); /* first thing in a cell's process: it takes the stop signals itself */
    void (*cell_end)(void);   /* the last: ends the cell's process (does not return) */
    void (*block)(void);      /* the grid's process: block the stop signals ... */
    void (*unblock)(void);    /* ... and unblock them, around the forwarding handler it installs */
} ExpProcess;

typedef struct {
    int dry_run;  /* list the cells and their state; train nothing, write nothing */
    /* cells in processes of their own (NULL: each in this process, one
     * after another; a stop is the callbacks' stop_requested) */
    const ExpProcess *proc;
    /* the grid's lines (cb->on_log) and, in each cell's process, its run's
     * progress and notes (train_run.h); NULL: quiet */
    const TrainCallbacks *cb;
} ExpRunOpts;

typedef struct {
    int cells, skipped, trained, resumed, failed, evals;
    int interrupted; /* the signal that stopped a cell (its state is saved), 0 if none */
} ExpRunStats;

/* Run (or list) every cell, then write OUT/results.csv, OUT/results.md and
 * the plots. A cell that fails is reported and the grid goes on; the call
 * fails at the end (first failure in err) if any cell failed. */
int exp_run(const ExpGrid *g, const ExpRunOpts *ro, ExpRunStats *st, PifiErr *err);

/* The rows of every finished cell of g, in grid order (own task, then its
 * cross-domain evaluations). */
int exp_collect(const ExpGrid *g, ExpResults *r, PifiErr *err);

/* The grid's cross-domain evaluation for one run (`pifi train --eval-task`):
 * the run's saved model on each task's test split (data_dir as
 * task_data_dir). *out: {"<task>": {"task", "split", "n", "loss",
 * "accuracy", "macro_f1", "mcc", "seconds"}, ...}, as eval_<task>.json. */
int exp_eval_run(const char *run_dir, const char *const *tasks, int n, const char *data_dir, int batch, cJSON **out,
                 PifiErr *err);

#endif
