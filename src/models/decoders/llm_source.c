/* llm_source.c: an LLM checkpoint (HF directory or GGUF file) as a config
 * and tensor views in Hugging Face naming (llm_source.h); the GGUF side is
 * llm_source_gguf.c, config.json's keys llm_config.c. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/path.h"
#include "models/decoders/llm_source.h"
#include "models/decoders/llm_source_gguf.h"
#include "pifi/fileio.h"
#include "pifi/hash.h"
#include "pifi/json.h"
#include "pifi/safetensors.h"

struct LlmSource {
    LlmSourceKind kind;
    char *path;
    LlmConfig cfg;
    /* HF directory */
    char *cfg_path;   /* <path>/config.json */
    cJSON *json;      /* its contents */
    SafeTensors *st;  /* opened at the first tensor asked for */
    /* GGUF file */
    GgufFile *g;
};

static int open_hf(LlmSource *s, PifiErr *err) {
    s->cfg_path = pifi_path_join(s->path, "config.json");
    if (!s->cfg_path) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    if (pifi_json_load(s->cfg_path, 1 << 20, &s->json, err)) return -1;
    return llm_config_parse(&s->cfg, s->json, s->cfg_path, err);
}

int llm_source_open(LlmSource **out, const char *path, PifiErr *err) {
    *out = NULL;
    int gguf = pifi_has_suffix(path, ".gguf") && !pifi_is_dir(path);
    if (!gguf && !pifi_is_dir(path)) return pifi_errf(err, "%s: not a model directory or .gguf file", path);
    LlmSource *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    }
    s->kind = gguf ? LLM_SOURCE_GGUF : LLM_SOURCE_HF;
    int rc = gguf ? gguf_open(&s->g, path, err) || llm_gguf_config(&s->cfg, s->g, err) : open_hf(s, err);
    if (rc) {
        llm_source_close(s);
        return -1;
    }
    *out = s;
    return 0;
}

void llm_source_close(LlmSource *s) {
    if (!s) return;
    st_close(s->st);
    gguf_close(s->g);
    cJSON_Delete(s->json);
    free(s->cfg_path);
    free(s->path);
    free(s);
}

LlmSourceKind llm_source_kind(const LlmSource *s) { return s->kind; }
const char *llm_source_path(const LlmSource *s) { return s->path; }
const LlmConfig *llm_source_config(const LlmSource *s) { return &s->cfg; }

int llm_source_is_extract(const LlmSource *s) {
    return s->json && cJSON_GetObjectItemCaseSensitive(s->json, "pifi_extract") != NULL;
}

int llm_resolve_layer(int layer, int num_layers, const char *path, int *out, PifiErr *err) {
    int k = layer < 0 ? num_layers + layer : layer;
    if (k < 0 || k >= num_layers)
        return pifi_errf(err, "%s: layer %d is out of range: the model has %d layers (valid: %d..%d)", path,
                         layer, num_layers, -num_layers, num_layers - 1);
    *out = k;
    return 0;
}

static int open_tensors(LlmSource *s, PifiErr *err) {
    if (s->kind == LLM_SOURCE_HF && !s->st && st_open(&s->st, s->path, err)) return -1;
    return 0;
}

/* A layer extracted from GGUF carries llama.cpp's rope frequency divisors
 * ("model.rope_freqs"): into the config. */
static int read_rope_freqs(LlmSource *s, PifiErr *err) {
    if (open_tensors(s, err)) return -1;
    const StTensor *rf;
    int f = st_find(s->st, "model.rope_freqs", &rf, err);
    if (f) return f < 0 ? -1 : 0;
    int64_t shape[1] = {s->cfg.HD / 2};
    if (s->cfg.HD / 2 > 512 || st_read_f32(s->st, "model.rope_freqs", 1, shape, s->cfg.rope_freqs, err))
        return -1;
    s->cfg.has_rope_freqs = 1;
    return 0;
}

int llm_source_pick_layer(LlmSource *s, int layer, int *out, PifiErr *err) {
    int ext = -1; /* the layer a `pifi extract` directory holds, -1 for a full model */
    const cJSON *px = s->json ? cJSON_GetObjectItemCaseSensitive(s->json, "pifi_extract") : NULL;
    if (px) {
        int64_t v;
        if (pifi_json_int(px, "layer", 1, &v, s->cfg_path, err)) return -1;
        ext = (int)v;
    }
    int k = 0;
    if (layer == INT_MIN) {
        if (ext < 0)
            return pifi_errf(err, "%s: a full model: say which layer to plug in (--layer N, -1 = last)", s->path);
        k = ext;
    } else {
        if (llm_resolve_layer(layer, s->cfg.num_layers, s->path, &k, err)) return -1;
        if (ext >= 0 && k != ext)
            return pifi_errf(err, "%s: holds only layer %d (extracted), not layer %d", s->path, ext, k);
    }
    if (s->kind == LLM_SOURCE_HF && read_rope_freqs(s, err)) return -1;
    *out = k;
    return 0;
}

static void view_of(LlmTensorView *v, const char *name, const StTensor *t) {
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    v->dtype = t->dtype;
    v->ndim = t->ndim < 4 ? t->ndim : 4;
    for (int d = 0; d < v->ndim; d++) v->shape[d] = t->shape[d];
    v->numel = t->numel;
    v->nbytes = t->nbytes;
    v->data = t->data;
    v->file = t->file;
    v->impl = t;
}

/* An HF tensor's shape against the one config.json implies. */
static int check_shape(const StTensor *t, const char *name, int ndim, const int64_t *w, PifiErr *err) {
    int ok = t->ndim == ndim;
    for (int d = 0; ok && d < t->ndim; d++) ok = t->shape[d] == w[d];
    if (ok) return 0;
    char got[96] = "[";
    for (int d = 0; d < t->ndim && d < 4; d++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", d ? ", " : "", (long long)t->shape[d]);
    snprintf(got + strlen(got), sizeof got - strlen(got), "%s]", t->ndim > 4 ? ", ..." : "");
    if (ndim == 2)
        return pifi_errf(err, "%s: tensor '%s' has shape %s but config.json implies [%lld, %lld]", t->file, name,
                         got, (long long)w[0], (long long)w[1]);
    return pifi_errf(err, "%s: tensor '%s' has shape %s but config.json implies [%lld]", t->file, name, got,
                     (long long)w[0]);
}

int llm_source_tensor(LlmSource *s, const char *name, int ndim, const int64_t *shape, LlmTensorView *v,
                      PifiErr *err) {
    if (s->kind == LLM_SOURCE_GGUF) return llm_gguf_tensor(s->g, &s->cfg, name, ndim, shape, v, err);
    const StTensor *t;
    if (open_tensors(s, err) || st_get(s->st, name, &t, err) || check_shape(t, name, ndim, shape, err)) return -1;
    view_of(v, name, t);
    return 0;
}

int llm_source_find(LlmSource *s, const char *name, LlmTensorView *v, PifiErr *err) {
    if (s->kind == LLM_SOURCE_GGUF) return llm_gguf_tensor(s->g, &s->cfg, name, 0, NULL, v, err);
    const StTensor *t;
    if (open_tensors(s, err)) return -1;
    int f = st_find(s->st, name, &t, err);
    if (f == 0) view_of(v, name, t);
    return f;
}

int llm_source_check_float(const LlmTensorView *v, PifiErr *err) {
    if (v->dtype == PIFI_DT_F32 || v->dtype == PIFI_DT_F16 || v->dtype == PIFI_DT_BF16 || v->dtype == PIFI_DT_F64)
        return 0;
    return pifi_errf(err, "%s: tensor '%s' has dtype %s; a layer's weights are F32, F16, BF16 or F64", v->file,
                     v->name, pifi_dtype_name(v->dtype));
}

int llm_source_read_f32(LlmSource *s, LlmTensorView *v, float *dst, PifiErr *err) {
    if (s->kind == LLM_SOURCE_GGUF) return llm_gguf_read_f32(&s->cfg, v, dst, err);
    pifi_to_f32(v->dtype, v->data, dst, (size_t)v->numel);
    return 0;
}

int llm_source_data(LlmSource *s, LlmTensorView *v, PifiErr *err) {
    if (v->data) return 0;
    float *buf = pifi_malloc((size_t)v->numel * sizeof *buf, err);
    if (!buf) return -1;
    if (llm_source_read_f32(s, v, buf, err)) {
        free(buf);
        return -1;
    }
    v->owned = buf;
    v->data = buf;
    return 0;
}

void llm_source_release(LlmSource *s, LlmTensorView *v) {
    (void)s;
    if (!v->owned) return;
    free(v->owned);
    v->owned = NULL;
    v->data = NULL;
}

cJSON *llm_source_config_json(const LlmSource *s, PifiErr *err) {
    cJSON *o = s->json ? cJSON_Duplicate(s->json, 1) : llm_config_to_json(&s->cfg);
    if (!o) pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    return o;
}

int llm_source_hash_files(const LlmSource *s, cJSON *obj, PifiErr *err) {
    char hex[65];
    if (s->kind == LLM_SOURCE_GGUF) {
        if (pifi_sha256_file(s->path, hex, err)) return -1;
        cJSON_AddStringToObject(obj, "source.gguf", hex);
        return 0;
    }
    if (pifi_sha256_file(s->cfg_path, hex, err)) return -1;
    cJSON_AddStringToObject(obj, "config.json", hex);
    char *idx = pifi_path_join(s->path, "model.safetensors.index.json");
    int rc = 0;
    if (idx && pifi_file_exists(idx)) {
        rc = pifi_sha256_file(idx, hex, err);
        if (rc == 0) cJSON_AddStringToObject(obj, "model.safetensors.index.json", hex);
    }
    free(idx);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* llm_layer.h's config of a path */

int llm_config_from_path(LlmConfig *c, const char *path, PifiErr *err) {
    if (!pifi_is_dir(path)) {
        if (!pifi_has_suffix(path, ".gguf")) return pifi_errf(err, "%s: not a model directory or .gguf file", path);
        GgufFile *g;
        if (gguf_open(&g, path, err)) return -1;
        int rc = llm_gguf_config(c, g, err);
        gguf_close(g);
        return rc;
    }
    char *cp = pifi_path_join(path, "config.json");
    if (!cp) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    int rc = llm_config_load(c, cp, err);
    free(cp);
    return rc;
}
