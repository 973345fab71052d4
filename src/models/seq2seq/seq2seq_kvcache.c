/* seq2seq_kvcache.c: incremental decoding's family-neutral half
 * (pifi/seq2seq.h): the cache (Seq2SeqKV, seq2seq_family.h) reserved and
 * freed, the checks every family shares, beam search's reorder of the
 * rows' cached keys and values, and the entry points that pass start and step through the
 * model's family table. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "models/seq2seq/seq2seq_family.h"
#include "pifi/fileio.h"

/* ------------------------------------------------------------------------ */
/* the cache */

/* *p holds at least n floats (*cap of them). */
static int grow(float **p, size_t *cap, size_t n, PifiErr *err) {
    if (n <= *cap) return 0;
    free(*p);
    *cap = 0;
    if (!(*p = pifi_malloc(n * sizeof **p, err))) return -1;
    *cap = n;
    return 0;
}

int seq2seq_kv_reserve(Seq2SeqKV *kv, int S, int Ts, int K, int cap, int L, int I, size_t work,
                       const int32_t *mask, PifiErr *err) {
    kv->live = 0;
    int B = S * K;
    size_t self = (size_t)L * B * cap * I, cross = (size_t)L * S * Ts * I, nm = (size_t)S * Ts;
    if (grow(&kv->sbuf[0], &kv->sbuf_n[0], 2 * self, err) || /* sbuf[1]: at the first reorder */
        grow(&kv->cross, &kv->cross_n, 2 * cross, err) || grow(&kv->work, &kv->work_n, work, err))
        return -1;
    if (nm > kv->mask_n) {
        free(kv->mask);
        kv->mask_n = 0;
        if (!(kv->mask = pifi_malloc(nm * sizeof *kv->mask, err))) return -1;
        kv->mask_n = nm;
    }
    kv->S = S, kv->K = K, kv->B = B, kv->Ts = Ts, kv->cap = cap, kv->L = L, kv->I = I, kv->t = 0, kv->cur = 0;
    kv->k = kv->sbuf[0], kv->v = kv->sbuf[0] + self, kv->ck = kv->cross, kv->cv = kv->cross + cross;
    for (size_t i = 0; i < nm; i++) {
        int v = mask ? mask[i] : 1;
        if (v != 0 && v != 1)
            return pifi_errf(err, "decode_start: memory mask value %d at %zu; expected 0 or 1", v, i);
        kv->mask[i] = v;
    }
    return 0;
}

void seq2seq_kv_free(Seq2SeqKV *kv) {
    for (int i = 0; i < 2; i++) free(kv->sbuf[i]);
    free(kv->cross), free(kv->mask), free(kv->work);
    memset(kv, 0, sizeof *kv);
}

/* dst's row r = src's row rows[r] of a (L, B, T, I) tensor, the first n of
 * its T positions. */
static void gather_rows(float *dst, const float *src, const int *rows, int L, int B, int T, int n, int I) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int l = 0; l < L; l++)
        for (int r = 0; r < B; r++)
            memcpy(dst + (((size_t)l * B + r) * T) * I, src + (((size_t)l * B + rows[r]) * T) * I,
                   (size_t)n * I * sizeof(float));
}

int seq2seq_decode_reorder(Seq2Seq *m, const int *src_rows, PifiErr *err) {
    Seq2SeqKV *kv = &m->kv;
    if (!kv->live)
        return pifi_errf(err, "%s: decode_reorder: no decoding started (seq2seq_decode_start)", m->cfg.model_type);
    for (int r = 0; r < kv->B; r++)
        if (src_rows[r] < 0 || src_rows[r] >= kv->B || src_rows[r] / kv->K != r / kv->K)
            return pifi_errf(err, "%s: decode_reorder: row %d takes row %d, not a row of its source (%d .. %d)",
                             m->cfg.model_type, r, src_rows[r], r / kv->K * kv->K, r / kv->K * kv->K + kv->K - 1);
    int L = kv->L, B = kv->B, cap = kv->cap, I = kv->I, nxt = kv->cur ^ 1;
    size_t self = (size_t)L * B * cap * I;
    if (grow(&kv->sbuf[nxt], &kv->sbuf_n[nxt], 2 * self, err)) return -1;
    float *k = kv->sbuf[nxt], *v = kv->sbuf[nxt] + self;
    gather_rows(k, kv->k, src_rows, L, B, cap, kv->t, I);
    gather_rows(v, kv->v, src_rows, L, B, cap, kv->t, I);
    kv->k = k, kv->v = v, kv->cur = nxt;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* the entry points */

int seq2seq_decode_start(Seq2Seq *m, const float *memory, const int32_t *mem_mask, int S, int Ts, int K, int cap,
                         PifiErr *err) {
    m->kv.live = 0;
    if (m->train)
        return pifi_errf(err, "%s: incremental decoding runs in eval mode (seq2seq_set_train(m, 0, ...) first)",
                         m->cfg.model_type);
    if (S < 1 || Ts < 1 || K < 1 || cap < 1 || (int64_t)S * K > INT_MAX)
        return pifi_errf(err, "%s: decode_start: %d sources of %d memory tokens, %d rows each, room for %d "
                              "positions; expected all positive", m->cfg.model_type, S, Ts, K, cap);
    if (m->cfg.family->decode_start(m, memory, mem_mask, S, Ts, K, cap, err)) return -1;
    m->kv.live = 1;
    return 0;
}

int seq2seq_decode_step(Seq2Seq *m, const int32_t *tok, const float **logits, PifiErr *err) {
    Seq2SeqKV *kv = &m->kv;
    *logits = NULL;
    if (!kv->live)
        return pifi_errf(err, "%s: decode_step: no decoding started (seq2seq_decode_start)", m->cfg.model_type);
    if (kv->t >= kv->cap)
        return pifi_errf(err, "%s: decode_step: the cache holds %d positions, all fed", m->cfg.model_type, kv->cap);
    for (int r = 0; r < kv->B; r++)
        if (tok[r] < 0 || tok[r] >= m->cfg.V)
            return pifi_errf(err, "%s: decode_step: row %d's token is id %d, outside the vocabulary (0..%d)",
                             m->cfg.model_type, r, (int)tok[r], m->cfg.V - 1);
    kv->live = 0;
    if (m->cfg.family->decode_step(m, tok, logits, err)) return -1;
    kv->live = 1;
    kv->t++;
    return 0;
}
