/* trainer.h: fine-tuning a classifier with one of the paper's methods, and
 * evaluating it. The run directory layout is described in runio.h. */
#ifndef PIFI_TRAINER_H
#define PIFI_TRAINER_H

#include <stdint.h>

#include "pifi/dataset.h"
#include "pifi/metrics.h"
#include "pifi/pifi_model.h"
#include "pifi/tokenizer.h"
#include "train/optim.h"
#include "train/tokdata.h"

typedef enum {
    METHOD_BASE,          /* plain fine-tuning of the SLM with the same head */
    METHOD_PIFI,          /* the frozen plugged layer (default) */
    METHOD_PIFI_UNFROZEN, /* the plugged layer trains too (paper B.4) */
    METHOD_PIFI_RANDOM,   /* a randomly initialised layer of the same shapes, frozen */
    METHOD_LORA,          /* LoRA r=8, alpha=16, dropout 0.1 on the SLM's query/value; no plug-in */
} PifiMethod;

const char *method_name(PifiMethod m);
int method_parse(const char *s, PifiMethod *out);
int method_has_llm(PifiMethod m);

typedef struct {
    /* model */
    const char *slm;       /* SLM directory */
    const char *llm;       /* LLM (HF dir, GGUF) or extracted layer dir; NULL: base, lora */
    int layer;             /* INT32_MIN: the extracted dir's own */
    PifiMethod method;
    PifiPooling pooling;
    int lora_r;
    float lora_alpha, lora_dropout;
    /* optimisation (defaults reproduce the authors' code) */
    int epochs, batch, eval_batch, max_len;
    float lr, weight_decay, clip, label_smoothing, head_dropout, warmup_ratio;
    OptimKind optim;
    SchedKind sched;
    uint64_t seed;
    int64_t max_steps;     /* 0: no limit */
    int64_t save_every;    /* checkpoint every N steps (0: each epoch only) */
    int shuffle;
    /* output */
    const char *out;
    int overwrite;
    int bundle;            /* copy the frozen layer into RUN_DIR/llm_layer */
    char llm_buf[4096];    /* storage when llm is resolved against a run directory */
} TrainOpts;

void train_opts_default(TrainOpts *o);

/* Everything of a run in memory. */
typedef struct {
    TrainOpts o;
    PifiModel model;
    PifiTokenizer *tk;     /* loaded by the caller (train_run); freed with the trainer */
    ParamTable pt;
    PifiGrads grads;
    EncoderParams genc;
    LlmLayerParams gllm;
    void *glora;           /* EncoderLora of the gradients */
    int enc_trainable;     /* the SLM's own weights train (not LoRA) */
    int K;
    float *dlogits;        /* (batch, K) */
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

/* Predictions on a tokenized split (eval mode), into the confusion matrix;
 * probs (n, K) optional. */
int trainer_evaluate(PifiModel *m, const TokData *td, int eval_batch, PifiConfusion *cm, float *probs,
                     double *mean_loss, float label_smoothing, PifiErr *err);

#endif
