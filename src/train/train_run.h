/* train_run.h: the whole `pifi train` run: epochs, logging, checkpoints,
 * best-epoch selection on the validation split, final test evaluation, and
 * --resume. */
#ifndef PIFI_TRAIN_RUN_H
#define PIFI_TRAIN_RUN_H

#include <cjson/cJSON.h>

#include "core/log.h"
#include "pifi/dataset.h"
#include "train/trainer.h"

/* What the run tells its caller while it trains (rank 0 only): the CLI
 * draws it (src/cli/progress.c), the library never prints. */
typedef enum {
    TRAIN_PROGRESS_START,     /* before the first step: total and done */
    TRAIN_PROGRESS_STEP,      /* after each step */
    TRAIN_PROGRESS_PAUSE,     /* the steps stop: the epoch ended, or a signal (its last step is shown, once) */
} TrainProgressKind;

typedef struct {
    TrainProgressKind kind;
    const char *phase;        /* "epoch 2/3" (STEP) */
    int64_t done, total;      /* global steps done; steps of the whole run */
    double mean_loss;         /* the epoch's mean loss so far (metrics.json's train_loss at its end) */
    double last_loss;         /* the step's */
    double examples_per_s;    /* the step's throughput */
    int decoding;             /* generation: done, total are sentences being decoded, no loss */
} TrainProgress;

/* What the run is doing, for a caller that stops it on a signal
 * (src/cli/stopsig.h acts by phase): loading (nothing to save), training
 * steps (stop after the step, saving), an evaluation whose steps are saved,
 * an evaluation whose steps are not saved yet. */
typedef enum { TRAIN_PHASE_LOAD, TRAIN_PHASE_STEPS, TRAIN_PHASE_EVAL, TRAIN_PHASE_FINISH } TrainPhase;

/* Every member may be NULL: nothing is reported. */
typedef struct {
    void (*on_progress)(const TrainProgress *p, void *user);
    PifiLogFn on_log;         /* notes: a resume, the rows --drop-last leaves out, each epoch's end */
    /* polled before each step and at each epoch's end: nonzero (a signal
     * number, or any value) stops the run after that step with its
     * checkpoint saved, as a signal does (res->interrupted is the value) */
    int (*stop_requested)(void *user);
    /* the run enters a phase; msg: what a stop now means for the run (one
     * line, "pifi train --resume RUN" when it can continue), or NULL */
    void (*on_phase)(TrainPhase phase, const char *msg, void *user);
    void *user;
} TrainCallbacks;

/* What the run reports at the end. When --max-steps stops the training
 * inside an epoch, that partial epoch is validated like a whole one (its
 * metrics.json entry says "partial") and competes for the best. */
typedef struct {
    int interrupted;        /* stopped by SIGINT/SIGTERM after saving: the signal number */
    int64_t steps;
    int64_t best_epoch;     /* 1-based; the partial epoch's number when best_partial */
    int best_partial;       /* the kept weights are those where --max-steps stopped */
    int64_t partial_epoch;  /* the epoch --max-steps stopped in (0: none) ... */
    int64_t partial_steps;  /* ... after this many of its steps ... */
    int64_t steps_per_epoch;/* ... of these */
    double best_valid;      /* the --metric-for-best (accuracy) on the validation split, -1 if none */
    int64_t stopped_early;  /* early stopping ended the run after this epoch (0: it did not; early_stop.h) */
    double test_accuracy, test_macro_f1, test_mcc; /* -1 if no test split */
    double test_exact_match, test_f1; /* QA: SQuAD's, percentages; -1 if no test split or not QA */
    double test_bleu, test_chrf; /* generation: sacreBLEU's corpus BLEU and chrF2; -1 if no test split or not
                                    generation */
    double seconds;         /* of this command's training and evaluation */
    int complete_already;   /* --resume of a complete run: read back, nothing trained or evaluated */
} TrainResult;

/* splits: [train, valid (may be empty), test (may be empty)]; data describes
 * where they came from (stored in config.json so --resume reloads them).
 * resume: continue the run in o->out from its checkpoint (written by any
 * number of ranks; read by rank 0 and broadcast).
 * dist: the ranks (NULL: one process). On failure with several ranks,
 * dist->agreed_fail says every rank stops with this error; otherwise
 * dist->broken is set: the caller prints err and stops the whole job (the
 * other ranks may be waiting for this one).
 * cb: progress and notes (NULL: none). */
int train_run(const TrainOpts *o, PifiDataset *const splits[3], const cJSON *data, int resume, Dist *dist,
              const TrainCallbacks *cb, TrainResult *res, PifiErr *err);

/* Is the run in o->out complete (its metrics.json final: --resume has
 * nothing to do)? 1: yes, *res filled from metrics.json (seconds 0,
 * complete_already set), *eval_tasks its "eval_tasks" (NULL if none; free
 * with cJSON_Delete), and the checkpoint removed unless o->keep_checkpoint;
 * 0: no (the run continues); -1: metrics.json is unreadable. */
int train_run_complete(const TrainOpts *o, TrainResult *res, cJSON **eval_tasks, PifiErr *err);

#endif
