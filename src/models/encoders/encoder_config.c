/* encoder_config.c: the BERT family's config.json (BERT, RoBERTa, ELECTRA,
 * and BERT-shaped models such as MiniLM) into an EncoderConfig, validated
 * (encoder_api.c has read model_type and picked the family); the fields the
 * MPNet family reads alike (encoder_config_parse_common). */
#include <float.h>
#include <stdio.h>
#include <string.h>

#include "kernels/activation.h"
#include "models/encoders/encoder_internal.h"
#include "pifi/json.h"

static int get_dim(const cJSON *root, const char *key, int required, int dflt, int lo, int hi,
                   int *out, const char *path, PifiErr *err) {
    int64_t v = dflt;
    int rc = pifi_json_int(root, key, required, &v, path, err);
    if (rc < 0) return -1;
    if (v < lo || v > hi)
        return pifi_errf(err, "%s: \"%s\" is %lld, expected %d..%d", path, key, (long long)v, lo, hi);
    *out = (int)v;
    return 0;
}

int bert_config_parse(EncoderConfig *cfg, const cJSON *root, const char *path, PifiErr *err) {
    const char *mt = cfg->model_type;
    cfg->arch = !strcmp(mt, "roberta") ? ENC_ROBERTA : !strcmp(mt, "electra") ? ENC_ELECTRA : ENC_BERT;
    return encoder_config_parse_common(cfg, root, path, err);
}

int encoder_config_parse_common(EncoderConfig *cfg, const cJSON *root, const char *path, PifiErr *err) {
    int pad_positions = cfg->arch == ENC_ROBERTA || cfg->arch == ENC_MPNET; /* positions from padding_idx + 1 */
    int rc = -1;
    if (get_dim(root, "vocab_size", 1, 0, 1, 1 << 22, &cfg->V, path, err)) goto done;
    if (get_dim(root, "hidden_size", 1, 0, 1, 1 << 16, &cfg->C, path, err)) goto done;
    if (get_dim(root, "num_hidden_layers", 1, 0, 1, 1024, &cfg->L, path, err)) goto done;
    if (get_dim(root, "num_attention_heads", 1, 0, 1, 1024, &cfg->NH, path, err)) goto done;
    if (get_dim(root, "intermediate_size", 1, 0, 1, 1 << 18, &cfg->FF, path, err)) goto done;
    if (get_dim(root, "max_position_embeddings", 1, 0, 1, 1 << 20, &cfg->maxT, path, err)) goto done;
    if (cfg->arch != ENC_MPNET && get_dim(root, "type_vocab_size", 0, 2, 0, 1 << 10, &cfg->TV, path, err))
        goto done;
    if (get_dim(root, "pad_token_id", 0, pad_positions ? 1 : 0, 0, cfg->V - 1,
                &cfg->pad_id, path, err))
        goto done;
    cfg->E = cfg->C;
    if (cfg->arch == ENC_ELECTRA &&
        get_dim(root, "embedding_size", 0, cfg->C, 1, 1 << 16, &cfg->E, path, err))
        goto done;
    if (cfg->C % cfg->NH != 0) {
        pifi_errf(err, "%s: hidden_size %d is not divisible by num_attention_heads %d", path, cfg->C,
                  cfg->NH);
        goto done;
    }
    double eps = 1e-12;
    if (pifi_json_double(root, "layer_norm_eps", 0, &eps, path, err) < 0) goto done;
    if (!(eps >= FLT_MIN && eps < 1)) { /* held as a float: 1e-87 would become 0 */
        pifi_errf(err, "%s: \"layer_norm_eps\" %g must be in [1.2e-38, 1) (a positive float)", path, eps);
        goto done;
    }
    cfg->ln_eps = (float)eps;
    double hd = 0.1, ad = 0.1;
    if (pifi_json_double(root, "hidden_dropout_prob", 0, &hd, path, err) < 0) goto done;
    if (pifi_json_double(root, "attention_probs_dropout_prob", 0, &ad, path, err) < 0) goto done;
    cfg->hidden_dropout = (float)hd;
    cfg->attn_dropout = (float)ad;
    const char *act = "gelu";
    if (pifi_json_string(root, "hidden_act", 0, &act, path, err) < 0) goto done;
    Activation a;
    if (activation_parse(act, &a)) {
        pifi_errf(err, "%s: unsupported hidden_act \"%s\"", path, act);
        goto done;
    }
    cfg->act = (int)a;
    const char *pet = "absolute";
    if (pifi_json_string(root, "position_embedding_type", 0, &pet, path, err) < 0) goto done;
    if (strcmp(pet, "absolute") != 0) {
        pifi_errf(err, "%s: position_embedding_type \"%s\" is not supported (only \"absolute\")", path,
                  pet);
        goto done;
    }
    if (pad_positions && cfg->maxT <= cfg->pad_id + 1) {
        pifi_errf(err, "%s: max_position_embeddings %d leaves no room after padding_idx %d", path,
                  cfg->maxT, cfg->pad_id);
        goto done;
    }
    rc = 0;
done:
    return rc;
}
