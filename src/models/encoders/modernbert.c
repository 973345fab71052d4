/* modernbert.c: transformers' ModernBertModel (eager/sdpa attention, padded
 * batches: at real tokens the same as the unpadded flash path): its weights
 * into Encoder.param_mem, the forward pass with dropout in training, the
 * HF-named export. The backward is modernbert_backward.c.
 *
 *   h = dropout(LN(tok[id]))                                  (embedding_dropout)
 *   per layer l:  a = attn_norm(h)        (layer 0: a = h)
 *                 q, k, v = Wqkv a;  q, k = RoPE(q, k)         (full layers: global_rope_theta, else local)
 *                 h = h + dropout(Wo softmax(q k^T / sqrt(hs) + mask [+ window]) v)   (attention_dropout,
 *                                                              also on the probabilities; sliding layers:
 *                                                              keys within local_attention / 2)
 *                 h = h + Wo2 dropout(GELU(Wi_a m) * Wi_g m),  m = mlp_norm(h)          (mlp_dropout)
 *   out = final_norm(h)
 * Positions are 0..T-1 whatever the padding (position_ids = arange(T)), and
 * padded keys get no weight; a padded query's output is unspecified in
 * transformers (the unpadded path has none) and finite here. */
#include <math.h>
#include <stdio.h>
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
#include "pifi/safetensors.h"

/* ------------------------------------------------------------------------ */
/* parameters */

size_t mb_point_params(MbParams *p, float *mem, const EncoderConfig *c) {
    size_t C = c->C, L = c->L, FF = c->FF;
    size_t ab = c->modernbert.bias & MB_BIAS_ATTN ? 1 : 0, mb = c->modernbert.bias & MB_BIAS_MLP ? 1 : 0;
    size_t nb = c->modernbert.bias & MB_BIAS_NORM ? 1 : 0;
    struct {
        float **ptr;
        size_t n;
    } t[] = {
        {&p->tok, (size_t)c->V * C}, {&p->emb_nw, C},           {&p->emb_nb, nb * C},
        {&p->attn_nw, (L - 1) * C},  {&p->attn_nb, nb * (L - 1) * C},
        {&p->wqkv, L * 3 * C * C},   {&p->bqkv, ab * L * 3 * C}, {&p->wo, L * C * C}, {&p->bo, ab * L * C},
        {&p->mlp_nw, L * C},         {&p->mlp_nb, nb * L * C},
        {&p->wi, L * 2 * FF * C},    {&p->bi, mb * L * 2 * FF},  {&p->wo2, L * C * FF}, {&p->bo2, mb * L * C},
        {&p->fin_nw, C},             {&p->fin_nb, nb * C},
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (mem) *t[i].ptr = t[i].n ? mem + total : NULL;
        total += t[i].n;
    }
    return total;
}

/* One tensor of the checkpoint: name (printf'd with l), its rows and
 * columns (0: a vector), where it goes (NULL: the config has none). */
typedef struct {
    const char *name;
    int64_t d0, d1;
    float *dst;
} MbTensor;

/* Every tensor of the checkpoint in arena order, for loading and export;
 * returns the count (at most cap). */
static int mb_tensor_list(const EncoderConfig *c, const MbParams *p, MbTensor *t, char (*names)[160], int cap) {
    int64_t C = c->C, FF = c->FF;
    int n = 0;
#define PUT(d0_, d1_, dst_, ...)                                                                                    \
    do {                                                                                                         \
        if ((dst_) && n < cap) {                                                                                 \
            snprintf(names[n], 160, __VA_ARGS__);                                                                \
            t[n] = (MbTensor){names[n], (d0_), (d1_), (dst_)};                                                   \
            n++;                                                                                                 \
        }                                                                                                        \
    } while (0)
    PUT(c->V, C, p->tok, "embeddings.tok_embeddings.weight");
    PUT(C, 0, p->emb_nw, "embeddings.norm.weight");
    PUT(C, 0, p->emb_nb, "embeddings.norm.bias");
    for (int l = 0; l < c->L; l++) {
        size_t L1 = (size_t)(l > 0 ? l - 1 : 0);
        if (l > 0) {
            PUT(C, 0, p->attn_nw + L1 * C, "layers.%d.attn_norm.weight", l);
            PUT(C, 0, ENC_AT(p->attn_nb, L1 * C), "layers.%d.attn_norm.bias", l);
        }
        PUT(3 * C, C, p->wqkv + (size_t)l * 3 * C * C, "layers.%d.attn.Wqkv.weight", l);
        PUT(3 * C, 0, ENC_AT(p->bqkv, (size_t)l * 3 * C), "layers.%d.attn.Wqkv.bias", l);
        PUT(C, C, p->wo + (size_t)l * C * C, "layers.%d.attn.Wo.weight", l);
        PUT(C, 0, ENC_AT(p->bo, (size_t)l * C), "layers.%d.attn.Wo.bias", l);
        PUT(C, 0, p->mlp_nw + (size_t)l * C, "layers.%d.mlp_norm.weight", l);
        PUT(C, 0, ENC_AT(p->mlp_nb, (size_t)l * C), "layers.%d.mlp_norm.bias", l);
        PUT(2 * FF, C, p->wi + (size_t)l * 2 * FF * C, "layers.%d.mlp.Wi.weight", l);
        PUT(2 * FF, 0, ENC_AT(p->bi, (size_t)l * 2 * FF), "layers.%d.mlp.Wi.bias", l);
        PUT(C, FF, p->wo2 + (size_t)l * C * FF, "layers.%d.mlp.Wo.weight", l);
        PUT(C, 0, ENC_AT(p->bo2, (size_t)l * C), "layers.%d.mlp.Wo.bias", l);
    }
    PUT(C, 0, p->fin_nw, "final_norm.weight");
    PUT(C, 0, p->fin_nb, "final_norm.bias");
#undef PUT
    return n;
}

/* At most this many tensors in a checkpoint of c. */
static int mb_tensor_cap(const EncoderConfig *c) { return 5 + 12 * c->L; }

int modernbert_load(Encoder *m, const char *dir, PifiErr *err) {
    const EncoderConfig *c = &m->cfg;
    MbState *s = calloc(1, sizeof *s);
    if (!s) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    m->priv = s;
    size_t n = mb_point_params(&s->p, NULL, c);
    size_t nz = (size_t)(c->C > 2 * c->FF ? c->C : 2 * c->FF);
    int HD = c->C / c->NH;
    m->param_mem = enc_weights_alloc(m, n * sizeof(float), err);
    s->zeros = m->param_mem ? calloc(nz, sizeof(float)) : NULL;
    s->inv_freq = s->zeros ? malloc((size_t)HD * sizeof(float)) : NULL;
    if (!s->inv_freq) return m->param_mem ? pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory") : -1;
    mb_point_params(&s->p, m->param_mem, c);
    m->num_params = (int64_t)n;
    RopeParams rg = {.type = ROPE_DEFAULT, .theta = c->modernbert.rope_global};
    RopeParams rl = {.type = ROPE_DEFAULT, .theta = c->modernbert.rope_local};
    rope_inv_freq(s->inv_freq, &rg, HD);
    rope_inv_freq(s->inv_freq + HD / 2, &rl, HD);

    SafeTensors *st;
    if (st_open(&st, dir, err)) return -1;
    MbTensor *t = NULL;
    char(*names)[160] = NULL;
    int rc = -1;
    /* a task model's tensors carry "model." (ModernBertForSequenceClassification) */
    const char *prefix = NULL;
    static const char *const PREFIXES[] = {"", "model."};
    for (int i = 0; i < 2 && !prefix; i++) {
        char nm[64];
        snprintf(nm, sizeof nm, "%sembeddings.tok_embeddings.weight", PREFIXES[i]);
        const StTensor *t;
        int f = st_find(st, nm, &t, err);
        if (f < 0) goto fail;
        if (f == 0) prefix = PREFIXES[i];
    }
    if (!prefix) {
        pifi_errf(err, "%s: no tensor 'embeddings.tok_embeddings.weight' (with or without a model. prefix): not a "
                  "modernbert checkpoint", dir);
        goto fail;
    }
    int cap = mb_tensor_cap(c);
    t = malloc((size_t)cap * sizeof *t);
    names = t ? malloc((size_t)cap * sizeof *names) : NULL;
    if (!names) {
        pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        goto fail;
    }
    int nt = mb_tensor_list(c, &s->p, t, names, cap);
    for (int i = 0; i < nt; i++) {
        char full[200];
        snprintf(full, sizeof full, "%s%s", prefix, t[i].name);
        int64_t shape[2] = {t[i].d0, t[i].d1};
        if (st_read_f32(st, full, t[i].d1 ? 2 : 1, shape, t[i].dst, err)) goto fail;
    }
    rc = 0;
fail:
    free(t);
    free(names);
    st_close(st);
    return rc; /* on failure encoder_load frees m */
}

void modernbert_free(Encoder *m) {
    MbState *s = m->priv;
    if (s) {
        free(s->w16_mem);
        free(s->inv_freq);
        free(s->zeros);
        free(s->act_mem);
        free(s->grad_mem);
        free(s);
    }
    free(m->param_mem);
    free(m->ids);
    free(m->mask);
    m->priv = NULL;
}

/* ------------------------------------------------------------------------ */
/* bf16 copies of the matrices */

static int refresh_w16(Encoder *m, PifiErr *err) {
    MbState *s = m->priv;
    const EncoderConfig *c = &m->cfg;
    size_t C = c->C, L = c->L, FF = c->FF;
    size_t nq = L * 3 * C * C, no = L * C * C, ni = L * 2 * FF * C, n2 = L * C * FF;
    if (!s->w16_mem) {
        s->w16_mem = enc_weights_alloc(m, (nq + no + ni + n2) * sizeof(uint16_t), err);
        if (!s->w16_mem) return -1;
        s->w16 = (MbParams16){s->w16_mem, s->w16_mem + nq, s->w16_mem + nq + no, s->w16_mem + nq + no + ni};
    }
    bf16_from_f32(s->w16.wqkv, s->p.wqkv, nq);
    bf16_from_f32(s->w16.wo, s->p.wo, no);
    bf16_from_f32(s->w16.wi, s->p.wi, ni);
    bf16_from_f32(s->w16.wo2, s->p.wo2, n2);
    if (m->cx) compute_weights_changed(m->cx);
    m->w16_fresh = 1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* activations */

enum { DROP_ATT = 1u, DROP_MLP = 2u };

static size_t point_acts(MbActs *a, float *mem, const EncoderConfig *c, int B, int T, int inference, unsigned drop) {
    size_t BT = (size_t)B * T, C = c->C, FF = c->FF, NH = c->NH, L = inference ? 1 : c->L;
    size_t TT = (size_t)T * T;
    struct {
        float **ptr;
        size_t n;
    } t[] = {
        {&a->emb, BT * C},       {&a->emb_mean, BT},      {&a->emb_rstd, BT},
        {&a->h, inference ? 2 * BT * C : ((size_t)c->L + 1) * BT * C},
        {&a->an, L * BT * C},    {&a->an_mean, L * BT},   {&a->an_rstd, L * BT},
        {&a->qkv, L * BT * 3 * C}, {&a->att, B * NH * TT}, {&a->atty, BT * C},
        {&a->hm, L * BT * C},    {&a->mn, L * BT * C},    {&a->mn_mean, L * BT}, {&a->mn_rstd, L * BT},
        {&a->wi_a, L * BT * FF}, {&a->wi_g, L * BT * FF}, {&a->gact, BT * FF}, {&a->glu, BT * FF},
        {&a->out, BT * C},       {&a->out_mean, BT},      {&a->out_rstd, BT},
        {&a->window, c->L > 1 || mb_sliding(c, 0) ? NH * TT : 0},
        {&a->attd, drop & DROP_ATT ? B * NH * TT : 0},
        {&a->glu0, drop & DROP_MLP ? BT * FF : 0},
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (mem) *t[i].ptr = t[i].n ? mem + total : NULL;
        total += t[i].n;
    }
    return total;
}

static int ensure_acts(Encoder *m, int B, int T, unsigned drop, PifiErr *err) {
    MbState *s = m->priv;
    const EncoderConfig *c = &m->cfg;
    size_t widest = (size_t)(c->FF > 3 * c->C ? c->FF : 3 * c->C);
    if (s->act_mem && s->act_B == B && s->act_T == T && s->act_inference == m->inference && s->act_drop == drop &&
        (!m->cx || m->cx->s16_cap >= (size_t)B * T * widest))
        return 0;
    size_t n = point_acts(&s->a, NULL, c, B, T, m->inference, drop), ni = (size_t)B * T;
    m->B = m->T = 0;
    if (n > s->act_cap) {
        free(s->act_mem);
        s->act_cap = 0;
        s->act_mem = pifi_malloc(n * sizeof(float), err);
        if (!s->act_mem) return -1;
        s->act_cap = n;
    }
    if (ni > m->ids_cap) {
        free(m->ids);
        free(m->mask);
        m->ids_cap = 0;
        m->ids = pifi_malloc(ni * sizeof(int32_t), err);
        m->mask = m->ids ? pifi_malloc(ni * sizeof(int32_t), err) : NULL;
        if (!m->mask) {
            free(m->ids);
            m->ids = NULL;
            return -1;
        }
        m->ids_cap = ni;
    }
    if (m->cx && compute_reserve(m->cx, ni * widest, 0, err)) return -1;
    point_acts(&s->a, s->act_mem, c, B, T, m->inference, drop);
    s->act_B = B, s->act_T = T, s->act_inference = m->inference, s->act_drop = drop;
    return 0;
}

/* The sliding layers' scores bias (NH, T, T): 0 for keys within the window
 * of the query, else -1e30 (finite: a padded query whose window holds no
 * real key gets uniform weights over the real keys, never NaN). */
static void window_bias(float *w, int NH, int T, int window) {
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) w[(size_t)i * T + j] = abs(i - j) <= window ? 0.0f : -1e30f;
    for (int h = 1; h < NH; h++) memcpy(w + (size_t)h * T * T, w, (size_t)T * T * sizeof *w);
}

/* ------------------------------------------------------------------------ */
/* forward */

static void residual_add(float *out, const float *inp, size_t N) {
#pragma omp parallel for
    for (size_t i = 0; i < N; i++) out[i] += inp[i];
}

/* Layer l's attention core (into att, atty) and its MLP's GLU (into gact,
 * glu) from the kept qkv and Wi halves: the forward's code, which the
 * backward runs again for every layer but the last to get the same bits. */
void mb_attention(Encoder *m, int l, int li, float ap) {
    MbState *s = m->priv;
    const EncoderConfig *c = &m->cfg;
    MbActs *a = &s->a;
    int B = m->B, T = m->T, C = c->C;
    attention_forward_bias(a->atty, a->att, a->attd, a->qkv + (size_t)li * B * T * 3 * C, m->mask,
                           mb_sliding(c, l) ? a->window : NULL, B, T, C, c->NH, ap, m->fwd_seed,
                           encoder_stream(m->fwd_step, l, ENC_SITE_ATT_PROBS), m->fwd_row0);
}

void mb_glu(Encoder *m, int l, int li, float mp) {
    MbState *s = m->priv;
    const EncoderConfig *c = &m->cfg;
    MbActs *a = &s->a;
    int B = m->B, T = m->T;
    size_t o = (size_t)li * B * T * c->FF, n = (size_t)B * T * c->FF;
    float *g = mp > 0.0f ? a->glu0 : a->glu;
    glu_forward(g, a->gact, a->wi_a + o, a->wi_g + o, c->act, n);
    if (mp > 0.0f)
        dropout_rows_forward(a->glu, g, B, (size_t)T * c->FF, mp, m->fwd_seed,
                             encoder_stream(m->fwd_step, l, ENC_SITE_FFN_OUT), m->fwd_row0);
}

int modernbert_forward(Encoder *m, const int32_t *ids, const int32_t *type_ids, const int32_t *mask, int B, int T,
                       PifiErr *err) {
    (void)type_ids; /* ModernBERT has no token types */
    MbState *s = m->priv;
    const EncoderConfig *c = &m->cfg;
    if (B <= 0 || T <= 0) return pifi_errf(err, "encoder: empty batch (B=%d, T=%d)", B, T);
    if ((int64_t)B * T > INT32_MAX / 4) return pifi_errf(err, "encoder: batch of %d x %d tokens is too large", B, T);
    if (T > c->maxT)
        return pifi_errf(err, "encoder: sequence of %d tokens is longer than max_position_embeddings %d allows", T,
                         c->maxT);
    for (int i = 0; i < B * T; i++)
        if (ids[i] < 0 || ids[i] >= c->V)
            return pifi_errf(err, "encoder: token id %d out of range (vocab_size %d)", ids[i], c->V);
    float ep = m->train ? c->modernbert.emb_dropout : 0.0f, ap = m->train ? c->attn_dropout : 0.0f;
    float mp = m->train ? c->hidden_dropout : 0.0f;
    unsigned drop = (ap > 0.0f ? DROP_ATT : 0u) | (mp > 0.0f ? DROP_MLP : 0u);
    if (ensure_acts(m, B, T, drop, err)) return -1;
    m->B = m->T = 0; /* until this forward succeeds */
    int bf = compute_bf16(m->cx);
    if (bf && !m->w16_fresh && refresh_w16(m, err)) return -1;
    int BT = B * T, C = c->C, FF = c->FF, NH = c->NH, HD = C / NH;
    memcpy(m->ids, ids, (size_t)BT * sizeof *ids);
    for (int i = 0; i < BT; i++) m->mask[i] = mask ? mask[i] : 1;
    m->fwd_train = m->train, m->fwd_seed = m->seed, m->fwd_step = m->step, m->fwd_row0 = m->row0;
    m->fwd_lora_r = 0;
    uint64_t seed = m->seed, step = m->step, row0 = m->row0;
    const MbParams *p = &s->p;
    const MbParams16 *w16 = bf ? &s->w16 : NULL;
    PifiCompute *cx = m->cx;
    MbActs *a = &s->a;
    size_t nC = (size_t)BT * C;

    for (int i = 0; i < BT; i++) memcpy(a->emb + (size_t)i * C, p->tok + (size_t)ids[i] * C, (size_t)C * sizeof(float));
    float *h0 = a->h; /* h[0] */
    layernorm_forward(h0, a->emb_mean, a->emb_rstd, a->emb, p->emb_nw, p->emb_nb ? p->emb_nb : s->zeros, BT, C,
                      c->ln_eps);
    if (ep > 0.0f) dropout_rows_forward(h0, h0, B, (size_t)T * C, ep, seed, encoder_stream(step, -1, 0), row0);
    if (a->window) window_bias(a->window, NH, T, c->modernbert.window);
    m->B = B, m->T = T; /* mb_layer_recompute reads them */
    for (int l = 0; l < c->L; l++) {
        int li = m->inference ? 0 : l;
        size_t o = (size_t)li * BT;
        const float *h = a->h + (m->inference ? (size_t)(l & 1) : (size_t)l) * nC;
        float *hn = a->h + (m->inference ? (size_t)((l + 1) & 1) : (size_t)l + 1) * nC;
        const float *x = h; /* the attention's input */
        if (l > 0) {
            size_t L1 = (size_t)(l - 1) * C;
            layernorm_forward(a->an + o * C, a->an_mean + o, a->an_rstd + o, h, p->attn_nw + L1,
                              p->attn_nb ? p->attn_nb + L1 : s->zeros, BT, C, c->ln_eps);
            x = a->an + o * C;
        }
        float *qkv = a->qkv + o * 3 * C;
        size_t oq = (size_t)l * 3 * C * C, oo = (size_t)l * C * C, oi = (size_t)l * 2 * FF * C, o2 = (size_t)l * C * FF;
        linear_forward(cx, qkv, x, linw(p->wqkv + oq, w16 ? w16->wqkv + oq : NULL),
                       p->bqkv ? p->bqkv + (size_t)l * 3 * C : NULL, BT, C, 3 * C);
        rope_forward_rows(qkv, (size_t)3 * C, NULL, s->inv_freq + (mb_sliding(c, l) ? HD / 2 : 0), B, T, 2 * NH, HD);
        mb_attention(m, l, li, ap);
        float *hm = a->hm + o * C;
        linear_forward(cx, hm, a->atty, linw(p->wo + oo, w16 ? w16->wo + oo : NULL),
                       p->bo ? p->bo + (size_t)l * C : NULL, BT, C, C);
        if (ap > 0.0f)
            dropout_rows_forward(hm, hm, B, (size_t)T * C, ap, seed, encoder_stream(step, l, ENC_SITE_ATT_OUT), row0);
        residual_add(hm, h, nC);
        float *mn = a->mn + o * C;
        layernorm_forward(mn, a->mn_mean + o, a->mn_rstd + o, hm, p->mlp_nw + (size_t)l * C,
                          p->mlp_nb ? p->mlp_nb + (size_t)l * C : s->zeros, BT, C, c->ln_eps);
        float *wa = a->wi_a + o * FF, *wg = a->wi_g + o * FF;
        linear_forward(cx, wa, mn, linw(p->wi + oi, w16 ? w16->wi + oi : NULL), p->bi ? p->bi + (size_t)l * 2 * FF : NULL,
                       BT, C, FF);
        linear_forward(cx, wg, mn, linw(p->wi + oi + (size_t)FF * C, w16 ? w16->wi + oi + (size_t)FF * C : NULL),
                       p->bi ? p->bi + (size_t)l * 2 * FF + FF : NULL, BT, C, FF);
        mb_glu(m, l, li, mp);
        linear_forward(cx, hn, a->glu, linw(p->wo2 + o2, w16 ? w16->wo2 + o2 : NULL),
                       p->bo2 ? p->bo2 + (size_t)l * C : NULL, BT, FF, C);
        residual_add(hn, hm, nC);
    }
    const float *hL = a->h + (m->inference ? (size_t)(c->L & 1) : (size_t)c->L) * nC;
    layernorm_forward(a->out, a->out_mean, a->out_rstd, hL, p->fin_nw, p->fin_nb ? p->fin_nb : s->zeros, BT, C,
                      c->ln_eps);
    s->last_layer_kept = 1;
    return 0;
}

const float *modernbert_output(const Encoder *m) { return ((const MbState *)m->priv)->a.out; }

/* ------------------------------------------------------------------------ */
/* export */

int modernbert_export(const Encoder *m, const char *prefix, int merge_lora, EncoderExport *x, float **keep,
                      PifiErr *err) {
    (void)merge_lora; /* no adapters (modernbert_lora_enable refuses) */
    *keep = NULL;
    const MbState *s = m->priv;
    int cap = mb_tensor_cap(&m->cfg);
    if (cap > ENCODER_EXPORT_MAX) return pifi_errf(err, "encoder: %d layers are more than the exporter holds", m->cfg.L);
    MbTensor *t = malloc((size_t)cap * sizeof *t);
    char(*names)[160] = t ? malloc((size_t)cap * sizeof *names) : NULL;
    if (!names) {
        free(t);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    }
    int n = mb_tensor_list(&m->cfg, &s->p, t, names, cap);
    memset(x, 0, sizeof *x);
    snprintf(x->prefix, sizeof x->prefix, "%s", prefix ? prefix : "");
    for (int i = 0; i < n; i++) {
        snprintf(x->names[i], sizeof x->names[i], "%s%s", x->prefix, t[i].name);
        StWriteTensor *w = &x->t[i];
        w->name = x->names[i];
        w->dtype = PIFI_DT_F32;
        w->ndim = t[i].d1 ? 2 : 1;
        w->shape[0] = t[i].d0;
        w->shape[1] = t[i].d1;
        w->data = t[i].dst;
    }
    x->n = n;
    free(t);
    free(names);
    return 0;
}
