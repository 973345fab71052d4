/* train_grid.h: `pifi train` with lists of seeds or layers (train_grid.c). */
#ifndef PIFI_CLI_TRAIN_GRID_H
#define PIFI_CLI_TRAIN_GRID_H

#include <cjson/cJSON.h>

#include "cli/data_args.h"
#include "train/trainer.h"

/* Every layer of the list must exist in the LLM at path llm, each once;
 * else a usage error (printed) and its exit status 2. */
int train_grid_check_layers(const char *llm, const int *layers, int n);

/* Train the cells (layers x seeds; o->out is the directory of runs) with the
 * experiment runner and print the summary (mean +- std per layer and
 * evaluation task; --json: one object). Returns the exit status. */
int train_grid_run(const TrainOpts *o, const DataArgs *da, const cJSON *data, int llm_extracted, const int *seeds,
                   int n_seeds, const int *layers, int n_layers, int json);

#endif
