/* onnx_export.c: the classifier of models/pifi_model.c as ONNX nodes after
 * the encoder (onnx_bert.c): pooling as kernels/pool.c does it, then with
 * a plugged layer u = L_in pooled, the layer in pooled mode (llm_layer.h:
 * one token at position 0, so attention is Wo expand_gqa(Wv n + bv); Wv's
 * rows are repeated per query head here, giving each head its key/value
 * head's values exactly), v = L_out z; then the head: Linear, GELU,
 * Linear. The run is loaded as pifi eval loads it (fp32). */
#include "onnx/onnx_export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/path.h"
#include "kernels/activation.h"
#include "models/pifi_method.h"
#include "onnx/onnx_internal.h"
#include "pifi.h"
#include "pifi/fileio.h"
#include "train/runio.h"

/* (B, C) from h (B, T, C) and the mask (B, T) INT64, as pool_forward. */
static const char *pool(OnnxGraph *g, PifiPooling how, const char *h, const char *mask) {
    int64_t zero = 0, one = 1;
    if (how == POOL_CLS) {
        const char *y = og_op2(g, "Gather", h, og_i64(g, 0, &zero, 1));
        og_attr_i(g, "axis", 1);
        return y;
    }
    const char *mf = og_op1(g, "Cast", mask);
    og_attr_i(g, "to", ONNX_FLOAT);
    const char *w = mf; /* mean: every real token; last: the last real one */
    if (how == POOL_LAST) {
        /* real tokens numbered 1, 2, ... by a running count; the last is where it equals the total */
        const char *run = og_op2(g, "CumSum", mf, og_i64(g, 0, &one, 1));
        const char *total = og_op2(g, "ReduceSum", mf, og_i64(g, 1, &one, 1));
        og_attr_i(g, "keepdims", 1);
        const char *eq = og_op1(g, "Cast", og_op2(g, "Equal", run, total));
        og_attr_i(g, "to", ONNX_FLOAT);
        w = og_op2(g, "Mul", eq, mf);
    }
    int64_t last_axis = -1;
    const char *w3 = og_op2(g, "Unsqueeze", w, og_i64(g, 1, &last_axis, 1)); /* (B, T, 1) */
    const char *sum = og_op2(g, "ReduceSum", og_op2(g, "Mul", h, w3), og_i64(g, 1, &one, 1));
    og_attr_i(g, "keepdims", 0);
    if (how == POOL_LAST) return sum;
    const char *n = og_op2(g, "ReduceSum", w3, og_i64(g, 1, &one, 1));
    og_attr_i(g, "keepdims", 0);
    return og_op2(g, "Div", sum, n);
}

/* x * rsqrt(mean(x^2) + eps) * (offset + w), over the last axis */
static const char *rmsnorm(OnnxGraph *g, const char *x, const char *name, const float *w, const LlmConfig *c) {
    int64_t D = c->D, last = -1;
    float *scaled = NULL;
    const float *wv = w;
    if (c->norm_offset != 0.0f) { /* Gemma2's (1 + w): folded into the weight */
        if (!(scaled = malloc((size_t)D * sizeof *scaled))) return NULL;
        for (int64_t i = 0; i < D; i++) scaled[i] = c->norm_offset + w[i];
        wv = scaled;
    }
    const char *ms = og_op1(g, "ReduceMean", og_op2(g, "Mul", x, x));
    og_attr_ints(g, "axes", 1, &last);
    og_attr_i(g, "keepdims", 1);
    const char *r = og_op1(g, "Sqrt", og_op2(g, "Add", ms, og_f32(g, c->rms_eps)));
    const char *y = og_op2(g, "Mul", og_op2(g, "Div", x, r), og_weight_copy(g, name, wv, 1, &D));
    free(scaled);
    return y;
}

/* The plugged layer in pooled mode on u (B, D). */
static const char *llm_pooled(OnnxGraph *g, const LlmLayer *l, const char *u, PifiErr *err) {
    const LlmConfig *c = &l->cfg;
    const LlmLayerParams *p = &l->p;
    int64_t D = c->D, HD = c->HD, NH = c->NH, NKV = c->NKV, QC = NH * HD, FF = c->FF, group = NH / NKV;
    if (!p->wv || !p->wo || !p->wgate || !p->wup || !p->wdown) {
        pifi_errf(err, "onnx export: the plugged layer's weights are not fp32 (an int8 run cannot be exported yet)");
        return NULL;
    }
    /* Wv (and bv) with each key/value head's rows repeated for its query heads: (QC, D) */
    float *wv = malloc((size_t)(QC * D) * sizeof *wv), *bv = p->bv ? malloc((size_t)QC * sizeof *bv) : NULL;
    if (!wv || (p->bv && !bv)) {
        free(wv), free(bv);
        pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        return NULL;
    }
    for (int64_t h = 0; h < NH; h++) {
        memcpy(wv + h * HD * D, p->wv + (h / group) * HD * D, (size_t)(HD * D) * sizeof *wv);
        if (bv) memcpy(bv + h * HD, p->bv + (h / group) * HD, (size_t)HD * sizeof *bv);
    }
    const char *n = rmsnorm(g, u, "llm.input_layernorm.weight", p->norm_attn, c);
    const char *y = onnx_linear(g, n, "llm.self_attn.v_proj_per_head", wv, bv, QC, D);
    free(wv), free(bv); /* onnx_linear copied them */
    const char *a = onnx_linear(g, y, "llm.self_attn.o_proj", p->wo, p->bo, D, QC);
    if (p->norm_attn_post) a = rmsnorm(g, a, "llm.post_attention_layernorm.weight", p->norm_attn_post, c);
    const char *h = og_op2(g, "Add", a, u);
    const char *n2 = rmsnorm(g, h, "llm.ffn_norm.weight", p->norm_ffn, c);
    const char *gate = onnx_linear(g, n2, "llm.mlp.gate_proj", p->wgate, NULL, FF, D);
    const char *up = onnx_linear(g, n2, "llm.mlp.up_proj", p->wup, NULL, FF, D);
    const char *act = onnx_activation(g, c->act, gate);
    if (!act) {
        pifi_errf(err, "onnx export: the layer's activation %d has no ONNX form", c->act);
        return NULL;
    }
    const char *m = onnx_linear(g, og_op2(g, "Mul", act, up), "llm.mlp.down_proj", p->wdown, NULL, D, FF);
    if (p->norm_ffn_post) m = rmsnorm(g, m, "llm.post_feedforward_layernorm.weight", p->norm_ffn_post, c);
    return og_op2(g, "Add", h, m);
}

int onnx_export_run(const char *run_dir, const char *out_path, OnnxExportInfo *info, PifiErr *err) {
    RunModel r;
    memset(&r, 0, sizeof r);
    if (runio_load_run(&r, run_dir, err)) return -1;
    int rc = -1;
    OnnxGraph *g = NULL;
    EncoderExport *x = NULL;
    PifiModel *m = &r.model;
    if (r.int8) {
        pifi_errf(err, "%s: an int8 run (pifi quantize) cannot be exported to ONNX yet: export the fp32 run", run_dir);
        goto done;
    }
    if (r.opts.span) {
        pifi_errf(err, "%s: a question answering run cannot be exported to ONNX yet (the span head)", run_dir);
        goto done;
    }
    if (!(x = malloc(sizeof *x)) || !(g = og_new("pifi"))) {
        pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        goto done;
    }
    if (encoder_export(&m->slm, "", x, err)) goto done;
    const EncoderConfig *c = &m->slm.cfg;
    const char *dyn[2] = {"batch", "sequence"};
    int64_t dims[2] = {0, 0};
    og_input(g, "input_ids", ONNX_INT64, 2, dims, dyn);
    og_input(g, "attention_mask", ONNX_INT64, 2, dims, dyn);
    OnnxEncoderInputs in = {"input_ids", "attention_mask", NULL};
    if (c->TV > 0) {
        og_input(g, "token_type_ids", ONNX_INT64, 2, dims, dyn);
        in.types = "token_type_ids";
    }
    const char *h = onnx_bert_encoder(g, &m->slm, x, &in, err);
    if (!h) goto done;
    const int64_t C = m->C, D = m->D, K = m->K;
    const char *v = pool(g, m->pooling, h, in.mask);
    if (m->has_llm) {
        const char *u = onnx_linear(g, v, "pifi.l_in", m->hp.l_in, NULL, D, C);
        const char *z = llm_pooled(g, &m->llm, u, err);
        if (!z) goto done;
        v = onnx_linear(g, z, "pifi.l_out", m->hp.l_out, NULL, C, D);
    }
    const char *h1 = onnx_linear(g, v, "pifi.head.dense", m->hp.head_w1, m->hp.head_b1, C, C);
    h1 = onnx_activation(g, ACT_GELU, h1);
    onnx_linear(g, h1, "pifi.head.out", m->hp.head_w2, m->hp.head_b2, K, C);
    og_name_output(g, "logits");
    const char *out_dyn[2] = {"batch", NULL};
    int64_t out_dims[2] = {0, K};
    og_output(g, "logits", ONNX_FLOAT, 2, out_dims, out_dyn);
    /* what a runtime needs to use it: the classes in order, and how the run was made */
    cJSON *labels = cJSON_CreateArray();
    for (int k = 0; labels && k < r.K; k++) cJSON_AddItemToArray(labels, cJSON_CreateString(r.label_names[k]));
    char *lj = labels ? cJSON_PrintUnformatted(labels) : NULL;
    cJSON_Delete(labels);
    og_meta(g, "labels", lj ? lj : "[]");
    free(lj);
    og_meta(g, "method", method_name(r.opts.method));
    og_meta(g, "pooling", pifi_pooling_name(m->pooling));
    og_meta(g, "model_type", c->model_type);
    char buf[32];
    snprintf(buf, sizeof buf, "%d", r.opts.max_len);
    og_meta(g, "max_length", buf);
    char *dir = pifi_dir_of(out_path);
    if (!dir) {
        pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        goto done;
    }
    int trc = pifi_mkdirs(dir, err) || og_write(g, out_path, PIFI_VERSION, err) ||
              runio_copy_tokenizer(run_dir, dir, err);
    free(dir);
    if (trc) goto done;
    if (info) {
        struct stat st;
        info->classes = r.K;
        info->has_types = c->TV > 0;
        og_counts(g, &info->nodes, &info->initializers);
        info->megabytes = stat(out_path, &st) == 0 ? st.st_size / 1e6 : 0;
    }
    rc = 0;
done:
    og_free(g);
    free(x);
    runio_free_run(&r);
    return rc;
}
