/* train_resume.h: a run directory brought back: the checkpoint's state with
 * the log and metrics.json cut back to it (--resume), and a complete run's
 * results read back. */
#ifndef PIFI_TRAIN_RESUME_H
#define PIFI_TRAIN_RESUME_H

#include "train/train_run.h"

/* The run directory's state for --resume, rank 0: the checkpoint, or none
 * yet (killed before the first save: the run starts again at step 0, with
 * its config.json and a fresh copy of the tokenizer, and a note says so);
 * *metrics (NULL when there is none yet) and the log cut to the checkpoint;
 * *loss_sum, *loss_w: the current epoch's logged losses, each times its
 * weight (last_w for a short last batch), and the sum of the weights. */
/* Keep the log lines of steps <= step at path (a line cut by a kill goes
 * too) and add up the losses of the steps after epoch_start, each times its
 * weight in the epoch's mean (last_w for step steps_per_epoch of the epoch,
 * else 1): *loss_sum, *loss_w. An absent log is an empty one. */
int resume_trim_log(const char *path, int64_t step, int64_t epoch_start, int64_t steps_per_epoch, double last_w,
                    double *loss_sum, double *loss_w, PifiErr *err);
/* metrics.json as of a checkpoint after epochs_done epochs: no final entries. */
void resume_trim_metrics(cJSON *metrics, int64_t epochs_done);

int train_resume_state(Trainer *t, const TrainOpts *o, int64_t steps_per_epoch, double last_w,
                       const TrainCallbacks *cb, cJSON **metrics, double *loss_sum, double *loss_w, PifiErr *err);

#endif
