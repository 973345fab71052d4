/* llm_arch.c: the table of decoder architectures (llm_arch.h). */
#include "models/decoders/llm_arch.h"

#include <stdio.h>
#include <string.h>

static const LlmArchInfo ARCHS[] = {
    {LLM_LLAMA, "llama", "llama", LLM_ARCH_GGUF_PERMUTED_QK,
     "transformers' LlamaDecoderLayer on random configs incl. llama3 rope scaling, HF and GGUF f32/q8_0 "
     "(forward, gradients, 10 Adam steps); real checkpoints read: SmolLM2-135M (Q4_1 GGUF), stories260K"},
    {LLM_MISTRAL, "mistral", NULL, 0, "transformers' MistralDecoderLayer on random configs (forward)"},
    {LLM_QWEN2, "qwen2", "qwen2", LLM_ARCH_QKV_BIAS | LLM_ARCH_SW_OPT_IN,
     "transformers' Qwen2DecoderLayer on random configs (forward, gradients, 10 Adam steps)"},
    {LLM_GEMMA2, "gemma2", "gemma2", LLM_ARCH_SANDWICH,
     "transformers' Gemma2DecoderLayer on random configs (forward, gradients, 10 Adam steps)"},
    {LLM_GEMMA3, "gemma3_text", "gemma3", LLM_ARCH_SANDWICH | LLM_ARCH_QK_NORM | LLM_ARCH_LAYER_TYPES,
     "transformers' Gemma3DecoderLayer on random configs, a sliding and a full layer (forward, "
     "gradients); real checkpoint read: Gemma-3-270M (Q4_K_M GGUF: Q4_K, Q5_0, Q6_K, Q8_0)"},
};
enum { N_ARCHS = sizeof ARCHS / sizeof ARCHS[0] };

int llm_arch_count(void) { return N_ARCHS; }
const LlmArchInfo *llm_arch_row(int i) { return i >= 0 && i < N_ARCHS ? &ARCHS[i] : NULL; }

const LlmArchInfo *llm_arch_info(LlmArch a) {
    for (int i = 0; i < N_ARCHS; i++)
        if (ARCHS[i].arch == a) return &ARCHS[i];
    return &ARCHS[0]; /* an LlmArch out of range is a bug: read as llama, never crash */
}

const char *llm_arch_name(LlmArch a) {
    for (int i = 0; i < N_ARCHS; i++)
        if (ARCHS[i].arch == a) return ARCHS[i].model_type;
    return "?";
}

const LlmArchInfo *llm_arch_by_model_type(const char *model_type) {
    for (int i = 0; i < N_ARCHS; i++)
        if (!strcmp(ARCHS[i].model_type, model_type)) return &ARCHS[i];
    return NULL;
}

const LlmArchInfo *llm_arch_by_gguf(const char *name) {
    for (int i = 0; i < N_ARCHS; i++)
        if (ARCHS[i].gguf && !strcmp(ARCHS[i].gguf, name)) return &ARCHS[i];
    return NULL;
}

void llm_arch_list(int gguf, char *buf, size_t n) {
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < N_ARCHS && used < n; i++) {
        const char *name = gguf ? ARCHS[i].gguf : ARCHS[i].model_type;
        if (!name) continue;
        int k = snprintf(buf + used, n - used, "%s%s", used ? ", " : "", name);
        if (k < 0) return;
        used += (size_t)k;
    }
}
