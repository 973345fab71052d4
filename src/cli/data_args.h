/* data_args.h: the data flags every command shares (--task, --data-dir,
 * --train/--valid/--test, --text-col, --text-pair-col, --label-col,
 * --train-fraction, --skip-bad-rows), as a JSON description that a run stores
 * in its config.json, and the loading of splits from it (data/tasks_desc.h).
 * Also the one download function of `pifi data` (cmd_data_fetch.c,
 * libcurl). */
#ifndef PIFI_CLI_DATA_ARGS_H
#define PIFI_CLI_DATA_ARGS_H

#include <cjson/cJSON.h>

#include "pifi/dataset.h"

typedef struct {
    const char *task, *data_dir;
    const char *train, *valid, *test;
    const char *text_col, *pair_col, *label_col;
    double train_fraction;
    int skip_bad_rows;
    long long seed; /* of the --train-fraction subsample */
    const char *const *eval_tasks; /* `pifi train --eval-task`: tasks whose test split the run is also */
    int n_eval_tasks;              /* evaluated on (stored as "eval_tasks") */
    const char *run_data_dir;      /* `pifi eval RUN --task`: the data root RUN recorded, or NULL */
} DataArgs;

/* NULL (with a message printed) when the flags are inconsistent. The data
 * root of --task: --data-dir, else $PIFI_DATA, else run_data_dir when it
 * holds the task's folder, else the default (task_data_dir); with
 * run_data_dir set and the task's folder in neither of the last two, NULL
 * with a message naming both. */
cJSON *data_args_json(const DataArgs *a, const char *cmd);

/* Load the splits a description names. Labels of generic files: from the
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


/* Download url (http, https or file) into the open file fd, at most
 * max_bytes; 0, or -1 with err (cmd_data_fetch.c). Without libcurl at build
 * time it fails with "this pifi was built without libcurl". */
int data_fetch_url(const char *url, int fd, long long max_bytes, PifiErr *err);
/* 1 when this pifi was built with libcurl. */
int data_fetch_available(void);

#endif
