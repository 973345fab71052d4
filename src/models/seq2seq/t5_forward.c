/* t5_forward.c: the T5 family's passes: the activations of a stack laid out
 * in one allocation (grown when a pass needs more), the encoder (ids ->
 * last_hidden_state) and the teacher-forced decoder (memory, targets shifted
 * right -> logits), both on one block loop (t5_internal.h has the
 * formulas). In training (seq2seq_set_train) dropout p = dropout_rate is
 * applied where transformers applies it, its masks keyed by the model's seed
 * and a stream per stack, block and site (t5_stream). In a bf16 context the
 * linear layers take their weights from a bf16 copy of the arena
 * (t5_precision_prepare), made again at the first pass after a backward,
 * since an update of the fp32 weights follows a backward; the attention
 * core and the norms stay fp32. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/activation.h"
#include "kernels/dropout.h"
#include "kernels/gemm.h"
#include "kernels/glu.h"
#include "kernels/rmsnorm.h"
#include "models/seq2seq/t5_internal.h"

uint64_t t5_stream(int stack, int l, int s) {
    return 0x7435000000000000ull ^ ((uint64_t)(stack + 1) << 40) ^ ((uint64_t)(l + 1) << 8) ^ (uint64_t)s;
}

/* ------------------------------------------------------------------------ */
/* the activations */

/* Point the stack's activations into a (at NULL: count); the floats needed. */
static size_t acts_layout(const Seq2SeqConfig *c, int s, T5Acts *a, float *mem) {
    size_t B = (size_t)a->B, T = (size_t)a->T, Ts = (size_t)a->Ts, L = (size_t)(s ? c->L_dec : c->L_enc);
    size_t C = (size_t)c->C, I = (size_t)c->NH * c->t5.d_kv, F = (size_t)c->t5.d_ff, NH = (size_t)c->NH;
    size_t BT = B * T, TK = T > Ts ? T : Ts, dec = (size_t)s, g = (size_t)c->t5.gated;
    struct {
        float **p;
        size_t n;
    } f[] = {
        {&a->bias, NH * T * T},
        {&a->x, (L + 1) * BT * C},
        {&a->xa, L * BT * C},
        {&a->xc, dec * L * BT * C},
        {&a->n1, L * BT * C},
        {&a->n2, L * BT * C},
        {&a->n3, dec * L * BT * C},
        {&a->r1, L * BT},
        {&a->r2, L * BT},
        {&a->r3, dec * L * BT},
        {&a->rf, BT},
        {&a->q, L * BT * I},
        {&a->k, L * BT * I},
        {&a->v, L * BT * I},
        {&a->ao, L * BT * I},
        {&a->att, L * B * NH * T * T},
        {&a->cq, dec * L * BT * I},
        {&a->cao, dec * L * BT * I},
        {&a->ck, dec * L * B * Ts * I},
        {&a->cv, dec * L * B * Ts * I},
        {&a->catt, dec * L * B * NH * T * Ts},
        {&a->memory, dec * B * Ts * C},
        {&a->h0, L * BT * F},
        {&a->h1, g * L * BT * F},
        {&a->ga, g * L * BT * F},
        {&a->hd, L * BT * F},
        {&a->out, BT * C},
        {&a->y, dec * BT * C},
        {&a->logits, dec * BT * (size_t)c->V},
        {&a->dx, BT * C},
        {&a->dn, BT * C},
        {&a->tmp, BT * C},
        {&a->dq, B * TK * I},
        {&a->dk, B * TK * I},
        {&a->dv, B * TK * I},
        {&a->dao, B * TK * I},
        {&a->datt, B * NH * T * TK},
        {&a->attd, B * NH * T * TK},
        {&a->dh0, BT * F},
        {&a->dh1, g * BT * F},
        {&a->dha, BT * F},
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (mem) *f[i].p = f[i].n ? mem + total : NULL;
        total += f[i].n;
    }
    return total;
}

/* Room for a pass of B x T tokens (Ts: the memory's) in stack s. */
static int acts_reserve(T5 *t, int s, int B, int T, int Ts, PifiErr *err) {
    const Seq2SeqConfig *c = &t->base.cfg;
    T5Acts *a = &t->acts[s];
    a->valid = 0;
    a->B = B, a->T = T, a->Ts = Ts;
    size_t n = acts_layout(c, s, a, NULL);
    if (n > a->cap) {
        free(a->mem);
        a->cap = 0;
        a->mem = pifi_malloc(n * sizeof(float), err);
        if (!a->mem) return -1;
        a->cap = n;
    }
    acts_layout(c, s, a, a->mem);
    int32_t *ids = realloc(a->ids, (size_t)B * T * sizeof *ids);
    if (ids) a->ids = ids;
    int32_t *km = realloc(a->kmask, (size_t)B * Ts * sizeof *km);
    if (km) a->kmask = km;
    int *bk = realloc(a->bk, (size_t)(2 * T - 1) * sizeof *bk);
    if (bk) a->bk = bk;
    double *acc = realloc(a->acc, (size_t)c->NH * c->t5.buckets * sizeof *acc);
    if (acc) a->acc = acc;
    if (!ids || !km || !bk || !acc) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    return 0;
}

/* ------------------------------------------------------------------------ */
/* the passes */

int t5_precision_prepare(T5 *t, int64_t rows, int64_t width, PifiErr *err) {
    Seq2Seq *m = &t->base;
    t->w16 = NULL;
    if (!compute_bf16(m->cx)) return 0;
    if (compute_reserve(m->cx, (size_t)(rows * width), 0, err)) return -1;
    if (!t->w16_mem) {
        t->w16_mem = pifi_malloc((size_t)m->num_params * sizeof *t->w16_mem, err);
        if (!t->w16_mem) return -1;
        t->w16_fresh = 0;
    }
    if (!t->w16_fresh) {
        bf16_from_f32(t->w16_mem, m->param_mem, (size_t)m->num_params);
        compute_weights_changed(m->cx);
        t->w16_fresh = 1;
    }
    t->w16 = t->w16_mem;
    return 0;
}

static int64_t max4(int64_t a, int64_t b, int64_t c, int64_t d) {
    int64_t x = a > b ? a : b, y = c > d ? c : d;
    return x > y ? x : y;
}

static int check_ids(const int32_t *ids, size_t n, int V, const char *what, PifiErr *err) {
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= V)
            return pifi_errf(err, "t5: %s: token %zu is id %d, outside the vocabulary (0..%d)", what, i, (int)ids[i],
                             V - 1);
    return 0;
}

static int check_mask(int32_t *dst, const int32_t *mask, size_t n, PifiErr *err) {
    for (size_t i = 0; i < n; i++) {
        int v = mask ? mask[i] : 1;
        if (v != 0 && v != 1) return pifi_errf(err, "t5: attention mask value %d at %zu; expected 0 or 1", v, i);
        dst[i] = v;
    }
    return 0;
}

/* dst (n) = a + dropout(b) (b modified: dropped in place) */
static void residual(float *dst, const float *a, float *b, size_t n, float p, uint64_t seed, uint64_t stream) {
    if (p > 0.0f) dropout_forward(b, b, n, p, seed, stream);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) dst[i] = a[i] + b[i];
}

/* The stack's blocks and final norm on the ids in t->acts[s] (and, for the
 * decoder, the memory and its mask there). */
static void stack_forward(T5 *t, int s) {
    const Seq2SeqConfig *c = &t->base.cfg;
    T5Acts *a = &t->acts[s];
    const float *P = t->base.param_mem;
    int B = a->B, T = a->T, Ts = a->Ts, C = c->C, NH = c->NH, D = c->t5.d_kv, I = NH * D, F = c->t5.d_ff;
    int BT = B * T, dec = s == 1;
    size_t BTC = (size_t)BT * C, BTI = (size_t)BT * I, BTF = (size_t)BT * F;
    float p = t->base.train ? c->dropout : 0.0f, eps = c->t5.ln_eps;
    uint64_t seed = t->base.seed;
    PifiCompute *cx = t->base.cx;

    for (int i = 0; i < BT; i++) memcpy(a->x + (size_t)i * C, P + t->shared + (size_t)a->ids[i] * C, C * sizeof(float));
    if (p > 0.0f) dropout_forward(a->x, a->x, BTC, p, seed, t5_stream(s, -1, T5_DROP_EMB));
    t5_buckets(a->bk, !dec, c->t5.buckets, c->t5.max_distance, T);
    t5_relbias_forward(a->bias, P + t->relb[s], a->bk, NH, T);

    for (int l = 0; l < t->nblk[s]; l++) {
        const T5BlockW *w = &t->blk[s][l];
        float *x = a->x + l * BTC, *xa = a->xa + l * BTC, *cur = xa;
        float *q = a->q + l * BTI, *k = a->k + l * BTI, *v = a->v + l * BTI, *ao = a->ao + l * BTI;
        /* self-attention */
        rmsnorm_forward(a->n1 + l * BTC, a->r1 + (size_t)l * BT, x, P + w->sa_ln, 0.0f, BT, C, eps);
        linear_forward(cx, q, a->n1 + l * BTC, t5_w(t, w->q), NULL, BT, C, I);
        linear_forward(cx, k, a->n1 + l * BTC, t5_w(t, w->k), NULL, BT, C, I);
        linear_forward(cx, v, a->n1 + l * BTC, t5_w(t, w->v), NULL, BT, C, I);
        t5_attention_forward(ao, a->att + (size_t)l * B * NH * T * T, a->attd, q, k, v, a->bias, dec ? NULL : a->kmask,
                             dec, B, T, T, NH, D, p, seed, t5_stream(s, l, T5_DROP_SA_ATT));
        linear_forward(cx, a->tmp, ao, t5_w(t, w->o), NULL, BT, I, C);
        residual(xa, x, a->tmp, BTC, p, seed, t5_stream(s, l, T5_DROP_SA));
        float *nf = a->n2 + l * BTC, *rf = a->r2 + (size_t)l * BT;
        if (dec) { /* cross-attention over the memory */
            size_t BSI = (size_t)B * Ts * I;
            float *cq = a->cq + l * BTI, *ck = a->ck + l * BSI, *cv = a->cv + l * BSI, *cao = a->cao + l * BTI;
            rmsnorm_forward(a->n2 + l * BTC, a->r2 + (size_t)l * BT, xa, P + w->ca_ln, 0.0f, BT, C, eps);
            linear_forward(cx, cq, a->n2 + l * BTC, t5_w(t, w->cq), NULL, BT, C, I);
            linear_forward(cx, ck, a->memory, t5_w(t, w->ck), NULL, B * Ts, C, I);
            linear_forward(cx, cv, a->memory, t5_w(t, w->cv), NULL, B * Ts, C, I);
            t5_attention_forward(cao, a->catt + (size_t)l * B * NH * T * Ts, a->attd, cq, ck, cv, NULL, a->kmask, 0, B,
                                 T, Ts, NH, D, p, seed, t5_stream(s, l, T5_DROP_CA_ATT));
            linear_forward(cx, a->tmp, cao, t5_w(t, w->co), NULL, BT, I, C);
            cur = a->xc + l * BTC;
            residual(cur, xa, a->tmp, BTC, p, seed, t5_stream(s, l, T5_DROP_CA));
            nf = a->n3 + l * BTC, rf = a->r3 + (size_t)l * BT;
        }
        /* feed-forward */
        float *h0 = a->h0 + l * BTF, *hd = a->hd + l * BTF;
        rmsnorm_forward(nf, rf, cur, P + w->ff_ln, 0.0f, BT, C, eps);
        linear_forward(cx, h0, nf, t5_w(t, w->wi0), NULL, BT, C, F);
        if (c->t5.gated) {
            linear_forward(cx, a->h1 + l * BTF, nf, t5_w(t, w->wi1), NULL, BT, C, F);
            glu_forward(hd, a->ga + l * BTF, h0, a->h1 + l * BTF, c->t5.act, BTF);
        } else {
            activation_forward((Activation)c->t5.act, hd, h0, BTF);
        }
        if (p > 0.0f) dropout_forward(hd, hd, BTF, p, seed, t5_stream(s, l, T5_DROP_FF_HID));
        linear_forward(cx, a->tmp, hd, t5_w(t, w->wo), NULL, BT, F, C);
        residual(a->x + (l + 1) * BTC, cur, a->tmp, BTC, p, seed, t5_stream(s, l, T5_DROP_FF));
    }
    rmsnorm_forward(a->out, a->rf, a->x + (size_t)t->nblk[s] * BTC, P + t->final_ln[s], 0.0f, BT, C, eps);
    if (p > 0.0f) dropout_forward(a->out, a->out, BTC, p, seed, t5_stream(s, -1, T5_DROP_OUT));
}

static int gemm_check(const char *what, PifiErr *err) {
    if (!gemm_f32_take_faults()) return 0;
    return pifi_errk(err, PIFI_ERR_RUNTIME, "t5: %s: out of memory in a matrix product", what);
}

int t5_encode(Seq2Seq *m, const int32_t *ids, const int32_t *mask, int B, int Ts, PifiErr *err) {
    T5 *t = t5_of(m);
    t->acts[0].valid = 0;
    if (B <= 0 || Ts <= 0) return pifi_errf(err, "t5: encode: batch %d x %d tokens; expected both positive", B, Ts);
    const Seq2SeqConfig *c = &m->cfg;
    if (acts_reserve(t, 0, B, Ts, Ts, err) ||
        t5_precision_prepare(t, (int64_t)B * Ts, max4(c->C, (int64_t)c->NH * c->t5.d_kv, c->t5.d_ff, 0), err))
        return -1;
    T5Acts *a = &t->acts[0];
    size_t n = (size_t)B * Ts;
    if (check_ids(ids, n, m->cfg.V, "encode", err) || check_mask(a->kmask, mask, n, err)) return -1;
    memcpy(a->ids, ids, n * sizeof *ids);
    stack_forward(t, 0);
    if (gemm_check("encode", err)) return -1;
    a->valid = 1;
    return 0;
}

const float *t5_encoder_output(const Seq2Seq *m) { return t5_of_const(m)->acts[0].out; }

int t5_decode(Seq2Seq *m, const float *memory, const int32_t *mem_mask, const int32_t *dec_ids, int B, int Ts,
              int Tt, PifiErr *err) {
    T5 *t = t5_of(m);
    const Seq2SeqConfig *c = &m->cfg;
    t->acts[1].valid = 0;
    if (B <= 0 || Ts <= 0 || Tt <= 0)
        return pifi_errf(err, "t5: decode: batch %d, %d source and %d target tokens; expected all positive", B, Ts, Tt);
    if (acts_reserve(t, 1, B, Tt, Ts, err) ||
        t5_precision_prepare(t, (int64_t)B * (Tt > Ts ? Tt : Ts),
                             max4(c->C, (int64_t)c->NH * c->t5.d_kv, c->t5.d_ff, c->V), err))
        return -1;
    T5Acts *a = &t->acts[1];
    size_t n = (size_t)B * Tt;
    if (check_ids(dec_ids, n, c->V, "decode", err) || check_mask(a->kmask, mem_mask, (size_t)B * Ts, err)) return -1;
    memcpy(a->ids, dec_ids, n * sizeof *dec_ids);
    memcpy(a->memory, memory, (size_t)B * Ts * c->C * sizeof(float));
    stack_forward(t, 1);
    float sc = c->t5.scale ? (float)pow((double)c->C, -0.5) : 1.0f;
    size_t BTC = n * c->C;
    for (size_t i = 0; i < BTC; i++) a->y[i] = a->out[i] * sc;
    linear_forward(m->cx, a->logits, a->y, t5_w(t, t->lm_head), NULL, (int)n, c->C, c->V);
    if (gemm_check("decode", err)) return -1;
    a->valid = 1;
    return 0;
}

const float *t5_logits(const Seq2Seq *m) { return t5_of_const(m)->acts[1].logits; }
