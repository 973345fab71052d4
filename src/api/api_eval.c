/* api_eval.c: include/pifi.h's evaluation: the data named (or the run's
 * own), loaded with the run's classes, tokenized, and the whole split run
 * through the model into one confusion matrix. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/log.h"
#include "data/data_spec.h"
#include "pifi/metrics.h"
#include "train/tokdata.h"
#include "train/qa_eval.h"
#include "train/trainer.h"

struct pifi_eval {
    char task[64];    /* "" for a file */
    char source[4096];
    char note[512];
    double loss;
    PifiConfusion cm;
    int qa;           /* a QA run on QA data: qs, not cm */
    QaScore qs;
};

/* The data's description: the caller's, or the run's own. */
static int eval_desc(const pifi_run *run, const pifi_data *d, pifi_split split, cJSON **desc, PifiErr *err) {
    const cJSON *rdata = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(run->rm.cfg, "pifi"), "data");
    if (!d || (!d->task && !d->train && !d->valid && !d->test)) {
        *desc = rdata ? cJSON_Duplicate(rdata, 1) : NULL;
        return *desc ? 0 : pifi_errf(err, "the run records no data; give a task or a file");
    }
    if (!d->task && (d->train || d->valid || (split != PIFI_TEST && d->test)))
        return pifi_errf(err, "evaluating on files: give the file as test (the split applies to a task)");
    const cJSON *own = cJSON_GetObjectItemCaseSensitive(rdata, "data_dir");
    DataSpec s = {0};
    s.task = d->task ? d->task : run->rm.opts.span ? "squad" : NULL; /* a QA run's file: SQuAD's form */
    s.data_dir = d->data_dir;
    s.test = d->test;
    s.text_col = d->text_col;
    s.pair_col = d->pair_col;
    s.label_col = d->label_col;
    s.skip_bad_rows = d->skip_bad_rows;
    s.run_data_dir = cJSON_IsString(own) ? own->valuestring : NULL;
    return data_spec_json(&s, desc, err);
}

typedef struct {
    const pifi_callbacks *cb;
    pifi_progress p;
    int batch;
    double t0, last_sum;
    long long last_done;
} EvalTell;

static void eval_tell(void *ctx, int64_t done, int64_t total, double loss_sum) {
    EvalTell *t = ctx;
    pifi_progress *p = &t->p;
    p->done = done, p->total = total;
    p->step = (done + t->batch - 1) / t->batch;
    p->steps = (total + t->batch - 1) / t->batch;
    p->loss_mean = done ? loss_sum / (double)done : 0.0;
    p->loss_last = done > t->last_done ? (loss_sum - t->last_sum) / (double)(done - t->last_done) : p->loss_mean;
    p->elapsed_s = pifi_now() - t->t0;
    p->examples_per_s = p->elapsed_s > 0 ? (double)done / p->elapsed_s : 0.0;
    t->last_done = done, t->last_sum = loss_sum;
    t->cb->progress(p, t->cb->user);
}

pifi_status pifi_evaluate(pifi_run *run, const pifi_data *data, pifi_split split, int batch,
                          const pifi_callbacks *cb, pifi_eval **out, pifi_error *err) {
    PifiErr e = {0};
    *out = NULL;
    if (batch <= 0) batch = 64;
    if ((unsigned)split > PIFI_TEST) {
        pifi_errf(&e, "split %d is not one of pifi_split's values", (int)split);
        return api_fail(&e, err);
    }
    cJSON *desc = NULL;
    LoadedData ld;
    TokData td;
    int have_ld = 0, have_td = 0, rc = -1;
    pifi_eval *ev = pifi_calloc(1, sizeof *ev, &e);
    if (!ev || eval_desc(run, data, split, &desc, &e)) goto out;
    if (data_load(desc, PIFI_SPLIT_BIT(split), run->rm.label_names, run->rm.K, &ld, &e)) goto out;
    have_ld = 1;
    if (!ld.have[split]) {
        pifi_errf(&e, "the data has no %s split%s%s", split_name((PifiSplit)split), ld.is_task ? ": " : "",
                  ld.is_task ? ld.ts.why_missing[split] : "");
        goto out;
    }
    PifiDataset *ds = &ld.split[split];
    if (ds->num_classes != run->rm.K) {
        pifi_errf(&e, "the data has %d classes but the run was trained on %d", ds->num_classes, run->rm.K);
        goto out;
    }
    if ((ds->squad != NULL) != (run->rm.opts.span != 0)) {
        pifi_errf(&e, ds->squad ? "the run is a classifier; the data are questions to answer"
                                : "the run answers questions; the data are not questions (a QA task, or a SQuAD file)");
        goto out;
    }
    if (ds->squad) { /* extractive QA: SQuAD v1.1's EM and F1 */
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(desc, "task"),
                    *file = cJSON_GetObjectItemCaseSensitive(desc, split_name((PifiSplit)split));
        snprintf(ev->task, sizeof ev->task, "%s", cJSON_IsString(t) && !cJSON_IsString(file) ? t->valuestring : "");
        snprintf(ev->source, sizeof ev->source, "%s", cJSON_IsString(file) ? file->valuestring
                                                      : cJSON_IsString(t) ? t->valuestring : "?");
        if (tokdata_build_qa(&td, run->rm.tk, ds, run->rm.opts.max_len, run->rm.opts.doc_stride, &e)) goto out;
        have_td = 1;
        ev->qa = 1;
        rc = qa_evaluate(&run->rm.model, &td, batch, run->rm.opts.max_answer_len, &ev->qs, NULL, NULL, &e);
        ev->loss = ev->qs.loss;
        goto out;
    }
    if (ld.is_task) {
        snprintf(ev->task, sizeof ev->task, "%s", ld.ts.info->name);
        snprintf(ev->source, sizeof ev->source, "%s", ld.ts.info->name);
        snprintf(ev->note, sizeof ev->note, "%s", ld.ts.label_note);
    } else {
        const cJSON *file = cJSON_GetObjectItemCaseSensitive(desc, split_name((PifiSplit)split));
        snprintf(ev->source, sizeof ev->source, "%s", cJSON_IsString(file) ? file->valuestring : "?");
    }
    if (tokdata_build(&td, run->rm.tk, ds, run->rm.opts.max_len, &e)) goto out;
    have_td = 1;
    if (ev->note[0] && cb && cb->log) {
        char line[600];
        snprintf(line, sizeof line, "note: %s", ev->note);
        cb->log(line, cb->user);
    }
    int tells = cb && cb->progress;
    EvalTell tell = {cb, {0}, batch, pifi_now(), 0, 0};
    char phase[128];
    const char *base = strrchr(ev->source, '/');
    if (ev->task[0]) snprintf(phase, sizeof phase, "eval %.40s %s", ev->task, split_name((PifiSplit)split));
    else snprintf(phase, sizeof phase, "eval %.40s", base ? base + 1 : ev->source);
    tell.p.phase = phase;
    tell.p.total = td.n;
    tell.p.steps = (td.n + batch - 1) / batch;
    if (tells) cb->progress(&tell.p, cb->user); /* step 0: the start */
    if (confusion_init(&ev->cm, run->rm.K, &e)) goto out;
    rc = trainer_evaluate_progress(&run->rm.model, &td, batch, &ev->cm, NULL, &ev->loss, run->rm.opts.label_smoothing,
                                   tells ? eval_tell : NULL, &tell, &e);
out:
    if (have_td) tokdata_free(&td);
    if (have_ld) data_free(&ld);
    cJSON_Delete(desc);
    if (rc) {
        pifi_eval_free(ev);
        return api_fail(&e, err);
    }
    *out = ev;
    return PIFI_OK;
}

void pifi_eval_free(pifi_eval *e) {
    if (!e) return;
    confusion_free(&e->cm);
    free(e);
}

const char *pifi_eval_task(const pifi_eval *e) { return e->task[0] ? e->task : NULL; }
const char *pifi_eval_source(const pifi_eval *e) { return e->source; }
const char *pifi_eval_note(const pifi_eval *e) { return e->note; }
long long pifi_eval_count(const pifi_eval *e) { return e->qa ? (long long)e->qs.questions : (long long)e->cm.n; }
double pifi_eval_exact_match(const pifi_eval *e) { return e->qa ? e->qs.exact_match : -1; }
double pifi_eval_f1(const pifi_eval *e) { return e->qa ? e->qs.f1 : -1; }
double pifi_eval_loss(const pifi_eval *e) { return e->loss; }
double pifi_eval_accuracy(const pifi_eval *e) { return metric_accuracy(&e->cm); }
double pifi_eval_macro_f1(const pifi_eval *e) { return metric_macro_f1(&e->cm); }
double pifi_eval_mcc(const pifi_eval *e) { return metric_mcc(&e->cm); }

pifi_class_scores pifi_eval_class(const pifi_eval *e, int k) {
    pifi_class_scores out = {0, 0, 0, 0};
    if (k < 0 || k >= e->cm.num_classes) return out;
    PifiClassScores s = metric_class(&e->cm, k);
    out.precision = s.precision, out.recall = s.recall, out.f1 = s.f1, out.support = (long long)s.support;
    return out;
}

long long pifi_eval_confusion(const pifi_eval *e, int t, int p) {
    if (t < 0 || p < 0 || t >= e->cm.num_classes || p >= e->cm.num_classes) return 0;
    return (long long)e->cm.counts[t * e->cm.num_classes + p];
}
