/* encoder_gguf.c: BERT-architecture encoders from GGUF, laid out as
 * llama.cpp's convert_hf_to_gguf.py writes them (general.architecture
 * "bert"), read through the GGUF reader (src/io/gguf.c) by the BERT family:
 *
 *   metadata                            EncoderConfig
 *   bert.block_count                    L
 *   bert.embedding_length               C (= E)
 *   bert.feed_forward_length            FF
 *   bert.attention.head_count           NH
 *   bert.context_length                 maxT
 *   bert.attention.layer_norm_epsilon   ln_eps (1e-12 when absent)
 *   bert.attention.causal               must be false when present
 *   token_embd / token_types shapes     V / TV
 *   tokenizer.ggml.padding_token_id     pad_id (0 when absent)
 *   the activation is HF's "gelu" (erf), BertModel's; dropout 0.1 as BERT's
 *   config defaults (training only)
 *
 *   tensor (.weight, .bias)             HF BertModel name
 *   token_embd / token_types /          embeddings.word_embeddings /
 *   position_embd / token_embd_norm     token_type_ / position_embeddings, LayerNorm
 *   blk.N.attn_q / attn_k / attn_v      encoder.layer.N.attention.self.query / key / value
 *   blk.N.attn_output (_norm)           attention.output.dense (LayerNorm)
 *   blk.N.ffn_up / ffn_down             intermediate.dense / output.dense
 *   blk.N.layer_output_norm             output.LayerNorm
 *
 * Every tensor is dequantized to fp32 (F32, F16, BF16 and the block formats
 * gguf_dequant.c reads); the converter drops the pooler, so there is none.
 * GGUF stores no Q/K permutation for BERT (that is llama's). */
#include "models/encoders/encoder_gguf.h"

#include <float.h>
#include <stdio.h>
#include <string.h>

#include "kernels/activation.h"
#include "models/encoders/encoder_family.h"
#include "models/encoders/encoder_internal.h"
#include "pifi/gguf.h"

/* A required u32 of key "bert.<what>" in lo..hi. */
static int meta_dim(const GgufFile *g, const char *what, int lo, int hi, int *out, PifiErr *err) {
    char key[96];
    snprintf(key, sizeof key, "bert.%s", what);
    uint32_t v;
    if (gguf_get_u32(g, key, &v, err)) return -1;
    if (v < (uint32_t)lo || v > (uint32_t)hi)
        return pifi_errf(err, "%s: metadata '%s' is %u, expected %d..%d", gguf_path(g), key, v, lo, hi);
    *out = (int)v;
    return 0;
}

/* The PyTorch-order shape of tensor name with its 1-sized dims dropped (the
 * converter squeezed some), and whether it equals want's (n dims). */
static int shape_is(const GgufTensor *t, const int64_t *want, int n) {
    int64_t s[GGUF_MAX_DIMS], w[4];
    int ns = gguf_tensor_shape_pt(t, s), nw = 0, k = 0;
    for (int i = 0; i < n; i++)
        if (want[i] != 1) w[nw++] = want[i];
    for (int i = 0; i < ns; i++) {
        if (s[i] == 1) continue;
        if (k >= nw || s[i] != w[k]) return 0;
        k++;
    }
    return k == nw;
}

static int config_from(EncoderConfig *cfg, const GgufFile *g, PifiErr *err) {
    const char *path = gguf_path(g), *arch;
    memset(cfg, 0, sizeof *cfg);
    if (gguf_get_str(g, "general.architecture", &arch, NULL, err)) return -1;
    if (strcmp(arch, "bert"))
        return pifi_errf(err, "%s: general.architecture \"%.64s\" is not a small model pifi reads from GGUF "
                              "(supported: bert; decoders: llama, qwen2)", path, arch);
    cfg->family = &ENCODER_FAMILY_BERT;
    snprintf(cfg->model_type, sizeof cfg->model_type, "bert");
    cfg->arch = ENC_BERT;
    if (meta_dim(g, "block_count", 1, 1024, &cfg->L, err) || meta_dim(g, "embedding_length", 1, 1 << 16, &cfg->C, err) ||
        meta_dim(g, "feed_forward_length", 1, 1 << 18, &cfg->FF, err) ||
        meta_dim(g, "attention.head_count", 1, 1024, &cfg->NH, err) ||
        meta_dim(g, "context_length", 1, 1 << 20, &cfg->maxT, err))
        return -1;
    cfg->E = cfg->C;
    if (cfg->C % cfg->NH)
        return pifi_errf(err, "%s: bert.embedding_length %d is not divisible by bert.attention.head_count %d", path,
                         cfg->C, cfg->NH);
    int causal = 0;
    if (gguf_find_key(g, "bert.attention.causal") >= 0 && gguf_get_bool(g, "bert.attention.causal", &causal, err))
        return -1;
    if (causal) return pifi_errf(err, "%s: bert.attention.causal is true: not a BERT encoder", path);
    float eps = 1e-12f;
    if (gguf_find_key(g, "bert.attention.layer_norm_epsilon") >= 0 &&
        gguf_get_f32(g, "bert.attention.layer_norm_epsilon", &eps, err))
        return -1;
    if (!(eps >= FLT_MIN && eps < 1))
        return pifi_errf(err, "%s: bert.attention.layer_norm_epsilon %g must be in [1.2e-38, 1)", path, (double)eps);
    cfg->ln_eps = eps;
    const GgufTensor *t;
    if (gguf_get_tensor(g, "token_embd.weight", &t, err)) return -1;
    int64_t s[GGUF_MAX_DIMS];
    if (gguf_tensor_shape_pt(t, s) != 2 || s[1] != cfg->C || s[0] < 1 || s[0] > (1 << 22))
        return pifi_errf(err, "%s: tensor 'token_embd.weight' has %d dims [%lld, ...], expected [vocab <= 4194304, %d]",
                         path, t->n_dims, (long long)s[0], cfg->C);
    cfg->V = (int)s[0];
    cfg->TV = 0;
    if (gguf_find_tensor(g, "token_types.weight", &t) == 0) {
        int64_t tv = t->numel / cfg->C;
        if (tv < 1 || tv > 1024 || tv * cfg->C != t->numel)
            return pifi_errf(err, "%s: tensor 'token_types.weight' of %lld values is not (types <= 1024, %d)", path,
                             (long long)t->numel, cfg->C);
        cfg->TV = (int)tv;
    }
    if (gguf_find_key(g, "tokenizer.ggml.padding_token_id") >= 0) {
        uint32_t pad;
        if (gguf_get_u32(g, "tokenizer.ggml.padding_token_id", &pad, err)) return -1;
        cfg->pad_id = pad < (uint32_t)cfg->V ? (int)pad : 0;
    }
    Activation a;
    if (activation_parse("gelu", &a)) return pifi_errf(err, "%s: no gelu activation", path);
    cfg->act = (int)a;
    cfg->hidden_dropout = cfg->attn_dropout = 0.1f;
    return 0;
}

int encoder_gguf_config(EncoderConfig *cfg, const char *path, PifiErr *err) {
    GgufFile *g;
    if (gguf_open(&g, path, err)) return -1;
    int rc = config_from(cfg, g, err);
    gguf_close(g);
    return rc;
}

/* Tensor name (its PyTorch shape d0 x d1, d1 = 0: 1-D) into dst; dst NULL:
 * only its shape and type checked. */
static int read_tensor(const GgufFile *g, const char *name, int64_t d0, int64_t d1, float *dst, PifiErr *err) {
    const GgufTensor *t;
    if (gguf_get_tensor(g, name, &t, err)) return -1;
    int64_t want[2] = {d0, d1};
    if (!shape_is(t, want, d1 ? 2 : 1)) {
        int64_t s[GGUF_MAX_DIMS];
        int n = gguf_tensor_shape_pt(t, s);
        char got[96] = "";
        for (int i = 0, k = 0; i < n; i++)
            k += snprintf(got + k, sizeof got - (size_t)k, "%s%lld", i ? ", " : "", (long long)s[i]);
        return d1 ? pifi_errf(err, "%s: tensor '%s' has shape [%s], expected [%lld, %lld]", gguf_path(g), name, got,
                              (long long)d0, (long long)d1)
                  : pifi_errf(err, "%s: tensor '%s' has shape [%s], expected [%lld]", gguf_path(g), name, got,
                              (long long)d0);
    }
    if (!gguf_type_can_dequantize(t->type))
        return pifi_errf(err, "%s: tensor '%s' is %s, which pifi cannot dequantize", gguf_path(g), name,
                         gguf_type_name(t->type) ? gguf_type_name(t->type) : "an unknown type");
    return dst ? gguf_tensor_to_f32(t, dst, err) : 0;
}

/* Every tensor into m->params; with m->params all NULL (nothing allocated
 * yet), every tensor's shape and type checked only. */
static int load_params(Encoder *m, const GgufFile *g, PifiErr *err) {
    const EncoderConfig *c = &m->cfg;
    EncoderParams *p = &m->params;
    int64_t C = c->C, FF = c->FF;
    if (read_tensor(g, "token_embd.weight", c->V, C, p->wte, err) ||
        read_tensor(g, "position_embd.weight", c->maxT, C, p->wpe, err) ||
        read_tensor(g, "token_embd_norm.weight", C, 0, p->emb_lnw, err) ||
        read_tensor(g, "token_embd_norm.bias", C, 0, p->emb_lnb, err) ||
        (c->TV > 0 && read_tensor(g, "token_types.weight", c->TV, C, p->wtt, err)))
        return -1;
    for (int l = 0; l < c->L; l++) {
        static const char *QKV[3] = {"attn_q", "attn_k", "attn_v"};
        char n[96];
        for (int j = 0; j < 3; j++) {
            snprintf(n, sizeof n, "blk.%d.%s.weight", l, QKV[j]);
            if (read_tensor(g, n, C, C, ENC_AT(p->qkvw, ((size_t)l * 3 + j) * C * C), err)) return -1;
            snprintf(n, sizeof n, "blk.%d.%s.bias", l, QKV[j]);
            if (read_tensor(g, n, C, 0, ENC_AT(p->qkvb, ((size_t)l * 3 + j) * C), err)) return -1;
        }
        const struct {
            const char *name;
            int64_t d0, d1;
            float *dst;
        } t[] = {
            {"attn_output.weight", C, C, ENC_AT(p->attprojw, (size_t)l * C * C)},
            {"attn_output.bias", C, 0, ENC_AT(p->attprojb, (size_t)l * C)},
            {"attn_output_norm.weight", C, 0, ENC_AT(p->ln1w, (size_t)l * C)},
            {"attn_output_norm.bias", C, 0, ENC_AT(p->ln1b, (size_t)l * C)},
            {"ffn_up.weight", FF, C, ENC_AT(p->fcw, (size_t)l * FF * C)},
            {"ffn_up.bias", FF, 0, ENC_AT(p->fcb, (size_t)l * FF)},
            {"ffn_down.weight", C, FF, ENC_AT(p->fcprojw, (size_t)l * C * FF)},
            {"ffn_down.bias", C, 0, ENC_AT(p->fcprojb, (size_t)l * C)},
            {"layer_output_norm.weight", C, 0, ENC_AT(p->ln2w, (size_t)l * C)},
            {"layer_output_norm.bias", C, 0, ENC_AT(p->ln2b, (size_t)l * C)},
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
            snprintf(n, sizeof n, "blk.%d.%s", l, t[i].name);
            if (read_tensor(g, n, t[i].d0, t[i].d1, t[i].dst, err)) return -1;
        }
    }
    return 0;
}

int encoder_gguf_load(Encoder *m, const char *path, PifiErr *err) {
    GgufFile *g;
    if (gguf_open(&g, path, err)) return -1;
    m->has_pooler = 0; /* the converter drops it */
    /* shapes first: nothing is allocated for what the file does not hold */
    int rc = load_params(m, g, err) || bert_params_alloc(m, 0, err) || load_params(m, g, err) ? -1 : 0;
    gguf_close(g);
    return rc;
}

cJSON *encoder_gguf_config_json(const char *path, PifiErr *err) {
    EncoderConfig c;
    if (encoder_gguf_config(&c, path, err)) return NULL;
    cJSON *j = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(j, "architectures");
    if (!arch) goto oom;
    cJSON_AddItemToArray(arch, cJSON_CreateString("BertModel"));
    const struct {
        const char *key;
        double v;
    } num[] = {
        {"vocab_size", c.V}, {"hidden_size", c.C}, {"num_hidden_layers", c.L}, {"num_attention_heads", c.NH},
        {"intermediate_size", c.FF}, {"max_position_embeddings", c.maxT}, {"type_vocab_size", c.TV},
        {"pad_token_id", c.pad_id}, {"layer_norm_eps", c.ln_eps}, {"hidden_dropout_prob", 0.1},
        {"attention_probs_dropout_prob", 0.1},
    };
    for (size_t i = 0; i < sizeof num / sizeof num[0]; i++)
        if (!cJSON_AddNumberToObject(j, num[i].key, num[i].v)) goto oom;
    if (!cJSON_AddStringToObject(j, "model_type", "bert") || !cJSON_AddStringToObject(j, "hidden_act", "gelu") ||
        !cJSON_AddStringToObject(j, "position_embedding_type", "absolute"))
        goto oom;
    return j;
oom:
    cJSON_Delete(j);
    pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    return NULL;
}
