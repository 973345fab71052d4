/* bart_step.c: the BART family's incremental decoder (pifi/seq2seq.h
 * seq2seq_decode_start / _step; the cache is seq2seq_family.h's Seq2SeqKV):
 * the decoder layer of bart_internal.h for one new position per row, eval
 * only. Start: each layer's cross-attention keys and values of the memory
 * (encoder_attn's k and v projections), once per source (its K rows read
 * them). Step t: the token's scaled
 * embedding + the learned position at row t + 2, layernorm_embedding, the
 * post-LayerNorm layers with the self-attention's keys and values appended
 * to the cache at t and the query against keys 0..t (the causal mask is the
 * cache's length), then the tied LM head + final_logits_bias for this
 * position only. The same kernels as the teacher-forced pass
 * (bart_forward.c), the linear layers on the bf16 copy in a bf16 context. */
#include <math.h>
#include <string.h>

#include "kernels/activation.h"
#include "kernels/attention_step.h"
#include "kernels/gemm.h"
#include "kernels/layernorm.h"
#include "models/seq2seq/bart_internal.h"

/* The step's scratch in kv->work, for B rows. */
typedef struct {
    float *x, *ao, *r, *h1, *cq, *h2; /* (B, C) */
    float *qkv;                       /* (B, 3C) */
    float *f1, *a1;                   /* (B, FF) */
    float *logits;                    /* (B, V) */
    float *scores;                    /* (B, NH, max(cap, Ts)) */
    float *mean, *rstd;               /* (B) */
} BartStep;

/* Points s into work (NULL: count); the floats needed. */
static size_t step_layout(const Seq2SeqConfig *c, int B, int Ts, int cap, BartStep *s, float *work) {
    size_t C = (size_t)c->C, FF = (size_t)c->bart.dec_ff, NH = (size_t)c->NH;
    size_t TK = (size_t)(cap > Ts ? cap : Ts);
    struct {
        float **p;
        size_t n;
    } f[] = {
        {&s->x, B * C},       {&s->ao, B * C},     {&s->r, B * C},  {&s->h1, B * C},
        {&s->cq, B * C},      {&s->h2, B * C},     {&s->qkv, B * 3 * C}, {&s->f1, B * FF},
        {&s->a1, B * FF},     {&s->logits, B * (size_t)c->V}, {&s->scores, B * NH * TK},
        {&s->mean, (size_t)B}, {&s->rstd, (size_t)B},
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (work) *f[i].p = f[i].n ? work + total : NULL;
        total += f[i].n;
    }
    return total;
}

static int64_t widest(const Seq2SeqConfig *c) {
    int64_t a = 3 * (int64_t)c->C, b = c->bart.dec_ff, v = c->V;
    return a > b ? (a > v ? a : v) : (b > v ? b : v);
}

static int gemm_check(const char *what, PifiErr *err) {
    if (!gemm_f32_take_faults()) return 0;
    return pifi_errk(err, PIFI_ERR_RUNTIME, "bart: %s: out of memory in a product", what);
}

int bart_decode_start(Seq2Seq *m, const float *memory, const int32_t *mem_mask, int S, int Ts, int K, int cap,
                      PifiErr *err) {
    Bart *b = bart_of(m);
    const Seq2SeqConfig *c = &m->cfg;
    int64_t C = c->C, L = c->L_dec;
    int B = S * K;
    Seq2SeqKV *kv = &m->kv;
    if (seq2seq_kv_reserve(kv, S, Ts, K, cap, (int)L, (int)C, step_layout(c, B, Ts, cap, &(BartStep){0}, NULL),
                           mem_mask, err) ||
        bart_precision_prepare(b, (int64_t)S * Ts > B ? (int64_t)S * Ts : B, widest(c), err))
        return -1;
    const BartStack *s = &b->p.dec;
    size_t SSC = (size_t)S * Ts * C;
    for (int64_t l = 0; l < L; l++) { /* encoder_attn's k and v: rows C..2C and 2C..3C of the packed q|k|v */
        const float *w = s->cqkvw + l * 3 * C * C, *bias = s->cqkvb + l * 3 * C;
        linear_forward(m->cx, kv->ck + l * SSC, memory, bart_w(b, w + C * C), bias + C, S * Ts, (int)C, (int)C);
        linear_forward(m->cx, kv->cv + l * SSC, memory, bart_w(b, w + 2 * C * C), bias + 2 * C, S * Ts, (int)C,
                       (int)C);
    }
    return gemm_check("decode_start", err);
}

/* h (B, C) = LN(r + x) with r = inp W^T + bias on entry: an output
 * projection's residual and LayerNorm. */
static void residual_ln(float *h, float *mean, float *rstd, float *r, const float *x, const float *lnw,
                        const float *lnb, int B, int C) {
    for (size_t i = 0; i < (size_t)B * C; i++) r[i] += x[i];
    layernorm_forward(h, mean, rstd, r, lnw, lnb, B, C, BART_LN_EPS);
}

int bart_decode_step(Seq2Seq *m, const int32_t *tok, const float **logits, PifiErr *err) {
    Bart *b = bart_of(m);
    const Seq2SeqConfig *c = &m->cfg;
    Seq2SeqKV *kv = &m->kv;
    int B = kv->B, Ts = kv->Ts, cap = kv->cap, pos = kv->t, Tk = pos + 1;
    int64_t C = c->C, NH = c->NH, hs = C / NH, FF = c->bart.dec_ff;
    if (pos >= c->max_pos)
        return pifi_errf(err, "bart: decode_step: position %d is past max_position_embeddings (%d)", pos, c->max_pos);
    PifiCompute *cx = m->cx;
    BartStep s;
    step_layout(c, B, Ts, cap, &s, kv->work);
    if (bart_precision_prepare(b, B, widest(c), err)) return -1;
    const BartStack *st = &b->p.dec;
    float scale = c->bart.scale_embedding ? (float)sqrt((double)C) : 1.0f, att_scale = (float)(1.0 / sqrt((double)hs));

    /* the embeddings: shared[tok] * scale + pos[t + 2], layernorm_embedding */
    const float *pe = st->pos + (size_t)(pos + 2) * C;
    for (int r = 0; r < B; r++) {
        const float *e = b->p.shared + (size_t)tok[r] * C;
        float *o = s.r + (size_t)r * C;
        for (int64_t i = 0; i < C; i++) o[i] = e[i] * scale + pe[i];
    }
    layernorm_forward(s.x, s.mean, s.rstd, s.r, st->lnew, st->lneb, B, (int)C, BART_LN_EPS);
    size_t self_stride = (size_t)cap * C, cross_stride = (size_t)Ts * C;
    for (int64_t l = 0; l < c->L_dec; l++) {
        /* self-attention over the cache */
        linear_forward(cx, s.qkv, s.x, bart_w(b, st->qkvw + l * 3 * C * C), st->qkvb + l * 3 * C, B, (int)C,
                       (int)(3 * C));
        size_t lo = (size_t)l * B * self_stride;
        for (int r = 0; r < B; r++) {
            const float *row = s.qkv + (size_t)r * 3 * C;
            memcpy(kv->k + lo + (size_t)r * self_stride + (size_t)pos * C, row + C, (size_t)C * sizeof(float));
            memcpy(kv->v + lo + (size_t)r * self_stride + (size_t)pos * C, row + 2 * C, (size_t)C * sizeof(float));
        }
        attention_step_forward(s.ao, s.scores, s.qkv, (int)(3 * C), kv->k + lo, kv->v + lo, (int)C, self_stride, 1,
                               NULL, NULL, B, Tk, (int)NH, (int)hs, att_scale);
        linear_forward(cx, s.r, s.ao, bart_w(b, st->ow + l * C * C), st->ob + l * C, B, (int)C, (int)C);
        residual_ln(s.h1, s.mean, s.rstd, s.r, s.x, st->ln1w + l * C, st->ln1b + l * C, B, (int)C);
        /* cross-attention over the memory's keys and values */
        linear_forward(cx, s.cq, s.h1, bart_w(b, st->cqkvw + l * 3 * C * C), st->cqkvb + l * 3 * C, B, (int)C,
                       (int)C);
        size_t co = (size_t)l * kv->S * cross_stride;
        attention_step_forward(s.ao, s.scores, s.cq, (int)C, kv->ck + co, kv->cv + co, (int)C, cross_stride, kv->K,
                               NULL, kv->mask, B, Ts, (int)NH, (int)hs, att_scale);
        linear_forward(cx, s.r, s.ao, bart_w(b, st->cow + l * C * C), st->cob + l * C, B, (int)C, (int)C);
        residual_ln(s.h2, s.mean, s.rstd, s.r, s.h1, st->ln2w + l * C, st->ln2b + l * C, B, (int)C);
        /* feed-forward */
        linear_forward(cx, s.f1, s.h2, bart_w(b, st->fc1w + l * FF * C), st->fc1b + l * FF, B, (int)C, (int)FF);
        activation_forward((Activation)c->bart.act, s.a1, s.f1, (size_t)(B * FF));
        linear_forward(cx, s.r, s.a1, bart_w(b, st->fc2w + l * C * FF), st->fc2b + l * C, B, (int)FF, (int)C);
        residual_ln(s.x, s.mean, s.rstd, s.r, s.h2, st->ln3w + l * C, st->ln3b + l * C, B, (int)C);
    }
    linear_forward(cx, s.logits, s.x, bart_w(b, b->p.shared), b->flb, B, (int)C, c->V);
    if (gemm_check("decode_step", err)) return -1;
    *logits = s.logits;
    return 0;
}
