/* train_resume.c: a run directory brought back (train_resume.h): the log
 * and metrics.json cut back to the checkpoint for --resume, and a complete
 * run's results read back (train_run_complete). */
#include "train/train_resume.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"
#include "pifi/json.h"
#include "train/early_stop.h"
#include "train/runio.h"

/* Keep the log lines of steps <= step (a resumed run rewrites the rest; a
 * line cut by a kill goes too), and add up the losses of the steps after
 * epoch_start (the current epoch's, logged with every digit), each times its
 * weight in the epoch's mean (1, or last_w for step steps_per_epoch of the
 * epoch: a short last batch), so the epoch's train loss is the same as
 * without the interruption. */
int resume_trim_log(const char *path, int64_t step, int64_t epoch_start, int64_t steps_per_epoch, double last_w,
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
void resume_trim_metrics(cJSON *metrics, int64_t epochs_done) {
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

int train_resume_state(Trainer *t, const TrainOpts *o, int64_t steps_per_epoch, double last_w,
                       const TrainCallbacks *cb, cJSON **metrics, double *loss_sum, double *loss_w, PifiErr *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/checkpoint/state.safetensors", o->out);
    if (pifi_file_exists(path)) {
        if (runio_load_state(t, o->out, err)) return -1;
    } else {
        if (cb) pifi_logf(cb->on_log, cb->user, PIFI_LOG_NOTE, "%s has no checkpoint yet (stopped before the first "
                          "save): starting at step 0", o->out);
        if (runio_prepare(o->out, 1, err) || runio_copy_tokenizer(o->slm, o->out, err)) return -1;
    }
    snprintf(path, sizeof path, "%s/metrics.json", o->out);
    if (t->step > 0 && pifi_file_exists(path)) {
        if (pifi_json_load(path, 1 << 26, metrics, err)) return -1;
        resume_trim_metrics(*metrics, t->epoch);
    }
    snprintf(path, sizeof path, "%s/train_log.jsonl", o->out);
    return resume_trim_log(path, t->step, t->step - t->step_in_epoch, steps_per_epoch, last_w, loss_sum, loss_w, err);
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
    res->test_exact_match = res->test_f1 = res->test_bleu = res->test_chrf = -1;
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
                                        best_metric_key(o->metric_for_best), -1,
                                        o->metric_for_best == BEST_SQUAD_F1 || o->metric_for_best == BEST_BLEU
                                            ? 100 : 1); /* QA, BLEU: percent */
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "test");
    if (cJSON_IsObject(t) && o->seq2seq) {
        res->test_bleu = metric_at(t, "bleu", 0, 100);
        res->test_chrf = metric_at(t, "chrf", 0, 100);
    } else if (cJSON_IsObject(t) && o->span) {
        res->test_exact_match = metric_at(t, "exact_match", 0, 100);
        res->test_f1 = metric_at(t, "f1", 0, 100);
    } else if (cJSON_IsObject(t)) {
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
