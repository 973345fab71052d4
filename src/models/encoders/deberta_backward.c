/* deberta_backward.c: the DeBERTa family's backward pass (deberta_forward.c
 * in reverse), llm.c style: gradients ACCUMULATED into an arena laid out as
 * param_mem (deberta_layout) and the adapters' into one laid out as
 * lora_mem; one scratch arena per shape. Dropout masks are recomputed from
 * the forward's (seed, step); the forward keeps one layer's attention
 * probabilities and activation output, the others are recomputed here by the
 * same code (the same bits).
 *
 *   per layer, from g = dL/d(layer output):
 *     LN2, FFN (dropout, W2, act, W1) -> g;  LN1, Wo (dropout) -> attention
 *     (deberta_attention_backward: dqkv, and per batch row dL/dpk, dL/dpq)
 *     -> the q, k, v biases and Wqkv (+ LoRA) -> g;  pk, pq -> their weights
 *     (key_proj / query_proj with share_att_key) and dL/d rel (every layer's)
 *   (v2's ConvLayer between layers 1 and 0: deberta_conv_backward; its
 *   share of dL/dx0 joins layer 0's)
 *   then the relative embeddings (their LayerNorm) and the embeddings
 *   (dropout, mask, LayerNorm, embed_proj, the tables; the padding row of
 *   the word embeddings gets none, as nn.Embedding(padding_idx)). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/activation.h"
#include "kernels/compute.h"
#include "kernels/dropout.h"
#include "kernels/gemm.h"
#include "kernels/layernorm.h"
#include "models/encoders/deberta_internal.h"

static size_t point_grads(DebertaGrads *g, float *mem, const EncoderConfig *c, int B, int T, int R, int r) {
    size_t BT = (size_t)B * T, C = c->C, CE = c->C > c->E ? c->C : c->E, rel = (size_t)R;
    size_t nb_pk = c->deberta.c2p ? (size_t)B * rel * C : 0, nb_pq = c->deberta.p2c ? (size_t)B * rel * C : 0;
    struct {
        float **ptr;
        size_t n;
    } t[] = {
        {&g->g, BT * CE},       {&g->t1, BT * CE},      {&g->t2, BT * CE},  {&g->t3, BT * CE},
        {&g->dfch, BT * c->FF}, {&g->dqkv, BT * 3 * C}, {&g->datt, (size_t)B * c->NH * T * T},
        {&g->dpk_b, nb_pk},     {&g->dpq_b, nb_pq},     {&g->dpk, rel * C}, {&g->dpq, rel * C},
        {&g->drelx, rel * C},   {&g->drel, rel * C},    {&g->du, (BT > rel ? BT : rel) * (size_t)r},
        {&g->dconv_x0, c->deberta.conv_k ? BT * C : 0},
        {&g->dconv_col, c->deberta.conv_k ? BT * c->deberta.conv_k * (C / c->deberta.conv_groups) : 0},
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (mem) *t[i].ptr = t[i].n ? mem + total : NULL;
        total += t[i].n;
    }
    return total;
}

int64_t deberta_config_grad_scratch_floats(const EncoderConfig *c, int64_t B, int64_t T, int lora_r) {
    DebertaGrads g;
    int64_t nr = deberta_rel_rows(c), R = 2 * T - 1 < nr ? 2 * T - 1 : nr;
    return (int64_t)point_grads(&g, NULL, c, (int)B, (int)T, (int)R, lora_r);
}

static int ensure_grads(Encoder *m, PifiErr *err) {
    DebertaState *s = deberta_state(m);
    size_t n = point_grads(&s->gs, NULL, &m->cfg, m->B, m->T, s->R, m->lora_r);
    if (n > s->grad_cap) {
        free(s->grad_mem);
        s->grad_cap = 0;
        s->grad_mem = pifi_malloc(n * sizeof(float), err);
        if (!s->grad_mem) return -1;
        s->grad_cap = n;
    }
    point_grads(&s->gs, s->grad_mem, &m->cfg, m->B, m->T, s->R, m->lora_r);
    return 0;
}

static float *at(float *t, size_t off) { return t ? t + off : NULL; }
static void zero(float *p, size_t n) { memset(p, 0, n * sizeof *p); }

/* The q, k, v biases' gradients: column sums of dqkv (BT, 3C) by head. */
static void qkv_bias_backward(float *dqb, float *dkb, float *dvb, const float *dqkv, int v1, int BT, int C, int NH) {
    int hs = C / NH;
#pragma omp parallel for
    for (int col = 0; col < C; col++) {
        int h = col / hs, d = col % hs;
        size_t oq = v1 ? (size_t)h * 3 * hs + d : (size_t)col;
        size_t ok = v1 ? oq + hs : oq + C, ov = v1 ? oq + 2 * hs : oq + 2 * (size_t)C;
        float sq = 0.0f, sk = 0.0f, sv = 0.0f;
        for (int i = 0; i < BT; i++) {
            const float *row = dqkv + (size_t)i * 3 * C;
            sq += row[oq], sk += row[ok], sv += row[ov];
        }
        if (dqb) dqb[col] += sq;
        if (dkb) dkb[col] += sk;
        if (dvb) dvb[col] += sv;
    }
}

/* dst (R, C) = sum over b of src (B, R, C), in order. */
static void sum_rows(float *dst, const float *src, int B, size_t n) {
    memcpy(dst, src, n * sizeof *dst);
    for (int b = 1; b < B; b++) {
        const float *x = src + (size_t)b * n;
#pragma omp parallel for
        for (size_t i = 0; i < n; i++) dst[i] += x[i];
    }
}

int deberta_backward(Encoder *m, float *grads, float *lora_grads, const float *dout, PifiErr *err) {
    DebertaState *s = deberta_state(m);
    const EncoderConfig *c = &m->cfg;
    if (m->B <= 0 || !s->act_mem)
        return pifi_errf(err, "encoder_backward: no forward pass to differentiate (run encoder_forward first)");
    if (s->act_one)
        return pifi_errf(err, "encoder_backward: the last forward ran in inference mode (encoder_set_inference) "
                         "and kept no activations");
    if (m->fwd_lora_r != m->lora_r)
        return pifi_errf(err, "encoder_backward: LoRA was enabled or dropped after the forward pass; run the "
                         "forward again");
    if (!dout) return pifi_errf(err, "encoder_backward: dout is NULL");
    int train = grads != NULL, lora_train = lora_grads && m->lora_r > 0;
    if (!train && !lora_train) return 0;
    if (ensure_grads(m, err)) return -1;
    DebertaParams gp = {0};
    if (train) deberta_layout(c, &gp, grads, NULL);
    DebertaLora lg = {0};
    if (lora_train) deberta_lora_point(m, &lg, lora_grads);

    const DebertaParams *p = &s->p;
    const DebertaParams16 *w16 = compute_bf16(m->cx) && m->w16_fresh ? &s->w16 : NULL;
    PifiCompute *cx = m->cx;
    DebertaActs *a = &s->a;
    DebertaGrads *gs = &s->gs;
    int B = m->B, T = m->T, BT = B * T, C = c->C, E = c->E, FF = c->FF, NH = c->NH, R = s->R;
    int v1 = c->deberta.version == 1, sh = c->deberta.share_key;
    size_t nC = (size_t)BT * C, nF = (size_t)BT * FF, nR = (size_t)R * C;
    float hp = m->fwd_train ? c->hidden_dropout : 0.0f, ap = m->fwd_train ? c->attn_dropout : 0.0f;
    float lp = m->fwd_train ? m->lora_dropout : 0.0f;
    uint64_t seed = m->fwd_seed, step = m->fwd_step, row0 = m->fwd_row0;
    int use_c2p = R > 0 && c->deberta.c2p, use_p2c = R > 0 && c->deberta.p2c;
    int lora_rel = lora_train && sh && use_p2c;
    DebertaAttn d = {B, T, C, NH, R, v1, 1.0f / sqrtf((float)(C / NH) * (float)(1 + c->deberta.c2p + c->deberta.p2c)),
                     use_c2p ? s->idx : NULL, use_p2c ? s->idx + (size_t)T * T : NULL, m->mask, ap, seed, 0, row0};
#define W16(field, off) (w16 && w16->field ? w16->field + (off) : NULL)

    if (train && R > 0) zero(gs->drel, nR);
    memcpy(gs->g, dout, nC * sizeof *gs->g);
    int conv = c->deberta.conv_k > 0;
    for (int l = c->L - 1; l >= 0; l--) {
        size_t o = (size_t)l * BT, cc = (size_t)l * C * C, lc = (size_t)l * C, fc = (size_t)l * FF * C;
        const float *x = l == 0 ? a->x0 : l == 1 && conv ? a->conv_x : a->ln2 + (o - BT) * C;
        if (l == 0 && conv) /* g = dL/d conv_x: through v2's ConvLayer to layer 0's output (and x0) */
            deberta_conv_backward(m, train ? &gp : NULL, gs->g, gs->g, a->x0, gs->t1, gs->t2, hp, seed, step, row0);
        const float *qkv = a->qkv + o * 3 * C, *res1 = a->res1 + o * C, *ln1 = a->ln1 + o * C;
        const float *fch = a->fch + o * FF, *res2 = a->res2 + o * C;
        const float *pk = use_c2p ? a->pk + (size_t)l * nR : NULL, *pq = use_p2c ? a->pq + (size_t)l * nR : NULL;
        d.stream = deberta_stream(step, l, DEB_SITE_ATT_PROBS);
        if (l < c->L - 1 || !m->last_layer_kept) { /* the forward's code: the same bits */
            activation_forward((Activation)c->act, a->fch_act, fch, nF);
            deberta_attention_forward(a->atty, a->att, a->attd, a->c2p, a->p2c, qkv, pk, pq, &d);
        }
        m->last_layer_kept = 0;
        int need_dx = l > 0 || train;

        /* x_out = LN2(res2), res2 = ln1 + dropout(fch_act W2^T + b2) */
        zero(gs->t1, nC);
        layernorm_backward(gs->t1, at(gp.ln2w, lc), at(gp.ln2b, lc), gs->g, res2, p->ln2w + lc, a->ln2_mean + o,
                           a->ln2_rstd + o, BT, C);
        memcpy(gs->g, gs->t1, nC * sizeof *gs->g);
        const float *dffo = gs->t1;
        if (hp > 0.0f) {
            dropout_rows_backward(gs->t2, gs->t1, B, (size_t)T * C, hp, seed, deberta_stream(step, l, DEB_SITE_FFN_OUT),
                                  row0);
            dffo = gs->t2;
        }
        zero(gs->dfch, nF);
        linear_backward(cx, gs->dfch, at(gp.fcprojw, fc), at(gp.fcprojb, lc), dffo, a->fch_act,
                        linw(p->fcprojw + fc, W16(fcprojw, fc)), BT, FF, C);
        float *dpre = a->fch_act; /* done with: the gradient before the activation */
        zero(dpre, nF);
        activation_backward((Activation)c->act, dpre, fch, gs->dfch, nF);
        linear_backward(cx, gs->g, at(gp.fcw, fc), at(gp.fcb, (size_t)l * FF), dpre, ln1, linw(p->fcw + fc, W16(fcw, fc)),
                        BT, C, FF);

        /* ln1 = LN1(res1), res1 = x + dropout(atty Wo^T + bo) */
        zero(gs->t1, nC);
        layernorm_backward(gs->t1, at(gp.ln1w, lc), at(gp.ln1b, lc), gs->g, res1, p->ln1w + lc, a->ln1_mean + o,
                           a->ln1_rstd + o, BT, C);
        if (need_dx) memcpy(gs->g, gs->t1, nC * sizeof *gs->g);
        const float *dao = gs->t1;
        if (hp > 0.0f) {
            dropout_rows_backward(gs->t2, gs->t1, B, (size_t)T * C, hp, seed, deberta_stream(step, l, DEB_SITE_ATT_OUT),
                                  row0);
            dao = gs->t2;
        }
        zero(gs->t3, nC);
        linear_backward(cx, gs->t3, at(gp.attprojw, cc), at(gp.attprojb, lc), dao, a->atty,
                        linw(p->attprojw + cc, W16(attprojw, cc)), BT, C, C);
        zero(gs->dqkv, nC * 3);
        deberta_attention_backward(gs->dqkv, gs->dpk_b, gs->dpq_b, gs->datt, a->attd, a->c2p, a->p2c, gs->t3, qkv,
                                   a->att, pk, pq, &d);
        if (train) qkv_bias_backward(gp.qb + lc, at(gp.kb, lc), gp.vb + lc, gs->dqkv, v1, BT, C, NH);
        linear_backward(cx, need_dx ? gs->g : NULL, at(gp.qkvw, 3 * cc), NULL, gs->dqkv, x,
                        linw(p->qkvw + 3 * cc, W16(qkvw, 3 * cc)), BT, C, 3 * C);
        if (m->lora_r > 0)
            deberta_lora_backward(m, lora_train ? &lg : NULL, l, x, gs->dqkv, need_dx ? gs->g : NULL, B, T, lp, seed,
                                  step, row0);

        /* the positions: pk = relx Wpk^T + bpk, pq = relx Wpq^T + bpq (+ LoRA), relx = dropout(rel) */
        if (R > 0 && (train || lora_rel)) {
            const float *relx = a->relln;
            if (hp > 0.0f) {
                deberta_rel_dropout(a->relx, a->relln, s->r_lo, R, C, hp, seed, deberta_stream(step, l, DEB_SITE_REL));
                relx = a->relx;
            }
            float *drelx = train ? gs->drelx : NULL;
            if (drelx) zero(drelx, nR);
            if (use_c2p && train) {
                sum_rows(gs->dpk, gs->dpk_b, B, nR);
                size_t kofs = 3 * cc + (size_t)C * C;
                linear_backward(cx, drelx, sh ? gp.qkvw + kofs : gp.pkw + cc, sh ? gp.kb + lc : at(gp.pkb, lc),
                                gs->dpk, relx,
                                sh ? linw(p->qkvw + kofs, W16(qkvw, kofs)) : linw(p->pkw + cc, W16(pkw, cc)), R, C, C);
            }
            if (use_p2c) {
                sum_rows(gs->dpq, gs->dpq_b, B, nR);
                if (train)
                    linear_backward(cx, drelx, sh ? gp.qkvw + 3 * cc : gp.pqw + cc, sh ? gp.qb + lc : gp.pqb + lc,
                                    gs->dpq, relx,
                                    sh ? linw(p->qkvw + 3 * cc, W16(qkvw, 3 * cc)) : linw(p->pqw + cc, W16(pqw, cc)), R,
                                    C, C);
                if (sh && m->lora_r > 0)
                    deberta_lora_rel_backward(m, lora_train ? &lg : NULL, l, relx, gs->dpq, drelx, R, lp, seed, step);
            }
            if (drelx) {
                if (hp > 0.0f)
                    deberta_rel_dropout(drelx, drelx, s->r_lo, R, C, hp, seed, deberta_stream(step, l, DEB_SITE_REL));
                for (size_t i = 0; i < nR; i++) gs->drel[i] += drelx[i];
            }
        }
        if (m->grad_ready) m->grad_ready(m->grad_ready_ctx, l);
    }
    if (!train) return 0;

    /* the relative embeddings' rows that were read (through their LayerNorm) */
    if (R > 0) {
        float *drows = gp.rel + (size_t)s->r_lo * C;
        if (c->deberta.norm_rel)
            layernorm_backward(drows, gp.rel_lnw, gp.rel_lnb, gs->drel, p->rel + (size_t)s->r_lo * C, p->rel_lnw,
                               a->rel_mean, a->rel_rstd, R, C);
        else
            for (size_t i = 0; i < nR; i++) drows[i] += gs->drel[i];
    }
    /* embeddings: x0 = dropout(LN(in) * mask), in = [proj](emb) */
    if (conv)
        for (size_t i = 0; i < nC; i++) gs->g[i] += gs->dconv_x0[i];
    if (hp > 0.0f) dropout_rows_backward(gs->g, gs->g, B, (size_t)T * C, hp, seed, deberta_stream(step, -1, 0), row0);
    for (int i = 0; i < BT; i++)
        if (!m->mask[i]) zero(gs->g + (size_t)i * C, (size_t)C);
    zero(gs->t1, nC);
    layernorm_backward(gs->t1, gp.emb_lnw, gp.emb_lnb, gs->g, a->proj ? a->proj : a->emb, p->emb_lnw, a->emb_mean,
                       a->emb_rstd, BT, C);
    const float *demb = gs->t1;
    if (a->proj) {
        zero(gs->t2, (size_t)BT * E);
        linear_backward(cx, gs->t2, gp.projw, NULL, gs->t1, a->emb, linw(p->projw, W16(projw, 0)), BT, E, C);
        demb = gs->t2;
    }
    for (int i = 0; i < BT; i++) { /* serial: rows repeat */
        const float *dr = demb + (size_t)i * E;
        if (m->ids[i] != c->pad_id) {
            float *w = gp.wte + (size_t)m->ids[i] * E;
            for (int e = 0; e < E; e++) w[e] += dr[e];
        }
        if (gp.wpe) {
            float *w = gp.wpe + (size_t)(i % T) * E;
            for (int e = 0; e < E; e++) w[e] += dr[e];
        }
        if (gp.wtt) {
            float *w = gp.wtt + (size_t)m->type_ids[i] * E;
            for (int e = 0; e < E; e++) w[e] += dr[e];
        }
    }
#undef W16
    return 0;
}
