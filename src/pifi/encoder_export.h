/* encoder_export.h: an encoder's weights as Hugging Face-named tensors for
 * st_write (views into the parameter arena, nothing copied). */
#ifndef PIFI_ENCODER_EXPORT_H
#define PIFI_ENCODER_EXPORT_H

#include "pifi/encoder.h"
#include "pifi/safetensors.h"

#define ENCODER_EXPORT_MAX 1024

typedef struct {
    char prefix[32];
    int n;
    StWriteTensor t[ENCODER_EXPORT_MAX];
    char names[ENCODER_EXPORT_MAX][160];
} EncoderExport;

/* Fill x with every parameter (pooler included when loaded), names prefixed
 * by prefix ("" for the bare model's names). A tensor the encoder holds in
 * int8 (encoder_quantize, or loaded so) goes out in that form: I8 plus an
 * F32 "<name>_scale" (rows), which encoder_load reads back. x is large:
 * allocate it. */
int encoder_export(const Encoder *m, const char *prefix, EncoderExport *x, PifiErr *err);

/* encoder_export with the LoRA adapters (when enabled) folded into the
 * weights they adapt: a plain checkpoint that transformers loads. *keep:
 * memory some views point into (the merged weights), NULL when none; the
 * caller frees it once x is written. */
int encoder_export_merged(const Encoder *m, const char *prefix, EncoderExport *x, float **keep, PifiErr *err);

/* The BERT family's packed query|key|value weights (L, 3C, C) with the LoRA adapters folded
 * in (W + alpha/r B A for query and value), written to out; the model is not
 * changed. Without LoRA, a copy. */
void encoder_lora_merged_qkv(const Encoder *m, float *out);

#endif
