/* decoder_internal.h: the decoder family's internal header (decoder_*.c): a
 * decoder-only language model (Llama, Qwen2, ... as transformers' AutoModel:
 * LlamaModel, Qwen2Model) used as the SLM, its weights read from an HF
 * directory or a GGUF file through the LLM checkpoint source
 * (models/decoders/llm_source.h):
 *
 *   x = wte[ids]  (B, T, C)
 *   L x { x = LlmLayer(x, causal, key padding mask) }   (models/decoders/llm_layer*.c)
 *   out = RMSNorm(x) * norm  = last_hidden_state        (not in llm-layer-only's form)
 *
 * Parameters, one arena (Encoder.param_mem), in this order: wte (V, C), then
 * each of a layer's tensors (llm_layer_specs' order) stacked over the L
 * layers, (L, ...), then norm (C). Each layer is an LlmLayer whose weight
 * pointers point into that arena (it owns only its workspace), so the
 * layer's own forward and backward run on it; a gradient sits at the same
 * offset of the gradient arena as its weight in param_mem. LoRA adapters
 * (q_proj and v_proj of every layer) in Encoder.lora_mem, per layer q A, q B,
 * v A, v B. */
#ifndef PIFI_DECODER_INTERNAL_H
#define PIFI_DECODER_INTERNAL_H

#include <stdint.h>

#include "pifi/encoder.h"
#include "pifi/encoder_export.h"
#include "pifi/json.h"
#include "pifi/llm_layer.h"

/* The family's own state (Encoder.priv). */
typedef struct {
    LlmLayer *layers;   /* (L) weights in m->param_mem; each its own workspace (activations) */
    LlmLora *lora;      /* (L) adapters in m->lora_mem, NULL without LoRA */
    float *wte;         /* (V, C) model.embed_tokens.weight */
    float *norm;        /* (C) model.norm.weight, NULL when not applied */
    /* activations of the last forward */
    float *x;           /* (L + 1, B, T, C) the embeddings, then each layer's output */
    float *out;         /* (B, T, C) last_hidden_state */
    float *rstd;        /* (B, T) the final norm's */
    float *g0, *g1;     /* (B, T, C) the backward's residual gradients */
    size_t cap;         /* floats allocated at x */
    int32_t *ids;       /* (B, T) the last forward's ids, then its mask (B, T) */
    int32_t *mask;
    size_t ids_cap;     /* B T of ids' allocation */
} Decoder;

static inline Decoder *decoder_of(const Encoder *m) { return (Decoder *)m->priv; }

/* The table's entries. decoder_config.c: */
int decoder_config_parse(EncoderConfig *cfg, const cJSON *root, const char *path, PifiErr *err);
/* A GGUF file's config (general.architecture one of llm_arch.c's). */
int decoder_gguf_config(EncoderConfig *cfg, const char *path, PifiErr *err);
/* The config as an HF config.json (LlamaConfig / Qwen2Config) that
 * decoder_config_parse reads back: a GGUF's, or llm-layer-only's one layer. */
cJSON *decoder_config_json(const EncoderConfig *cfg);
/* decoder_model.c: */
int decoder_load(Encoder *m, const char *path, PifiErr *err);
void decoder_free(Encoder *m);
int decoder_forward(Encoder *m, const int32_t *ids, const int32_t *type_ids, const int32_t *mask, int B, int T,
                    PifiErr *err);
const float *decoder_output(const Encoder *m);
int decoder_backward(Encoder *m, float *grads, float *lora_grads, const float *dout, PifiErr *err);
/* decoder_export.c: */
int decoder_export(const Encoder *m, const char *prefix, int merge_lora, EncoderExport *x, float **keep,
                   PifiErr *err);
int decoder_lora_enable(Encoder *m, int r, float alpha, float dropout, uint64_t seed, PifiErr *err);
/* decoder_family.c: */
int decoder_tensors(const Encoder *m, EncoderTensor *rows, int cap);

#endif
