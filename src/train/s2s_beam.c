/* s2s_beam.c: beam search as transformers' generate() runs it (5.x, the
 * vectorised _beam_search), so that its outputs are token-identical:
 *
 * per source, K running beams (scores 0, -1e9, ...) and K finished slots
 * (scores -1e9); each step takes the log-softmax of every running beam's
 * next-token logits (float32), bans what no_repeat_ngram_size and
 * min_new_tokens ban (-inf), adds the beam's score and keeps the 2K best
 * (beam, token) continuations over all beams; a continuation that ends in
 * the end-of-sequence token or reaches max_new_tokens "hits a stopping
 * criterion"; the K best that do not continue as the running beams (a hit
 * gets -1e9); those of the first K that hit are offered to the finished
 * slots with score / (generated length ^ length_penalty), unless the slots
 * are full and early_stopping is true, or the early-stop heuristic says no
 * improvement is possible; the K best of slots and offers stay. The loop
 * ends when no source can improve, or (early_stopping true) every slot of
 * every source is full, or every continuation hit a stopping criterion;
 * the first slot is the answer. As there, the loop runs for the whole
 * batch, and a finished source only keeps its slots.
 *
 * The decoder runs incrementally (seq2seq_decode_step: one position per
 * beam, the keys and values of the prefix cached); after each step the
 * cache's rows follow the beams they continue (seq2seq_decode_reorder), as
 * generate() reorders its cache. */
#include "train/s2s_beam.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"
#include "train/s2s_train.h"

#define NEG 1.0e9f

typedef struct {
    float score;
    int beam, tok;
} Cand;

/* The 2K best of K * V accumulated scores, best first (k <= K * V). */
static void top_k(const float *acc, int K, int V, Cand *out, int k) {
    int n = 0;
    for (int b = 0; b < K; b++)
        for (int v = 0; v < V; v++) {
            float s = acc[(size_t)b * V + v];
            if (n == k && !(s > out[k - 1].score)) continue;
            int j = n < k ? n++ : k - 1;
            while (j > 0 && s > out[j - 1].score) out[j] = out[j - 1], j--;
            out[j] = (Cand){s, b, v};
        }
}

/* log_softmax of z (V) into lp, in float32 as torch returns it. */
static void log_softmax(const float *z, int V, float *lp) {
    double mx = z[0], s = 0;
    for (int v = 1; v < V; v++)
        if (z[v] > mx) mx = z[v];
    for (int v = 0; v < V; v++) s += exp((double)z[v] - mx);
    double ls = log(s) + mx;
    for (int v = 0; v < V; v++) lp[v] = (float)((double)z[v] - ls);
}

/* NoRepeatNGramLogitsProcessor on one hypothesis seq[0..len): every token
 * that would repeat an n-gram of it gets -inf. */
static void ban_ngrams(const int32_t *seq, int len, int n, float *lp) {
    if (n < 1 || len + 1 < n) return;
    for (int s = 0; s + n <= len; s++) {
        int same = 1;
        for (int j = 0; same && j < n - 1; j++) same = seq[s + j] == seq[len - n + 1 + j];
        if (same) lp[seq[s + n - 1]] = -INFINITY;
    }
}

int s2s_beam(Seq2Seq *m, S2SPlug *plug, const int32_t *src, const int32_t *mask, int B, int Ts,
             const S2SBeamOpts *o, int32_t *out, int *out_len, PifiErr *err) {
    const Seq2SeqConfig *c = seq2seq_config(m);
    const int K = o->num_beams, K2 = 2 * o->num_beams, V = c->V, L = 1 + o->max_new_tokens;
    if (K < 1 || o->max_new_tokens < 1 || o->min_new_tokens < 0 || o->no_repeat_ngram_size < 0)
        return pifi_errf(err, "beam search: num_beams and max_new_tokens must be >= 1, min_new_tokens and "
                              "no_repeat_ngram_size >= 0 (got %d, %d, %d, %d)",
                         K, o->max_new_tokens, o->min_new_tokens, o->no_repeat_ngram_size);
    if ((int64_t)K * V < K2) return pifi_errf(err, "beam search: %d beams need a vocabulary of at least 2", K);
    size_t BK = (size_t)B * K;
    int32_t *run = pifi_malloc(BK * L * sizeof *run, err), *fin = pifi_malloc(BK * L * sizeof *fin, err);
    int32_t *cseq = pifi_malloc((size_t)B * K2 * L * sizeof *cseq, err), *tok = pifi_malloc(BK * sizeof *tok, err);
    float *rs = pifi_malloc(BK * sizeof *rs, err), *fs = pifi_malloc(BK * sizeof *fs, err);
    float *acc = pifi_malloc((size_t)K * V * sizeof *acc, err);
    int *ff = pifi_calloc(BK, sizeof *ff, err), *flen = pifi_calloc(BK, sizeof *flen, err);
    int *from = pifi_malloc(BK * sizeof *from, err); /* the row each running beam continues */
    int *unsat = pifi_malloc((size_t)B * sizeof *unsat, err), *hit = pifi_malloc((size_t)B * K2 * sizeof *hit, err);
    Cand *cand = pifi_malloc((size_t)B * K2 * sizeof *cand, err);
    /* per-source scratch: the offers and the next running scores (2K), the merged slots (K) */
    float *offer = pifi_malloc((size_t)K2 * sizeof *offer, err), *rsc = pifi_malloc((size_t)K2 * sizeof *rsc, err);
    float *nf_s = pifi_malloc((size_t)K * sizeof *nf_s, err);
    int32_t *nf_seq = pifi_malloc((size_t)K * L * sizeof *nf_seq, err);
    int *nf_f = pifi_malloc((size_t)K * sizeof *nf_f, err), *nf_len = pifi_malloc((size_t)K * sizeof *nf_len, err);
    int *taken_s = pifi_malloc((size_t)K * sizeof *taken_s, err), *taken = pifi_malloc((size_t)K2 * sizeof *taken, err);
    int rc = -1;
    if (!run || !fin || !cseq || !tok || !rs || !fs || !acc || !ff || !flen || !from || !unsat || !hit ||
        !cand || !offer || !rsc || !nf_s || !nf_seq || !nf_f || !nf_len || !taken_s || !taken)
        goto done;
    const float *enc;
    if (s2s_memory(m, plug, src, mask, B, Ts, &enc, err)) goto done;
    for (int b = 0; b < B; b++) {
        unsat[b] = 1;
        for (int k = 0; k < K; k++) {
            size_t r = (size_t)b * K + k;
            run[r * L] = fin[r * L] = c->decoder_start_id;
            rs[r] = k ? -NEG : 0.0f, fs[r] = -NEG, flen[r] = 0;
        }
    }
    /* at most max_new_tokens steps: at cur = L - 1 every continuation reaches the length */
    if (seq2seq_decode_start(m, enc, mask, B, Ts, K, o->max_new_tokens, err)) goto done; /* K rows per source */
    for (int cur = 1;; cur++) { /* cur: the running sequences' length */
        for (size_t r = 0; r < BK; r++) tok[r] = run[r * L + cur - 1];
        const float *logits;
        if (seq2seq_decode_step(m, tok, &logits, err)) goto done;
        int all_hit = 1, any_unsat = 0, all_full = 1;
        for (int b = 0; b < B; b++) {
            for (int k = 0; k < K; k++) {
                size_t r = (size_t)b * K + k;
                float *lp = acc + (size_t)k * V;
                log_softmax(logits + r * V, V, lp);
                ban_ngrams(run + r * L, cur, o->no_repeat_ngram_size, lp);
                if (cur - 1 < o->min_new_tokens) lp[c->eos_id] = -INFINITY;
                for (int v = 0; v < V; v++) lp[v] += rs[r];
            }
            Cand *cd = cand + (size_t)b * K2;
            int *h = hit + (size_t)b * K2;
            top_k(acc, K, V, cd, K2);
            for (int j = 0; j < K2; j++) { /* the continuations: a beam's sequence + the token */
                int32_t *s = cseq + ((size_t)b * K2 + j) * L;
                memcpy(s, run + ((size_t)b * K + cd[j].beam) * L, (size_t)cur * sizeof *s);
                s[cur] = cd[j].tok;
                h[j] = cur + 1 >= L || cd[j].tok == c->eos_id;
                all_hit &= h[j];
            }
            /* offers to the finished slots: the first K that hit, length-penalised */
            int full = 1;
            for (int k = 0; k < K; k++) full &= ff[(size_t)b * K + k];
            float pen = (float)pow((double)cur, (double)o->length_penalty); /* torch: a Python float, cast */
            for (int j = 0; j < K2; j++) {
                float sc = cd[j].score / pen;
                if (full && o->early_stopping == 1) sc += -NEG;
                if (!unsat[b]) sc += -NEG;
                if (!(h[j] && j < K)) sc += -NEG;
                offer[j] = sc;
            }
            /* the K best of the slots (first) and the offers: stable, as torch.topk keeps ties in order here */
            memset(taken_s, 0, (size_t)K * sizeof *taken_s);
            memset(taken, 0, (size_t)K2 * sizeof *taken);
            for (int k = 0; k < K; k++) {
                int best_s = -1, best_o = -1;
                float bv = -INFINITY;
                for (int i = 0; i < K; i++)
                    if (!taken_s[i] && (best_s < 0 || fs[(size_t)b * K + i] > bv)) best_s = i, bv = fs[(size_t)b * K + i];
                for (int j = 0; j < K2; j++)
                    if (!taken[j] && offer[j] > bv) best_o = j, bv = offer[j];
                size_t dst = (size_t)k;
                if (best_o >= 0) {
                    taken[best_o] = 1;
                    memcpy(nf_seq + dst * L, cseq + ((size_t)b * K2 + best_o) * L, (size_t)(cur + 1) * sizeof *nf_seq);
                    nf_s[dst] = offer[best_o], nf_f[dst] = h[best_o] && best_o < K, nf_len[dst] = cur + 1;
                } else {
                    taken_s[best_s] = 1;
                    size_t r = (size_t)b * K + best_s;
                    memcpy(nf_seq + dst * L, fin + r * L, (size_t)(flen[r] + 1) * sizeof *nf_seq);
                    nf_s[dst] = fs[r], nf_f[dst] = ff[r], nf_len[dst] = flen[r] + 1;
                }
            }
            for (int k = 0; k < K; k++) {
                size_t r = (size_t)b * K + k;
                memcpy(fin + r * L, nf_seq + (size_t)k * L, (size_t)nf_len[k] * sizeof *fin);
                fs[r] = nf_s[k], ff[r] = nf_f[k], flen[r] = nf_len[k] - 1;
            }
            /* the next running beams: the K best continuations, a hit at -1e9 */
            memset(taken, 0, (size_t)K2 * sizeof *taken);
            for (int j = 0; j < K2; j++) rsc[j] = cd[j].score + (h[j] ? -NEG : 0.0f);
            for (int k = 0; k < K; k++) {
                int best = -1;
                for (int j = 0; j < K2; j++)
                    if (!taken[j] && (best < 0 || rsc[j] > rsc[best])) best = j;
                taken[best] = 1;
                size_t r = (size_t)b * K + k;
                memcpy(run + r * L, cseq + ((size_t)b * K2 + best) * L, (size_t)(cur + 1) * sizeof *run);
                rs[r] = rsc[best];
                from[r] = b * K + cd[best].beam;
            }
            /* the early-stop heuristic, after cur + 1 */
            int best_len = o->early_stopping == 2 && o->length_penalty > 0 ? L - 1 : cur;
            float best_possible = rs[(size_t)b * K] / (float)pow((double)best_len, (double)o->length_penalty);
            float worst = INFINITY;
            for (int k = 0; k < K; k++)
                if (fs[(size_t)b * K + k] < worst) worst = fs[(size_t)b * K + k];
            int can = 0;
            for (int k = 0; k < K; k++) can |= best_possible > (ff[(size_t)b * K + k] ? worst : -NEG);
            unsat[b] &= can;
            any_unsat |= unsat[b];
            for (int k = 0; k < K; k++) all_full &= ff[(size_t)b * K + k];
        }
        if (!any_unsat || (all_full && o->early_stopping == 1) || all_hit) break;
        if (seq2seq_decode_reorder(m, from, err)) goto done;
    }
    for (int b = 0; b < B; b++) { /* the first slot, without the start token and the end */
        size_t r = (size_t)b * K;
        int n = flen[r];
        if (n > 0 && fin[r * L + n] == c->eos_id) n--;
        memcpy(out + (size_t)b * o->max_new_tokens, fin + r * L + 1, (size_t)n * sizeof *out);
        out_len[b] = n;
    }
    rc = 0;
done:
    free(run), free(fin), free(cseq), free(tok), free(rs), free(fs), free(acc), free(ff), free(flen), free(from);
    free(unsat), free(hit), free(cand), free(offer), free(rsc), free(nf_s), free(nf_seq), free(nf_f), free(nf_len);
    free(taken_s), free(taken);
    return rc;
}
