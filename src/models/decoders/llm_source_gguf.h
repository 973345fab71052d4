/* llm_source_gguf.h: the GGUF side of llm_source.c (llm_source_gguf.c). */
#ifndef PIFI_LLM_SOURCE_GGUF_H
#define PIFI_LLM_SOURCE_GGUF_H

#include "models/decoders/llm_source.h"
#include "pifi/gguf.h"

/* LlmConfig from GGUF metadata (rope_freqs.weight included). */
int llm_gguf_config(LlmConfig *c, const GgufFile *g, PifiErr *err);

/* The view of canonical tensor name (llm_source_tensor; shape NULL:
 * llm_source_find, 1 when missing). */
int llm_gguf_tensor(const GgufFile *g, const LlmConfig *c, const char *name, int ndim, const int64_t *shape,
                    LlmTensorView *v, PifiErr *err);

/* v's values dequantized into dst in HF layout. */
int llm_gguf_read_f32(const LlmConfig *c, const LlmTensorView *v, float *dst, PifiErr *err);

#endif
