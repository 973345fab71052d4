/* llm_config.c: config.json of a Llama-family causal LM and LlmConfig, both
 * ways: llama (incl. SmolLM2, TinyLlama), mistral, qwen2, gemma2, gemma3_text
 * (with its layer types: a layer's window and RoPE). Part of the
 * checkpoint source (llm_source.h); llm_config_to_json is the one writer of
 * the form (a GGUF's config as config.json, the int8 run's bundled layer). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kernels/activation.h"
#include "kernels/rope.h"
#include "models/decoders/llm_arch.h"
#include "models/decoders/llm_source.h"
#include "pifi/json.h"

static int get_int(const cJSON *o, const char *key, int required, int dflt, int lo, int hi, int *out,
                   const char *path, PifiErr *err) {
    int64_t v = dflt;
    int rc = pifi_json_int(o, key, required, &v, path, err);
    if (rc < 0) return -1;
    if (v < lo || v > hi)
        return pifi_errf(err, "%s: \"%s\" is %lld, expected %d..%d", path, key, (long long)v, lo, hi);
    *out = (int)v;
    return 0;
}

/* Gemma3's sliding layers: "rope_local_base_freq" (transformers 4.x) or
 * rope_parameters' "sliding_attention" (5.x, default type only), into
 * c->rope_local_theta; *rp moves to "full_attention", the RoPE of the rest. */
static int parse_rope_local(LlmConfig *c, const cJSON *root, const cJSON **rp, const char *path, PifiErr *err) {
    c->rope_theta = 1000000.0; /* transformers' Gemma3 defaults */
    c->rope_local_theta = 10000.0;
    if (pifi_json_double(root, "rope_local_base_freq", 0, &c->rope_local_theta, path, err) < 0) return -1;
    const cJSON *full = cJSON_IsObject(*rp) ? cJSON_GetObjectItemCaseSensitive(*rp, "full_attention") : NULL;
    if (!full) return 0;
    const cJSON *sl = cJSON_GetObjectItemCaseSensitive(*rp, "sliding_attention");
    if (!cJSON_IsObject(full) || (sl && !cJSON_IsObject(sl)))
        return pifi_errf(err, "%s: rope_parameters' full_attention and sliding_attention must be objects", path);
    const char *type = "default";
    if (sl && (pifi_json_string(sl, "rope_type", 0, &type, path, err) < 0 ||
               pifi_json_double(sl, "rope_theta", 0, &c->rope_local_theta, path, err) < 0))
        return -1;
    if (strcmp(type, "default") != 0)
        return pifi_errf(err, "%s: sliding_attention rope type \"%s\" is not supported (default)", path, type);
    if (!(c->rope_local_theta > 0)) return pifi_errf(err, "%s: the sliding layers' rope_theta must be > 0", path);
    *rp = full;
    return 0;
}

/* rope_theta and scaling: transformers 5 writes "rope_parameters", 4.x wrote
 * "rope_theta" + "rope_scaling". */
static int parse_rope(LlmConfig *c, const cJSON *root, int layer_types, const char *path, PifiErr *err) {
    c->rope_type = ROPE_DEFAULT;
    c->rope_theta = 10000.0;
    c->rope_factor = 1.0;
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(root, "rope_parameters");
    if (!rp || cJSON_IsNull(rp)) rp = cJSON_GetObjectItemCaseSensitive(root, "rope_scaling");
    if (layer_types && parse_rope_local(c, root, &rp, path, err)) return -1;
    if (pifi_json_double(root, "rope_theta", 0, &c->rope_theta, path, err) < 0) return -1;
    if (rp && !cJSON_IsNull(rp)) {
        if (!cJSON_IsObject(rp)) return pifi_errf(err, "%s: rope parameters must be an object", path);
        if (pifi_json_double(rp, "rope_theta", 0, &c->rope_theta, path, err) < 0) return -1;
        const char *type = NULL;
        if (pifi_json_string(rp, "rope_type", 0, &type, path, err) < 0) return -1;
        if (!type && pifi_json_string(rp, "type", 0, &type, path, err) < 0) /* older spelling */
            return -1;
        if (!type) type = "default";
        if (strcmp(type, "default") == 0) {
            c->rope_type = ROPE_DEFAULT;
        } else if (strcmp(type, "linear") == 0) {
            c->rope_type = ROPE_LINEAR;
            if (pifi_json_double(rp, "factor", 1, &c->rope_factor, path, err)) return -1;
        } else if (strcmp(type, "llama3") == 0) {
            c->rope_type = ROPE_LLAMA3;
            if (pifi_json_double(rp, "factor", 1, &c->rope_factor, path, err) ||
                pifi_json_double(rp, "low_freq_factor", 1, &c->rope_low_freq, path, err) ||
                pifi_json_double(rp, "high_freq_factor", 1, &c->rope_high_freq, path, err) ||
                get_int(rp, "original_max_position_embeddings", 1, 0, 1, 1 << 24,
                        &c->rope_orig_max_pos, path, err))
                return -1;
            if (!(c->rope_high_freq > c->rope_low_freq))
                return pifi_errf(err, "%s: llama3 rope needs high_freq_factor > low_freq_factor", path);
        } else {
            return pifi_errf(err, "%s: rope type \"%s\" is not supported (default, linear, llama3)",
                             path, type);
        }
        if (!(c->rope_factor > 0)) return pifi_errf(err, "%s: rope factor must be > 0", path);
    }
    if (!(c->rope_theta > 0)) return pifi_errf(err, "%s: rope_theta must be > 0", path);
    return 0;
}

/* Gemma3: "layer_types" (one "sliding_attention" / "full_attention" per
 * layer), else every sliding_window_pattern-th layer full (default 6), as
 * transformers' Gemma3TextConfig; a sliding window, default 4096. */
static int parse_layer_types(LlmConfig *c, const cJSON *root, const char *path, PifiErr *err) {
    memset(c->sliding_layers, 0, sizeof c->sliding_layers);
    int bidir = 0;
    if (pifi_json_bool(root, "use_bidirectional_attention", 0, &bidir, path, err) < 0) return -1;
    if (bidir) return pifi_errf(err, "%s: use_bidirectional_attention is not supported", path);
    const cJSON *sw = cJSON_GetObjectItemCaseSensitive(root, "sliding_window");
    c->sliding_window = 4096;
    if (!cJSON_IsNull(sw) && get_int(root, "sliding_window", 0, 4096, 1, 1 << 30, &c->sliding_window, path, err))
        return -1;
    const cJSON *lt = cJSON_GetObjectItemCaseSensitive(root, "layer_types");
    if (!lt || cJSON_IsNull(lt)) {
        int pattern = 6;
        if (get_int(root, "sliding_window_pattern", 0, 6, 1, 1 << 20, &pattern, path, err)) return -1;
        for (int i = 0; i < c->num_layers; i++)
            if ((i + 1) % pattern) c->sliding_layers[i / 64] |= 1ull << (i % 64);
        return 0;
    }
    if (!cJSON_IsArray(lt) || cJSON_GetArraySize(lt) != c->num_layers)
        return pifi_errf(err, "%s: layer_types must list num_hidden_layers (%d) layer types", path, c->num_layers);
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, lt) {
        const char *t = cJSON_GetStringValue(it);
        if (t && strcmp(t, "sliding_attention") == 0)
            c->sliding_layers[i / 64] |= 1ull << (i % 64);
        else if (!t || strcmp(t, "full_attention") != 0)
            return pifi_errf(err, "%s: layer_types[%d] must be \"sliding_attention\" or \"full_attention\"", path, i);
        i++;
    }
    return 0;
}

static int layer_slides(const LlmConfig *c, int layer) {
    return LLM_ARCH_HAS(c, LLM_ARCH_LAYER_TYPES) && layer >= 0 && layer < c->num_layers && layer < 4096 &&
           (c->sliding_layers[layer / 64] >> (layer % 64) & 1);
}

int llm_config_layer_window(const LlmConfig *c, int layer) {
    if (LLM_ARCH_HAS(c, LLM_ARCH_LAYER_TYPES)) return layer_slides(c, layer) ? c->sliding_window : 0;
    return c->sliding_window;
}

void llm_config_layer_inv_freq(const LlmConfig *c, int layer, float *inv_freq) {
    RopeParams rp = {c->rope_type, c->rope_theta, c->rope_factor, c->rope_low_freq, c->rope_high_freq,
                     c->rope_orig_max_pos};
    if (layer_slides(c, layer)) {
        RopeParams local = {ROPE_DEFAULT, c->rope_local_theta, 1.0, 0, 0, 0};
        rope_inv_freq(inv_freq, &local, c->HD);
        return;
    }
    if (c->has_rope_freqs) rp.type = ROPE_DEFAULT;
    rope_inv_freq(inv_freq, &rp, c->HD);
    if (c->has_rope_freqs)
        for (int i = 0; i < c->HD / 2; i++) inv_freq[i] /= c->rope_freqs[i];
}

int llm_config_load(LlmConfig *c, const char *path, PifiErr *err) {
    memset(c, 0, sizeof *c);
    cJSON *root;
    if (pifi_json_load(path, 1 << 20, &root, err)) return -1;
    int rc = llm_config_parse(c, root, path, err);
    cJSON_Delete(root);
    return rc;
}

int llm_config_parse(LlmConfig *c, const cJSON *root, const char *path, PifiErr *err) {
    memset(c, 0, sizeof *c);
    const char *mt;
    if (!cJSON_IsObject(root)) return pifi_errf(err, "%s: expected a JSON object", path);
    if (pifi_json_unique_keys(root, path, err)) return -1;
    if (pifi_json_string(root, "model_type", 1, &mt, path, err)) return -1;
    const LlmArchInfo *ai = llm_arch_by_model_type(mt);
    if (!ai) {
        char list[128];
        llm_arch_list(0, list, sizeof list);
        return pifi_errf(err, "%s: unsupported LLM model_type \"%s\" (supported: %s)", path, mt, list);
    }
    c->arch = ai->arch;
    int sandwich = (ai->flags & LLM_ARCH_SANDWICH) != 0, qkv_bias = (ai->flags & LLM_ARCH_QKV_BIAS) != 0;
    int types = (ai->flags & LLM_ARCH_LAYER_TYPES) != 0;
    snprintf(c->model_type, sizeof c->model_type, "%s", mt);
    if (get_int(root, "hidden_size", 1, 0, 1, 1 << 17, &c->D, path, err) ||
        get_int(root, "num_attention_heads", 1, 0, 1, 4096, &c->NH, path, err) ||
        get_int(root, "intermediate_size", 1, 0, 1, 1 << 20, &c->FF, path, err) ||
        get_int(root, "num_hidden_layers", 1, 0, 1, 4096, &c->num_layers, path, err) ||
        get_int(root, "num_key_value_heads", 0, c->NH, 1, c->NH, &c->NKV, path, err) ||
        get_int(root, "head_dim", 0, c->D / c->NH, 1, 1 << 14, &c->HD, path, err))
        return -1;
    if (c->NH % c->NKV != 0) {
        pifi_errf(err, "%s: num_attention_heads %d is not a multiple of num_key_value_heads %d", path,
                  c->NH, c->NKV);
        return -1;
    }
    if (c->HD % 2 != 0) {
        pifi_errf(err, "%s: head_dim %d must be even for RoPE", path, c->HD);
        return -1;
    }
    double eps = 1e-6;
    if (pifi_json_double(root, "rms_norm_eps", 0, &eps, path, err) < 0) return -1;
    if (!(eps >= FLT_MIN && eps < 1)) { /* held as a float: 1e-87 would become 0 */
        pifi_errf(err, "%s: rms_norm_eps %g must be in [1.2e-38, 1) (a positive float)", path, eps);
        return -1;
    }
    c->rms_eps = (float)eps;
    double init_range = 0.02;
    const cJSON *ir = cJSON_GetObjectItemCaseSensitive(root, "initializer_range");
    if (ir && !cJSON_IsNull(ir) && pifi_json_double(root, "initializer_range", 0, &init_range, path, err) < 0)
        return -1;
    if (!(init_range >= 0 && init_range < 10)) {
        pifi_errf(err, "%s: initializer_range must be in [0, 10)", path);
        return -1;
    }
    c->initializer_range = (float)init_range;
    const char *act = sandwich ? "gelu_pytorch_tanh" : "silu";
    if (pifi_json_string(root, sandwich ? "hidden_activation" : "hidden_act", 0, &act, path, err) < 0)
        return -1;
    Activation a;
    if (activation_parse(act, &a)) {
        pifi_errf(err, "%s: unsupported activation \"%s\"", path, act);
        return -1;
    }
    c->act = (int)a;
    int bias = 0;
    if (pifi_json_bool(root, "attention_bias", 0, &bias, path, err) < 0) return -1;
    c->qkv_bias = qkv_bias || bias;
    c->o_bias = !qkv_bias && bias;
    c->attn_scale = 1.0f / sqrtf((float)c->HD);
    if (sandwich) {
        c->norm_offset = 1.0f;
        double qs = types ? 256 : c->HD, cap = 0.0; /* transformers' Gemma3 default: 256 */
        const cJSON *cj = cJSON_GetObjectItemCaseSensitive(root, "attn_logit_softcapping"); /* null: none */
        if (pifi_json_double(root, "query_pre_attn_scalar", 0, &qs, path, err) < 0 ||
            (!cJSON_IsNull(cj) && pifi_json_double(root, "attn_logit_softcapping", 0, &cap, path, err) < 0))
            return -1;
        if (!(qs > 0) || cap < 0) {
            pifi_errf(err, "%s: query_pre_attn_scalar must be > 0 and attn_logit_softcapping >= 0", path);
            return -1;
        }
        c->attn_scale = (float)(1.0 / sqrt(qs));
        c->softcap = (float)cap;
    }
    if (parse_rope(c, root, types, path, err)) return -1;
    if (types) return parse_layer_types(c, root, path, err);
    int opt_in = (ai->flags & LLM_ARCH_SW_OPT_IN) != 0, use_sw = !opt_in; /* Qwen2 slides only with use_sliding_window */
    if (opt_in && pifi_json_bool(root, "use_sliding_window", 0, &use_sw, path, err) < 0)
        return -1;
    if (use_sw && get_int(root, "sliding_window", 0, 0, 0, 1 << 30, &c->sliding_window, path, err))
        return -1;
    return 0;
}

/* Keys in the order a GGUF's config was always written in (so `pifi extract`
 * of a GGUF gives the same config.json as before); what equals the default
 * llm_config_parse assumes (no sliding window, initializer_range 0 = 0.02)
 * is left out. */
cJSON *llm_config_to_json(const LlmConfig *c) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    unsigned flags = llm_arch_info(c->arch)->flags;
    cJSON_AddStringToObject(o, "model_type", c->model_type);
    cJSON_AddNumberToObject(o, "hidden_size", c->D);
    cJSON_AddNumberToObject(o, "intermediate_size", c->FF);
    cJSON_AddNumberToObject(o, "num_hidden_layers", c->num_layers);
    cJSON_AddNumberToObject(o, "num_attention_heads", c->NH);
    cJSON_AddNumberToObject(o, "num_key_value_heads", c->NKV);
    cJSON_AddNumberToObject(o, "head_dim", c->HD);
    cJSON_AddNumberToObject(o, "rms_norm_eps", c->rms_eps);
    if (c->initializer_range > 0) cJSON_AddNumberToObject(o, "initializer_range", c->initializer_range);
    /* Qwen2's q/k/v biases come with its model_type; attention_bias gives Llama's four */
    cJSON_AddBoolToObject(o, "attention_bias", flags & LLM_ARCH_QKV_BIAS ? 0 : c->qkv_bias);
    cJSON_AddStringToObject(o, flags & LLM_ARCH_SANDWICH ? "hidden_activation" : "hidden_act",
                            activation_name((Activation)c->act));
    cJSON *rp = cJSON_AddObjectToObject(o, "rope_parameters");
    if (flags & LLM_ARCH_LAYER_TYPES) { /* transformers 5's per layer type form */
        cJSON *full = cJSON_AddObjectToObject(rp, "full_attention");
        cJSON *sl = cJSON_AddObjectToObject(rp, "sliding_attention");
        cJSON_AddStringToObject(sl, "rope_type", "default");
        cJSON_AddNumberToObject(sl, "rope_theta", c->rope_local_theta);
        rp = full;
    }
    static const char *TYPE[] = {[ROPE_DEFAULT] = "default", [ROPE_LLAMA3] = "llama3", [ROPE_LINEAR] = "linear"};
    cJSON_AddStringToObject(rp, "rope_type", TYPE[c->rope_type]);
    cJSON_AddNumberToObject(rp, "rope_theta", c->rope_theta);
    if (c->rope_type != ROPE_DEFAULT) cJSON_AddNumberToObject(rp, "factor", c->rope_factor);
    if (c->rope_type == ROPE_LLAMA3) {
        cJSON_AddNumberToObject(rp, "low_freq_factor", c->rope_low_freq);
        cJSON_AddNumberToObject(rp, "high_freq_factor", c->rope_high_freq);
        cJSON_AddNumberToObject(rp, "original_max_position_embeddings", c->rope_orig_max_pos);
    }
    if (flags & LLM_ARCH_SANDWICH) {
        cJSON_AddNumberToObject(o, "query_pre_attn_scalar", 1.0 / ((double)c->attn_scale * c->attn_scale));
        if (c->softcap > 0 || !(flags & LLM_ARCH_LAYER_TYPES))
            cJSON_AddNumberToObject(o, "attn_logit_softcapping", c->softcap);
        else /* transformers' Gemma3 divides by a softcap that is not null */
            cJSON_AddNullToObject(o, "attn_logit_softcapping");
    }
    if (flags & LLM_ARCH_LAYER_TYPES) {
        cJSON *lt = cJSON_AddArrayToObject(o, "layer_types");
        for (int i = 0; i < c->num_layers && lt; i++)
            cJSON_AddItemToArray(lt, cJSON_CreateString(layer_slides(c, i) ? "sliding_attention" : "full_attention"));
    }
    if (c->sliding_window > 0) {
        if (flags & LLM_ARCH_SW_OPT_IN) cJSON_AddBoolToObject(o, "use_sliding_window", 1);
        cJSON_AddNumberToObject(o, "sliding_window", c->sliding_window);
    }
    return o;
}
