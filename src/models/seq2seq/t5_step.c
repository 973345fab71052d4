/* t5_step.c: the T5 family's incremental decoder (pifi/seq2seq.h
 * seq2seq_decode_start / _step; the cache is seq2seq_family.h's Seq2SeqKV):
 * the decoder block of t5_internal.h for one new position per row, eval
 * only. Start: each block's cross-attention keys and values of the memory
 * (ck, cv), once per source (its K rows read them). Step t: the token's embedding through the blocks, its
 * self-attention keys and values appended to the cache at t, its query
 * against cached keys 0..t with the relative bias of (key - t) in the
 * decoder's unidirectional buckets (every key is at or before the query: the
 * causal mask is the cache's length), then the final norm, the rescale when
 * tied and the LM head for this position only. The same kernels as the
 * teacher-forced pass (t5_forward.c), the linear layers on the bf16 copy in
 * a bf16 context. */
#include <math.h>
#include <string.h>

#include "kernels/activation.h"
#include "kernels/attention_step.h"
#include "kernels/gemm.h"
#include "kernels/glu.h"
#include "kernels/rmsnorm.h"
#include "models/seq2seq/t5_internal.h"

/* The step's scratch in kv->work, for B rows. */
typedef struct {
    float *x, *n, *tmp, *y;   /* (B, C) */
    float *q, *kn, *vn, *ao;  /* (B, I) */
    float *h0, *h1, *ga, *hd; /* (B, F); h1, ga gated only */
    float *logits;            /* (B, V) */
    float *bias;              /* (NH, cap) the relative bias of keys 0..t against query t */
    float *scores;            /* (B, NH, max(cap, Ts)) */
    float *rstd;              /* (B) */
} T5Step;

/* Points s into work (NULL: count); the floats needed. */
static size_t step_layout(const Seq2SeqConfig *c, int B, int Ts, int cap, T5Step *s, float *work) {
    size_t C = (size_t)c->C, I = (size_t)c->NH * c->t5.d_kv, F = (size_t)c->t5.d_ff, NH = (size_t)c->NH;
    size_t TK = (size_t)(cap > Ts ? cap : Ts), g = (size_t)c->t5.gated;
    struct {
        float **p;
        size_t n;
    } f[] = {
        {&s->x, B * C},  {&s->n, B * C},      {&s->tmp, B * C},     {&s->y, B * C},
        {&s->q, B * I},  {&s->kn, B * I},     {&s->vn, B * I},      {&s->ao, B * I},
        {&s->h0, B * F}, {&s->h1, g * B * F}, {&s->ga, g * B * F},  {&s->hd, B * F},
        {&s->logits, B * (size_t)c->V}, {&s->bias, NH * (size_t)cap}, {&s->scores, B * NH * TK},
        {&s->rstd, (size_t)B},
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (work) *f[i].p = f[i].n ? work + total : NULL;
        total += f[i].n;
    }
    return total;
}

static int64_t max4(int64_t a, int64_t b, int64_t c, int64_t d) {
    int64_t x = a > b ? a : b, y = c > d ? c : d;
    return x > y ? x : y;
}

/* The widest operand row of the decoder's products (t5_precision_prepare). */
static int64_t widest(const Seq2SeqConfig *c) {
    return max4(c->C, (int64_t)c->NH * c->t5.d_kv, c->t5.d_ff, c->V);
}

static int gemm_check(const char *what, PifiErr *err) {
    if (!gemm_f32_take_faults()) return 0;
    return pifi_errk(err, PIFI_ERR_RUNTIME, "t5: %s: out of memory in a matrix product", what);
}

int t5_decode_start(Seq2Seq *m, const float *memory, const int32_t *mem_mask, int S, int Ts, int K, int cap,
                    PifiErr *err) {
    T5 *t = t5_of(m);
    const Seq2SeqConfig *c = &m->cfg;
    int I = c->NH * c->t5.d_kv, L = t->nblk[1], B = S * K;
    Seq2SeqKV *kv = &m->kv;
    if (seq2seq_kv_reserve(kv, S, Ts, K, cap, L, I, step_layout(c, B, Ts, cap, &(T5Step){0}, NULL), mem_mask,
                           err) ||
        t5_precision_prepare(t, (int64_t)S * Ts > B ? (int64_t)S * Ts : B, widest(c), err))
        return -1;
    size_t SSI = (size_t)S * Ts * I;
    for (int l = 0; l < L; l++) {
        const T5BlockW *w = &t->blk[1][l];
        linear_forward(m->cx, kv->ck + l * SSI, memory, t5_w(t, w->ck), NULL, S * Ts, c->C, I);
        linear_forward(m->cx, kv->cv + l * SSI, memory, t5_w(t, w->cv), NULL, S * Ts, c->C, I);
    }
    return gemm_check("decode_start", err);
}

/* src (B, I) rows into the cache (L, B, cap, I) of layer l at position t. */
static void cache_put(float *cache, const float *src, int l, int B, int cap, int t, int I) {
    for (int b = 0; b < B; b++)
        memcpy(cache + (((size_t)l * B + b) * cap + t) * I, src + (size_t)b * I, (size_t)I * sizeof(float));
}

int t5_decode_step(Seq2Seq *m, const int32_t *tok, const float **logits, PifiErr *err) {
    T5 *t = t5_of(m);
    const Seq2SeqConfig *c = &m->cfg;
    Seq2SeqKV *kv = &m->kv;
    int B = kv->B, Ts = kv->Ts, cap = kv->cap, pos = kv->t, Tk = pos + 1;
    int C = c->C, NH = c->NH, D = c->t5.d_kv, I = NH * D, F = c->t5.d_ff;
    size_t BC = (size_t)B * C, BF = (size_t)B * F;
    float eps = c->t5.ln_eps;
    const float *P = m->param_mem;
    PifiCompute *cx = m->cx;
    T5Step s;
    step_layout(c, B, Ts, cap, &s, kv->work);
    if (t5_precision_prepare(t, B, widest(c), err)) return -1;

    for (int b = 0; b < B; b++) memcpy(s.x + (size_t)b * C, P + t->shared + (size_t)tok[b] * C, C * sizeof(float));
    /* bias[h][j] = relb[bucket(j - pos)][h], keys j = 0..pos */
    const float *relb = P + t->relb[1];
    for (int j = 0; j < Tk; j++) {
        int bk = t5_relative_bucket(j - pos, 0, c->t5.buckets, c->t5.max_distance);
        for (int h = 0; h < NH; h++) s.bias[(size_t)h * Tk + j] = relb[(size_t)bk * NH + h];
    }
    size_t self_stride = (size_t)cap * I, cross_stride = (size_t)Ts * I;
    for (int l = 0; l < t->nblk[1]; l++) {
        const T5BlockW *w = &t->blk[1][l];
        /* self-attention over the cache */
        rmsnorm_forward(s.n, s.rstd, s.x, P + w->sa_ln, 0.0f, B, C, eps);
        linear_forward(cx, s.q, s.n, t5_w(t, w->q), NULL, B, C, I);
        linear_forward(cx, s.kn, s.n, t5_w(t, w->k), NULL, B, C, I);
        linear_forward(cx, s.vn, s.n, t5_w(t, w->v), NULL, B, C, I);
        cache_put(kv->k, s.kn, l, B, cap, pos, I);
        cache_put(kv->v, s.vn, l, B, cap, pos, I);
        size_t lo = (size_t)l * B * self_stride;
        attention_step_forward(s.ao, s.scores, s.q, I, kv->k + lo, kv->v + lo, I, self_stride, 1, s.bias, NULL, B,
                               Tk, NH, D, 1.0f);
        linear_forward(cx, s.tmp, s.ao, t5_w(t, w->o), NULL, B, I, C);
        for (size_t i = 0; i < BC; i++) s.x[i] += s.tmp[i];
        /* cross-attention over the memory's keys and values */
        rmsnorm_forward(s.n, s.rstd, s.x, P + w->ca_ln, 0.0f, B, C, eps);
        linear_forward(cx, s.q, s.n, t5_w(t, w->cq), NULL, B, C, I);
        size_t co = (size_t)l * kv->S * cross_stride;
        attention_step_forward(s.ao, s.scores, s.q, I, kv->ck + co, kv->cv + co, I, cross_stride, kv->K, NULL,
                               kv->mask, B, Ts, NH, D, 1.0f);
        linear_forward(cx, s.tmp, s.ao, t5_w(t, w->co), NULL, B, I, C);
        for (size_t i = 0; i < BC; i++) s.x[i] += s.tmp[i];
        /* feed-forward */
        rmsnorm_forward(s.n, s.rstd, s.x, P + w->ff_ln, 0.0f, B, C, eps);
        linear_forward(cx, s.h0, s.n, t5_w(t, w->wi0), NULL, B, C, F);
        if (c->t5.gated) {
            linear_forward(cx, s.h1, s.n, t5_w(t, w->wi1), NULL, B, C, F);
            glu_forward(s.hd, s.ga, s.h0, s.h1, c->t5.act, BF);
        } else {
            activation_forward((Activation)c->t5.act, s.hd, s.h0, BF);
        }
        linear_forward(cx, s.tmp, s.hd, t5_w(t, w->wo), NULL, B, F, C);
        for (size_t i = 0; i < BC; i++) s.x[i] += s.tmp[i];
    }
    rmsnorm_forward(s.y, s.rstd, s.x, P + t->final_ln[1], 0.0f, B, C, eps);
    float sc = c->t5.scale ? (float)pow((double)C, -0.5) : 1.0f;
    for (size_t i = 0; i < BC; i++) s.y[i] *= sc;
    linear_forward(cx, s.logits, s.y, t5_w(t, t->lm_head), NULL, B, C, c->V);
    if (gemm_check("decode_step", err)) return -1;
    *logits = s.logits;
    return 0;
}
