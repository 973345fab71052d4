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
#define GRID_LLM_NAME_MAX 24 /* llm_name: [A-Za-z0-9_.-]{1,24} */

typedef struct {
    const char *task;       /* registry name (static), or the grid's own_task */
    PifiMethod method;
    int layer;              /* LLM layer index (method_has_llm); INT_MIN: an extracted layer's own */
    int seed;
    double train_fraction;  /* (0, 1] */
    int llm;                /* its LLM: 0 the grid's llm, k > 0 g->llms[k - 1] (an [[also]] block's) */
    char label[96];         /* method[@llm_name][-L<layer>][-f<fraction>]: the run directory's middle part */
    char *dir;              /* OUT/runs/<task>/<label>/seed<seed> */
} ExpCell;

/* A second (third, ...) LLM of a grid: an [[also]] block's llm and llm_name.
 * Its cells are labelled <method>@<name>; the top level's llm has no name,
 * so its cells keep their plain labels. */
typedef struct {
    char *name;            /* llm_name */
    char *path;            /* resolved like the top level's llm */
    int extracted;         /* a `pifi extract` directory: its own layer only */
} ExpLlm;

typedef struct {
    const char *task;                  /* trained on */
    int n;
    const char *others[GRID_MAX_LIST]; /* also evaluated on (their test split) */
} ExpEvalTasks;

/* What a finished cell keeps (the grid's "keep", --keep): everything (the
 * final model and the resumable checkpoint), the final model only, or only
 * what results need (metrics.json, train_log.jsonl, config.json, cell.json,
 * eval_<task>.json: a few hundred kilobytes instead of ~350 MB for MiniLM). */
typedef enum { KEEP_ALL = 0, KEEP_MODEL, KEEP_METRICS } ExpKeep;
int grid_keep_parse(const char *s, ExpKeep *out);
const char *grid_keep_name(ExpKeep k);

typedef struct {
    char *path;            /* the grid file, as given */
    char *slm, *llm;       /* resolved paths (llm NULL when no cell of the top level's llm needs one) */
    char *data_dir;        /* NULL: task_data_dir's default */
    char *out;
    int llm_extracted;     /* llm is a `pifi extract` directory: its own layer only */
    ExpKeep keep;
    ExpLlm llms[GRID_MAX_LIST]; /* the [[also]] blocks' own LLMs (distinct names) */
    int n_llms;
    TrainOpts train;       /* hyperparameters of every cell (slm, llm, out, method, seed set per cell) */
    ExpCell *cells;
    int n_cells;
    ExpEvalTasks evals[GRID_MAX_LIST];
    int n_evals;
    /* a grid of `pifi train --train FILE ...` (grid_from_train): the cells
     * train on the user's files, not a named task */
    char *own_task;        /* their name in the cells and results (the training file's stem) */
    cJSON *data;           /* their data description (cli/data_args.c), without the fraction */
} ExpGrid;

/* Paths given on the command line win over the grid's (relative to the
 * current directory; the grid's are relative to the grid file). */
typedef struct {
    const char *slm, *llm, *data_dir, *out;
    const char *keep; /* --keep */
} ExpOverrides;

/* Load a .toml or .json grid file. */
int grid_load(ExpGrid *g, const char *path, const ExpOverrides *ov, PifiErr *err);
/* The same from text; name decides the format (.json or else TOML) and
 * names errors; base_dir resolves relative paths. check_paths: fail when the
 * SLM, the LLM or a task's data folder is missing. */
int grid_parse(ExpGrid *g, const char *text, size_t n, const char *name, const char *base_dir,
               const ExpOverrides *ov, int check_paths, PifiErr *err);
void grid_free(ExpGrid *g);

/* The grid of one `pifi train` command with lists (--seeds, --layer -1,-2,
 * --eval-task): one task (or the user's files), one method, cells = layers x
 * seeds, each cell exactly the `pifi train --seed S --layer L` run. */
typedef struct {
    const TrainOpts *train;   /* every setting; slm, llm and method are used, seed/layer/out are per cell */
    int llm_extracted;        /* train->llm is a `pifi extract` directory (its own layer; no layer list) */
    const char *task;         /* a registry task, or NULL with data */
    const cJSON *data;        /* the user's files (data_args_json's description), or NULL with task */
    const char *data_dir;     /* the data root of task and eval_tasks (NULL: task_data_dir's default) */
    const char *out;          /* OUT: cells in OUT/runs/<task>/<label>/seed<seed> */
    const int *seeds;
    int n_seeds;
    const int *layers;        /* used when the method plugs an LLM layer */
    int n_layers;
    double train_fraction;    /* (0, 1] */
    const char *const *eval_tasks;
    int n_eval_tasks;
} ExpTrainSpec;

int grid_from_train(ExpGrid *g, const ExpTrainSpec *s, PifiErr *err);

/* Add one cell (none if the grid has it already: same task, label and
 * seed); llm as ExpCell.llm. The label and directory are made here. */
int grid_add_cell(ExpGrid *g, const char *task, PifiMethod m, int layer, int seed, double frac, int llm, PifiErr *err);

/* The LLM a cell plugs in (NULL for base and lora); *extracted (may be
 * NULL): it is a `pifi extract` directory. */
const char *grid_cell_llm(const ExpGrid *g, const ExpCell *c, int *extracted);
/* The cell's method as results.csv names it: "pifi", or "pifi@stories260K"
 * for a cell of an [[also]] block's llm. */
void grid_cell_method(const ExpGrid *g, const ExpCell *c, char *out, size_t n);

/* The training options of one cell (pointers into g and c; llm is the cell's). */
void grid_cell_opts(const ExpGrid *g, const ExpCell *c, TrainOpts *o);
/* The data description of one cell, as `pifi train --task T --train-fraction F --seed S` stores it. */
cJSON *grid_cell_data(const ExpGrid *g, const ExpCell *c);
/* The train fraction as `pifi train --train-fraction` holds it (a float), so
 * that the subsample and config.json are the same. */
double grid_cell_fraction(const ExpCell *c);
/* Tasks a cell's run is evaluated on besides its own (n, list). */
const ExpEvalTasks *grid_evals_of(const ExpGrid *g, const char *task);

#endif
