/* grid.h: an experiment grid (`pifi experiment GRID`): which runs to train
 * (cells = tasks x methods x seeds x layers x train fraction) with which
 * hyperparameters, and which cross-domain evaluations to add. Read from TOML
 * (the subset of exp/toml.h) or JSON; the format is in docs/experiments.md.
 * Every key is checked before anything runs: an unknown one is reported with
 * its line and the nearest known key. */
#ifndef PIFI_EXP_GRID_H
#define PIFI_EXP_GRID_H

#include <cjson/cJSON.h>

#include "train/trainer.h"

#define GRID_MAX_LIST 64     /* entries of one list (tasks, seeds, ...) */
#define GRID_MAX_CELLS 100000

typedef struct {
    const char *task;       /* registry name (static) */
    PifiMethod method;
    int layer;              /* LLM layer index (method_has_llm); INT_MIN: an extracted layer's own */
    int seed;
    double train_fraction;  /* (0, 1] */
    char label[64];         /* method[-L<layer>][-f<fraction>]: the run directory's middle part */
    char *dir;              /* OUT/runs/<task>/<label>/seed<seed> */
} ExpCell;

typedef struct {
    const char *task;                  /* trained on */
    int n;
    const char *others[GRID_MAX_LIST]; /* also evaluated on (their test split) */
} ExpEvalTasks;

typedef struct {
    char *path;            /* the grid file, as given */
    char *slm, *llm;       /* resolved paths (llm NULL when no method needs one) */
    char *data_dir;        /* NULL: task_data_dir's default */
    char *out;
    int llm_extracted;     /* llm is a `pifi extract` directory: its own layer only */
    TrainOpts train;       /* hyperparameters of every cell (slm, llm, out, method, seed set per cell) */
    ExpCell *cells;
    int n_cells;
    ExpEvalTasks evals[GRID_MAX_LIST];
    int n_evals;
} ExpGrid;

/* Paths given on the command line win over the grid's (relative to the
 * current directory; the grid's are relative to the grid file). */
typedef struct {
    const char *slm, *llm, *data_dir, *out;
} ExpOverrides;

/* Load a .toml or .json grid file. */
int grid_load(ExpGrid *g, const char *path, const ExpOverrides *ov, PifiErr *err);
/* The same from text; name decides the format (.json or else TOML) and
 * names errors; base_dir resolves relative paths. check_paths: fail when the
 * SLM, the LLM or a task's data folder is missing. */
int grid_parse(ExpGrid *g, const char *text, size_t n, const char *name, const char *base_dir,
               const ExpOverrides *ov, int check_paths, PifiErr *err);
void grid_free(ExpGrid *g);

/* The training options of one cell (pointers into g and c). */
void grid_cell_opts(const ExpGrid *g, const ExpCell *c, TrainOpts *o);
/* The data description of one cell, as `pifi train --task T --train-fraction F --seed S` stores it. */
cJSON *grid_cell_data(const ExpGrid *g, const ExpCell *c);
/* The train fraction as `pifi train --train-fraction` holds it (a float), so
 * that the subsample and config.json are the same. */
double grid_cell_fraction(const ExpCell *c);
/* Tasks a cell's run is evaluated on besides its own (n, list). */
const ExpEvalTasks *grid_evals_of(const ExpGrid *g, const char *task);

#endif
