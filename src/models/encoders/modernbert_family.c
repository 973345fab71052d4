/* modernbert_family.c: the ModernBERT family's table (encoder_family.h):
 * transformers' ModernBertModel (answerdotai/ModernBERT-base and -large and
 * their fine-tunes). Its own parameter, activation and scratch structs live
 * behind Encoder.priv (modernbert_internal.h), its weights in param_mem in
 * the order of the rows below; here the trainable tensors, the sizes read
 * off a config alone, and what it does not do: int8 (an error of its own),
 * and LoRA: PEFT adapts a Linear as a whole, and ModernBERT's query, key and
 * value are one Linear (Wqkv), so the query and value adapters of the
 * paper's LoRA baseline have no PEFT form here (an error of its own). */
#include <stddef.h>

#include "models/encoders/encoder_family.h"
#include "models/encoders/modernbert_internal.h"

static const char *const MODEL_TYPES[] = {"modernbert", NULL};

/* In the order of mb_point_params, so the rows cover param_mem. The
 * stacked tensors are final once their layer's backward is done; attn_norm
 * stacks L-1 layers (layer 0 has none), so it is not per layer (final at
 * the end). */
static int modernbert_tensors(const Encoder *m, EncoderTensor *rows, int cap) {
    const MbParams *p = &((const MbState *)m->priv)->p;
    const EncoderConfig *c = &m->cfg;
    int64_t C = c->C, L = c->L, FF = c->FF;
    const EncoderTensor f[] = {
        {"tok", p->tok, (int64_t)c->V * C, 1, 0, 0},
        {"emb_nw", p->emb_nw, C, 0, 0, 0},
        {"emb_nb", p->emb_nb, p->emb_nb ? C : 0, 0, 0, 0},
        {"attn_nw", p->attn_nw, (L - 1) * C, 0, 0, 0},
        {"attn_nb", p->attn_nb, p->attn_nb ? (L - 1) * C : 0, 0, 0, 0},
        {"wqkv", p->wqkv, L * 3 * C * C, 1, 0, 1},
        {"bqkv", p->bqkv, p->bqkv ? L * 3 * C : 0, 0, 0, 1},
        {"wo", p->wo, L * C * C, 1, 0, 1},
        {"bo", p->bo, p->bo ? L * C : 0, 0, 0, 1},
        {"mlp_nw", p->mlp_nw, L * C, 0, 0, 1},
        {"mlp_nb", p->mlp_nb, p->mlp_nb ? L * C : 0, 0, 0, 1},
        {"wi", p->wi, L * 2 * FF * C, 1, 0, 1},
        {"bi", p->bi, p->bi ? L * 2 * FF : 0, 0, 0, 1},
        {"wo2", p->wo2, L * C * FF, 1, 0, 1},
        {"bo2", p->bo2, p->bo2 ? L * C : 0, 0, 0, 1},
        {"fin_nw", p->fin_nw, C, 0, 0, 0},
        {"fin_nb", p->fin_nb, p->fin_nb ? C : 0, 0, 0, 0},
    };
    int n = 0;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (!f[i].n) continue;
        if (n >= cap) return -1;
        rows[n++] = f[i];
    }
    return n;
}

static int64_t mb_config_params(const EncoderConfig *c) {
    MbParams p;
    return (int64_t)mb_point_params(&p, NULL, c);
}

static int64_t mb_config_pooler_params(const EncoderConfig *c) {
    (void)c;
    return 0; /* no pooler */
}

static int64_t mb_config_flops(const EncoderConfig *c, int T) {
    int64_t C = c->C, FF = c->FF;
    return c->L * (2 * (int64_t)T * (4 * C * C + 3 * C * FF) + 4 * (int64_t)T * T * C);
}

static int64_t mb_config_lora_params(const EncoderConfig *c, int r) {
    (void)c, (void)r;
    return 0; /* no LoRA (modernbert_lora_enable) */
}

/* point_acts of modernbert.c (layers: L, or 1 in inference) with dropout scratch */
static int64_t mb_config_act_floats(const EncoderConfig *c, int64_t B, int64_t T, int layers, int lora_r) {
    (void)lora_r;
    int64_t BT = B * T, C = c->C, FF = c->FF, NH = c->NH, L = layers;
    int64_t h = layers == c->L ? (int64_t)(c->L + 1) : 2;
    return BT * (C + 2) + h * BT * C + L * BT * (6 * C + 2 * FF + 4) + 2 * B * NH * T * T + BT * C + 3 * BT * FF +
           BT * (C + 2) + NH * T * T;
}

static int64_t mb_config_grad_scratch_floats(const EncoderConfig *c, int64_t B, int64_t T, int lora_r) {
    (void)lora_r;
    int64_t BT = B * T;
    return BT * (6 * (int64_t)c->C + 3 * (int64_t)c->FF) + B * c->NH * T * T;
}

static int64_t mb_config_widest(const EncoderConfig *c) { return c->FF > 3 * c->C ? c->FF : 3 * c->C; }

static void mb_config_int8(const EncoderConfig *c, unsigned parts, int64_t *n8, int64_t *rows) {
    (void)c, (void)parts;
    *n8 = *rows = 0; /* nothing in int8 (modernbert_quantize) */
}

static int modernbert_quantize(Encoder *m, int embeddings, PifiErr *err) {
    (void)m, (void)embeddings;
    return pifi_errf(err, "int8: not supported by the modernbert family (its weights stay fp32 or bf16)");
}

static unsigned modernbert_int8_parts(const Encoder *m) {
    (void)m;
    return 0;
}

static int modernbert_lora_enable(Encoder *m, int r, float alpha, float dropout, uint64_t seed, PifiErr *err) {
    (void)m, (void)r, (void)alpha, (void)dropout, (void)seed;
    return pifi_errf(err, "lora: not supported by the modernbert family: its query, key and value are one Linear "
                     "(attn.Wqkv), and PEFT adapts a Linear only as a whole, so there are no query and value "
                     "adapters to train (use --method base or pifi)");
}

const EncoderFamily ENCODER_FAMILY_MODERNBERT = {
    .name = "modernbert",
    .model_types = MODEL_TYPES,
    .checked = "transformers' ModernBertModel (eager; sdpa the same at real tokens) on random configs (forward "
               "at real tokens, gradients, 10 Adam steps for base and pifi); no real weights reachable",
    .config_parse = modernbert_config_parse,
    .config_params = mb_config_params,
    .config_pooler_params = mb_config_pooler_params,
    .config_flops = mb_config_flops,
    .config_lora_params = mb_config_lora_params,
    .config_act_floats = mb_config_act_floats,
    .config_grad_scratch_floats = mb_config_grad_scratch_floats,
    .config_widest = mb_config_widest,
    .config_int8 = mb_config_int8,
    .load = modernbert_load,
    .free = modernbert_free,
    .forward = modernbert_forward,
    .output = modernbert_output,
    .backward = modernbert_backward,
    .tensors = modernbert_tensors,
    .export_tensors = modernbert_export,
    .quantize = modernbert_quantize,
    .int8_parts = modernbert_int8_parts,
    .lora_enable = modernbert_lora_enable,
};
