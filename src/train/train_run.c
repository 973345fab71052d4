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
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"
#include "pifi/json.h"
#include "pifi/memlimit.h"
#include "train/memest.h"
#include "train/early_stop.h"
#include "train/progress.h"
#include "train/runio.h"
#include "train/stopsig.h"

void train_install_signal_handlers(void) { stop_begin(0); }

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

/* Keep the log lines of steps <= step (a resumed run rewrites the rest; a
 * line cut by a kill goes too), and add up the losses of the steps after
 * epoch_start (the current epoch's, logged with every digit), each times its
 * weight in the epoch's mean (1, or last_w for step steps_per_epoch of the
 * epoch: a short last batch), so the epoch's train loss is the same as
 * without the interruption. */
static int trim_log(const char *path, int64_t step, int64_t epoch_start, int64_t steps_per_epoch, double last_w,
                    double *loss_sum, double *loss_w, PifiErr *err) {
    *loss_sum = 0, *loss_w = 0;
    if (!pifi_file_exists(path)) return 0;
    char *buf;
    size_t n;
    if (pifi_read_file(path, 1u << 30, &buf, &n, err)) return -1;
    size_t keep = 0;
    for (char *line = buf; line < buf + n;) {
        char *nl = memchr(line, '\n', (size_t)(buf + n - line));
        if (!nl) break;
        long long s = -1;
        if (sscanf(line, "{\"step\":%lld", &s) != 1 || s > step) break;
        *nl = 0; /* the search stays in this line */
        const char *l = strstr(line, "\"loss\":");
        if (s > epoch_start && l) {
            double w = s - epoch_start == steps_per_epoch ? last_w : 1.0;
            *loss_sum += strtod(l + 7, NULL) * w, *loss_w += w;
        }
        *nl = '\n';
        keep = (size_t)(nl + 1 - buf);
        line = nl + 1;
    }
    int rc = keep == n ? 0 : pifi_write_file_atomic(path, buf, keep, err);
    free(buf);
    return rc;
}

/* metrics.json as of the checkpoint: the epochs it has done, no final entries. */
static void trim_metrics(cJSON *metrics, int64_t epochs_done) {
    cJSON_DeleteItemFromObject(metrics, "test");
    cJSON_DeleteItemFromObject(metrics, "best_epoch");
    cJSON *ep = cJSON_GetObjectItem(metrics, "epochs");
    if (!cJSON_IsArray(ep)) {
        cJSON_DeleteItemFromObject(metrics, "epochs");
        cJSON_AddArrayToObject(metrics, "epochs");
        return;
    }
    for (int i = cJSON_GetArraySize(ep) - 1; i >= 0; i--) {
        const cJSON *e = cJSON_GetObjectItem(cJSON_GetArrayItem(ep, i), "epoch");
        if (!cJSON_IsNumber(e) || e->valuedouble > (double)epochs_done) cJSON_DeleteItemFromArray(ep, i);
    }
}

/* The run directory's state for --resume, rank 0: the checkpoint, or none
 * yet (killed before the first save: the run starts again at step 0, with
 * its config.json and a fresh copy of the tokenizer); metrics and log cut to
 * the checkpoint. */
static int resume_state(Trainer *t, const TrainOpts *o, int64_t steps_per_epoch, double last_w, cJSON **metrics,
                        double *loss_sum, double *loss_w, PifiErr *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/checkpoint/state.safetensors", o->out);
    if (pifi_file_exists(path)) {
        if (runio_load_state(t, o->out, err)) return -1;
    } else {
        fprintf(stderr, "pifi: %s has no checkpoint yet (stopped before the first save): starting at step 0\n",
                o->out);
        if (runio_prepare(o->out, 1, err) || runio_copy_tokenizer(o->slm, o->out, err)) return -1;
    }
    snprintf(path, sizeof path, "%s/metrics.json", o->out);
    if (t->step > 0 && pifi_file_exists(path)) {
        if (pifi_json_load(path, 1 << 26, metrics, err)) return -1;
        trim_metrics(*metrics, t->epoch);
    }
    snprintf(path, sizeof path, "%s/train_log.jsonl", o->out);
    return trim_log(path, t->step, t->step - t->step_in_epoch, steps_per_epoch, last_w, loss_sum, loss_w, err);
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

static int evaluate_split(PifiModel *m, const TokData *td, const TrainOpts *o, int K, Dist *d, cJSON **out,
                          double *acc, PifiErr *err) {
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

/* The line of the epoch's end on stderr. */
static void epoch_line(const char *what, double train_loss, double acc, int better, const char *metric) {
    if (acc >= 0)
        fprintf(stderr, "pifi: %s: train loss %.4f, valid %s %.4f%s\n", what, train_loss, metric, acc,
                better ? " (best so far)" : "");
    else
        fprintf(stderr, "pifi: %s: train loss %.4f\n", what, train_loss);
}

int train_run(const TrainOpts *o, PifiDataset *const splits[3], const cJSON *data, int resume, Dist *dist,
              TrainResult *res, PifiErr *err) {
    memset(res, 0, sizeof *res);
    res->best_valid = res->test_accuracy = res->test_macro_f1 = res->test_mcc = -1;
    Dist one = {.size = 1, .timeout_s = 600, .bucket = 1 << 21};
    Dist *d = dist ? dist : &one;
    int root = d->rank == 0, N = d->size;
    int accum = o->grad_accum > 1 ? o->grad_accum : 1;
    double t0 = progress_now();
    const PifiDataset *train = splits[0];
    int K = train->num_classes;
    if (train->n < 1) {
        pifi_errf(err, "the training set is empty");
        return everyone(d);
    }
    if (o->drop_last && train->n < o->batch) {
        pifi_errf(err, "the training set has %lld examples, fewer than one batch of %d (--drop-last no trains on "
                  "them as one smaller batch)", (long long)train->n, o->batch);
        return everyone(d);
    }
    if (o->batch < N * accum) {
        pifi_errf(err, "--batch %d cannot be split over %d rank(s) x --grad-accum %d: a micro-batch would be empty",
                  o->batch, N, accum);
        return everyone(d);
    }
    stop_phase(STOP_PHASE_LOAD, resume ? "interrupted while loading; the run is unchanged" : NULL);
    int64_t n_examples = 0;
    for (int s = 0; s < 3; s++) n_examples += splits[s] ? splits[s]->n : 0;
    MemEstimate est;
    if (pifi_memlimit_get() && (memest_train(o, K, n_examples, &est, err) || memlimit_check(&est, err)))
        return everyone(d);
    Trainer t;
    int rc = trainer_setup(&t, o, K, err);
    if (rc == 0 && tokenizer_load(&t.tk, o->slm, err)) {
        trainer_free(&t);
        rc = -1;
    }
    if (dist_agree(d, rc, err)) {
        if (rc == 0) trainer_free(&t);
        return -1;
    }
    t.dist = d;
    TokData td[3];
    memset(td, 0, sizeof td);
    cJSON *metrics = NULL;
    FILE *log = NULL;
    int64_t *order = NULL;
    float *best_w = NULL;       /* N > 1: the best epoch's weights, for the sharded test evaluation */
    int64_t best_w_epoch = -1;
    rc = -1;
    char path[4096];
    int e = 0;
    for (int s = 0; s < 3 && !e; s++)
        if (splits[s] && splits[s]->n > 0) e = tokdata_build(&td[s], t.tk, splits[s], o->max_len, err);
    if (dist_agree(d, e, err)) goto done;
    if (dist_same_u64(d, params_checksum(&t.pt), "the initial weights (are the model files the same on every machine?)",
                      err))
        goto done;
    if (N > 1 && t.model.has_llm) { /* the frozen layer is not in the table: its hash */
        char hex[65];
        llm_layer_weights_sha256(&t.model.llm, hex);
        hex[16] = 0;
        if (dist_same_u64(d, strtoull(hex, NULL, 16), "the plugged LLM layer's weights (is --llm the same on every "
                          "machine?)", err))
            goto done;
    }
    /* the epoch's batches (tokdata.h): n / B, or ceil(n / B) with a short last one */
    int64_t n = td[0].n, steps_per_epoch = epoch_steps(n, o->batch, o->drop_last);
    double last_w = epoch_step_weight(n, o->batch, o->drop_last, steps_per_epoch - 1);
    if (root && o->drop_last && n % o->batch) {
        char which[64];
        if (o->shuffle) snprintf(which, sizeof which, "a different %lld each epoch", (long long)(n % o->batch));
        else snprintf(which, sizeof which, "the same ones each epoch: --no-shuffle");
        fprintf(stderr, "pifi: drop-last: %lld of %lld training rows are left out of each epoch (%s); --drop-last "
                "no keeps them\n", (long long)(n % o->batch), (long long)n, which);
    }

    double resumed_loss = 0, resumed_w = 0; /* the current epoch's steps before the checkpoint */
    if (root) { /* what writers killed earlier left behind */
        snprintf(path, sizeof path, "%s/checkpoint", o->out);
        pifi_remove_stale_temps(o->out, NULL);
        pifi_remove_stale_temps(path, NULL);
    }
    if (resume) {
        e = root ? resume_state(&t, o, steps_per_epoch, last_w, &metrics, &resumed_loss, &resumed_w, err) : 0;
        if (dist_agree(d, e, err) || (N > 1 && bcast_state(&t, d, err))) goto done;
        if (root)
            fprintf(stderr, "pifi: resuming %s at step %lld (epoch %lld, step %lld of it) with %d rank%s\n", o->out,
                    (long long)t.step, (long long)t.epoch + 1, (long long)t.step_in_epoch, N, N > 1 ? "s" : "");
    } else {
        e = 0;
        if (root) {
            e = runio_prepare(o->out, o->overwrite, err);
            if (!e && o->bundle && t.model.has_llm) e = runio_bundle_layer(o, o->out, err);
            if (!e) {
                cJSON *pj = runio_opts_json(o, K, train->label_names, data);
                if (t.model.has_llm) {
                    char hex[65];
                    llm_layer_weights_sha256(&t.model.llm, hex); /* before any training step */
                    cJSON_AddStringToObject(pj, "llm_layer_sha256", hex);
                }
                e = runio_write_config(o->out, o->slm, pj, err);
                cJSON_Delete(pj);
            }
            if (!e) e = runio_copy_tokenizer(o->slm, o->out, err);
        }
        if (dist_agree(d, e, err)) goto done;
    }
    if (!metrics) {
        metrics = cJSON_CreateObject();
        cJSON_AddArrayToObject(metrics, "epochs");
    }
    e = 0;
    if (root) {
        snprintf(path, sizeof path, "%s/train_log.jsonl", o->out);
        log = fopen(path, "a");
        if (!log) e = pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot open for writing", path);
        /* settings given again with --resume that differ from config.json: recorded at this step */
        if (!e && resume && o->resume_changes)
            e = log_resume(log, path, t.step, o->resume_changes, err) ||
                runio_record_resume(o->out, t.step, o, err) ? -1 : 0;
    }
    int64_t total = steps_per_epoch * o->epochs;
    if (o->max_steps > 0 && o->max_steps < total) total = o->max_steps;
    int64_t warmup = (int64_t)(o->warmup_ratio * total);
    order = malloc((size_t)n * sizeof *order);
    if (!order && !e) e = pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    if (dist_agree(d, e, err)) goto done;
    Progress pr;
    progress_init(&pr, total, t.step);
    int stop = 0;
    int64_t saved_step = resume && t.step > 0 ? t.step : -1;
    int best_partial = 0;       /* the best weights are where --max-steps stopped (res->best_partial) */
    int64_t partial_epoch = 0, partial_steps = 0;
    double partial_valid = -1;
    char stop_msg[sizeof path + 200];
    for (int64_t epoch = t.epoch; epoch < o->epochs && !stop && !early_stop_due(o, t.epoch, t.best_epoch); epoch++) {
        epoch_order(order, n, o->seed, epoch, o->shuffle);
        double epoch_loss = resumed_loss, epoch_w = resumed_w; /* sum of loss x weight, sum of weights */
        resumed_loss = 0, resumed_w = 0;
        snprintf(stop_msg, sizeof stop_msg, "stopped at once by a second signal; the last complete checkpoint "
                 "(step %lld) is intact: pifi train --resume %s", (long long)saved_step, o->out);
        stop_phase(STOP_PHASE_STEPS, stop_msg);
        char phase[64];
        snprintf(phase, sizeof phase, "epoch %lld/%d", (long long)epoch + 1, o->epochs);
        double t_step = progress_now();
        for (int64_t s = t.step_in_epoch; s < steps_per_epoch; s++) {
            if (o->max_steps > 0 && t.step >= o->max_steps) {
                stop = 1;
                break;
            }
            int rows = epoch_batch_rows(n, o->batch, o->drop_last, s);
            float lr = lr_at(o->sched, o->lr, t.step, warmup, total);
            StepStats st = {.signal = stop_poll()}; /* taken between steps only (stopsig.h) */
            if (trainer_step_global(&t, &td[0], order + s * o->batch, rows, lr, &st, err)) {
                fail_tail(err, saved_step, o->out);
                goto done;
            }
            t.step_in_epoch = s + 1;
            double w = epoch_step_weight(n, o->batch, o->drop_last, s); /* 1 but for a short last batch */
            epoch_loss += st.loss * w;
            epoch_w += w;
            double now = progress_now(), eps = rows / (now - t_step);
            t_step = now;
            e = 0;
            if (root) {
                snprintf(path, sizeof path, "%s/train_log.jsonl", o->out);
                e = log_step(log, path, t.step, epoch + (double)(s + 1) / steps_per_epoch, &st, lr, eps, N, err);
                if (!e) progress_update(&pr, phase, t.step, epoch_loss / epoch_w, st.loss, eps);
            }
            if (dist_agree(d, e, err)) {
                save_fail_tail(err, saved_step, o->out);
                goto done;
            }
            int save = (o->save_every > 0 && t.step % o->save_every == 0) || st.signal;
            if (save || (d->check_every > 0 && t.step % d->check_every == 0)) {
                if (dist_same_u64(d, params_checksum(&t.pt), "the weights after a step", err)) goto done;
            }
            if (save) {
                e = root ? runio_save_state(&t, o->out, err) : 0;
                if (dist_agree(d, e, err)) {
                    save_fail_tail(err, saved_step, o->out);
                    goto done;
                }
                saved_step = t.step;
                snprintf(stop_msg, sizeof stop_msg, "stopped at once by a second signal; the last complete "
                         "checkpoint (step %lld) is intact: pifi train --resume %s", (long long)saved_step, o->out);
                stop_phase(STOP_PHASE_STEPS, stop_msg);
            }
            if (st.signal) {
                if (root) progress_flush(&pr), progress_finish(&pr);
                res->interrupted = st.signal;
                res->steps = t.step;
                rc = 0;
                goto done;
            }
        }
        if (root) progress_flush(&pr), progress_finish(&pr); /* the epoch's last step, once */
        /* --max-steps inside the epoch: validate what there is, as a partial epoch */
        int partial = t.step_in_epoch < steps_per_epoch;
        if (partial && t.step_in_epoch == 0) break; /* it ended with the previous epoch */
        int64_t number = epoch + 1;
        char what[128];
        if (partial)
            snprintf(what, sizeof what, "epoch %lld (stopped by --max-steps at step %lld of %lld)", (long long)number,
                     (long long)t.step_in_epoch, (long long)steps_per_epoch);
        else
            snprintf(what, sizeof what, "epoch %lld", (long long)number);
        if (!partial) t.epoch = number, t.step_in_epoch = 0;
        double train_loss = epoch_w > 0 ? epoch_loss / epoch_w : 0;
        cJSON *rec = cJSON_CreateObject();
        cJSON_AddNumberToObject(rec, "epoch", (double)number);
        cJSON_AddNumberToObject(rec, "step", (double)t.step);
        if (partial) {
            cJSON_AddBoolToObject(rec, "partial", 1);
            cJSON_AddNumberToObject(rec, "steps_in_epoch", (double)t.step_in_epoch);
            cJSON_AddNumberToObject(rec, "steps_per_epoch", (double)steps_per_epoch);
        }
        cJSON_AddNumberToObject(rec, "train_loss", train_loss);
        int better = 1;
        double acc = -1;
        if (td[1].n > 0) {
            cJSON *v;
            /* a signal now: stop at once if the checkpoint is this step's,
             * else finish the evaluation, save, then stop */
            if (saved_step == t.step)
                snprintf(stop_msg, sizeof stop_msg, "interrupted during the validation of epoch %lld; the checkpoint "
                         "of step %lld is complete: pifi train --resume %s", (long long)number, (long long)t.step,
                         o->out);
            else
                snprintf(stop_msg, sizeof stop_msg, "stopped at once by a second signal during the validation; the "
                         "last complete checkpoint (step %lld) is intact: pifi train --resume %s",
                         (long long)saved_step, o->out);
            stop_phase(saved_step == t.step ? STOP_PHASE_EVAL : STOP_PHASE_FINISH, stop_msg);
            if (evaluate_split(&t.model, &td[1], o, K, d, &v, &acc, err)) {
                cJSON_Delete(rec);
                goto done;
            }
            stop_phase(STOP_PHASE_STEPS, stop_msg);
            acc = early_stop_score(o, v); /* --metric-for-best */
            cJSON_AddItemToObject(rec, "valid", v);
            better = t.best_epoch == 0 || acc > t.best_valid; /* a partial epoch against the whole ones */
            if (better && !partial) t.best_valid = acc;
        }
        if (root && (td[1].n > 0 || partial)) epoch_line(what, train_loss, acc, better && td[1].n > 0,
                                                            best_metric_words(o->metric_for_best));
        cJSON_AddItemToArray(cJSON_GetObjectItem(metrics, "epochs"), rec);
        if (partial) partial_epoch = number, partial_steps = t.step_in_epoch;
        e = 0;
        if (better) {
            if (partial) best_partial = 1, partial_valid = acc; /* the state keeps the whole epochs' best */
            else t.best_epoch = t.epoch;
            if (root) e = runio_save_model(&t, o->out, err);
            if (!e && !partial && N > 1 && td[1].n > 0) { /* keep the best weights for the sharded test evaluation */
                if (!best_w) best_w = pifi_malloc((size_t)t.pt.total * sizeof(float), err);
                if (best_w) copy_weights(&t.pt, best_w, 1), best_w_epoch = t.epoch;
                else e = -1;
            }
        }
        if (root && !e) {
            snprintf(path, sizeof path, "%s/metrics.json", o->out);
            e = runio_write_json(path, metrics, err) || runio_save_state(&t, o->out, err) ? -1 : 0;
        }
        if (dist_agree(d, e, err)) {
            save_fail_tail(err, saved_step, o->out);
            goto done;
        }
        saved_step = t.step;
        if (N == 1 && stop_poll()) { /* came during the epoch's end: saved, stop now */
            res->interrupted = stop_poll();
            res->steps = t.step;
            rc = 0;
            goto done;
        }
    }
    /* do the in-memory weights equal the saved model? */
    int final_is_best = best_partial || (partial_epoch == 0 && t.best_epoch == t.epoch);
    res->steps = t.step;
    res->stopped_early = early_stop_finish(o, t.epoch, t.best_epoch, metrics); /* "stopped_early" */
    res->best_epoch = best_partial ? partial_epoch : t.best_epoch;
    res->best_partial = best_partial;
    res->partial_epoch = partial_epoch;
    res->partial_steps = partial_steps;
    res->steps_per_epoch = steps_per_epoch;
    res->best_valid = td[1].n > 0 ? (best_partial ? partial_valid : t.best_valid) : -1;

    /* test metrics of the saved (best) model: one process loads it back as
     * `pifi eval` does; several ranks evaluate the same weights from memory,
     * sharded, or rank 0 alone from disk when they are not in memory (the
     * best epoch was before a --resume) */
    snprintf(stop_msg, sizeof stop_msg, "interrupted during the test evaluation; the training is complete and saved: "
             "pifi train --resume %s evaluates it", o->out);
    stop_phase(STOP_PHASE_EVAL, stop_msg);
    if (td[2].n > 0) {
        cJSON *tj = NULL;
        double acc;
        if (N > 1 && (final_is_best || best_w_epoch == t.best_epoch)) {
            if (!final_is_best) copy_weights(&t.pt, best_w, 0);
            if (evaluate_split(&t.model, &td[2], o, K, d, &tj, &acc, err)) goto done;
        } else {
            e = 0;
            if (root) {
                RunModel rm;
                e = runio_load_run(&rm, o->out, err);
                if (!e) {
                    Dist self = one;
                    e = pifi_model_set_precision(&rm.model, o->precision, 1, err); /* as trained */
                    if (!e) e = evaluate_split(&rm.model, &td[2], o, K, &self, &tj, &acc, err);
                    runio_free_run(&rm);
                }
            }
            if (dist_agree(d, e, err)) goto done;
        }
        if (tj) {
            res->test_accuracy = acc;
            res->test_macro_f1 = cJSON_GetObjectItem(tj, "macro_f1")->valuedouble;
            res->test_mcc = cJSON_GetObjectItem(tj, "mcc")->valuedouble;
            cJSON_DeleteItemFromObject(metrics, "test");
            cJSON_AddItemToObject(metrics, "test", tj);
        }
    }
    stop_phase(STOP_PHASE_STEPS, stop_msg); /* the last write: a signal now is too late to matter */
    cJSON_DeleteItemFromObject(metrics, "best_epoch");
    cJSON_AddNumberToObject(metrics, "best_epoch", (double)res->best_epoch);
    cJSON_DeleteItemFromObject(metrics, "best_epoch_partial");
    if (best_partial) cJSON_AddBoolToObject(metrics, "best_epoch_partial", 1);
    res->seconds = progress_now() - t0;
    e = 0;
    if (root) { /* metrics.json with "best_epoch" marks the run complete (train_run_complete) */
        snprintf(path, sizeof path, "%s/metrics.json", o->out);
        e = runio_write_json(path, metrics, err);
        if (!e && !o->keep_checkpoint) e = runio_remove_state(o->out, err); /* nothing left to resume */
    }
    if (dist_agree(d, e, err)) goto done;
    snprintf(stop_msg, sizeof stop_msg, "interrupted after the training; the run %s is complete", o->out);
    stop_phase(STOP_PHASE_EVAL, stop_msg); /* what the caller does next (more evaluations) stops at once */
    rc = 0;
done:
    if (log) fclose(log);
    free(order);
    free(best_w);
    for (int s = 0; s < 3; s++) tokdata_free(&td[s]);
    cJSON_Delete(metrics);
    trainer_free(&t);
    if (rc && N > 1 && !d->agreed_fail) d->broken = 1; /* only this rank knows: the job must stop */
    return rc;
}

/* ------------------------------------------------------------------------ */
/* a complete run, read back */

/* A count of metrics.json: a whole number in 0..2^53, else -1. */
static int64_t count_at(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    double x = cJSON_IsNumber(v) ? v->valuedouble : -1;
    return x >= 0 && x <= 9007199254740992.0 && x == floor(x) ? (int64_t)x : -1;
}

/* A metric of metrics.json: a number in [lo, hi], else -1. */
static double metric_at(const cJSON *o, const char *k, double lo, double hi) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) && v->valuedouble >= lo && v->valuedouble <= hi ? v->valuedouble : -1;
}

int train_run_complete(const TrainOpts *o, TrainResult *res, cJSON **eval_tasks, PifiErr *err) {
    memset(res, 0, sizeof *res);
    res->best_valid = res->test_accuracy = res->test_macro_f1 = res->test_mcc = -1;
    *eval_tasks = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/metrics.json", o->out);
    if (!pifi_file_exists(path)) return 0;
    cJSON *m;
    if (pifi_json_load(path, 1 << 26, &m, err)) return -1;
    int64_t best = count_at(m, "best_epoch"); /* written last, once the run is complete */
    if (best < 0) {
        cJSON_Delete(m);
        return 0;
    }
    res->complete_already = 1;
    res->best_epoch = best;
    res->stopped_early = early_stop_read(m);
    res->best_partial = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "best_epoch_partial"));
    const cJSON *ep;
    cJSON_ArrayForEach(ep, cJSON_GetObjectItemCaseSensitive(m, "epochs")) {
        int64_t step = count_at(ep, "step");
        if (step > res->steps) res->steps = step;
        int partial = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ep, "partial"));
        if (partial) {
            res->partial_epoch = count_at(ep, "epoch");
            res->partial_steps = count_at(ep, "steps_in_epoch");
            res->steps_per_epoch = count_at(ep, "steps_per_epoch");
        }
        if (count_at(ep, "epoch") == best && partial == res->best_partial)
            res->best_valid = metric_at(cJSON_GetObjectItemCaseSensitive(ep, "valid"),
                                        best_metric_key(o->metric_for_best), -1, 1);
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "test");
    if (cJSON_IsObject(t)) {
        res->test_accuracy = metric_at(t, "accuracy", 0, 1);
        res->test_macro_f1 = metric_at(t, "macro_f1", 0, 1);
        res->test_mcc = metric_at(t, "mcc", -1, 1);
    }
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(m, "eval_tasks");
    if (cJSON_IsObject(ev)) *eval_tasks = cJSON_Duplicate(ev, 1);
    cJSON_Delete(m);
    /* killed between the last metrics and the removal, or --keep-checkpoint no given now */
    if (!o->keep_checkpoint && runio_remove_state(o->out, err)) {
        cJSON_Delete(*eval_tasks);
        *eval_tasks = NULL;
        return -1;
    }
    return 1;
}
