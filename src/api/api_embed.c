/* api_embed.c: include/pifi.h's encoder: a pretrained encoder and its
 * tokenizer, and its last hidden states (and pooler output) for a batch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "kernels/compute.h"
#include "pifi/encoder.h"
#include "pifi/tokenizer.h"

struct pifi_encoder {
    PifiCompute cx; /* the encoder's compute context: its precision */
    Encoder m;
    PifiTokenizer *tk;
    PifiEncodeOpts opts;
};

struct pifi_embeddings {
    int n, T, C;
    PifiEncoding *enc;  /* [n] */
    float *hidden;      /* (n, T, C) */
    float *pooled;      /* (n, C) or NULL */
};

pifi_encoder_params pifi_encoder_default_params(void) {
    pifi_encoder_params p = {PIFI_PRECISION_AUTO, 0};
    return p;
}

pifi_status pifi_encoder_open(const char *dir, const pifi_encoder_params *params, pifi_encoder **out,
                              pifi_error *err) {
    *out = NULL;
    pifi_encoder_params p = params ? *params : pifi_encoder_default_params();
    PifiErr e = {0};
    PifiPrecision prec;
    if (api_precision(p.precision, &prec, &e)) return api_fail(&e, err);
    if (p.max_len != 0 && (p.max_len < 2 || p.max_len > 1 << 20)) {
        pifi_errf(&e, "%s: max_len %d is out of range [2, 1048576]", dir, p.max_len);
        return api_fail(&e, err);
    }
    pifi_encoder *x = pifi_calloc(1, sizeof *x, &e);
    if (!x) return api_fail(&e, err);
    if (tokenizer_load(&x->tk, dir, &e)) {
        free(x);
        return api_fail(&e, err);
    }
    compute_init(&x->cx, prec);
    if (encoder_load(&x->m, dir, &x->cx, &e)) {
        compute_free(&x->cx);
        tokenizer_free(x->tk);
        free(x);
        return api_fail(&e, err);
    }
    x->opts = pifi_encode_opts_default();
    x->opts.max_length = p.max_len ? p.max_len : tokenizer_model_max_length(x->tk);
    if (x->opts.max_length > x->m.cfg.maxT) x->opts.max_length = x->m.cfg.maxT;
    x->opts.truncation = PIFI_TRUNC_LONGEST_FIRST;
    *out = x;
    return PIFI_OK;
}

void pifi_encoder_close(pifi_encoder *enc) {
    if (!enc) return;
    encoder_free(&enc->m);
    compute_free(&enc->cx);
    tokenizer_free(enc->tk);
    free(enc);
}

int pifi_encoder_dim(const pifi_encoder *enc) { return enc->m.cfg.C; }

const char *pifi_encoder_token(const pifi_encoder *enc, int id) { return tokenizer_id_to_token(enc->tk, id); }

void pifi_embeddings_free(pifi_embeddings *e) {
    if (!e) return;
    for (int i = 0; e->enc && i < e->n; i++) encoding_free(&e->enc[i]);
    free(e->enc);
    free(e->hidden);
    free(e->pooled);
    free(e);
}

/* The padded (n, T) inputs of the encodings. */
static int embed_forward(pifi_encoder *x, pifi_embeddings *e, PifiErr *err) {
    size_t nt = (size_t)e->n * e->T;
    int32_t *ids = calloc(nt, sizeof *ids), *tt = calloc(nt, sizeof *tt), *mask = calloc(nt, sizeof *mask);
    int rc = -1;
    if (!ids || !tt || !mask) {
        pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        goto out;
    }
    int pad = tokenizer_pad_id(x->tk);
    for (int i = 0; i < e->n; i++)
        for (int t = 0; t < e->T; t++) {
            size_t k = (size_t)i * e->T + t;
            int real = t < e->enc[i].n;
            ids[k] = real ? e->enc[i].ids[t] : pad;
            tt[k] = real ? e->enc[i].type_ids[t] : 0;
            mask[k] = real ? e->enc[i].attention_mask[t] : 0;
        }
    if (encoder_forward(&x->m, ids, tt, mask, e->n, e->T, err)) goto out;
    e->hidden = pifi_malloc(nt * e->C * sizeof *e->hidden, err);
    if (!e->hidden) goto out;
    memcpy(e->hidden, encoder_output(&x->m), nt * e->C * sizeof *e->hidden);
    if (x->m.acts.pooled) {
        e->pooled = pifi_malloc((size_t)e->n * e->C * sizeof *e->pooled, err);
        if (!e->pooled) goto out;
        memcpy(e->pooled, x->m.acts.pooled, (size_t)e->n * e->C * sizeof *e->pooled);
    }
    rc = 0;
out:
    free(ids);
    free(tt);
    free(mask);
    return rc;
}

pifi_status pifi_embed(pifi_encoder *enc, int n, const char *const *texts, const char *const *pairs,
                       pifi_embeddings **out, pifi_error *err) {
    PifiErr e = {0};
    *out = NULL;
    if (n < 1 || !texts) {
        pifi_errf(&e, "pifi_embed: %s", n < 1 ? "no input" : "texts must not be NULL");
        return api_fail(&e, err);
    }
    pifi_embeddings *r = pifi_calloc(1, sizeof *r, &e);
    if (r) r->enc = pifi_calloc((size_t)n, sizeof *r->enc, &e);
    if (!r || !r->enc) {
        pifi_embeddings_free(r);
        return api_fail(&e, err);
    }
    r->n = n, r->C = enc->m.cfg.C;
    for (int i = 0; i < n; i++) {
        char what[32];
        snprintf(what, sizeof what, "input %d", i + 1);
        if (!texts[i] || (pairs && !pairs[i])) {
            pifi_errf(&e, "%s is NULL", what);
            goto fail;
        }
        if (tokenizer_encode(enc->tk, texts[i], pairs ? pairs[i] : NULL, &enc->opts, &r->enc[i], &e)) {
            pifi_err_prefix(&e, what);
            goto fail;
        }
        if (r->enc[i].n > r->T) r->T = r->enc[i].n;
    }
    if (embed_forward(enc, r, &e)) goto fail;
    *out = r;
    return PIFI_OK;
fail:
    pifi_embeddings_free(r);
    return api_fail(&e, err);
}

int pifi_embeddings_len(const pifi_embeddings *e, int i) { return i >= 0 && i < e->n ? e->enc[i].n : 0; }
const int *pifi_embeddings_ids(const pifi_embeddings *e, int i) { return i >= 0 && i < e->n ? e->enc[i].ids : NULL; }

const int *pifi_embeddings_type_ids(const pifi_embeddings *e, int i) {
    return i >= 0 && i < e->n ? e->enc[i].type_ids : NULL;
}

const float *pifi_embeddings_hidden(const pifi_embeddings *e, int i, int t) {
    if (i < 0 || i >= e->n || t < 0 || t >= e->T) return NULL;
    return e->hidden + ((size_t)i * e->T + t) * e->C;
}

const float *pifi_embeddings_pooled(const pifi_embeddings *e, int i) {
    return e->pooled && i >= 0 && i < e->n ? e->pooled + (size_t)i * e->C : NULL;
}
