/* api_run_outputs.c: include/pifi.h's other outputs of a trained run, for a
 * server: the logits beside pifi_predict's probabilities, the SLM's pooled
 * vector (pifi_run_embed), and what truncation does to an input (its token
 * count, the run's maximum length). The forward pass is pifi_predict's:
 * chunks of the run's batch, each one forward pass over its inputs in
 * order of length, the softmax of the training loss; so the probabilities
 * are pifi_predict's, bit for bit. */
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "train/loss.h"
#include "train/tokdata.h"

int pifi_run_max_length(const pifi_run *run) { return run->rm.opts.max_len; }

int pifi_run_embed_dim(const pifi_run *run) { return run->rm.model.C; }

pifi_status pifi_run_count_tokens(pifi_run *run, const char *text, const char *pair, int *n_tokens, pifi_error *err) {
    PifiErr e = {0};
    *n_tokens = 0;
    if (!text) {
        pifi_errf(&e, "pifi_run_count_tokens: text is NULL");
        return api_fail(&e, err);
    }
    PifiEncodeOpts eo = pifi_encode_opts_default(); /* the specials, no truncation */
    PifiEncoding enc = {0};
    if (tokenizer_encode(run->rm.tk, text, pair, &eo, &enc, &e)) {
        encoding_free(&enc);
        return api_fail(&e, err);
    }
    *n_tokens = enc.n;
    encoding_free(&enc);
    return PIFI_OK;
}

/* (length, index) pairs by length, then index: trainer_evaluate's order */
static int by_length(const void *a, const void *b) {
    const int64_t *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

/* One forward pass over n <= run->batch inputs: probs and logits (n, K),
 * pooled (n, C), each NULL or filled in the inputs' order. */
static int forward_chunk(pifi_run *run, int n, const char *const *texts, const char *const *pairs, float *probs,
                         float *logits, float *pooled, PifiErr *err) {
    PifiModel *m = &run->rm.model;
    const int K = m->K, C = m->C;
    PifiDataset ds = {0};
    ds.n = n;
    ds.text = (char **)texts; /* read only */
    ds.text_pair = (char **)pairs;
    TokData td;
    if (tokdata_build(&td, run->rm.tk, &ds, run->rm.opts.max_len, err)) return -1;
    Batch b = {0};
    int64_t *order = malloc((size_t)n * 2 * sizeof *order), *idx = malloc((size_t)n * sizeof *idx);
    float *p = malloc((size_t)n * K * sizeof *p);
    int rc = -1;
    if (!order || !idx || !p) {
        pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) order[2 * i] = td.len[i], order[2 * i + 1] = i;
    qsort(order, (size_t)n, 2 * sizeof *order, by_length);
    for (int i = 0; i < n; i++) idx[i] = order[2 * i + 1];
    pifi_model_set_train(m, 0, 0, 0);
    if (batch_fill(&b, &td, idx, n, err) || pifi_model_forward(m, b.ids, b.type_ids, b.mask, n, b.T, err)) goto done;
    crossentropy_forward_backward(m->acts.logits, b.labels, n, K, 0.0f, p, NULL);
    for (int i = 0; i < n; i++) {
        size_t to = (size_t)idx[i];
        if (probs) memcpy(probs + to * K, p + (size_t)i * K, (size_t)K * sizeof(float));
        if (logits) memcpy(logits + to * K, m->acts.logits + (size_t)i * K, (size_t)K * sizeof(float));
        if (pooled) memcpy(pooled + to * C, m->acts.pooled + (size_t)i * C, (size_t)C * sizeof(float));
    }
    rc = 0;
done:
    batch_free(&b);
    tokdata_free(&td);
    free(order);
    free(idx);
    free(p);
    return rc;
}

static pifi_status forward(pifi_run *run, const char *fn, int n, const char *const *texts, const char *const *pairs,
                           float *probs, float *logits, float *pooled, pifi_error *err) {
    PifiErr e = {0};
    const int K = run->rm.K, C = run->rm.model.C;
    if (run->rm.opts.span) {
        pifi_errf(&e, "%s: the run answers questions (pifi_answer), it has no classes or pooled vector", fn);
        return api_fail(&e, err);
    }
    if (n < 0 || (n > 0 && !texts)) {
        pifi_errf(&e, "%s: %s", fn, n < 0 ? "n is negative" : "texts must not be NULL");
        return api_fail(&e, err);
    }
    for (int i = 0; i < n; i++)
        if (!texts[i] || (pairs && !pairs[i])) {
            pifi_errf(&e, "%s: input %d is NULL", fn, i);
            return api_fail(&e, err);
        }
    for (int i0 = 0; i0 < n; i0 += run->batch) {
        int b = n - i0 < run->batch ? n - i0 : run->batch;
        if (forward_chunk(run, b, texts + i0, pairs ? pairs + i0 : NULL, probs ? probs + (size_t)i0 * K : NULL,
                          logits ? logits + (size_t)i0 * K : NULL, pooled ? pooled + (size_t)i0 * C : NULL, &e))
            return api_fail(&e, err);
    }
    return PIFI_OK;
}

pifi_status pifi_predict_logits(pifi_run *run, int n, const char *const *texts, const char *const *pairs, float *probs,
                                float *logits, pifi_error *err) {
    return forward(run, "pifi_predict_logits", n, texts, pairs, probs, logits, NULL, err);
}

pifi_status pifi_run_embed(pifi_run *run, int n, const char *const *texts, const char *const *pairs, float *out,
                           pifi_error *err) {
    if (n > 0 && !out) {
        PifiErr e = {0};
        pifi_errf(&e, "pifi_run_embed: out must not be NULL");
        return api_fail(&e, err);
    }
    return forward(run, "pifi_run_embed", n, texts, pairs, NULL, NULL, out, err);
}
