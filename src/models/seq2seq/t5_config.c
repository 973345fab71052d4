/* t5_config.c: a T5 config.json (model_type "t5") into Seq2SeqConfig, as
 * transformers' T5Config reads it: the sizes (required: a real checkpoint
 * names them all), feed_forward_proj ("relu", "gated-gelu" = gelu_new times
 * wi_1, "gated-<act>"), the relative attention's buckets, the ids, and the
 * LM head: tie_word_embeddings (default true) shares it with the
 * embeddings; the d_model^-0.5 rescale before it follows the tie unless
 * scale_decoder_outputs says otherwise (transformers 5 writes that key and
 * tie_word_embeddings true for every T5 it saves). */
#include <stdio.h>
#include <string.h>

#include "kernels/activation.h"
#include "models/seq2seq/t5_internal.h"
#include "pifi/json.h"

/* An integer field in [lo, hi]; absent: def (required: an error). */
static int get_int(const cJSON *root, const char *key, int required, int64_t def, int64_t lo, int64_t hi, int *out,
                   const char *path, PifiErr *err) {
    int64_t v = def;
    int rc = pifi_json_int(root, key, required, &v, path, err);
    if (rc < 0) return -1;
    if (v < lo || v > hi)
        return pifi_errf(err, "%s: field \"%s\" is %lld; expected %lld..%lld", path, key, (long long)v,
                         (long long)lo, (long long)hi);
    *out = (int)v;
    return 0;
}

static int get_float(const cJSON *root, const char *key, double def, double lo, double hi, int lo_open, float *out,
                     const char *path, PifiErr *err) {
    double v = def;
    if (pifi_json_double(root, key, 0, &v, path, err) < 0) return -1;
    float f = (float)v; /* checked as the float it is used as: 1e-85 is 0 there, 0.999999999 is 1 */
    if (!(lo_open ? f > lo : f >= lo) || !(f < hi))
        return pifi_errf(err, "%s: field \"%s\" is %g (as a float %g); expected %s%g..%g)", path, key, v, (double)f,
                         lo_open ? "(" : "[", lo, hi);
    *out = f;
    return 0;
}

/* feed_forward_proj: "<act>" or "gated-<act>"; transformers reads "gated-gelu" as gelu_new */
static int parse_ff(Seq2SeqConfig *cfg, const cJSON *root, const char *path, PifiErr *err) {
    const char *ff = "relu";
    if (pifi_json_string(root, "feed_forward_proj", 0, &ff, path, err) < 0) return -1;
    const char *act = ff;
    cfg->t5.gated = !strncmp(ff, "gated-", 6);
    if (cfg->t5.gated) act = ff + 6;
    if (cfg->t5.gated && !strcmp(act, "gelu")) act = "gelu_new";
    Activation a;
    if (strchr(act, '-') || activation_parse(act, &a))
        return pifi_errf(err, "%s: field \"feed_forward_proj\" is \"%.64s\"; expected \"<activation>\" or "
                         "\"gated-<activation>\" (relu, gelu, gelu_new, silu, ...; e.g. \"relu\", \"gated-gelu\")",
                         path, ff);
    cfg->t5.act = (int)a;
    return 0;
}

int t5_config_parse(Seq2SeqConfig *cfg, const cJSON *root, const char *path, PifiErr *err) {
    const int64_t BIG = 1 << 20;
    if (get_int(root, "vocab_size", 1, 0, 1, 1 << 24, &cfg->V, path, err) ||
        get_int(root, "d_model", 1, 0, 1, 1 << 16, &cfg->C, path, err) ||
        get_int(root, "num_layers", 1, 0, 1, 1024, &cfg->L_enc, path, err) ||
        get_int(root, "num_decoder_layers", 0, cfg->L_enc, 1, 1024, &cfg->L_dec, path, err) ||
        get_int(root, "num_heads", 1, 0, 1, 1024, &cfg->NH, path, err) ||
        get_int(root, "d_kv", 1, 0, 1, 1 << 16, &cfg->t5.d_kv, path, err) ||
        get_int(root, "d_ff", 1, 0, 1, BIG, &cfg->t5.d_ff, path, err) ||
        get_int(root, "relative_attention_num_buckets", 0, 32, 4, 4096, &cfg->t5.buckets, path, err) ||
        get_int(root, "relative_attention_max_distance", 0, 128, 1, BIG, &cfg->t5.max_distance, path, err) ||
        get_int(root, "pad_token_id", 0, 0, 0, cfg->V - 1, &cfg->pad_id, path, err) ||
        get_int(root, "eos_token_id", 0, 1, 0, cfg->V - 1, &cfg->eos_id, path, err) ||
        get_int(root, "decoder_start_token_id", 0, cfg->pad_id, 0, cfg->V - 1, &cfg->decoder_start_id, path, err) ||
        get_float(root, "dropout_rate", 0.1, 0.0, 1.0, 0, &cfg->dropout, path, err) ||
        get_float(root, "layer_norm_epsilon", 1e-6, 0.0, 1.0, 1, &cfg->t5.ln_eps, path, err) ||
        get_float(root, "initializer_factor", 1.0, 0.0, 1e6, 1, &cfg->t5.init_factor, path, err) ||
        parse_ff(cfg, root, path, err))
        return -1;
    /* half the buckets (the decoder's; a quarter, the encoder's) are exact distances, the rest log-spaced up to max_distance */
    if (cfg->t5.max_distance <= cfg->t5.buckets / 2)
        return pifi_errf(err, "%s: field \"relative_attention_max_distance\" is %d; expected more than half of "
                         "\"relative_attention_num_buckets\" (%d), where the logarithmic buckets start",
                         path, cfg->t5.max_distance, cfg->t5.buckets);
    if ((int64_t)cfg->NH * cfg->t5.d_kv > BIG)
        return pifi_errf(err, "%s: num_heads x d_kv is %lld; at most %lld", path,
                         (long long)cfg->NH * cfg->t5.d_kv, (long long)BIG);
    cfg->t5.tied = 1;
    if (pifi_json_bool(root, "tie_word_embeddings", 0, &cfg->t5.tied, path, err) < 0) return -1;
    cfg->t5.scale = cfg->t5.tied;
    if (pifi_json_bool(root, "scale_decoder_outputs", 0, &cfg->t5.scale, path, err) < 0) return -1;
    cfg->bos_id = -1;
    cfg->max_pos = 0;
    return 0;
}
