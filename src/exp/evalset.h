/* evalset.h: a trained run's metrics on a dataset or on a named task's split:
 * the code path of `pifi eval` (runio_load_run, tokdata_build at the run's
 * max_len, trainer_evaluate into one confusion matrix), shared by the grid's
 * cross-domain evaluations. */
#ifndef PIFI_EXP_EVALSET_H
#define PIFI_EXP_EVALSET_H

#include "pifi/dataset.h"
#include "pifi/metrics.h"
#include "train/runio.h"

/* Evaluate rm on ds (its classes must be the run's). *cm is initialised here
 * (free with confusion_free, also on failure it is left freed). */
int evalset_dataset(RunModel *rm, const PifiDataset *ds, int batch, PifiConfusion *cm, double *loss, PifiErr *err);

typedef struct {
    int64_t n;
    double loss, accuracy, macro_f1, mcc, seconds;
    char label_note[512]; /* "" or how the task's classes were matched to the run's (task_labels_match) */
} EvalSummary;

/* Evaluate rm on a named task's split (data_dir as task_data_dir); the
 * task's classes are put onto the run's by name (task_splits_onto_run). */
int evalset_task(RunModel *rm, const char *task, const char *data_dir, PifiSplit split, int batch, EvalSummary *out,
                 PifiErr *err);

#endif
