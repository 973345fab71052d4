/* squad_answers.c: from a model's start and end logits over every window
 * to one answer text per question, as Hugging Face's QA post-processing
 * (utils_qa.postprocess_qa_predictions, SQuAD v1.1): in each window the
 * n_best highest start and end logits, every pair (s, e) of context tokens
 * with s <= e and e - s + 1 <= max_answer_len scored start[s] + end[e];
 * the question's answer is the best-scoring pair over all of its windows,
 * cut from the context by the tokens' byte offsets ("" when no pair is
 * valid). */
#include <stdlib.h>
#include <string.h>

#include "pifi/squad_features.h"

/* The indices of the k largest of v[0..T), largest first (an equal value
 * keeps the lower index first); how many (min(k, T)). */
static int top_k(const float *v, int T, int k, int *idx) {
    int n = 0;
    for (int t = 0; t < T; t++) {
        if (n == k && !(v[t] > v[idx[k - 1]])) continue; /* not among the k largest so far */
        int pos = n < k ? n++ : k - 1;                   /* a free slot, or the smallest's */
        for (; pos > 0 && v[t] > v[idx[pos - 1]]; pos--) idx[pos] = idx[pos - 1];
        idx[pos] = t;
    }
    return n;
}

int squad_answers(const SquadData *d, const SquadFeatures *f, const float *start, const float *end, int n_best,
                  int max_answer_len, char **texts, float *scores, PifiErr *err) {
    if (n_best < 1 || max_answer_len < 1)
        return pifi_errf(err, "squad answers: n_best and max_answer_len must be >= 1");
    int *si = malloc((size_t)n_best * sizeof *si), *ei = malloc((size_t)n_best * sizeof *ei);
    int64_t *b0 = malloc((size_t)d->n * sizeof *b0), *b1 = malloc((size_t)d->n * sizeof *b1);
    if (!si || !ei || !b0 || !b1) {
        free(si), free(ei), free(b0), free(b1);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    }
    for (int q = 0; q < d->n; q++) b0[q] = b1[q] = -1, scores[q] = 0, texts[q] = NULL;
    const int T = f->T;
    for (int w = 0; w < f->n; w++) {
        const int q = f->question[w];
        const float *s = start + (size_t)w * T, *e = end + (size_t)w * T;
        const int32_t *of = f->offsets + (size_t)w * T * 2;
        int ns = top_k(s, T, n_best, si), ne = top_k(e, T, n_best, ei);
        for (int a = 0; a < ns; a++)
            for (int b = 0; b < ne; b++) {
                int ts = si[a], te = ei[b];
                if (of[2 * ts] < 0 || of[2 * te] < 0 || te < ts || te - ts + 1 > max_answer_len) continue;
                float sc = s[ts] + e[te];
                if (b0[q] < 0 || sc > scores[q]) scores[q] = sc, b0[q] = of[2 * ts], b1[q] = of[2 * te + 1];
            }
    }
    int rc = 0;
    for (int q = 0; q < d->n && rc == 0; q++) {
        const char *ctx = d->contexts[d->q[q].context];
        size_t len = b0[q] >= 0 ? (size_t)(b1[q] - b0[q]) : 0;
        if (!(texts[q] = malloc(len + 1))) {
            rc = pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
            break;
        }
        if (len) memcpy(texts[q], ctx + b0[q], len);
        texts[q][len] = '\0';
    }
    if (rc)
        for (int q = 0; q < d->n; q++) free(texts[q]), texts[q] = NULL;
    free(si), free(ei), free(b0), free(b1);
    return rc;
}
