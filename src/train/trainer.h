/* trainer.h: fine-tuning a classifier with one of the paper's methods, and
 * evaluating it. The run directory layout is described in runio.h. */
#ifndef PIFI_TRAINER_H
#define PIFI_TRAINER_H

#include <stdint.h>

#include "pifi/dataset.h"
#include "pifi/metrics.h"
#include "models/pifi_method.h"
#include "pifi/pifi_model.h"
#include "pifi/tokenizer.h"
#include "train/dist.h"
#include "train/optim.h"
#include "train/tokdata.h"

/* The validation metric that picks the best epoch and that early stopping
 * watches (--metric-for-best; early_stop.h). */
typedef enum {
    BEST_ACCURACY, BEST_MACRO_F1, BEST_MCC,
    BEST_SQUAD_F1, /* QA: SQuAD's F1 */
    BEST_BLEU      /* generation: sacreBLEU's corpus BLEU of the decoded validation split */
} BestMetric;

/* The options of a run; the hyperparameters' defaults, ranges and names
 * are the table of train_options.c. */
typedef struct {
    /* model */
    const char *slm;       /* SLM directory */
    const char *llm;       /* LLM (HF dir, GGUF) or extracted layer dir; NULL: base, lora */
    int layer;             /* INT32_MIN: the extracted dir's own */
    PifiMethod method;
    PifiPooling pooling;
    int lora_r;
    float lora_alpha, lora_dropout;
    /* extractive QA: span set by the data (a QA task), the rest options */
    int span;              /* the span head on every position (pifi_span.c), the loss of start and end */
    int doc_stride, max_answer_len;
    int layer_causal;      /* the plugged layer attends causally (default bidirectional, as the authors) */
    int layer_mask_ones;   /* the authors' all-ones key mask (comparison only) */
    /* generation: seq2seq set by the data (a generation task: an encoder-decoder SLM, train/s2s_run.h),
       the rest options */
    int seq2seq;
    int init_random;       /* the SLM's config.json with fresh weights (trained from scratch) */
    int max_target_len;    /* target tokens (longer ones truncated); max_len is the source's */
    int num_beams, early_stopping, no_repeat_ngram, min_new_tokens, max_new_tokens; /* decoding (s2s_beam.h) */
    float length_penalty;
    /* optimisation (defaults reproduce the authors' code) */
    int epochs, batch, eval_batch, max_len;
    float lr, weight_decay, clip, label_smoothing, head_dropout, warmup_ratio;
    OptimKind optim;
    SchedKind sched;
    uint64_t seed;
    int64_t max_steps;     /* 0: no limit */
    int64_t save_every;    /* checkpoint every N steps (0: each epoch only) */
    int shuffle;
    int drop_last;         /* leave out the last partial batch of each epoch (1, the authors' DataLoader) or
                              train on it (0); tokdata.h epoch_steps */
    PifiPrecision precision; /* arithmetic (pifi/compute.h); 0 = fp32, the library default */
    int grad_accum;        /* micro-batches per optimizer step (1: none); not a hyperparameter:
                              the step is the same global batch either way */
    int early_stopping_patience; /* end the run after this many validations in a row without a better
                              metric_for_best (0: off); early_stop.h */
    BestMetric metric_for_best;
    /* output */
    const char *out;
    int overwrite;
    int bundle;            /* copy the frozen layer into RUN_DIR/llm_layer */
    int keep_checkpoint;   /* keep checkpoint/ once the run is complete (0: removed, the default) */
    const struct cJSON *resume_changes; /* --resume: the settings given again that differ from the
                              run's config.json ({"precision": ..., "precision_was": ..., "threads": ...}),
                              recorded in config.json "resumes" and train_log.jsonl; NULL: none */
    char llm_buf[4096];    /* storage when llm is resolved against a run directory */
} TrainOpts;

/* Every option its default (train_options.c: the table's, layer -1, method pifi). */
void train_opts_default(TrainOpts *o);

/* What the options leave to the models, settled before a run starts (and
 * so recorded in its config.json): llm-layer-only's SLM is its LLM (o->slm
 * = o->llm; another --slm is refused), pooling auto becomes the SLM
 * family's default (EncoderFamily.default_pooling: a decoder's last real
 * token, the encoders' cls). */
int train_opts_resolve(TrainOpts *o, PifiErr *err);

/* Everything of a run in memory. */
typedef struct {
    TrainOpts o;
    PifiModel model;
    PifiTokenizer *tk;     /* loaded by the caller (train_run); freed with the trainer */
    ParamTable pt;
    PifiGrads grads;
    LlmLayerParams gllm;
    int enc_trainable;     /* the SLM's own weights train (not LoRA) */
    int K;
    float *dlogits;        /* (batch, K) */
    Dist *dist;            /* NULL or size 1: one process */
    Batch mb;              /* the current micro-batch of trainer_step_global */
    DistSeg *segs;         /* (nsegs) the gradient arena by backward stage (trainer_grad_segments) */
    int nsegs;
    int64_t fault_nan_step; /* test hook (env PIFI_FAULT_NAN_STEP): poison the logits at this step */
    /* progress, saved in checkpoints */
    int64_t step;          /* optimizer steps done */
    int64_t epoch;         /* epochs fully done */
    int64_t step_in_epoch; /* steps done in the current epoch */
    double best_valid;
    int64_t best_epoch;    /* 0: none yet */
} Trainer;

/* Build the model for o->method (load, initialise, register the trainable
 * tensors). K classes. */
int trainer_setup(Trainer *t, const TrainOpts *o, int K, PifiErr *err);
void trainer_free(Trainer *t);

/* Forward + loss + backward + clip + optimizer step on one batch. Returns the
 * loss in *loss and the gradient norm before clipping in *gnorm. */
int trainer_step(Trainer *t, const Batch *b, float lr, double *loss, double *gnorm, PifiErr *err);

/* What one step of trainer_step_global reports. */
typedef struct {
    double loss;   /* mean over the global batch */
    double gnorm;  /* global gradient norm before clipping */
    double comm_s; /* seconds this rank waited in collectives */
    int signal;    /* in: a stop signal this rank caught (0: none); out: the one every rank agreed on */
} StepStats;

/* One optimizer step on the global batch idx[0..B) of td, the same step
 * whatever the number of ranks and micro-batches:
 *   - rank r of N takes examples [B r / N, B (r+1) / N) (slices differ by at
 *     most one example when N does not divide B);
 *   - it cuts its slice into o.grad_accum micro-batches the same way, and for
 *     each runs forward + backward with the loss gradient scaled by
 *     micro / B, accumulating into the gradient arena, so the sum over all
 *     micro-batches and ranks is the gradient of the global batch's mean loss;
 *   - with several ranks, the last micro-batch's backward starts the
 *     all-reduce of each layer's gradients as soon as they are final
 *     (dist_grad_ready: the head and the LLM layer first, then the
 *     encoder's layers from the last), the rest is sent when it ends;
 *   - the ranks agree on failures and stop signals, wait for the sums
 *     (dist_grad_finish), clip by the global norm and take the identical
 *     Adam step.
 * Dropout masks are keyed by the example's row in the global batch
 * (pifi_model_set_row0), so they do not depend on the split either. */
int trainer_step_global(Trainer *t, const TokData *td, const int64_t *idx, int B, float lr, StepStats *st,
                        PifiErr *err);

/* Predictions on a tokenized split (eval mode), into the confusion matrix;
 * probs (n, K) optional. */
int trainer_evaluate(PifiModel *m, const TokData *td, int eval_batch, PifiConfusion *cm, float *probs,
                     double *mean_loss, float label_smoothing, PifiErr *err);
/* Told after each evaluated batch: examples done of total, and the summed
 * loss of those examples. */
typedef void (*TrainerEvalProgress)(void *ctx, int64_t done, int64_t total, double loss_sum);
/* trainer_evaluate with fn(ctx, ...) called after each batch (fn may be NULL). */
int trainer_evaluate_progress(PifiModel *m, const TokData *td, int eval_batch, PifiConfusion *cm, float *probs,
                              double *mean_loss, float label_smoothing, TrainerEvalProgress fn, void *ctx,
                              PifiErr *err);
/* The same sharded over the ranks of d (batches round-robin), the confusion
 * matrix and the loss summed over the ranks: every rank gets the whole
 * result. probs must be NULL when d has several ranks. */
int trainer_evaluate_dist(PifiModel *m, const TokData *td, int eval_batch, PifiConfusion *cm, float *probs,
                          double *mean_loss, float label_smoothing, Dist *d, PifiErr *err);

#endif
