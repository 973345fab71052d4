/* llm_layer_forms.c: the other forms of an LLM layer's matrices: bf16 (the
 * frozen layer in bf16 precision, read straight from safetensors, or copies
 * of trainable fp32 weights) and int8 with a scale per output row (quantized
 * inference: made from the loaded weights, or filled straight from an int8
 * checkpoint's values, which this file also lists for writing); and the
 * per-forward preparation of the compute context. Files are llm_layer_load.c's
 * business: the loaders here take values already in memory (LlmRawTensor). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/compute.h"
#include "kernels/q8_rows.h"
#include "models/decoders/llm_layer_internal.h"
#include "pifi/dtype.h"
#include "pifi/hash.h"

/* The bf16, int8 and scale fields paired with a matrix field of p, or -1 for
 * a vector (norm, bias). */
static int matrix_slot(LlmLayer *l, float **dst, uint16_t ***h, int8_t ***q, float ***s) {
    float **f[7] = {&l->p.wq, &l->p.wk, &l->p.wv, &l->p.wo, &l->p.wgate, &l->p.wup, &l->p.wdown};
    uint16_t **hh[7] = {&l->w16.wq, &l->w16.wk, &l->w16.wv, &l->w16.wo, &l->w16.wgate, &l->w16.wup, &l->w16.wdown};
    int8_t **qq[7] = {&l->q8.wq, &l->q8.wk, &l->q8.wv, &l->q8.wo, &l->q8.wgate, &l->q8.wup, &l->q8.wdown};
    float **ss[7] = {&l->q8.sq, &l->q8.sk, &l->q8.sv, &l->q8.so, &l->q8.sgate, &l->q8.sup, &l->q8.sdown};
    for (int i = 0; i < 7; i++)
        if (f[i] == dst) {
            if (h) *h = hh[i];
            if (q) *q = qq[i];
            if (s) *s = ss[i];
            return i;
        }
    return -1;
}

static size_t spec_numel(const LlmTensorSpec *s) {
    return (size_t)s->shape[0] * (s->ndim == 2 ? (size_t)s->shape[1] : 1);
}

/* Keep only the vectors (norms, biases) in a new fp32 arena; the matrix
 * fields of p become NULL. */
static int drop_f32_matrices(LlmLayer *l, PifiErr *err) {
    LlmTensorSpec specs[LLM_LAYER_MAX_SPECS];
    LlmLayerParams old = l->p;
    int n = llm_layer_specs(&l->cfg, &l->p, l->pooled_only, specs, LLM_LAYER_MAX_SPECS);
    size_t small = 0;
    for (int i = 0; i < n; i++)
        if (specs[i].ndim == 1) small += spec_numel(&specs[i]);
    float *mem = llm_weights_alloc(l, (small ? small : 1) * sizeof(float), err);
    if (!mem) return -1;
    l->p = old;
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        if (specs[i].ndim == 1) {
            memcpy(mem + off, *specs[i].dst, spec_numel(&specs[i]) * sizeof(float));
            *specs[i].dst = mem + off;
            off += spec_numel(&specs[i]);
        } else {
            *specs[i].dst = NULL;
        }
    }
    free(l->mem);
    l->mem = mem;
    return 0;
}

/* Allocate mem16 and point w16 at it for the matrices in specs. */
static int alloc_w16(LlmLayer *l, const LlmTensorSpec *specs, int n, PifiErr *err) {
    if (l->mem16) return 0;
    size_t big = 0;
    for (int i = 0; i < n; i++)
        if (specs[i].ndim == 2) big += spec_numel(&specs[i]);
    l->mem16 = llm_weights_alloc(l, (big ? big : 1) * sizeof(uint16_t), err);
    if (!l->mem16) return -1;
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        uint16_t **h;
        if (specs[i].ndim != 2 || matrix_slot(l, specs[i].dst, &h, NULL, NULL) < 0) continue;
        *h = l->mem16 + off;
        off += spec_numel(&specs[i]);
    }
    return 0;
}

/* Round the fp32 matrices into the bf16 copies. */
static void refresh_w16(LlmLayer *l) {
    LlmTensorSpec specs[LLM_LAYER_MAX_SPECS];
    LlmLayerParams keep = l->p;
    int n = llm_layer_specs(&l->cfg, &l->p, l->pooled_only, specs, LLM_LAYER_MAX_SPECS);
    l->p = keep;
    for (int i = 0; i < n; i++) {
        uint16_t **h;
        if (specs[i].ndim != 2 || matrix_slot(l, specs[i].dst, &h, NULL, NULL) < 0 || !*specs[i].dst) continue;
        bf16_from_f32(*h, *specs[i].dst, spec_numel(&specs[i]));
    }
    if (l->cx) compute_weights_changed(l->cx); /* packed copies of the old values */
    l->w16_fresh = 1;
}

int llm_layer_precision_changed(LlmLayer *l, int keep_f32, PifiErr *err) {
    if (!compute_bf16(l->cx) || l->bf16_only || l->q8_only) return 0;
    LlmTensorSpec specs[LLM_LAYER_MAX_SPECS];
    LlmLayerParams keep = l->p;
    int n = llm_layer_specs(&l->cfg, &l->p, l->pooled_only, specs, LLM_LAYER_MAX_SPECS);
    l->p = keep;
    if (alloc_w16(l, specs, n, err)) return -1;
    refresh_w16(l);
    if (keep_f32) return 0;
    llm_layer_weights_sha256(l, l->sha256); /* of the fp32 weights, before they go */
    if (drop_f32_matrices(l, err)) return -1;
    l->bf16_only = 1;
    return 0;
}

/* A vector (norm, bias) of the layer's values into l->mem at *off, hashed. */
static void load_vector(LlmLayer *l, const LlmTensorSpec *spec, const LlmRawTensor *raw, size_t *off, PifiSha256 *h) {
    size_t count = spec_numel(spec);
    *spec->dst = l->mem + *off;
    *off += count;
    pifi_to_f32(raw->dtype, raw->data, *spec->dst, count);
    pifi_sha256_update(h, *spec->dst, count * sizeof(float));
}

/* The layer's values straight into bf16 (matrices) and fp32 (vectors), a
 * megabyte of fp32 at a time, hashing the fp32 values in arena order as
 * llm_layer_weights_sha256 would. */
int llm_layer_load_bf16(LlmLayer *l, LlmTensorSpec *specs, const LlmRawTensor *raw, int n, PifiErr *err) {
    size_t small = 0;
    for (int i = 0; i < n; i++)
        if (specs[i].ndim == 1) small += spec_numel(&specs[i]);
    l->mem = llm_weights_alloc(l, (small ? small : 1) * sizeof(float), err);
    if (!l->mem || alloc_w16(l, specs, n, err)) return -1;
    l->num_params = llm_layer_param_count(&l->cfg);
    enum { CHUNK = 1 << 18 };
    float *tmp = pifi_malloc(CHUNK * sizeof(float), err);
    PifiSha256 *h = tmp ? pifi_sha256_new() : NULL;
    if (!h) {
        free(tmp);
        return tmp ? pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory") : -1;
    }
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        size_t count = spec_numel(&specs[i]);
        if (specs[i].ndim == 1) {
            load_vector(l, &specs[i], &raw[i], &off, h);
            continue;
        }
        uint16_t **dst16;
        matrix_slot(l, specs[i].dst, &dst16, NULL, NULL);
        *specs[i].dst = NULL;
        size_t es = pifi_dtype_size(raw[i].dtype);
        for (size_t j = 0; j < count; j += CHUNK) {
            size_t m = count - j < CHUNK ? count - j : CHUNK;
            pifi_to_f32(raw[i].dtype, (const char *)raw[i].data + j * es, tmp, m);
            pifi_sha256_update(h, tmp, m * sizeof(float));
            bf16_from_f32(*dst16 + j, tmp, m);
        }
    }
    pifi_sha256_final(h, l->sha256);
    free(tmp);
    l->bf16_only = 1;
    if (l->cx) compute_weights_changed(l->cx);
    l->w16_fresh = 1;
    return 0;
}

int llm_layer_quantize(LlmLayer *l, PifiErr *err) {
    if (l->q8_only) return 0;
    LlmTensorSpec specs[LLM_LAYER_MAX_SPECS];
    LlmLayerParams keep = l->p;
    int n = llm_layer_specs(&l->cfg, &l->p, l->pooled_only, specs, LLM_LAYER_MAX_SPECS);
    l->p = keep;
    size_t qb = 0, rows = 0;
    for (int i = 0; i < n; i++)
        if (specs[i].ndim == 2) qb += spec_numel(&specs[i]), rows += (size_t)specs[i].shape[0];
    char *mem = llm_weights_alloc(l, rows * sizeof(float) + qb, err);
    if (!mem) return -1;
    if (!l->sha256[0]) llm_layer_weights_sha256(l, l->sha256);
    float *scales = (float *)mem;
    int8_t *q = (int8_t *)(mem + rows * sizeof(float));
    for (int i = 0; i < n; i++) {
        uint16_t **h;
        int8_t **qq;
        float **ss;
        if (specs[i].ndim != 2 || matrix_slot(l, specs[i].dst, &h, &qq, &ss) < 0) continue;
        int R = (int)specs[i].shape[0], C = (int)specs[i].shape[1];
        *qq = q;
        *ss = scales;
        q8_quantize_rows(q, scales, *specs[i].dst, *h, (size_t)R, (size_t)C);
        q += (size_t)R * C;
        scales += R;
        *h = NULL;
    }
    if (!l->bf16_only && drop_f32_matrices(l, err)) {
        free(mem);
        return -1;
    }
    free(l->mem16);
    l->mem16 = NULL;
    l->memq = mem;
    l->bf16_only = 0;
    l->q8_only = 1;
    if (l->cx) compute_weights_changed(l->cx);
    l->w16_fresh = 1;
    return 0;
}

int llm_layer_int8_tensors(const LlmLayer *l, StWriteTensor *out, char (*names)[192], int max) {
    if (!l->q8_only) return 0;
    LlmTensorSpec specs[LLM_LAYER_MAX_SPECS];
    LlmLayer *m = (LlmLayer *)l;
    LlmLayerParams keep = m->p;
    int n = llm_layer_specs(&l->cfg, &m->p, l->pooled_only, specs, LLM_LAYER_MAX_SPECS), k = 0;
    m->p = keep;
    for (int i = 0; i < n && k + 2 <= max; i++) {
        snprintf(names[k], 192, "model.layers.%d.%s", l->layer, specs[i].name);
        int8_t **q;
        float **s;
        if (specs[i].ndim == 1) {
            out[k] = (StWriteTensor){names[k], PIFI_DT_F32, 1, {specs[i].shape[0]}, *specs[i].dst};
            k++;
            continue;
        }
        if (matrix_slot(m, specs[i].dst, NULL, &q, &s) < 0) continue;
        out[k] = (StWriteTensor){names[k], PIFI_DT_I8, 2, {specs[i].shape[0], specs[i].shape[1]}, *q};
        k++;
        snprintf(names[k], 192, "model.layers.%d.%s_scale", l->layer, specs[i].name);
        out[k] = (StWriteTensor){names[k], PIFI_DT_F32, 1, {specs[i].shape[0]}, *s};
        k++;
    }
    return k;
}

int llm_layer_load_int8(LlmLayer *l, LlmTensorSpec *specs, const LlmRawTensor *raw, int n, PifiErr *err) {
    size_t small = 0, qb = 0, rows = 0;
    for (int i = 0; i < n; i++) {
        if (specs[i].ndim == 1) small += spec_numel(&specs[i]);
        else qb += spec_numel(&specs[i]), rows += (size_t)specs[i].shape[0];
    }
    l->mem = llm_weights_alloc(l, (small ? small : 1) * sizeof(float), err);
    l->memq = l->mem ? llm_weights_alloc(l, rows * sizeof(float) + qb, err) : NULL;
    if (!l->memq) return -1;
    l->num_params = llm_layer_param_count(&l->cfg);
    float *scales = (float *)l->memq;
    int8_t *q = (int8_t *)((char *)l->memq + rows * sizeof(float));
    PifiSha256 *h = pifi_sha256_new();
    if (!h) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        size_t count = spec_numel(&specs[i]);
        if (specs[i].ndim == 1) {
            load_vector(l, &specs[i], &raw[i], &off, h);
            continue;
        }
        int8_t **qq;
        float **ss;
        matrix_slot(l, specs[i].dst, NULL, &qq, &ss);
        *specs[i].dst = NULL;
        size_t R = (size_t)specs[i].shape[0];
        *qq = q;
        *ss = scales;
        memcpy(q, raw[i].data, count);
        memcpy(scales, raw[i].scale, R * sizeof(float));
        pifi_sha256_update(h, q, count);
        pifi_sha256_update(h, scales, R * sizeof(float));
        q += count;
        scales += R;
    }
    pifi_sha256_final(h, l->sha256);
    l->q8_only = 1;
    if (l->cx) compute_weights_changed(l->cx);
    l->w16_fresh = 1;
    return 0;
}

int llm_layer_prepare(LlmLayer *l, size_t N, PifiErr *err) {
    const LlmConfig *c = &l->cfg;
    if (compute_bf16(l->cx) && l->mem16 && !l->bf16_only && !l->w16_fresh) refresh_w16(l);
    int QC = c->NH * c->HD;
    size_t wide = (size_t)(c->FF > QC ? c->FF : QC);
    if (wide < (size_t)c->D) wide = (size_t)c->D;
    return compute_reserve(l->cx, N * wide, l->q8_only ? wide : 0, err);
}
