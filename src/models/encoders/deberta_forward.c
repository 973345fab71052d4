/* deberta_forward.c: the DeBERTa family's batched forward pass (post-LN
 * transformer with disentangled attention), as transformers' DebertaModel
 * and DebertaV2Model, with dropout where they have it in training (the
 * embeddings, each layer's relative embeddings (pos_dropout), attention
 * probabilities, attention and FFN outputs):
 *
 *   x = dropout(LN([embed_proj](word[id] + [pos[t]] + [type[tt]])) * mask)
 *   rel = [LN](rel_embeddings)                        (rows this T reads)
 *   for each layer:
 *     q, k, v = x Wq^T + bq, x Wk^T + bk, x Wv^T + bv  (v1: in_proj + q_bias, v_bias)
 *     pk = dropout(rel) Wpk^T + bpk,  pq = dropout(rel) Wpq^T + bpq
 *                (share_att_key: key_proj / query_proj; v1: pos_proj / pos_q_proj)
 *     a = x + Attn(q, k, v, pk, pq)    h1 = LN1(a)      (deberta_attention.c)
 *     f = h1 + W2 act(W1 h1)           x  = LN2(f)
 *     after layer 0, v2's ConvLayer (conv_kernel_size > 0): x = conv(x0, x)
 *                                                   (deberta_conv.c)
 *
 * Activations for the backward in DebertaState (deberta_internal.h); the
 * bf16 copies of the matrices (bf16 precision) refreshed here. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/activation.h"
#include "kernels/compute.h"
#include "kernels/dropout.h"
#include "kernels/gemm.h"
#include "kernels/layernorm.h"
#include "models/encoders/deberta_internal.h"

/* ------------------------------------------------------------------------ */
/* bf16 copies */

static size_t point_w16(DebertaParams16 *w, uint16_t *mem, const DebertaParams *p, const EncoderConfig *c) {
    size_t C = c->C, E = c->E, L = c->L, FF = c->FF;
    struct {
        uint16_t **ptr;
        size_t n;
    } t[] = {
        {&w->qkvw, L * 3 * C * C}, {&w->pkw, p->pkw ? L * C * C : 0}, {&w->pqw, p->pqw ? L * C * C : 0},
        {&w->attprojw, L * C * C}, {&w->fcw, L * FF * C},            {&w->fcprojw, L * C * FF},
        {&w->projw, p->projw ? C * E : 0},
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (mem) *t[i].ptr = t[i].n ? mem + total : NULL;
        total += t[i].n;
    }
    return total;
}

static int refresh_w16(Encoder *m, PifiErr *err) {
    DebertaState *s = deberta_state(m);
    const DebertaParams *p = &s->p;
    const EncoderConfig *c = &m->cfg;
    if (!s->w16_mem) {
        size_t n = point_w16(&s->w16, NULL, p, c);
        s->w16_mem = pifi_malloc(n * sizeof(uint16_t), err);
        if (!s->w16_mem) return -1;
        m->weight_bytes_allocated += n * sizeof(uint16_t);
        point_w16(&s->w16, s->w16_mem, p, c);
    }
    size_t C = c->C, L = c->L, FF = c->FF;
    bf16_from_f32(s->w16.qkvw, p->qkvw, L * 3 * C * C);
    if (p->pkw) bf16_from_f32(s->w16.pkw, p->pkw, L * C * C);
    if (p->pqw) bf16_from_f32(s->w16.pqw, p->pqw, L * C * C);
    bf16_from_f32(s->w16.attprojw, p->attprojw, L * C * C);
    bf16_from_f32(s->w16.fcw, p->fcw, L * FF * C);
    bf16_from_f32(s->w16.fcprojw, p->fcprojw, L * C * FF);
    if (p->projw) bf16_from_f32(s->w16.projw, p->projw, C * c->E);
    if (m->cx) compute_weights_changed(m->cx);
    m->w16_fresh = 1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* activations */

enum { ACT_ATTD = 1, ACT_LORA_X = 2 };

static size_t point_acts(DebertaActs *a, float *mem, const EncoderConfig *c, int B, int T, int R, int one,
                         unsigned flags, int r) {
    size_t BT = (size_t)B * T, C = c->C, E = c->E, L = one ? 1 : c->L, NH = c->NH, FF = c->FF;
    size_t rel = c->deberta.relative ? (size_t)R : 0, att = (size_t)B * NH * T * T;
    size_t npk = c->deberta.relative && c->deberta.c2p ? L * rel * C : 0;
    size_t npq = c->deberta.relative && c->deberta.p2c ? L * rel * C : 0;
    size_t lx = BT > rel ? BT : rel;
    size_t K = (size_t)c->deberta.conv_k, G = K ? (size_t)c->deberta.conv_groups : 1, nconv = K ? BT * C : 0;
    struct {
        float **ptr;
        size_t n;
    } t[] = {
        {&a->emb, BT * E},        {&a->proj, E != C ? BT * C : 0}, {&a->emb_ln, BT * C},
        {&a->emb_mean, BT},       {&a->emb_rstd, BT},              {&a->x0, BT * C},
        {&a->relln, rel * C},     {&a->rel_mean, rel},             {&a->rel_rstd, rel},
        {&a->relx, rel * C},      {&a->pk, npk},                   {&a->pq, npq},
        {&a->qkv, L * BT * 3 * C}, {&a->att, att},                 {&a->attd, flags & ACT_ATTD ? att : 0},
        {&a->c2p, npk ? (size_t)B * NH * T * rel : 0},             {&a->p2c, npq ? (size_t)B * NH * T * rel : 0},
        {&a->atty, BT * C},       {&a->res1, L * BT * C},          {&a->ln1, L * BT * C},
        {&a->ln1_mean, L * BT},   {&a->ln1_rstd, L * BT},          {&a->fch, L * BT * FF},
        {&a->fch_act, BT * FF},   {&a->res2, L * BT * C},          {&a->ln2, L * BT * C},
        {&a->ln2_mean, L * BT},   {&a->ln2_rstd, L * BT},
        {&a->lora_u, (size_t)c->L * 2 * BT * r}, /* every layer's, even in inference */
        {&a->lora_ur, npq ? (size_t)c->L * rel * r : 0},
        {&a->lora_x, flags & ACT_LORA_X ? lx * C : 0},
        {&a->conv_y, nconv},      {&a->conv_res, nconv},           {&a->conv_mean, K ? BT : 0},
        {&a->conv_rstd, K ? BT : 0}, {&a->conv_x, nconv},          {&a->conv_col, BT * K * (C / G)},
        {&a->conv_g, G > 1 ? BT * (C / G) : 0},
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (mem) *t[i].ptr = t[i].n ? mem + total : NULL;
        total += t[i].n;
    }
    return total;
}

static size_t widest(const EncoderConfig *c) {
    int w = c->FF > 3 * c->C ? c->FF : 3 * c->C;
    return (size_t)(w > c->E ? w : c->E);
}

static int ensure_acts(Encoder *m, int B, int T, int R, PifiErr *err) {
    DebertaState *s = deberta_state(m);
    const EncoderConfig *c = &m->cfg;
    unsigned flags = (m->train && c->attn_dropout > 0.0f ? ACT_ATTD : 0u) |
                     (m->lora_r > 0 && m->lora_dropout > 0.0f ? ACT_LORA_X : 0u);
    size_t rows = (size_t)B * T > (size_t)R ? (size_t)B * T : (size_t)R;
    if (m->cx && compute_reserve(m->cx, rows * widest(c), 0, err)) return -1; /* only grows; cx may be new */
    if (s->act_mem && s->act_B == B && s->act_T == T && s->act_R == R && s->act_one == m->inference &&
        s->act_flags == (int)flags && m->fwd_lora_r == m->lora_r)
        return 0;
    m->B = m->T = 0;
    size_t n = point_acts(&s->a, NULL, c, B, T, R, m->inference, flags, m->lora_r);
    if (n > s->act_cap) {
        free(s->act_mem);
        s->act_cap = 0;
        s->act_mem = pifi_malloc(n * sizeof(float), err);
        if (!s->act_mem) return -1;
        s->act_cap = n;
    }
    point_acts(&s->a, s->act_mem, c, B, T, R, m->inference, flags, m->lora_r);
    s->act_B = B, s->act_T = T, s->act_R = R, s->act_one = m->inference, s->act_flags = (int)flags;
    m->fwd_lora_r = m->lora_r;
    return 0;
}

/* The inputs kept for the backward, and the (T, T) row tables. */
static int ensure_inputs(Encoder *m, int B, int T, PifiErr *err) {
    DebertaState *s = deberta_state(m);
    size_t ni = (size_t)B * T, nx = 2 * (size_t)T * T + 2 * (size_t)T;
    if (ni > m->ids_cap) {
        free(m->ids), free(m->type_ids), free(m->mask);
        m->ids_cap = 0;
        m->ids = pifi_malloc(ni * sizeof(int32_t), err);
        m->type_ids = m->ids ? pifi_malloc(ni * sizeof(int32_t), err) : NULL;
        m->mask = m->type_ids ? pifi_malloc(ni * sizeof(int32_t), err) : NULL;
        if (!m->mask) {
            free(m->ids), free(m->type_ids);
            m->ids = m->type_ids = NULL;
            return -1;
        }
        m->ids_cap = ni;
    }
    if (nx > s->idx_cap) {
        free(s->idx);
        s->idx_cap = 0;
        s->idx = pifi_malloc(nx * sizeof(int32_t), err);
        if (!s->idx) return -1;
        s->idx_cap = nx;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* forward */

/* The linear layers' weights: fp32 with the bf16 copy in a bf16 context. */
static LinearW dw(const float *f, const uint16_t *h) { return linw(f, h); }
#define W16(field, off) (w16 && w16->field ? w16->field + (off) : NULL)

/* q, k, v biases added to qkv (BT, 3C) by head (v1: heads interleaved). */
static void add_qkv_bias(float *qkv, const float *qb, const float *kb, const float *vb, int v1, int BT, int C,
                         int NH) {
    int hs = C / NH;
#pragma omp parallel for
    for (int i = 0; i < BT; i++) {
        float *row = qkv + (size_t)i * 3 * C;
        for (int h = 0; h < NH; h++) {
            float *q = row + (v1 ? (size_t)h * 3 * hs : (size_t)h * hs);
            float *k = v1 ? q + hs : q + C, *v = v1 ? q + 2 * hs : q + 2 * C;
            for (int d = 0; d < hs; d++) {
                q[d] += qb[h * hs + d];
                if (kb) k[d] += kb[h * hs + d];
                v[d] += vb[h * hs + d];
            }
        }
    }
}

static void residual_add(float *out, const float *inp, size_t N) {
#pragma omp parallel for
    for (size_t i = 0; i < N; i++) out[i] += inp[i];
}

void deberta_rel_dropout(float *dst, const float *src, int r_lo, int R, int C, float p, uint64_t seed,
                         uint64_t stream) {
    DropoutMask d = dropout_mask(p, seed, stream);
    dropout_apply(dst, src, (size_t)R * C, &d, (uint64_t)r_lo * C);
}

int deberta_forward(Encoder *m, const int32_t *ids, const int32_t *type_ids, const int32_t *mask, int B, int T,
                    PifiErr *err) {
    DebertaState *s = deberta_state(m);
    const EncoderConfig *c = &m->cfg;
    if (B <= 0 || T <= 0) return pifi_errf(err, "encoder: empty batch (B=%d, T=%d)", B, T);
    if ((int64_t)B * T > INT32_MAX / 4 || T > 65536)
        return pifi_errf(err, "encoder: batch of %d x %d tokens is too large", B, T);
    int BT = B * T, C = c->C, E = c->E, FF = c->FF, NH = c->NH, v1 = c->deberta.version == 1;
    for (int i = 0; i < BT; i++) {
        if (ids[i] < 0 || ids[i] >= c->V)
            return pifi_errf(err, "encoder: token id %d out of range (vocab_size %d)", ids[i], c->V);
        if (type_ids && c->TV > 0 && (type_ids[i] < 0 || type_ids[i] >= c->TV))
            return pifi_errf(err, "encoder: token type id %d out of range (type_vocab_size %d)", type_ids[i], c->TV);
    }
    if (c->deberta.pos_input && T > c->maxT)
        return pifi_errf(err, "encoder: sequence of %d tokens is longer than max_position_embeddings %d allows", T,
                         c->maxT);
    m->B = m->T = 0; /* until this forward succeeds */
    if (ensure_inputs(m, B, T, err)) return -1;
    int R = 0;
    int32_t *c2p_idx = s->idx, *p2c_idx = s->idx + (size_t)T * T;
    if (c->deberta.relative) deberta_rel_index(c, T, c2p_idx, p2c_idx, s->idx + 2 * (size_t)T * T, &s->r_lo, &R);
    s->R = R;
    if (ensure_acts(m, B, T, R, err)) return -1;
    int bf = compute_bf16(m->cx);
    if (bf && !m->w16_fresh && refresh_w16(m, err)) return -1;
    const DebertaParams16 *w16 = bf ? &s->w16 : NULL;
    memcpy(m->ids, ids, (size_t)BT * sizeof *ids);
    for (int i = 0; i < BT; i++) {
        m->type_ids[i] = type_ids && c->TV > 0 ? type_ids[i] : 0;
        m->mask[i] = mask ? mask[i] != 0 : 1;
    }
    m->fwd_train = m->train;
    m->fwd_seed = m->seed, m->fwd_step = m->step, m->fwd_row0 = m->row0;
    float hp = m->train ? c->hidden_dropout : 0.0f, ap = m->train ? c->attn_dropout : 0.0f;
    float lp = m->train ? m->lora_dropout : 0.0f;
    uint64_t seed = m->seed, step = m->step, row0 = m->row0;
    const DebertaParams *p = &s->p;
    DebertaActs *a = &s->a;
    PifiCompute *cx = m->cx;

    /* embeddings: word + position + type, as transformers sums them */
#pragma omp parallel for
    for (int i = 0; i < BT; i++) {
        float *o = a->emb + (size_t)i * E;
        const float *w = p->wte + (size_t)m->ids[i] * E;
        const float *pe = p->wpe ? p->wpe + (size_t)(i % T) * E : NULL;
        const float *te = p->wtt ? p->wtt + (size_t)m->type_ids[i] * E : NULL;
        for (int e = 0; e < E; e++) {
            float v = w[e];
            if (pe) v += pe[e];
            if (te) v += te[e];
            o[e] = v;
        }
    }
    const float *ln_in = a->emb;
    if (a->proj) {
        linear_forward(cx, a->proj, a->emb, dw(p->projw, w16 ? w16->projw : NULL), NULL, BT, E, C);
        ln_in = a->proj;
    }
    layernorm_forward(a->emb_ln, a->emb_mean, a->emb_rstd, ln_in, p->emb_lnw, p->emb_lnb, BT, C, c->ln_eps);
    for (int i = 0; i < BT; i++) {
        const float *src = a->emb_ln + (size_t)i * C;
        float *dst = a->x0 + (size_t)i * C;
        float f = (float)m->mask[i];
        for (int e = 0; e < C; e++) dst[e] = src[e] * f;
    }
    if (hp > 0.0f)
        dropout_rows_forward(a->x0, a->x0, B, (size_t)T * C, hp, seed, deberta_stream(step, -1, 0), row0);
    /* the relative embeddings' rows this T reads, normalised */
    if (R > 0) {
        const float *rows = p->rel + (size_t)s->r_lo * C;
        if (c->deberta.norm_rel)
            layernorm_forward(a->relln, a->rel_mean, a->rel_rstd, rows, p->rel_lnw, p->rel_lnb, R, C, c->ln_eps);
        else
            memcpy(a->relln, rows, (size_t)R * C * sizeof(float));
    }
    int use_c2p = R > 0 && c->deberta.c2p, use_p2c = R > 0 && c->deberta.p2c;
    DebertaAttn d = {B, T, C, NH, R, v1, 1.0f / sqrtf((float)(C / NH) * (float)(1 + c->deberta.c2p + c->deberta.p2c)),
                     use_c2p ? c2p_idx : NULL, use_p2c ? p2c_idx : NULL, m->mask, ap, seed, 0, row0};

    const float *x = a->x0;
    for (int l = 0; l < c->L; l++) {
        int li = m->inference ? 0 : l;
        size_t o = (size_t)li * BT;
        float *qkv = a->qkv + o * 3 * C, *res1 = a->res1 + o * C, *ln1 = a->ln1 + o * C;
        float *fch = a->fch + o * FF, *res2 = a->res2 + o * C, *ln2 = a->ln2 + o * C;
        size_t cc = (size_t)l * C * C, lc = (size_t)l * C, fc = (size_t)l * FF * C;
        linear_forward(cx, qkv, x, dw(p->qkvw + 3 * cc, W16(qkvw, 3 * cc)), NULL, BT, C, 3 * C);
        if (m->lora_r > 0) deberta_lora_forward(m, l, x, qkv, B, T, lp, seed, step, row0);
        add_qkv_bias(qkv, p->qb + lc, p->kb ? p->kb + lc : NULL, p->vb + lc, v1, BT, C, NH);
        float *pk = use_c2p ? a->pk + (size_t)li * R * C : NULL, *pq = use_p2c ? a->pq + (size_t)li * R * C : NULL;
        if (R > 0) {
            const float *relx = a->relln;
            if (hp > 0.0f) {
                deberta_rel_dropout(a->relx, a->relln, s->r_lo, R, C, hp, seed, deberta_stream(step, l, DEB_SITE_REL));
                relx = a->relx;
            }
            int sh = c->deberta.share_key;
            if (pk)
                linear_forward(cx, pk, relx,
                               sh ? dw(p->qkvw + 3 * cc + (size_t)C * C, W16(qkvw, 3 * cc + (size_t)C * C))
                                  : dw(p->pkw + cc, W16(pkw, cc)),
                               sh ? p->kb + lc : p->pkb ? p->pkb + lc : NULL, R, C, C);
            if (pq) {
                linear_forward(cx, pq, relx, sh ? dw(p->qkvw + 3 * cc, W16(qkvw, 3 * cc)) : dw(p->pqw + cc, W16(pqw, cc)),
                               sh ? p->qb + lc : p->pqb + lc, R, C, C);
                if (sh && m->lora_r > 0) deberta_lora_rel_forward(m, l, relx, pq, R, lp, seed, step);
            }
        }
        d.stream = deberta_stream(step, l, DEB_SITE_ATT_PROBS);
        deberta_attention_forward(a->atty, a->att, a->attd, a->c2p, a->p2c, qkv, pk, pq, &d);
        linear_forward(cx, res1, a->atty, dw(p->attprojw + cc, W16(attprojw, cc)), p->attprojb + lc, BT, C, C);
        if (hp > 0.0f)
            dropout_rows_forward(res1, res1, B, (size_t)T * C, hp, seed, deberta_stream(step, l, DEB_SITE_ATT_OUT), row0);
        residual_add(res1, x, (size_t)BT * C);
        layernorm_forward(ln1, a->ln1_mean + o, a->ln1_rstd + o, res1, p->ln1w + lc, p->ln1b + lc, BT, C, c->ln_eps);
        linear_forward(cx, fch, ln1, dw(p->fcw + fc, W16(fcw, fc)), p->fcb + (size_t)l * FF, BT, C, FF);
        activation_forward((Activation)c->act, a->fch_act, fch, (size_t)BT * FF);
        linear_forward(cx, res2, a->fch_act, dw(p->fcprojw + fc, W16(fcprojw, fc)), p->fcprojb + lc, BT, FF, C);
        if (hp > 0.0f)
            dropout_rows_forward(res2, res2, B, (size_t)T * C, hp, seed, deberta_stream(step, l, DEB_SITE_FFN_OUT), row0);
        residual_add(res2, ln1, (size_t)BT * C);
        layernorm_forward(ln2, a->ln2_mean + o, a->ln2_rstd + o, res2, p->ln2w + lc, p->ln2b + lc, BT, C, c->ln_eps);
        x = ln2;
        if (l == 0 && c->deberta.conv_k) { /* v2's ConvLayer */
            deberta_conv_forward(m, a->x0, ln2, B, T, hp, seed, step, row0);
            x = a->conv_x;
        }
    }
    m->B = B, m->T = T;
    m->last_layer_kept = 1;
    return 0;
}

const float *deberta_output(const Encoder *m) {
    const DebertaState *s = deberta_state(m);
    if (m->cfg.L == 1 && m->cfg.deberta.conv_k) return s->a.conv_x;
    int last = s->act_one ? 0 : m->cfg.L - 1;
    return s->a.ln2 + (size_t)last * m->B * m->T * m->cfg.C;
}

/* The most a forward of (B, T) holds: every optional buffer, R = 2T - 1 rows. */
int64_t deberta_config_act_floats(const EncoderConfig *c, int64_t B, int64_t T, int layers, int lora_r) {
    DebertaActs a;
    int64_t nr = deberta_rel_rows(c), R = 2 * T - 1 < nr ? 2 * T - 1 : nr;
    return (int64_t)point_acts(&a, NULL, c, (int)B, (int)T, (int)R, layers < c->L, ACT_ATTD | ACT_LORA_X, lora_r) +
           (2 * T * T + 2 * T + 3 * B * T) / 1; /* the row tables and the inputs (ints, counted as floats) */
}
