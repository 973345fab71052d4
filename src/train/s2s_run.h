/* s2s_run.h: the whole `pifi train` run of a generation task (an
 * encoder-decoder SLM, T5 or BART; --method base or pifi): the SLM loaded
 * (or initialised from its config.json, --init random), the data tokenized
 * with the source prefix, epochs of teacher-forcing steps (s2s_train.h)
 * with logging, checkpoints every --save-every steps and at each epoch's
 * end, and per epoch the validation loss and the validation split decoded
 * (--num-beams, ...) and scored (sacreBLEU's BLEU and chrF); the epoch with
 * the best validation BLEU is kept (model.safetensors), then the test
 * split is decoded with it and scored. --resume continues from the
 * checkpoint bit-identically: the data order is a function of (seed,
 * epoch) and dropout of (seed, step). The files: s2s_runio.h. */
#ifndef PIFI_S2S_RUN_H
#define PIFI_S2S_RUN_H

#include <cjson/cJSON.h>

#include "pifi/dataset.h"
#include "train/train_run.h"

/* splits: [train, valid (may be NULL), test (may be NULL)] with targets;
 * data: where they came from (config.json "pifi.data": its "source_prefix"
 * is put before each source). resume: continue the run in o->out. */
int s2s_run(const TrainOpts *o, PifiDataset *const splits[3], const cJSON *data, int resume,
            const TrainCallbacks *cb, TrainResult *res, PifiErr *err);

#endif
