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
int train_resume_state(Trainer *t, const TrainOpts *o, int64_t steps_per_epoch, double last_w,
                       const TrainCallbacks *cb, cJSON **metrics, double *loss_sum, double *loss_w, PifiErr *err);

#endif
