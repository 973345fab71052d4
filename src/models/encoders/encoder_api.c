/* encoder_api.c: the family-neutral entry points of pifi/encoder.h:
 * config.json's model_type looked up in the registry, then every call passed
 * through the family's table (encoder_family.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/path.h"
#include "models/decoders/llm_arch.h"
#include "models/decoders/llm_source.h"
#include "models/encoders/decoder_internal.h"
#include "models/encoders/encoder_family.h"
#include "models/encoders/encoder_gguf.h"
#include "pifi/fileio.h"
#include "pifi/gguf.h"

/* A GGUF file's config by its general.architecture: a decoder's (one of
 * llm_arch.c's: the decoder family, decoder_config.c) or llama.cpp's bert
 * layout (encoder_gguf.c, which names what else it finds). */
static int gguf_config(EncoderConfig *cfg, const char *path, PifiErr *err) {
    GgufFile *g;
    if (gguf_open(&g, path, err)) return -1;
    const char *arch;
    PifiErr ignore = {0};
    int dec = gguf_get_str(g, "general.architecture", &arch, NULL, &ignore) == 0 && llm_arch_by_gguf(arch);
    gguf_close(g);
    return dec ? decoder_gguf_config(cfg, path, err) : encoder_gguf_config(cfg, path, err);
}

int encoder_config_load(EncoderConfig *cfg, const char *path, PifiErr *err) {
    memset(cfg, 0, sizeof *cfg);
    if (pifi_has_suffix(path, ".gguf")) return gguf_config(cfg, path, err);
    cJSON *root;
    if (pifi_json_load(path, 1 << 20, &root, err)) return -1;
    int rc = -1;
    const char *mt = NULL;
    if (!cJSON_IsObject(root)) {
        pifi_errf(err, "%s: expected a JSON object", path);
        goto done;
    }
    if (pifi_json_unique_keys(root, path, err)) goto done;
    if (pifi_json_string(root, "model_type", 1, &mt, path, err)) goto done;
    const EncoderFamily *f = encoder_family_find(mt);
    if (!f) {
        char list[512];
        encoder_family_supported(list, sizeof list);
        pifi_errf(err, "%s: unsupported model_type \"%s\" (supported encoders: %s)", path, mt, list);
        goto done;
    }
    cfg->family = f;
    snprintf(cfg->model_type, sizeof cfg->model_type, "%s", mt);
    rc = f->config_parse(cfg, root, path, err);
done:
    cJSON_Delete(root);
    return rc;
}

int64_t encoder_config_params(const EncoderConfig *c) { return c->family->config_params(c); }
int64_t encoder_config_pooler_params(const EncoderConfig *c) { return c->family->config_pooler_params(c); }
int64_t encoder_config_flops(const EncoderConfig *c, int T) { return c->family->config_flops(c, T); }
int64_t encoder_config_lora_params(const EncoderConfig *c, int r) { return c->family->config_lora_params(c, r); }

int64_t encoder_config_act_floats(const EncoderConfig *c, int64_t B, int64_t T, int layers, int lora_r) {
    return c->family->config_act_floats(c, B, T, layers, lora_r);
}

int64_t encoder_config_grad_scratch_floats(const EncoderConfig *c, int64_t B, int64_t T, int lora_r) {
    return c->family->config_grad_scratch_floats(c, B, T, lora_r);
}

int64_t encoder_config_widest(const EncoderConfig *c) { return c->family->config_widest(c); }

void encoder_config_int8(const EncoderConfig *c, unsigned parts, int64_t *n8, int64_t *rows) {
    c->family->config_int8(c, parts, n8, rows);
}

int encoder_load(Encoder *m, const char *dir, struct PifiCompute *cx, PifiErr *err) {
    memset(m, 0, sizeof *m);
    m->cx = cx;
    if (pifi_has_suffix(dir, ".gguf")) { /* a GGUF file (encoder_gguf.c, or a decoder's) */
        if (gguf_config(&m->cfg, dir, err)) return -1;
        if (m->cfg.family == &ENCODER_FAMILY_DECODER ? decoder_load(m, dir, err) : encoder_gguf_load(m, dir, err)) {
            encoder_free(m);
            return -1;
        }
        return 0;
    }
    char *cfg_path = pifi_path_join(dir, "config.json");
    if (!cfg_path) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    int rc = encoder_config_load(&m->cfg, cfg_path, err);
    free(cfg_path);
    if (rc) return -1;
    if (m->cfg.family->load(m, dir, err)) {
        encoder_free(m);
        return -1;
    }
    return 0;
}

int encoder_load_llm_layer(Encoder *m, const char *path, int layer, struct PifiCompute *cx, PifiErr *err) {
    memset(m, 0, sizeof *m);
    m->cx = cx;
    int rc;
    if (pifi_has_suffix(path, ".gguf")) {
        rc = gguf_config(&m->cfg, path, err);
    } else {
        char *cp = pifi_path_join(path, "config.json");
        rc = cp ? encoder_config_load(&m->cfg, cp, err) : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        free(cp);
    }
    if (rc) return -1;
    EncoderConfig *c = &m->cfg;
    if (c->family != &ENCODER_FAMILY_DECODER)
        return pifi_errf(err, "%s: a %s model, not a decoder-only LLM (llama, qwen2): no layer of it stands alone",
                         path, c->model_type);
    int k;
    if (llm_resolve_layer(layer, c->dec.num_layers, path, &k, err)) return -1;
    c->dec_first = k, c->L = 1, c->dec_norm = 0;
    if (decoder_load(m, path, err)) {
        encoder_free(m);
        return -1;
    }
    return 0;
}

cJSON *encoder_config_json(const Encoder *m, const char *path, PifiErr *err) {
    const EncoderConfig *c = &m->cfg;
    if (c->family == &ENCODER_FAMILY_DECODER && (pifi_has_suffix(path, ".gguf") || c->dec_first || !c->dec_norm)) {
        cJSON *o = decoder_config_json(c);
        if (!o) pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        return o;
    }
    if (pifi_has_suffix(path, ".gguf")) return encoder_gguf_config_json(path, err);
    cJSON *cfg = NULL;
    char *src = pifi_path_join(path, "config.json");
    if (!src) pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    else if (pifi_json_load(src, 1 << 20, &cfg, err)) cfg = NULL;
    free(src);
    return cfg;
}

void encoder_free(Encoder *m) {
    if (m->cfg.family) m->cfg.family->free(m);
    memset(m, 0, sizeof *m);
}

int encoder_forward(Encoder *m, const int32_t *ids, const int32_t *type_ids, const int32_t *mask, int B, int T,
                    PifiErr *err) {
    return m->cfg.family->forward(m, ids, type_ids, mask, B, T, err);
}

const float *encoder_output(const Encoder *m) { return m->cfg.family->output(m); }

int encoder_backward_mem(Encoder *m, float *grads, float *lora_grads, const float *dout, PifiErr *err) {
    return m->cfg.family->backward(m, grads, lora_grads, dout, err);
}

int encoder_tensors(const Encoder *m, EncoderTensor *rows, int cap) { return m->cfg.family->tensors(m, rows, cap); }

int encoder_export(const Encoder *m, const char *prefix, EncoderExport *x, PifiErr *err) {
    float *keep = NULL;
    int rc = m->cfg.family->export_tensors(m, prefix, 0, x, &keep, err);
    free(keep); /* nothing without merging */
    return rc;
}

int encoder_export_merged(const Encoder *m, const char *prefix, EncoderExport *x, float **keep, PifiErr *err) {
    *keep = NULL;
    return m->cfg.family->export_tensors(m, prefix, 1, x, keep, err);
}

int encoder_quantize(Encoder *m, int embeddings, PifiErr *err) { return m->cfg.family->quantize(m, embeddings, err); }

unsigned encoder_int8_parts(const Encoder *m) { return m->cfg.family->int8_parts(m); }

int encoder_lora_enable(Encoder *m, int r, float alpha, float dropout, uint64_t seed, PifiErr *err) {
    return m->cfg.family->lora_enable(m, r, alpha, dropout, seed, err);
}
