/* s2s_runio.h: the run directory of a generation run (train/s2s_run.h), laid
 * out as a classification run's (runio.h) where it can be:
 *
 *   config.json          the SLM's config.json as written, plus "pifi": the
 *                        method, "seq2seq": true, the LLM layer, every
 *                        hyperparameter and the data (with its source prefix)
 *   model.safetensors    the best epoch's weights: the encoder-decoder under
 *                        its transformers names (T5ForConditionalGeneration,
 *                        BartForConditionalGeneration load it) and, for
 *                        --method pifi, "pifi.l_in.weight", "pifi.l_out.weight"
 *   tokenizer files      copied from the SLM
 *   train_log.jsonl      one line per step: step, epoch, loss, lr, grad_norm, examples/s
 *   metrics.json         per epoch (train loss; validation loss, BLEU, chrF)
 *                        and final (test); "best_epoch" is written last
 *   test_generations.txt the kept weights' decoding of the test split, a line each
 *   curve.png            the training loss per step and the validation BLEU per
 *                        epoch (where gnuplot is installed: exp/plot.h)
 *   checkpoint/state.safetensors   every trainable tensor, the Adam moments,
 *                        the progress (S2SProgress), for --resume
 *
 * Every file is written atomically (temp file, fsync, rename). */
#ifndef PIFI_S2S_RUNIO_H
#define PIFI_S2S_RUNIO_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "train/s2s_train.h"

/* Where a run stands, saved with its checkpoint. */
typedef struct {
    int64_t step;          /* optimizer steps done */
    int64_t epoch;         /* epochs fully done */
    int64_t step_in_epoch; /* steps done in the current epoch */
    double best_valid;     /* the best epoch's validation BLEU (0 before the first) */
    int64_t best_epoch;    /* 0: none yet */
    double seconds;        /* of training and evaluation so far, over every sitting */
} S2SProgress;

/* config.json: the SLM directory's own config.json + "pifi". */
int s2s_runio_write_config(const char *run_dir, const char *slm_dir, const cJSON *pifi, PifiErr *err);

/* model.safetensors of t's current weights. */
int s2s_runio_save_model(const S2STrainer *t, const char *run_dir, PifiErr *err);
/* t's weights back from run_dir/model.safetensors (the best epoch's). */
int s2s_runio_load_model(S2STrainer *t, const char *run_dir, PifiErr *err);

/* checkpoint/state.safetensors of t and p; and back, checked against the
 * run (its method, epochs). */
int s2s_runio_save_state(const S2STrainer *t, const S2SProgress *p, const char *method, const char *run_dir,
                         PifiErr *err);
int s2s_runio_load_state(S2STrainer *t, S2SProgress *p, const char *method, int64_t epochs, const char *run_dir,
                         PifiErr *err);

#endif
