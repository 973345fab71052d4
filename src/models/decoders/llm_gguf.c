/* llm_gguf.c: an LLM layer from a GGUF file (llama.cpp's format): the config
 * from the metadata, the layer's tensors dequantized to fp32 and mapped back
 * to Hugging Face names and layouts (Q/K rows un-permuted for the llama
 * architecture, Gemma's stored (1 + w) norms turned back into w). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/activation.h"
#include "kernels/rope.h"
#include "models/decoders/llm_extract_internal.h"
#include "models/decoders/llm_layer_internal.h"
#include "pifi/fileio.h"
#include "pifi/gguf.h"
#include "pifi/hash.h"
#include "pifi/safetensors.h"

/* GGUF name (after "blk.N.") for each HF name (after "model.layers.N."). */
static const char *gguf_name_of(const LlmConfig *c, const char *hf) {
    int gemma = c->arch == LLM_GEMMA2;
    static const char *MAP[][2] = {
        {"input_layernorm.weight", "attn_norm.weight"},
        {"pre_feedforward_layernorm.weight", "ffn_norm.weight"},
        {"post_feedforward_layernorm.weight", "post_ffw_norm.weight"},
        {"self_attn.q_proj.weight", "attn_q.weight"},   {"self_attn.k_proj.weight", "attn_k.weight"},
        {"self_attn.v_proj.weight", "attn_v.weight"},   {"self_attn.o_proj.weight", "attn_output.weight"},
        {"self_attn.q_proj.bias", "attn_q.bias"},       {"self_attn.k_proj.bias", "attn_k.bias"},
        {"self_attn.v_proj.bias", "attn_v.bias"},       {"self_attn.o_proj.bias", "attn_output.bias"},
        {"mlp.gate_proj.weight", "ffn_gate.weight"},    {"mlp.up_proj.weight", "ffn_up.weight"},
        {"mlp.down_proj.weight", "ffn_down.weight"},
    };
    if (strcmp(hf, "post_attention_layernorm.weight") == 0)
        return gemma ? "post_attention_norm.weight" : "ffn_norm.weight";
    for (size_t i = 0; i < sizeof MAP / sizeof MAP[0]; i++)
        if (strcmp(hf, MAP[i][0]) == 0) return MAP[i][1];
    return NULL;
}

static int get_u32_key(const GgufFile *g, const char *arch, const char *suffix, int required,
                       uint32_t dflt, int *out, PifiErr *err) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    if (gguf_find_key(g, key) < 0) {
        if (required) return pifi_errf(err, "%s: missing metadata key '%s'", gguf_path(g), key);
        *out = (int)dflt;
        return 0;
    }
    uint32_t v;
    if (gguf_get_u32(g, key, &v, err)) return -1;
    if (v == 0 || v > (1u << 24)) return pifi_errf(err, "%s: metadata '%s' = %u is out of range", gguf_path(g), key, v);
    *out = (int)v;
    return 0;
}

static int get_f32_key(const GgufFile *g, const char *arch, const char *suffix, float dflt, float *out,
                       PifiErr *err) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    if (gguf_find_key(g, key) < 0) {
        *out = dflt;
        return 0;
    }
    return gguf_get_f32(g, key, out, err);
}

/* LlmConfig from GGUF metadata. */
static int config_from_gguf(LlmConfig *c, const GgufFile *g, PifiErr *err) {
    memset(c, 0, sizeof *c);
    const char *arch;
    if (gguf_get_str(g, "general.architecture", &arch, NULL, err)) return -1;
    if (strcmp(arch, "llama") == 0) c->arch = LLM_LLAMA;
    else if (strcmp(arch, "qwen2") == 0) c->arch = LLM_QWEN2;
    else if (strcmp(arch, "gemma2") == 0) c->arch = LLM_GEMMA2;
    else
        return pifi_errf(err, "%s: unsupported GGUF architecture \"%s\" (supported: llama, qwen2, gemma2)",
                         gguf_path(g), arch);
    snprintf(c->model_type, sizeof c->model_type, "%s", arch);
    if (get_u32_key(g, arch, "embedding_length", 1, 0, &c->D, err) ||
        get_u32_key(g, arch, "feed_forward_length", 1, 0, &c->FF, err) ||
        get_u32_key(g, arch, "block_count", 1, 0, &c->num_layers, err) ||
        get_u32_key(g, arch, "attention.head_count", 1, 0, &c->NH, err) ||
        get_u32_key(g, arch, "attention.head_count_kv", 0, (uint32_t)c->NH, &c->NKV, err) ||
        get_u32_key(g, arch, "attention.key_length", 0, (uint32_t)(c->D / c->NH), &c->HD, err))
        return -1;
    if (c->HD < 1 || c->NH % c->NKV || c->HD % 2) /* HD defaults to D / NH, 0 when NH > D */
        return pifi_errf(err, "%s: head counts %d/%d or head size %d are inconsistent", gguf_path(g), c->NH,
                         c->NKV, c->HD);
    float eps, theta;
    if (get_f32_key(g, arch, "attention.layer_norm_rms_epsilon", 1e-5f, &eps, err) ||
        get_f32_key(g, arch, "rope.freq_base", 10000.0f, &theta, err))
        return -1;
    if (!(eps > 0) || !(theta > 0)) return pifi_errf(err, "%s: bad rms epsilon or rope base", gguf_path(g));
    c->rms_eps = eps;
    c->rope_theta = theta;
    c->rope_type = ROPE_DEFAULT;
    c->rope_factor = 1.0;
    c->act = ACT_SILU;
    c->attn_scale = 1.0f / sqrtf((float)c->HD);
    c->qkv_bias = c->arch == LLM_QWEN2;
    if (c->arch == LLM_GEMMA2) {
        c->act = ACT_GELU_TANH;
        c->norm_offset = 1.0f;
        if (get_f32_key(g, arch, "attn_logit_softcapping", 0.0f, &c->softcap, err)) return -1;
        int sw = 0;
        if (get_u32_key(g, arch, "attention.sliding_window", 0, 0, &sw, err)) return -1;
        c->sliding_window = sw;
    }
    /* llama3-style scaling arrives as explicit frequency divisors */
    const GgufTensor *rf;
    if (gguf_find_tensor(g, "rope_freqs.weight", &rf) == 0) {
        if (rf->numel != c->HD / 2 || c->HD / 2 > 512)
            return pifi_errf(err, "%s: rope_freqs.weight has %lld values, expected %d", gguf_path(g),
                             (long long)rf->numel, c->HD / 2);
        if (gguf_tensor_to_f32(rf, c->rope_freqs, err)) return -1;
        c->has_rope_freqs = 1;
    }
    return 0;
}

int llm_config_from_gguf_file(LlmConfig *c, const char *path, PifiErr *err) {
    GgufFile *g;
    if (gguf_open(&g, path, err)) return -1;
    int rc = config_from_gguf(c, g, err);
    gguf_close(g);
    return rc;
}

/* Tensor s of layer k, checked against the shape the metadata implies
 * (before anything is allocated from those sizes). */
static int layer_tensor(const GgufFile *g, const LlmConfig *c, int k, const LlmTensorSpec *s,
                        const GgufTensor **out, PifiErr *err) {
    const char *gn = gguf_name_of(c, s->name);
    if (!gn) return pifi_errf(err, "%s: no GGUF name for '%s'", gguf_path(g), s->name);
    char name[160];
    snprintf(name, sizeof name, "blk.%d.%s", k, gn);
    const GgufTensor *t;
    if (gguf_get_tensor(g, name, &t, err)) return -1;
    int64_t shape[GGUF_MAX_DIMS];
    int nd = gguf_tensor_shape_pt(t, shape);
    int64_t rows = s->shape[0], cols = s->ndim == 2 ? s->shape[1] : 1;
    int ok = nd == s->ndim && shape[0] == rows && (nd == 1 || shape[1] == cols);
    if (!ok)
        return pifi_errf(err, "%s: tensor '%s' has %d dims [%lld, %lld] but the metadata implies [%lld, %lld]",
                         gguf_path(g), name, nd, (long long)shape[0], nd > 1 ? (long long)shape[1] : 1LL,
                         (long long)rows, (long long)cols);
    *out = t;
    return 0;
}

/* One tensor of layer k in HF layout into dst (numel given by spec). */
static int read_layer_tensor(const GgufFile *g, const LlmConfig *c, int k, const LlmTensorSpec *s,
                             float *dst, PifiErr *err) {
    const GgufTensor *t;
    if (layer_tensor(g, c, k, s, &t, err)) return -1;
    int64_t rows = s->shape[0], cols = s->ndim == 2 ? s->shape[1] : 1;
    int permuted = c->arch == LLM_LLAMA && (strstr(s->name, "q_proj") || strstr(s->name, "k_proj"));
    if (!permuted) {
        if (gguf_tensor_to_f32(t, dst, err)) return -1;
    } else {
        float *tmp = pifi_malloc((size_t)rows * cols * sizeof *tmp, err);
        if (!tmp) return -1;
        int64_t heads = strstr(s->name, "q_proj") ? c->NH : c->NKV;
        int rc = gguf_tensor_to_f32(t, tmp, err);
        if (rc == 0) rc = gguf_unpermute_qk(tmp, dst, rows, cols, heads, err);
        free(tmp);
        if (rc) return -1;
    }
    /* llama.cpp stores Gemma's norms as (1 + w); HF keeps w. */
    if (c->arch == LLM_GEMMA2 && strstr(s->name, "layernorm"))
        for (int64_t i = 0; i < rows; i++) dst[i] -= 1.0f;
    return 0;
}

int llm_layer_load_gguf(LlmLayer *l, const char *path, int layer, int pooled_only, PifiErr *err) {
    GgufFile *g;
    if (gguf_open(&g, path, err)) return -1;
    int rc = config_from_gguf(&l->cfg, g, err);
    int k = 0;
    if (rc == 0 && layer == INT_MIN)
        rc = pifi_errf(err, "%s: a full model: say which layer to plug in (--layer N, -1 = last)", path);
    if (rc == 0) rc = llm_resolve_layer(layer, l->cfg.num_layers, path, &k, err);
    LlmTensorSpec specs[16];
    int n = 0;
    if (rc == 0) {
        l->layer = k;
        l->pooled_only = pooled_only;
        n = llm_layer_specs(&l->cfg, &l->p, pooled_only, specs, 16);
        const GgufTensor *t;
        for (int i = 0; rc == 0 && i < n; i++) rc = layer_tensor(g, &l->cfg, k, &specs[i], &t, err);
        if (rc == 0) rc = llm_layer_alloc(l, specs, n, err);
    }
    for (int i = 0; rc == 0 && i < n; i++) rc = read_layer_tensor(g, &l->cfg, k, &specs[i], *specs[i].dst, err);
    gguf_close(g);
    if (rc) llm_layer_free(l);
    return rc;
}

/* config.json for a layer extracted from GGUF: transformers-style keys. */
static cJSON *hf_config_json(const LlmConfig *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model_type", c->model_type);
    cJSON_AddNumberToObject(o, "hidden_size", c->D);
    cJSON_AddNumberToObject(o, "intermediate_size", c->FF);
    cJSON_AddNumberToObject(o, "num_hidden_layers", c->num_layers);
    cJSON_AddNumberToObject(o, "num_attention_heads", c->NH);
    cJSON_AddNumberToObject(o, "num_key_value_heads", c->NKV);
    cJSON_AddNumberToObject(o, "head_dim", c->HD);
    cJSON_AddNumberToObject(o, "rms_norm_eps", c->rms_eps);
    cJSON_AddBoolToObject(o, "attention_bias", 0);
    cJSON_AddStringToObject(o, c->arch == LLM_GEMMA2 ? "hidden_activation" : "hidden_act",
                            activation_name((Activation)c->act));
    cJSON *rp = cJSON_AddObjectToObject(o, "rope_parameters");
    cJSON_AddStringToObject(rp, "rope_type", "default");
    cJSON_AddNumberToObject(rp, "rope_theta", c->rope_theta);
    if (c->arch == LLM_GEMMA2) {
        cJSON_AddNumberToObject(o, "query_pre_attn_scalar", c->HD);
        cJSON_AddNumberToObject(o, "attn_logit_softcapping", c->softcap);
        if (c->sliding_window) cJSON_AddNumberToObject(o, "sliding_window", c->sliding_window);
    }
    return o;
}

int llm_extract_gguf(const char *src, const int *req, int n_layers, const char *out_dir, int overwrite,
                     LlmExtractReport *rep, PifiErr *err) {
    GgufFile *g;
    if (gguf_open(&g, src, err)) return -1;
    LlmConfig c;
    int rc = config_from_gguf(&c, g, err), layers[64];
    for (int i = 0; rc == 0 && i < n_layers; i++) rc = llm_resolve_layer(req[i], c.num_layers, src, &layers[i], err);
    LlmLayerParams dummy;
    LlmTensorSpec specs[16];
    int ns = llm_layer_specs(&c, &dummy, 0, specs, 16);
    int total = n_layers * ns + (c.has_rope_freqs ? 1 : 0);
    StWriteTensor *wt = calloc((size_t)total, sizeof *wt);
    float **bufs = calloc((size_t)total, sizeof *bufs);
    char (*names)[192] = calloc((size_t)total, sizeof *names);
    char *tmp_dir = NULL;
    int nw = 0;
    if (rc == 0 && (!wt || !bufs || !names)) rc = pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    PifiSha256 *h = rc == 0 ? pifi_sha256_new() : NULL;
    for (int i = 0; rc == 0 && i < n_layers; i++) {
        for (int s = 0; rc == 0 && s < ns; s++, nw++) {
            size_t numel = (size_t)specs[s].shape[0] * (specs[s].ndim == 2 ? specs[s].shape[1] : 1);
            bufs[nw] = pifi_malloc(numel * sizeof(float), err);
            if (!bufs[nw] || read_layer_tensor(g, &c, layers[i], &specs[s], bufs[nw], err)) {
                rc = -1;
                break;
            }
            snprintf(names[nw], sizeof names[nw], "model.layers.%d.%s", layers[i], specs[s].name);
            wt[nw] = (StWriteTensor){names[nw], PIFI_DT_F32, specs[s].ndim, {specs[s].shape[0], specs[s].shape[1]}, bufs[nw]};
            pifi_sha256_update(h, bufs[nw], numel * sizeof(float));
            rep->params += (int64_t)numel;
            rep->bytes += (int64_t)(numel * sizeof(float));
        }
    }
    if (rc == 0 && c.has_rope_freqs) {
        snprintf(names[nw], sizeof names[nw], "model.rope_freqs");
        wt[nw] = (StWriteTensor){names[nw], PIFI_DT_F32, 1, {c.HD / 2, 0}, c.rope_freqs};
        nw++;
    }
    if (h) pifi_sha256_final(h, rep->tensors_sha256);
    if (rc == 0) rc = llm_extract_begin(out_dir, overwrite, &tmp_dir, err);
    if (rc == 0) {
        char *st_path = pifi_path_join(tmp_dir, "model.safetensors");
        cJSON *meta = cJSON_CreateObject();
        cJSON_AddStringToObject(meta, "format", "pt");
        rc = st_write(st_path, wt, nw, meta, err);
        cJSON_Delete(meta);
        free(st_path);
        char hsrc[65];
        const char *files[1][2] = {{"source.gguf", hsrc}};
        if (rc == 0) rc = pifi_sha256_file(src, hsrc, err);
        if (rc == 0) {
            cJSON *cfg = hf_config_json(&c);
            rc = llm_extract_write_config(tmp_dir, cfg, src, layers, n_layers, files, 1, rep->tensors_sha256, err);
            cJSON_Delete(cfg);
        }
        if (rc == 0) rc = llm_extract_commit(tmp_dir, out_dir, err);
        if (rc) llm_extract_rmtree(tmp_dir);
    }
    for (int i = 0; bufs && i < total; i++) free(bufs[i]);
    free(bufs);
    free(names);
    free(wt);
    free(tmp_dir);
    gguf_close(g);
    return rc;
}
