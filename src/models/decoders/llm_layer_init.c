/* llm_layer_init.c: random re-initialisation of a loaded LLM layer, as
 * transformers' PreTrainedModel._init_weights does for Llama, Mistral, Qwen2
 * and Gemma2 (transformers 5.x): nn.Linear weights ~ N(0, initializer_range),
 * their biases 0; RMSNorm weights 1, except Gemma2's, which are used as
 * (1 + w) and set to 0 (Gemma2PreTrainedModel._init_weights). The paper's
 * "pifi-random" ablation: the layer's architecture without its knowledge. */
#include <stdio.h>
#include <string.h>

#include "core/rng.h"
#include "models/decoders/llm_arch.h"
#include "models/decoders/llm_layer_internal.h"

/* FNV-1a: a tensor's name -> its random stream. */
static uint64_t name_stream(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

int llm_layer_init_random(LlmLayer *l, uint64_t seed, PifiErr *err) {
    const LlmConfig *c = &l->cfg;
    if (!l->mem) return pifi_errf(err, "LLM layer: not loaded, nothing to initialise");
    float std = c->initializer_range > 0.0f ? c->initializer_range : 0.02f; /* as `range or 0.02` */
    float norm_value = LLM_ARCH_HAS(c, LLM_ARCH_SANDWICH) ? 0.0f : 1.0f; /* Gemma's norms hold w of (1 + w) */
    LlmTensorSpec specs[LLM_LAYER_MAX_SPECS];
    int n = llm_layer_specs(c, &l->p, l->pooled_only, specs, LLM_LAYER_MAX_SPECS);
    for (int i = 0; i < n; i++) {
        float *w = *specs[i].dst;
        size_t count = (size_t)specs[i].shape[0] * (specs[i].ndim == 2 ? (size_t)specs[i].shape[1] : 1);
        if (!w) return pifi_errf(err, "LLM layer %d: tensor %s is not loaded", l->layer, specs[i].name);
        if (specs[i].ndim == 2) {
            char name[256];
            snprintf(name, sizeof name, "model.layers.%d.%s", l->layer, specs[i].name);
            uint64_t stream = name_stream(name);
#pragma omp parallel for
            for (size_t j = 0; j < count; j++) w[j] = std * rng_normal(seed, stream, j);
        } else {
            float value = strstr(specs[i].name, "norm") ? norm_value : 0.0f; /* norm or bias */
            for (size_t j = 0; j < count; j++) w[j] = value;
        }
    }
    l->saved = 0; /* activations of the old weights */
    return 0;
}
