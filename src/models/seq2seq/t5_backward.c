/* t5_backward.c: the T5 family's backward passes, from the activations the
 * last forward of each stack kept (t5_forward.c): the decoder's from
 * dlogits (LM head, final norm, blocks in reverse, the embeddings), which
 * also gives the gradient of the memory through every block's
 * cross-attention k and v; the encoder's from the gradient of its output.
 * Gradients ACCUMULATE into an arena laid out like param_mem (t5_layout's
 * offsets); the relative bias's is summed over the blocks that share it,
 * the tied matrix's over the embeddings of both stacks and the LM head. A
 * backward marks the bf16 copy of the weights stale (t5_forward.c). */
#include <math.h>
#include <string.h>

#include "kernels/activation.h"
#include "kernels/dropout.h"
#include "kernels/gemm.h"
#include "kernels/glu.h"
#include "kernels/rmsnorm.h"
#include "models/seq2seq/t5_internal.h"

/* dst (n) = dout (n) through the dropout of the forward (p 0: a copy) */
static void drop_back(float *dst, const float *dout, size_t n, float p, uint64_t seed, uint64_t stream) {
    if (p > 0.0f)
        dropout_backward(dst, dout, n, p, seed, stream);
    else
        memcpy(dst, dout, n * sizeof(float));
}

/* Stack s from dout (B, T, C), the gradient of its output (read before
 * a->tmp is written, so it may be a->tmp); dmem (B, Ts, C) += the
 * memory's (decoder; NULL: not wanted). */
static void stack_backward(T5 *t, int s, float *G, const float *dout, float *dmem) {
    const Seq2SeqConfig *c = &t->base.cfg;
    T5Acts *a = &t->acts[s];
    const float *P = t->base.param_mem;
    int B = a->B, T = a->T, Ts = a->Ts, C = c->C, NH = c->NH, D = c->t5.d_kv, I = NH * D, F = c->t5.d_ff;
    int BT = B * T, dec = s == 1, L = t->nblk[s];
    size_t BTC = (size_t)BT * C, BTI = (size_t)BT * I, BTF = (size_t)BT * F, BSI = (size_t)B * Ts * I;
    float p = t->base.train ? c->dropout : 0.0f;
    uint64_t seed = t->base.seed;
    PifiCompute *cx = t->base.cx;

    drop_back(a->dn, dout, BTC, p, seed, t5_stream(s, -1, T5_DROP_OUT));
    memset(a->dx, 0, BTC * sizeof(float));
    rmsnorm_backward(a->dx, G + t->final_ln[s], a->dn, a->x + (size_t)L * BTC, P + t->final_ln[s], 0.0f, a->rf, BT, C);

    for (int l = L - 1; l >= 0; l--) {
        const T5BlockW *w = &t->blk[s][l];
        float *x = a->x + l * BTC, *xa = a->xa + l * BTC, *cur = dec ? a->xc + l * BTC : xa;
        float *nf = dec ? a->n3 + l * BTC : a->n2 + l * BTC;
        float *rf = dec ? a->r3 + (size_t)l * BT : a->r2 + (size_t)l * BT;
        /* feed-forward: x[l + 1] = cur + drop(wo(drop(act(...)))) */
        drop_back(a->tmp, a->dx, BTC, p, seed, t5_stream(s, l, T5_DROP_FF));
        memset(a->dha, 0, BTF * sizeof(float));
        linear_backward(cx, a->dha, G + w->wo, NULL, a->tmp, a->hd + l * BTF, t5_w(t, w->wo), BT, F, C);
        if (p > 0.0f) dropout_backward(a->dha, a->dha, BTF, p, seed, t5_stream(s, l, T5_DROP_FF_HID));
        memset(a->dh0, 0, BTF * sizeof(float));
        if (c->t5.gated) {
            memset(a->dh1, 0, BTF * sizeof(float));
            glu_backward(a->dh0, a->dh1, a->dha, a->h0 + l * BTF, a->h1 + l * BTF, a->ga + l * BTF, c->t5.act, BTF);
        } else {
            activation_backward((Activation)c->t5.act, a->dh0, a->h0 + l * BTF, a->dha, BTF);
        }
        memset(a->dn, 0, BTC * sizeof(float));
        linear_backward(cx, a->dn, G + w->wi0, NULL, a->dh0, nf, t5_w(t, w->wi0), BT, C, F);
        if (c->t5.gated) linear_backward(cx, a->dn, G + w->wi1, NULL, a->dh1, nf, t5_w(t, w->wi1), BT, C, F);
        rmsnorm_backward(a->dx, G + w->ff_ln, a->dn, cur, P + w->ff_ln, 0.0f, rf, BT, C);

        if (dec) { /* cross-attention: xc = xa + drop(co(attn(cq, ck, cv))) */
            drop_back(a->tmp, a->dx, BTC, p, seed, t5_stream(s, l, T5_DROP_CA));
            memset(a->dao, 0, BTI * sizeof(float));
            linear_backward(cx, a->dao, G + w->co, NULL, a->tmp, a->cao + l * BTI, t5_w(t, w->co), BT, I, C);
            memset(a->dq, 0, BTI * sizeof(float));
            memset(a->dk, 0, BSI * sizeof(float));
            memset(a->dv, 0, BSI * sizeof(float));
            t5_attention_backward(a->dq, a->dk, a->dv, a->datt, a->attd, a->dao, a->cq + l * BTI, a->ck + l * BSI,
                                  a->cv + l * BSI, a->catt + (size_t)l * B * NH * T * Ts, B, T, Ts, NH, D, p, seed,
                                  t5_stream(s, l, T5_DROP_CA_ATT));
            memset(a->dn, 0, BTC * sizeof(float));
            linear_backward(cx, a->dn, G + w->cq, NULL, a->dq, a->n2 + l * BTC, t5_w(t, w->cq), BT, C, I);
            linear_backward(cx, dmem, G + w->ck, NULL, a->dk, a->memory, t5_w(t, w->ck), B * Ts, C, I);
            linear_backward(cx, dmem, G + w->cv, NULL, a->dv, a->memory, t5_w(t, w->cv), B * Ts, C, I);
            rmsnorm_backward(a->dx, G + w->ca_ln, a->dn, xa, P + w->ca_ln, 0.0f, a->r2 + (size_t)l * BT, BT, C);
        }

        /* self-attention: xa = x + drop(o(attn(q, k, v) + bias)) */
        drop_back(a->tmp, a->dx, BTC, p, seed, t5_stream(s, l, T5_DROP_SA));
        memset(a->dao, 0, BTI * sizeof(float));
        linear_backward(cx, a->dao, G + w->o, NULL, a->tmp, a->ao + l * BTI, t5_w(t, w->o), BT, I, C);
        memset(a->dq, 0, BTI * sizeof(float));
        memset(a->dk, 0, BTI * sizeof(float));
        memset(a->dv, 0, BTI * sizeof(float));
        t5_attention_backward(a->dq, a->dk, a->dv, a->datt, a->attd, a->dao, a->q + l * BTI, a->k + l * BTI,
                              a->v + l * BTI, a->att + (size_t)l * B * NH * T * T, B, T, T, NH, D, p, seed,
                              t5_stream(s, l, T5_DROP_SA_ATT));
        t5_relbias_backward(G + t->relb[s], a->acc, a->datt, a->bk, B, NH, c->t5.buckets, T);
        memset(a->dn, 0, BTC * sizeof(float));
        linear_backward(cx, a->dn, G + w->q, NULL, a->dq, a->n1 + l * BTC, t5_w(t, w->q), BT, C, I);
        linear_backward(cx, a->dn, G + w->k, NULL, a->dk, a->n1 + l * BTC, t5_w(t, w->k), BT, C, I);
        linear_backward(cx, a->dn, G + w->v, NULL, a->dv, a->n1 + l * BTC, t5_w(t, w->v), BT, C, I);
        rmsnorm_backward(a->dx, G + w->sa_ln, a->dn, x, P + w->sa_ln, 0.0f, a->r1 + (size_t)l * BT, BT, C);
    }

    /* the embeddings: x[0] = drop(shared[ids]); rows in order (ids repeat) */
    if (p > 0.0f) dropout_backward(a->dx, a->dx, BTC, p, seed, t5_stream(s, -1, T5_DROP_EMB));
    for (int i = 0; i < BT; i++) {
        float *g = G + t->shared + (size_t)a->ids[i] * C;
        const float *d = a->dx + (size_t)i * C;
        for (int j = 0; j < C; j++) g[j] += d[j];
    }
}

static int gemm_check(const char *what, PifiErr *err) {
    if (!gemm_f32_take_faults()) return 0;
    return pifi_errk(err, PIFI_ERR_RUNTIME, "t5: %s: out of memory in a matrix product", what);
}

int t5_decode_backward(Seq2Seq *m, float *grads, const float *dlogits, float *dmemory, PifiErr *err) {
    T5 *t = t5_of(m);
    T5Acts *a = &t->acts[1];
    const Seq2SeqConfig *c = &m->cfg;
    if (!a->valid) return pifi_errf(err, "t5: decode_backward: the last decode failed or none ran; nothing to go back through");
    int BT = a->B * a->T;
    size_t BTC = (size_t)BT * c->C;
    /* logits = y lm^T, y = out * sc */
    memset(a->tmp, 0, BTC * sizeof(float));
    linear_backward(m->cx, a->tmp, grads + t->lm_head, NULL, dlogits, a->y, t5_w(t, t->lm_head), BT, c->C, c->V);
    float sc = c->t5.scale ? (float)pow((double)c->C, -0.5) : 1.0f;
    for (size_t i = 0; i < BTC; i++) a->tmp[i] *= sc;
    if (dmemory) memset(dmemory, 0, (size_t)a->B * a->Ts * c->C * sizeof(float));
    stack_backward(t, 1, grads, a->tmp, dmemory);
    t->w16_fresh = 0; /* the weights are about to change */
    return gemm_check("decode_backward", err);
}

int t5_encode_backward(Seq2Seq *m, float *grads, const float *denc, PifiErr *err) {
    T5 *t = t5_of(m);
    if (!t->acts[0].valid)
        return pifi_errf(err, "t5: encode_backward: the last encode failed or none ran; nothing to go back through");
    stack_backward(t, 0, grads, denc, NULL);
    t->w16_fresh = 0;
    return gemm_check("encode_backward", err);
}
