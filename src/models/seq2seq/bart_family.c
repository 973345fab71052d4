/* bart_family.c: the BART family's table (seq2seq_family.h): transformers'
 * BartForConditionalGeneration, model_type "bart". Its files: config.json
 * (bart_config.c), the parameter layout, loading and the tensor table
 * (bart_load.c), the passes (bart_forward.c), their backwards
 * (bart_backward.c), the attention core (bart_attention.c), incremental
 * decoding (bart_step.c), what they share (bart_internal.h). */
#include <stddef.h>

#include "models/seq2seq/bart_internal.h"

static const char *const MODEL_TYPES[] = {"bart", NULL};

const Seq2SeqFamily SEQ2SEQ_FAMILY_BART = {
    .name = "bart",
    .model_types = MODEL_TYPES,
    .checked = "transformers' BartForConditionalGeneration on random configs (gelu/relu/silu, 1-4 heads, scaled and unscaled "
               "embeddings, source padding): encoder output, logits, every gradient of the loss, 10 AdamW steps; "
               "dropout against central differences; incremental decoding's logits against the teacher-forced pass "
               "(tests/test_s2s_kvcache.c); no real weights here",
    .config_parse = bart_config_parse,
    .load = bart_load,
    .init = bart_init,
    .free = bart_free,
    .tensors = bart_tensors,
    .encode = bart_encode,
    .encoder_output = bart_encoder_output,
    .decode = bart_decode,
    .logits = bart_logits,
    .decode_backward = bart_decode_backward,
    .encode_backward = bart_encode_backward,
    .decode_start = bart_decode_start,
    .decode_step = bart_decode_step,
};
