/* decoder_config.c: the decoder family's config: an HF config.json
 * (LlamaConfig, Qwen2Config: the layers' keys read by llm_config.c, plus
 * vocab_size, max_position_embeddings, pad_token_id, tie_word_embeddings),
 * a GGUF file's metadata (through the LLM source), and the config.json a run
 * records for either. A run of --method llm-layer-only records its one layer
 * in "pifi_decoder": {"first_layer": N, "final_norm": false}. */
#include <stdio.h>
#include <string.h>

#include "models/decoders/llm_arch.h"
#include "models/decoders/llm_source.h"
#include "models/encoders/decoder_internal.h"
#include "models/encoders/encoder_family.h"

/* The architectures whose whole model the family runs (tested against
 * transformers' LlamaModel and Qwen2Model). */
static int supported(LlmArch a) { return a == LLM_LLAMA || a == LLM_QWEN2; }

static int check(EncoderConfig *cfg, const char *path, PifiErr *err) {
    const LlmConfig *d = &cfg->dec;
    if (!supported(d->arch))
        return pifi_errf(err, "%s: model_type \"%s\" is not read as a small model (decoder SLMs: llama, qwen2)",
                         path, d->model_type);
    if (d->has_rope_freqs)
        return pifi_errf(err, "%s: rope_freqs (llama3 rope scaling in GGUF) is not supported in a decoder SLM", path);
    if (cfg->V < 1 || cfg->V > (1 << 24)) return pifi_errf(err, "%s: vocab_size %d is out of range", path, cfg->V);
    cfg->C = d->D;
    cfg->NH = d->NH;
    cfg->FF = d->FF;
    cfg->ln_eps = d->rms_eps;
    cfg->E = d->D;
    if (cfg->dec_first < 0 || cfg->dec_first + cfg->L > d->num_layers)
        return pifi_errf(err, "%s: layers %d..%d of a model of %d", path, cfg->dec_first,
                         cfg->dec_first + cfg->L - 1, d->num_layers);
    return 0;
}

int decoder_config_parse(EncoderConfig *cfg, const cJSON *root, const char *path, PifiErr *err) {
    if (llm_config_parse(&cfg->dec, root, path, err)) return -1;
    int64_t V, maxT = 2048, pad = -1;
    if (pifi_json_int(root, "vocab_size", 1, &V, path, err) ||
        pifi_json_int(root, "max_position_embeddings", 0, &maxT, path, err) < 0)
        return -1;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "pad_token_id");
    if (cJSON_IsNumber(p) && pifi_json_int(root, "pad_token_id", 1, &pad, path, err)) return -1;
    cfg->dec_tied = 0;
    if (pifi_json_bool(root, "tie_word_embeddings", 0, &cfg->dec_tied, path, err) < 0) return -1;
    cfg->V = V > 0 && V <= (1 << 24) ? (int)V : 0;
    cfg->maxT = maxT > 0 && maxT < (1 << 30) ? (int)maxT : 1 << 30;
    cfg->pad_id = pad >= 0 && pad < V ? (int)pad : -1;
    cfg->L = cfg->dec.num_layers;
    cfg->dec_first = 0;
    cfg->dec_norm = 1;
    const cJSON *pd = cJSON_GetObjectItemCaseSensitive(root, "pifi_decoder");
    if (pd) { /* llm-layer-only's run: one layer of a larger model, no final norm */
        int64_t first;
        int norm = 1;
        if (!cJSON_IsObject(pd) || pifi_json_int(pd, "first_layer", 1, &first, path, err) ||
            pifi_json_bool(pd, "final_norm", 0, &norm, path, err) < 0)
            return pifi_errf(err, "%s: \"pifi_decoder\" must be {\"first_layer\": N, \"final_norm\": bool}", path);
        if (first < 0 || first >= cfg->dec.num_layers)
            return pifi_errf(err, "%s: pifi_decoder.first_layer %lld is out of range", path, (long long)first);
        cfg->dec_first = (int)first;
        cfg->dec_norm = norm;
        cfg->L = 1;
        cfg->dec.num_layers = cfg->dec_first + 1; /* the source's layers up to it (only it is held) */
    }
    return check(cfg, path, err);
}

int decoder_gguf_config(EncoderConfig *cfg, const char *path, PifiErr *err) {
    memset(cfg, 0, sizeof *cfg);
    LlmSource *s;
    if (llm_source_open(&s, path, err)) return -1;
    cfg->dec = *llm_source_config(s);
    int rc = 0;
    LlmTensorView v;
    int found = llm_source_find(s, "model.embed_tokens.weight", &v, err);
    if (found < 0) rc = -1;
    else if (found > 0) rc = pifi_errf(err, "%s: no token embeddings (token_embd.weight)", path);
    else if (v.ndim != 2 || v.shape[1] != cfg->dec.D)
        rc = pifi_errf(err, "%s: token_embd.weight is not (vocabulary, %d)", path, cfg->dec.D);
    if (rc == 0) {
        cfg->V = v.shape[0] <= (1 << 24) ? (int)v.shape[0] : 0;
        cfg->family = &ENCODER_FAMILY_DECODER;
        snprintf(cfg->model_type, sizeof cfg->model_type, "%s", llm_arch_name(cfg->dec.arch));
        snprintf(cfg->dec.model_type, sizeof cfg->dec.model_type, "%s", llm_arch_name(cfg->dec.arch));
        cfg->maxT = 1 << 30;
        cfg->pad_id = -1;
        cfg->L = cfg->dec.num_layers;
        cfg->dec_norm = 1;
        cfg->dec_tied = 1;
        rc = check(cfg, path, err);
    }
    llm_source_close(s);
    return rc;
}

cJSON *decoder_config_json(const EncoderConfig *cfg) {
    LlmConfig d = cfg->dec;
    d.num_layers = cfg->dec_first + cfg->L;
    cJSON *o = llm_config_to_json(&d);
    if (!o) return NULL;
    cJSON *arch = cJSON_AddArrayToObject(o, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString(d.arch == LLM_QWEN2 ? "Qwen2Model" : "LlamaModel"));
    cJSON_AddNumberToObject(o, "vocab_size", cfg->V);
    if (cfg->maxT < (1 << 30)) cJSON_AddNumberToObject(o, "max_position_embeddings", cfg->maxT);
    if (cfg->pad_id >= 0) cJSON_AddNumberToObject(o, "pad_token_id", cfg->pad_id);
    cJSON_AddBoolToObject(o, "tie_word_embeddings", cfg->dec_tied);
    if (cfg->dec_first > 0 || !cfg->dec_norm) {
        cJSON *pd = cJSON_AddObjectToObject(o, "pifi_decoder");
        cJSON_AddNumberToObject(pd, "first_layer", cfg->dec_first);
        cJSON_AddBoolToObject(pd, "final_norm", cfg->dec_norm);
    }
    return o;
}
