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

#include "core/log.h"
#include "pifi/dataset.h"

/* Load the splits in which (PIFI_SPLIT_BIT mask) that desc names into out
 * (out->info is NULL for files; out->available[s] says what was loaded).
 * A named task must have train when which asks for it. With label_names[K]
 * (a run's classes) not NULL, the data's classes are the run's: a file's
 * labels are looked up among those names, a named task's classes are put
 * onto them by task_splits_onto_run (out->label_note says how, when it is
 * not by name); without, a file's classes come from the training file. Free
 * with task_splits_free. */
int task_desc_load(const cJSON *desc, unsigned which, const char *const *label_names, int K, PifiTaskSplits *out,
                   PifiErr *err);

/* ---- a task's classes onto a run's (task_labels.c) ---- */

/* The run class of each of ti's classes, to_run[ti->num_classes] (the
 * caller's array): by exact name; else by name ignoring ASCII case when that
 * pairs the classes one to one; else, when the run's classes are the plain
 * integers "0".."K-1" (a run trained on numeric labels), by index. The last
 * two write a one-line note (note_n bytes; "" otherwise) that the caller must
 * show. Fails, naming both lists, when the counts differ or no rule pairs
 * every class. */
int task_labels_match(const PifiTaskInfo *ti, const char *const *names, int K, int *to_run, char *note,
                      size_t note_n, PifiErr *err);
/* Can a run trained on own_task (NULL: on files) with the classes names[K]
 * also be tested on each of tasks[0..n) (`pifi train --eval-task`)? Each
 * is a registry task other than own_task, listed once, whose classes match
 * the run's (a note through log when not by exact name) and whose data
 * folder is under data_dir (task_data_dir). */
int task_eval_tasks_check(const char *const *tasks, int n, const char *own_task, const char *data_dir,
                          const char *const *names, int K, PifiLogFn log, void *user, PifiErr *err);
/* Renumber every loaded split of ts (a named task's, ts->info set) into the
 * run's classes names[K] by task_labels_match, the splits' label names
 * becoming the run's; the note goes to ts->label_note. */
int task_splits_onto_run(PifiTaskSplits *ts, const char *const *names, int K, PifiErr *err);

#endif
