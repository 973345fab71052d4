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
 * resume: continue the run in o->out from its checkpoint. */
int train_run(const TrainOpts *o, PifiDataset *const splits[3], const cJSON *data, int resume,
              TrainResult *res, PifiErr *err);

/* Catch SIGINT/SIGTERM: the run finishes its step, saves and returns with
 * res->interrupted set. */
void train_install_signal_handlers(void);

#endif
