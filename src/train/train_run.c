/* train_run.c: the training loop of `pifi train` around trainer_step_global:
 * seeded epoch order (the last partial batch dropped, as the authors'
 * DataLoader, or kept: --drop-last), logging, checkpoints (each epoch, every
 * --save-every steps, on SIGINT/SIGTERM/SIGUSR1), best epoch by validation
 * accuracy (an epoch cut by --max-steps is validated as a partial one), test
 * metrics of the best epoch; the checkpoint removed at the end unless
 * --keep-checkpoint yes; a complete run recognised on --resume.
 * With several ranks (dist.h) every rank runs this loop in lockstep; rank 0
 * alone reads and writes the run directory, and every rank-0-only step is
 * followed by dist_agree so a failure there stops every rank.
 *
 * Crash safety (docs/robustness.md): the checkpoint is the one file
 * checkpoint/state.safetensors (weights, moments, progress), replaced
 * atomically. Everything else is made consistent with it on --resume: the
 * log is cut after its step, metrics.json after its epoch, the temp files of
 * a killed writer are removed, and a run killed before its first checkpoint
 * starts again at step 0. model.safetensors may be newer than the state (the
 * best epoch's weights, written just before it); the resumed run rewrites it
 * identically, as the data order and dropout depend only on seed and step. */
#include "train/train_run.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"
#include "pifi/memlimit.h"
#include "train/early_stop.h"
#include "train/memest.h"
#include "train/qa_eval.h"
#include "train/runio.h"
#include "train/train_resume.h"


static cJSON *metrics_json(const PifiConfusion *cm, double loss) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", (double)cm->n);
    cJSON_AddNumberToObject(o, "loss", loss);
    cJSON_AddNumberToObject(o, "accuracy", metric_accuracy(cm));
    cJSON_AddNumberToObject(o, "macro_f1", metric_macro_f1(cm));
    cJSON_AddNumberToObject(o, "mcc", metric_mcc(cm));
    cJSON *conf = cJSON_AddArrayToObject(o, "confusion");
    for (int i = 0; i < cm->num_classes; i++) {
        cJSON *row = cJSON_CreateArray();
        for (int j = 0; j < cm->num_classes; j++)
            cJSON_AddItemToArray(row, cJSON_CreateNumber((double)cm->counts[(size_t)i * cm->num_classes + j]));
        cJSON_AddItemToArray(conf, row);
    }
    return o;
}

/* A checkpoint or log write failed (a full disk, say): what is still safe. */
static void save_fail_tail(PifiErr *err, int64_t saved_step, const char *out) {
    char tail[700];
    if (saved_step >= 0)
        snprintf(tail, sizeof tail, "; the last complete checkpoint (step %lld) is intact: make room, then "
                 "pifi train --resume %s", (long long)saved_step, out);
    else
        snprintf(tail, sizeof tail, "; no checkpoint had been saved yet: make room, then pifi train --resume %s", out);
    strncat(err->msg, tail, sizeof err->msg - strlen(err->msg) - 1);
}

/* One line into the run's log, flushed (a kill loses at most this line). */
static int log_step(FILE *log, const char *path, int64_t step, double epoch, const StepStats *st, float lr, double eps,
                    int N, PifiErr *err) {
    fprintf(log, "{\"step\":%lld,\"epoch\":%.4f,\"loss\":%.17g,\"lr\":%.6g,\"grad_norm\":%.6f,"
                 "\"examples_per_s\":%.2f",
            (long long)step, epoch, st->loss, lr, st->gnorm, eps);
    if (N > 1) fprintf(log, ",\"ranks\":%d,\"comm_ms\":%.3f", N, 1e3 * st->comm_s);
    fprintf(log, "}\n");
    if (fflush(log) == 0 && !ferror(log)) return 0;
    return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot write: %s", path,
                     errno == ENOSPC ? "the disk is full" : errno == EFBIG ? "the file is too large for this "
                     "process's file size limit (ulimit -f)" : strerror(errno));
}

/* --resume with changed settings: a line at the step it continues from. */
static int log_resume(FILE *log, const char *path, int64_t step, const cJSON *changes, PifiErr *err) {
    char *s = cJSON_PrintUnformatted(changes);
    if (!s) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    fprintf(log, "{\"step\":%lld,\"resume\":%s}\n", (long long)step, s);
    free(s);
    if (fflush(log) == 0 && !ferror(log)) return 0;
    return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot write: %s", path, strerror(errno));
}

/* A QA split: SQuAD's exact match and F1 of the answers (*f1: the F1). */
static int evaluate_qa(PifiModel *m, const TokData *td, const TrainOpts *o, Dist *d, cJSON **out, double *f1,
                       PifiErr *err) {
    if (d->size > 1) return pifi_errf(err, "question answering is evaluated by one process (no MPI yet)");
    QaScore q;
    if (qa_evaluate(m, td, o->eval_batch, o->max_answer_len, &q, NULL, NULL, err)) return -1;
    *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(*out, "n", (double)q.questions);
    cJSON_AddNumberToObject(*out, "windows", (double)q.windows);
    cJSON_AddNumberToObject(*out, "loss", q.loss);
    cJSON_AddNumberToObject(*out, "exact_match", q.exact_match);
    cJSON_AddNumberToObject(*out, "f1", q.f1);
    *f1 = q.f1;
    return 0;
}

static int evaluate_split(PifiModel *m, const TokData *td, const TrainOpts *o, int K, Dist *d, cJSON **out,
                          double *acc, PifiErr *err) {
    if (td->qa) return evaluate_qa(m, td, o, d, out, acc, err);
    PifiConfusion cm;
    if (confusion_init(&cm, K, err)) return d->size > 1 ? dist_agree(d, -1, err) : -1;
    double loss = 0;
    int rc = trainer_evaluate_dist(m, td, o->eval_batch, &cm, NULL, &loss, o->label_smoothing, d, err);
    if (rc == 0) {
        *out = metrics_json(&cm, loss);
        *acc = metric_accuracy(&cm);
    }
    confusion_free(&cm);
    return rc;
}

/* A failure every rank meets identically (same inputs, same code). */
static int everyone(Dist *d) {
    d->agreed_fail = 1, d->own_fail = 1, d->fail_count = d->size;
    return -1;
}

/* Rank 0's loaded state (weights, moments, progress) to every rank. */
static int bcast_state(Trainer *t, Dist *d, PifiErr *err) {
    for (int i = 0; i < t->pt.n; i++)
        if (dist_bcast(d, t->pt.refs[i].w, (size_t)t->pt.refs[i].n * sizeof(float), err)) return -1;
    int64_t p[4] = {t->step, t->epoch, t->step_in_epoch, t->best_epoch};
    if (dist_bcast(d, t->pt.m, (size_t)t->pt.total * sizeof(float), err) ||
        dist_bcast(d, t->pt.v, (size_t)t->pt.total * sizeof(float), err) || dist_bcast(d, p, sizeof p, err) ||
        dist_bcast(d, &t->best_valid, sizeof t->best_valid, err))
        return -1;
    t->step = p[0], t->epoch = p[1], t->step_in_epoch = p[2], t->best_epoch = p[3];
    return 0;
}

/* The weights of every tensor of the table, to or from a flat copy. */
static void copy_weights(ParamTable *pt, float *flat, int to_flat) {
    int64_t off = 0;
    for (int i = 0; i < pt->n; i++) {
        ParamRef *r = &pt->refs[i];
        if (to_flat) memcpy(flat + off, r->w, (size_t)r->n * sizeof(float));
        else memcpy(r->w, flat + off, (size_t)r->n * sizeof(float));
        off += r->n;
    }
}

static void fail_tail(PifiErr *err, int64_t saved_step, const char *out) {
    const char *advice = !strstr(err->msg, "out of memory") ? "lower --lr or check the data"
                         : pifi_memlimit_get() ? "raise --max-memory, or lower --batch or --max-len"
                                               : "lower --batch or --max-len, or use --grad-accum";
    pifi_err_prefix(err, "training stopped");
    char tail[600];
    if (saved_step >= 0)
        snprintf(tail, sizeof tail, "; the last good checkpoint (step %lld) is in %s/checkpoint; %s",
                 (long long)saved_step, out, advice);
    else
        snprintf(tail, sizeof tail, "; no checkpoint had been saved yet; %s", advice);
    strncat(err->msg, tail, sizeof err->msg - strlen(err->msg) - 1);
}

/* ------------------------------------------------------------------------ */
/* the run, step by step: check, trainer, setup, resume or start, open the
 * log, the epochs (each: its steps, then its end with the validation), the
 * test evaluation, finish; run_free is the one cleanup */

typedef struct {
    /* the inputs */
    const TrainOpts *o;
    PifiDataset *const *splits; /* [train, valid, test] */
    const cJSON *data;
    int resume;
    const TrainCallbacks *cb;
    TrainResult *res;
    Dist one, *d;               /* d: the caller's ranks, or one */
    int root, N, K;
    double t0;
    /* held by the run, freed by run_free */
    Trainer t;
    TokData td[3];              /* the splits, tokenized */
    cJSON *metrics;             /* metrics.json as it grows */
    FILE *log;                  /* train_log.jsonl (rank 0) */
    int64_t *order;             /* (n) the epoch's order of the training rows */
    float *best_w;              /* N > 1: the best epoch's weights, for the sharded test evaluation */
    int64_t best_w_epoch;
    /* the epochs' geometry (tokdata.h): n / B steps, or ceil(n / B) with a short last one */
    int64_t n, steps_per_epoch, total, warmup;
    double last_w;              /* the weight of an epoch's last step in its mean loss */
    /* progress */
    double resumed_loss, resumed_w; /* the current epoch's steps before the checkpoint */
    int64_t saved_step;         /* of the last complete checkpoint, -1: none */
    int best_partial;           /* the best weights are where --max-steps stopped (res->best_partial) */
    int64_t partial_epoch, partial_steps;
    double partial_valid;
    char log_path[4096];
    char stop_msg[4096 + 200];  /* what a signal that stops at once says (src/cli/stopsig.h) */
} TrainRun;

/* What an epoch's steps, or the epoch, ended with (-1: failed). */
enum { RUN_GO = 0, RUN_LAST = 1 /* --max-steps: no more epochs */, RUN_STOPPED = 2 /* a signal: saved */ };

static void note(const TrainRun *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(const TrainRun *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    pifi_vlogf(r->cb->on_log, r->cb->user, PIFI_LOG_NOTE, fmt, ap);
    va_end(ap);
}

static void progress(const TrainRun *r, TrainProgressKind kind, const char *phase, double mean_loss,
                     double last_loss, double examples_per_s) {
    if (!r->root || !r->cb->on_progress) return;
    TrainProgress p = {.kind = kind, .phase = phase, .done = r->t.step, .total = r->total, .mean_loss = mean_loss,
                       .last_loss = last_loss, .examples_per_s = examples_per_s};
    r->cb->on_progress(&p, r->cb->user);
}

/* A stop the caller asks for (a signal it caught, src/cli/stopsig.h; or its
 * own request): 0 none. */
static int run_stop_poll(TrainRun *r) { return r->cb->stop_requested ? r->cb->stop_requested(r->cb->user) : 0; }

/* The run enters a phase: the caller acts on a stop by it. */
static void run_phase(TrainRun *r, TrainPhase p, const char *msg) {
    if (r->cb->on_phase) r->cb->on_phase(p, msg, r->cb->user);
}

static void stop_msg_saved(TrainRun *r) {
    snprintf(r->stop_msg, sizeof r->stop_msg, "stopped at once by a second signal; the last complete checkpoint "
             "(step %lld) is intact: pifi train --resume %s", (long long)r->saved_step, r->o->out);
}

/* The settings against the data and the ranks, and the memory estimate:
 * the same on every rank, so every rank fails alike. */
static int run_check(TrainRun *r, PifiErr *err) {
    const TrainOpts *o = r->o;
    const PifiDataset *train = r->splits[0];
    int accum = o->grad_accum > 1 ? o->grad_accum : 1;
    if (train->n < 1) {
        pifi_errf(err, "the training set is empty");
        return everyone(r->d);
    }
    if (o->drop_last && train->n < o->batch) {
        pifi_errf(err, "the training set has %lld examples, fewer than one batch of %d (--drop-last no trains on "
                  "them as one smaller batch)", (long long)train->n, o->batch);
        return everyone(r->d);
    }
    if (o->batch < r->N * accum) {
        pifi_errf(err, "--batch %d cannot be split over %d rank(s) x --grad-accum %d: a micro-batch would be empty",
                  o->batch, r->N, accum);
        return everyone(r->d);
    }
    run_phase(r, TRAIN_PHASE_LOAD, r->resume ? "interrupted while loading; the run is unchanged" : NULL);
    int64_t n_examples = 0;
    for (int s = 0; s < 3; s++) n_examples += r->splits[s] ? r->splits[s]->n : 0;
    MemEstimate est;
    if (pifi_memlimit_get() && (memest_train(o, r->K, n_examples, &est, err) || memlimit_check(&est, err)))
        return everyone(r->d);
    return 0;
}

/* The model, its optimizer and the tokenizer; on failure nothing is held. */
static int run_trainer(TrainRun *r, PifiErr *err) {
    int rc = trainer_setup(&r->t, r->o, r->K, err);
    if (rc == 0 && tokenizer_load(&r->t.tk, r->o->slm, err)) {
        trainer_free(&r->t);
        rc = -1;
    }
    if (dist_agree(r->d, rc, err)) {
        if (rc == 0) trainer_free(&r->t);
        return -1;
    }
    r->t.dist = r->d;
    return 0;
}

/* The splits tokenized, the ranks checked to hold the same weights, the
 * epochs' geometry, and what writers killed earlier left behind. */
static int run_setup(TrainRun *r, PifiErr *err) {
    const TrainOpts *o = r->o;
    Dist *d = r->d;
    int e = 0;
    for (int s = 0; s < 3 && !e; s++)
        if (r->splits[s] && r->splits[s]->n > 0)
            e = r->splits[s]->squad ? tokdata_build_qa(&r->td[s], r->t.tk, r->splits[s], o->max_len, o->doc_stride, err)
                                    : tokdata_build(&r->td[s], r->t.tk, r->splits[s], o->max_len, err);
    if (dist_agree(d, e, err)) return -1;
    if (dist_same_u64(d, params_checksum(&r->t.pt), "the initial weights (are the model files the same on every "
                      "machine?)", err))
        return -1;
    if (r->N > 1 && r->t.model.has_llm) { /* the frozen layer is not in the table: its hash */
        char hex[65];
        llm_layer_weights_sha256(&r->t.model.llm, hex);
        hex[16] = 0;
        if (dist_same_u64(d, strtoull(hex, NULL, 16), "the plugged LLM layer's weights (is --llm the same on every "
                          "machine?)", err))
            return -1;
    }
    int64_t n = r->n = r->td[0].n;
    r->steps_per_epoch = epoch_steps(n, o->batch, o->drop_last);
    r->last_w = epoch_step_weight(n, o->batch, o->drop_last, r->steps_per_epoch - 1);
    if (r->root && o->drop_last && n % o->batch) {
        char which[64];
        if (o->shuffle) snprintf(which, sizeof which, "a different %lld each epoch", (long long)(n % o->batch));
        else snprintf(which, sizeof which, "the same ones each epoch: --no-shuffle");
        note(r, "drop-last: %lld of %lld training rows are left out of each epoch (%s); --drop-last no keeps them",
             (long long)(n % o->batch), (long long)n, which);
    }
    if (r->root) {
        char path[4096 + 16];
        snprintf(path, sizeof path, "%s/checkpoint", o->out);
        pifi_remove_stale_temps(o->out, NULL);
        pifi_remove_stale_temps(path, NULL);
    }
    return 0;
}

/* --resume: the checkpoint (read by rank 0, sent to every rank), the log
 * and metrics cut back to it. */
static int run_resume(TrainRun *r, PifiErr *err) {
    Trainer *t = &r->t;
    int e = r->root ? train_resume_state(t, r->o, r->steps_per_epoch, r->last_w, r->cb, &r->metrics,
                                         &r->resumed_loss, &r->resumed_w, err) : 0;
    if (dist_agree(r->d, e, err) || (r->N > 1 && bcast_state(t, r->d, err))) return -1;
    if (r->root)
        note(r, "resuming %s at step %lld (epoch %lld, step %lld of it) with %d rank%s", r->o->out, (long long)t->step,
             (long long)t->epoch + 1, (long long)t->step_in_epoch, r->N, r->N > 1 ? "s" : "");
    return 0;
}

/* A new run: its directory, config.json (with the plugged layer's hash
 * before any step) and the tokenizer. */
static int run_start(TrainRun *r, PifiErr *err) {
    const TrainOpts *o = r->o;
    Trainer *t = &r->t;
    int e = 0;
    if (r->root) {
        e = runio_prepare(o->out, o->overwrite, err);
        if (!e && o->bundle && t->model.has_llm) e = runio_bundle_layer(o, o->out, err);
        if (!e) {
            cJSON *pj = runio_opts_json(o, r->K, r->splits[0]->label_names, r->data);
            if (t->model.has_llm) {
                char hex[65];
                llm_layer_weights_sha256(&t->model.llm, hex); /* before any training step */
                cJSON_AddStringToObject(pj, "llm_layer_sha256", hex);
            }
            e = runio_write_config(o->out, &t->model.slm, o->slm, pj, err);
            cJSON_Delete(pj);
        }
        if (!e) e = runio_copy_tokenizer(o->slm, o->out, err);
    }
    return dist_agree(r->d, e, err);
}

/* metrics.json's start, the log opened (settings changed by --resume
 * recorded at this step), the schedule's length and the order's buffer. */
static int run_open_log(TrainRun *r, PifiErr *err) {
    const TrainOpts *o = r->o;
    if (!r->metrics) {
        r->metrics = cJSON_CreateObject();
        cJSON_AddArrayToObject(r->metrics, "epochs");
    }
    snprintf(r->log_path, sizeof r->log_path, "%s/train_log.jsonl", o->out);
    int e = 0;
    if (r->root) {
        r->log = fopen(r->log_path, "a");
        if (!r->log) e = pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot open for writing", r->log_path);
        /* settings given again with --resume that differ from config.json: recorded at this step */
        if (!e && r->resume && o->resume_changes)
            e = log_resume(r->log, r->log_path, r->t.step, o->resume_changes, err) ||
                runio_record_resume(o->out, r->t.step, o, err) ? -1 : 0;
    }
    r->total = r->steps_per_epoch * o->epochs;
    if (o->max_steps > 0 && o->max_steps < r->total) r->total = o->max_steps;
    r->warmup = (int64_t)(o->warmup_ratio * r->total);
    r->order = malloc((size_t)r->n * sizeof *r->order);
    if (!r->order && !e) e = pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    return dist_agree(r->d, e, err);
}

/* The steps of one epoch from where it stands: each logged, checkpointed
 * every --save-every steps and on a signal. *loss, *w: the sums of the
 * epoch's mean loss, added to. RUN_GO: the epoch's steps are done;
 * RUN_LAST: --max-steps reached; RUN_STOPPED: a signal, saved. */
static int run_steps(TrainRun *r, int64_t epoch, const char *phase, double *loss, double *w_sum, PifiErr *err) {
    const TrainOpts *o = r->o;
    Trainer *t = &r->t;
    Dist *d = r->d;
    double t_step = pifi_now();
    for (int64_t s = t->step_in_epoch; s < r->steps_per_epoch; s++) {
        if (o->max_steps > 0 && t->step >= o->max_steps) return RUN_LAST;
        int rows = epoch_batch_rows(r->n, o->batch, o->drop_last, s);
        float lr = lr_at(o->sched, o->lr, t->step, r->warmup, r->total);
        StepStats st = {.signal = run_stop_poll(r)}; /* taken between steps only (src/cli/stopsig.h) */
        if (trainer_step_global(t, &r->td[0], r->order + s * o->batch, rows, lr, &st, err)) {
            fail_tail(err, r->saved_step, o->out);
            return -1;
        }
        t->step_in_epoch = s + 1;
        double w = epoch_step_weight(r->n, o->batch, o->drop_last, s); /* 1 but for a short last batch */
        *loss += st.loss * w;
        *w_sum += w;
        double now = pifi_now(), eps = rows / (now - t_step);
        t_step = now;
        int e = 0;
        if (r->root) {
            e = log_step(r->log, r->log_path, t->step, epoch + (double)(s + 1) / r->steps_per_epoch, &st, lr, eps,
                         r->N, err);
            if (!e) progress(r, TRAIN_PROGRESS_STEP, phase, *loss / *w_sum, st.loss, eps);
        }
        if (dist_agree(d, e, err)) {
            save_fail_tail(err, r->saved_step, o->out);
            return -1;
        }
        int save = (o->save_every > 0 && t->step % o->save_every == 0) || st.signal;
        if (save || (d->check_every > 0 && t->step % d->check_every == 0)) {
            if (dist_same_u64(d, params_checksum(&t->pt), "the weights after a step", err)) return -1;
        }
        if (save) {
            e = r->root ? runio_save_state(t, o->out, err) : 0;
            if (dist_agree(d, e, err)) {
                save_fail_tail(err, r->saved_step, o->out);
                return -1;
            }
            r->saved_step = t->step;
            stop_msg_saved(r);
            run_phase(r, TRAIN_PHASE_STEPS, r->stop_msg);
        }
        if (st.signal) {
            r->res->interrupted = st.signal;
            r->res->steps = t->step;
            return RUN_STOPPED;
        }
    }
    return RUN_GO;
}

/* The validation at an epoch's end (number, 1-based; partial: cut by
 * --max-steps): rec gets "valid", *acc its accuracy (-1: no validation
 * split), *better whether the epoch is the best so far (always, without a
 * validation split: the last epoch is kept). */
static int run_validate(TrainRun *r, int64_t number, int partial, cJSON *rec, double *acc, int *better, PifiErr *err) {
    Trainer *t = &r->t;
    *better = 1, *acc = -1;
    if (r->td[1].n == 0) return 0;
    /* a signal now: stop at once if the checkpoint is this step's, else
     * finish the evaluation, save, then stop */
    if (r->saved_step == t->step)
        snprintf(r->stop_msg, sizeof r->stop_msg, "interrupted during the validation of epoch %lld; the checkpoint "
                 "of step %lld is complete: pifi train --resume %s", (long long)number, (long long)t->step, r->o->out);
    else
        snprintf(r->stop_msg, sizeof r->stop_msg, "stopped at once by a second signal during the validation; the "
                 "last complete checkpoint (step %lld) is intact: pifi train --resume %s", (long long)r->saved_step,
                 r->o->out);
    run_phase(r, r->saved_step == t->step ? TRAIN_PHASE_EVAL : TRAIN_PHASE_FINISH, r->stop_msg);
    cJSON *v;
    if (evaluate_split(&t->model, &r->td[1], r->o, r->K, r->d, &v, acc, err)) return -1;
    run_phase(r, TRAIN_PHASE_STEPS, r->stop_msg);
    *acc = early_stop_score(r->o, v); /* --metric-for-best */
    cJSON_AddItemToObject(rec, "valid", v);
    *better = t->best_epoch == 0 || *acc > t->best_valid; /* a partial epoch against the whole ones */
    if (*better && !partial) t->best_valid = *acc;
    return 0;
}

/* An epoch's end: its metrics.json entry with the validation, the best
 * weights as model.safetensors, metrics.json and the checkpoint saved.
 * loss, w: the sums of its mean train loss. RUN_GO, or RUN_STOPPED: a
 * signal came during it (saved). */
static int run_epoch_end(TrainRun *r, int64_t epoch, double loss, double w, PifiErr *err) {
    const TrainOpts *o = r->o;
    Trainer *t = &r->t;
    int partial = t->step_in_epoch < r->steps_per_epoch; /* --max-steps inside the epoch: validated as a partial one */
    int64_t number = epoch + 1;
    char what[128];
    if (partial)
        snprintf(what, sizeof what, "epoch %lld (stopped by --max-steps at step %lld of %lld)", (long long)number,
                 (long long)t->step_in_epoch, (long long)r->steps_per_epoch);
    else
        snprintf(what, sizeof what, "epoch %lld", (long long)number);
    if (!partial) t->epoch = number, t->step_in_epoch = 0;
    double train_loss = w > 0 ? loss / w : 0;
    cJSON *rec = cJSON_CreateObject();
    cJSON_AddNumberToObject(rec, "epoch", (double)number);
    cJSON_AddNumberToObject(rec, "step", (double)t->step);
    if (partial) {
        cJSON_AddBoolToObject(rec, "partial", 1);
        cJSON_AddNumberToObject(rec, "steps_in_epoch", (double)t->step_in_epoch);
        cJSON_AddNumberToObject(rec, "steps_per_epoch", (double)r->steps_per_epoch);
    }
    cJSON_AddNumberToObject(rec, "train_loss", train_loss);
    int better;
    double acc;
    if (run_validate(r, number, partial, rec, &acc, &better, err)) {
        cJSON_Delete(rec);
        return -1;
    }
    int validated = r->td[1].n > 0;
    if (r->root && validated)
        note(r, "%s: train loss %.4f, valid %s %.4f%s", what, train_loss, best_metric_words(o->metric_for_best), acc,
             better ? " (best so far)" : "");
    else if (r->root && partial)
        note(r, "%s: train loss %.4f", what, train_loss);
    cJSON_AddItemToArray(cJSON_GetObjectItem(r->metrics, "epochs"), rec);
    if (partial) r->partial_epoch = number, r->partial_steps = t->step_in_epoch;
    int e = 0;
    if (better) {
        if (partial) r->best_partial = 1, r->partial_valid = acc; /* the state keeps the whole epochs' best */
        else t->best_epoch = t->epoch;
        if (r->root) e = runio_save_model(t, o->out, err);
        if (!e && !partial && r->N > 1 && validated) { /* keep the best weights for the sharded test evaluation */
            if (!r->best_w) r->best_w = pifi_malloc((size_t)t->pt.total * sizeof(float), err);
            if (r->best_w) copy_weights(&t->pt, r->best_w, 1), r->best_w_epoch = t->epoch;
            else e = -1;
        }
    }
    if (r->root && !e) {
        char path[4096 + 16];
        snprintf(path, sizeof path, "%s/metrics.json", o->out);
        e = runio_write_json(path, r->metrics, err) || runio_save_state(t, o->out, err) ? -1 : 0;
    }
    if (dist_agree(r->d, e, err)) {
        save_fail_tail(err, r->saved_step, o->out);
        return -1;
    }
    r->saved_step = t->step;
    int sig = r->N == 1 ? run_stop_poll(r) : 0;
    if (sig) { /* came during the epoch's end: saved, stop now */
        r->res->interrupted = sig;
        r->res->steps = t->step;
        return RUN_STOPPED;
    }
    return RUN_GO;
}

/* One epoch: its order, its steps, its end. RUN_GO, RUN_LAST (--max-steps:
 * no epoch after this one) or RUN_STOPPED. */
static int run_epoch(TrainRun *r, int64_t epoch, PifiErr *err) {
    const TrainOpts *o = r->o;
    epoch_order(r->order, r->n, o->seed, epoch, o->shuffle);
    double loss = r->resumed_loss, w = r->resumed_w; /* sum of loss x weight, sum of weights */
    r->resumed_loss = 0, r->resumed_w = 0;
    stop_msg_saved(r);
    run_phase(r, TRAIN_PHASE_STEPS, r->stop_msg);
    char phase[64];
    snprintf(phase, sizeof phase, "epoch %lld/%d", (long long)epoch + 1, o->epochs);
    int rc = run_steps(r, epoch, phase, &loss, &w, err);
    if (rc < 0) return -1;
    progress(r, TRAIN_PROGRESS_PAUSE, phase, 0, 0, 0); /* the epoch's last step, once */
    if (rc == RUN_STOPPED) return rc;
    if (rc == RUN_LAST && r->t.step_in_epoch == 0) return RUN_LAST; /* it ended with the previous epoch */
    int end = run_epoch_end(r, epoch, loss, w, err);
    return end == RUN_GO ? rc : end;
}

/* The test metrics of the saved (best) model: one process loads it back as
 * `pifi eval` does; several ranks evaluate the same weights from memory,
 * sharded, or rank 0 alone from disk when they are not in memory (the best
 * epoch was before a --resume). */
static int run_test(TrainRun *r, PifiErr *err) {
    const TrainOpts *o = r->o;
    Trainer *t = &r->t;
    TrainResult *res = r->res;
    /* do the in-memory weights equal the saved model? */
    int final_is_best = r->best_partial || (r->partial_epoch == 0 && t->best_epoch == t->epoch);
    res->steps = t->step;
    res->stopped_early = early_stop_finish(o, t->epoch, t->best_epoch, r->metrics); /* "stopped_early" */
    res->best_epoch = r->best_partial ? r->partial_epoch : t->best_epoch;
    res->best_partial = r->best_partial;
    res->partial_epoch = r->partial_epoch;
    res->partial_steps = r->partial_steps;
    res->steps_per_epoch = r->steps_per_epoch;
    res->best_valid = r->td[1].n > 0 ? (r->best_partial ? r->partial_valid : t->best_valid) : -1;
    snprintf(r->stop_msg, sizeof r->stop_msg, "interrupted during the test evaluation; the training is complete and "
             "saved: pifi train --resume %s evaluates it", o->out);
    run_phase(r, TRAIN_PHASE_EVAL, r->stop_msg);
    if (r->td[2].n == 0) return 0;
    cJSON *tj = NULL;
    double acc;
    if (r->N > 1 && (final_is_best || r->best_w_epoch == t->best_epoch)) {
        if (!final_is_best) copy_weights(&t->pt, r->best_w, 0);
        if (evaluate_split(&t->model, &r->td[2], o, r->K, r->d, &tj, &acc, err)) return -1;
    } else {
        int e = 0;
        if (r->root) {
            RunModel rm;
            e = runio_load_run(&rm, o->out, err);
            if (!e) {
                Dist self = r->one;
                e = pifi_model_set_precision(&rm.model, o->precision, 1, err); /* as trained */
                if (!e) e = evaluate_split(&rm.model, &r->td[2], o, r->K, &self, &tj, &acc, err);
                runio_free_run(&rm);
            }
        }
        if (dist_agree(r->d, e, err)) return -1;
    }
    if (tj && r->td[2].qa) {
        res->test_exact_match = cJSON_GetObjectItem(tj, "exact_match")->valuedouble;
        res->test_f1 = acc;
        cJSON_DeleteItemFromObject(r->metrics, "test");
        cJSON_AddItemToObject(r->metrics, "test", tj);
    } else if (tj) {
        res->test_accuracy = acc;
        res->test_macro_f1 = cJSON_GetObjectItem(tj, "macro_f1")->valuedouble;
        res->test_mcc = cJSON_GetObjectItem(tj, "mcc")->valuedouble;
        cJSON_DeleteItemFromObject(r->metrics, "test");
        cJSON_AddItemToObject(r->metrics, "test", tj);
    }
    return 0;
}

/* The final metrics.json (its "best_epoch" marks the run complete:
 * train_run_complete), and the checkpoint removed unless kept. */
static int run_finish(TrainRun *r, PifiErr *err) {
    const TrainOpts *o = r->o;
    run_phase(r, TRAIN_PHASE_STEPS, r->stop_msg); /* the last write: a signal now is too late to matter */
    cJSON_DeleteItemFromObject(r->metrics, "best_epoch");
    cJSON_AddNumberToObject(r->metrics, "best_epoch", (double)r->res->best_epoch);
    cJSON_DeleteItemFromObject(r->metrics, "best_epoch_partial");
    if (r->best_partial) cJSON_AddBoolToObject(r->metrics, "best_epoch_partial", 1);
    r->res->seconds = pifi_now() - r->t0;
    int e = 0;
    if (r->root) {
        char path[4096 + 16];
        snprintf(path, sizeof path, "%s/metrics.json", o->out);
        e = runio_write_json(path, r->metrics, err);
        if (!e && !o->keep_checkpoint) e = runio_remove_state(o->out, err); /* nothing left to resume */
    }
    if (dist_agree(r->d, e, err)) return -1;
    snprintf(r->stop_msg, sizeof r->stop_msg, "interrupted after the training; the run %s is complete", o->out);
    run_phase(r, TRAIN_PHASE_EVAL, r->stop_msg); /* what the caller does next (more evaluations) stops at once */
    return 0;
}

/* The one cleanup, after run_trainer. A failure only this rank knows
 * about marks the job broken (dist.h). */
static int run_free(TrainRun *r, int rc) {
    if (r->log) fclose(r->log);
    free(r->order);
    free(r->best_w);
    for (int s = 0; s < 3; s++) tokdata_free(&r->td[s]);
    cJSON_Delete(r->metrics);
    trainer_free(&r->t);
    if (rc && r->N > 1 && !r->d->agreed_fail) r->d->broken = 1; /* only this rank knows: the job must stop */
    return rc;
}

int train_run(const TrainOpts *o, PifiDataset *const splits[3], const cJSON *data, int resume, Dist *dist,
              const TrainCallbacks *cb, TrainResult *res, PifiErr *err) {
    static const TrainCallbacks quiet = {0};
    memset(res, 0, sizeof *res);
    res->best_valid = res->test_accuracy = res->test_macro_f1 = res->test_mcc = -1;
    res->test_exact_match = res->test_f1 = res->test_bleu = res->test_chrf = -1;
    TrainOpts ro = *o; /* with what the options leave to the models settled */
    ro.span = splits[0]->squad != NULL; /* a QA task's data: the span head */
    if (train_opts_resolve(&ro, err)) return -1;
    o = &ro;
    TrainRun r;
    memset(&r, 0, sizeof r);
    r.o = o, r.splits = splits, r.data = data, r.resume = resume, r.cb = cb ? cb : &quiet, r.res = res;
    r.one = (Dist){.size = 1, .timeout_s = 600, .bucket = 1 << 21};
    r.d = dist ? dist : &r.one;
    r.root = r.d->rank == 0, r.N = r.d->size, r.K = splits[0]->num_classes;
    r.t0 = pifi_now();
    r.best_w_epoch = -1;
    if (run_check(&r, err) || run_trainer(&r, err)) return -1;
    int rc = run_setup(&r, err);
    if (!rc) rc = resume ? run_resume(&r, err) : run_start(&r, err);
    if (!rc) rc = run_open_log(&r, err);
    if (rc) return run_free(&r, -1);
    r.saved_step = resume && r.t.step > 0 ? r.t.step : -1;
    progress(&r, TRAIN_PROGRESS_START, "", 0, 0, 0);
    for (int64_t epoch = r.t.epoch; epoch < o->epochs && rc == RUN_GO && !early_stop_due(o, r.t.epoch, r.t.best_epoch);
         epoch++)
        rc = run_epoch(&r, epoch, err);
    if (rc == RUN_STOPPED) return run_free(&r, 0);
    if (rc >= 0) rc = run_test(&r, err) || run_finish(&r, err) ? -1 : 0;
    return run_free(&r, rc < 0 ? -1 : 0);
}
