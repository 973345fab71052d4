/* gen_tasks.h: the generation (sequence-to-sequence) tasks as one table,
 * and their splits loaded into PifiDatasets whose rows are a source text
 * and a target text (PifiDataset.target): `multi30k` (Multi30K Task 1,
 * English -> German, its official train / val / test_2016_flickr splits,
 * gzipped parallel line files under the data root) and `multi30k_de_en`
 * (the other direction); `cnn_dailymail` (the user's CNN/DailyMail files
 * as Hugging Face datasets writes them: CSV or JSON Lines with `article`
 * and `highlights`); `seq2seq` (the user's TSV / CSV / JSONL files, the
 * columns named by source_col and target_col). docs/tasks.md. */
#ifndef PIFI_DATA_GEN_TASKS_H
#define PIFI_DATA_GEN_TASKS_H

#include <cjson/cJSON.h>

#include "pifi/dataset.h"

/* 1 when name is a generation task; *takes_files: its data are the user's
 * files (--train/--valid/--test) rather than the data root's. */
int gen_task_is(const char *name, int *takes_files);

/* The task's default source prefix (T5's convention: "translate English to
 * German: ", "summarize: "; "" for seq2seq); NULL: not a generation task.
 * The authors' code wrote "French" for Multi30K's German (sic). */
const char *gen_task_prefix(const char *name);

/* The splits in which (PIFI_SPLIT_BIT mask) of the generation task desc
 * names ({"task", "data_dir"}, or for the user's files {"task", "train",
 * "valid", "test", "source_col", "target_col", "skip_bad_rows"}) into out.
 * The training split is needed when which asks for it. */
int gen_task_load(const cJSON *desc, unsigned which, PifiTaskSplits *out, PifiErr *err);

#endif
