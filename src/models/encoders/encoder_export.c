/* encoder_export.c: the encoder's weights as Hugging Face-named tensors
 * (views into the parameter arena, no copies), for writing checkpoints that
 * transformers' AutoModel loads: "embeddings.word_embeddings.weight",
 * "encoder.layer.N.attention.self.query.weight" (MPNet's and ALBERT's names:
 * encoder_names; ALBERT's one shared layer once), ...; a quantized encoder's
 * int8 tensors as I8 with an F32 "<name>_scale" (one scale per row), which
 * encoder_load reads back into the int8 form. */
#include <stdio.h>
#include <string.h>

#include "kernels/gemm.h"
#include "models/encoders/encoder_internal.h"
#include "pifi/encoder_export.h"

static void put_t(EncoderExport *x, const char *name, PifiDType dt, const void *data, int ndim, int64_t d0,
                  int64_t d1) {
    if (x->n >= ENCODER_EXPORT_MAX || !data) return;
    StWriteTensor *t = &x->t[x->n];
    char *dst = x->names[x->n];
    size_t np = strlen(x->prefix), nn = strlen(name);
    if (np + nn + 1 > sizeof x->names[0]) return;
    memcpy(dst, x->prefix, np);
    memcpy(dst + np, name, nn + 1);
    t->name = x->names[x->n];
    t->dtype = dt;
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->data = data;
    x->n++;
}

static void put(EncoderExport *x, const char *name, const float *data, int ndim, int64_t d0, int64_t d1) {
    put_t(x, name, PIFI_DT_F32, data, ndim, d0, d1);
}

/* A matrix (d0, d1): int8 with its scales (d0) when q is set, else fp32. */
static void put_w(EncoderExport *x, const char *name, const float *f, const int8_t *q, const float *s, int64_t d0,
                  int64_t d1) {
    if (!q) {
        put(x, name, f, 2, d0, d1);
        return;
    }
    put_t(x, name, PIFI_DT_I8, q, 2, d0, d1);
    char sn[176];
    snprintf(sn, sizeof sn, "%s_scale", name);
    put(x, sn, s, 1, d0, 0);
}

static int export_views(const Encoder *m, const char *prefix, EncoderExport *x, PifiErr *err) {
    const EncoderConfig *c = &m->cfg;
    const EncoderNames *nm = encoder_names(c);
    const EncoderParams *p = &m->params;
    int64_t C = c->C, E = c->E, FF = c->FF;
    int LW = enc_weight_layers(c);
    if (22 * (int64_t)LW + 19 > ENCODER_EXPORT_MAX)
        return pifi_errf(err, "encoder: %d layers are more than the exporter holds", c->L);
    memset(x, 0, sizeof *x);
    snprintf(x->prefix, sizeof x->prefix, "%s", prefix ? prefix : "");
    const EncoderParamsQ8 *q = &m->q8; /* NULL fields: not quantized */
    put_w(x, "embeddings.word_embeddings.weight", p->wte, q->wte, q->swte, c->V, E);
    put(x, "embeddings.position_embeddings.weight", p->wpe, 2, c->maxT, E);
    if (c->TV > 0) put(x, "embeddings.token_type_embeddings.weight", p->wtt, 2, c->TV, E);
    put(x, "embeddings.LayerNorm.weight", p->emb_lnw, 1, E, 0);
    put(x, "embeddings.LayerNorm.bias", p->emb_lnb, 1, E, 0);
    char n[160];
    if (p->projw) {
        snprintf(n, sizeof n, "%s.weight", nm->proj);
        put(x, n, p->projw, 2, C, E);
        snprintf(n, sizeof n, "%s.bias", nm->proj);
        put(x, n, p->projb, 1, C, 0);
    }
    for (int l = 0; l < LW; l++) {
        for (int j = 0; j < 3; j++) {
            enc_layer_name(n, sizeof n, "", nm, l, nm->qkv[j], "weight");
            size_t r = ((size_t)l * 3 + j) * C;
            put_w(x, n, p->qkvw ? p->qkvw + r * C : NULL, q->qkvw ? q->qkvw + r * C : NULL,
                  q->qkvw ? q->sqkv + r : NULL, C, C);
            enc_layer_name(n, sizeof n, "", nm, l, nm->qkv[j], "bias");
            put(x, n, p->qkvb + ((size_t)l * 3 + j) * C, 1, C, 0);
        }
        size_t oa = (size_t)l * C * C, of = (size_t)l * FF * C; /* the matrices' offsets */
        struct {
            const char *name, *suffix;
            const float *f;   /* fp32, NULL when held in int8 only */
            const int8_t *q;  /* int8 or NULL */
            const float *s;   /* its scales */
            int ndim;
            int64_t d0, d1;
        } t[] = {
            {nm->attproj, "weight", p->attprojw ? p->attprojw + oa : NULL, q->attprojw ? q->attprojw + oa : NULL,
             q->attprojw ? q->sattproj + (size_t)l * C : NULL, 2, C, C},
            {nm->attproj, "bias", p->attprojb + (size_t)l * C, NULL, NULL, 1, C, 0},
            {nm->ln1, "weight", p->ln1w + (size_t)l * C, NULL, NULL, 1, C, 0},
            {nm->ln1, "bias", p->ln1b + (size_t)l * C, NULL, NULL, 1, C, 0},
            {nm->fc, "weight", p->fcw ? p->fcw + of : NULL, q->fcw ? q->fcw + of : NULL,
             q->fcw ? q->sfc + (size_t)l * FF : NULL, 2, FF, C},
            {nm->fc, "bias", p->fcb + (size_t)l * FF, NULL, NULL, 1, FF, 0},
            {nm->fcproj, "weight", p->fcprojw ? p->fcprojw + of : NULL, q->fcprojw ? q->fcprojw + of : NULL,
             q->fcprojw ? q->sfcproj + (size_t)l * C : NULL, 2, C, FF},
            {nm->fcproj, "bias", p->fcprojb + (size_t)l * C, NULL, NULL, 1, C, 0},
            {nm->ln2, "weight", p->ln2w + (size_t)l * C, NULL, NULL, 1, C, 0},
            {nm->ln2, "bias", p->ln2b + (size_t)l * C, NULL, NULL, 1, C, 0},
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
            enc_layer_name(n, sizeof n, "", nm, l, t[i].name, t[i].suffix);
            if (t[i].ndim == 2) put_w(x, n, t[i].f, t[i].q, t[i].s, t[i].d0, t[i].d1);
            else put(x, n, t[i].f, 1, t[i].d0, 0);
        }
    }
    if (p->relb) put(x, "encoder.relative_attention_bias.weight", p->relb, 2, c->rel_buckets, c->NH);
    if (p->poolw) {
        snprintf(n, sizeof n, "%s.weight", nm->pooler);
        put(x, n, p->poolw, 2, C, C);
        snprintf(n, sizeof n, "%s.bias", nm->pooler);
        put(x, n, p->poolb, 1, C, 0);
    }
    return 0;
}

int bert_export(const Encoder *m, const char *prefix, int merge_lora, EncoderExport *x, float **keep,
                PifiErr *err) {
    *keep = NULL;
    if (export_views(m, prefix, x, err)) return -1;
    if (!merge_lora || !m->lora_mem) return 0;
    /* LoRA merged into query and value: the views of qkvw point into a merged copy */
    const EncoderConfig *c = &m->cfg;
    size_t n = (size_t)enc_weight_layers(c) * 3 * c->C * c->C;
    float *merged = pifi_malloc(n * sizeof(float), err);
    if (!merged) return -1;
    encoder_lora_merged_qkv(m, merged);
    for (int i = 0; i < x->n; i++) {
        const float *d = x->t[i].data;
        if (d >= m->params.qkvw && d < m->params.qkvw + n) x->t[i].data = merged + (d - m->params.qkvw);
    }
    *keep = merged;
    return 0;
}

void encoder_lora_merged_qkv(const Encoder *m, float *out) {
    const EncoderConfig *c = &m->cfg;
    int C = c->C, r = m->lora_r;
    memcpy(out, m->params.qkvw, (size_t)enc_weight_layers(c) * 3 * C * C * sizeof(float));
    if (!m->lora_mem || r <= 0) return;
    float s = m->lora_alpha / (float)r;
    for (int l = 0; l < enc_weight_layers(c); l++) {
        /* W (C, C) += s * B (C, r) A (r, C), for query (block 0) and value (block 2) */
        float *wq = out + ((size_t)l * 3 + 0) * C * C, *wv = out + ((size_t)l * 3 + 2) * C * C;
        gemm_f32(0, 0, C, C, r, s, m->lora.qb + (size_t)l * C * r, r, m->lora.qa + (size_t)l * r * C, C, 1.0f, wq, C);
        gemm_f32(0, 0, C, C, r, s, m->lora.vb + (size_t)l * C * r, r, m->lora.va + (size_t)l * r * C, C, 1.0f, wv, C);
    }
}
