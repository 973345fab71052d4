/* modernbert_backward.c: the backward pass of modernbert.c's forward, llm.c
 * style: gradients ACCUMULATED into a flat arena laid out as param_mem
 * (mb_point_params), dropout masks recomputed from the (seed, step) the
 * forward ran with, the attention probabilities and the GLU of every layer
 * but the last recomputed (mb_attention, mb_glu: the same bits).
 *
 *   g = dL/d h[L] through final_norm; per layer l, from the top:
 *     MLP:  Wo2 (dropout) <- GLU <- Wi's two halves <- mlp_norm; g += (residual)
 *     attention: (dropout) Wo <- softmax(q k^T) v <- RoPE^-1 <- Wqkv <- attn_norm (layer 0: none); g +=
 *   embeddings: dropout, norm, rows of tok_embeddings (none for pad_token_id, as nn.Embedding). */
#include <stdlib.h>
#include <string.h>

#include "kernels/attention.h"
#include "kernels/compute.h"
#include "kernels/dropout.h"
#include "kernels/glu.h"
#include "kernels/layernorm.h"
#include "kernels/rope.h"
#include "models/encoders/encoder_internal.h"
#include "models/encoders/modernbert_internal.h"

static size_t point_grad(MbGrad *g, float *mem, const EncoderConfig *c, int B, int T) {
    size_t BT = (size_t)B * T, C = c->C, FF = c->FF;
    struct {
        float **ptr;
        size_t n;
    } t[] = {
        {&g->g, BT * C},     {&g->t1, BT * C}, {&g->t2, BT * C}, {&g->dqkv, BT * 3 * C},
        {&g->datt, (size_t)B * c->NH * T * T}, {&g->dglu, BT * FF}, {&g->da, BT * FF}, {&g->dg, BT * FF},
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (mem) *t[i].ptr = mem + total;
        total += t[i].n;
    }
    return total;
}

static void zero(float *p, size_t n) { memset(p, 0, n * sizeof *p); }

/* base + off, or NULL for a bias the config leaves out */
static float *at(float *base, size_t off) { return base ? base + off : NULL; }

int modernbert_backward(Encoder *m, float *grads, float *lora_grads, const float *dout, PifiErr *err) {
    (void)lora_grads; /* no adapters (modernbert_lora_enable refuses) */
    MbState *s = m->priv;
    const EncoderConfig *c = &m->cfg;
    if (m->B <= 0 || !s->act_mem)
        return pifi_errf(err, "encoder_backward: no forward pass to differentiate (run encoder_forward first)");
    if (s->act_inference)
        return pifi_errf(err, "encoder_backward: the last forward ran in inference mode (encoder_set_inference) "
                         "and kept no activations");
    if (!dout) return pifi_errf(err, "encoder_backward: dout is NULL");
    if (!grads) return 0; /* frozen */
    int B = m->B, T = m->T, BT = B * T, C = c->C, FF = c->FF, NH = c->NH, HD = C / NH;
    size_t n = point_grad(&s->gs, NULL, c, B, T);
    if (n > s->grad_cap) {
        free(s->grad_mem);
        s->grad_cap = 0;
        s->grad_mem = pifi_malloc(n * sizeof(float), err);
        if (!s->grad_mem) return -1;
        s->grad_cap = n;
    }
    point_grad(&s->gs, s->grad_mem, c, B, T);
    MbParams g;
    mb_point_params(&g, grads, c);
    const MbParams *p = &s->p;
    const MbParams16 *w16 = compute_bf16(m->cx) && m->w16_fresh ? &s->w16 : NULL;
    PifiCompute *cx = m->cx;
    MbActs *a = &s->a;
    MbGrad *gs = &s->gs;
    size_t nC = (size_t)BT * C, nF = (size_t)BT * FF;
    int tr = m->fwd_train;
    float ep = tr ? c->modernbert.emb_dropout : 0.0f, ap = tr ? c->attn_dropout : 0.0f, mp = tr ? c->hidden_dropout : 0.0f;
    uint64_t seed = m->fwd_seed, step = m->fwd_step, row0 = m->fwd_row0;

    /* out = final_norm(h[L]) */
    zero(gs->g, nC);
    layernorm_backward(gs->g, g.fin_nw, g.fin_nb, dout, a->h + (size_t)c->L * nC, p->fin_nw, a->out_mean, a->out_rstd,
                       BT, C);
    for (int l = c->L - 1; l >= 0; l--) {
        size_t o = (size_t)l * BT;
        size_t oq = (size_t)l * 3 * C * C, oo = (size_t)l * C * C, oi = (size_t)l * 2 * FF * C, o2 = (size_t)l * C * FF;
        const float *h = a->h + (size_t)l * nC, *hm = a->hm + o * C, *mn = a->mn + o * C, *qkv = a->qkv + o * 3 * C;
        if (l < c->L - 1 || !s->last_layer_kept) { /* the forward's code: the same bits */
            mb_attention(m, l, l, ap);
            mb_glu(m, l, l, mp);
        }
        s->last_layer_kept = 0;

        /* h[l+1] = hm + Wo2 dropout(GELU(wi_a) * wi_g) + bo2 */
        zero(gs->dglu, nF);
        linear_backward(cx, gs->dglu, g.wo2 + o2, at(g.bo2, (size_t)l * C), gs->g, a->glu,
                        linw(p->wo2 + o2, w16 ? w16->wo2 + o2 : NULL), BT, FF, C);
        if (mp > 0.0f)
            dropout_rows_backward(gs->dglu, gs->dglu, B, (size_t)T * FF, mp, seed,
                                  encoder_stream(step, l, ENC_SITE_FFN_OUT), row0);
        zero(gs->da, nF);
        zero(gs->dg, nF);
        glu_backward(gs->da, gs->dg, gs->dglu, a->wi_a + o * FF, a->wi_g + o * FF, a->gact, c->act, nF);
        zero(gs->t1, nC);
        linear_backward(cx, gs->t1, g.wi + oi, at(g.bi, (size_t)l * 2 * FF), gs->da, mn,
                        linw(p->wi + oi, w16 ? w16->wi + oi : NULL), BT, C, FF);
        size_t og = oi + (size_t)FF * C;
        linear_backward(cx, gs->t1, g.wi + og, at(g.bi, (size_t)l * 2 * FF + FF), gs->dg, mn,
                        linw(p->wi + og, w16 ? w16->wi + og : NULL), BT, C, FF);
        /* mn = mlp_norm(hm); hm also goes straight on (g holds it already) */
        layernorm_backward(gs->g, g.mlp_nw + (size_t)l * C, at(g.mlp_nb, (size_t)l * C), gs->t1, hm,
                           p->mlp_nw + (size_t)l * C, a->mn_mean + o, a->mn_rstd + o, BT, C);

        /* hm = h + dropout(Wo atty + bo) */
        const float *dy = gs->g;
        if (ap > 0.0f) {
            dropout_rows_backward(gs->t2, gs->g, B, (size_t)T * C, ap, seed, encoder_stream(step, l, ENC_SITE_ATT_OUT),
                                  row0);
            dy = gs->t2;
        }
        zero(gs->t1, nC);
        linear_backward(cx, gs->t1, g.wo + oo, at(g.bo, (size_t)l * C), dy, a->atty,
                        linw(p->wo + oo, w16 ? w16->wo + oo : NULL), BT, C, C);
        zero(gs->dqkv, 3 * nC);
        attention_backward(gs->dqkv, gs->datt, a->attd, gs->t1, qkv, a->att, B, T, C, NH, ap, seed,
                           encoder_stream(step, l, ENC_SITE_ATT_PROBS), row0);
        rope_backward_rows(gs->dqkv, (size_t)3 * C, NULL, s->inv_freq + (mb_sliding(c, l) ? HD / 2 : 0), B, T, 2 * NH,
                           HD);
        /* qkv = Wqkv x + bqkv, x = attn_norm(h) (layer 0: h itself) */
        const float *x = l > 0 ? a->an + o * C : h;
        float *dx = l > 0 ? gs->t1 : gs->g;
        if (l > 0) zero(gs->t1, nC);
        linear_backward(cx, dx, g.wqkv + oq, at(g.bqkv, (size_t)l * 3 * C), gs->dqkv, x,
                        linw(p->wqkv + oq, w16 ? w16->wqkv + oq : NULL), BT, C, 3 * C);
        if (l > 0) {
            size_t L1 = (size_t)(l - 1) * C;
            layernorm_backward(gs->g, g.attn_nw + L1, at(g.attn_nb, L1), gs->t1, h, p->attn_nw + L1,
                               a->an_mean + o, a->an_rstd + o, BT, C);
        }
        if (m->grad_ready) m->grad_ready(m->grad_ready_ctx, l);
    }

    /* h[0] = dropout(norm(tok[ids])) */
    if (ep > 0.0f) dropout_rows_backward(gs->g, gs->g, B, (size_t)T * C, ep, seed, encoder_stream(step, -1, 0), row0);
    zero(gs->t1, nC);
    layernorm_backward(gs->t1, g.emb_nw, g.emb_nb, gs->g, a->emb, p->emb_nw, a->emb_mean, a->emb_rstd, BT, C);
    for (int i = 0; i < BT; i++) { /* serial: rows repeat */
        if (m->ids[i] == c->pad_id) continue;
        float *w = g.tok + (size_t)m->ids[i] * C;
        const float *d = gs->t1 + (size_t)i * C;
        for (int e = 0; e < C; e++) w[e] += d[e];
    }
    return 0;
}
