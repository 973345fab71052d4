/* train_run.h: the whole `pifi train` run: epochs, logging, checkpoints,
 * best-epoch selection on the validation split, final test evaluation, and
 * --resume. */
#ifndef PIFI_TRAIN_RUN_H
#define PIFI_TRAIN_RUN_H

#include <cjson/cJSON.h>

#include "pifi/dataset.h"
#include "train/trainer.h"

/* What the run reports at the end. */
typedef struct {
    int interrupted;        /* stopped by SIGINT/SIGTERM after saving: the signal number */
    int64_t steps;
    int64_t best_epoch;
    double best_valid;      /* accuracy on the validation split, -1 if none */
    double test_accuracy, test_macro_f1, test_mcc; /* -1 if no test split */
    double seconds;
} TrainResult;

/* splits: [train, valid (may be empty), test (may be empty)]; data describes
 * where they came from (stored in config.json so --resume reloads them).
 * resume: continue the run in o->out from its checkpoint (written by any
 * number of ranks; read by rank 0 and broadcast).
 * dist: the ranks (NULL: one process). On failure with several ranks,
 * dist->agreed_fail says every rank stops with this error; otherwise
 * dist->broken is set and the caller must print err and dist_abort. */
int train_run(const TrainOpts *o, PifiDataset *const splits[3], const cJSON *data, int resume, Dist *dist,
              TrainResult *res, PifiErr *err);

/* Catch SIGINT/SIGTERM/SIGUSR1: the run finishes its step, saves and
 * returns with res->interrupted set. With several ranks, a signal caught by
 * any one rank stops every rank after the same step. */
void train_install_signal_handlers(void);

#endif
