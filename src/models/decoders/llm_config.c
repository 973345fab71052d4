/* llm_config.c: config.json of a Llama-family causal LM and LlmConfig, both
 * ways: llama (incl. SmolLM2, TinyLlama), mistral, qwen2, gemma2. Part of the
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

/* rope_theta and scaling: transformers 5 writes "rope_parameters", 4.x wrote
 * "rope_theta" + "rope_scaling". */
static int parse_rope(LlmConfig *c, const cJSON *root, const char *path, PifiErr *err) {
    c->rope_type = ROPE_DEFAULT;
    c->rope_theta = 10000.0;
    c->rope_factor = 1.0;
    if (pifi_json_double(root, "rope_theta", 0, &c->rope_theta, path, err) < 0) return -1;
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(root, "rope_parameters");
    if (!rp || cJSON_IsNull(rp)) rp = cJSON_GetObjectItemCaseSensitive(root, "rope_scaling");
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
        double qs = c->HD, cap = 0.0;
        if (pifi_json_double(root, "query_pre_attn_scalar", 0, &qs, path, err) < 0 ||
            pifi_json_double(root, "attn_logit_softcapping", 0, &cap, path, err) < 0)
            return -1;
        if (!(qs > 0) || cap < 0) {
            pifi_errf(err, "%s: query_pre_attn_scalar must be > 0 and attn_logit_softcapping >= 0", path);
            return -1;
        }
        c->attn_scale = (float)(1.0 / sqrt(qs));
        c->softcap = (float)cap;
    }
    if (parse_rope(c, root, path, err)) return -1;
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
        cJSON_AddNumberToObject(o, "attn_logit_softcapping", c->softcap);
    }
    if (c->sliding_window > 0) {
        if (flags & LLM_ARCH_SW_OPT_IN) cJSON_AddBoolToObject(o, "use_sliding_window", 1);
        cJSON_AddNumberToObject(o, "sliding_window", c->sliding_window);
    }
    return o;
}
