/* onnx_bert.c: the BERT family's encoder (BertModel, RobertaModel,
 * ElectraModel's discriminator body) as ONNX nodes, following
 * models/encoders/encoder.c op for op: the three embeddings summed, their
 * LayerNorm (ELECTRA's projection after), then per layer the attention
 * (scores scaled, the padding mask added as the most negative float, softmax,
 * heads concatenated), its projection, residual and LayerNorm, the
 * feed-forward with its activation, residual and LayerNorm. Weights come by
 * their Hugging Face names from encoder_export. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kernels/activation.h"
#include "models/encoders/encoder_family.h"
#include "onnx/onnx_internal.h"

/* The export's tensor named name with n floats, or NULL (err set). */
static const float *weight(const EncoderExport *x, const char *name, int64_t n, PifiErr *err) {
    for (int i = 0; i < x->n; i++) {
        const StWriteTensor *t = &x->t[i];
        if (strcmp(t->name, name) != 0) continue;
        int64_t k = 1;
        for (int d = 0; d < t->ndim; d++) k *= t->shape[d];
        if (t->dtype != PIFI_DT_F32 || k != n) {
            pifi_errf(err, "onnx export: %s is not %lld fp32 values (an int8 run cannot be exported yet)", name,
                      (long long)n);
            return NULL;
        }
        return t->data;
    }
    pifi_errf(err, "onnx export: the encoder has no tensor %s", name);
    return NULL;
}

const char *onnx_linear(OnnxGraph *g, const char *x, const char *wname, const float *w, const float *b, int64_t out,
                        int64_t in) {
    char n[192];
    snprintf(n, sizeof n, "%s.weight_t", wname);
    const char *y = og_op2(g, "MatMul", x, og_weight_t(g, n, w, out, in));
    if (!b) return y;
    snprintf(n, sizeof n, "%s.bias", wname);
    return og_op2(g, "Add", y, og_weight_copy(g, n, b, 1, &out));
}

const char *onnx_layernorm(OnnxGraph *g, const char *x, const char *name, const float *w, const float *b, int64_t n,
                           float eps) {
    char wn[192], bn[192];
    snprintf(wn, sizeof wn, "%s.weight", name);
    snprintf(bn, sizeof bn, "%s.bias", name);
    const char *in[3] = {x, og_weight(g, wn, w, 1, &n), og_weight(g, bn, b, 1, &n)};
    const char *y = og_node(g, "LayerNormalization", 3, in);
    og_attr_i(g, "axis", -1);
    og_attr_f(g, "epsilon", eps);
    return y;
}

const char *onnx_activation(OnnxGraph *g, int act, const char *x) {
    switch (act) {
    case ACT_GELU: /* x/2 (1 + erf(x / sqrt 2)) */
        return og_op2(g, "Mul", og_op2(g, "Mul", x, og_f32(g, 0.5f)),
                      og_op2(g, "Add", og_f32(g, 1.0f),
                             og_op1(g, "Erf", og_op2(g, "Mul", x, og_f32(g, (float)M_SQRT1_2)))));
    case ACT_GELU_TANH: { /* x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
        const char *x3 = og_op2(g, "Mul", og_op2(g, "Mul", x, x), x);
        const char *in = og_op2(g, "Add", x, og_op2(g, "Mul", x3, og_f32(g, 0.044715f)));
        const char *t = og_op1(g, "Tanh", og_op2(g, "Mul", in, og_f32(g, (float)sqrt(2.0 / M_PI))));
        return og_op2(g, "Mul", og_op2(g, "Mul", x, og_f32(g, 0.5f)), og_op2(g, "Add", og_f32(g, 1.0f), t));
    }
    case ACT_RELU:
        return og_op1(g, "Relu", x);
    case ACT_SILU:
        return og_op2(g, "Mul", x, og_op1(g, "Sigmoid", x));
    case ACT_QUICK_GELU:
        return og_op2(g, "Mul", x, og_op1(g, "Sigmoid", og_op2(g, "Mul", x, og_f32(g, 1.702f))));
    case ACT_TANH:
        return og_op1(g, "Tanh", x);
    default:
        return NULL;
    }
}

/* (B, T, C) -> (B, NH, T, hs), or (B, NH, hs, T) with keys_t. */
static const char *heads(OnnxGraph *g, const char *x, int NH, int hs, int keys_t) {
    int64_t shape[4] = {0, 0, NH, hs};
    const char *r = og_op2(g, "Reshape", x, og_i64(g, 1, shape, 4));
    const char *t = og_op1(g, "Transpose", r);
    int64_t perm_q[4] = {0, 2, 1, 3}, perm_k[4] = {0, 2, 3, 1};
    og_attr_ints(g, "perm", 4, keys_t ? perm_k : perm_q);
    return t;
}

const char *onnx_bert_encoder(OnnxGraph *g, const Encoder *m, const EncoderExport *x, const OnnxEncoderInputs *in,
                              PifiErr *err) {
    const EncoderConfig *c = &m->cfg;
    if (strcmp(c->family->name, "bert") != 0 || c->arch == ENC_MPNET) {
        pifi_errf(err, "onnx export: the %s family is not exportable yet (bert, roberta, electra are)", c->model_type);
        return NULL;
    }
    const int64_t C = c->C, E = c->E, V = c->V, FF = c->FF, NH = c->NH, hs = C / NH;
    char nm[192];
#define W(name, n) weight(x, name, n, err)
    const float *wte = W("embeddings.word_embeddings.weight", V * E);
    const float *wpe = W("embeddings.position_embeddings.weight", (int64_t)c->maxT * E);
    const float *wtt = c->TV > 0 ? W("embeddings.token_type_embeddings.weight", (int64_t)c->TV * E) : NULL;
    const float *lnw = W("embeddings.LayerNorm.weight", E), *lnb = W("embeddings.LayerNorm.bias", E);
    if (!wte || !wpe || (c->TV > 0 && !wtt) || !lnw || !lnb) return NULL;
    int64_t dv[2] = {V, E}, dp[2] = {c->maxT, E}, dt[2] = {c->TV, E};

    /* positions: 0..T-1, or RoBERTa's pad + running count of real tokens (pads: pad) */
    const char *pos;
    if (c->arch == ENC_ROBERTA) {
        int64_t pad = c->pad_id, one_axis = 1;
        const char *real = og_op2(g, "Equal", in->ids, og_i64(g, 0, &pad, 1));
        real = og_op1(g, "Cast", og_op1(g, "Not", real));
        og_attr_i(g, "to", ONNX_INT64);
        const char *run = og_op2(g, "CumSum", real, og_i64(g, 0, &one_axis, 1));
        pos = og_op2(g, "Add", og_op2(g, "Mul", run, real), og_i64(g, 0, &pad, 1));
    } else {
        int64_t one = 1, zero = 0;
        const char *T = og_op2(g, "Gather", og_op1(g, "Shape", in->ids), og_i64(g, 0, &one, 1));
        const char *r3[3] = {og_i64(g, 0, &zero, 1), T, og_i64(g, 0, &one, 1)};
        pos = og_node(g, "Range", 3, r3);
    }
    const char *h = og_op2(g, "Gather", og_weight(g, "embeddings.word_embeddings.weight", wte, 2, dv), in->ids);
    const char *wpe_name = og_weight(g, "embeddings.position_embeddings.weight", wpe, 2, dp);
    h = og_op2(g, "Add", h, og_op2(g, "Gather", wpe_name, pos));
    if (wtt) {
        const char *types = in->types;
        h = og_op2(g, "Add", h,
                   og_op2(g, "Gather", og_weight(g, "embeddings.token_type_embeddings.weight", wtt, 2, dt), types));
    }
    h = onnx_layernorm(g, h, "embeddings.LayerNorm", lnw, lnb, E, c->ln_eps);
    if (E != C) {
        const float *pw = W("embeddings_project.weight", C * E), *pb = W("embeddings_project.bias", C);
        if (!pw || !pb) return NULL;
        h = onnx_linear(g, h, "embeddings_project", pw, pb, C, E);
    }

    /* the mask as a bias on the scores: 0 for real keys, the most negative float for pads; (B, 1, 1, T) */
    const char *mf = og_op1(g, "Cast", in->mask);
    og_attr_i(g, "to", ONNX_FLOAT);
    const char *bias = og_op2(g, "Mul", og_op2(g, "Sub", og_f32(g, 1.0f), mf), og_f32(g, -3.4028234663852886e38f));
    int64_t axes[2] = {1, 2};
    bias = og_op2(g, "Unsqueeze", bias, og_i64(g, 1, axes, 2));
    const char *scale = og_f32(g, 1.0f / sqrtf((float)hs));

    static const char *const qkv[3] = {"query", "key", "value"};
    for (int l = 0; l < c->L; l++) {
        const char *p[3];
        for (int j = 0; j < 3; j++) {
            char wn[224], bn[224];
            snprintf(nm, sizeof nm, "encoder.layer.%d.attention.self.%s", l, qkv[j]);
            snprintf(wn, sizeof wn, "%s.weight", nm);
            snprintf(bn, sizeof bn, "%s.bias", nm);
            const float *w = W(wn, C * C), *b = W(bn, C);
            if (!w || !b) return NULL;
            p[j] = heads(g, onnx_linear(g, h, nm, w, b, C, C), (int)NH, (int)hs, j == 1);
        }
        const char *s = og_op2(g, "Add", og_op2(g, "Mul", og_op2(g, "MatMul", p[0], p[1]), scale), bias);
        const char *a = og_op1(g, "Softmax", s);
        og_attr_i(g, "axis", -1);
        a = og_op1(g, "Transpose", og_op2(g, "MatMul", a, p[2]));
        int64_t perm[4] = {0, 2, 1, 3}, shape[3] = {0, 0, C};
        og_attr_ints(g, "perm", 4, perm);
        a = og_op2(g, "Reshape", a, og_i64(g, 1, shape, 3));
        const float *ow, *ob, *l1w, *l1b, *fw, *fb, *f2w, *f2b, *l2w, *l2b;
#define LW(var, suffix, n)                                                                                            \
    snprintf(nm, sizeof nm, "encoder.layer.%d.%s", l, suffix);                                                       \
    if (!(var = W(nm, n))) return NULL
        LW(ow, "attention.output.dense.weight", C * C);
        LW(ob, "attention.output.dense.bias", C);
        LW(l1w, "attention.output.LayerNorm.weight", C);
        LW(l1b, "attention.output.LayerNorm.bias", C);
        LW(fw, "intermediate.dense.weight", FF * C);
        LW(fb, "intermediate.dense.bias", FF);
        LW(f2w, "output.dense.weight", C * FF);
        LW(f2b, "output.dense.bias", C);
        LW(l2w, "output.LayerNorm.weight", C);
        LW(l2b, "output.LayerNorm.bias", C);
#undef LW
        snprintf(nm, sizeof nm, "encoder.layer.%d.attention.output.dense", l);
        a = onnx_linear(g, a, nm, ow, ob, C, C);
        snprintf(nm, sizeof nm, "encoder.layer.%d.attention.output.LayerNorm", l);
        const char *h1 = onnx_layernorm(g, og_op2(g, "Add", a, h), nm, l1w, l1b, C, c->ln_eps);
        snprintf(nm, sizeof nm, "encoder.layer.%d.intermediate.dense", l);
        const char *f = onnx_activation(g, c->act, onnx_linear(g, h1, nm, fw, fb, FF, C));
        if (!f) {
            pifi_errf(err, "onnx export: activation %d has no ONNX form", c->act);
            return NULL;
        }
        snprintf(nm, sizeof nm, "encoder.layer.%d.output.dense", l);
        f = onnx_linear(g, f, nm, f2w, f2b, C, FF);
        snprintf(nm, sizeof nm, "encoder.layer.%d.output.LayerNorm", l);
        h = onnx_layernorm(g, og_op2(g, "Add", f, h1), nm, l2w, l2b, C, c->ln_eps);
    }
#undef W
    return h;
}
