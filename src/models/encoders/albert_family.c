/* albert_family.c: the ALBERT family's table (encoder_family.h), its
 * checkpoint names and its config.json: transformers' AlbertModel. Its
 * layers are BERT's post-LayerNorm ones, so it runs on the BERT family's
 * code (encoder.c, encoder_backward.c, encoder_export.c, encoder_forms.c,
 * encoder_lora.c; arch ENC_ALBERT) rather than on a copy of it: what is
 * ALBERT's own is three small differences that code reads off the arch
 * (encoder_internal.h), not a layout of its own:
 *   - factorized embeddings: E = embedding_size, then
 *     encoder.embedding_hidden_mapping_in (E -> C; there even when E == C),
 *     in the place of ELECTRA's embeddings_project;
 *   - one layer's weights run by every layer (num_hidden_groups =
 *     inner_group_num = 1, as in every released ALBERT; other values are
 *     refused): the arena holds one layer of weights (enc_weight_layers),
 *     every layer's gradients accumulate into it, and LoRA adapts the one
 *     shared query and value (PEFT wraps each Linear once);
 *   - no dropout on the feed-forward output (AlbertLayer.ff_chunk has none).
 * Its defaults where BertConfig's differ: hidden_act gelu_new, dropout 0,
 * embedding_size 128. */
#include <stddef.h>

#include "kernels/activation.h"
#include "models/encoders/encoder_family.h"
#include "models/encoders/encoder_internal.h"
#include "pifi/json.h"

static const char *const MODEL_TYPES[] = {"albert", NULL};

static const char *const PREFIXES[] = {"", "albert.", NULL};
const EncoderNames ENCODER_NAMES_ALBERT = {
    .prefixes = PREFIXES,
    .prefix_list = "albert.",
    .layer = {"encoder.albert_layer_groups.", ".albert_layers.0."}, /* group N (0: the one), its one layer */
    .qkv = {"attention.query", "attention.key", "attention.value"},
    .attproj = "attention.dense",
    .ln1 = "attention.LayerNorm",
    .fc = "ffn",
    .fcproj = "ffn_output",
    .ln2 = "full_layer_layer_norm",
    .proj = "encoder.embedding_hidden_mapping_in",
    .pooler = "pooler",
};

/* A field that must be 1: one group of one layer, shared by every layer. */
static int one_group(const cJSON *root, const char *key, const char *path, PifiErr *err) {
    int64_t v = 1;
    if (pifi_json_int(root, key, 0, &v, path, err) < 0) return -1;
    if (v != 1)
        return pifi_errf(err, "%s: \"%s\" is %lld; pifi runs ALBERT with one layer of weights shared by every "
                         "layer (num_hidden_groups and inner_group_num 1, as every released ALBERT)",
                         path, key, (long long)v);
    return 0;
}

/* A dropout probability, 0 when absent (AlbertConfig's default). */
static int dropout_prob(const cJSON *root, const char *key, float *out, const char *path, PifiErr *err) {
    double p = 0.0;
    if (pifi_json_double(root, key, 0, &p, path, err) < 0) return -1;
    if (!(p >= 0.0 && p < 1.0)) return pifi_errf(err, "%s: \"%s\" is %g, expected [0, 1)", path, key, p);
    *out = (float)p;
    return 0;
}

static int albert_config_parse(EncoderConfig *cfg, const cJSON *root, const char *path, PifiErr *err) {
    cfg->arch = ENC_ALBERT;
    if (encoder_config_parse_common(cfg, root, path, err)) return -1;
    if (one_group(root, "num_hidden_groups", path, err) || one_group(root, "inner_group_num", path, err)) return -1;
    int64_t e = 128;
    if (pifi_json_int(root, "embedding_size", 0, &e, path, err) < 0) return -1;
    if (e < 1 || e > 1 << 16)
        return pifi_errf(err, "%s: \"embedding_size\" is %lld, expected 1..65536", path, (long long)e);
    cfg->E = (int)e;
    if (dropout_prob(root, "hidden_dropout_prob", &cfg->hidden_dropout, path, err) ||
        dropout_prob(root, "attention_probs_dropout_prob", &cfg->attn_dropout, path, err))
        return -1;
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(root, "hidden_act");
    if (!act) cfg->act = (int)ACT_GELU_TANH; /* AlbertConfig's gelu_new; a given one was read above */
    return 0;
}

const EncoderFamily ENCODER_FAMILY_ALBERT = {
    .name = "albert",
    .model_types = MODEL_TYPES,
    .checked = "transformers' AlbertModel on random configs (forward, gradients, 10 Adam steps; E < C and "
               "E = C); no real weights reachable",
    .config_parse = albert_config_parse,
    .config_params = bert_config_params,
    .config_pooler_params = bert_config_pooler_params,
    .config_flops = bert_config_flops,
    .config_lora_params = bert_config_lora_params,
    .config_act_floats = bert_config_act_floats,
    .config_grad_scratch_floats = bert_config_grad_scratch_floats,
    .config_widest = bert_config_widest,
    .config_int8 = bert_config_int8,
    .load = bert_load,
    .free = bert_free,
    .forward = bert_forward,
    .output = bert_output,
    .backward = bert_backward_mem,
    .tensors = bert_tensors,
    .export_tensors = bert_export,
    .quantize = bert_quantize,
    .int8_parts = bert_int8_parts,
    .lora_enable = bert_lora_enable,
};
