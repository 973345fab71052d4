/* data_spec.h: what data a command or an API call names (a named task, or
 * the user's files with their columns), turned into the JSON description a
 * run keeps in its config.json ("data"), and the splits of a description
 * loaded (tasks_desc.h). `pifi train`, `eval`, `quantize` and include/pifi.h
 * share it. */
#ifndef PIFI_DATA_SPEC_H
#define PIFI_DATA_SPEC_H

#include <cjson/cJSON.h>

#include "pifi/dataset.h"

typedef struct {
    const char *task, *data_dir;
    const char *train, *valid, *test;
    const char *text_col, *pair_col, *label_col;
    const char *source_col, *target_col; /* a generation task over the user's files (cnn_dailymail, seq2seq) */
    const char *source_prefix;     /* a generation task: before each source (NULL: the task's) */
    double train_fraction;
    int skip_bad_rows;
    long long seed; /* of the train_fraction subsample */
    const char *const *eval_tasks; /* `pifi train --eval-task`: tasks whose test split the run is also */
    int n_eval_tasks;              /* evaluated on (stored as "eval_tasks") */
    const char *run_data_dir;      /* evaluating a run on a task: the data root the run recorded, or NULL */
} DataSpec;

/* The description of a (paths made absolute). The data root of a task:
 * a->data_dir, else $PIFI_DATA, else run_data_dir when it holds the task's
 * folder, else the default (task_data_dir); with run_data_dir set and the
 * task's folder in neither of the last two, an error naming both. Both a
 * task and files, or neither, is an error. */
int data_spec_json(const DataSpec *a, cJSON **out, PifiErr *err);

/* The splits a description names, loaded. Labels of generic files: from the
 * training file, or fixed by label_names (a run's classes) when not NULL. */
typedef struct {
    PifiDataset split[3];
    int have[3];
    PifiTaskSplits ts;
    int is_task;
} LoadedData;

int data_load(const cJSON *desc, unsigned which, const char *const *label_names, int K, LoadedData *out,
              PifiErr *err);
void data_free(LoadedData *d);

#endif
