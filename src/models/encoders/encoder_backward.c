/* encoder_backward.c: the backward pass of the encoder (encoder.c's forward
 * in reverse), llm.c style: one scratch arena allocated once per shape,
 * gradients ACCUMULATED into a params-shaped arena, frozen tensors (NULL in
 * the gradient struct) skipped. Dropout masks are recomputed from the
 * (seed, step) the forward ran with. The forward keeps only the last layer's
 * attention probabilities and output and activation output: the others are
 * recomputed here, layer by layer, from qkv and fch (the same code, so the
 * same bits), into the same buffers (BERT-base, batch 32 x 100: 0.7 GB less).
 *
 *   per layer, from g = dL/d(layer output):
 *     LN2 -> dres2;  g = dres2 (residual);  FFN: dropout, W2, act, W1 -> g +=
 *     LN1 -> dres1;  g = dres1 (residual);  attention: dropout, Wo, softmax(qk)v,
 *     Wqkv (+ LoRA) -> g +=;  MPNet: the scores' gradient into the shared relb
 *   embeddings: (ELECTRA, ALBERT projection), dropout, LayerNorm, scatter into the tables.
 * ALBERT's layers share one layer's weights: every layer's gradients
 * accumulate into that one slice (enc_wl), the LoRA adapters' likewise.
 */
#include <stdlib.h>
#include <string.h>

#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/compute.h"
#include "kernels/dropout.h"
#include "kernels/gemm.h"
#include "kernels/layernorm.h"
#include "models/encoders/encoder_family.h"
#include "models/encoders/encoder_internal.h"
#include "pifi/encoder.h"

static size_t point_grad_scratch(EncoderGradScratch *s, float *mem, const EncoderConfig *c, int B,
                                 int T, int r) {
    size_t BT = (size_t)B * T, C = c->C, FF = c->FF;
    size_t CE = c->C > c->E ? c->C : c->E;
    struct {
        float **ptr;
        size_t n;
    } t[] = {
        {&s->g, BT * CE},         {&s->t1, BT * CE},   {&s->t2, BT * CE},
        {&s->t3, BT * CE},        {&s->dfch_act, BT * FF},
        {&s->dqkv, BT * 3 * C},   {&s->datt, (size_t)B * c->NH * T * T},
        {&s->du, BT * (size_t)r},
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (mem) *t[i].ptr = t[i].n ? mem + total : NULL;
        total += t[i].n;
    }
    return total;
}

static int ensure_grad_scratch(Encoder *m, PifiErr *err) {
    if (m->grad_mem && m->grad_B == m->B && m->grad_T == m->T && m->grad_r == m->lora_r) return 0;
    size_t n = point_grad_scratch(&m->gs, NULL, &m->cfg, m->B, m->T, m->lora_r);
    if (n > m->grad_cap) { /* grown, never shrunk: batches of varying length reuse it */
        free(m->grad_mem);
        m->grad_cap = 0;
        m->grad_mem = pifi_malloc(n * sizeof(float), err);
        if (!m->grad_mem) return -1;
        m->grad_cap = n;
    }
    point_grad_scratch(&m->gs, m->grad_mem, &m->cfg, m->B, m->T, m->lora_r);
    m->grad_B = m->B;
    m->grad_T = m->T;
    m->grad_r = m->lora_r;
    return 0;
}

/* Slice lw of a stacked gradient tensor, or NULL when frozen. */
static float *slice(float *t, size_t lw, size_t n) { return t ? t + lw * n : NULL; }

static void zero(float *p, size_t n) { memset(p, 0, n * sizeof *p); }

/* The embeddings' tables: rows named by the ids get the rows of demb (BT, E).
 * Serial: rows repeat, and the work is small next to the layers. */
static void embedding_backward(const Encoder *m, EncoderParams *g, const float *demb, int BT) {
    const EncoderConfig *c = &m->cfg;
    int E = c->E;
    for (int i = 0; i < BT; i++) {
        const float *d = demb + (size_t)i * E;
        /* nn.Embedding(padding_idx=pad): that row gets no gradient */
        if (g->wte && m->ids[i] != c->pad_id) {
            float *w = g->wte + (size_t)m->ids[i] * E;
            for (int e = 0; e < E; e++) w[e] += d[e];
        }
        if (g->wpe && !((c->arch == ENC_ROBERTA || c->arch == ENC_MPNET) && m->pos_ids[i] == c->pad_id)) {
            float *w = g->wpe + (size_t)m->pos_ids[i] * E;
            for (int e = 0; e < E; e++) w[e] += d[e];
        }
        if (g->wtt && c->TV > 0) {
            float *w = g->wtt + (size_t)m->type_ids[i] * E;
            for (int e = 0; e < E; e++) w[e] += d[e];
        }
    }
}

int bert_backward(Encoder *m, EncoderParams *grads, EncoderLora *lora_grads, const float *dout,
                  PifiErr *err) {
    const EncoderConfig *c = &m->cfg;
    if (m->B <= 0 || !m->act_mem)
        return pifi_errf(err, "encoder_backward: no forward pass to differentiate (run "
                         "encoder_forward first)");
    if (m->act_flags & ENC_ACT_ONE_LAYER)
        return pifi_errf(err, "encoder_backward: the last forward ran in inference mode (encoder_set_inference) "
                         "and kept no activations");
    if (m->fwd_lora_r != m->lora_r)
        return pifi_errf(err, "encoder_backward: LoRA was enabled or dropped after the forward "
                         "pass; run the forward again");
    if (!dout) return pifi_errf(err, "encoder_backward: dout is NULL");
    EncoderParams none = {0};
    EncoderParams *gp = grads ? grads : &none;
    int emb_train = gp->wte || gp->wpe || gp->wtt || gp->emb_lnw || gp->emb_lnb || gp->projw ||
                    gp->projb;
    int layer_train = gp->qkvw || gp->qkvb || gp->attprojw || gp->attprojb || gp->ln1w ||
                      gp->ln1b || gp->fcw || gp->fcb || gp->fcprojw || gp->fcprojb || gp->ln2w ||
                      gp->ln2b || gp->relb;
    int lora_train = m->lora_r > 0 && lora_grads &&
                     (lora_grads->qa || lora_grads->qb || lora_grads->va || lora_grads->vb);
    if (!emb_train && !layer_train && !lora_train) return 0; /* everything frozen */
    if (m->int8_only) return pifi_errf(err, "encoder_backward: an int8 encoder is for inference only");
    if (ensure_grad_scratch(m, err)) return -1;

    const EncoderParams *p = &m->params;
    PifiCompute *cx = m->cx;
    /* the bf16 copies the forward used (bf16 precision) */
    const EncoderParams16 *w16 = compute_bf16(cx) && m->w16_fresh ? &m->w16 : NULL;
    const EncoderActs *a = &m->acts;
    EncoderGradScratch *s = &m->gs;
    int B = m->B, T = m->T, BT = B * T, C = c->C, E = c->E, FF = c->FF, NH = c->NH;
    size_t nC = (size_t)BT * C, nF = (size_t)BT * FF;
    int tr = m->fwd_train;
    float hp = tr ? c->hidden_dropout : 0.0f, ap = tr ? c->attn_dropout : 0.0f;
    float lp = tr ? m->lora_dropout : 0.0f;
    uint64_t seed = m->fwd_seed, step = m->fwd_step, row0 = m->fwd_row0;
    /* the first layer's input: emb_ln, after dropout, after the projection */
    const float *emb_out = hp > 0.0f ? a->emb_drop : a->emb_ln;
    const float *x0 = a->proj ? a->proj : emb_out;

    memcpy(s->g, dout, nC * sizeof *s->g);
    for (int l = c->L - 1; l >= 0; l--) {
        size_t o = (size_t)l * BT;
        const float *x = l == 0 ? x0 : a->ln2 + (o - BT) * C;
        const float *qkv = a->qkv + o * 3 * C, *att = a->att, *atty = a->atty;
        const float *res1 = a->res1 + o * C, *ln1 = a->ln1 + o * C;
        const float *fch = a->fch + o * FF, *fch_act = a->fch_act;
        const float *res2 = a->res2 + o * C;
        int need_dx = l > 0 || emb_train;
        size_t lw = enc_wl(c, l); /* the weights layer l ran (ALBERT: the shared ones) */
        if (l < c->L - 1 || !m->last_layer_kept) { /* the same code as the forward: the same bits */
            activation_forward((Activation)c->act, a->fch_act, fch, nF);
            attention_forward_bias(a->atty, a->att, a->attd, qkv, m->mask, a->relbias, B, T, C, NH, ap, seed,
                                   encoder_stream(step, l, ENC_SITE_ATT_PROBS), row0);
        }
        m->last_layer_kept = 0; /* fch_act becomes the activation's gradient below */

        /* x_out = LN2(res2), res2 = ln1 + dropout(fch_act W2^T + b2) */
        zero(s->t1, nC);
        layernorm_backward(s->t1, slice(gp->ln2w, lw, C), slice(gp->ln2b, lw, C), s->g, res2, p->ln2w + lw * C,
                           a->ln2_mean + o, a->ln2_rstd + o, BT, C);
        memcpy(s->g, s->t1, nC * sizeof *s->g); /* dln1 through the residual */
        const float *dffo = s->t1;
        if (hp > 0.0f && enc_ffn_dropout(c)) {
            dropout_rows_backward(s->t2, s->t1, B, (size_t)T * C, hp, seed, encoder_stream(step, l, ENC_SITE_FFN_OUT),
                                  row0);
            dffo = s->t2;
        }
        size_t oq = lw * 3 * C * C, oa = lw * C * C, of = lw * FF * C;
        zero(s->dfch_act, nF);
        linear_backward(cx, s->dfch_act, slice(gp->fcprojw, lw, (size_t)C * FF), slice(gp->fcprojb, lw, C), dffo,
                        fch_act, linw(p->fcprojw + of, w16 ? w16->fcprojw + of : NULL), BT, FF, C);
        float *dfch = a->fch_act; /* done with: the gradient before the activation goes there */
        zero(dfch, nF);
        activation_backward((Activation)c->act, dfch, fch, s->dfch_act, nF);
        linear_backward(cx, s->g, slice(gp->fcw, lw, (size_t)FF * C), slice(gp->fcb, lw, FF), dfch, ln1,
                        linw(p->fcw + of, w16 ? w16->fcw + of : NULL), BT, C, FF);

        /* ln1 = LN1(res1), res1 = x + dropout(atty Wo^T + bo) */
        zero(s->t1, nC);
        layernorm_backward(s->t1, slice(gp->ln1w, lw, C), slice(gp->ln1b, lw, C), s->g, res1, p->ln1w + lw * C,
                           a->ln1_mean + o, a->ln1_rstd + o, BT, C);
        if (need_dx) memcpy(s->g, s->t1, nC * sizeof *s->g); /* dx through the residual */
        const float *dao = s->t1;
        if (hp > 0.0f) {
            dropout_rows_backward(s->t2, s->t1, B, (size_t)T * C, hp, seed, encoder_stream(step, l, ENC_SITE_ATT_OUT),
                                  row0);
            dao = s->t2;
        }
        zero(s->t3, nC);
        linear_backward(cx, s->t3, slice(gp->attprojw, lw, (size_t)C * C), slice(gp->attprojb, lw, C), dao,
                        atty, linw(p->attprojw + oa, w16 ? w16->attprojw + oa : NULL), BT, C, C);
        zero(s->dqkv, nC * 3);
        attention_backward(s->dqkv, s->datt, a->attd, s->t3, qkv, att, B, T, C, NH, ap, seed,
                           encoder_stream(step, l, ENC_SITE_ATT_PROBS), row0);
        if (gp->relb) mpnet_relbias_backward(gp->relb, s->datt, B, NH, T); /* MPNet: every layer's share */
        linear_backward(cx, need_dx ? s->g : NULL, slice(gp->qkvw, lw, (size_t)3 * C * C),
                        slice(gp->qkvb, lw, (size_t)3 * C), s->dqkv, x,
                        linw(p->qkvw + oq, w16 ? w16->qkvw + oq : NULL), BT, C, 3 * C);
        if (m->lora_r > 0)
            encoder_lora_backward(m, lora_grads, l, x, s->dqkv, need_dx ? s->g : NULL, B, T, lp,
                                  seed, step, row0);
        if (m->grad_ready) m->grad_ready(m->grad_ready_ctx, l); /* ALBERT: no per-layer tensor to be ready */
    }
    if (!emb_train) return 0;

    /* embeddings: x0 = [proj](dropout(LN(emb))) */
    size_t nE = (size_t)BT * E;
    float *demb_out = s->g; /* (BT, E) */
    if (a->proj) {
        zero(s->t1, nE);
        linear_backward(cx, s->t1, gp->projw, gp->projb, s->g, emb_out, linw(p->projw, w16 ? w16->projw : NULL),
                        BT, E, C);
        demb_out = s->t1;
    }
    if (hp > 0.0f)
        dropout_rows_backward(demb_out, demb_out, B, (size_t)T * E, hp, seed, encoder_stream(step, -1, 0), row0);
    zero(s->t2, nE);
    layernorm_backward(s->t2, gp->emb_lnw, gp->emb_lnb, demb_out, a->emb, p->emb_lnw, a->emb_mean,
                       a->emb_rstd, BT, E);
    embedding_backward(m, gp, s->t2, BT);
    return 0;
}

int bert_backward_mem(Encoder *m, float *grads, float *lora_grads, const float *dout, PifiErr *err) {
    EncoderParams g = {0};
    EncoderLora lg = {0};
    if (grads) {
        encoder_point_params(m, &g, grads);
        g.poolw = g.poolb = NULL; /* never trained by PiFi */
    }
    if (lora_grads && m->lora_r > 0) encoder_lora_point(m, &lg, lora_grads);
    return bert_backward(m, grads ? &g : NULL, lora_grads ? &lg : NULL, dout, err);
}

static int bert_shaped(const Encoder *m, PifiErr *err) {
    if (m->cfg.family && m->cfg.family->backward == bert_backward_mem) return 0;
    return pifi_errf(err, "encoder_backward: the %s family's weights are not BERT-shaped (use encoder_backward_mem)",
                     m->cfg.family ? m->cfg.family->name : "(none)");
}

int encoder_backward(Encoder *m, EncoderParams *grads, const float *dout, PifiErr *err) {
    if (bert_shaped(m, err)) return -1;
    return bert_backward(m, grads, NULL, dout, err);
}

int encoder_backward_lora(Encoder *m, EncoderParams *grads, EncoderLora *lora_grads, const float *dout,
                          PifiErr *err) {
    if (bert_shaped(m, err)) return -1;
    return bert_backward(m, grads, lora_grads, dout, err);
}
