/* decoder_family.c: the decoder family's table (encoder_family.h): a
 * decoder-only language model as the SLM (the paper's appendix B.2,
 * SmolLM2-135M; transformers' LlamaModel / Qwen2Model), its last hidden
 * state pooled at the last real token by default. Its layers are the LLM
 * layer's code (models/decoders/llm_layer*.c), its weights read through the
 * LLM checkpoint source (HF directory or GGUF: decoder_model.c); here the
 * trainable tensors and the sizes read off a config alone. */
#include <stddef.h>

#include "models/decoders/llm_layer_internal.h"
#include "models/encoders/decoder_internal.h"
#include "models/encoders/encoder_family.h"
#include "pifi/pifi_model.h"

static const char *const MODEL_TYPES[] = {"llama", "qwen2", NULL};

/* In the arena's order (decoder_model.c): wte, each layer tensor stacked
 * over the L layers, norm. The rows take the layer tensors' HF names
 * ("self_attn.q_proj.weight": all L layers'). */
int decoder_tensors(const Encoder *m, EncoderTensor *rows, int cap) {
    const Decoder *d = decoder_of(m);
    const EncoderConfig *c = &m->cfg;
    int n = 0;
    if (n >= cap) return -1;
    rows[n++] = (EncoderTensor){"wte", d->wte, (int64_t)c->V * c->C, 1, 0, 0};
    LlmTensorSpec specs[16];
    LlmLayerParams p = d->layers[0].p;
    int ns = llm_layer_specs(&c->dec, &p, 0, specs, 16);
    for (int i = 0; i < ns; i++) {
        if (n >= cap) return -1;
        int64_t numel = specs[i].shape[0] * (specs[i].ndim == 2 ? specs[i].shape[1] : 1);
        rows[n++] = (EncoderTensor){specs[i].name, *specs[i].dst, c->L * numel, specs[i].ndim == 2, 0, 1};
    }
    if (d->norm) {
        if (n >= cap) return -1;
        rows[n++] = (EncoderTensor){"norm", d->norm, c->C, 0, 0, 0};
    }
    return n;
}

/* ------------------------------------------------------------------------ */
/* sizes from the config alone */

static int64_t qc(const EncoderConfig *c) { return (int64_t)c->dec.NH * c->dec.HD; }
static int64_t kc(const EncoderConfig *c) { return (int64_t)c->dec.NKV * c->dec.HD; }

static int64_t config_params(const EncoderConfig *c) {
    return (int64_t)c->V * c->C + c->L * llm_layer_param_count(&c->dec) + (c->dec_norm ? c->C : 0);
}

static int64_t config_pooler_params(const EncoderConfig *c) {
    (void)c;
    return 0;
}

static int64_t config_flops(const EncoderConfig *c, int T) {
    int64_t per = 2 * (int64_t)T * llm_layer_param_count(&c->dec) + 4 * (int64_t)T * T * qc(c);
    return c->L * per;
}

static int64_t config_lora_params(const EncoderConfig *c, int r) {
    return c->L * ((int64_t)r * 2 * c->C + (qc(c) + kc(c)) * r);
}

/* The embeddings and every layer's output, the final norm's, the backward's
 * two residual gradients; per layer kept, the layer's training workspace
 * (llm_layer_backward.c: its activations and scratch) and LoRA's. */
static int64_t config_act_floats(const EncoderConfig *c, int64_t B, int64_t T, int layers, int lora_r) {
    int64_t N = B * T, D = c->C, FF = c->FF, Q = qc(c), K = kc(c);
    int64_t layer = N * (10 * D + 6 * FF + 3 * Q + 4 * K + 4) + 2 * B * c->dec.NH * T * T + c->dec.HD / 2 +
                    (lora_r ? N * (3 * (int64_t)lora_r + D) : 0);
    return ((int64_t)c->L + 4) * N * D + N + layers * layer;
}

static int64_t config_grad_scratch_floats(const EncoderConfig *c, int64_t B, int64_t T, int lora_r) {
    (void)c, (void)B, (void)T, (void)lora_r; /* inside the layers' workspaces */
    return 0;
}

static int64_t config_widest(const EncoderConfig *c) {
    int64_t w = c->FF > qc(c) ? c->FF : qc(c);
    return w > c->C ? w : c->C;
}

static void config_int8(const EncoderConfig *c, unsigned parts, int64_t *n8, int64_t *rows) {
    (void)c, (void)parts;
    *n8 = *rows = 0;
}

static int quantize(Encoder *m, int embeddings, PifiErr *err) {
    (void)m, (void)embeddings;
    return pifi_errf(err, "int8: not supported by the decoder family (its layers stay fp32/bf16)");
}

static unsigned int8_parts(const Encoder *m) {
    (void)m;
    return 0;
}

const EncoderFamily ENCODER_FAMILY_DECODER = {
    .name = "decoder",
    .model_types = MODEL_TYPES,
    .checked = "transformers' LlamaModel/Qwen2Model on random configs (forward, gradients, LoRA, 10 Adam "
               "steps of base/pifi/lora); real weights: SmolLM2-135M-Instruct (Q4_1 GGUF), "
               "Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF, scripts/get-models.sh --qwen) against torch on the "
               "same dequantized weights",
    .default_pooling = POOL_LAST,
    .config_parse = decoder_config_parse,
    .config_params = config_params,
    .config_pooler_params = config_pooler_params,
    .config_flops = config_flops,
    .config_lora_params = config_lora_params,
    .config_act_floats = config_act_floats,
    .config_grad_scratch_floats = config_grad_scratch_floats,
    .config_widest = config_widest,
    .config_int8 = config_int8,
    .load = decoder_load,
    .free = decoder_free,
    .forward = decoder_forward,
    .output = decoder_output,
    .backward = decoder_backward,
    .tensors = decoder_tensors,
    .export_tensors = decoder_export,
    .quantize = quantize,
    .int8_parts = int8_parts,
    .lora_enable = decoder_lora_enable,
};
