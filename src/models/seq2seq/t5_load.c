/* t5_load.c: the T5 family's parameters: one table (t5_layout) of every
 * tensor under its T5ForConditionalGeneration name, in state_dict order, with
 * its offset in the arena; the checkpoint read into the arena by that table;
 * the trainable tensors; what is freed.
 *
 * The tied matrix is "shared.weight" once (a checkpoint's copies
 * encoder.embed_tokens.weight / decoder.embed_tokens.weight are read only
 * when shared.weight is absent, and a tied model's lm_head.weight not at
 * all); an untied model (v1.1, FLAN) has lm_head.weight last. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/seq2seq/t5_internal.h"
#include "core/rng.h"
#include "pifi/safetensors.h"

/* ------------------------------------------------------------------------ */
/* the table */

typedef struct {
    T5Row *rows;
    int n;
    int64_t total;
} Layout;

/* Append a tensor; its offset. */
static int64_t add(Layout *y, const char *name, int64_t d0, int64_t d1, int decay) {
    if (y->rows) {
        T5Row *r = &y->rows[y->n];
        snprintf(r->name, sizeof r->name, "%s", name);
        r->off = y->total, r->d0 = d0, r->d1 = d1, r->decay = decay;
    }
    int64_t off = y->total;
    y->n++;
    y->total += d0 * (d1 ? d1 : 1);
    return off;
}

/* The attention tensors of "<pre>.<Att>": q, k, v (I, C), o (C, I). */
static void add_attention(Layout *y, const char pre[64], int64_t C, int64_t I, int64_t *q, int64_t *k, int64_t *v,
                          int64_t *o) {
    char n[96];
    snprintf(n, sizeof n, "%s.q.weight", pre), *q = add(y, n, I, C, 1);
    snprintf(n, sizeof n, "%s.k.weight", pre), *k = add(y, n, I, C, 1);
    snprintf(n, sizeof n, "%s.v.weight", pre), *v = add(y, n, I, C, 1);
    snprintf(n, sizeof n, "%s.o.weight", pre), *o = add(y, n, C, I, 1);
}

int t5_layout(const Seq2SeqConfig *c, T5 *t, T5Row *rows, int64_t *total) {
    Layout y = {rows, 0, 0};
    int64_t C = c->C, I = (int64_t)c->NH * c->t5.d_kv, F = c->t5.d_ff, tmp;
    int64_t shared = add(&y, "shared.weight", c->V, C, 1);
    static const char *const STACK[2] = {"encoder", "decoder"};
    for (int s = 0; s < 2; s++) {
        int L = s ? c->L_dec : c->L_enc;
        int64_t relb = 0, fin;
        for (int l = 0; l < L; l++) {
            T5BlockW b, *w = t ? &t->blk[s][l] : &b;
            char pre[64], n[96];
            int sub = 0;
            w->ca_ln = w->cq = w->ck = w->cv = w->co = w->wi1 = -1;
            snprintf(pre, sizeof pre, "%s.block.%d.layer.%d.SelfAttention", STACK[s], l, sub);
            add_attention(&y, pre, C, I, &w->q, &w->k, &w->v, &w->o);
            if (l == 0) {
                snprintf(n, sizeof n, "%s.relative_attention_bias.weight", pre);
                relb = add(&y, n, c->t5.buckets, c->NH, 1);
            }
            snprintf(n, sizeof n, "%s.block.%d.layer.%d.layer_norm.weight", STACK[s], l, sub++);
            w->sa_ln = add(&y, n, C, 0, 0);
            if (s == 1) {
                snprintf(pre, sizeof pre, "%s.block.%d.layer.%d.EncDecAttention", STACK[s], l, sub);
                add_attention(&y, pre, C, I, &w->cq, &w->ck, &w->cv, &w->co);
                snprintf(n, sizeof n, "%s.block.%d.layer.%d.layer_norm.weight", STACK[s], l, sub++);
                w->ca_ln = add(&y, n, C, 0, 0);
            }
            snprintf(pre, sizeof pre, "%s.block.%d.layer.%d", STACK[s], l, sub);
            if (c->t5.gated) {
                snprintf(n, sizeof n, "%s.DenseReluDense.wi_0.weight", pre), w->wi0 = add(&y, n, F, C, 1);
                snprintf(n, sizeof n, "%s.DenseReluDense.wi_1.weight", pre), w->wi1 = add(&y, n, F, C, 1);
            } else {
                snprintf(n, sizeof n, "%s.DenseReluDense.wi.weight", pre), w->wi0 = add(&y, n, F, C, 1);
            }
            snprintf(n, sizeof n, "%s.DenseReluDense.wo.weight", pre), w->wo = add(&y, n, C, F, 1);
            snprintf(n, sizeof n, "%s.layer_norm.weight", pre), w->ff_ln = add(&y, n, C, 0, 0);
        }
        char n[96];
        snprintf(n, sizeof n, "%s.final_layer_norm.weight", STACK[s]);
        fin = add(&y, n, C, 0, 0);
        if (t) t->relb[s] = relb, t->final_ln[s] = fin, t->nblk[s] = L;
    }
    tmp = c->t5.tied ? shared : add(&y, "lm_head.weight", c->V, C, 1);
    if (t) t->shared = shared, t->lm_head = tmp;
    *total = y.total;
    return y.n;
}

/* ------------------------------------------------------------------------ */
/* loading */

static int read_row(SafeTensors *st, const char *name, const T5Row *r, float *dst, PifiErr *err) {
    const StTensor *t;
    if (st_get(st, name, &t, err)) return -1; /* "<file>: missing tensor '<name>'" */
    if (t->dtype != PIFI_DT_F32 && t->dtype != PIFI_DT_F16 && t->dtype != PIFI_DT_BF16 && t->dtype != PIFI_DT_F64)
        return pifi_errf(err, "%s: tensor '%s' has dtype %s; expected F32, F16, BF16 or F64", t->file, name,
                         pifi_dtype_name(t->dtype));
    int64_t shape[2] = {r->d0, r->d1};
    return st_read_f32(st, name, r->d1 ? 2 : 1, shape, dst, err); /* a wrong shape: its message */
}

/* shared.weight, else one of the copies a checkpoint may hold instead */
static int read_shared(SafeTensors *st, const T5Row *r, float *dst, PifiErr *err) {
    static const char *const NAMES[] = {"shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight"};
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        const StTensor *t;
        int f = st_find(st, NAMES[i], &t, err);
        if (f < 0) return -1;
        if (f == 0) return read_row(st, NAMES[i], r, dst, err);
    }
    return read_row(st, NAMES[0], r, dst, err); /* the missing-tensor message */
}

void t5_free(Seq2Seq *m) {
    if (!m) return;
    T5 *t = t5_of(m);
    for (int s = 0; s < 2; s++) {
        free(t->blk[s]);
        T5Acts *a = &t->acts[s];
        free(a->mem), free(a->ids), free(a->kmask), free(a->bk), free(a->acc);
    }
    free(t->rows);
    free(t->w16_mem);
    free(m->param_mem);
    free(t);
}

/* A model of cfg with its table and an uninitialised arena. */
static T5 *t5_alloc(const Seq2SeqConfig *cfg, struct PifiCompute *cx, PifiErr *err) {
    T5 *t = calloc(1, sizeof *t);
    if (!t) {
        pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        return NULL;
    }
    Seq2Seq *m = &t->base;
    m->cfg = *cfg;
    m->cx = cx;
    t->blk[0] = calloc((size_t)cfg->L_enc, sizeof(T5BlockW));
    t->blk[1] = calloc((size_t)cfg->L_dec, sizeof(T5BlockW));
    int64_t total;
    int n = t5_layout(cfg, t, NULL, &total);
    t->rows = calloc((size_t)n, sizeof(T5Row));
    if (!t->blk[0] || !t->blk[1] || !t->rows) {
        pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        t5_free(m);
        return NULL;
    }
    t->nrows = t5_layout(cfg, t, t->rows, &total);
    m->num_params = total;
    m->param_mem = pifi_malloc((size_t)total * sizeof(float), err);
    if (!m->param_mem) {
        t5_free(m);
        return NULL;
    }
    return t;
}

int t5_load(Seq2Seq **out, const Seq2SeqConfig *cfg, const char *dir, struct PifiCompute *cx, PifiErr *err) {
    *out = NULL;
    SafeTensors *st = NULL;
    if (st_open(&st, dir, err)) return -1;
    T5 *t = t5_alloc(cfg, cx, err);
    if (!t) {
        st_close(st);
        return -1;
    }
    Seq2Seq *m = &t->base;
    for (int i = 0; i < t->nrows; i++) {
        const T5Row *r = &t->rows[i];
        float *dst = m->param_mem + r->off;
        if (i == 0 ? read_shared(st, r, dst, err) : read_row(st, r->name, r, dst, err)) {
            st_close(st);
            t5_free(m);
            return -1;
        }
    }
    st_close(st);
    *out = m;
    return 0;
}

static int ends(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* transformers' T5PreTrainedModel._init_weights (initializer_factor f):
 * embeddings and an untied LM head N(0, f); q N(0, f (C d_kv)^-1/2), k and
 * v N(0, f C^-1/2), o N(0, f (NH d_kv)^-1/2); the relative bias N(0, f
 * C^-1/2); wi, wi_0, wi_1 N(0, f C^-1/2), wo N(0, f d_ff^-1/2); norms f. */
int t5_init(Seq2Seq **out, const Seq2SeqConfig *cfg, uint64_t seed, struct PifiCompute *cx, PifiErr *err) {
    *out = NULL;
    T5 *t = t5_alloc(cfg, cx, err);
    if (!t) return -1;
    Seq2Seq *m = &t->base;
    double f = cfg->t5.init_factor > 0 ? cfg->t5.init_factor : 1.0, C = cfg->C, dkv = cfg->t5.d_kv;
    for (int i = 0; i < t->nrows; i++) {
        const T5Row *r = &t->rows[i];
        float *w = m->param_mem + r->off;
        int64_t n = r->d0 * (r->d1 ? r->d1 : 1);
        double std = f;
        if (ends(r->name, "layer_norm.weight")) {
            for (int64_t k = 0; k < n; k++) w[k] = (float)f;
            continue;
        }
        if (ends(r->name, ".q.weight")) std = f / sqrt(C * dkv);
        else if (ends(r->name, ".k.weight") || ends(r->name, ".v.weight")) std = f / sqrt(C);
        else if (ends(r->name, ".o.weight")) std = f / sqrt(cfg->NH * dkv);
        else if (ends(r->name, "relative_attention_bias.weight")) std = f / sqrt(C);
        else if (ends(r->name, ".wo.weight")) std = f / sqrt(cfg->t5.d_ff);
        else if (strstr(r->name, ".wi")) std = f / sqrt(C);
        for (int64_t k = 0; k < n; k++) w[k] = (float)std * rng_normal(seed, 0x5100 + (uint64_t)i, (uint64_t)k);
    }
    *out = m;
    return 0;
}

int t5_tensors(const Seq2Seq *m, Seq2SeqTensor *rows, int cap) {
    const T5 *t = t5_of_const(m);
    for (int i = 0; i < t->nrows && i < cap; i++) {
        const T5Row *r = &t->rows[i];
        rows[i] = (Seq2SeqTensor){r->name, m->param_mem + r->off, r->d0 * (r->d1 ? r->d1 : 1), r->decay,
                                  r->d1 ? 2 : 1, {r->d0, r->d1}};
    }
    return t->nrows;
}
