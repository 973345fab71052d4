/* decoder_model.c: the decoder family's weights and passes
 * (decoder_internal.h): loading every layer (or llm-layer-only's one) from an
 * HF directory or a GGUF file into one arena, the forward (embeddings, the
 * layers in causal sequence mode with the key padding mask, the final
 * RMSNorm) and its backward into a gradient arena of the same layout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/compute.h"
#include "kernels/rmsnorm.h"
#include "models/decoders/llm_layer_internal.h"
#include "models/decoders/llm_source.h"
#include "models/encoders/decoder_internal.h"

/* ------------------------------------------------------------------------ */
/* loading */

/* Float count of one layer's tensors (specs of llm_layer_specs). */
static int64_t spec_numel(const LlmTensorSpec *s) { return s->shape[0] * (s->ndim == 2 ? s->shape[1] : 1); }

/* Point the arena: wte, each spec stacked over L, norm. Returns its floats. */
static int64_t point(Encoder *m, Decoder *d, float *mem) {
    const EncoderConfig *c = &m->cfg;
    int64_t off = (int64_t)c->V * c->C;
    d->wte = mem;
    for (int j = 0; j < c->L; j++) {
        LlmTensorSpec specs[16];
        int n = llm_layer_specs(&c->dec, &d->layers[j].p, 0, specs, 16);
        int64_t o = off;
        for (int i = 0; i < n; i++) {
            *specs[i].dst = mem ? mem + o + j * spec_numel(&specs[i]) : NULL;
            o += c->L * spec_numel(&specs[i]);
        }
        if (j == c->L - 1) off = o;
    }
    d->norm = c->dec_norm && mem ? mem + off : NULL;
    return off + (c->dec_norm ? c->C : 0);
}

/* One tensor of the checkpoint, named as HF names it (prefix "model." or
 * none), into dst. */
static int read_tensor(LlmSource *s, const char *prefix, const char *name, int ndim, const int64_t *shape,
                       float *dst, PifiErr *err) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    LlmTensorView v;
    if (llm_source_tensor(s, full, ndim, shape, &v, err)) return -1;
    int rc = llm_source_check_float(&v, err) || llm_source_read_f32(s, &v, dst, err) ? -1 : 0;
    llm_source_release(s, &v);
    return rc;
}

static int load_weights(Encoder *m, Decoder *d, LlmSource *s, PifiErr *err) {
    const EncoderConfig *c = &m->cfg;
    /* "model.embed_tokens.weight" (a causal LM, GGUF, pifi's export) or "embed_tokens.weight" (AutoModel) */
    LlmTensorView v;
    const char *prefix = "model.";
    int f = llm_source_find(s, "model.embed_tokens.weight", &v, err);
    if (f < 0) return -1;
    if (f == 1 && llm_source_kind(s) == LLM_SOURCE_HF) prefix = "";
    int64_t wshape[2] = {c->V, c->C};
    if (read_tensor(s, prefix, "embed_tokens.weight", 2, wshape, d->wte, err)) return -1;
    for (int j = 0; j < c->L; j++) {
        LlmTensorSpec specs[16];
        LlmLayerParams p = d->layers[j].p;
        int n = llm_layer_specs(&c->dec, &p, 0, specs, 16);
        for (int i = 0; i < n; i++) {
            char name[192];
            snprintf(name, sizeof name, "layers.%d.%s", c->dec_first + j, specs[i].name);
            if (read_tensor(s, prefix, name, specs[i].ndim, specs[i].shape, *specs[i].dst, err)) return -1;
        }
    }
    int64_t nshape[1] = {c->C};
    return d->norm ? read_tensor(s, prefix, "norm.weight", 1, nshape, d->norm, err) : 0;
}

int decoder_load(Encoder *m, const char *path, PifiErr *err) {
    const EncoderConfig *c = &m->cfg;
    Decoder *d = pifi_calloc(1, sizeof *d, err);
    if (!d) return -1;
    m->priv = d;
    d->layers = pifi_calloc((size_t)c->L, sizeof *d->layers, err);
    if (!d->layers) return -1;
    for (int j = 0; j < c->L; j++) {
        LlmLayer *l = &d->layers[j];
        l->cfg = c->dec;
        l->layer = c->dec_first + j;
        l->cx = m->cx;
        l->num_params = llm_layer_param_count(&c->dec);
    }
    int64_t n = point(m, d, NULL);
    m->param_mem = pifi_malloc((size_t)n * sizeof(float), err);
    if (!m->param_mem) return -1;
    m->weight_bytes_allocated += (uint64_t)n * sizeof(float);
    m->num_params = n;
    point(m, d, m->param_mem);
    LlmSource *s;
    if (llm_source_open(&s, path, err)) return -1;
    int rc = load_weights(m, d, s, err);
    llm_source_close(s);
    return rc;
}

void decoder_free(Encoder *m) {
    Decoder *d = decoder_of(m);
    if (d) {
        for (int j = 0; d->layers && j < m->cfg.L; j++) {
            d->layers[j].mem = NULL; /* the weights are the encoder's arena */
            llm_layer_free(&d->layers[j]);
        }
        free(d->layers);
        free(d->lora);
        free(d->x);
        free(d->ids);
        free(d);
    }
    free(m->param_mem);
    free(m->lora_mem);
}

/* ------------------------------------------------------------------------ */
/* forward */

static int ensure_acts(Encoder *m, Decoder *d, int B, int T, PifiErr *err) {
    size_t BTC = (size_t)B * T * m->cfg.C, BT = (size_t)B * T;
    size_t need = (size_t)(m->cfg.L + 1) * BTC + 3 * BTC + BT;
    if (need > d->cap) {
        free(d->x);
        d->x = pifi_malloc(need * sizeof(float), err);
        d->cap = d->x ? need : 0;
        if (!d->x) return -1;
    }
    if (BT > d->ids_cap) {
        free(d->ids);
        d->ids = pifi_malloc(2 * BT * sizeof(int32_t), err);
        d->ids_cap = d->ids ? BT : 0;
        if (!d->ids) return -1;
    }
    d->mask = d->ids + BT;
    d->out = d->x + (size_t)(m->cfg.L + 1) * BTC;
    d->g0 = d->out + BTC;
    d->g1 = d->g0 + BTC;
    d->rstd = d->g1 + BTC;
    return 0;
}

/* The layers' modes before a pass: activations kept unless in inference,
 * the bf16 copies refreshed after the weights changed (encoder_set_train,
 * encoder_precision_changed clear m->w16_fresh). */
static int prepare_layers(Encoder *m, Decoder *d, PifiErr *err) {
    int keep = !m->inference;
    for (int j = 0; j < m->cfg.L; j++) {
        LlmLayer *l = &d->layers[j];
        if (l->train != keep) llm_layer_set_train(l, keep);
        if (m->w16_fresh) continue;
        l->w16_fresh = 0;
        if (compute_bf16(m->cx) && !l->mem16 && llm_layer_precision_changed(l, 1, err)) return -1;
    }
    m->w16_fresh = 1;
    return 0;
}

int decoder_forward(Encoder *m, const int32_t *ids, const int32_t *type_ids, const int32_t *mask, int B, int T,
                    PifiErr *err) {
    (void)type_ids; /* a decoder has no token types */
    Decoder *d = decoder_of(m);
    const EncoderConfig *c = &m->cfg;
    int C = c->C, L = c->L;
    if (B < 1 || T < 1) return pifi_errf(err, "decoder: empty batch (B=%d, T=%d)", B, T);
    if (ensure_acts(m, d, B, T, err) || prepare_layers(m, d, err)) return -1;
    size_t BT = (size_t)B * T, BTC = BT * C;
    for (size_t i = 0; i < BT; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= c->V)
            return pifi_errf(err, "token id %d at position %zu is outside the vocabulary (%d)", id, i, c->V);
        memcpy(d->x + i * C, d->wte + (size_t)id * C, (size_t)C * sizeof(float));
        d->ids[i] = id;
        d->mask[i] = mask ? mask[i] : 1;
    }
    for (int j = 0; j < L; j++) {
        LlmLayer *l = &d->layers[j];
        LlmLora *lo = d->lora ? &d->lora[j] : NULL;
        if (lo) { /* the masks of this step and batch, the dropout only in training */
            lo->dropout = m->train ? m->lora_dropout : 0.0f;
            lo->seed = m->seed;
            lo->stream_q = m->step * 8192u + 2u * (uint64_t)j + 1u;
            lo->stream_v = m->step * 8192u + 2u * (uint64_t)j + 2u;
            lo->row0 = m->row0;
        }
        l->lora = lo;
        if (llm_layer_forward_seq(l, d->x + (size_t)(j + 1) * BTC, d->x + (size_t)j * BTC, d->mask, B, T, 1, err))
            return -1;
    }
    const float *last = d->x + (size_t)L * BTC;
    if (d->norm) rmsnorm_forward(d->out, d->rstd, last, d->norm, 0.0f, (int)BT, C, c->dec.rms_eps);
    else memcpy(d->out, last, BTC * sizeof(float));
    m->B = B;
    m->T = T;
    m->fwd_train = m->train;
    m->act_flags = m->inference ? 8u : 0u; /* ENC_ACT_ONE_LAYER: nothing kept for a backward */
    return 0;
}

const float *decoder_output(const Encoder *m) { return decoder_of(m)->out; }

/* ------------------------------------------------------------------------ */
/* backward */

/* p's fields moved from m->param_mem into the gradient arena grads. */
static void grads_of(const Encoder *m, const LlmLayerParams *p, float *grads, LlmLayerParams *g) {
    const float *const *src = (const float *const *)p;
    float **dst = (float **)g;
    _Static_assert(sizeof(LlmLayerParams) % sizeof(float *) == 0, "LlmLayerParams holds pointers only");
    for (size_t i = 0; i < sizeof(LlmLayerParams) / sizeof(float *); i++)
        dst[i] = src[i] ? grads + (src[i] - m->param_mem) : NULL;
}

int decoder_backward(Encoder *m, float *grads, float *lora_grads, const float *dout, PifiErr *err) {
    Decoder *d = decoder_of(m);
    const EncoderConfig *c = &m->cfg;
    if (!grads && !lora_grads) return 0; /* everything frozen (llm-layer-only) */
    if (m->B < 1 || (m->act_flags & 8u))
        return pifi_errf(err, "decoder: backward without a training-mode forward before it");
    int B = m->B, T = m->T, C = c->C, L = c->L;
    size_t BT = (size_t)B * T, BTC = BT * C;
    float *g = d->g0, *gx = d->g1;
    if (d->norm) {
        memset(g, 0, BTC * sizeof(float));
        rmsnorm_backward(g, grads ? grads + (d->norm - m->param_mem) : NULL, dout, d->x + (size_t)L * BTC, d->norm,
                         0.0f, d->rstd, (int)BT, C);
    } else {
        memcpy(g, dout, BTC * sizeof(float));
    }
    for (int j = L - 1; j >= 0; j--) {
        LlmLayer *l = &d->layers[j];
        LlmLayerParams gp;
        if (grads) grads_of(m, &l->p, grads, &gp);
        if (d->lora) {
            LlmLora *lo = &d->lora[j];
            size_t off = 0, QC = (size_t)c->dec.NH * c->dec.HD, KC = (size_t)c->dec.NKV * c->dec.HD;
            float *base = lora_grads ? lora_grads + (lo->qa - m->lora_mem) : NULL;
            lo->gqa = base ? base + off : NULL, off += (size_t)lo->r * C;
            lo->gqb = base ? base + off : NULL, off += QC * lo->r;
            lo->gva = base ? base + off : NULL, off += (size_t)lo->r * C;
            lo->gvb = base ? base + off : NULL;
            (void)KC;
        }
        if (llm_layer_backward_seq(l, gx, g, grads ? &gp : NULL, err)) return -1;
        float *t = g;
        g = gx, gx = t;
        if (m->grad_ready) m->grad_ready(m->grad_ready_ctx, j);
    }
    if (!grads) return 0;
    float *gwte = grads + (d->wte - m->param_mem);
    for (size_t i = 0; i < BT; i++) { /* nn.Embedding(padding_idx): that row gets no gradient */
        int32_t id = d->ids[i];
        if (id == c->pad_id) continue;
        float *row = gwte + (size_t)id * C;
        const float *gi = g + i * C;
        for (int k = 0; k < C; k++) row[k] += gi[k];
    }
    return 0;
}
