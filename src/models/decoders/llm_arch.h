/* llm_arch.h: the decoder architectures a plugged layer can come from, one
 * row each in llm_arch.c's table: the names config.json and GGUF files give
 * it and what sets it apart from Llama's layer. Adding an architecture is a
 * row here (and, for what no flag describes yet, a flag and the code that
 * reads it in the layer's files). */
#ifndef PIFI_LLM_ARCH_H
#define PIFI_LLM_ARCH_H

#include <stddef.h>

#include "pifi/llm_layer.h"

enum {
    LLM_ARCH_QKV_BIAS = 1u << 0,   /* q/k/v projections always biased; attention_bias is not read (Qwen2) */
    LLM_ARCH_SANDWICH = 1u << 1,   /* four norms stored as (1 + w), query_pre_attn_scalar, logit
                                      softcapping, gelu_pytorch_tanh read as hidden_activation (Gemma2) */
    LLM_ARCH_SW_OPT_IN = 1u << 2,  /* a sliding window only with use_sliding_window (Qwen2) */
    LLM_ARCH_GGUF_PERMUTED_QK = 1u << 3, /* GGUF stores Q and K rows permuted for its RoPE (llama.cpp's llama) */
    LLM_ARCH_QK_NORM = 1u << 4,    /* q_norm / k_norm: an RMSNorm of each q and k head before RoPE (Gemma3) */
    LLM_ARCH_LAYER_TYPES = 1u << 5, /* sliding and full attention layers (layer_types or
                                       sliding_window_pattern), each with its own RoPE; attention
                                       softcapping absent (null) by default (Gemma3) */
};

/* The architecture's LLM_ARCH_* flag f is set. */
#define LLM_ARCH_HAS(c, f) ((llm_arch_info((c)->arch)->flags & (f)) != 0)

typedef struct {
    LlmArch arch;
    const char *model_type; /* config.json's model_type */
    const char *gguf;       /* GGUF's general.architecture; NULL: not read from GGUF */
    unsigned flags;         /* LLM_ARCH_* */
    const char *checked;    /* how its layer's numbers are checked, one line (`pifi info --models`) */
} LlmArchInfo;

/* The table's rows, i in [0, llm_arch_count()). */
int llm_arch_count(void);
const LlmArchInfo *llm_arch_row(int i);

/* The row of an architecture (never NULL for a valid LlmArch). */
const LlmArchInfo *llm_arch_info(LlmArch a);
/* The row of a config.json model_type / a GGUF architecture; NULL if none. */
const LlmArchInfo *llm_arch_by_model_type(const char *model_type);
const LlmArchInfo *llm_arch_by_gguf(const char *name);
/* "llama, mistral, qwen2, gemma2, gemma3_text": the model types (gguf = 0) or the GGUF
 * architectures (gguf = 1) the table reads, into buf. */
void llm_arch_list(int gguf, char *buf, size_t n);

#endif
