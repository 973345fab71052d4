/* deberta_family.c: the DeBERTa family's table (encoder_family.h):
 * transformers' DebertaModel ("deberta") and DebertaV2Model ("deberta-v2":
 * DeBERTa-V2 and V3). Its own files: config.json (deberta_config.c), the
 * parameter layout and loading (deberta_load.c), the forward
 * (deberta_forward.c) and backward (deberta_backward.c) around the
 * disentangled attention (deberta_attention.c), the export
 * (deberta_export.c) and LoRA on query_proj / value_proj (deberta_lora.c).
 * Here: the trainable tensors, the sizes read off a config alone, and what
 * the family lacks (no pooler; no int8 form), each an error of its own. */
#include <stddef.h>

#include "models/encoders/deberta_internal.h"
#include "models/encoders/encoder_family.h"

static const char *const MODEL_TYPES[] = {"deberta", "deberta-v2", NULL};

/* In arena order (deberta_layout), so the rows cover param_mem. */
int deberta_tensors(const Encoder *m, EncoderTensor *rows, int cap) {
    DebertaParams p;
    DebertaTensor t[DEBERTA_TENSORS];
    deberta_layout(&m->cfg, &p, m->param_mem, t);
    int n = 0;
    for (int i = 0; i < DEBERTA_TENSORS; i++) {
        if (!t[i].n) continue;
        if (n >= cap) return -1;
        rows[n++] = (EncoderTensor){t[i].name, *t[i].ptr, t[i].n, t[i].decay, 0, t[i].per_layer};
    }
    return n;
}

int64_t deberta_config_params(const EncoderConfig *c) {
    DebertaParams p;
    return deberta_layout(c, &p, NULL, NULL);
}

static int64_t pooler_params(const EncoderConfig *c) {
    (void)c;
    return 0; /* DebertaModel has no pooler */
}

static int64_t flops(const EncoderConfig *c, int T) {
    int64_t C = c->C, FF = c->FF, R = 2 * (int64_t)T;
    int np = c->deberta.relative ? c->deberta.c2p + c->deberta.p2c : 0;
    int64_t per_layer = 2 * (int64_t)T * (4 * C * C + 2 * C * FF) + 4 * (int64_t)T * T * C +
                        np * (2 * R * C * C + 2 * (int64_t)T * R * C);
    return c->L * per_layer + (c->E != c->C ? 2 * (int64_t)T * c->E * C : 0);
}

static int64_t lora_params(const EncoderConfig *c, int r) {
    return c->deberta.version == 1 ? 0 : (int64_t)c->L * 2 * r * 2 * c->C;
}

static int64_t widest(const EncoderConfig *c) {
    int64_t w = c->FF > 3 * c->C ? c->FF : 3 * c->C;
    return w > c->E ? w : c->E;
}

static void config_int8(const EncoderConfig *c, unsigned parts, int64_t *n8, int64_t *rows) {
    (void)c, (void)parts;
    *n8 = *rows = 0; /* no int8 form (deberta_quantize refuses) */
}

static int quantize(Encoder *m, int embeddings, PifiErr *err) {
    (void)m, (void)embeddings;
    return pifi_errf(err, "encoder: int8 quantization is not supported by the deberta family (its weights stay fp32)");
}

static unsigned int8_parts(const Encoder *m) {
    (void)m;
    return 0;
}

const EncoderFamily ENCODER_FAMILY_DEBERTA = {
    .name = "deberta",
    .model_types = MODEL_TYPES,
    .checked = "transformers' DebertaModel/DebertaV2Model on random v1, v2 and v3-like configs, V2's ConvLayer too (forward, "
               "gradients, 10 Adam steps base/pifi/lora); no real weights here",
    .config_parse = deberta_config_parse,
    .config_params = deberta_config_params,
    .config_pooler_params = pooler_params,
    .config_flops = flops,
    .config_lora_params = lora_params,
    .config_act_floats = deberta_config_act_floats,
    .config_grad_scratch_floats = deberta_config_grad_scratch_floats,
    .config_widest = widest,
    .config_int8 = config_int8,
    .load = deberta_load,
    .free = deberta_free,
    .forward = deberta_forward,
    .output = deberta_output,
    .backward = deberta_backward,
    .tensors = deberta_tensors,
    .export_tensors = deberta_export,
    .quantize = quantize,
    .int8_parts = int8_parts,
    .lora_enable = deberta_lora_enable,
};
