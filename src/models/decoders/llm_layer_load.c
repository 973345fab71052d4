/* llm_layer_load.c: one decoder layer of an LLM loaded from a checkpoint
 * (llm_source.h: HF directory, sharded or not, a `pifi extract` or int8
 * output, or GGUF), only that layer's tensors read: into fp32, straight into
 * bf16 (the frozen layer in bf16 precision), or into the int8 form of an
 * int8 checkpoint (llm_layer_forms.c). */
#include <stdio.h>
#include <string.h>

#include "models/decoders/llm_layer_internal.h"
#include "models/decoders/llm_source.h"
#include "models/q8.h"

/* The largest layer pifi loads: 2^32 parameters (16 GiB in fp32; the layer
 * of a 405B Llama has 3.2e9). */
#define LLM_LAYER_MAX_PARAMS ((int64_t)1 << 32)

/* Every tensor of layer k has the shape the config implies and a
 * floating-point dtype (int8: the matrices I8), and the layer's size is
 * sane: checked before anything is allocated from the config's sizes. */
static int check_tensors(LlmSource *s, int k, const LlmTensorSpec *specs, int n, int int8, LlmTensorView *v,
                         PifiErr *err) {
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        char name[192];
        snprintf(name, sizeof name, "model.layers.%d.%s", k, specs[i].name);
        if (llm_source_tensor(s, name, specs[i].ndim, specs[i].shape, &v[i], err)) return -1;
        if (int8 && specs[i].ndim == 2) {
            if (v[i].dtype != PIFI_DT_I8)
                return pifi_errf(err, "%s: tensor '%s' has dtype %s; the matrices of an int8 layer are I8",
                                 v[i].file, name, pifi_dtype_name(v[i].dtype));
        } else if (llm_source_check_float(&v[i], err)) {
            return -1;
        }
        total += v[i].numel;
    }
    if (total > LLM_LAYER_MAX_PARAMS)
        return pifi_errf(err, "%s: layer %d has %lld parameters, more than pifi loads (%lld)", llm_source_path(s),
                         k, (long long)total, (long long)LLM_LAYER_MAX_PARAMS);
    return 0;
}

/* The values of the checked views v for llm_layer_load_bf16 / _int8; an
 * int8 matrix's "<name>_scale" (F32, one per row, positive and finite). */
static int raw_tensors(LlmSource *s, const LlmTensorSpec *specs, int n, int int8, LlmTensorView *v,
                       LlmRawTensor *raw, PifiErr *err) {
    for (int i = 0; i < n; i++) {
        if (llm_source_data(s, &v[i], err)) return -1;
        raw[i] = (LlmRawTensor){v[i].dtype, v[i].data, NULL};
        if (!int8 || specs[i].ndim != 2) continue;
        char sn[256];
        snprintf(sn, sizeof sn, "%.200s_scale", v[i].name);
        LlmTensorView sv;
        if (llm_source_tensor(s, sn, 1, specs[i].shape, &sv, err)) return -1;
        if (sv.dtype != PIFI_DT_F32)
            return pifi_errf(err, "%s: tensor '%s' has dtype %s, expected F32", sv.file, sn, pifi_dtype_name(sv.dtype));
        if (q8_check_scales(sv.data, (size_t)specs[i].shape[0], sv.file, sn, err)) return -1;
        raw[i].scale = sv.data;
    }
    return 0;
}

static int load(LlmLayer *l, LlmSource *s, int layer, int pooled_only, int bf16_only, PifiErr *err) {
    int k;
    if (llm_source_pick_layer(s, layer, &k, err)) return -1;
    l->cfg = *llm_source_config(s);
    l->layer = k;
    l->pooled_only = pooled_only;
    LlmTensorSpec specs[LLM_LAYER_MAX_SPECS];
    LlmTensorView v[16];
    LlmRawTensor raw[16];
    int n = llm_layer_specs(&l->cfg, &l->p, pooled_only, specs, LLM_LAYER_MAX_SPECS);
    /* an int8 checkpoint (pifi quantize): its matrices are I8 */
    char vname[192];
    snprintf(vname, sizeof vname, "model.layers.%d.self_attn.v_proj.weight", k);
    LlmTensorView vv;
    int int8 = llm_source_find(s, vname, &vv, err) == 0 && vv.dtype == PIFI_DT_I8;
    if (check_tensors(s, k, specs, n, int8, v, err)) return -1;
    int rc;
    if (int8) {
        rc = raw_tensors(s, specs, n, 1, v, raw, err) || llm_layer_load_int8(l, specs, raw, n, err) ? -1 : 0;
    } else if (bf16_only && llm_source_kind(s) == LLM_SOURCE_HF) {
        /* bf16 straight from the file's values (a GGUF's are dequantized:
         * fp32 first, then bf16) */
        rc = raw_tensors(s, specs, n, 0, v, raw, err) || llm_layer_load_bf16(l, specs, raw, n, err) ? -1 : 0;
    } else {
        rc = llm_layer_alloc(l, specs, n, err);
        for (int i = 0; rc == 0 && i < n; i++) rc = llm_source_read_f32(s, &v[i], *specs[i].dst, err);
        if (rc == 0 && bf16_only) rc = llm_layer_precision_changed(l, 0, err);
    }
    for (int i = 0; i < n; i++) llm_source_release(s, &v[i]);
    return rc;
}

int llm_layer_load(LlmLayer *l, const char *path, int layer, int pooled_only, PifiCompute *cx, int frozen,
                   PifiErr *err) {
    memset(l, 0, sizeof *l);
    l->cx = cx;
    LlmSource *s;
    if (llm_source_open(&s, path, err)) return -1;
    int rc = load(l, s, layer, pooled_only, frozen && compute_bf16(cx), err);
    llm_source_close(s);
    if (rc) llm_layer_free(l);
    return rc;
}
