/* qa_eval.c: evaluating a span model on a QA split (qa_eval.h): its
 * windows' start and end logits in batches sorted by length, the mean span
 * loss, one answer per question as Hugging Face's QA post-processing
 * (squad_answers), and the official SQuAD v1.1 exact match and F1
 * (squad_evaluate). */
#include "train/qa_eval.h"

#include <stdlib.h>
#include <string.h>

#define QA_N_BEST 20 /* HF run_qa.py's n_best_size */

static int by_length(const void *a, const void *b) {
    const int64_t *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

static const char *text_of(void *ctx, int i) { return ((char **)ctx)[i]; }

int qa_evaluate(PifiModel *m, const TokData *td, int eval_batch, int max_answer_len, QaScore *out, char **texts,
                float *scores, PifiErr *err) {
    const SquadFeatures *f = td->qa;
    if (!f || !td->squad) return pifi_errf(err, "internal: qa_evaluate of a split without questions");
    int nq = td->squad->n;
    size_t T = (size_t)f->T, n = (size_t)f->n;
    float *start = malloc((n ? n : 1) * T * sizeof *start), *end = malloc((n ? n : 1) * T * sizeof *end);
    int64_t *order = malloc((n ? n : 1) * 2 * sizeof *order), *idx = malloc((size_t)eval_batch * sizeof *idx);
    char **own = texts ? NULL : calloc((size_t)nq, sizeof *own);
    float *sc = scores ? NULL : malloc((size_t)nq * sizeof *sc);
    Batch b = {0};
    int rc = -1;
    double loss_sum = 0.0;
    if (!start || !end || !order || !idx || (!texts && !own) || (!scores && !sc)) {
        pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory evaluating %zu windows", n);
        goto done;
    }
    if (!texts) texts = own;
    if (!scores) scores = sc;
    for (size_t i = 0; i < n * T; i++) start[i] = end[i] = -1e30f; /* beyond a window's tokens */
    pifi_model_set_train(m, 0, 0, 0);
    for (size_t i = 0; i < n; i++) order[2 * i] = td->len[i], order[2 * i + 1] = (int64_t)i;
    qsort(order, n, 2 * sizeof *order, by_length);
    for (size_t s = 0; s < n; s += (size_t)eval_batch) {
        int B = (int)(n - s < (size_t)eval_batch ? n - s : (size_t)eval_batch);
        for (int i = 0; i < B; i++) idx[i] = order[2 * (s + i) + 1];
        double loss;
        if (batch_fill(&b, td, idx, B, err) || pifi_span_forward(m, b.ids, b.type_ids, b.mask, B, b.T, err) ||
            pifi_span_loss(m, b.start, b.end, &loss, NULL, err))
            goto done;
        loss_sum += loss * B;
        for (int i = 0; i < B; i++)
            for (int t = 0; t < b.T; t++) {
                start[(size_t)idx[i] * T + t] = m->span.logits[((size_t)i * b.T + t) * 2];
                end[(size_t)idx[i] * T + t] = m->span.logits[((size_t)i * b.T + t) * 2 + 1];
            }
    }
    if (squad_answers(td->squad, f, start, end, QA_N_BEST, max_answer_len, texts, scores, err)) goto done;
    SquadScore ss;
    if (squad_evaluate(td->squad, text_of, texts, &ss, err)) goto done;
    *out = (QaScore){ss.exact_match, ss.f1, n ? loss_sum / (double)n : 0.0, nq, (int64_t)n};
    rc = 0;
done:
    for (int i = 0; own && i < nq; i++) free(own[i]);
    free(own), free(sc), free(start), free(end), free(order), free(idx);
    batch_free(&b);
    return rc;
}
