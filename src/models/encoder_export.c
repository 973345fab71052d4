/* encoder_export.c: the encoder's weights as Hugging Face-named tensors
 * (views into the parameter arena, no copies), for writing checkpoints that
 * transformers' AutoModel loads: "embeddings.word_embeddings.weight",
 * "encoder.layer.N.attention.self.query.weight", ... */
#include <stdio.h>
#include <string.h>

#include "kernels/gemm.h"
#include "pifi/encoder_export.h"

static void put(EncoderExport *x, const char *name, const float *data, int ndim, int64_t d0, int64_t d1) {
    if (x->n >= ENCODER_EXPORT_MAX || !data) return;
    StWriteTensor *t = &x->t[x->n];
    char *dst = x->names[x->n];
    size_t np = strlen(x->prefix), nn = strlen(name);
    if (np + nn + 1 > sizeof x->names[0]) return;
    memcpy(dst, x->prefix, np);
    memcpy(dst + np, name, nn + 1);
    t->name = x->names[x->n];
    t->dtype = PIFI_DT_F32;
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->data = data;
    x->n++;
}

int encoder_export(const Encoder *m, const char *prefix, EncoderExport *x, PifiErr *err) {
    const EncoderConfig *c = &m->cfg;
    const EncoderParams *p = &m->params;
    int64_t C = c->C, E = c->E, FF = c->FF;
    if (16 * (int64_t)c->L + 16 > ENCODER_EXPORT_MAX)
        return pifi_errf(err, "encoder: %d layers are more than the exporter holds", c->L);
    memset(x, 0, sizeof *x);
    snprintf(x->prefix, sizeof x->prefix, "%s", prefix ? prefix : "");
    put(x, "embeddings.word_embeddings.weight", p->wte, 2, c->V, E);
    put(x, "embeddings.position_embeddings.weight", p->wpe, 2, c->maxT, E);
    if (c->TV > 0) put(x, "embeddings.token_type_embeddings.weight", p->wtt, 2, c->TV, E);
    put(x, "embeddings.LayerNorm.weight", p->emb_lnw, 1, E, 0);
    put(x, "embeddings.LayerNorm.bias", p->emb_lnb, 1, E, 0);
    if (p->projw) {
        put(x, "embeddings_project.weight", p->projw, 2, C, E);
        put(x, "embeddings_project.bias", p->projb, 1, C, 0);
    }
    static const char *QKV[3] = {"query", "key", "value"};
    for (int l = 0; l < c->L; l++) {
        char n[160];
        for (int j = 0; j < 3; j++) {
            snprintf(n, sizeof n, "encoder.layer.%d.attention.self.%s.weight", l, QKV[j]);
            put(x, n, p->qkvw + ((size_t)l * 3 + j) * C * C, 2, C, C);
            snprintf(n, sizeof n, "encoder.layer.%d.attention.self.%s.bias", l, QKV[j]);
            put(x, n, p->qkvb + ((size_t)l * 3 + j) * C, 1, C, 0);
        }
        struct {
            const char *name;
            const float *data;
            int ndim;
            int64_t d0, d1;
        } t[] = {
            {"attention.output.dense.weight", p->attprojw + (size_t)l * C * C, 2, C, C},
            {"attention.output.dense.bias", p->attprojb + (size_t)l * C, 1, C, 0},
            {"attention.output.LayerNorm.weight", p->ln1w + (size_t)l * C, 1, C, 0},
            {"attention.output.LayerNorm.bias", p->ln1b + (size_t)l * C, 1, C, 0},
            {"intermediate.dense.weight", p->fcw + (size_t)l * FF * C, 2, FF, C},
            {"intermediate.dense.bias", p->fcb + (size_t)l * FF, 1, FF, 0},
            {"output.dense.weight", p->fcprojw + (size_t)l * C * FF, 2, C, FF},
            {"output.dense.bias", p->fcprojb + (size_t)l * C, 1, C, 0},
            {"output.LayerNorm.weight", p->ln2w + (size_t)l * C, 1, C, 0},
            {"output.LayerNorm.bias", p->ln2b + (size_t)l * C, 1, C, 0},
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
            snprintf(n, sizeof n, "encoder.layer.%d.%s", l, t[i].name);
            put(x, n, t[i].data, t[i].ndim, t[i].d0, t[i].d1);
        }
    }
    if (p->poolw) {
        put(x, "pooler.dense.weight", p->poolw, 2, C, C);
        put(x, "pooler.dense.bias", p->poolb, 1, C, 0);
    }
    return 0;
}

void encoder_lora_merged_qkv(const Encoder *m, float *out) {
    const EncoderConfig *c = &m->cfg;
    int C = c->C, r = m->lora_r;
    memcpy(out, m->params.qkvw, (size_t)c->L * 3 * C * C * sizeof(float));
    if (!m->lora_mem || r <= 0) return;
    float s = m->lora_alpha / (float)r;
    for (int l = 0; l < c->L; l++) {
        /* W (C, C) += s * B (C, r) A (r, C), for query (block 0) and value (block 2) */
        float *wq = out + ((size_t)l * 3 + 0) * C * C, *wv = out + ((size_t)l * 3 + 2) * C * C;
        gemm_f32(0, 0, C, C, r, s, m->lora.qb + (size_t)l * C * r, r, m->lora.qa + (size_t)l * r * C, C, 1.0f, wq, C);
        gemm_f32(0, 0, C, C, r, s, m->lora.vb + (size_t)l * C * r, r, m->lora.va + (size_t)l * r * C, C, 1.0f, wv, C);
    }
}
