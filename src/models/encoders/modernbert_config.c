/* modernbert_config.c: the ModernBERT family's config.json into an
 * EncoderConfig, validated, as transformers' ModernBertConfig reads it
 * (its defaults where a field is absent): the transformers 4 form
 * (global_attn_every_n_layers, global_rope_theta, local_rope_theta) and the
 * transformers 5 form (layer_types, rope_parameters: what save_pretrained
 * writes now). layer_types must follow the one pattern ModernBERT has (full
 * attention at every n-th layer from layer 0); RoPE must be "default". */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kernels/activation.h"
#include "models/encoders/modernbert_internal.h"
#include "pifi/json.h"

static int get_int(const cJSON *root, const char *key, int required, int64_t dflt, int64_t lo, int64_t hi, int *out,
                   const char *path, PifiErr *err) {
    int64_t v = dflt;
    if (pifi_json_int(root, key, required, &v, path, err) < 0) return -1;
    if (v < lo || v > hi)
        return pifi_errf(err, "%s: \"%s\" is %lld, expected %lld..%lld", path, key, (long long)v, (long long)lo,
                         (long long)hi);
    *out = (int)v;
    return 0;
}

static int get_prob(const cJSON *root, const char *key, float *out, const char *path, PifiErr *err) {
    double p = 0.0;
    if (pifi_json_double(root, key, 0, &p, path, err) < 0) return -1;
    if (!(p >= 0.0 && p < 1.0)) return pifi_errf(err, "%s: \"%s\" is %g, expected [0, 1)", path, key, p);
    *out = (float)p;
    return 0;
}

static int get_flag(const cJSON *root, const char *key, unsigned bit, unsigned *bits, const char *path,
                    PifiErr *err) {
    int v = 0;
    if (pifi_json_bool(root, key, 0, &v, path, err) < 0) return -1;
    if (v) *bits |= bit;
    return 0;
}

/* A rope_theta: positive and finite. */
static int check_theta(double th, const char *what, const char *path, PifiErr *err) {
    if (!(th > 0.0 && th < 1e30)) return pifi_errf(err, "%s: %s is %g, expected a positive number", path, what, th);
    return 0;
}

/* rope_parameters.<kind> (transformers 5): rope_type "default", its rope_theta into *theta. */
static int rope_params(const cJSON *root, const char *kind, float *theta, const char *path, PifiErr *err) {
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(root, "rope_parameters");
    if (!rp || cJSON_IsNull(rp)) return 0;
    if (!cJSON_IsObject(rp)) return pifi_errf(err, "%s: \"rope_parameters\" must be an object", path);
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(rp, kind);
    if (!o || cJSON_IsNull(o)) return 0;
    if (!cJSON_IsObject(o)) return pifi_errf(err, "%s: \"rope_parameters.%s\" must be an object", path, kind);
    char what[80];
    snprintf(what, sizeof what, "rope_parameters.%s", kind);
    const char *type = "default";
    if (pifi_json_string(o, "rope_type", 0, &type, path, err) < 0) return -1;
    if (strcmp(type, "default") != 0)
        return pifi_errf(err, "%s: \"%s.rope_type\" is \"%s\"; only \"default\" RoPE is supported", path, what, type);
    double th = *theta;
    if (pifi_json_double(o, "rope_theta", 0, &th, path, err) < 0) return -1;
    snprintf(what, sizeof what, "\"rope_parameters.%s.rope_theta\"", kind);
    if (check_theta(th, what, path, err)) return -1;
    *theta = (float)th;
    return 0;
}

/* layer_types (transformers 5) into the period of full attention; absent: unchanged. */
static int layer_types(const cJSON *root, EncoderConfig *c, const char *path, PifiErr *err) {
    const cJSON *lt = cJSON_GetObjectItemCaseSensitive(root, "layer_types");
    if (!lt || cJSON_IsNull(lt)) return 0;
    if (!cJSON_IsArray(lt) || cJSON_GetArraySize(lt) != c->L)
        return pifi_errf(err, "%s: \"layer_types\" must be a list of num_hidden_layers (%d) strings", path, c->L);
    int every = c->L; /* layer 0 full, the next full one sets the period */
    for (int l = 0; l < c->L; l++) {
        const cJSON *t = cJSON_GetArrayItem(lt, l);
        int full = cJSON_IsString(t) && !strcmp(t->valuestring, "full_attention");
        if (!full && !(cJSON_IsString(t) && !strcmp(t->valuestring, "sliding_attention")))
            return pifi_errf(err, "%s: \"layer_types\"[%d] must be \"full_attention\" or \"sliding_attention\"", path,
                             l);
        if (l > 0 && full && every == c->L) every = l;
    }
    for (int l = 0; l < c->L; l++) {
        const char *t = cJSON_GetArrayItem(lt, l)->valuestring;
        if (!strcmp(t, "full_attention") != (l % every == 0))
            return pifi_errf(err, "%s: \"layer_types\" is not full attention at every n-th layer from layer 0 "
                             "(ModernBERT's pattern, global_attn_every_n_layers)", path);
    }
    c->modernbert.global_every = every;
    return 0;
}

int modernbert_config_parse(EncoderConfig *c, const cJSON *root, const char *path, PifiErr *err) {
    if (get_int(root, "vocab_size", 1, 0, 1, 1 << 22, &c->V, path, err) ||
        get_int(root, "hidden_size", 1, 0, 1, 1 << 16, &c->C, path, err) ||
        get_int(root, "num_hidden_layers", 1, 0, 1, 1024, &c->L, path, err) ||
        get_int(root, "num_attention_heads", 1, 0, 1, 1024, &c->NH, path, err) ||
        get_int(root, "intermediate_size", 1, 0, 1, 1 << 18, &c->FF, path, err) ||
        get_int(root, "max_position_embeddings", 0, 8192, 1, 1 << 20, &c->maxT, path, err))
        return -1;
    if (get_int(root, "pad_token_id", 0, 50283, 0, c->V - 1, &c->pad_id, path, err)) return -1;
    if (c->C % c->NH != 0 || (c->C / c->NH) % 2 != 0)
        return pifi_errf(err, "%s: hidden_size %d over num_attention_heads %d is not an even head size (RoPE)", path,
                         c->C, c->NH);
    c->E = c->C;
    c->TV = 0;
    double eps = 1e-5;
    if (pifi_json_double(root, "norm_eps", 0, &eps, path, err) < 0) return -1;
    if (!(eps >= FLT_MIN && eps < 1))
        return pifi_errf(err, "%s: \"norm_eps\" %g must be in [1.2e-38, 1) (a positive float)", path, eps);
    c->ln_eps = (float)eps;
    const char *act = "gelu";
    if (pifi_json_string(root, "hidden_activation", 0, &act, path, err) < 0) return -1;
    Activation a;
    if (activation_parse(act, &a)) return pifi_errf(err, "%s: unsupported hidden_activation \"%s\"", path, act);
    c->act = (int)a;
    if (get_prob(root, "attention_dropout", &c->attn_dropout, path, err) ||
        get_prob(root, "mlp_dropout", &c->hidden_dropout, path, err) ||
        get_prob(root, "embedding_dropout", &c->modernbert.emb_dropout, path, err))
        return -1;
    c->modernbert.bias = 0;
    if (get_flag(root, "attention_bias", MB_BIAS_ATTN, &c->modernbert.bias, path, err) ||
        get_flag(root, "mlp_bias", MB_BIAS_MLP, &c->modernbert.bias, path, err) ||
        get_flag(root, "norm_bias", MB_BIAS_NORM, &c->modernbert.bias, path, err))
        return -1;
    int local = 128;
    if (get_int(root, "local_attention", 0, 128, 0, 1 << 20, &local, path, err)) return -1;
    c->modernbert.window = local / 2;
    if (get_int(root, "global_attn_every_n_layers", 0, 3, 1, 1 << 20, &c->modernbert.global_every, path, err)) return -1;
    if (layer_types(root, c, path, err)) return -1;
    /* RoPE: transformers 4's two thetas, overridden by transformers 5's rope_parameters */
    double g = 160000.0, lo = 10000.0;
    if (pifi_json_double(root, "global_rope_theta", 0, &g, path, err) < 0 ||
        check_theta(g, "\"global_rope_theta\"", path, err) ||
        pifi_json_double(root, "local_rope_theta", 0, &lo, path, err) < 0 ||
        check_theta(lo, "\"local_rope_theta\"", path, err))
        return -1;
    c->modernbert.rope_global = (float)g;
    c->modernbert.rope_local = (float)lo;
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(root, "rope_scaling");
    if (rs && !cJSON_IsNull(rs)) return pifi_errf(err, "%s: \"rope_scaling\" is not supported (only default RoPE)", path);
    if (rope_params(root, "full_attention", &c->modernbert.rope_global, path, err) ||
        rope_params(root, "sliding_attention", &c->modernbert.rope_local, path, err))
        return -1;
    return 0;
}
