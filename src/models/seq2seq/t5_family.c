/* t5_family.c: the T5 family's table (seq2seq_family.h): transformers'
 * T5ForConditionalGeneration, model_type "t5", v1.0 (relu, tied LM head
 * with the d_model^-0.5 rescale) and v1.1/FLAN (gated-gelu, untied); its
 * incremental decoder is t5_step.c. */
#include "models/seq2seq/t5_internal.h"

static const char *const T5_TYPES[] = {"t5", NULL};

const Seq2SeqFamily SEQ2SEQ_FAMILY_T5 = {
    .name = "t5",
    .model_types = T5_TYPES,
    .checked = "encoder output, logits and every parameter's gradient of the LM loss against transformers' "
               "T5ForConditionalGeneration (v1.0 and v1.1 configurations), 10 AdamW steps' losses; bf16 near them; "
               "dropout against central differences (tests/test_t5.c); incremental decoding's logits against the "
               "teacher-forced pass (tests/test_s2s_kvcache.c)",
    .config_parse = t5_config_parse,
    .load = t5_load,
    .init = t5_init,
    .free = t5_free,
    .tensors = t5_tensors,
    .encode = t5_encode,
    .encoder_output = t5_encoder_output,
    .decode = t5_decode,
    .logits = t5_logits,
    .decode_backward = t5_decode_backward,
    .encode_backward = t5_encode_backward,
    .decode_start = t5_decode_start,
    .decode_step = t5_decode_step,
};
