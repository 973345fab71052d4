/* bart_forward.c: the BART family's two passes (bart_internal.h): encode
 * (source ids -> last_hidden_state of the encoder) and decode (teacher
 * forcing: the memory and the shifted targets -> logits), each keeping its
 * activations (BartActs, one allocation, grown when a batch needs more) for
 * its backward (bart_backward.c). In training (seq2seq_set_train) dropout
 * where transformers applies it: after layernorm_embedding, on the attention
 * probabilities (attention_dropout), after each out_proj and fc2 (dropout),
 * after the activation (activation_dropout); masks keyed by (the model's
 * seed, the site's stream, element), recomputed by the backward. In a bf16
 * context the linear layers take their weights from a bf16 copy of the
 * arena (bart_precision_prepare), made again at the first pass after a
 * backward, since an update of the fp32 weights follows a backward. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/activation.h"
#include "kernels/compute.h"
#include "kernels/dropout.h"
#include "kernels/gemm.h"
#include "kernels/layernorm.h"
#include "models/seq2seq/bart_internal.h"

/* ------------------------------------------------------------------------ */
/* activations */

/* Points a's buffers for a pass of B x T rows (decoder: over a memory of
 * B x Tk rows), growing the allocation when needed. */
static int acts_reserve(BartActs *a, const Seq2SeqConfig *c, int dec, int B, int T, int Tk, PifiErr *err) {
    int64_t C = c->C, NH = c->NH, L = dec ? c->L_dec : c->L_enc, FF = dec ? c->bart.dec_ff : c->bart.enc_ff;
    int64_t N = (int64_t)B * T, M = dec ? (int64_t)B * Tk : 0, LN = L * N, D = dec;
    struct {
        float **p;
        int64_t n;
    } f[] = {
        {&a->emb, N * C},          {&a->emb_mean, N},         {&a->emb_rstd, N},
        {&a->x, (L + 1) * N * C},  {&a->qkv, LN * 3 * C},     {&a->att, L * B * NH * T * T},
        {&a->ao, LN * C},          {&a->r1, LN * C},          {&a->h1, LN * C},
        {&a->m1, LN},              {&a->s1, LN},              {&a->cq, D * LN * C},
        {&a->ckv, L * M * 2 * C},  {&a->catt, D * L * B * NH * T * Tk}, {&a->cao, D * LN * C},
        {&a->r2, D * LN * C},      {&a->h2, D * LN * C},      {&a->m2, D * LN},
        {&a->s2, D * LN},          {&a->f1, LN * FF},         {&a->a1, LN * FF},
        {&a->r3, LN * C},          {&a->m3, LN},              {&a->s3, LN},
        {&a->memory, M * C},       {&a->logits, D * N * c->V},
        {&a->attd, a->p_attn > 0 ? B * NH * T * (T > Tk ? T : Tk) : 0},
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) total += (size_t)f[i].n;
    if (total > a->cap) {
        free(a->mem);
        a->cap = 0;
        a->mem = pifi_malloc(total * sizeof(float), err);
        if (!a->mem) return -1;
        a->cap = total;
    }
    float *p = a->mem;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        *f[i].p = f[i].n ? p : NULL;
        p += f[i].n;
    }
    int32_t *ids = realloc(a->ids, (size_t)N * sizeof *ids);
    if (ids) a->ids = ids;
    int64_t nm = dec ? (int64_t)B * Tk : N;
    int32_t *mask = ids ? realloc(a->mask, (size_t)nm * sizeof *mask) : NULL;
    if (mask) a->mask = mask;
    if (!ids || !mask) return pifi_errk(err, PIFI_ERR_RUNTIME, "bart: out of memory for a batch's ids");
    a->dec = dec, a->B = B, a->T = T, a->Tk = Tk;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* the blocks */

/* out (B*T, C) = shared[ids] * scale + pos[t + 2]. */
static void embed_forward(float *out, const int32_t *ids, const float *shared, const float *pos, int B, int T, int C,
                          float scale) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float *o = out + ((size_t)b * T + t) * C;
            const float *e = shared + (size_t)ids[b * T + t] * C, *p = pos + (size_t)(t + 2) * C;
            for (int i = 0; i < C; i++) o[i] = e[i] * scale + p[i];
        }
}

/* x (n) = dropout(x) at site (layer l, site) of the pass a, in place. */
static void drop_inplace(const BartActs *a, float *x, size_t n, float p, int l, int site) {
    if (p > 0.0f) dropout_forward(x, x, n, p, a->seed, bart_stream(a->dec, l, site));
}

/* The site's BartDrop for the attention probabilities. */
static BartDrop attn_drop(const BartActs *a, int l, int site) {
    return (BartDrop){a->p_attn, a->seed, bart_stream(a->dec, l, site)};
}

/* r (N, C) = x + dropout(inp Wo^T + bo), h = LN(r): an attention output's
 * projection, residual and LayerNorm (layer l, dropout site `site`). */
static void out_residual_ln(const Bart *b, const BartActs *a, int l, int site, float *r, float *h, float *mean,
                            float *rstd, const float *inp, const float *x, const float *ow, const float *ob,
                            const float *lnw, const float *lnb, int N, int C) {
    PifiCompute *cx = b->base.cx;
    linear_forward(cx, r, inp, bart_w(b, ow), ob, N, C, C);
    drop_inplace(a, r, (size_t)N * C, a->p_hidden, l, site);
    for (size_t i = 0; i < (size_t)N * C; i++) r[i] += x[i];
    layernorm_forward(h, mean, rstd, r, lnw, lnb, N, C, BART_LN_EPS);
}

/* The feed-forward block of layer l of stack s: out = LN(in + drop(fc2(drop(act(fc1(in)))))). */
static void ffn_forward(const Bart *b, const BartStack *s, BartActs *a, int l, int FF,
                        const float *in, float *out) {
    PifiCompute *cx = b->base.cx;
    const Seq2SeqConfig *c = &b->base.cfg;
    int64_t C = c->C, N = (int64_t)a->B * a->T;
    float *f1 = a->f1 + l * N * FF, *a1 = a->a1 + l * N * FF, *r3 = a->r3 + l * N * C;
    linear_forward(cx, f1, in, bart_w(b, s->fc1w + l * FF * C), s->fc1b + l * FF, (int)N, (int)C, FF);
    activation_forward((Activation)c->bart.act, a1, f1, (size_t)(N * FF));
    drop_inplace(a, a1, (size_t)(N * FF), a->p_act, l, BART_SITE_ACT);
    linear_forward(cx, r3, a1, bart_w(b, s->fc2w + l * C * FF), s->fc2b + l * C, (int)N, FF, (int)C);
    drop_inplace(a, r3, (size_t)(N * C), a->p_hidden, l, BART_SITE_FFN_OUT);
    for (int64_t i = 0; i < N * C; i++) r3[i] += in[i];
    layernorm_forward(out, a->m3 + l * N, a->s3 + l * N, r3, s->ln3w + l * C, s->ln3b + l * C, (int)N, (int)C,
                      BART_LN_EPS);
}

/* Layer l's self-attention block: h1 = LN(x + drop(Wo attn(x))). */
static void self_attn_forward(const Bart *b, const BartStack *s, BartActs *a, int l,
                              const int32_t *mask, int causal) {
    PifiCompute *cx = b->base.cx;
    const Seq2SeqConfig *c = &b->base.cfg;
    int64_t C = c->C, N = (int64_t)a->B * a->T, NH = c->NH;
    const float *x = a->x + l * N * C;
    float *qkv = a->qkv + l * N * 3 * C, *ao = a->ao + l * N * C;
    linear_forward(cx, qkv, x, bart_w(b, s->qkvw + l * 3 * C * C), s->qkvb + l * 3 * C, (int)N, (int)C, (int)(3 * C));
    BartDrop d = attn_drop(a, l, BART_SITE_ATT);
    bart_attention_forward(ao, a->att + l * a->B * NH * a->T * a->T, a->attd, qkv, (int)(3 * C), qkv + C, qkv + 2 * C,
                           (int)(3 * C), mask, a->B, a->T, a->T, (int)NH, (int)(C / NH), causal, &d);
    out_residual_ln(b, a, l, BART_SITE_ATT_OUT, a->r1 + l * N * C, a->h1 + l * N * C, a->m1 + l * N, a->s1 + l * N, ao, x, s->ow + l * C * C,
                    s->ob + l * C, s->ln1w + l * C, s->ln1b + l * C, (int)N, (int)C);
}

/* Embeddings and layernorm_embedding into x[0]. */
static void stack_embed(const Bart *b, const BartStack *s, BartActs *a) {
    const Seq2SeqConfig *c = &b->base.cfg;
    float scale = c->bart.scale_embedding ? (float)sqrt((double)c->C) : 1.0f;
    int N = a->B * a->T;
    embed_forward(a->emb, a->ids, b->p.shared, s->pos, a->B, a->T, c->C, scale);
    layernorm_forward(a->x, a->emb_mean, a->emb_rstd, a->emb, s->lnew, s->lneb, N, c->C, BART_LN_EPS);
    drop_inplace(a, a->x, (size_t)N * c->C, a->p_hidden, -1, BART_SITE_EMB);
}

/* ids (B, T) within the vocabulary and T within the positions. */
static int check_ids(const Seq2SeqConfig *c, const int32_t *ids, int B, int T, const char *what, PifiErr *err) {
    if (B < 1 || T < 1) return pifi_errf(err, "bart: %s: empty batch (%d x %d)", what, B, T);
    if (T > c->max_pos)
        return pifi_errf(err, "bart: %s: %d tokens, more than max_position_embeddings (%d)", what, T, c->max_pos);
    for (int i = 0; i < B * T; i++)
        if (ids[i] < 0 || ids[i] >= c->V)
            return pifi_errf(err, "bart: %s: token id %d at row %d, position %d is outside the vocabulary (%d)", what,
                             ids[i], i / T, i % T, c->V);
    return 0;
}

/* The pass's dropout: the config's in training, none in eval. */
static void set_dropout(const Seq2Seq *m, BartActs *a) {
    const Seq2SeqConfig *c = &m->cfg;
    a->p_hidden = m->train ? c->dropout : 0.0f;
    a->p_attn = m->train ? c->bart.attn_dropout : 0.0f;
    a->p_act = m->train ? c->bart.act_dropout : 0.0f;
    a->seed = m->seed;
}

/* ------------------------------------------------------------------------ */
/* the passes */

int bart_precision_prepare(Bart *b, int64_t rows, int64_t width, PifiErr *err) {
    b->w16 = NULL;
    if (!compute_bf16(b->base.cx)) return 0;
    if (compute_reserve(b->base.cx, (size_t)(rows * width), 0, err)) return -1;
    if (!b->w16_mem) {
        b->w16_mem = pifi_malloc((size_t)b->base.num_params * sizeof *b->w16_mem, err);
        if (!b->w16_mem) return -1;
        b->w16_fresh = 0;
    }
    if (!b->w16_fresh) {
        bf16_from_f32(b->w16_mem, b->base.param_mem, (size_t)b->base.num_params);
        compute_weights_changed(b->base.cx);
        b->w16_fresh = 1;
    }
    b->w16 = b->w16_mem;
    return 0;
}

static int64_t max3(int64_t x, int64_t y, int64_t z) { return x > y ? (x > z ? x : z) : (y > z ? y : z); }

int bart_encode(Seq2Seq *m, const int32_t *ids, const int32_t *mask, int B, int Ts, PifiErr *err) {
    Bart *b = bart_of(m);
    const Seq2SeqConfig *c = &m->cfg;
    BartActs *a = &b->enc;
    a->valid = 0;
    set_dropout(m, a);
    if (check_ids(c, ids, B, Ts, "source", err) || acts_reserve(a, c, 0, B, Ts, 0, err) ||
        bart_precision_prepare(b, (int64_t)B * Ts, max3(3 * (int64_t)c->C, c->bart.enc_ff, 0), err))
        return -1;
    memcpy(a->ids, ids, (size_t)B * Ts * sizeof *ids);
    for (int i = 0; i < B * Ts; i++) a->mask[i] = mask ? mask[i] != 0 : 1;
    const BartStack *s = &b->p.enc;
    int64_t N = (int64_t)B * Ts, C = c->C;
    stack_embed(b, s, a);
    for (int l = 0; l < c->L_enc; l++) {
        self_attn_forward(b, s, a, l, a->mask, 0);
        ffn_forward(b, s, a, l, c->bart.enc_ff, a->h1 + l * N * C, a->x + (l + 1) * N * C);
    }
    if (gemm_f32_take_faults()) return pifi_errk(err, PIFI_ERR_RUNTIME, "bart: encode: out of memory in a product");
    a->valid = 1;
    return 0;
}

const float *bart_encoder_output(const Seq2Seq *m) {
    const Bart *b = bart_cof(m);
    return b->enc.valid ? b->enc.x + (size_t)m->cfg.L_enc * b->enc.B * b->enc.T * m->cfg.C : NULL;
}

/* Layer l's cross-attention block: h2 = LN(h1 + drop(Wo' attn(h1 Wq, memory Wk, memory Wv))). */
static void cross_attn_forward(const Bart *b, const BartStack *s, BartActs *a, int l) {
    PifiCompute *cx = b->base.cx;
    const Seq2SeqConfig *c = &b->base.cfg;
    int64_t C = c->C, N = (int64_t)a->B * a->T, M = (int64_t)a->B * a->Tk, NH = c->NH;
    const float *h1 = a->h1 + l * N * C, *w = s->cqkvw + l * 3 * C * C, *bias = s->cqkvb + l * 3 * C;
    float *cq = a->cq + l * N * C, *ckv = a->ckv + l * M * 2 * C, *cao = a->cao + l * N * C;
    linear_forward(cx, cq, h1, bart_w(b, w), bias, (int)N, (int)C, (int)C);
    linear_forward(cx, ckv, a->memory, bart_w(b, w + C * C), bias + C, (int)M, (int)C, (int)(2 * C));
    BartDrop d = attn_drop(a, l, BART_SITE_CROSS);
    bart_attention_forward(cao, a->catt + l * a->B * NH * a->T * a->Tk, a->attd, cq, (int)C, ckv, ckv + C,
                           (int)(2 * C), a->mask, a->B, a->T, a->Tk, (int)NH, (int)(C / NH), 0, &d);
    out_residual_ln(b, a, l, BART_SITE_CROSS_OUT, a->r2 + l * N * C, a->h2 + l * N * C, a->m2 + l * N, a->s2 + l * N, cao, h1,
                    s->cow + l * C * C, s->cob + l * C, s->ln2w + l * C, s->ln2b + l * C, (int)N, (int)C);
}

int bart_decode(Seq2Seq *m, const float *memory, const int32_t *mem_mask, const int32_t *dec_ids, int B, int Ts,
                int Tt, PifiErr *err) {
    Bart *b = bart_of(m);
    const Seq2SeqConfig *c = &m->cfg;
    BartActs *a = &b->dec;
    a->valid = 0;
    if (Ts < 1) return pifi_errf(err, "bart: decode: empty memory (%d x %d)", B, Ts);
    set_dropout(m, a);
    if (check_ids(c, dec_ids, B, Tt, "target", err) || acts_reserve(a, c, 1, B, Tt, Ts, err) ||
        bart_precision_prepare(b, (int64_t)B * (Tt > Ts ? Tt : Ts), max3(3 * (int64_t)c->C, c->bart.dec_ff, c->V),
                               err))
        return -1;
    memcpy(a->ids, dec_ids, (size_t)B * Tt * sizeof *dec_ids);
    for (int i = 0; i < B * Ts; i++) a->mask[i] = mem_mask ? mem_mask[i] != 0 : 1;
    memcpy(a->memory, memory, (size_t)B * Ts * c->C * sizeof *memory);
    const BartStack *s = &b->p.dec;
    int64_t N = (int64_t)B * Tt, C = c->C;
    stack_embed(b, s, a);
    for (int l = 0; l < c->L_dec; l++) {
        self_attn_forward(b, s, a, l, NULL, 1);
        cross_attn_forward(b, s, a, l);
        ffn_forward(b, s, a, l, c->bart.dec_ff, a->h2 + l * N * C, a->x + (l + 1) * N * C);
    }
    linear_forward(m->cx, a->logits, a->x + c->L_dec * N * C, bart_w(b, b->p.shared), b->flb, (int)N, (int)C, c->V);
    if (gemm_f32_take_faults()) return pifi_errk(err, PIFI_ERR_RUNTIME, "bart: decode: out of memory in a product");
    a->valid = 1;
    return 0;
}

const float *bart_logits(const Seq2Seq *m) { return bart_cof(m)->dec.valid ? bart_cof(m)->dec.logits : NULL; }
