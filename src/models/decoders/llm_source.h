/* llm_source.h: an LLM checkpoint as a config and tensor views: the one
 * place that knows the file formats of LLM checkpoints.
 *
 *   HF directory  config.json (transformers 4 and 5 rope keys, llm_config.c)
 *                 + model.safetensors or a sharded model.safetensors.index.json
 *                 (shards opened lazily), including pifi's own checkpoints:
 *                 `pifi extract` outputs (config "pifi_extract", the layer they
 *                 hold; from GGUF also "model.rope_freqs") and int8 ones (I8
 *                 matrices + "<name>_scale")
 *   GGUF file     metadata -> config; "blk.N.*" tensors named back to HF names,
 *                 dequantized to F32, Q/K rows un-permuted (llama), Gemma's
 *                 stored (1 + w) norms turned back into w (llm_source_gguf.c)
 *
 * Tensors are named canonically, as Hugging Face does:
 * "model.layers.<k>.self_attn.q_proj.weight" (LlmTensorSpec names after
 * "model.layers.<k>."). src/io/ (safetensors*.c, gguf.c) are the parsers
 * underneath. */
#ifndef PIFI_LLM_SOURCE_H
#define PIFI_LLM_SOURCE_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "pifi/dtype.h"
#include "pifi/err.h"
#include "pifi/llm_layer.h"

typedef struct LlmSource LlmSource;

typedef enum { LLM_SOURCE_HF, LLM_SOURCE_GGUF } LlmSourceKind;

/* One tensor of a source in canonical naming and layout. data points into
 * the mapped file (HF; valid until llm_source_close), or is NULL until
 * llm_source_data dequantizes the tensor into a buffer of the view's own
 * (GGUF), which llm_source_release frees. */
typedef struct {
    char name[192];       /* canonical: "model.layers.3.mlp.up_proj.weight" */
    PifiDType dtype;      /* as stored (HF), F32 (GGUF, after dequantization) */
    int ndim;
    int64_t shape[4];     /* PyTorch order: (rows, cols) */
    int64_t numel;
    uint64_t nbytes;      /* numel * size of dtype */
    const void *data;
    const char *file;     /* the file it lives in, for messages */
    const void *impl;     /* the format's own handle of the tensor */
    void *owned;          /* the dequantized values (llm_source_data), else NULL */
} LlmTensorView;

/* Open the checkpoint at path (a directory or a .gguf file) and read its
 * config; tensor files are opened at the first tensor asked for. */
int llm_source_open(LlmSource **out, const char *path, PifiErr *err);
void llm_source_close(LlmSource *s);

LlmSourceKind llm_source_kind(const LlmSource *s);
const char *llm_source_path(const LlmSource *s);
const LlmConfig *llm_source_config(const LlmSource *s);

/* Whether the directory is a `pifi extract` (or int8 run) output. */
int llm_source_is_extract(const LlmSource *s);

/* The layer to load for a request (negative counts from the end; INT32_MIN:
 * the one a `pifi extract` output holds, an error for a full model). For an
 * extract output only its layer. An HF directory's "model.rope_freqs" (a
 * layer extracted from GGUF) goes into the config. */
int llm_source_pick_layer(LlmSource *s, int layer, int *k, PifiErr *err);

/* Tensor name, checked to have ndim dims of the given shape (an error naming
 * the file, the tensor as the file names it and what the config implies). */
int llm_source_tensor(LlmSource *s, const char *name, int ndim, const int64_t *shape, LlmTensorView *v,
                      PifiErr *err);
/* The same without a shape check; 1 (err untouched) when the source has no
 * such tensor. */
int llm_source_find(LlmSource *s, const char *name, LlmTensorView *v, PifiErr *err);
/* A view's dtype is one a layer's weights come in (F32, F16, BF16, F64). */
int llm_source_check_float(const LlmTensorView *v, PifiErr *err);

/* Make v->data available (GGUF: dequantized into v->owned). */
int llm_source_data(LlmSource *s, LlmTensorView *v, PifiErr *err);
/* The tensor's values as fp32 into dst (numel floats). */
int llm_source_read_f32(LlmSource *s, LlmTensorView *v, float *dst, PifiErr *err);
/* Free what llm_source_data made for v (nothing for a mapped tensor). */
void llm_source_release(LlmSource *s, LlmTensorView *v);

/* The config as a config.json object (new; the caller deletes it): an HF
 * directory's own, a GGUF's from llm_config_to_json. */
cJSON *llm_source_config_json(const LlmSource *s, PifiErr *err);
/* Add "<file>": "<sha256>" for each file the source's config comes from
 * (config.json [+ model.safetensors.index.json], or source.gguf) to obj. */
int llm_source_hash_files(const LlmSource *s, cJSON *obj, PifiErr *err);

/* Resolve a possibly negative layer index against num_layers. */
int llm_resolve_layer(int layer, int num_layers, const char *path, int *out, PifiErr *err);

/* config.json's object (root) into *c; path names it in messages
 * (llm_config.c). */
int llm_config_parse(LlmConfig *c, const cJSON *root, const char *path, PifiErr *err);

#endif
