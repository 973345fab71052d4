/* api_answer.c: include/pifi.h's extractive question answering: a QA run's
 * answers to the questions of a SQuAD-form file (pifi_answer), through the
 * evaluation path of training (tokdata_build_qa, qa_evaluate). */
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "train/qa_eval.h"

struct pifi_answers {
    PifiDataset ds;   /* the questions (ds.squad) */
    char **texts;     /* (n) */
    float *scores;    /* (n) */
};

int pifi_run_is_qa(const pifi_run *run) { return run->rm.opts.span != 0; }

pifi_status pifi_answer(pifi_run *run, const char *path, int skip_bad, int batch, pifi_answers **out,
                        pifi_error *err) {
    PifiErr e = {0};
    *out = NULL;
    if (!run->rm.opts.span) {
        pifi_errf(&e, "the run is a classifier (pifi_predict): it does not answer questions");
        return api_fail(&e, err);
    }
    if (batch <= 0) batch = 64;
    pifi_answers *a = pifi_calloc(1, sizeof *a, &e);
    TokData td;
    int have_td = 0, rc = -1;
    if (!a || !(a->ds.squad = pifi_calloc(1, sizeof *a->ds.squad, &e))) goto out;
    if (squad_load(a->ds.squad, path, skip_bad, &e)) goto out;
    a->ds.n = a->ds.squad->n;
    int n = a->ds.squad->n;
    a->texts = pifi_calloc((size_t)n, sizeof *a->texts, &e);
    a->scores = pifi_calloc((size_t)n, sizeof *a->scores, &e);
    if (!a->texts || !a->scores) goto out;
    const TrainOpts *o = &run->rm.opts;
    if (tokdata_build_qa(&td, run->rm.tk, &a->ds, o->max_len, o->doc_stride, &e)) goto out;
    have_td = 1;
    QaScore qs;
    rc = qa_evaluate(&run->rm.model, &td, batch, o->max_answer_len, &qs, a->texts, a->scores, &e);
out:
    if (have_td) tokdata_free(&td);
    if (rc) {
        pifi_answers_free(a);
        return api_fail(&e, err);
    }
    *out = a;
    return PIFI_OK;
}

void pifi_answers_free(pifi_answers *a) {
    if (!a) return;
    for (int64_t i = 0; a->texts && i < a->ds.n; i++) free(a->texts[i]);
    free(a->texts);
    free(a->scores);
    dataset_free(&a->ds);
    free(a);
}

long long pifi_answers_count(const pifi_answers *a) { return a->ds.n; }

static int in_range(const pifi_answers *a, long long i) { return i >= 0 && i < a->ds.n; }

const char *pifi_answers_id(const pifi_answers *a, long long i) {
    return in_range(a, i) ? a->ds.squad->q[i].id : NULL;
}
const char *pifi_answers_question(const pifi_answers *a, long long i) {
    return in_range(a, i) ? a->ds.squad->q[i].question : NULL;
}
const char *pifi_answers_text(const pifi_answers *a, long long i) { return in_range(a, i) ? a->texts[i] : NULL; }
double pifi_answers_score(const pifi_answers *a, long long i) { return in_range(a, i) ? a->scores[i] : 0.0; }
