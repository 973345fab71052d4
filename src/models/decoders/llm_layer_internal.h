/* llm_layer_internal.h: what the LLM layer's files share: its tensors
 * (LlmTensorSpec, in Hugging Face naming), its arenas and forms, the
 * training-mode forwards. Nothing here knows a file format: llm_layer_load.c
 * reads checkpoints through llm_source.h and hands the values over. */
#ifndef PIFI_LLM_LAYER_INTERNAL_H
#define PIFI_LLM_LAYER_INTERNAL_H

#include "kernels/compute.h"
#include "pifi/dtype.h"
#include "pifi/llm_layer.h"

/* A matrix of the layer in every form it is held in (fp32, bf16, int8):
 * LLM_W(l, wq, sq). The bf16 copy is offered only in a bf16 context or when
 * it is all there is. */
static inline LinearW llm_w(const LlmLayer *l, const float *f, const uint16_t *h, const int8_t *q,
                            const float *s) {
    LinearW w = {f, compute_bf16(l->cx) || !f ? h : NULL, q, s};
    return w;
}
#define LLM_W(l, w, s) llm_w((l), (l)->p.w, (l)->w16.w, (l)->q8.w, (l)->q8.s)

/* Before a forward: bf16 copies refreshed if the weights changed, scratch
 * for products of N rows reserved in the compute context. */
int llm_layer_prepare(LlmLayer *l, size_t N, PifiErr *err);

/* The weights of one layer, in HF naming (relative to "model.layers.N."),
 * with their shape and where they go. */
typedef struct {
    const char *name;  /* e.g. "self_attn.q_proj.weight" */
    int ndim;
    int64_t shape[2];
    float **dst;       /* field of LlmLayerParams */
    int required;
} LlmTensorSpec;

/* The most tensors a layer has (llm_layer_specs' `max`). */
#define LLM_LAYER_MAX_SPECS 18

/* The tensors this layer needs (pooled_only drops q/k). Returns the count. */
int llm_layer_specs(const LlmConfig *c, LlmLayerParams *p, int pooled_only, LlmTensorSpec *out, int max);

/* Allocate the arena for the specs and point the fields into it. */
int llm_layer_alloc(LlmLayer *l, LlmTensorSpec *specs, int n, PifiErr *err);

/* Training-mode forwards (llm_layer_backward.c): llm_layer_forward_pooled
 * and _seq hand over to these when l->train is set. */
int llm_layer_forward_pooled_train(LlmLayer *l, float *out, const float *x, int B, PifiErr *err);
int llm_layer_forward_seq_train(LlmLayer *l, float *out, const float *x, const int32_t *mask, int B, int T,
                                int causal, PifiErr *err);

/* LoRA's branch of q_proj (v = 0) or v_proj (v = 1) (llm_layer_lora.c):
 * y (N, cols) += scale (drop(n) A^T) B^T for the layer's normed input n
 * (N = B T rows, D wide), saving u (N, r) = drop(n) A^T; xd (N, D) scratch
 * for the dropped input when p > 0 (the dropout in effect: 0 in eval). */
void llm_lora_forward(const LlmLora *lo, int v, float *y, int cols, const float *n, float *u, float *xd, float p,
                      int B, int T, int D);
/* Its backward from dy (N, cols): the adapters' gradients (lo's g* fields,
 * NULL: skipped) ACCUMULATED, dn (N, D) += the branch's share of dL/dn; du
 * (N, r) and xd (N, D) scratch. */
void llm_lora_backward(const LlmLora *lo, int v, const float *dy, int cols, const float *n, const float *u,
                       float *du, float *xd, float *dn, float p, int B, int T, int D);

/* One tensor's values as a checkpoint holds them (shape: its spec's; checked
 * by the loader): dtype and data (any alignment), and for an int8 matrix
 * its F32 scales, one per row, checked positive and finite. */
typedef struct {
    PifiDType dtype;
    const void *data;
    const void *scale;
} LlmRawTensor;

/* The tensors of specs (raw[i] the values of specs[i]) straight into a
 * frozen bf16-only layer (llm_layer_forms.c), hashing the fp32 values as
 * llm_layer_weights_sha256 would. */
int llm_layer_load_bf16(LlmLayer *l, LlmTensorSpec *specs, const LlmRawTensor *raw, int n, PifiErr *err);

/* The same from an int8 checkpoint (llm_layer_int8_tensors): the matrices
 * I8 with their scales, straight into an int8-only layer (no fp32 or bf16
 * copy of them is ever allocated), the vectors fp32; the hash is of what
 * was read (llm_layer.h). */
int llm_layer_load_int8(LlmLayer *l, LlmTensorSpec *specs, const LlmRawTensor *raw, int n, PifiErr *err);

/* A weight arena of n bytes, counted in l->weight_bytes_allocated. */
static inline void *llm_weights_alloc(LlmLayer *l, size_t n, PifiErr *err) {
    void *p = pifi_malloc(n, err);
    if (p) l->weight_bytes_allocated += n;
    return p;
}

#endif
