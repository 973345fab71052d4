/* decoder_export.c: the decoder family's weights under transformers' names
 * (a causal LM's "model.embed_tokens.weight", "model.layers.N.self_attn.
 * q_proj.weight", ..., "model.norm.weight", which LlamaModel / Qwen2Model and
 * their ForCausalLM classes load), LoRA folded into q_proj and v_proj when
 * asked; and the LoRA adapters themselves: rank r on every layer's q_proj
 * and v_proj (PEFT's names: model.layers.N.self_attn.q_proj.lora_A.weight). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "kernels/gemm.h"
#include "models/decoders/llm_layer_internal.h"
#include "models/encoders/decoder_internal.h"

static void put(EncoderExport *x, const char *name, const float *data, int ndim, int64_t d0, int64_t d1) {
    char *dst = x->names[x->n];
    size_t np = strlen(x->prefix), nn = strlen(name);
    if (np + nn + 1 > sizeof x->names[0]) return; /* names are short: "model.layers.N.mlp.up_proj.weight" */
    memcpy(dst, x->prefix, np);
    memcpy(dst + np, name, nn + 1);
    x->t[x->n] = (StWriteTensor){dst, PIFI_DT_F32, ndim, {d0, d1}, data};
    x->n++;
}

/* LoRA's four tensors of layer j (A, B of q; A, B of v) in lora_mem. */
static size_t lora_per_layer(const EncoderConfig *c, int r) {
    size_t D = c->C, QC = (size_t)c->dec.NH * c->dec.HD, KC = (size_t)c->dec.NKV * c->dec.HD;
    return (size_t)r * D + QC * r + (size_t)r * D + KC * r;
}

int decoder_export(const Encoder *m, const char *prefix, int merge_lora, EncoderExport *x, float **keep,
                   PifiErr *err) {
    const Decoder *d = decoder_of(m);
    const EncoderConfig *c = &m->cfg;
    if (16 * (int64_t)c->L + 2 > ENCODER_EXPORT_MAX)
        return pifi_errf(err, "decoder: %d layers are more than the exporter holds", c->L);
    memset(x, 0, sizeof *x);
    snprintf(x->prefix, sizeof x->prefix, "%s", prefix ? prefix : "");
    int lora = merge_lora && d->lora;
    size_t QC = (size_t)c->dec.NH * c->dec.HD, KC = (size_t)c->dec.NKV * c->dec.HD, D = c->C;
    float *merged = NULL; /* (L, QC + KC, D): each layer's q_proj then v_proj with the adapters in */
    if (lora) {
        merged = pifi_malloc((size_t)c->L * (QC + KC) * D * sizeof(float), err);
        if (!merged) return -1;
        *keep = merged;
    }
    put(x, "model.embed_tokens.weight", d->wte, 2, c->V, c->C);
    for (int j = 0; j < c->L; j++) {
        LlmTensorSpec specs[16];
        LlmLayerParams p = d->layers[j].p;
        int n = llm_layer_specs(&c->dec, &p, 0, specs, 16);
        for (int i = 0; i < n; i++) {
            char name[128];
            snprintf(name, sizeof name, "model.layers.%d.%.64s", c->dec_first + j, specs[i].name);
            const float *w = *specs[i].dst;
            int isq = w == p.wq, isv = w == p.wv;
            if (lora && (isq || isv)) { /* W + alpha/r B A */
                const LlmLora *lo = &d->lora[j];
                size_t rows = isq ? QC : KC;
                float *out = merged + (size_t)j * (QC + KC) * D + (isq ? 0 : QC * D);
                memcpy(out, w, rows * D * sizeof(float));
                gemm_f32(0, 0, (int)rows, (int)D, lo->r, lo->scale, isq ? lo->qb : lo->vb, lo->r, isq ? lo->qa : lo->va,
                         (int)D, 1.0f, out, (int)D);
                w = out;
            }
            put(x, name, w, specs[i].ndim, specs[i].shape[0], specs[i].ndim == 2 ? specs[i].shape[1] : 0);
        }
    }
    if (d->norm) put(x, "model.norm.weight", d->norm, 1, c->C, 0);
    return 0;
}

int decoder_lora_enable(Encoder *m, int r, float alpha, float dropout, uint64_t seed, PifiErr *err) {
    Decoder *d = decoder_of(m);
    const EncoderConfig *c = &m->cfg;
    if (d->lora) return pifi_errf(err, "LoRA is already enabled");
    if (r < 1 || r > c->C) return pifi_errf(err, "LoRA rank %d must be in 1..%d", r, c->C);
    size_t per = lora_per_layer(c, r), D = c->C, QC = (size_t)c->dec.NH * c->dec.HD;
    d->lora = pifi_calloc((size_t)c->L, sizeof *d->lora, err);
    m->lora_mem = d->lora ? pifi_calloc(per * c->L, sizeof(float), err) : NULL;
    if (!m->lora_mem) {
        free(d->lora);
        d->lora = NULL;
        return -1;
    }
    /* A ~ uniform(-1/sqrt(D), 1/sqrt(D)) (PEFT's kaiming_uniform, a = sqrt(5)), B = 0 */
    float bound = 1.0f / sqrtf((float)D);
    for (int j = 0; j < c->L; j++) {
        LlmLora *lo = &d->lora[j];
        float *base = m->lora_mem + (size_t)j * per;
        float *qa = base, *qb = qa + (size_t)r * D, *va = qb + QC * r, *vb = va + (size_t)r * D;
        for (size_t i = 0; i < (size_t)r * D; i++) {
            qa[i] = (2.0f * rng_uniform(seed, 0x2100 + 2 * (uint64_t)j, i) - 1.0f) * bound;
            va[i] = (2.0f * rng_uniform(seed, 0x2101 + 2 * (uint64_t)j, i) - 1.0f) * bound;
        }
        *lo = (LlmLora){.r = r, .scale = alpha / (float)r, .qa = qa, .qb = qb, .va = va, .vb = vb};
    }
    m->lora_r = r;
    m->lora_alpha = alpha;
    m->lora_dropout = dropout;
    m->num_lora_params = (int64_t)(per * c->L);
    m->w16_fresh = 0; /* the layers point at their adapters at the next forward */
    return 0;
}
