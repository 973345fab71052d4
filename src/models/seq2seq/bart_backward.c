/* bart_backward.c: the backwards of the BART family's two passes
 * (bart_forward.c), llm.c style: the gradients ACCUMULATED into an arena laid
 * out as the parameters (bart_layout points a BartParams into it), each
 * block's backward in the reverse order of its forward, from the activations
 * the pass kept. The embedding rows of the pad id get no gradient from the
 * lookups (nn.Embedding's padding_idx), only from the tied LM head. The
 * dropout masks of a training pass are recomputed from its seed and sites. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/activation.h"
#include "kernels/compute.h"
#include "kernels/dropout.h"
#include "kernels/gemm.h"
#include "kernels/layernorm.h"
#include "models/seq2seq/bart_internal.h"

/* The backwards' temporaries for a pass of N rows, FF wide, attention
 * probabilities of AT floats, a memory of M rows. */
typedef struct {
    float *dy;   /* (N, C) the gradient of the current layer's output, then of its input */
    float *dr;   /* (N, C) of a LayerNorm's input */
    float *dh;   /* (N, C) of a LayerNorm's output inside the layer */
    float *dao;  /* (N, C) of the heads before out_proj */
    float *dqkv; /* (N, 3C) */
    float *datt; /* (AT) */
    float *df;   /* (N, FF) of fc1's output */
    float *da;   /* (N, FF) of the activation's output */
    float *dkv;  /* (M, 2C) of the cross-attention's keys | values */
} BartGradTmp;

static int scratch_reserve(Bart *b, int64_t N, int64_t FF, int64_t AT, int64_t M, BartGradTmp *t, PifiErr *err) {
    int64_t C = b->base.cfg.C;
    struct {
        float **p;
        int64_t n;
    } f[] = {{&t->dy, N * C},      {&t->dr, N * C}, {&t->dh, N * C}, {&t->dao, N * C}, {&t->dqkv, N * 3 * C},
             {&t->datt, AT},       {&t->df, N * FF}, {&t->da, N * FF}, {&t->dkv, M * 2 * C}};
    size_t total = 0;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) total += (size_t)f[i].n;
    if (total > b->scratch_cap) {
        free(b->scratch);
        b->scratch_cap = 0;
        b->scratch = pifi_malloc(total * sizeof(float), err);
        if (!b->scratch) return -1;
        b->scratch_cap = total;
    }
    float *p = b->scratch;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        *f[i].p = p;
        p += f[i].n;
    }
    return 0;
}

static void zero(float *x, int64_t n) { memset(x, 0, (size_t)n * sizeof *x); }

/* x (n) = the gradient through the dropout of site (layer l, site) of pass a, in place. */
static void undrop(const BartActs *a, float *x, int64_t n, float p, int l, int site) {
    if (p > 0.0f) dropout_backward(x, x, (size_t)n, p, a->seed, bart_stream(a->dec, l, site));
}

static BartDrop attn_drop(const BartActs *a, int l, int site) {
    return (BartDrop){a->p_attn, a->seed, bart_stream(a->dec, l, site)};
}

/* LayerNorm backward into dr (overwritten) from dout. */
static void ln_backward(float *dr, float *dw, float *db, const float *dout, const float *inp, const float *w,
                        const float *mean, const float *rstd, int64_t N, int64_t C) {
    zero(dr, N * C);
    layernorm_backward(dr, dw, db, dout, inp, w, mean, rstd, (int)N, (int)C);
}

/* The feed-forward block of layer l: from dy (its output's gradient) into
 * t->dh (its input's: the residual and fc1's, overwritten). */
static void ffn_backward(const Bart *b, const BartStack *s, BartStack *g, const BartActs *a,
                         int l, int64_t FF, const float *in, BartGradTmp *t) {
    PifiCompute *cx = b->base.cx;
    const Seq2SeqConfig *c = &b->base.cfg;
    int64_t C = c->C, N = (int64_t)a->B * a->T;
    ln_backward(t->dr, g->ln3w + l * C, g->ln3b + l * C, t->dy, a->r3 + l * N * C, s->ln3w + l * C, a->m3 + l * N,
                a->s3 + l * N, N, C);
    memcpy(t->dh, t->dr, (size_t)(N * C) * sizeof(float));
    undrop(a, t->dr, N * C, a->p_hidden, l, BART_SITE_FFN_OUT);
    zero(t->da, N * FF);
    linear_backward(cx, t->da, g->fc2w + l * C * FF, g->fc2b + l * C, t->dr, a->a1 + l * N * FF,
                    bart_w(b, s->fc2w + l * C * FF), (int)N, (int)FF, (int)C);
    undrop(a, t->da, N * FF, a->p_act, l, BART_SITE_ACT);
    zero(t->df, N * FF);
    activation_backward((Activation)c->bart.act, t->df, a->f1 + l * N * FF, t->da, (size_t)(N * FF));
    linear_backward(cx, t->dh, g->fc1w + l * FF * C, g->fc1b + l * FF, t->df, in, bart_w(b, s->fc1w + l * FF * C),
                    (int)N, (int)C, (int)FF);
}

/* The self-attention block of layer l: from t->dh (the gradient of h1) into
 * t->dy (of the layer's input x, overwritten). */
static void self_attn_backward(const Bart *b, const BartStack *s, BartStack *g,
                               const BartActs *a, int l, BartGradTmp *t) {
    PifiCompute *cx = b->base.cx;
    const Seq2SeqConfig *c = &b->base.cfg;
    int64_t C = c->C, N = (int64_t)a->B * a->T, NH = c->NH;
    ln_backward(t->dr, g->ln1w + l * C, g->ln1b + l * C, t->dh, a->r1 + l * N * C, s->ln1w + l * C, a->m1 + l * N,
                a->s1 + l * N, N, C);
    memcpy(t->dy, t->dr, (size_t)(N * C) * sizeof(float));
    undrop(a, t->dr, N * C, a->p_hidden, l, BART_SITE_ATT_OUT);
    zero(t->dao, N * C);
    linear_backward(cx, t->dao, g->ow + l * C * C, g->ob + l * C, t->dr, a->ao + l * N * C,
                    bart_w(b, s->ow + l * C * C), (int)N, (int)C, (int)C);
    zero(t->dqkv, N * 3 * C);
    const float *qkv = a->qkv + l * N * 3 * C;
    BartDrop d = attn_drop(a, l, BART_SITE_ATT);
    bart_attention_backward(t->dqkv, t->dqkv + C, t->dqkv + 2 * C, t->datt, t->dao, qkv, (int)(3 * C), qkv + C,
                            qkv + 2 * C, (int)(3 * C), a->att + l * a->B * NH * a->T * a->T, a->B, a->T, a->T,
                            (int)NH, (int)(C / NH), &d);
    linear_backward(cx, t->dy, g->qkvw + l * 3 * C * C, g->qkvb + l * 3 * C, t->dqkv, a->x + l * N * C,
                    bart_w(b, s->qkvw + l * 3 * C * C), (int)N, (int)C, (int)(3 * C));
}

/* The cross-attention block of layer l: from t->dh (the gradient of h2) into
 * t->dh (of h1, overwritten) and dmemory (accumulated). */
static void cross_attn_backward(const Bart *b, const BartStack *s, BartStack *g,
                                const BartActs *a, int l, float *dmemory, BartGradTmp *t) {
    PifiCompute *cx = b->base.cx;
    const Seq2SeqConfig *c = &b->base.cfg;
    int64_t C = c->C, N = (int64_t)a->B * a->T, M = (int64_t)a->B * a->Tk, NH = c->NH;
    ln_backward(t->dr, g->ln2w + l * C, g->ln2b + l * C, t->dh, a->r2 + l * N * C, s->ln2w + l * C, a->m2 + l * N,
                a->s2 + l * N, N, C);
    memcpy(t->dh, t->dr, (size_t)(N * C) * sizeof(float));
    undrop(a, t->dr, N * C, a->p_hidden, l, BART_SITE_CROSS_OUT);
    zero(t->dao, N * C);
    linear_backward(cx, t->dao, g->cow + l * C * C, g->cob + l * C, t->dr, a->cao + l * N * C,
                    bart_w(b, s->cow + l * C * C), (int)N, (int)C, (int)C);
    float *dq = t->dqkv; /* (N, C) */
    zero(dq, N * C);
    zero(t->dkv, M * 2 * C);
    const float *cq = a->cq + l * N * C, *ckv = a->ckv + l * M * 2 * C;
    BartDrop d = attn_drop(a, l, BART_SITE_CROSS);
    bart_attention_backward(dq, t->dkv, t->dkv + C, t->datt, t->dao, cq, (int)C, ckv, ckv + C, (int)(2 * C),
                            a->catt + l * a->B * NH * a->T * a->Tk, a->B, a->T, a->Tk, (int)NH, (int)(C / NH), &d);
    const float *w = s->cqkvw + l * 3 * C * C;
    float *gw = g->cqkvw + l * 3 * C * C, *gb = g->cqkvb + l * 3 * C;
    linear_backward(cx, t->dh, gw, gb, dq, a->h1 + l * N * C, bart_w(b, w), (int)N, (int)C, (int)C);
    linear_backward(cx, dmemory, gw + C * C, gb + C, t->dkv, a->memory, bart_w(b, w + C * C), (int)M, (int)C,
                    (int)(2 * C));
}

/* layernorm_embedding and the embeddings, from t->dy (the gradient of x[0]). */
static void embed_backward(const Bart *b, const BartStack *s, BartParams *g, BartStack *gs, const BartActs *a,
                           BartGradTmp *t) {
    const Seq2SeqConfig *c = &b->base.cfg;
    int64_t C = c->C, N = (int64_t)a->B * a->T;
    float scale = c->bart.scale_embedding ? (float)sqrt((double)c->C) : 1.0f;
    undrop(a, t->dy, N * C, a->p_hidden, -1, BART_SITE_EMB);
    ln_backward(t->dr, gs->lnew, gs->lneb, t->dy, a->emb, s->lnew, a->emb_mean, a->emb_rstd, N, C);
    for (int bb = 0; bb < a->B; bb++)
        for (int tt = 0; tt < a->T; tt++) {
            const float *d = t->dr + ((size_t)bb * a->T + tt) * C;
            float *dp = gs->pos + (size_t)(tt + 2) * C;
            for (int64_t i = 0; i < C; i++) dp[i] += d[i];
            int id = a->ids[bb * a->T + tt];
            if (id == c->pad_id) continue; /* padding_idx: no gradient */
            float *de = g->shared + (size_t)id * C;
            for (int64_t i = 0; i < C; i++) de[i] += d[i] * scale;
        }
}

int bart_decode_backward(Seq2Seq *m, float *grads, const float *dlogits, float *dmemory, PifiErr *err) {
    Bart *b = bart_of(m);
    const Seq2SeqConfig *c = &m->cfg;
    const BartActs *a = &b->dec;
    if (!a->valid) return pifi_errf(err, "bart: decode_backward without a successful decode before it");
    int64_t C = c->C, N = (int64_t)a->B * a->T, M = (int64_t)a->B * a->Tk, FF = c->bart.dec_ff;
    BartGradTmp t;
    int64_t at = (int64_t)a->B * c->NH * a->T * (a->T > a->Tk ? a->T : a->Tk);
    if (scratch_reserve(b, N, FF, at, M, &t, err)) return -1;
    BartParams g;
    bart_layout(c, &g, grads, NULL, 0, NULL);
    const BartStack *s = &b->p.dec;
    zero(dmemory, M * C);
    zero(t.dy, N * C);
    linear_backward(m->cx, t.dy, g.shared, NULL, dlogits, a->x + c->L_dec * N * C, bart_w(b, b->p.shared), (int)N,
                    (int)C, c->V);
    for (int l = c->L_dec - 1; l >= 0; l--) {
        ffn_backward(b, s, &g.dec, a, l, FF, a->h2 + l * N * C, &t);
        cross_attn_backward(b, s, &g.dec, a, l, dmemory, &t);
        self_attn_backward(b, s, &g.dec, a, l, &t);
    }
    embed_backward(b, s, &g, &g.dec, a, &t);
    b->w16_fresh = 0; /* the weights may change before the next pass */
    if (gemm_f32_take_faults())
        return pifi_errk(err, PIFI_ERR_RUNTIME, "bart: decode_backward: out of memory in a product");
    return 0;
}

int bart_encode_backward(Seq2Seq *m, float *grads, const float *denc, PifiErr *err) {
    Bart *b = bart_of(m);
    const Seq2SeqConfig *c = &m->cfg;
    const BartActs *a = &b->enc;
    if (!a->valid) return pifi_errf(err, "bart: encode_backward without a successful encode before it");
    int64_t C = c->C, N = (int64_t)a->B * a->T, FF = c->bart.enc_ff;
    BartGradTmp t;
    if (scratch_reserve(b, N, FF, (int64_t)a->B * c->NH * a->T * a->T, 0, &t, err)) return -1;
    BartParams g;
    bart_layout(c, &g, grads, NULL, 0, NULL);
    const BartStack *s = &b->p.enc;
    memcpy(t.dy, denc, (size_t)(N * C) * sizeof *denc);
    for (int l = c->L_enc - 1; l >= 0; l--) {
        ffn_backward(b, s, &g.enc, a, l, FF, a->h1 + l * N * C, &t);
        self_attn_backward(b, s, &g.enc, a, l, &t);
    }
    embed_backward(b, s, &g, &g.enc, a, &t);
    b->w16_fresh = 0;
    if (gemm_f32_take_faults())
        return pifi_errk(err, PIFI_ERR_RUNTIME, "bart: encode_backward: out of memory in a product");
    return 0;
}
