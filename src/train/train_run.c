/* train_run.c: the training loop of `pifi train` around trainer_step:
 * seeded epoch order (drop_last, as the authors' DataLoader), logging,
 * checkpoints (each epoch, every --save-every steps, on SIGINT/SIGTERM),
 * best epoch by validation accuracy, test metrics of the best epoch. */
#include "train/train_run.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"
#include "pifi/json.h"
#include "train/progress.h"
#include "train/runio.h"

/* The one global besides the thread pool: set by the signal handler. */
static volatile sig_atomic_t g_stop_signal;

static void on_signal(int sig) { g_stop_signal = sig; }

void train_install_signal_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

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

/* Keep the log lines of steps <= step (a resumed run rewrites the rest). */
static int trim_log(const char *path, int64_t step, PifiErr *err) {
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
        keep = (size_t)(nl + 1 - buf);
        line = nl + 1;
    }
    int rc = pifi_write_file_atomic(path, buf, keep, err);
    free(buf);
    return rc;
}

static int evaluate_split(PifiModel *m, const TokData *td, const TrainOpts *o, int K, cJSON **out, double *acc,
                          PifiErr *err) {
    PifiConfusion cm;
    if (confusion_init(&cm, K, err)) return -1;
    double loss = 0;
    int rc = trainer_evaluate(m, td, o->eval_batch, &cm, NULL, &loss, o->label_smoothing, err);
    if (rc == 0) {
        *out = metrics_json(&cm, loss);
        *acc = metric_accuracy(&cm);
    }
    confusion_free(&cm);
    return rc;
}

int train_run(const TrainOpts *o, PifiDataset *const splits[3], const cJSON *data, int resume,
              TrainResult *res, PifiErr *err) {
    memset(res, 0, sizeof *res);
    res->best_valid = res->test_accuracy = res->test_macro_f1 = res->test_mcc = -1;
    double t0 = progress_now();
    const PifiDataset *train = splits[0];
    int K = train->num_classes;
    if (train->n < o->batch)
        return pifi_errf(err, "the training set has %lld examples, fewer than one batch of %d", (long long)train->n,
                         o->batch);
    Trainer t;
    if (trainer_setup(&t, o, K, err)) return -1;
    if (tokenizer_load(&t.tk, o->slm, err)) {
        trainer_free(&t);
        return -1;
    }
    TokData td[3];
    memset(td, 0, sizeof td);
    cJSON *metrics = NULL;
    FILE *log = NULL;
    int64_t *order = NULL;
    Batch b = {0};
    int rc = -1;
    char path[4096];
    for (int s = 0; s < 3; s++)
        if (splits[s] && splits[s]->n > 0 && tokdata_build(&td[s], t.tk, splits[s], o->max_len, err)) goto done;

    if (resume) {
        if (runio_load_state(&t, o->out, err)) goto done;
        snprintf(path, sizeof path, "%s/metrics.json", o->out);
        if (pifi_file_exists(path) && pifi_json_load(path, 1 << 26, &metrics, err)) goto done;
        snprintf(path, sizeof path, "%s/train_log.jsonl", o->out);
        if (trim_log(path, t.step, err)) goto done;
        fprintf(stderr, "pifi: resuming %s at step %lld (epoch %lld, step %lld of it)\n", o->out, (long long)t.step,
                (long long)t.epoch + 1, (long long)t.step_in_epoch);
    } else {
        if (runio_prepare(o->out, o->overwrite, err)) goto done;
        if (o->bundle && t.model.has_llm && runio_bundle_layer(o, o->out, err)) goto done;
        cJSON *pj = runio_opts_json(o, K, train->label_names, data);
        if (t.model.has_llm) {
            char hex[65];
            llm_layer_weights_sha256(&t.model.llm, hex); /* before any training step */
            cJSON_AddStringToObject(pj, "llm_layer_sha256", hex);
        }
        int w = runio_write_config(o->out, o->slm, pj, err);
        cJSON_Delete(pj);
        if (w || runio_copy_tokenizer(o->slm, o->out, err)) goto done;
    }
    if (!metrics) {
        metrics = cJSON_CreateObject();
        cJSON_AddArrayToObject(metrics, "epochs");
    }
    snprintf(path, sizeof path, "%s/train_log.jsonl", o->out);
    log = fopen(path, "a");
    if (!log) {
        pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot open for writing", path);
        goto done;
    }
    int64_t n = td[0].n, steps_per_epoch = n / o->batch;
    int64_t total = steps_per_epoch * o->epochs;
    if (o->max_steps > 0 && o->max_steps < total) total = o->max_steps;
    int64_t warmup = (int64_t)(o->warmup_ratio * total);
    order = malloc((size_t)n * sizeof *order);
    if (!order) {
        pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        goto done;
    }
    Progress pr;
    progress_init(&pr, total, t.step);
    double ema_loss = NAN, t_step = progress_now();
    int stop = 0;
    int64_t saved_step = resume ? t.step : -1;
    for (int64_t epoch = t.epoch; epoch < o->epochs && !stop; epoch++) {
        epoch_order(order, n, o->seed, epoch, o->shuffle);
        double epoch_loss = 0;
        int64_t epoch_steps = 0;
        char phase[64];
        snprintf(phase, sizeof phase, "epoch %lld/%d", (long long)epoch + 1, o->epochs);
        for (int64_t s = t.step_in_epoch; s < steps_per_epoch; s++) {
            if (o->max_steps > 0 && t.step >= o->max_steps) {
                stop = 1;
                break;
            }
            if (batch_fill(&b, &td[0], order + s * o->batch, o->batch, err)) goto done;
            float lr = lr_at(o->sched, o->lr, t.step, warmup, total);
            double loss, gnorm;
            if (trainer_step(&t, &b, lr, &loss, &gnorm, err)) {
                pifi_err_prefix(err, "training stopped");
                char tail[600];
                if (saved_step >= 0)
                    snprintf(tail, sizeof tail, "; the last good checkpoint (step %lld) is in %s/checkpoint; "
                             "lower --lr or check the data", (long long)saved_step, o->out);
                else
                    snprintf(tail, sizeof tail, "; no checkpoint had been saved yet; lower --lr or check the data");
                strncat(err->msg, tail, sizeof err->msg - strlen(err->msg) - 1);
                goto done;
            }
            t.step_in_epoch = s + 1;
            epoch_loss += loss;
            epoch_steps++;
            ema_loss = isnan(ema_loss) ? loss : 0.98 * ema_loss + 0.02 * loss;
            double now = progress_now(), eps = o->batch / (now - t_step);
            t_step = now;
            fprintf(log, "{\"step\":%lld,\"epoch\":%.4f,\"loss\":%.6f,\"lr\":%.6g,\"grad_norm\":%.6f,"
                         "\"examples_per_s\":%.2f}\n",
                    (long long)t.step, epoch + (double)(s + 1) / steps_per_epoch, loss, lr, gnorm, eps);
            fflush(log);
            progress_update(&pr, phase, t.step, ema_loss, eps, 0);
            int save = o->save_every > 0 && t.step % o->save_every == 0;
            if (g_stop_signal || save) {
                if (runio_save_state(&t, o->out, err)) goto done;
                saved_step = t.step;
            }
            if (g_stop_signal) {
                progress_finish(&pr);
                res->interrupted = g_stop_signal;
                res->steps = t.step;
                rc = 0;
                goto done;
            }
        }
        progress_update(&pr, phase, t.step, ema_loss, 0, 1);
        progress_finish(&pr);
        if (t.step_in_epoch < steps_per_epoch) break; /* --max-steps stopped mid-epoch */
        t.epoch = epoch + 1;
        t.step_in_epoch = 0;
        cJSON *rec = cJSON_CreateObject();
        cJSON_AddNumberToObject(rec, "epoch", (double)t.epoch);
        cJSON_AddNumberToObject(rec, "step", (double)t.step);
        cJSON_AddNumberToObject(rec, "train_loss", epoch_steps ? epoch_loss / epoch_steps : 0);
        int better = 1;
        if (td[1].n > 0) {
            cJSON *v;
            double acc;
            if (evaluate_split(&t.model, &td[1], o, K, &v, &acc, err)) {
                cJSON_Delete(rec);
                goto done;
            }
            cJSON_AddItemToObject(rec, "valid", v);
            better = t.best_epoch == 0 || acc > t.best_valid;
            if (better) t.best_valid = acc;
            fprintf(stderr, "pifi: epoch %lld: train loss %.4f, valid accuracy %.4f%s\n", (long long)t.epoch,
                    epoch_steps ? epoch_loss / epoch_steps : 0, acc, better ? " (best so far)" : "");
        }
        cJSON_AddItemToArray(cJSON_GetObjectItem(metrics, "epochs"), rec);
        if (better) {
            t.best_epoch = t.epoch;
            if (runio_save_model(&t, o->out, err)) goto done;
        }
        snprintf(path, sizeof path, "%s/metrics.json", o->out);
        if (runio_write_json(path, metrics, err) || runio_save_state(&t, o->out, err)) goto done;
        saved_step = t.step;
    }
    if (t.best_epoch == 0) { /* stopped before the first epoch ended: keep what there is */
        if (runio_save_model(&t, o->out, err) || runio_save_state(&t, o->out, err)) goto done;
    }
    res->steps = t.step;
    res->best_epoch = t.best_epoch;
    res->best_valid = td[1].n > 0 ? t.best_valid : -1;

    /* test metrics of the saved (best) model, loaded back as `pifi eval` does */
    if (td[2].n > 0) {
        RunModel rm;
        if (runio_load_run(&rm, o->out, err)) goto done;
        cJSON *tj;
        double acc;
        int e = evaluate_split(&rm.model, &td[2], o, K, &tj, &acc, err);
        runio_free_run(&rm);
        if (e) goto done;
        res->test_accuracy = acc;
        res->test_macro_f1 = cJSON_GetObjectItem(tj, "macro_f1")->valuedouble;
        res->test_mcc = cJSON_GetObjectItem(tj, "mcc")->valuedouble;
        cJSON_DeleteItemFromObject(metrics, "test");
        cJSON_AddItemToObject(metrics, "test", tj);
    }
    cJSON_DeleteItemFromObject(metrics, "best_epoch");
    cJSON_AddNumberToObject(metrics, "best_epoch", (double)t.best_epoch);
    res->seconds = progress_now() - t0;
    snprintf(path, sizeof path, "%s/metrics.json", o->out);
    if (runio_write_json(path, metrics, err)) goto done;
    rc = 0;
done:
    if (log) fclose(log);
    free(order);
    batch_free(&b);
    for (int s = 0; s < 3; s++) tokdata_free(&td[s]);
    cJSON_Delete(metrics);
    trainer_free(&t);
    return rc;
}
