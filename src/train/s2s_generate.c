/* s2s_generate.c: decoding a split into texts, and scoring them (s2s_generate.h). */
#include "train/s2s_generate.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"
#include "pifi/mt_metrics.h"
#include "train/s2s_train.h"

void s2s_texts_free(char **texts, int64_t n) {
    for (int64_t i = 0; texts && i < n; i++) free(texts[i]);
    free(texts);
}

/* Greedy when nothing but one beam is asked for (transformers' greedy search). */
static int plain_greedy(const S2SBeamOpts *o) {
    return o->num_beams == 1 && o->no_repeat_ngram_size == 0 && o->min_new_tokens == 0;
}

int s2s_generate(Seq2Seq *m, S2SPlug *plug, const PifiTokenizer *tk, const S2SData *d, const S2SBeamOpts *o,
                 int batch, S2SGenProgress progress, void *user, char ***hyps, PifiErr *err) {
    const Seq2SeqConfig *c = seq2seq_config(m);
    *hyps = NULL;
    if (d->n > INT_MAX) return pifi_errf(err, "too many sources to decode (%lld)", (long long)d->n);
    char **out = pifi_calloc((size_t)d->n, sizeof *out, err);
    int64_t *idx = pifi_malloc((size_t)batch * sizeof *idx, err);
    int32_t *toks = pifi_malloc((size_t)batch * o->max_new_tokens * sizeof *toks, err);
    int *len = pifi_malloc((size_t)batch * sizeof *len, err);
    S2SBatch b = {0};
    int rc = out && idx && toks && len ? 0 : -1;
    seq2seq_set_train(m, 0, 0);
    for (int64_t s = 0; rc == 0 && s < d->n; s += batch) {
        int B = d->n - s < batch ? (int)(d->n - s) : batch;
        for (int r = 0; r < B; r++) idx[r] = s + r;
        rc = s2s_batch_fill(&b, d, idx, B, c->pad_id, c->decoder_start_id, err);
        if (rc == 0)
            rc = plain_greedy(o) ? s2s_greedy(m, plug, b.src, b.src_mask, B, b.Ts, o->max_new_tokens, toks, len, err)
                                 : s2s_beam(m, plug, b.src, b.src_mask, B, b.Ts, o, toks, len, err);
        for (int r = 0; rc == 0 && r < B; r++)
            rc = tokenizer_decode(tk, toks + (size_t)r * o->max_new_tokens, len[r], 1, &out[s + r], err);
        if (rc == 0 && progress) progress(s + B, d->n, user);
    }
    s2s_batch_free(&b);
    free(idx), free(toks), free(len);
    if (rc) {
        s2s_texts_free(out, d->n);
        return -1;
    }
    *hyps = out;
    return 0;
}

int s2s_score(char *const *hyps, char *const *refs, int64_t n, S2SScores *out, PifiErr *err) {
    memset(out, 0, sizeof *out);
    if (n > INT_MAX) return pifi_errf(err, "too many segments to score (%lld)", (long long)n);
    const char *const *r[1] = {(const char *const *)refs};
    BleuScore bl;
    ChrfScore ch;
    if (bleu_corpus((const char *const *)hyps, (int)n, r, 1, &bl, err) ||
        chrf_corpus((const char *const *)hyps, (int)n, r, 1, &ch, err))
        return -1;
    out->bleu = bl.score, out->chrf = ch.score, out->bleu_bp = bl.bp;
    memcpy(out->bleu_precisions, bl.precisions, sizeof out->bleu_precisions);
    return 0;
}
