/* s2s_run.c: a generation run from start (or checkpoint) to its test
 * scores (s2s_run.h). */
#include "train/s2s_run.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "exp/plot.h"
#include "kernels/compute.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "train/early_stop.h"
#include "train/runio.h"
#include "train/s2s_generate.h"
#include "train/s2s_runio.h"
#include "train/tokdata.h"
#include "train/train_resume.h"

enum { RUN_GO, RUN_LAST, RUN_STOPPED };

typedef struct {
    TrainOpts o;
    const cJSON *data;
    const TrainCallbacks *cb;
    TrainResult *res;
    PifiDataset *const *splits;
    PifiCompute cx;
    PifiTokenizer *tk;
    Seq2Seq *m;
    S2SPlug plug;
    int has_plug;
    S2STrainer t;
    S2SData d[3];
    S2SBatch b;
    int64_t *order;
    int64_t n, steps_per_epoch, total, warmup;
    S2SProgress p;
    cJSON *metrics;
    FILE *log;
    char log_path[PATH_MAX];
    double t0, seconds0; /* this sitting's start; p.seconds then */
} S2SRun;

static void note(const S2SRun *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(const S2SRun *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    pifi_vlogf(r->cb->on_log, r->cb->user, PIFI_LOG_NOTE, fmt, ap);
    va_end(ap);
}

static void progress(const S2SRun *r, TrainProgressKind kind, const char *phase, double mean, double last,
                     double eps) {
    if (!r->cb->on_progress) return;
    TrainProgress p = {.kind = kind, .phase = phase, .done = r->p.step, .total = r->total, .mean_loss = mean,
                       .last_loss = last, .examples_per_s = eps};
    r->cb->on_progress(&p, r->cb->user);
}

static void phase(S2SRun *r, TrainPhase ph, const char *msg) {
    if (r->cb->on_phase) r->cb->on_phase(ph, msg, r->cb->user);
}

static double elapsed(const S2SRun *r) { return r->seconds0 + (pifi_now() - r->t0); }

/* ---- set up ------------------------------------------------------------------ */

static int check_opts(const TrainOpts *o, PifiErr *err) {
    if (o->method != METHOD_BASE && o->method != METHOD_PIFI)
        return pifi_errf(err, "method %s is not built for encoder-decoders yet (base and pifi are)",
                         method_name(o->method));
    if (o->grad_accum > 1) return pifi_errf(err, "--grad-accum is not built for generation runs yet");
    if (o->bundle) return pifi_errf(err, "--bundle is not built for generation runs yet");
    if (o->max_new_tokens < o->min_new_tokens + 1)
        return pifi_errf(err, "--max-new-tokens %d must exceed --min-new-tokens %d", o->max_new_tokens,
                         o->min_new_tokens);
    return 0;
}

static int setup_model(S2SRun *r, PifiErr *err) {
    const TrainOpts *o = &r->o;
    compute_init(&r->cx, o->precision);
    if (tokenizer_load(&r->tk, o->slm, err)) return -1;
    if (o->init_random ? seq2seq_init(&r->m, o->slm, o->seed, &r->cx, err) : seq2seq_load(&r->m, o->slm, &r->cx, err))
        return -1;
    const Seq2SeqConfig *c = seq2seq_config(r->m);
    int tv = tokenizer_vocab_size(r->tk);
    if (tv > c->V)
        return pifi_errf(err, "%s: the tokenizer has %d tokens but the model's vocab_size is %d: mismatched "
                              "vocabularies", o->slm, tv, c->V);
    if (o->method == METHOD_PIFI) {
        if (s2s_plug_init(&r->plug, o->llm, o->layer, c->C, &r->cx, err)) return -1;
        r->has_plug = 1;
        r->plug.causal = o->layer_causal, r->plug.mask_ones = o->layer_mask_ones;
    }
    OptimConfig oc = {o->optim == OPT_ADAMW ? OPT_ADAMW : OPT_ADAM, 0.9f, 0.999f, 1e-8f, o->weight_decay};
    return s2s_trainer_init(&r->t, r->m, r->has_plug ? &r->plug : NULL, o->seed, &oc, err);
}

static int setup_data(S2SRun *r, PifiErr *err) {
    const cJSON *pv = cJSON_GetObjectItemCaseSensitive(r->data, "source_prefix");
    const char *prefix = cJSON_IsString(pv) ? pv->valuestring : "";
    for (int s = 0; s < 3; s++)
        if (r->splits[s] && s2s_data_build(&r->d[s], r->tk, r->splits[s], prefix, r->o.max_len, r->o.max_target_len, err))
            return -1;
    r->n = r->d[0].n;
    if (r->n < 1) return pifi_errf(err, "train: the training split is empty");
    r->steps_per_epoch = epoch_steps(r->n, r->o.batch, r->o.drop_last);
    if (r->steps_per_epoch < 1)
        return pifi_errf(err, "train: %lld training examples make no batch of %d (--drop-last no keeps them)",
                         (long long)r->n, r->o.batch);
    r->total = r->steps_per_epoch * r->o.epochs;
    if (r->o.max_steps > 0 && r->o.max_steps < r->total) r->total = r->o.max_steps;
    r->warmup = (int64_t)(r->o.warmup_ratio * (double)r->total);
    r->order = pifi_malloc((size_t)r->n * sizeof *r->order, err);
    return r->order ? 0 : -1;
}

/* A new run's directory: config.json, the tokenizer; or a resumed run's
 * state, metrics and log brought back to its checkpoint. */
static int setup_files(S2SRun *r, int resume, double *loss_sum, double *loss_w, PifiErr *err) {
    const TrainOpts *o = &r->o;
    char path[PATH_MAX];
    snprintf(r->log_path, sizeof r->log_path, "%s/train_log.jsonl", o->out);
    snprintf(path, sizeof path, "%s/checkpoint/state.safetensors", o->out);
    *loss_sum = *loss_w = 0;
    if (resume && pifi_file_exists(path)) {
        if (s2s_runio_load_state(&r->t, &r->p, method_name(o->method), o->epochs, o->out, err)) return -1;
        note(r, "resuming %s at step %lld (epoch %lld, step %lld of it)", o->out, (long long)r->p.step,
             (long long)r->p.epoch + 1, (long long)r->p.step_in_epoch);
        snprintf(path, sizeof path, "%s/metrics.json", o->out);
        if (pifi_file_exists(path)) {
            if (pifi_json_load(path, 1 << 26, &r->metrics, err)) return -1;
            resume_trim_metrics(r->metrics, r->p.epoch);
        }
        int64_t last = r->steps_per_epoch - 1;
        double last_w = epoch_step_weight(r->n, o->batch, o->drop_last, last);
        if (resume_trim_log(r->log_path, r->p.step, r->p.step - r->p.step_in_epoch, r->steps_per_epoch, last_w,
                            loss_sum, loss_w, err))
            return -1;
    } else {
        if (resume) note(r, "%s has no checkpoint yet (stopped before the first save): starting at step 0", o->out);
        cJSON *pifi = runio_opts_json(o, 0, NULL, r->data);
        if (!pifi) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        cJSON_DeleteItemFromObjectCaseSensitive(pifi, "num_classes");
        cJSON_DeleteItemFromObjectCaseSensitive(pifi, "label_names");
        int rc = (!resume && runio_prepare(o->out, o->overwrite, err)) ||
                 s2s_runio_write_config(o->out, o->slm, pifi, err) || runio_copy_tokenizer(o->slm, o->out, err);
        cJSON_Delete(pifi);
        if (rc) return -1;
        if (pifi_file_exists(r->log_path) && pifi_write_file_atomic(r->log_path, "", 0, err)) return -1;
    }
    if (!r->metrics) r->metrics = cJSON_CreateObject();
    if (!r->metrics) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    if (!cJSON_GetObjectItemCaseSensitive(r->metrics, "epochs")) cJSON_AddArrayToObject(r->metrics, "epochs");
    r->log = fopen(r->log_path, "a");
    if (!r->log) return pifi_errf(err, "%s: cannot open for appending", r->log_path);
    return 0;
}

/* ---- training ---------------------------------------------------------------- */

static int save_state(S2SRun *r, PifiErr *err) {
    r->p.seconds = elapsed(r);
    return s2s_runio_save_state(&r->t, &r->p, method_name(r->o.method), r->o.out, err);
}

static int log_step(S2SRun *r, double epoch, double loss, float lr, double norm, double eps, PifiErr *err) {
    if (fprintf(r->log, "{\"step\":%lld,\"epoch\":%.4f,\"loss\":%.17g,\"lr\":%.9g,\"grad_norm\":%.6g,"
                        "\"examples_per_s\":%.3g}\n",
                (long long)r->p.step, epoch, loss, lr, norm, eps) < 0 ||
        fflush(r->log))
        return pifi_errf(err, "%s: cannot write", r->log_path);
    return 0;
}

static int run_steps(S2SRun *r, const char *ph, double *loss_sum, double *loss_w, PifiErr *err) {
    const TrainOpts *o = &r->o;
    double t_step = pifi_now();
    for (int64_t s = r->p.step_in_epoch; s < r->steps_per_epoch; s++) {
        if (o->max_steps > 0 && r->p.step >= o->max_steps) return RUN_LAST;
        int stop = r->cb->stop_requested ? r->cb->stop_requested(r->cb->user) : 0;
        if (stop) {
            if (save_state(r, err)) return -1;
            r->res->interrupted = stop;
            return RUN_STOPPED;
        }
        int rows = epoch_batch_rows(r->n, o->batch, o->drop_last, s);
        float lr = lr_at(o->sched, o->lr, r->p.step, r->warmup, r->total);
        double loss, norm;
        /* dropout from (seed, step): a resumed run draws what an uninterrupted one does */
        seq2seq_set_train(r->m, 1, o->seed ^ ((uint64_t)(r->p.step + 1) * 0x9E3779B97F4A7C15ull));
        if (s2s_batch_fill(&r->b, &r->d[0], r->order + s * o->batch, rows, seq2seq_config(r->m)->pad_id,
                           seq2seq_config(r->m)->decoder_start_id, err) ||
            s2s_train_step(&r->t, &r->b, lr, o->label_smoothing, o->clip, &loss, &norm, err))
            return -1;
        r->p.step++;
        r->p.step_in_epoch = s + 1;
        double w = epoch_step_weight(r->n, o->batch, o->drop_last, s);
        *loss_sum += loss * w, *loss_w += w;
        double now = pifi_now(), eps = rows / (now - t_step);
        t_step = now;
        if (log_step(r, r->p.epoch + (double)(s + 1) / r->steps_per_epoch, loss, lr, norm, eps, err)) return -1;
        progress(r, TRAIN_PROGRESS_STEP, ph, *loss_sum / *loss_w, loss, eps);
        if (o->save_every > 0 && r->p.step % o->save_every == 0 && save_state(r, err)) return -1;
    }
    return RUN_GO;
}

/* ---- evaluation --------------------------------------------------------------- */

typedef struct {
    const S2SRun *r;
    const char *what;
    double t0;
} GenTell;

/* Decoding's progress: sentences done of total (START before the first, PAUSE after the last). */
static void gen_progress(int64_t done, int64_t total, void *user) {
    GenTell *g = user;
    if (!g->r->cb->on_progress) return;
    double now = pifi_now();
    TrainProgress p = {.kind = TRAIN_PROGRESS_STEP, .phase = g->what, .done = done, .total = total, .decoding = 1,
                       .examples_per_s = done / (now - g->t0 > 0 ? now - g->t0 : 1e-9)};
    g->r->cb->on_progress(&p, g->r->cb->user);
    if (done == total) p.kind = TRAIN_PROGRESS_PAUSE, g->r->cb->on_progress(&p, g->r->cb->user);
}

static S2SBeamOpts beam_opts(const TrainOpts *o) {
    return (S2SBeamOpts){.num_beams = o->num_beams, .length_penalty = o->length_penalty,
                         .early_stopping = o->early_stopping, .no_repeat_ngram_size = o->no_repeat_ngram,
                         .min_new_tokens = o->min_new_tokens, .max_new_tokens = o->max_new_tokens};
}

/* Split s decoded and scored into a new object {"n", "loss", "bleu", "chrf",
 * "bleu_1".."bleu_4", "bleu_bp", "seconds"}; hyps_out (NULL: not wanted) the texts. */
static cJSON *evaluate(S2SRun *r, int s, const char *what, char ***hyps_out, PifiErr *err) {
    double t0 = pifi_now(), loss;
    seq2seq_set_train(r->m, 0, 0);
    if (s2s_eval_loss(r->m, r->has_plug ? &r->plug : NULL, &r->d[s], r->o.eval_batch, &loss, err)) return NULL;
    S2SBeamOpts bo = beam_opts(&r->o);
    GenTell g = {r, what, pifi_now()};
    if (r->cb->on_progress) {
        TrainProgress p = {.kind = TRAIN_PROGRESS_START, .phase = what, .total = r->d[s].n, .decoding = 1};
        r->cb->on_progress(&p, r->cb->user);
    }
    char **hyps;
    if (s2s_generate(r->m, r->has_plug ? &r->plug : NULL, r->tk, &r->d[s], &bo, r->o.eval_batch, gen_progress, &g,
                     &hyps, err))
        return NULL;
    S2SScores sc;
    int rc = s2s_score(hyps, r->splits[s]->target, r->d[s].n, &sc, err);
    cJSON *o = rc ? NULL : cJSON_CreateObject();
    if (o) {
        cJSON_AddNumberToObject(o, "n", (double)r->d[s].n);
        cJSON_AddNumberToObject(o, "loss", loss);
        cJSON_AddNumberToObject(o, "bleu", sc.bleu);
        cJSON_AddNumberToObject(o, "chrf", sc.chrf);
        for (int k = 0; k < 4; k++) {
            char key[16];
            snprintf(key, sizeof key, "bleu_%d", k + 1);
            cJSON_AddNumberToObject(o, key, sc.bleu_precisions[k]);
        }
        cJSON_AddNumberToObject(o, "bleu_bp", sc.bleu_bp);
        cJSON_AddNumberToObject(o, "seconds", pifi_now() - t0);
    } else if (!rc) {
        pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    }
    if (o && hyps_out) *hyps_out = hyps;
    else s2s_texts_free(hyps, r->d[s].n);
    return o;
}

static int write_metrics(const S2SRun *r, PifiErr *err) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/metrics.json", r->o.out);
    return runio_write_json(path, r->metrics, err);
}

/* An epoch's end (partial: cut by --max-steps): its train loss, the
 * validation, the weights kept when it is the best, the checkpoint. */
static int epoch_end(S2SRun *r, double loss_sum, double loss_w, int partial, PifiErr *err) {
    int64_t number = r->p.epoch + 1;
    cJSON *rec = cJSON_CreateObject();
    cJSON_AddNumberToObject(rec, "epoch", (double)number);
    cJSON_AddNumberToObject(rec, "step", (double)r->p.step);
    if (partial) {
        cJSON_AddBoolToObject(rec, "partial", 1);
        cJSON_AddNumberToObject(rec, "steps_in_epoch", (double)r->p.step_in_epoch);
        cJSON_AddNumberToObject(rec, "steps_per_epoch", (double)r->steps_per_epoch);
    }
    cJSON_AddNumberToObject(rec, "train_loss", loss_w > 0 ? loss_sum / loss_w : 0);
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(r->metrics, "epochs"), rec);
    int better = 1;
    if (r->splits[1]) {
        char what[64];
        snprintf(what, sizeof what, "epoch %lld: decoding valid", (long long)number);
        phase(r, TRAIN_PHASE_EVAL, NULL);
        cJSON *v = evaluate(r, 1, what, NULL, err);
        if (!v) return -1;
        cJSON_AddItemToObject(rec, "valid", v);
        double bleu = cJSON_GetObjectItemCaseSensitive(v, "bleu")->valuedouble;
        better = r->p.best_epoch == 0 || bleu > r->p.best_valid;
        note(r, "epoch %lld: train loss %.4f, valid loss %.4f, BLEU %.2f, chrF %.2f%s", (long long)number,
             loss_w > 0 ? loss_sum / loss_w : 0, cJSON_GetObjectItemCaseSensitive(v, "loss")->valuedouble, bleu,
             cJSON_GetObjectItemCaseSensitive(v, "chrf")->valuedouble, better ? " (best so far)" : "");
        if (better) r->p.best_valid = bleu;
    }
    if (better) {
        r->p.best_epoch = number;
        if (s2s_runio_save_model(&r->t, r->o.out, err)) return -1;
    }
    cJSON_AddNumberToObject(rec, "seconds", elapsed(r));
    r->p.epoch = number, r->p.step_in_epoch = 0;
    if (write_metrics(r, err) || save_state(r, err)) return -1;
    phase(r, TRAIN_PHASE_STEPS, NULL);
    return 0;
}

/* The kept weights on the test split, test_generations.txt, and the final
 * metrics ("best_epoch" last: a complete run). */
static int finish(S2SRun *r, PifiErr *err) {
    const TrainOpts *o = &r->o;
    TrainResult *res = r->res;
    phase(r, TRAIN_PHASE_FINISH, NULL);
    if (s2s_runio_load_model(&r->t, o->out, err)) return -1;
    if (r->splits[2]) {
        char **hyps = NULL;
        cJSON *t = evaluate(r, 2, "test: decoding", &hyps, err);
        if (!t) return -1;
        cJSON_AddItemToObject(r->metrics, "test", t);
        res->test_bleu = cJSON_GetObjectItemCaseSensitive(t, "bleu")->valuedouble;
        res->test_chrf = cJSON_GetObjectItemCaseSensitive(t, "chrf")->valuedouble;
        size_t cap = 1, n = 0;
        for (int64_t i = 0; i < r->d[2].n; i++) cap += strlen(hyps[i]) + 1;
        char *text = malloc(cap), path[PATH_MAX];
        int rc = text ? 0 : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        for (int64_t i = 0; rc == 0 && i < r->d[2].n; i++) {
            for (const char *c = hyps[i]; *c; c++) text[n++] = *c == '\n' || *c == '\r' ? ' ' : *c; /* one line each */
            text[n++] = '\n';
        }
        snprintf(path, sizeof path, "%s/test_generations.txt", o->out);
        if (rc == 0) rc = pifi_write_file_atomic(path, text, n, err);
        free(text);
        s2s_texts_free(hyps, r->d[2].n);
        if (rc) return -1;
    }
    r->p.seconds = elapsed(r);
    early_stop_finish(o, r->p.epoch, r->p.best_epoch, r->metrics);
    cJSON_AddNumberToObject(r->metrics, "seconds", r->p.seconds);
    cJSON_AddNumberToObject(r->metrics, "best_epoch", (double)r->p.best_epoch);
    if (write_metrics(r, err)) return -1;
    if (!o->keep_checkpoint && runio_remove_state(o->out, err)) return -1;
    /* curve.png: the training loss and the validation BLEU, where gnuplot is installed */
    PifiErr perr = {0};
    char png[PATH_MAX], title[256];
    const cJSON *task = cJSON_GetObjectItemCaseSensitive(r->data, "task");
    snprintf(png, sizeof png, "%s/curve.png", o->out);
    snprintf(title, sizeof title, "%s, method %s", cJSON_IsString(task) ? task->valuestring : "generation",
             method_name(o->method));
    if (plot_available(&perr) == 0 && plot_curve(o->out, png, title, &perr))
        note(r, "the learning curve was not drawn: %s", perr.msg);
    return 0;
}

static void run_free(S2SRun *r) {
    if (r->log) fclose(r->log);
    cJSON_Delete(r->metrics);
    free(r->order);
    s2s_batch_free(&r->b);
    for (int s = 0; s < 3; s++) s2s_data_free(&r->d[s]);
    s2s_trainer_free(&r->t);
    if (r->has_plug) s2s_plug_free(&r->plug);
    seq2seq_free(r->m);
    tokenizer_free(r->tk);
    compute_free(&r->cx);
}

int s2s_run(const TrainOpts *o, PifiDataset *const splits[3], const cJSON *data, int resume,
            const TrainCallbacks *cb, TrainResult *res, PifiErr *err) {
    static const TrainCallbacks none;
    S2SRun *r = pifi_calloc(1, sizeof *r, err);
    if (!r) return -1;
    r->o = *o, r->data = data, r->cb = cb ? cb : &none, r->res = res, r->splits = splits;
    r->t0 = pifi_now();
    memset(res, 0, sizeof *res);
    res->best_valid = res->test_accuracy = res->test_macro_f1 = res->test_mcc = -1;
    res->test_exact_match = res->test_f1 = res->test_bleu = res->test_chrf = -1;
    phase(r, TRAIN_PHASE_LOAD, NULL);
    double loss_sum = 0, loss_w = 0;
    int rc = r->o.seq2seq ? 0 : pifi_errf(err, "internal: s2s_run of a run that is not a generation run");
    if (rc == 0) rc = train_opts_resolve(&r->o, err) || check_opts(&r->o, err) || setup_model(r, err) ||
                      setup_data(r, err) || setup_files(r, resume, &loss_sum, &loss_w, err)
                          ? -1
                          : 0;
    r->seconds0 = r->p.seconds, r->t0 = pifi_now();
    int state = RUN_GO;
    if (rc == 0) {
        if (r->p.epoch == 0 && r->p.step_in_epoch == 0) progress(r, TRAIN_PROGRESS_START, NULL, 0, 0, 0);
        phase(r, TRAIN_PHASE_STEPS, NULL);
    }
    while (rc == 0 && state == RUN_GO && r->p.epoch < r->o.epochs && !early_stop_due(&r->o, r->p.epoch, r->p.best_epoch)) {
        char ph[64];
        snprintf(ph, sizeof ph, "epoch %lld/%d", (long long)r->p.epoch + 1, r->o.epochs);
        epoch_order(r->order, r->n, r->o.seed, r->p.epoch, r->o.shuffle);
        if (r->p.epoch > 0 || r->p.step_in_epoch > 0) progress(r, TRAIN_PROGRESS_START, ph, 0, 0, 0); /* after a decoding */
        state = run_steps(r, ph, &loss_sum, &loss_w, err);
        if (state < 0) rc = -1;
        if (state == RUN_STOPPED) break;
        progress(r, TRAIN_PROGRESS_PAUSE, ph, loss_w > 0 ? loss_sum / loss_w : 0, 0, 0);
        if (rc == 0 && (state == RUN_GO || r->p.step_in_epoch > 0)) {
            int partial = state == RUN_LAST;
            if (partial) res->partial_epoch = r->p.epoch + 1, res->partial_steps = r->p.step_in_epoch;
            rc = epoch_end(r, loss_sum, loss_w, partial, err);
            res->best_partial = partial && r->p.best_epoch == r->p.epoch;
        }
        loss_sum = loss_w = 0;
    }
    if (rc == 0 && state != RUN_STOPPED) rc = finish(r, err);
    res->steps = r->p.step;
    res->steps_per_epoch = r->steps_per_epoch;
    res->best_epoch = r->p.best_epoch;
    res->best_valid = splits[1] ? r->p.best_valid : -1;
    res->stopped_early = r->metrics ? early_stop_read(r->metrics) : 0;
    res->seconds = pifi_now() - r->t0;
    run_free(r);
    free(r);
    return rc;
}
