/* bart_config.c: the BART family's config.json into a Seq2SeqConfig,
 * validated, as transformers' BartConfig reads it (its defaults where a
 * field is absent). Refused: attention heads that differ between the stacks
 * (pifi has one NH), untied word embeddings (the LM head is model.shared),
 * d_model not a multiple of the heads, an activation pifi lacks, more layers
 * than SEQ2SEQ_TENSORS_MAX rows of tensors name (bart-large's 12 + 12 make
 * 511). */
#include <stdio.h>
#include <string.h>

#include "kernels/activation.h"
#include "models/seq2seq/bart_internal.h"
#include "pifi/json.h"

static int get_int(const cJSON *root, const char *key, int64_t dflt, int64_t lo, int64_t hi, int *out,
                   const char *path, PifiErr *err) {
    int64_t v = dflt;
    if (pifi_json_int(root, key, 0, &v, path, err) < 0) return -1;
    if (v < lo || v > hi)
        return pifi_errf(err, "%s: \"%s\" is %lld, expected %lld..%lld", path, key, (long long)v, (long long)lo,
                         (long long)hi);
    *out = (int)v;
    return 0;
}

static int get_prob(const cJSON *root, const char *key, double dflt, float *out, const char *path, PifiErr *err) {
    double p = dflt;
    if (pifi_json_double(root, key, 0, &p, path, err) < 0) return -1;
    float f = (float)p; /* checked as the float it is used as: 0.999999999 is 1 there */
    if (!(f >= 0.0f && f < 1.0f)) return pifi_errf(err, "%s: \"%s\" is %g, expected [0, 1) as a float", path, key, p);
    *out = f;
    return 0;
}

int bart_config_parse(Seq2SeqConfig *c, const cJSON *root, const char *path, PifiErr *err) {
    const int BIG = 1 << 20;
    int dec_heads = 0;
    if (get_int(root, "vocab_size", 50265, 1, 1 << 24, &c->V, path, err) ||
        get_int(root, "d_model", 1024, 1, 1 << 16, &c->C, path, err) ||
        get_int(root, "encoder_layers", 12, 1, 256, &c->L_enc, path, err) ||
        get_int(root, "decoder_layers", 12, 1, 256, &c->L_dec, path, err) ||
        get_int(root, "encoder_attention_heads", 16, 1, 1024, &c->NH, path, err) ||
        get_int(root, "decoder_attention_heads", 16, 1, 1024, &dec_heads, path, err) ||
        get_int(root, "encoder_ffn_dim", 4096, 1, BIG, &c->bart.enc_ff, path, err) ||
        get_int(root, "decoder_ffn_dim", 4096, 1, BIG, &c->bart.dec_ff, path, err) ||
        get_int(root, "max_position_embeddings", 1024, 1, BIG, &c->max_pos, path, err))
        return -1;
    if (dec_heads != c->NH)
        return pifi_errf(err, "%s: \"decoder_attention_heads\" (%d) differs from \"encoder_attention_heads\" (%d); "
                         "pifi's BART needs the same heads in both stacks", path, dec_heads, c->NH);
    if (c->C % c->NH)
        return pifi_errf(err, "%s: \"d_model\" (%d) is not a multiple of the attention heads (%d)", path, c->C, c->NH);
    /* the special ids: -1 .. V - 1 (pad must be a row: nn.Embedding's padding_idx) */
    if (get_int(root, "pad_token_id", 1, 0, c->V - 1, &c->pad_id, path, err) ||
        get_int(root, "bos_token_id", 0, -1, c->V - 1, &c->bos_id, path, err) ||
        get_int(root, "eos_token_id", 2, -1, c->V - 1, &c->eos_id, path, err) ||
        get_int(root, "decoder_start_token_id", 2, 0, c->V - 1, &c->decoder_start_id, path, err))
        return -1;
    if (get_prob(root, "dropout", 0.1, &c->dropout, path, err) ||
        get_prob(root, "attention_dropout", 0.0, &c->bart.attn_dropout, path, err) ||
        get_prob(root, "activation_dropout", 0.0, &c->bart.act_dropout, path, err))
        return -1;
    double std = 0.02;
    if (pifi_json_double(root, "init_std", 0, &std, path, err) < 0) return -1;
    if (!((float)std > 0 && std < 1e6)) return pifi_errf(err, "%s: field \"init_std\" must be in (0, 1e6)", path);
    c->bart.init_std = (float)std;
    const char *act = "gelu";
    if (pifi_json_string(root, "activation_function", 0, &act, path, err) < 0) return -1;
    Activation a;
    if (activation_parse(act, &a))
        return pifi_errf(err, "%s: \"activation_function\" \"%.40s\" is not one pifi has (gelu, gelu_new, relu, "
                         "silu, quick_gelu, tanh)", path, act);
    c->bart.act = (int)a;
    if (pifi_json_bool(root, "scale_embedding", 0, &c->bart.scale_embedding, path, err) < 0) return -1;
    int tied = 1;
    if (pifi_json_bool(root, "tie_word_embeddings", 0, &tied, path, err) < 0) return -1;
    if (!tied)
        return pifi_errf(err, "%s: \"tie_word_embeddings\" is false; pifi's BART ties the LM head to model.shared",
                         path);
    BartParams p;
    int rows = 0;
    bart_layout(c, &p, NULL, NULL, 0, &rows);
    if (rows > SEQ2SEQ_TENSORS_MAX)
        return pifi_errf(err, "%s: %d + %d layers make %d tensors, more than the %d a tensor table holds", path,
                         c->L_enc, c->L_dec, rows, SEQ2SEQ_TENSORS_MAX);
    return 0;
}
