/* bert_family.c: the BERT family's table (encoder_family.h): BERT, RoBERTa,
 * ELECTRA discriminator and BERT-architecture models such as MiniLM, their
 * differences (RoBERTa's positions from padding_idx + 1, ELECTRA's E -> C
 * projection, checkpoint prefixes) kept inside the family's files; here the
 * trainable tensors, what is int8, and the sizes read off a config alone. */
#include <stddef.h>

#include "models/encoders/encoder_family.h"
#include "models/encoders/encoder_internal.h"

static const char *const MODEL_TYPES[] = {"bert", "roberta", "electra", NULL};

static const char *const PREFIXES[] = {"", "bert.", "roberta.", "electra.", NULL};
const EncoderNames ENCODER_NAMES_BERT = {
    .prefixes = PREFIXES,
    .prefix_list = "bert./roberta./electra.",
    .layer = {"encoder.layer.", "."},
    .qkv = {"attention.self.query", "attention.self.key", "attention.self.value"},
    .attproj = "attention.output.dense",
    .ln1 = "attention.output.LayerNorm",
    .fc = "intermediate.dense",
    .fcproj = "output.dense",
    .ln2 = "output.LayerNorm",
    .proj = "embeddings_project",
    .pooler = "pooler.dense",
};

/* In the order of point_params (encoder.c), so the rows cover param_mem.
 * relb: MPNet's (the mpnet family shares this table), absent here.
 * ALBERT's one shared layer (LW = 1) is not per_layer: its gradient is
 * final only after the last layer's backward (layer 0). */
int bert_tensors(const Encoder *m, EncoderTensor *rows, int cap) {
    const EncoderParams *p = &m->params;
    const EncoderConfig *c = &m->cfg;
    int64_t C = c->C, E = c->E, L = enc_weight_layers(c), FF = c->FF;
    int pl = L == c->L; /* per_layer */
    const EncoderTensor f[] = {
        {"wte", p->wte, (int64_t)c->V * E, 1, 0, 0},       {"wpe", p->wpe, (int64_t)c->maxT * E, 1, 0, 0},
        {"wtt", p->wtt, (int64_t)c->TV * E, 1, 0, 0},      {"emb_lnw", p->emb_lnw, E, 0, 0, 0},
        {"emb_lnb", p->emb_lnb, E, 0, 0, 0},               {"projw", p->projw, p->projw ? C * E : 0, 1, 0, 0},
        {"projb", p->projb, p->projb ? C : 0, 0, 0, 0},    {"qkvw", p->qkvw, L * 3 * C * C, 1, 0, pl},
        {"qkvb", p->qkvb, L * 3 * C, 0, 0, pl},            {"attprojw", p->attprojw, L * C * C, 1, 0, pl},
        {"attprojb", p->attprojb, L * C, 0, 0, pl},        {"ln1w", p->ln1w, L * C, 0, 0, pl},
        {"ln1b", p->ln1b, L * C, 0, 0, pl},                {"fcw", p->fcw, L * FF * C, 1, 0, pl},
        {"fcb", p->fcb, L * FF, 0, 0, pl},                 {"fcprojw", p->fcprojw, L * C * FF, 1, 0, pl},
        {"fcprojb", p->fcprojb, L * C, 0, 0, pl},          {"ln2w", p->ln2w, L * C, 0, 0, pl},
        {"ln2b", p->ln2b, L * C, 0, 0, pl},
        {"relb", p->relb, p->relb ? (int64_t)c->rel_buckets * c->NH : 0, 1, 0, 0},
        {"poolw", p->poolw, p->poolw ? C * C : 0, 1, 1, 0},
        {"poolb", p->poolb, p->poolb ? C : 0, 0, 1, 0},
    };
    int n = 0;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (!f[i].n) continue;
        if (n >= cap) return -1;
        rows[n++] = f[i];
    }
    return n;
}

unsigned bert_int8_parts(const Encoder *m) {
    return (m->q8.qkvw ? ENCODER_INT8_LINEAR : 0u) | (m->q8.wte ? ENCODER_INT8_EMBEDDINGS : 0u);
}

/* ------------------------------------------------------------------------ */
/* sizes from the config alone (MPNet's relative position bias included: 0
 * rows here; ALBERT's layers one layer of weights) */

int64_t bert_config_params(const EncoderConfig *c) {
    int64_t C = c->C, E = c->E, FF = c->FF;
    int64_t emb = ((int64_t)c->V + c->maxT + c->TV) * E + 2 * E + (enc_has_proj(c) ? C * E + C : 0);
    int64_t layer = 4 * C * C + 4 * C + 2 * C * FF + FF + C + 4 * C;
    return emb + enc_weight_layers(c) * layer + (int64_t)c->rel_buckets * c->NH;
}

int64_t bert_config_pooler_params(const EncoderConfig *c) { return (int64_t)c->C * c->C + c->C; }

int64_t bert_config_flops(const EncoderConfig *c, int T) {
    int64_t C = c->C, FF = c->FF;
    int64_t per_layer = 2 * (int64_t)T * (4 * C * C + 2 * C * FF) + 4 * (int64_t)T * T * C;
    int64_t proj = enc_has_proj(c) ? 2 * (int64_t)T * c->E * C : 0;
    return c->L * per_layer + proj;
}

/* rank-r adapters on every layer's query and value (ALBERT: the shared layer's): A (r, C) and B (C, r) each */
int64_t bert_config_lora_params(const EncoderConfig *c, int r) {
    return (int64_t)enc_weight_layers(c) * 2 * r * 2 * c->C;
}

int64_t bert_config_act_floats(const EncoderConfig *c, int64_t B, int64_t T, int layers, int lora_r) {
    int64_t BT = B * T, C = c->C, E = c->E, FF = c->FF, NH = c->NH, L = layers;
    /* per layer: qkv, res1, ln1, res2, ln2, fch, 4 statistics; one layer's probabilities, attention
     * output and activation output (encoder_backward.c recomputes the others'); MPNet's bias */
    return BT * (2 * E + 2 + (enc_has_proj(c) ? C : 0)) + L * BT * (7 * C + FF + 4) + BT * (C + FF) + B * NH * T * T +
           B * NH * T * T /* attention dropout */ + BT * E + (int64_t)c->L * 2 * BT * lora_r + BT * C +
           (c->rel_buckets ? NH * T * T : 0);
}

int64_t bert_config_grad_scratch_floats(const EncoderConfig *c, int64_t B, int64_t T, int lora_r) {
    int64_t BT = B * T, C = c->C, CE = c->C > c->E ? c->C : c->E;
    return BT * (4 * CE + c->FF + 3 * C + lora_r) + B * c->NH * T * T;
}

int64_t bert_config_widest(const EncoderConfig *c) { return c->FF > 3 * c->C ? c->FF : 3 * c->C; }

void bert_config_int8(const EncoderConfig *c, unsigned parts, int64_t *n8, int64_t *rows) {
    int64_t C = c->C, L = enc_weight_layers(c), FF = c->FF;
    *n8 = *rows = 0;
    if (parts & ENCODER_INT8_LINEAR) *n8 += L * (4 * C * C + 2 * C * FF), *rows += L * (5 * C + FF);
    if (parts & ENCODER_INT8_EMBEDDINGS) *n8 += (int64_t)c->V * c->E, *rows += c->V;
}

const EncoderFamily ENCODER_FAMILY_BERT = {
    .name = "bert",
    .model_types = MODEL_TYPES,
    .checked = "transformers' BertModel/RobertaModel/ElectraModel on random configs (forward, gradients, "
               "10 Adam steps); real weights: all-MiniLM-L6-v2 (safetensors and GGUF)",
    .config_parse = bert_config_parse,
    .config_params = bert_config_params,
    .config_pooler_params = bert_config_pooler_params,
    .config_flops = bert_config_flops,
    .config_lora_params = bert_config_lora_params,
    .config_act_floats = bert_config_act_floats,
    .config_grad_scratch_floats = bert_config_grad_scratch_floats,
    .config_widest = bert_config_widest,
    .config_int8 = bert_config_int8,
    .load = bert_load,
    .free = bert_free,
    .forward = bert_forward,
    .output = bert_output,
    .backward = bert_backward_mem,
    .tensors = bert_tensors,
    .export_tensors = bert_export,
    .quantize = bert_quantize,
    .int8_parts = bert_int8_parts,
    .lora_enable = bert_lora_enable,
};
