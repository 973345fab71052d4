/* pifi.h: the public C API of pifi, the whole of it.
 *
 * pifi fine-tunes a small encoder with one frozen decoder layer of a large
 * language model plugged between the encoder and its head (PiFi, Kim et
 * al., ACL 2025), on the CPU. This header is what a program embedding pifi
 * needs: train a classifier on a task or the caller's files, open the run
 * directory it wrote, classify texts with it (and take its raw scores and
 * pooled vectors, for a server), evaluate it on a task or a file, quantize
 * it to int8, and embed texts with a pretrained encoder.
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

/* What libpifi.so exports: the functions below and nothing else (the
 * library is built with hidden visibility). */
#if defined(__GNUC__) || defined(__clang__)
#define PIFI_API __attribute__((visibility("default")))
#else
#define PIFI_API
#endif

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
PIFI_API const char *pifi_strerror(pifi_status s);
/* pifi's version, "MAJOR.MINOR.PATCH". */
PIFI_API const char *pifi_version(void);

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

PIFI_API pifi_run_params pifi_run_default_params(void);

/* Open the run directory `pifi train` (or `pifi quantize`) wrote: its model,
 * tokenizer and classes. params NULL: the defaults. On success *out is a new
 * handle for pifi_run_close. */
PIFI_API pifi_status pifi_run_open(const char *dir, const pifi_run_params *params, pifi_run **out, pifi_error *err);
PIFI_API void pifi_run_close(pifi_run *run);

/* The run's classes, in the order of the probabilities. */
PIFI_API int pifi_run_num_classes(const pifi_run *run);
/* The name of class k ("positive"), or NULL out of range. */
PIFI_API const char *pifi_run_label(const pifi_run *run, int k);
/* The run's method ("pifi", "base", ...) and the precision it computes in ("fp32", "bf16"). */
PIFI_API const char *pifi_run_method(const pifi_run *run);
PIFI_API const char *pifi_run_precision(const pifi_run *run);

/* Classify texts[0..n) (with pairs[0..n) for a pair run, else NULL):
 * probs[i * K + k] the probability of class k for text i (K =
 * pifi_run_num_classes), labels[i] the most probable class (labels may be
 * NULL). notes (may be NULL): notes[i] "" or a warning about input i (an
 * empty text classified from the special tokens alone), a static string. */
PIFI_API pifi_status pifi_predict(pifi_run *run, int n, const char *const *texts, const char *const *pairs,
                                  float *probs, int *labels, const char **notes, pifi_error *err);

/* The same forward pass with the raw scores: probs (may be NULL) exactly
 * pifi_predict's, logits[i * K + k] (may be NULL) the scores they are the
 * softmax of. */
PIFI_API pifi_status pifi_predict_logits(pifi_run *run, int n, const char *const *texts, const char *const *pairs,
                                         float *probs, float *logits, pifi_error *err);

/* The tokens the model is given of an input at most, with the special
 * ones: a longer input is truncated (longest first) to it. */
PIFI_API int pifi_run_max_length(const pifi_run *run);
/* *n_tokens: the tokens of text (with pair, or NULL) with the special ones,
 * before truncation; more than pifi_run_max_length means it is truncated. */
PIFI_API pifi_status pifi_run_count_tokens(pifi_run *run, const char *text, const char *pair, int *n_tokens,
                                           pifi_error *err);
/* The SLM's hidden size: floats per pooled vector. */
PIFI_API int pifi_run_embed_dim(const pifi_run *run);
/* The fine-tuned SLM's pooled vector of each input (the run's pooling: CLS,
 * mean or last token), the vector the LLM layer's L_in (or a base run's
 * head) reads: out[i * dim .. (i + 1) * dim), dim = pifi_run_embed_dim. */
PIFI_API pifi_status pifi_run_embed(pifi_run *run, int n, const char *const *texts, const char *const *pairs,
                                    float *out, pifi_error *err);

/* ---- extractive question answering ----------------------------------------- */

/* 1 when the run answers questions (trained on a QA task: --task xquad_en,
 * squad): a start and an end score for every token, no classes to predict
 * (pifi_predict refuses it). */
PIFI_API int pifi_run_is_qa(const pifi_run *run);

typedef struct pifi_answers pifi_answers;

/* The answers of a QA run to the questions of a SQuAD v1.1 JSON or JSON
 * Lines file (path; gold answers are checked but not needed), one per
 * question in file order: the best span of at most the run's
 * max_answer_length tokens over the question's windows, its text cut from
 * the context, and its score (start + end logit). skip_bad: a malformed
 * question is left out instead of failing. batch: windows per forward pass
 * (0: 64). *out is freed with pifi_answers_free. */
PIFI_API pifi_status pifi_answer(pifi_run *run, const char *path, int skip_bad, int batch, pifi_answers **out,
                                 pifi_error *err);
PIFI_API void pifi_answers_free(pifi_answers *a);
PIFI_API long long pifi_answers_count(const pifi_answers *a);
/* Question i's id, question, answer text and score (i in [0, count)). */
PIFI_API const char *pifi_answers_id(const pifi_answers *a, long long i);
PIFI_API const char *pifi_answers_question(const pifi_answers *a, long long i);
PIFI_API const char *pifi_answers_text(const pifi_answers *a, long long i);
PIFI_API double pifi_answers_score(const pifi_answers *a, long long i);

/* ---- a pretrained encoder, for embeddings ---------------------------------- */

typedef struct pifi_encoder pifi_encoder;

typedef struct {
    pifi_precision precision; /* default AUTO; FP32 matches transformers to fp32 rounding */
    int max_len;              /* truncate (longest first) to this many tokens with the specials;
                                 0: the tokenizer's model_max_length */
} pifi_encoder_params;

PIFI_API pifi_encoder_params pifi_encoder_default_params(void);

/* Open a Hugging Face encoder directory (config.json, model.safetensors,
 * tokenizer.json or vocab.txt): BERT, RoBERTa, ELECTRA, MiniLM. */
PIFI_API pifi_status pifi_encoder_open(const char *dir, const pifi_encoder_params *params, pifi_encoder **out,
                                       pifi_error *err);
PIFI_API void pifi_encoder_close(pifi_encoder *enc);
/* The hidden size: floats per token vector. */
PIFI_API int pifi_encoder_dim(const pifi_encoder *enc);
/* The token of an id ("[CLS]"), or NULL out of range. */
PIFI_API const char *pifi_encoder_token(const pifi_encoder *enc, int id);

/* The encoder's output for a batch of texts. */
typedef struct pifi_embeddings pifi_embeddings;

/* Tokenize texts[0..n) (with pairs[0..n), or NULL) and run the encoder as one
 * batch. A text that cannot be tokenized is named by its place in this call
 * ("input 3", from 1). *out is freed with pifi_embeddings_free. */
PIFI_API pifi_status pifi_embed(pifi_encoder *enc, int n, const char *const *texts, const char *const *pairs,
                                pifi_embeddings **out, pifi_error *err);
PIFI_API void pifi_embeddings_free(pifi_embeddings *e);
/* Input i's tokens: their number, ids and token type ids. */
PIFI_API int pifi_embeddings_len(const pifi_embeddings *e, int i);
PIFI_API const int *pifi_embeddings_ids(const pifi_embeddings *e, int i);
PIFI_API const int *pifi_embeddings_type_ids(const pifi_embeddings *e, int i);
/* The last hidden state of input i's token t (t = 0: the CLS vector),
 * pifi_encoder_dim floats. */
PIFI_API const float *pifi_embeddings_hidden(const pifi_embeddings *e, int i, int t);
/* Input i's pooler output, or NULL when the model has no pooler. */
PIFI_API const float *pifi_embeddings_pooled(const pifi_embeddings *e, int i);

/* ---- BERTScore ------------------------------------------------------------- */

/* BERTScore (the bert-score package's score() without baseline rescaling)
 * with enc as the model: its last layer's token vectors (bert-score's
 * num_layers = the model's layer count), texts stripped as str.strip()
 * does, the pairs matched in batches of batch_size as the package does
 * (src/pifi/bertscore.h lists what that changes). */
typedef struct {
    int idf;        /* weight tokens by their idf over the references (bert-score's idf=True) */
    int batch_size; /* bert-score's batch_size; 0: its default, 64 */
} pifi_bertscore_params;

typedef struct {
    double precision, recall, f1;
} pifi_bertscore_result;

PIFI_API pifi_bertscore_params pifi_bertscore_default_params(void);

/* cands[0..n) each against n_refs references (refs[r][i]: reference r of
 * candidate i; several: per candidate the best precision, recall and F1,
 * each on its own). seg (n results, or NULL) gets each candidate's scores,
 * mean the means over the candidates. */
PIFI_API pifi_status pifi_bertscore(pifi_encoder *enc, int n, const char *const *cands, int n_refs,
                                    const char *const *const *refs, const pifi_bertscore_params *params,
                                    pifi_bertscore_result *seg, pifi_bertscore_result *mean, pifi_error *err);

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
    const char *const *eval_tasks; /* training: after it, also test the kept weights on these */
    int n_eval_tasks;              /* tasks' test splits (cross-domain), at most PIFI_EVAL_TASKS_MAX */
    /* a generation task ("multi30k", "cnn_dailymail", "seq2seq"): an encoder-decoder SLM */
    const char *source_col, *target_col; /* the caller's files' columns (cnn_dailymail: "article",
                                            "highlights"; seq2seq: "source", "target") */
    const char *source_prefix;     /* put before each source (T5's task prefix); NULL: the task's */
} pifi_data;

#define PIFI_EVAL_TASKS_MAX 64

/* A split of the data; the same numbers as the library's. */
typedef enum { PIFI_TRAIN = 0, PIFI_VALID = 1, PIFI_TEST = 2 } pifi_split;

/* ---- progress ------------------------------------------------------------- */

/* What a progress report marks. */
typedef enum {
    PIFI_PROGRESS_BEGIN = 0, /* before the first batch or step; done: what was done before (a resumed run's steps) */
    PIFI_PROGRESS_STEP = 1,  /* after a batch or an optimizer step */
    PIFI_PROGRESS_PAUSE = 2, /* training: the steps stop (an epoch ended and its evaluation follows, or a stop) */
} pifi_progress_event;

/* Where a long call is, told to a callback after each batch (evaluation)
 * or optimizer step (training). */
typedef struct {
    pifi_progress_event event;
    const char *phase;      /* "eval sst2 test", "epoch 1/3", ... */
    long long step, steps;  /* batches (steps) done and in all: of the evaluation, of the whole training */
    long long done, total;  /* examples done and in all (evaluation); steps (training) */
    double loss_mean;       /* mean loss so far (of the evaluation; of the epoch when training) */
    double loss_last;       /* the last batch's mean loss */
    double elapsed_s;       /* seconds since the call began */
    double examples_per_s;  /* throughput of the last batch or step */
    int decoding;           /* generation: texts being decoded (done, total: sentences), no loss to tell */
} pifi_progress;

/* What a stop request means while a training run is in a phase: for a
 * caller that stops on a signal (`pifi train` exits at once in LOAD and EVAL,
 * and asks the run to stop in STEPS and FINISH). */
typedef enum {
    PIFI_PHASE_LOAD = 0,   /* loading and preparing: nothing to save yet */
    PIFI_PHASE_STEPS = 1,  /* training steps: a stop is taken after the step, the checkpoint saved */
    PIFI_PHASE_EVAL = 2,   /* an evaluation after which nothing needs saving: the last checkpoint stays */
    PIFI_PHASE_FINISH = 3, /* an evaluation whose steps are saved after it: a stop is taken then */
} pifi_phase;

/* What a long call tells its caller while it runs; any member may be NULL. */
typedef struct {
    /* once before the first batch or step (PIFI_PROGRESS_BEGIN), after each */
    void (*progress)(const pifi_progress *p, void *user);
    /* a line worth showing the user (a note, a warning), without newline */
    void (*log)(const char *line, void *user);
    /* training: polled before each step; nonzero stops the run after that
     * step with its checkpoint saved (pifi_train_result.stopped holds it) */
    int (*stop)(void *user);
    /* training: the run enters a phase; stop_means: one line saying what a
     * stop now does to the run ("... continue with `pifi train --resume
     * RUN`"), or NULL */
    void (*phase)(pifi_phase phase, const char *stop_means, void *user);
    void *user;
} pifi_callbacks;

/* ---- evaluation ----------------------------------------------------------- */

typedef struct pifi_eval pifi_eval;

/* Evaluate a run on a split of data (NULL: the run's own data, as recorded in
 * its config.json): every metric over the whole split. A task's classes are
 * matched to the run's by name; when by case or index, a note says so
 * (cb->log, and pifi_eval_note). batch: examples per forward pass (0: 64).
 * cb may be NULL. *out is freed with pifi_eval_free. */
PIFI_API pifi_status pifi_evaluate(pifi_run *run, const pifi_data *data, pifi_split split, int batch,
                                   const pifi_callbacks *cb, pifi_eval **out, pifi_error *err);
PIFI_API void pifi_eval_free(pifi_eval *e);

/* The task evaluated on ("sst2"), or NULL for a file. */
PIFI_API const char *pifi_eval_task(const pifi_eval *e);
/* The task's name or the file's path. */
PIFI_API const char *pifi_eval_source(const pifi_eval *e);
/* "" or how the task's classes were put onto the run's (by case, by index). */
PIFI_API const char *pifi_eval_note(const pifi_eval *e);
PIFI_API long long pifi_eval_count(const pifi_eval *e);
PIFI_API double pifi_eval_loss(const pifi_eval *e);
PIFI_API double pifi_eval_accuracy(const pifi_eval *e);
PIFI_API double pifi_eval_macro_f1(const pifi_eval *e);
PIFI_API double pifi_eval_mcc(const pifi_eval *e);

typedef struct {
    double precision, recall, f1;
    long long support;
} pifi_class_scores;

/* A question answering run (pifi_run_is_qa) on a QA task or file: the
 * official SQuAD v1.1 exact match and F1 of its answers, percentages over
 * the questions (pifi_eval_count); -1 for a classifier. */
PIFI_API double pifi_eval_exact_match(const pifi_eval *e);
PIFI_API double pifi_eval_f1(const pifi_eval *e);

/* Class k's scores (k in [0, pifi_run_num_classes)). */
PIFI_API pifi_class_scores pifi_eval_class(const pifi_eval *e, int k);
/* Examples of true class t predicted as class p. */
PIFI_API long long pifi_eval_confusion(const pifi_eval *e, int t, int p);

/* ---- a trained generation run (an encoder-decoder: T5, BART) ----------------- */

/* A run `pifi train` wrote on a generation task (--task multi30k,
 * cnn_dailymail, seq2seq); pifi_run_open refuses one. */
typedef struct pifi_generator pifi_generator;

/* How texts are decoded (transformers' generate() semantics). */
typedef struct {
    int num_beams;            /* 1: greedy */
    float length_penalty;     /* a finished beam's score: log-prob sum / length^length_penalty */
    int early_stopping;       /* 0: false, 1: true, 2: "never" */
    int no_repeat_ngram_size; /* 0: off */
    int min_new_tokens;       /* the end token is banned before this many */
    int max_new_tokens;       /* >= 1 */
} pifi_generate_params;

/* 1 when dir holds a generation run, 0 another run or none. */
PIFI_API int pifi_is_generation_run(const char *dir);
/* params: the precision and the texts per batch (NULL: the defaults). */
PIFI_API pifi_status pifi_generator_open(const char *dir, const pifi_run_params *params, pifi_generator **out,
                                         pifi_error *err);
PIFI_API void pifi_generator_close(pifi_generator *g);
/* The decoding the run was trained and evaluated with (its config.json). */
PIFI_API pifi_generate_params pifi_generator_params(const pifi_generator *g);
/* The run's method ("base", "pifi") and the source prefix it puts before each text. */
PIFI_API const char *pifi_generator_method(const pifi_generator *g);
PIFI_API const char *pifi_generator_prefix(const pifi_generator *g);
/* outputs[i] (i < n): the decoding of sources[i] (the prefix put before it),
 * a new string freed with pifi_text_free. params NULL: the run's. */
PIFI_API pifi_status pifi_generate(pifi_generator *g, int n, const char *const *sources,
                                   const pifi_generate_params *params, char **outputs, pifi_error *err);
PIFI_API void pifi_text_free(char *text);

/* A generation run's scores on a split: sacreBLEU's corpus BLEU (13a) with
 * its n-gram precisions (BLEU-1..4, percent) and brevity penalty, chrF2,
 * and the mean teacher-forced loss over target tokens. */
typedef struct {
    long long n;
    double loss, bleu, chrf;
    double bleu_precisions[4], bleu_bp;
    double seconds;
} pifi_generation_scores;

/* Decode split of data (NULL, or no task and no files: the run's own task)
 * with params (NULL: the run's) and score it; progress through cb
 * (sentences). outputs (NULL: not wanted) gets n new strings, the decoded
 * texts in order (each freed with pifi_text_free, the array with free). */
PIFI_API pifi_status pifi_generator_evaluate(pifi_generator *g, const pifi_data *data, pifi_split split,
                                             const pifi_generate_params *params, const pifi_callbacks *cb,
                                             pifi_generation_scores *out, char ***outputs, pifi_error *err);

/* ---- training -------------------------------------------------------------- */

/* Everything a training run is set up with: the model (the SLM, the LLM
 * layer, the method) and every hyperparameter of `pifi train` (its option
 * table), with `pifi train`'s defaults. */
typedef struct pifi_train_options pifi_train_options;

/* A new set of options at the defaults; NULL when out of memory. */
PIFI_API pifi_train_options *pifi_train_options_new(void);
PIFI_API void pifi_train_options_free(pifi_train_options *o);

/* Set one option from its text. key: "slm" (the SLM directory), "llm" (an
 * LLM directory or .gguf), "layer" (its index, negative from the end),
 * "llm_layer" (a layer from `pifi extract`), "method" (base, pifi,
 * pifi-unfrozen, pifi-random, lora), "overwrite" (true|false), "threads"
 * (the size of the thread pool, process-wide), "max_memory" (a budget such
 * as "2G": the run is refused when its estimate is over it, and an
 * allocation past it fails; process-wide), or a key of the option table as
 * config.json and grid files spell it ("epochs", "lr", "batch", "precision",
 * "early_stopping_patience", ...; pifi_train_option_key lists them),
 * range-checked as `pifi train` checks it. Booleans are true|false. */
PIFI_API pifi_status pifi_train_options_set(pifi_train_options *o, const char *key, const char *value, pifi_error *err);

/* The option table's keys and help lines, i in [0, pifi_train_option_count);
 * resumable: 1 when pifi_train_resume may change the option. */
PIFI_API int pifi_train_option_count(void);
PIFI_API const char *pifi_train_option_key(int i);
PIFI_API const char *pifi_train_option_help(int i);
PIFI_API int pifi_train_option_resumable(int i);

/* ---- several processes (MPI) ---------------------------------------------- */

/* The processes an MPI launcher started together (mpirun, srun): training
 * with them set (pifi_train_options_set_dist) is data parallel, each rank
 * taking its share of every batch, and gives the same run as one process;
 * rank 0 writes the run directory. Without a launcher it is this process
 * alone. */
typedef struct pifi_dist pifi_dist;

/* Join the processes (MPI_Init when a launcher started this one). Call
 * once, before any thread starts. *out is set even when this fails, for
 * pifi_dist_broken (NULL only when out of memory); close it either way. */
PIFI_API pifi_status pifi_dist_open(pifi_dist **out, pifi_error *err);
/* MPI_Finalize, unless the job is broken (the caller aborts it then). */
PIFI_API void pifi_dist_close(pifi_dist *d);
PIFI_API int pifi_dist_rank(const pifi_dist *d);
PIFI_API int pifi_dist_size(const pifi_dist *d);
/* After a call with d failed: 1 when this rank should show its error (the
 * rank whose failure is the cause, else rank 0; always in one process). */
PIFI_API int pifi_dist_reports(const pifi_dist *d);
/* After a call with d failed: 1 when only this rank knows, so the others
 * may wait for it forever: the caller must abort the whole job (MPI_Abort). */
PIFI_API int pifi_dist_broken(const pifi_dist *d);

/* Train with these processes (NULL: this one alone). d must outlive the
 * options' use. */
PIFI_API void pifi_train_options_set_dist(pifi_train_options *o, pifi_dist *d);

/* ---- the result ------------------------------------------------------------ */

/* A run's result on another task's test split (pifi_data.eval_tasks). */
typedef struct {
    const char *task;         /* "cr" */
    long long n;              /* examples */
    double loss, accuracy, macro_f1, mcc, seconds;
} pifi_task_scores;

/* How a training run ended. */
typedef struct {
    int stopped;              /* nonzero: cb->stop returned this and ended the run; its checkpoint is saved
                                 (pifi_train_resume continues it); the rest is where it stood */
    int complete_already;     /* pifi_train_resume of a complete run: its results read back, nothing trained */
    const char *method;       /* "pifi", "base", ... */
    long long steps;          /* optimizer steps taken */
    long long steps_per_epoch;
    long long best_epoch;     /* the epoch whose weights were kept (1-based) */
    int best_partial;         /* ... kept where max_steps stopped, inside that epoch */
    long long partial_epoch;  /* max_steps stopped inside this epoch (0: it did not) ... */
    long long partial_steps;  /* ... after this many of its steps */
    const char *metric_for_best;      /* "accuracy", "macro_f1", "mcc", or QA's "f1" */
    const char *metric_for_best_name; /* "accuracy", "macro-F1", "MCC" */
    double best_valid;        /* the kept epoch's metric_for_best on the validation split, -1: no split */
    long long stopped_early;  /* early stopping ended the run after this epoch (0: it did not) ... */
    int early_stopping_patience; /* ... with this patience */
    double test_accuracy, test_macro_f1, test_mcc; /* of the kept weights; -1: no test split */
    double seconds;           /* of this call's training and evaluation */
    int n_eval_tasks;         /* pifi_data.eval_tasks' results */
    pifi_task_scores eval_tasks[PIFI_EVAL_TASKS_MAX];
    double test_exact_match, test_f1; /* extractive QA: SQuAD v1.1's, percentages; -1: no test split, or
                                         not QA */
    double test_bleu, test_chrf;      /* generation: sacreBLEU's corpus BLEU and chrF2 of the decoded test
                                         split; -1: no test split, or not generation */
} pifi_train_result;

/* Train a classifier on data (a task, or train/valid/test files) into the
 * run directory out_dir, as `pifi train` does: the best epoch's weights,
 * config.json, the log, metrics.json (pifi_run_open reads it), a checkpoint
 * while it trains. out_dir must not hold a run unless "overwrite" is set.
 * Progress, notes and phases go through cb (may be NULL; with several
 * processes, only rank 0's are told). */
PIFI_API pifi_status pifi_train(const pifi_train_options *o, const pifi_data *data, const char *out_dir,
                                const pifi_callbacks *cb, pifi_train_result *res, pifi_error *err);

/* Continue the run in run_dir from its checkpoint (after a stop, a crash or
 * a kill) with every setting of its config.json, bit-identically to an
 * uninterrupted run. changes (may be NULL) sets what a resume may change:
 * the resumable options of the table, "threads" and "max_memory", recorded
 * in config.json ("resumes"); a change of precision is announced through
 * cb->log (the continuation is no longer bit-identical); any other option
 * set in changes is refused. A complete run is not trained again:
 * res->complete_already, its results read back (and its eval_tasks
 * evaluated if a stop had left them out). */
PIFI_API pifi_status pifi_train_resume(const char *run_dir, const pifi_train_options *changes, const pifi_callbacks *cb,
                                       pifi_train_result *res, pifi_error *err);

/* ---- int8 quantization ---------------------------------------------------- */

typedef struct {
    int all;                  /* also the SLM's linear layers and word embeddings (a base run needs it) */
    int overwrite;            /* replace a run at the output directory */
    pifi_precision precision; /* arithmetic of the before/after evaluation (default AUTO) */
    int batch;                /* examples per forward pass of that evaluation (default 64) */
} pifi_quantize_params;

PIFI_API pifi_quantize_params pifi_quantize_default_params(void);

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
PIFI_API pifi_status pifi_quantize(const char *run_dir, const char *out_dir, const pifi_quantize_params *params,
                                   pifi_quantize_result *result, pifi_error *err);

#ifdef __cplusplus
}
#endif

#endif
