/* mpnet_family.c: the MPNet family's table (encoder_family.h): transformers'
 * MPNetModel (all-mpnet-base-v2 and the like). Its layers are BERT's
 * post-LayerNorm ones, so it runs on the BERT family's code (encoder.c,
 * encoder_backward.c, encoder_export.c, encoder_forms.c, encoder_lora.c):
 * load, forward, backward, export, int8 and LoRA (query and value) are
 * those, told apart by arch ENC_MPNET and its checkpoint names below. What
 * is MPNet's own: no token types, positions from padding_idx 1 + 1 (as
 * RoBERTa), and one relative position bias table (relb) shared by every
 * layer, added to the attention scores by bucket (mpnet_relbias.c), trained
 * like the other tensors; its config.json (mpnet_config.c). */
#include <stddef.h>

#include "models/encoders/encoder_family.h"
#include "models/encoders/encoder_internal.h"
#include "models/encoders/mpnet_internal.h"

static const char *const MODEL_TYPES[] = {"mpnet", NULL};

static const char *const PREFIXES[] = {"", "mpnet.", NULL};
const EncoderNames ENCODER_NAMES_MPNET = {
    .prefixes = PREFIXES,
    .prefix_list = "mpnet.",
    .layer = {"encoder.layer.", "."},
    .qkv = {"attention.attn.q", "attention.attn.k", "attention.attn.v"},
    .attproj = "attention.attn.o",
    .ln1 = "attention.LayerNorm",
    .fc = "intermediate.dense",
    .fcproj = "output.dense",
    .ln2 = "output.LayerNorm",
    .proj = "embeddings_project", /* never: E is C */
    .pooler = "pooler.dense",
};

/* The sizes count relb (rel_buckets x NH parameters, NH T T activations of
 * the bias) and the trainable tensors list it: bert_family.c's functions do
 * both. */
const EncoderFamily ENCODER_FAMILY_MPNET = {
    .name = "mpnet",
    .model_types = MODEL_TYPES,
    .checked = "transformers' MPNetModel on random configs (forward, gradients, 10 Adam steps); real "
               "weights: all-mpnet-base-v2 (scripts/get-models.sh --mpnet)",
    .config_parse = mpnet_config_parse,
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
