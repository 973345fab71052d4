/* llm_layer.c: one decoder layer of a Llama-family LLM: its tensors, arena
 * and size, and its forward pass in pooled (one token at position 0) and
 * sequence modes (loading: llm_layer_load.c). */
#include <stdlib.h>
#include <string.h>

#include "kernels/attention_gqa.h"
#include "kernels/compute.h"
#include "kernels/gemm.h"
#include "kernels/glu.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"
#include "models/decoders/llm_arch.h"
#include "models/decoders/llm_layer_internal.h"
#include "pifi/hash.h"

/* ------------------------------------------------------------------------ */
/* tensors of a layer */

int llm_layer_specs(const LlmConfig *c, LlmLayerParams *p, int pooled_only, LlmTensorSpec *out,
                    int max) {
    int64_t D = c->D, QC = (int64_t)c->NH * c->HD, KC = (int64_t)c->NKV * c->HD, FF = c->FF;
    int gemma = LLM_ARCH_HAS(c, LLM_ARCH_SANDWICH), qk_norm = LLM_ARCH_HAS(c, LLM_ARCH_QK_NORM);
    LlmTensorSpec all[] = {
        {"input_layernorm.weight", 1, {D, 0}, &p->norm_attn, 1},
        {"post_attention_layernorm.weight", 1, {D, 0}, gemma ? &p->norm_attn_post : &p->norm_ffn, 1},
        {"pre_feedforward_layernorm.weight", 1, {D, 0}, &p->norm_ffn, gemma},
        {"post_feedforward_layernorm.weight", 1, {D, 0}, &p->norm_ffn_post, gemma},
        {"self_attn.q_proj.weight", 2, {QC, D}, &p->wq, !pooled_only},
        {"self_attn.k_proj.weight", 2, {KC, D}, &p->wk, !pooled_only},
        {"self_attn.v_proj.weight", 2, {KC, D}, &p->wv, 1},
        {"self_attn.o_proj.weight", 2, {D, QC}, &p->wo, 1},
        {"self_attn.q_proj.bias", 1, {QC, 0}, &p->bq, c->qkv_bias && !pooled_only},
        {"self_attn.k_proj.bias", 1, {KC, 0}, &p->bk, c->qkv_bias && !pooled_only},
        {"self_attn.v_proj.bias", 1, {KC, 0}, &p->bv, c->qkv_bias},
        {"self_attn.o_proj.bias", 1, {D, 0}, &p->bo, c->o_bias},
        {"self_attn.q_norm.weight", 1, {c->HD, 0}, &p->q_norm, qk_norm && !pooled_only},
        {"self_attn.k_norm.weight", 1, {c->HD, 0}, &p->k_norm, qk_norm && !pooled_only},
        {"mlp.gate_proj.weight", 2, {FF, D}, &p->wgate, 1},
        {"mlp.up_proj.weight", 2, {FF, D}, &p->wup, 1},
        {"mlp.down_proj.weight", 2, {D, FF}, &p->wdown, 1},
    };
    int n = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0] && n < max; i++)
        if (all[i].required) out[n++] = all[i];
    return n;
}

int llm_layer_alloc(LlmLayer *l, LlmTensorSpec *specs, int n, PifiErr *err) {
    size_t total = 0;
    for (int i = 0; i < n; i++) total += (size_t)specs[i].shape[0] * (specs[i].ndim == 2 ? specs[i].shape[1] : 1);
    l->mem = llm_weights_alloc(l, total * sizeof(float), err);
    if (!l->mem) return -1;
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        *specs[i].dst = l->mem + off;
        off += (size_t)specs[i].shape[0] * (specs[i].ndim == 2 ? specs[i].shape[1] : 1);
    }
    l->num_params = llm_layer_param_count(&l->cfg);
    return 0;
}

void llm_layer_weights_sha256(const LlmLayer *l, char hex[65]) {
    if (l->sha256[0]) { /* the fp32 weights are gone: as it was at load time */
        memcpy(hex, l->sha256, 65);
        return;
    }
    LlmLayerParams dummy;
    LlmTensorSpec specs[LLM_LAYER_MAX_SPECS];
    int n = llm_layer_specs(&l->cfg, &dummy, l->pooled_only, specs, LLM_LAYER_MAX_SPECS);
    size_t total = 0;
    for (int i = 0; i < n; i++) total += (size_t)specs[i].shape[0] * (specs[i].ndim == 2 ? specs[i].shape[1] : 1);
    PifiSha256 *h = pifi_sha256_new();
    if (!h) {
        hex[0] = 0;
        return;
    }
    pifi_sha256_update(h, l->mem, total * sizeof(float));
    pifi_sha256_final(h, hex);
}

int64_t llm_layer_param_count(const LlmConfig *c) {
    int64_t QC = (int64_t)c->NH * c->HD, KC = (int64_t)c->NKV * c->HD;
    return (LLM_ARCH_HAS(c, LLM_ARCH_SANDWICH) ? 4 : 2) * (int64_t)c->D + 2 * QC * c->D + 2 * KC * c->D +
           3 * (int64_t)c->FF * c->D + (c->qkv_bias ? QC + 2 * KC : 0) + (c->o_bias ? c->D : 0) +
           (LLM_ARCH_HAS(c, LLM_ARCH_QK_NORM) ? 2 * (int64_t)c->HD : 0);
}

int64_t llm_layer_pooled_flops(const LlmConfig *c) {
    int64_t QC = (int64_t)c->NH * c->HD, KC = (int64_t)c->NKV * c->HD;
    return 2 * ((int64_t)c->D * KC + QC * c->D + 3 * (int64_t)c->D * c->FF);
}

void llm_layer_free(LlmLayer *l) {
    free(l->mem16);
    free(l->memq);
    free(l->mem);
    free(l->ws);
    free(l->ws_pos);
    memset(l, 0, sizeof *l);
}

/* ------------------------------------------------------------------------ */
/* forward */

static float *workspace(LlmLayer *l, size_t n, PifiErr *err) {
    if (n > l->ws_size) {
        free(l->ws);
        l->ws = pifi_malloc(n * sizeof(float), err);
        l->ws_size = l->ws ? n : 0;
    }
    return l->ws;
}

static void add_inplace(float *out, const float *x, size_t n) {
#pragma omp parallel for
    for (size_t i = 0; i < n; i++) out[i] += x[i];
}

/* From the attention heads' output y (N, NH*HD) to the layer output:
 * o_proj, [post-attn norm], residual, MLP block. ws holds 3 N*D + 3 N*FF. */
static void block_tail(const LlmLayer *l, float *out, const float *x, const float *y, float *ws, int N) {
    const LlmConfig *c = &l->cfg;
    const LlmLayerParams *p = &l->p;
    int D = c->D, FF = c->FF, QC = c->NH * c->HD;
    float *a = ws;                       /* (N, D) */
    float *n2 = a + (size_t)N * D;       /* (N, D) */
    float *m = n2 + (size_t)N * D;       /* (N, D) */
    float *gate = m + (size_t)N * D;     /* (N, FF) */
    float *up = gate + (size_t)N * FF;   /* (N, FF) */
    float *g = up + (size_t)N * FF;      /* (N, FF) */
    PifiCompute *cx = l->cx;
    linear_forward(cx, a, y, LLM_W(l, wo, so), p->bo, N, QC, D);
    if (p->norm_attn_post) rmsnorm_forward(a, NULL, a, p->norm_attn_post, c->norm_offset, N, D, c->rms_eps);
    add_inplace(a, x, (size_t)N * D); /* a = h = x + attn */
    rmsnorm_forward(n2, NULL, a, p->norm_ffn, c->norm_offset, N, D, c->rms_eps);
    linear_forward(cx, gate, n2, LLM_W(l, wgate, sgate), NULL, N, D, FF);
    linear_forward(cx, up, n2, LLM_W(l, wup, sup), NULL, N, D, FF);
    glu_forward(g, NULL, gate, up, c->act, (size_t)N * FF);
    linear_forward(cx, m, g, LLM_W(l, wdown, sdown), NULL, N, FF, D);
    if (p->norm_ffn_post) rmsnorm_forward(m, NULL, m, p->norm_ffn_post, c->norm_offset, N, D, c->rms_eps);
    for (size_t i = 0; i < (size_t)N * D; i++) out[i] = a[i] + m[i];
}

int llm_layer_forward_pooled(LlmLayer *l, float *out, const float *x, int B, PifiErr *err) {
    const LlmConfig *c = &l->cfg;
    const LlmLayerParams *p = &l->p;
    if (B > 0 && llm_layer_prepare(l, (size_t)B, err)) return -1;
    if (l->train) return llm_layer_forward_pooled_train(l, out, x, B, err);
    int D = c->D, HD = c->HD, NH = c->NH, NKV = c->NKV, KC = NKV * HD, QC = NH * HD, FF = c->FF;
    size_t need = (size_t)B * (D + KC + QC) + 3 * (size_t)B * D + 3 * (size_t)B * FF;
    float *ws = workspace(l, need, err);
    if (!ws) return -1;
    float *n = ws;                    /* (B, D) */
    float *v = n + (size_t)B * D;     /* (B, KC) */
    float *y = v + (size_t)B * KC;    /* (B, QC) */
    rmsnorm_forward(n, NULL, x, p->norm_attn, c->norm_offset, B, D, c->rms_eps);
    linear_forward(l->cx, v, n, LLM_W(l, wv, sv), p->bv, B, D, KC);
    /* one key: softmax = 1, so each query head outputs its KV head's value */
    int group = NH / NKV;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            memcpy(y + (size_t)b * QC + (size_t)h * HD, v + (size_t)b * KC + (size_t)(h / group) * HD,
                   HD * sizeof(float));
    block_tail(l, out, x, y, y + (size_t)B * QC, B);
    return 0;
}

int llm_layer_forward_seq(LlmLayer *l, float *out, const float *x, const int32_t *mask, int B, int T,
                          int causal, PifiErr *err) {
    const LlmConfig *c = &l->cfg;
    const LlmLayerParams *p = &l->p;
    if (l->pooled_only)
        return pifi_errf(err, "LLM layer %d was loaded for pooled mode only (no q/k projections)", l->layer);
    int window = llm_config_layer_window(c, l->layer);
    if (window > 0 && T > window)
        return pifi_errf(err, "sequence of %d tokens exceeds the layer's sliding_window %d", T, window);
    if (B > 0 && T > 0 && llm_layer_prepare(l, (size_t)B * T, err)) return -1;
    if (l->train) return llm_layer_forward_seq_train(l, out, x, mask, B, T, causal, err);
    int D = c->D, HD = c->HD, NH = c->NH, NKV = c->NKV, KC = NKV * HD, QC = NH * HD, FF = c->FF;
    size_t N = (size_t)B * T;
    size_t need = N * (D + QC + 2 * KC + QC) + (size_t)B * NH * T * T + 3 * N * D + 3 * N * FF + HD / 2 +
                  (l->lora ? N * l->lora->r : 0);
    float *ws = workspace(l, need, err);
    if (!ws) return -1;
    float *n = ws;                       /* (B, T, D) */
    float *q = n + N * D;                /* (B, T, QC) */
    float *k = q + N * QC;               /* (B, T, KC) */
    float *v = k + N * KC;               /* (B, T, KC) */
    float *y = v + N * KC;               /* (B, T, QC) */
    float *att = y + N * QC;             /* (B, NH, T, T) */
    float *inv_freq = att + (size_t)B * NH * T * T; /* (HD/2) */
    float *tail = inv_freq + HD / 2;
    rmsnorm_forward(n, NULL, x, p->norm_attn, c->norm_offset, (int)N, D, c->rms_eps);
    linear_forward(l->cx, q, n, LLM_W(l, wq, sq), p->bq, (int)N, D, QC);
    linear_forward(l->cx, k, n, LLM_W(l, wk, sk), p->bk, (int)N, D, KC);
    linear_forward(l->cx, v, n, LLM_W(l, wv, sv), p->bv, (int)N, D, KC);
    if (l->lora) { /* eval: no dropout; u after the tail's scratch (3 N D + 3 N FF) */
        float *u = tail + 3 * N * D + 3 * N * FF;
        llm_lora_forward(l->lora, 0, q, QC, n, u, NULL, 0.0f, B, T, D);
        llm_lora_forward(l->lora, 1, v, KC, n, u, NULL, 0.0f, B, T, D);
    }
    if (p->q_norm) { /* each head on its own: rows of HD */
        rmsnorm_forward(q, NULL, q, p->q_norm, c->norm_offset, (int)N * NH, HD, c->rms_eps);
        rmsnorm_forward(k, NULL, k, p->k_norm, c->norm_offset, (int)N * NKV, HD, c->rms_eps);
    }
    llm_config_layer_inv_freq(c, l->layer, inv_freq);
    rope_forward(q, NULL, inv_freq, B, T, NH, HD);
    rope_forward(k, NULL, inv_freq, B, T, NKV, HD);
    GqaParams gp = {NH, NKV, HD, c->attn_scale, c->softcap, causal};
    attention_gqa_forward(y, att, q, k, v, mask, B, T, &gp);
    block_tail(l, out, x, y, tail, (int)N);
    return 0;
}
