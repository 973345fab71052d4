/* tasks_desc.h: the splits a data description names, loaded. A description
 * is the "data" object a run keeps in its config.json: a named task
 * {"task", "data_dir"} or the user's files {"train", "valid", "test",
 * "text_col", "text_pair_col", "label_col", "skip_bad_rows"}, each with an
 * optional "train_fraction" and "train_fraction_seed". `pifi train`, `eval`,
 * `quantize` (cli/data_args.c) and the experiment cells (exp/runner.c) load
 * their data through it, so a cell and `pifi train` see the same examples. */
#ifndef PIFI_DATA_TASKS_DESC_H
#define PIFI_DATA_TASKS_DESC_H

#include <cjson/cJSON.h>

#include "pifi/dataset.h"

/* Load the splits in which (PIFI_SPLIT_BIT mask) that desc names into out
 * (out->info is NULL for files; out->available[s] says what was loaded).
 * A named task must have train when which asks for it. Labels of files:
 * from the training file, or fixed by label_names[K] (a run's classes) when
 * not NULL. Free with task_splits_free. */
int task_desc_load(const cJSON *desc, unsigned which, const char *const *label_names, int K, PifiTaskSplits *out,
                   PifiErr *err);

#endif
