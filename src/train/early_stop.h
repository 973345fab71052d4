/* early_stop.h: the validation metric that picks the best epoch
 * (--metric-for-best) and early stopping (--early-stopping-patience), as
 * transformers' Trainer does it: the run ends once N validations in a row
 * have not improved on the best; the best epoch's weights are the model.
 *
 * No state of its own: the validations since the best are the whole epochs
 * done minus the best epoch (both in the checkpoint), so a resumed run
 * stops exactly where an uninterrupted one would. */
#ifndef PIFI_EARLY_STOP_H
#define PIFI_EARLY_STOP_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "train/trainer.h"

/* The metric's key in metrics.json ("accuracy", "macro_f1", "mcc") and its name in words. */
const char *best_metric_key(BestMetric m);
const char *best_metric_words(BestMetric m);

/* The chosen metric of one validation (a metrics.json "valid" object). */
double early_stop_score(const TrainOpts *o, const cJSON *valid);

/* Should the run end before its next epoch? epochs_done whole epochs, the
 * best of them best_epoch (1-based; 0: none yet). */
int early_stop_due(const TrainOpts *o, int64_t epochs_done, int64_t best_epoch);

/* After the epochs: when early stopping ended the run (before o->epochs),
 * metrics gets "stopped_early": {"after_epoch", "best_epoch", "patience",
 * "metric"} and the epoch it stopped after is returned; else 0. */
int64_t early_stop_finish(const TrainOpts *o, int64_t epochs_done, int64_t best_epoch, cJSON *metrics);

/* The epoch a complete run's metrics.json says it stopped early after (0: none). */
int64_t early_stop_read(const cJSON *metrics);

#endif
