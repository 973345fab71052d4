/* evalset.c: a trained run evaluated on a dataset or a task split (evalset.h). */
#include "exp/evalset.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "data/tasks_desc.h"
#include "train/tokdata.h"
#include "train/trainer.h"

int evalset_dataset(RunModel *rm, const PifiDataset *ds, int batch, PifiConfusion *cm, double *loss, PifiErr *err) {
    memset(cm, 0, sizeof *cm);
    if (ds->num_classes != rm->K)
        return pifi_errf(err, "the data has %d classes but the run was trained on %d", ds->num_classes, rm->K);
    TokData td;
    if (tokdata_build(&td, rm->tk, ds, rm->opts.max_len, err)) return -1;
    int rc = confusion_init(cm, rm->K, err);
    if (rc == 0) rc = trainer_evaluate(&rm->model, &td, batch, cm, NULL, loss, rm->opts.label_smoothing, err);
    tokdata_free(&td);
    if (rc) confusion_free(cm);
    return rc;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int evalset_task(RunModel *rm, const char *task, const char *data_dir, PifiSplit split, int batch, EvalSummary *out,
                 PifiErr *err) {
    double t0 = now_s();
    memset(out, 0, sizeof *out);
    PifiTaskOpts to = task_opts_default();
    to.load = PIFI_SPLIT_BIT(split);
    to.need = PIFI_SPLIT_BIT(split);
    PifiTaskSplits ts;
    if (task_load(task, data_dir, &ts, &to, err)) return -1;
    /* the task's classes onto the run's by name (a note when by index) */
    if (task_splits_onto_run(&ts, (const char *const *)rm->label_names, rm->K, err)) {
        task_splits_free(&ts);
        return -1;
    }
    snprintf(out->label_note, sizeof out->label_note, "%s", ts.label_note);
    PifiConfusion cm;
    int rc = evalset_dataset(rm, &ts.split[split], batch, &cm, &out->loss, err);
    if (rc == 0) {
        out->n = cm.n;
        out->accuracy = metric_accuracy(&cm);
        out->macro_f1 = metric_macro_f1(&cm);
        out->mcc = metric_mcc(&cm);
        confusion_free(&cm);
    }
    task_splits_free(&ts);
    out->seconds = now_s() - t0;
    return rc;
}
