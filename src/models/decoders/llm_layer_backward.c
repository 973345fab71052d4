/* llm_layer_backward.c: training through the LLM decoder layer: the forward
 * passes of training mode, which keep their activations in the layer's
 * workspace, and the backward passes from them: the input gradient (PiFi's
 * frozen layer) and, optionally, the weight gradients (pifi-unfrozen).
 *
 * The forward, as in llm_layer.c (x (N, D), N = B*T rows):
 *   n = rms(x) [rstd1];  v = Wv n + bv;  [seq: q = rope(Wq n + bq), k = rope(Wk n + bk);
 *     Gemma3: q = rope(rms_head(qp)), qp = Wq n [rstd_q], the same for k]
 *   y = attention(q, k, v) [att]  (pooled: y = expand_gqa(v))
 *   ap = Wo y + bo;  h = x + [Gemma2: rms(ap) [rstd_ap]] ap
 *   n2 = rms(h) [rstd2];  gate = Wg n2;  up = Wu n2;  ga = act(gate);  g = ga * up
 *   mp = Wd g;  out = h + [Gemma2: rms(mp) [rstd_mp]] mp
 * Every name above is saved; the backward walks it in reverse. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/attention_gqa.h"
#include "kernels/gemm.h"
#include "kernels/glu.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"
#include "models/decoders/llm_arch.h"
#include "models/decoders/llm_layer_internal.h"

/* ------------------------------------------------------------------------ */
/* the saved activations and the backward's scratch, one arena (l->ws) */

typedef struct {
    /* saved by the forward */
    float *x;        /* (N, D) */
    float *rstd1;    /* (N) */
    float *n;        /* (N, D) */
    float *q;        /* (N, QC) after RoPE, sequence mode only */
    float *k;        /* (N, KC) after RoPE, sequence mode only */
    float *qp, *kp;  /* (N, QC), (N, KC) before the q/k norms, Gemma3 sequence mode only */
    float *rstd_q, *rstd_k; /* (N, NH), (N, NKV) of those norms */
    float *v;        /* (N, KC) */
    float *y;        /* (N, QC) attention output */
    float *att;      /* (B, NH, T, T) probabilities, sequence mode only */
    float *inv_freq; /* (HD/2) sequence mode only */
    float *ap;       /* (N, D) Wo y + bo */
    float *rstd_ap;  /* (N) Gemma2 post-attention norm */
    float *h;        /* (N, D) */
    float *rstd2;    /* (N) */
    float *n2;       /* (N, D) */
    float *gate;     /* (N, FF) */
    float *up;       /* (N, FF) */
    float *ga;       /* (N, FF) act(gate) */
    float *g;        /* (N, FF) act(gate) * up */
    float *mp;       /* (N, D) Wd g */
    float *rstd_mp;  /* (N) Gemma2 post-feed-forward norm */
    /* backward scratch */
    float *dh, *dm, *dn;       /* (N, D) */
    float *df1, *df2, *df3;    /* (N, FF) */
    float *dq, *dy;            /* (N, QC) (dq: sequence mode only) */
    float *dk, *dv;            /* (N, KC) (dk: sequence mode only) */
    float *datt;               /* (B, NH, T, T) sequence mode only */
    /* LoRA (sequence mode, l->lora set): saved, then scratch */
    float *lora_uq, *lora_uv;  /* (N, r) the adapters' inputs times A^T */
    float *lora_x;             /* (N, D) the dropped input (dropout > 0) */
    float *lora_du;            /* (N, r) */
    float *dqp, *dkp;          /* (N, QC), (N, KC) before the q/k norms, Gemma3 sequence mode only */
} LlmActs;

/* LoRA's rank and dropout in a sequence forward of l (0: none). */
static int lora_r(const LlmLayer *l, int seq) { return seq && l->lora ? l->lora->r : 0; }
static float lora_p(const LlmLayer *l, int seq) { return seq && l->lora ? l->lora->dropout : 0.0f; }

/* Lay the arena out from base (NULL: only count). Returns its size in floats. */
static size_t acts_point(const LlmLayer *l, int B, int T, int seq, float *base, LlmActs *a) {
    const LlmConfig *c = &l->cfg;
    size_t r = (size_t)lora_r(l, seq);
    size_t N = (size_t)B * T, D = c->D, FF = c->FF, QC = (size_t)c->NH * c->HD,
           KC = (size_t)c->NKV * c->HD, TT = seq ? (size_t)B * c->NH * T * T : 0;
    int qkn = seq && LLM_ARCH_HAS(c, LLM_ARCH_QK_NORM);
    size_t off = 0;
#define TAKE(field, count)                                \
    do {                                                  \
        a->field = base ? base + off : NULL;              \
        off += (count);                                   \
    } while (0)
    TAKE(x, N * D);
    TAKE(rstd1, N);
    TAKE(n, N * D);
    TAKE(q, seq ? N * QC : 0);
    TAKE(k, seq ? N * KC : 0);
    TAKE(qp, qkn ? N * QC : 0);
    TAKE(kp, qkn ? N * KC : 0);
    TAKE(rstd_q, qkn ? N * c->NH : 0);
    TAKE(rstd_k, qkn ? N * c->NKV : 0);
    TAKE(v, N * KC);
    TAKE(y, N * QC);
    TAKE(att, TT);
    TAKE(inv_freq, seq ? (size_t)c->HD / 2 : 0);
    TAKE(ap, N * D);
    TAKE(rstd_ap, N);
    TAKE(h, N * D);
    TAKE(rstd2, N);
    TAKE(n2, N * D);
    TAKE(gate, N * FF);
    TAKE(up, N * FF);
    TAKE(ga, N * FF);
    TAKE(g, N * FF);
    TAKE(mp, N * D);
    TAKE(rstd_mp, N);
    TAKE(dh, N * D);
    TAKE(dm, N * D);
    TAKE(dn, N * D);
    TAKE(df1, N * FF);
    TAKE(df2, N * FF);
    TAKE(df3, N * FF);
    TAKE(dq, seq ? N * QC : 0);
    TAKE(dy, N * QC);
    TAKE(dk, seq ? N * KC : 0);
    TAKE(dv, N * KC);
    TAKE(datt, TT);
    TAKE(lora_uq, N * r);
    TAKE(lora_uv, N * r);
    TAKE(lora_x, lora_p(l, seq) > 0.0f ? N * D : 0);
    TAKE(lora_du, N * r);
    TAKE(dqp, qkn ? N * QC : 0);
    TAKE(dkp, qkn ? N * KC : 0);
#undef TAKE
    return off;
}

/* The arena for (B, T, seq), grown when needed (never shrunk). */
static int acts_get(LlmLayer *l, int B, int T, int seq, LlmActs *a, PifiErr *err) {
    if (B < 1 || T < 1) return pifi_errf(err, "LLM layer %d: empty batch (B=%d, T=%d)", l->layer, B, T);
    /* (B, NH, T, T) must not overflow: bound the count in double first */
    double approx = (double)B * T * (4.0 * l->cfg.D + 6.0 * l->cfg.FF + 4.0 * l->cfg.NH * l->cfg.HD) +
                    (seq ? 2.0 * B * l->cfg.NH * (double)T * T : 0);
    if (approx > (double)(SIZE_MAX / 8))
        return pifi_errk(err, PIFI_ERR_RUNTIME, "LLM layer %d: training workspace for B=%d T=%d is too large",
                         l->layer, B, T);
    size_t need = acts_point(l, B, T, seq, NULL, a);
    if (need > l->ws_size) {
        free(l->ws);
        l->ws = pifi_malloc(need * sizeof(float), err);
        l->ws_size = l->ws ? need : 0;
        l->saved = 0;
        if (!l->ws) return -1;
    }
    acts_point(l, B, T, seq, l->ws, a);
    return 0;
}

void llm_layer_set_train(LlmLayer *l, int train) {
    if (!l->bf16_only && !l->q8_only) l->w16_fresh = 0; /* the fp32 weights may have changed */
    l->train = train != 0;
    l->saved = 0;
}

/* ------------------------------------------------------------------------ */
/* forward, keeping the activations */

/* From y (N, QC) to out (N, D): o_proj, [post-attn norm], residual, MLP. */
static void tail_forward(const LlmLayer *l, float *out, LlmActs *a, int N) {
    const LlmConfig *c = &l->cfg;
    const LlmLayerParams *p = &l->p;
    int D = c->D, FF = c->FF, QC = c->NH * c->HD;
    size_t ND = (size_t)N * D;
    PifiCompute *cx = l->cx;
    linear_forward(cx, a->ap, a->y, LLM_W(l, wo, so), p->bo, N, QC, D);
    if (p->norm_attn_post)
        rmsnorm_forward(a->h, a->rstd_ap, a->ap, p->norm_attn_post, c->norm_offset, N, D, c->rms_eps);
    else
        memcpy(a->h, a->ap, ND * sizeof(float));
    for (size_t i = 0; i < ND; i++) a->h[i] += a->x[i];
    rmsnorm_forward(a->n2, a->rstd2, a->h, p->norm_ffn, c->norm_offset, N, D, c->rms_eps);
    linear_forward(cx, a->gate, a->n2, LLM_W(l, wgate, sgate), NULL, N, D, FF);
    linear_forward(cx, a->up, a->n2, LLM_W(l, wup, sup), NULL, N, D, FF);
    glu_forward(a->g, a->ga, a->gate, a->up, c->act, (size_t)N * FF);
    linear_forward(cx, a->mp, a->g, LLM_W(l, wdown, sdown), NULL, N, FF, D);
    if (p->norm_ffn_post) {
        rmsnorm_forward(out, a->rstd_mp, a->mp, p->norm_ffn_post, c->norm_offset, N, D, c->rms_eps);
        for (size_t i = 0; i < ND; i++) out[i] = a->h[i] + out[i];
    } else {
        for (size_t i = 0; i < ND; i++) out[i] = a->h[i] + a->mp[i];
    }
}

int llm_layer_forward_pooled_train(LlmLayer *l, float *out, const float *x, int B, PifiErr *err) {
    const LlmConfig *c = &l->cfg;
    const LlmLayerParams *p = &l->p;
    int D = c->D, HD = c->HD, NH = c->NH, NKV = c->NKV, KC = NKV * HD, QC = NH * HD;
    LlmActs a;
    l->saved = 0;
    if (acts_get(l, B, 1, 0, &a, err)) return -1;
    memcpy(a.x, x, (size_t)B * D * sizeof(float));
    rmsnorm_forward(a.n, a.rstd1, a.x, p->norm_attn, c->norm_offset, B, D, c->rms_eps);
    linear_forward(l->cx, a.v, a.n, LLM_W(l, wv, sv), p->bv, B, D, KC);
    int group = NH / NKV;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            memcpy(a.y + (size_t)b * QC + (size_t)h * HD, a.v + (size_t)b * KC + (size_t)(h / group) * HD,
                   HD * sizeof(float));
    tail_forward(l, out, &a, B);
    l->saved = 1;
    l->saved_B = B;
    l->saved_T = 1;
    return 0;
}

int llm_layer_forward_seq_train(LlmLayer *l, float *out, const float *x, const int32_t *mask, int B, int T,
                                int causal, PifiErr *err) {
    const LlmConfig *c = &l->cfg;
    const LlmLayerParams *p = &l->p;
    int D = c->D, HD = c->HD, NH = c->NH, NKV = c->NKV, KC = NKV * HD, QC = NH * HD;
    LlmActs a;
    l->saved = 0;
    if (acts_get(l, B, T, 1, &a, err)) return -1;
    size_t N = (size_t)B * T;
    memcpy(a.x, x, N * D * sizeof(float));
    rmsnorm_forward(a.n, a.rstd1, a.x, p->norm_attn, c->norm_offset, (int)N, D, c->rms_eps);
    /* the projections (Gemma3: before its q/k norms), the adapters added to them as PEFT adds them */
    float *qraw = p->q_norm ? a.qp : a.q, *kraw = p->q_norm ? a.kp : a.k;
    linear_forward(l->cx, qraw, a.n, LLM_W(l, wq, sq), p->bq, (int)N, D, QC);
    linear_forward(l->cx, kraw, a.n, LLM_W(l, wk, sk), p->bk, (int)N, D, KC);
    linear_forward(l->cx, a.v, a.n, LLM_W(l, wv, sv), p->bv, (int)N, D, KC);
    if (l->lora) {
        llm_lora_forward(l->lora, 0, qraw, QC, a.n, a.lora_uq, a.lora_x, l->lora->dropout, B, T, D);
        llm_lora_forward(l->lora, 1, a.v, KC, a.n, a.lora_uv, a.lora_x, l->lora->dropout, B, T, D);
    }
    if (p->q_norm) {
        rmsnorm_forward(a.q, a.rstd_q, a.qp, p->q_norm, c->norm_offset, (int)N * NH, HD, c->rms_eps);
        rmsnorm_forward(a.k, a.rstd_k, a.kp, p->k_norm, c->norm_offset, (int)N * NKV, HD, c->rms_eps);
    }
    llm_config_layer_inv_freq(c, l->layer, a.inv_freq);
    rope_forward(a.q, NULL, a.inv_freq, B, T, NH, HD);
    rope_forward(a.k, NULL, a.inv_freq, B, T, NKV, HD);
    GqaParams gp = {NH, NKV, HD, c->attn_scale, c->softcap, causal};
    attention_gqa_forward(a.y, a.att, a.q, a.k, a.v, mask, B, T, &gp);
    tail_forward(l, out, &a, (int)N);
    l->saved = 2;
    l->saved_B = B;
    l->saved_T = T;
    l->saved_causal = causal;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* backward */

static void zero(float *p, size_t n) { memset(p, 0, n * sizeof(float)); }

#define GRAD(field) (grads ? grads->field : NULL)

/* From dout (N, D) to a->dy (N, QC) = dL/dy and a->dh (N, D) = dL/dh, the
 * residual path's share of dL/dx. */
static void tail_backward(const LlmLayer *l, LlmActs *a, const float *dout, LlmLayerParams *grads, int N) {
    const LlmConfig *c = &l->cfg;
    const LlmLayerParams *p = &l->p;
    int D = c->D, FF = c->FF, QC = c->NH * c->HD;
    size_t ND = (size_t)N * D, NF = (size_t)N * FF;
    memcpy(a->dh, dout, ND * sizeof(float));
    memcpy(a->dm, dout, ND * sizeof(float));
    const float *dmp = a->dm; /* dL/dmp */
    if (p->norm_ffn_post) {
        zero(a->dn, ND);
        rmsnorm_backward(a->dn, GRAD(norm_ffn_post), a->dm, a->mp, p->norm_ffn_post, c->norm_offset,
                         a->rstd_mp, N, D);
        dmp = a->dn;
    }
    zero(a->df3, NF);
    PifiCompute *cx = l->cx;
    linear_backward(cx, a->df3, GRAD(wdown), NULL, dmp, a->g, LLM_W(l, wdown, sdown), N, FF, D);
    zero(a->df1, NF);
    zero(a->df2, NF);
    glu_backward(a->df1, a->df2, a->df3, a->gate, a->up, a->ga, c->act, NF);
    zero(a->dm, ND); /* now dL/dn2 */
    linear_backward(cx, a->dm, GRAD(wgate), NULL, a->df1, a->n2, LLM_W(l, wgate, sgate), N, D, FF);
    linear_backward(cx, a->dm, GRAD(wup), NULL, a->df2, a->n2, LLM_W(l, wup, sup), N, D, FF);
    rmsnorm_backward(a->dh, GRAD(norm_ffn), a->dm, a->h, p->norm_ffn, c->norm_offset, a->rstd2, N, D);
    const float *dap = a->dh; /* dL/dap */
    if (p->norm_attn_post) {
        zero(a->dn, ND);
        rmsnorm_backward(a->dn, GRAD(norm_attn_post), a->dh, a->ap, p->norm_attn_post, c->norm_offset,
                         a->rstd_ap, N, D);
        dap = a->dn;
    }
    zero(a->dy, (size_t)N * QC);
    linear_backward(cx, a->dy, GRAD(wo), GRAD(bo), dap, a->y, LLM_W(l, wo, so), N, QC, D);
}

/* a->dn = dL/dn is complete: dx = dh + the input norm's backward. */
static void head_backward(const LlmLayer *l, LlmActs *a, float *dx, LlmLayerParams *grads, int N) {
    const LlmConfig *c = &l->cfg;
    memcpy(dx, a->dh, (size_t)N * c->D * sizeof(float));
    rmsnorm_backward(dx, GRAD(norm_attn), a->dn, a->x, l->p.norm_attn, c->norm_offset, a->rstd1, N, c->D);
}

static int check_saved(const LlmLayer *l, int mode, PifiErr *err) {
    static const char *names[] = {"", "pooled", "sequence"};
    if (!l->train)
        return pifi_errf(err, "LLM layer %d: backward needs training mode (llm_layer_set_train)", l->layer);
    if (l->saved == 0)
        return pifi_errf(err, "LLM layer %d: backward without a training-mode forward before it", l->layer);
    if (l->saved != mode)
        return pifi_errf(err, "LLM layer %d: %s backward after a %s forward", l->layer, names[mode],
                         names[l->saved]);
    return 0;
}

int llm_layer_backward_pooled(LlmLayer *l, float *dx, const float *dout, LlmLayerParams *grads,
                              PifiErr *err) {
    if (check_saved(l, 1, err)) return -1;
    const LlmConfig *c = &l->cfg;
    int B = l->saved_B, D = c->D, HD = c->HD, NH = c->NH, NKV = c->NKV, KC = NKV * HD, QC = NH * HD;
    LlmActs a;
    acts_point(l, B, 1, 0, l->ws, &a);
    tail_backward(l, &a, dout, grads, B);
    /* y = expand_gqa(v): each KV head's gradient sums its query heads' */
    int group = NH / NKV;
    zero(a.dv, (size_t)B * KC);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const float *src = a.dy + (size_t)b * QC + (size_t)h * HD;
            float *dst = a.dv + (size_t)b * KC + (size_t)(h / group) * HD;
            for (int i = 0; i < HD; i++) dst[i] += src[i];
        }
    zero(a.dn, (size_t)B * D);
    linear_backward(l->cx, a.dn, GRAD(wv), GRAD(bv), a.dv, a.n, LLM_W(l, wv, sv), B, D, KC);
    head_backward(l, &a, dx, grads, B);
    return 0;
}

int llm_layer_backward_seq(LlmLayer *l, float *dx, const float *dout, LlmLayerParams *grads,
                           PifiErr *err) {
    if (check_saved(l, 2, err)) return -1;
    const LlmConfig *c = &l->cfg;
    int B = l->saved_B, T = l->saved_T, D = c->D, HD = c->HD, NH = c->NH, NKV = c->NKV;
    int KC = NKV * HD, QC = NH * HD, N = B * T;
    LlmActs a;
    acts_point(l, B, T, 1, l->ws, &a);
    tail_backward(l, &a, dout, grads, N);
    zero(a.dq, (size_t)N * QC);
    zero(a.dk, (size_t)N * KC);
    zero(a.dv, (size_t)N * KC);
    GqaParams gp = {NH, NKV, HD, c->attn_scale, c->softcap, l->saved_causal};
    attention_gqa_backward(a.dq, a.dk, a.dv, a.datt, a.dy, a.q, a.k, a.v, a.att, B, T, &gp);
    rope_backward(a.dq, NULL, a.inv_freq, B, T, NH, HD);
    rope_backward(a.dk, NULL, a.inv_freq, B, T, NKV, HD);
    const float *dqp = a.dq, *dkp = a.dk; /* dL/d(Wq n + bq), dL/d(Wk n + bk) */
    if (l->p.q_norm) {
        zero(a.dqp, (size_t)N * QC);
        zero(a.dkp, (size_t)N * KC);
        rmsnorm_backward(a.dqp, GRAD(q_norm), a.dq, a.qp, l->p.q_norm, c->norm_offset, a.rstd_q, N * NH, HD);
        rmsnorm_backward(a.dkp, GRAD(k_norm), a.dk, a.kp, l->p.k_norm, c->norm_offset, a.rstd_k, N * NKV, HD);
        dqp = a.dqp;
        dkp = a.dkp;
    }
    zero(a.dn, (size_t)N * D);
    linear_backward(l->cx, a.dn, GRAD(wq), GRAD(bq), dqp, a.n, LLM_W(l, wq, sq), N, D, QC);
    linear_backward(l->cx, a.dn, GRAD(wk), GRAD(bk), dkp, a.n, LLM_W(l, wk, sk), N, D, KC);
    linear_backward(l->cx, a.dn, GRAD(wv), GRAD(bv), a.dv, a.n, LLM_W(l, wv, sv), N, D, KC);
    if (l->lora) {
        float p = l->lora->dropout;
        llm_lora_backward(l->lora, 0, dqp, QC, a.n, a.lora_uq, a.lora_du, a.lora_x, a.dn, p, B, T, D);
        llm_lora_backward(l->lora, 1, a.dv, KC, a.n, a.lora_uv, a.lora_du, a.lora_x, a.dn, p, B, T, D);
    }
    head_backward(l, &a, dx, grads, N);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* parameters as one flat vector */

static const size_t PARAM_FIELDS[] = {
    offsetof(LlmLayerParams, norm_attn), offsetof(LlmLayerParams, norm_attn_post),
    offsetof(LlmLayerParams, norm_ffn),  offsetof(LlmLayerParams, norm_ffn_post),
    offsetof(LlmLayerParams, wq),        offsetof(LlmLayerParams, wk),
    offsetof(LlmLayerParams, wv),        offsetof(LlmLayerParams, wo),
    offsetof(LlmLayerParams, bq),        offsetof(LlmLayerParams, bk),
    offsetof(LlmLayerParams, bv),        offsetof(LlmLayerParams, bo),
    offsetof(LlmLayerParams, wgate),     offsetof(LlmLayerParams, wup),
    offsetof(LlmLayerParams, wdown),     offsetof(LlmLayerParams, q_norm),
    offsetof(LlmLayerParams, k_norm),
};

int64_t llm_layer_trainable_count(const LlmLayer *l) {
    LlmLayerParams dummy;
    LlmTensorSpec specs[LLM_LAYER_MAX_SPECS];
    int n = llm_layer_specs(&l->cfg, &dummy, l->pooled_only, specs, LLM_LAYER_MAX_SPECS);
    int64_t total = 0;
    for (int i = 0; i < n; i++) total += specs[i].shape[0] * (specs[i].ndim == 2 ? specs[i].shape[1] : 1);
    return total;
}

void llm_layer_point_params(const LlmLayer *l, LlmLayerParams *p, float *mem) {
    for (size_t i = 0; i < sizeof PARAM_FIELDS / sizeof PARAM_FIELDS[0]; i++) {
        float *src = *(float *const *)((const char *)&l->p + PARAM_FIELDS[i]);
        *(float **)((char *)p + PARAM_FIELDS[i]) = src ? mem + (src - l->mem) : NULL;
    }
}
