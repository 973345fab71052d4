/* qa_tasks.h: the extractive question answering tasks (SQuAD's form) as one
 * table, and their splits loaded into PifiDatasets that carry a SquadData
 * (dataset.h): `xquad_en`, XQuAD's English set from the data root with a
 * fixed split by article, and `squad`, the user's own SQuAD v1.1 JSON or
 * JSON Lines files. docs/tasks.md. */
#ifndef PIFI_DATA_QA_TASKS_H
#define PIFI_DATA_QA_TASKS_H

#include <cjson/cJSON.h>

#include "pifi/dataset.h"

/* 1 when name is a QA task; *takes_files: its data are the user's files
 * (--train/--valid/--test) rather than the data root's. */
int qa_task_is(const char *name, int *takes_files);

/* The splits in which (PIFI_SPLIT_BIT mask) of the QA task desc names
 * ({"task", "data_dir"} or {"task": "squad", "train", "valid", "test",
 * "skip_bad_rows"}) into out, each a PifiDataset with its squad set. The
 * training split is needed when which asks for it. */
int qa_task_load(const cJSON *desc, unsigned which, PifiTaskSplits *out, PifiErr *err);

#endif
