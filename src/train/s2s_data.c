/* s2s_data.c: generation data tokenized once, teacher-forcing batches
 * (s2s_data.h). */
#include "train/s2s_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"

void s2s_data_free(S2SData *d) {
    free(d->src_len), free(d->tgt_len), free(d->src_off), free(d->tgt_off), free(d->src), free(d->tgt);
    memset(d, 0, sizeof *d);
}

/* Append enc's ids to *ids (capacity *cap, used *used). */
static int append(int32_t **ids, int64_t *cap, int64_t *used, const PifiEncoding *enc, PifiErr *err) {
    if (*used + enc->n > *cap) {
        int64_t c = *cap ? *cap : 1 << 16;
        while (c < *used + enc->n) c *= 2;
        int32_t *p = realloc(*ids, (size_t)c * sizeof *p);
        if (!p) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        *ids = p, *cap = c;
    }
    memcpy(*ids + *used, enc->ids, (size_t)enc->n * sizeof **ids);
    *used += enc->n;
    return 0;
}

int s2s_data_build(S2SData *d, const PifiTokenizer *tk, const PifiDataset *ds, const char *prefix, int max_src,
                   int max_tgt, PifiErr *err) {
    memset(d, 0, sizeof *d);
    if (!ds->target) return pifi_errf(err, "the data are not a generation task's (no target texts)");
    if (max_src < 2 || max_tgt < 2) return pifi_errf(err, "source and target lengths must be >= 2");
    int64_t n = ds->n;
    d->src_len = pifi_malloc((size_t)n * sizeof *d->src_len, err);
    d->tgt_len = pifi_malloc((size_t)n * sizeof *d->tgt_len, err);
    d->src_off = pifi_malloc((size_t)n * sizeof *d->src_off, err);
    d->tgt_off = pifi_malloc((size_t)n * sizeof *d->tgt_off, err);
    if (!d->src_len || !d->tgt_len || !d->src_off || !d->tgt_off) {
        s2s_data_free(d);
        return -1;
    }
    d->n = n;
    PifiEncodeOpts os = pifi_encode_opts_default(), ot = os;
    os.max_length = max_src, os.truncation = PIFI_TRUNC_LONGEST_FIRST;
    ot.max_length = max_tgt, ot.truncation = PIFI_TRUNC_LONGEST_FIRST;
    PifiEncoding enc = {0};
    int64_t cs = 0, ct = 0, us = 0, ut = 0;
    size_t plen = prefix ? strlen(prefix) : 0;
    char *buf = NULL;
    size_t buf_cap = 0;
    int rc = 0;
    for (int64_t i = 0; i < n && rc == 0; i++) {
        const char *src = ds->text[i];
        if (plen) { /* prefix + text */
            size_t need = plen + strlen(src) + 1;
            if (need > buf_cap) {
                char *p = realloc(buf, need);
                if (!p) {
                    rc = pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
                    break;
                }
                buf = p, buf_cap = need;
            }
            memcpy(buf, prefix, plen);
            strcpy(buf + plen, src);
            src = buf;
        }
        d->src_off[i] = us;
        if ((rc = tokenizer_encode(tk, src, NULL, &os, &enc, err)) || (rc = append(&d->src, &cs, &us, &enc, err)))
            break;
        d->src_len[i] = enc.n;
        d->tgt_off[i] = ut;
        if ((rc = tokenizer_encode(tk, ds->target[i], NULL, &ot, &enc, err)) ||
            (rc = append(&d->tgt, &ct, &ut, &enc, err)))
            break;
        d->tgt_len[i] = enc.n;
    }
    encoding_free(&enc);
    free(buf);
    if (rc) s2s_data_free(d);
    return rc ? -1 : 0;
}

void s2s_batch_free(S2SBatch *b) {
    free(b->src), free(b->src_mask), free(b->dec_in), free(b->labels);
    memset(b, 0, sizeof *b);
}

static int reserve(int32_t **a, int32_t **b, size_t *cap, size_t need, PifiErr *err) {
    if (need <= *cap) return 0;
    int32_t *x = realloc(*a, need * sizeof *x);
    if (x) *a = x;
    int32_t *y = x ? realloc(*b, need * sizeof *y) : NULL;
    if (y) *b = y;
    if (!x || !y) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    *cap = need;
    return 0;
}

int s2s_batch_fill(S2SBatch *b, const S2SData *d, const int64_t *idx, int B, int pad_id, int start_id,
                   PifiErr *err) {
    int Ts = 1, Tt = 1;
    for (int r = 0; r < B; r++) {
        if (idx[r] < 0 || idx[r] >= d->n) return pifi_errk(err, PIFI_ERR_RUNTIME, "batch: example out of range");
        if (d->src_len[idx[r]] > Ts) Ts = d->src_len[idx[r]];
        if (d->tgt_len[idx[r]] > Tt) Tt = d->tgt_len[idx[r]];
    }
    if (reserve(&b->src, &b->src_mask, &b->cap_s, (size_t)B * Ts, err) ||
        reserve(&b->dec_in, &b->labels, &b->cap_t, (size_t)B * Tt, err))
        return -1;
    b->B = B, b->Ts = Ts, b->Tt = Tt;
    for (int r = 0; r < B; r++) {
        const int32_t *s = d->src + d->src_off[idx[r]], *t = d->tgt + d->tgt_off[idx[r]];
        int ns = d->src_len[idx[r]], nt = d->tgt_len[idx[r]];
        for (int j = 0; j < Ts; j++) {
            b->src[(size_t)r * Ts + j] = j < ns ? s[j] : pad_id;
            b->src_mask[(size_t)r * Ts + j] = j < ns;
        }
        for (int j = 0; j < Tt; j++) {
            b->labels[(size_t)r * Tt + j] = j < nt ? t[j] : -1;
            b->dec_in[(size_t)r * Tt + j] = j == 0 ? start_id : j - 1 < nt ? t[j - 1] : pad_id;
        }
    }
    return 0;
}
