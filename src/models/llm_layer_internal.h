/* llm_layer_internal.h: what the HF and GGUF loaders of an LLM layer share. */
#ifndef PIFI_LLM_LAYER_INTERNAL_H
#define PIFI_LLM_LAYER_INTERNAL_H

#include "pifi/llm_layer.h"

/* The weights of one layer, in HF naming (relative to "model.layers.N."),
 * with their shape and where they go. */
typedef struct {
    const char *name;  /* e.g. "self_attn.q_proj.weight" */
    int ndim;
    int64_t shape[2];
    float **dst;       /* field of LlmLayerParams */
    int required;
} LlmTensorSpec;

/* The tensors this layer needs (pooled_only drops q/k). Returns the count. */
int llm_layer_specs(const LlmConfig *c, LlmLayerParams *p, int pooled_only, LlmTensorSpec *out, int max);

/* Allocate the arena for the specs and point the fields into it. */
int llm_layer_alloc(LlmLayer *l, LlmTensorSpec *specs, int n, PifiErr *err);

/* Resolve a possibly negative layer index against num_layers. */
int llm_resolve_layer(int layer, int num_layers, const char *path, int *out, PifiErr *err);

/* Training-mode forwards (llm_layer_backward.c): llm_layer_forward_pooled
 * and _seq hand over to these when l->train is set. */
int llm_layer_forward_pooled_train(LlmLayer *l, float *out, const float *x, int B, PifiErr *err);
int llm_layer_forward_seq_train(LlmLayer *l, float *out, const float *x, const int32_t *mask, int B, int T,
                                int causal, PifiErr *err);

int llm_config_from_gguf_file(LlmConfig *c, const char *path, PifiErr *err);
int llm_layer_load_gguf(LlmLayer *l, const char *path, int layer, int pooled_only, PifiErr *err);

#endif
