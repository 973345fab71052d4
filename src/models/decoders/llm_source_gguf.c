/* llm_source_gguf.c: the GGUF side of an LLM source (llm_source.h): a GGUF
 * file (llama.cpp's format) as a config from its metadata and tensors named
 * back to Hugging Face names and layouts: dequantized to fp32, Q/K rows
 * un-permuted for the llama architecture, Gemma's stored (1 + w) norms
 * turned back into w; Gemma3's layer types and RoPE as llama.cpp sets them. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/activation.h"
#include "kernels/rope.h"
#include "models/decoders/llm_arch.h"
#include "models/decoders/llm_source_gguf.h"
#include "pifi/gguf.h"

/* GGUF name (after "blk.N.") for each HF name (after "model.layers.N."). */
static const char *gguf_name_of(const LlmConfig *c, const char *hf) {
    int gemma = LLM_ARCH_HAS(c, LLM_ARCH_SANDWICH);
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
        {"self_attn.q_norm.weight", "attn_q_norm.weight"}, {"self_attn.k_norm.weight", "attn_k_norm.weight"},
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

/* What llama.cpp's llama-model.cpp sets for gemma3 (none of it is in the
 * file but the window and the rope scaling): with a sliding window, every
 * 6th layer full, the others sliding with RoPE base 10000; attention scale
 * head_dim^-0.5 (query_pre_attn_scalar = head_dim), n_embd / n_head for the
 * 27B model (62 layers), whose query_pre_attn_scalar is that; linear rope
 * scaling of the full layers from rope.scaling.type / .factor. */
static int gemma3_config(LlmConfig *c, const GgufFile *g, const char *arch, PifiErr *err) {
    memset(c->sliding_layers, 0, sizeof c->sliding_layers);
    c->rope_local_theta = 10000.0;
    if (c->sliding_window > 0)
        for (int i = 0; i < c->num_layers && i < 4096; i++)
            if ((i + 1) % 6) c->sliding_layers[i / 64] |= 1ull << (i % 64);
    if (c->num_layers == 62) c->attn_scale = 1.0f / sqrtf((float)(c->D / c->NH));
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    if (gguf_find_key(g, key) < 0) return 0;
    const char *type;
    if (gguf_get_str(g, key, &type, NULL, err)) return -1;
    if (strcmp(type, "none") == 0) return 0;
    if (strcmp(type, "linear") != 0)
        return pifi_errf(err, "%s: rope scaling \"%s\" is not supported for gemma3 (linear)", gguf_path(g), type);
    float factor;
    if (get_f32_key(g, arch, "rope.scaling.factor", 1.0f, &factor, err)) return -1;
    if (!(factor > 0)) return pifi_errf(err, "%s: rope scaling factor must be > 0", gguf_path(g));
    c->rope_type = ROPE_LINEAR;
    c->rope_factor = factor;
    return 0;
}

int llm_gguf_config(LlmConfig *c, const GgufFile *g, PifiErr *err) {
    memset(c, 0, sizeof *c);
    const char *arch;
    if (gguf_get_str(g, "general.architecture", &arch, NULL, err)) return -1;
    const LlmArchInfo *ai = llm_arch_by_gguf(arch);
    if (!ai) {
        char list[128];
        llm_arch_list(1, list, sizeof list);
        return pifi_errf(err, "%s: unsupported GGUF architecture \"%s\" (supported: %s)", gguf_path(g), arch, list);
    }
    c->arch = ai->arch;
    snprintf(c->model_type, sizeof c->model_type, "%s", ai->model_type); /* config.json's name (gemma3_text) */
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
    c->qkv_bias = (ai->flags & LLM_ARCH_QKV_BIAS) != 0;
    if (ai->flags & LLM_ARCH_SANDWICH) {
        c->act = ACT_GELU_TANH;
        c->norm_offset = 1.0f;
        if (get_f32_key(g, arch, "attn_logit_softcapping", 0.0f, &c->softcap, err)) return -1;
        int sw = 0;
        if (get_u32_key(g, arch, "attention.sliding_window", 0, 0, &sw, err)) return -1;
        c->sliding_window = sw;
    }
    if ((ai->flags & LLM_ARCH_LAYER_TYPES) && gemma3_config(c, g, arch, err)) return -1;
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

/* The GGUF name of a tensor outside the layers (the decoder family's SLM
 * reads them), NULL if none. */
static const char *gguf_model_name_of(const char *hf) {
    if (strcmp(hf, "model.embed_tokens.weight") == 0) return "token_embd.weight";
    if (strcmp(hf, "model.norm.weight") == 0) return "output_norm.weight";
    return NULL;
}

/* "model.layers.<k>.<rest>" -> k and rest; 0 when name is not a layer's. */
static int split_layer_name(const char *name, int *k, const char **rest) {
    int pos = 0;
    if (sscanf(name, "model.layers.%d.%n", k, &pos) != 1 || pos == 0) return 0;
    *rest = name + pos;
    return 1;
}

int llm_gguf_tensor(const GgufFile *g, const LlmConfig *c, const char *name, int ndim, const int64_t *shape,
                    LlmTensorView *v, PifiErr *err) {
    int k = 0;
    const char *hf = NULL, *gn = split_layer_name(name, &k, &hf) ? gguf_name_of(c, hf) : NULL;
    char gname[160];
    if (gn) snprintf(gname, sizeof gname, "blk.%d.%s", k, gn);
    else if ((gn = gguf_model_name_of(name))) snprintf(gname, sizeof gname, "%s", gn);
    if (!gn) {
        if (!shape) return 1;
        return pifi_errf(err, "%s: no GGUF name for '%s'", gguf_path(g), hf ? hf : name);
    }
    const GgufTensor *t;
    if (!shape) {
        if (gguf_find_tensor(g, gname, &t)) return 1;
    } else if (gguf_get_tensor(g, gname, &t, err)) {
        return -1;
    }
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    v->ndim = gguf_tensor_shape_pt(t, v->shape);
    if (shape) { /* before anything is allocated from the metadata's sizes */
        int64_t rows = shape[0], cols = ndim == 2 ? shape[1] : 1;
        int ok = v->ndim == ndim && v->shape[0] == rows && (ndim == 1 || v->shape[1] == cols);
        if (!ok)
            return pifi_errf(err, "%s: tensor '%s' has %d dims [%lld, %lld] but the metadata implies [%lld, %lld]",
                             gguf_path(g), gname, v->ndim, (long long)v->shape[0],
                             v->ndim > 1 ? (long long)v->shape[1] : 1LL, (long long)rows, (long long)cols);
    }
    v->dtype = PIFI_DT_F32;
    v->numel = t->numel;
    v->nbytes = (uint64_t)t->numel * sizeof(float);
    v->file = gguf_path(g);
    v->impl = t;
    return 0;
}

int llm_gguf_read_f32(const LlmConfig *c, const LlmTensorView *v, float *dst, PifiErr *err) {
    const GgufTensor *t = v->impl;
    int64_t rows = v->shape[0], cols = v->ndim == 2 ? v->shape[1] : 1;
    int permuted = LLM_ARCH_HAS(c, LLM_ARCH_GGUF_PERMUTED_QK) && (strstr(v->name, "q_proj") || strstr(v->name, "k_proj"));
    if (!permuted) {
        if (gguf_tensor_to_f32(t, dst, err)) return -1;
    } else {
        float *tmp = pifi_malloc((size_t)rows * cols * sizeof *tmp, err);
        if (!tmp) return -1;
        int64_t heads = strstr(v->name, "q_proj") ? c->NH : c->NKV;
        int rc = gguf_tensor_to_f32(t, tmp, err);
        if (rc == 0) rc = gguf_unpermute_qk(tmp, dst, rows, cols, heads, err);
        free(tmp);
        if (rc) return -1;
    }
    /* llama.cpp stores Gemma's norms as (1 + w), Gemma3's q/k norms too; HF keeps w. */
    if (LLM_ARCH_HAS(c, LLM_ARCH_SANDWICH) && (strstr(v->name, "layernorm") || strstr(v->name, "_norm.weight")))
        for (int64_t i = 0; i < rows; i++) dst[i] -= 1.0f;
    return 0;
}
