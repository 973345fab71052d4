/* pifi.h: the public C API of pifi, the whole of it.
 *
 * pifi fine-tunes a small encoder with one frozen decoder layer of a large
 * language model plugged between the encoder and its head (PiFi, Kim et
 * al., ACL 2025), on the CPU. This header is what a program embedding pifi
 * needs: train a classifier on a task or the caller's files, open the run
 * directory it wrote, classify texts with it, evaluate it on a task or a
 * file, quantize it to int8, and embed texts with a pretrained encoder.
 * Handles are opaque; every call that can fail returns a pifi_status and,
 * when err is not NULL, fills it with one line naming the file or subject
 * and what is wrong. The library never prints and never exits (a bug in
 * pifi itself, a broken internal invariant, aborts).
 *
 *     pifi_run *run;
 *     pifi_error err;
 *     if (pifi_run_open("runs/sst2-pifi", NULL, &run, &err)) { fputs(err.message, stderr); ... }
 *     const char *text = "a gripping, funny film";
 *     float probs[2];  // pifi_run_num_classes(run) floats per text
 *     int label;
 *     pifi_predict(run, 1, &text, NULL, probs, &label, NULL, &err);
 *     printf("%s %.3f\n", pifi_run_label(run, label), probs[label]);
 *     pifi_run_close(run);
 *
 * Thread safety: one handle is used by one thread at a time; different
 * handles are independent. Matrix products run on the process's OpenMP
 * pool (OMP_NUM_THREADS). */
#ifndef PIFI_H
#define PIFI_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PIFI_VERSION "0.1.0"

/* What went wrong; the values are the command line's exit statuses. */
typedef enum {
    PIFI_OK = 0,
    PIFI_E_RUNTIME = 1, /* out of memory, I/O error, a failure inside pifi */
    PIFI_E_INPUT = 2,   /* a bad file, option or text: the caller can fix it */
} pifi_status;

#define PIFI_ERROR_MAX 1024

/* A failure's status and its one-line message (no trailing newline). */
typedef struct {
    pifi_status code;
    char message[PIFI_ERROR_MAX];
} pifi_error;

/* A short text for a status ("bad input", ...). */
const char *pifi_strerror(pifi_status s);
/* pifi's version, "MAJOR.MINOR.PATCH". */
const char *pifi_version(void);

/* How matrix products are computed: AUTO is bf16 where the CPU multiplies
 * bf16 natively (AVX512-BF16, AMX) and fp32 otherwise. */
typedef enum {
    PIFI_PRECISION_AUTO = 0,
    PIFI_PRECISION_FP32 = 1,
    PIFI_PRECISION_BF16 = 2,
} pifi_precision;

/* ---- a trained run, for inference ---------------------------------------- */

typedef struct pifi_run pifi_run;

typedef struct {
    pifi_precision precision; /* default AUTO */
    int batch;                /* texts per forward pass in pifi_predict (default 32) */
} pifi_run_params;

pifi_run_params pifi_run_default_params(void);

/* Open the run directory `pifi train` (or `pifi quantize`) wrote: its model,
 * tokenizer and classes. params NULL: the defaults. On success *out is a new
 * handle for pifi_run_close. */
pifi_status pifi_run_open(const char *dir, const pifi_run_params *params, pifi_run **out, pifi_error *err);
void pifi_run_close(pifi_run *run);

/* The run's classes, in the order of the probabilities. */
int pifi_run_num_classes(const pifi_run *run);
/* The name of class k ("positive"), or NULL out of range. */
const char *pifi_run_label(const pifi_run *run, int k);
/* The run's method ("pifi", "base", ...) and the precision it computes in ("fp32", "bf16"). */
const char *pifi_run_method(const pifi_run *run);
const char *pifi_run_precision(const pifi_run *run);

/* Classify texts[0..n) (with pairs[0..n) for a pair run, else NULL):
 * probs[i * K + k] the probability of class k for text i (K =
 * pifi_run_num_classes), labels[i] the most probable class (labels may be
 * NULL). notes (may be NULL): notes[i] "" or a warning about input i (an
 * empty text classified from the special tokens alone), a static string. */
pifi_status pifi_predict(pifi_run *run, int n, const char *const *texts, const char *const *pairs, float *probs,
                         int *labels, const char **notes, pifi_error *err);

/* ---- a pretrained encoder, for embeddings ---------------------------------- */

typedef struct pifi_encoder pifi_encoder;

typedef struct {
    pifi_precision precision; /* default AUTO; FP32 matches transformers to fp32 rounding */
    int max_len;              /* truncate (longest first) to this many tokens with the specials;
                                 0: the tokenizer's model_max_length */
} pifi_encoder_params;

pifi_encoder_params pifi_encoder_default_params(void);

/* Open a Hugging Face encoder directory (config.json, model.safetensors,
 * tokenizer.json or vocab.txt): BERT, RoBERTa, ELECTRA, MiniLM. */
pifi_status pifi_encoder_open(const char *dir, const pifi_encoder_params *params, pifi_encoder **out,
                              pifi_error *err);
void pifi_encoder_close(pifi_encoder *enc);
/* The hidden size: floats per token vector. */
int pifi_encoder_dim(const pifi_encoder *enc);
/* The token of an id ("[CLS]"), or NULL out of range. */
const char *pifi_encoder_token(const pifi_encoder *enc, int id);

/* The encoder's output for a batch of texts. */
typedef struct pifi_embeddings pifi_embeddings;

/* Tokenize texts[0..n) (with pairs[0..n), or NULL) and run the encoder as one
 * batch. A text that cannot be tokenized is named by its place in this call
 * ("input 3", from 1). *out is freed with pifi_embeddings_free. */
pifi_status pifi_embed(pifi_encoder *enc, int n, const char *const *texts, const char *const *pairs,
                       pifi_embeddings **out, pifi_error *err);
void pifi_embeddings_free(pifi_embeddings *e);
/* Input i's tokens: their number, ids and token type ids. */
int pifi_embeddings_len(const pifi_embeddings *e, int i);
const int *pifi_embeddings_ids(const pifi_embeddings *e, int i);
const int *pifi_embeddings_type_ids(const pifi_embeddings *e, int i);
/* The last hidden state of input i's token t (t = 0: the CLS vector),
 * pifi_encoder_dim floats. */
const float *pifi_embeddings_hidden(const pifi_embeddings *e, int i, int t);
/* Input i's pooler output, or NULL when the model has no pooler. */
const float *pifi_embeddings_pooled(const pifi_embeddings *e, int i);

/* ---- data ----------------------------------------------------------------- */

/* The data an evaluation (or a training run) reads: a named task, or the
 * caller's files. Zero-initialise and set what is needed. */
typedef struct {
    const char *task;     /* a named task ("sst2"; `pifi data list`), or NULL for files */
    const char *data_dir; /* the tasks' data root; NULL: $PIFI_DATA, else (evaluating a run) the
                             root the run was trained from when it has the task, else ~/.cache/pifi/data */
    const char *train, *valid, *test; /* TSV, CSV or JSONL files (by extension) instead of a task */
    const char *text_col, *pair_col, *label_col; /* their columns; NULL: "text", none, "label" */
    int skip_bad_rows;    /* 1: skip (and count) malformed rows instead of failing */
    double train_fraction; /* training: a stratified fraction of the training split, seeded by the
                              options' seed; 0 or 1: all of it */
} pifi_data;

/* A split of the data; the same numbers as the library's. */
typedef enum { PIFI_TRAIN = 0, PIFI_VALID = 1, PIFI_TEST = 2 } pifi_split;

/* ---- progress ------------------------------------------------------------- */

/* Where a long call is, told to a callback after each batch (evaluation)
 * or optimizer step (training). */
typedef struct {
    const char *phase;      /* "eval sst2 test", "epoch 1/3", ... */
    long long step, steps;  /* batches (steps) done and in all: of the evaluation, of the whole training */
    long long done, total;  /* examples done and in all (evaluation); steps (training) */
    double loss_mean;       /* mean loss so far (of the evaluation; of the epoch when training) */
    double loss_last;       /* the last batch's mean loss */
    double elapsed_s;       /* seconds since the call began */
    double examples_per_s;  /* throughput of the last batch or step */
} pifi_progress;

/* What a long call tells its caller while it runs; any member may be NULL. */
typedef struct {
    /* after each batch, and once before the first with step 0 */
    void (*progress)(const pifi_progress *p, void *user);
    /* a line worth showing the user (a note, a warning), without newline */
    void (*log)(const char *line, void *user);
    /* training: polled before each step; nonzero stops the run after that
     * step with its checkpoint saved (pifi_train_result.stopped) */
    int (*stop)(void *user);
    void *user;
} pifi_callbacks;

/* ---- evaluation ----------------------------------------------------------- */

typedef struct pifi_eval pifi_eval;

/* Evaluate a run on a split of data (NULL: the run's own data, as recorded in
 * its config.json): every metric over the whole split. A task's classes are
 * matched to the run's by name; when by case or index, a note says so
 * (cb->log, and pifi_eval_note). batch: examples per forward pass (0: 64).
 * cb may be NULL. *out is freed with pifi_eval_free. */
pifi_status pifi_evaluate(pifi_run *run, const pifi_data *data, pifi_split split, int batch,
                          const pifi_callbacks *cb, pifi_eval **out, pifi_error *err);
void pifi_eval_free(pifi_eval *e);

/* The task evaluated on ("sst2"), or NULL for a file. */
const char *pifi_eval_task(const pifi_eval *e);
/* The task's name or the file's path. */
const char *pifi_eval_source(const pifi_eval *e);
/* "" or how the task's classes were put onto the run's (by case, by index). */
const char *pifi_eval_note(const pifi_eval *e);
long long pifi_eval_count(const pifi_eval *e);
double pifi_eval_loss(const pifi_eval *e);
double pifi_eval_accuracy(const pifi_eval *e);
double pifi_eval_macro_f1(const pifi_eval *e);
double pifi_eval_mcc(const pifi_eval *e);

typedef struct {
    double precision, recall, f1;
    long long support;
} pifi_class_scores;

/* Class k's scores (k in [0, pifi_run_num_classes)). */
pifi_class_scores pifi_eval_class(const pifi_eval *e, int k);
/* Examples of true class t predicted as class p. */
long long pifi_eval_confusion(const pifi_eval *e, int t, int p);

/* ---- training -------------------------------------------------------------- */

/* Everything a training run is set up with: the model (the SLM, the LLM
 * layer, the method) and every hyperparameter of `pifi train` (its option
 * table), with `pifi train`'s defaults. */
typedef struct pifi_train_options pifi_train_options;

/* A new set of options at the defaults; NULL when out of memory. */
pifi_train_options *pifi_train_options_new(void);
void pifi_train_options_free(pifi_train_options *o);

/* Set one option from its text. key: "slm" (the SLM directory), "llm" (an
 * LLM directory or .gguf), "layer" (its index, negative from the end),
 * "llm_layer" (a layer from `pifi extract`), "method" (base, pifi,
 * pifi-unfrozen, pifi-random, lora), "overwrite" (true|false), or a key of
 * the option table as config.json and grid files spell it ("epochs", "lr",
 * "batch", "precision", "early_stopping_patience", ...; pifi_train_option_key
 * lists them), range-checked as `pifi train` checks it. Booleans are
 * true|false. */
pifi_status pifi_train_options_set(pifi_train_options *o, const char *key, const char *value, pifi_error *err);

/* The option table's keys and help lines, i in [0, pifi_train_option_count). */
int pifi_train_option_count(void);
const char *pifi_train_option_key(int i);
const char *pifi_train_option_help(int i);

/* How a training run ended. */
typedef struct {
    int stopped;              /* cb->stop ended it early: its checkpoint is saved (`pifi train --resume
                                 OUT` continues it); the other fields are where it stood */
    long long steps;          /* optimizer steps taken */
    long long best_epoch;     /* the epoch whose weights were kept (1-based) */
    double best_valid;        /* its validation metric (metric_for_best), -1: no validation split */
    long long stopped_early;  /* early stopping ended the run after this epoch (0: it did not) */
    double test_accuracy, test_macro_f1, test_mcc; /* of the kept weights; -1: no test split */
    double seconds;
} pifi_train_result;

/* Train a classifier on data (a task, or train/valid/test files) into the
 * run directory out_dir, as `pifi train` does: the best epoch's weights,
 * config.json, the log, metrics.json (pifi_run_open reads it). out_dir must
 * not hold a run unless "overwrite" is set. Progress and notes go through cb
 * (may be NULL). One process (MPI runs are `pifi train`'s). */
pifi_status pifi_train(const pifi_train_options *o, const pifi_data *data, const char *out_dir,
                       const pifi_callbacks *cb, pifi_train_result *res, pifi_error *err);

/* ---- int8 quantization ---------------------------------------------------- */

typedef struct {
    int all;                  /* also the SLM's linear layers and word embeddings (a base run needs it) */
    int overwrite;            /* replace a run at the output directory */
    pifi_precision precision; /* arithmetic of the before/after evaluation (default AUTO) */
    int batch;                /* examples per forward pass of that evaluation (default 64) */
} pifi_quantize_params;

pifi_quantize_params pifi_quantize_default_params(void);

/* What pifi_quantize did. */
typedef struct {
    const char *what;         /* "LLM layer", "SLM linear layers and word embeddings", ... */
    double weights_mb_fp32;   /* the model's weights in fp32 before */
    double weight_files_mb;   /* the output's weight files */
    const char *split;        /* the split measured ("test", else "valid"), or NULL: not measured */
    long long n;              /* its examples */
    const char *precision;    /* of the measurement ("fp32", "bf16") */
    double accuracy_before, accuracy_after;
} pifi_quantize_result;

/* Write out_dir, the trained run at run_dir in int8 form for inference
 * (int8 weights with one fp32 scale per row; the frozen layer bundled; no
 * fp32 copy of what is int8), measuring the accuracy on the run's test
 * split (else its validation split) before and after. out_dir must not hold
 * a run unless overwrite. pifi_run_open reads it as any run. */
pifi_status pifi_quantize(const char *run_dir, const char *out_dir, const pifi_quantize_params *params,
                          pifi_quantize_result *result, pifi_error *err);

#ifdef __cplusplus
}
#endif

#endif
