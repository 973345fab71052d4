/* s2s_train.h: training an encoder-decoder (pifi/seq2seq.h) with teacher
 * forcing, method `base` (the encoder's output is the decoder's memory) or
 * `pifi` (it goes through the plugged layer first, s2s_plug.h).
 * One step: encode, decode, the label-smoothed cross-entropy over target
 * tokens (padding not counted, train/loss.h), the two backwards, global-norm
 * clipping and an Adam / AdamW update over the model's tensor table
 * (train/optim.h). And the validation loss, and greedy decoding. */
#ifndef PIFI_S2S_TRAIN_H
#define PIFI_S2S_TRAIN_H

#include <stdint.h>

#include "pifi/seq2seq.h"
#include "train/optim.h"
#include "train/s2s_data.h"
#include "train/s2s_plug.h"

typedef struct {
    Seq2Seq *m;          /* not owned */
    S2SPlug *plug;       /* --method pifi: L_in -> LLM layer -> L_out (not owned); NULL: base */
    float *plug_mem;     /* L_in (D, C) then L_out (C, D) */
    ParamTable pt;       /* the model's tensors (their gradients laid out as its parameter arena), then
                            L_in and L_out */
    OptimConfig oc;
    float *dlogits;      /* (B, Tt, V) */
    float *dmem;         /* (B, Ts, C) */
    double *row_loss;    /* (B, Tt) */
    size_t cap_logits, cap_mem;
    int64_t step;        /* optimizer steps taken */
} S2STrainer;

/* plug NULL: method base; else its l_in and l_out are pointed into the
 * trainer's arena and initialised from seed. */
int s2s_trainer_init(S2STrainer *t, Seq2Seq *m, S2SPlug *plug, uint64_t seed, const OptimConfig *oc, PifiErr *err);
void s2s_trainer_free(S2STrainer *t);

/* One optimizer step on b at learning rate lr; *loss the batch's mean loss
 * over its target tokens, *norm the gradient norm before clipping (clip <= 0:
 * none). */
int s2s_train_step(S2STrainer *t, const S2SBatch *b, float lr, float smoothing, float clip, double *loss,
                   double *norm, PifiErr *err);

/* The mean loss (no smoothing) over every target token of d, in batches. */
int s2s_eval_loss(Seq2Seq *m, S2SPlug *plug, const S2SData *d, int batch, double *loss, PifiErr *err);

/* Greedy decoding of the sources src (B, Ts) with mask: out (B, max_new)
 * gets each row's tokens up to its end-of-sequence token (not included),
 * len (B) their counts. The decoder runs incrementally (seq2seq_decode_step:
 * one position per step, the prefix's keys and values cached). */
int s2s_greedy(Seq2Seq *m, S2SPlug *plug, const int32_t *src, const int32_t *mask, int B, int Ts, int max_new,
               int32_t *out, int *len, PifiErr *err);

/* The decoder's memory for src (B, Ts): the encoder's output, through the
 * plug when there is one. */
int s2s_memory(Seq2Seq *m, S2SPlug *plug, const int32_t *src, const int32_t *mask, int B, int Ts,
               const float **memory, PifiErr *err);

#endif
