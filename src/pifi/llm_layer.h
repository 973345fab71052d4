/* llm_layer.h: ONE decoder layer of a Llama-family LLM (Llama 2/3/3.1/3.2,
 * SmolLM2, TinyLlama, Mistral, Qwen2/2.5, Gemma2, Gemma3), the frozen block
 * PiFi plugs into a small model.
 *
 * Sizes: B batch, T tokens, D hidden size of the LLM, NH query heads, NKV
 * key/value heads, HD head size, FF intermediate size.
 *
 *   n = norm_attn(x);  a = Wo attn(rope(Wq n), rope(Wk n), Wv n)
 *   [Gemma3: rope(q_norm(Wq n)), rope(k_norm(Wk n)), each head normed alone]
 *   [Gemma2: a = norm_attn_post(a)]     h = x + a
 *   m = Wdown(act(Wgate norm_ffn(h)) * Wup norm_ffn(h))
 *   [Gemma2: m = norm_ffn_post(m)]      out = h + m
 *
 * In pooled mode (T = 1 at position 0) softmax over one key is exactly 1 and
 * RoPE is the identity, so a = Wo expand_gqa(Wv n + bv): Wq and Wk are never
 * loaded. */
#ifndef PIFI_LLM_LAYER_H
#define PIFI_LLM_LAYER_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "pifi/compute.h"
#include "pifi/err.h"
#include "pifi/safetensors.h"

struct PifiCompute; /* kernels/compute.h */

typedef enum { LLM_LLAMA, LLM_MISTRAL, LLM_QWEN2, LLM_GEMMA2, LLM_GEMMA3 } LlmArch;

typedef struct {
    LlmArch arch;
    char model_type[32];
    int D, NH, NKV, HD, FF;
    int num_layers;          /* of the source model */
    float rms_eps;
    float norm_offset;       /* 1 for Gemma's (1 + w) norms, else 0 */
    int act;                 /* Activation of the gate */
    int qkv_bias;            /* Qwen2, or Llama with attention_bias */
    int o_bias;              /* Llama with attention_bias */
    float attn_scale;        /* HD^-0.5, or query_pre_attn_scalar^-0.5 (Gemma2) */
    float softcap;           /* Gemma2 attn_logit_softcapping, else 0 */
    int sliding_window;      /* 0: none; sequence mode refuses longer inputs (Gemma3: its sliding
                                layers only, llm_config_layer_window) */
    float initializer_range; /* std of transformers' random init (config.json; 0: 0.02) */
    /* RoPE */
    int rope_type;           /* ROPE_* of kernels/rope.h */
    double rope_theta, rope_factor, rope_low_freq, rope_high_freq;
    int rope_orig_max_pos;
    /* Explicit per-frequency divisors (GGUF's rope_freqs tensor, which
     * llama.cpp's converter writes for llama3 scaling): inv_freq[i] =
     * theta^(-2i/HD) / rope_freqs[i]. Replaces rope_type when set. */
    int has_rope_freqs;
    float rope_freqs[512];
    /* Gemma3 (LLM_ARCH_LAYER_TYPES): which layers are sliding_attention ones
     * and their RoPE, default type at base rope_local_theta; the full
     * attention layers take the RoPE above and no window. */
    double rope_local_theta;
    uint64_t sliding_layers[4096 / 64]; /* bit i: layer i slides */
} LlmConfig;

/* Parse a causal-LM config.json (transformers 4.x "rope_scaling" or 5.x
 * "rope_parameters"). */
int llm_config_load(LlmConfig *cfg, const char *config_path, PifiErr *err);
/* A config.json that llm_config_load reads back into *c (the keys it reads,
 * transformers 5 spelling, defaults left out); NULL when out of memory. The
 * one writer of the form: a GGUF's config in `pifi extract`, the int8 run's
 * bundled layer. The rope_freqs of a GGUF config are not in it (a tensor,
 * "model.rope_freqs"). */
cJSON *llm_config_to_json(const LlmConfig *c);
/* The config of the LLM at path (HF directory or GGUF file). */
int llm_config_from_path(LlmConfig *cfg, const char *path, PifiErr *err);
/* Parameters of one full layer; forward FLOPs of one pooled token. */
int64_t llm_layer_param_count(const LlmConfig *cfg);
int64_t llm_layer_pooled_flops(const LlmConfig *cfg);
const char *llm_arch_name(LlmArch a);
/* Layer `layer` of the model: its sliding window (0: none) and its RoPE
 * inverse frequencies inv_freq (HD/2): per layer type for Gemma3, the
 * config's for every layer otherwise. */
int llm_config_layer_window(const LlmConfig *cfg, int layer);
void llm_config_layer_inv_freq(const LlmConfig *cfg, int layer, float *inv_freq);

/* One layer's frozen weights, fp32, one arena. */
typedef struct {
    float *norm_attn;      /* (D) input_layernorm */
    float *norm_attn_post; /* (D) Gemma2 post_attention_layernorm, else NULL */
    float *norm_ffn;       /* (D) post_attention_layernorm (Llama) / pre_feedforward_layernorm (Gemma2) */
    float *norm_ffn_post;  /* (D) Gemma2 post_feedforward_layernorm, else NULL */
    float *wq;             /* (NH*HD, D), NULL in pooled-only layers */
    float *wk;             /* (NKV*HD, D), NULL in pooled-only layers */
    float *wv;             /* (NKV*HD, D) */
    float *wo;             /* (D, NH*HD) */
    float *bq, *bk, *bv;   /* (NH*HD), (NKV*HD), (NKV*HD) or NULL */
    float *bo;             /* (D) or NULL */
    float *wgate;          /* (FF, D) */
    float *wup;            /* (FF, D) */
    float *wdown;          /* (D, FF) */
    float *q_norm, *k_norm; /* (HD) Gemma3's RMSNorm of each q / k head, NULL elsewhere and in
                               pooled-only layers */
} LlmLayerParams;

/* bf16 copies of the layer's matrices (bf16 precision), shapes as in
 * LlmLayerParams; NULL where those are. */
typedef struct {
    uint16_t *wq, *wk, *wv, *wo, *wgate, *wup, *wdown;
} LlmLayerParams16;

/* int8 weights with one scale per output row (pifi quantize), w[o][c] =
 * s[o] * q[o][c]; NULL where LlmLayerParams is. */
typedef struct {
    int8_t *wq, *wk, *wv, *wo, *wgate, *wup, *wdown;
    float *sq, *sk, *sv, *so, *sgate, *sup, *sdown;
} LlmLayerParamsQ8;

/* LoRA adapters on a layer's q_proj and v_proj in sequence mode (PEFT
 * semantics; the decoder family's --method lora), before RoPE:
 *   q = Wq n + bq + scale (drop(n) A_q^T) B_q^T,  v alike with A_v, B_v.
 * The caller owns them and points LlmLayer.lora here (NULL: none). */
typedef struct {
    int r;
    float scale;                  /* alpha / r */
    float dropout;                /* on the adapters' input, in training mode (0: none) */
    uint64_t seed, stream_q, stream_v, row0; /* the masks (kernels/dropout.h; a row: one example's T D) */
    const float *qa, *qb;         /* (r, D), (NH*HD, r) */
    const float *va, *vb;         /* (r, D), (NKV*HD, r) */
    float *gqa, *gqb, *gva, *gvb; /* their gradients, ACCUMULATED by llm_layer_backward_seq; NULL: skipped */
} LlmLora;

typedef struct {
    LlmConfig cfg;
    int layer;             /* index in the source model */
    const LlmLora *lora;   /* adapters on q and v (sequence mode), NULL: none */
    int pooled_only;       /* Wq, Wk not loaded */
    LlmLayerParams p;
    float *mem;
    int64_t num_params;    /* of the full layer, loaded or not */
    /* workspace, grown on demand; in training mode it holds the activations
     * of the last forward (llm_layer_backward.c) and the backward's scratch */
    float *ws;
    size_t ws_size;
    int32_t *ws_pos;
    int train;             /* llm_layer_set_train */
    int saved;             /* what ws holds: 0 nothing, 1 a pooled, 2 a sequence forward */
    int saved_B, saved_T, saved_causal;
    /* the compute context (precision, oneDNN primitives, scratch): borrowed
     * from whoever called llm_layer_load (a PifiModel, a test), never owned */
    struct PifiCompute *cx;
    LlmLayerParams16 w16;  /* bf16 copies, into mem16 */
    uint16_t *mem16;
    int w16_fresh;         /* the copies match p (cleared by llm_layer_set_train unless bf16_only) */
    int bf16_only;         /* frozen in bf16: the fp32 matrices of p are NULL (freed) */
    LlmLayerParamsQ8 q8;   /* int8 weights (llm_layer_quantize), into memq */
    void *memq;
    int q8_only;           /* the fp32 and bf16 matrices are gone: int8 only */
    char sha256[65];       /* llm_layer_weights_sha256 of the fp32 weights, kept when they are dropped */
    uint64_t weight_bytes_allocated; /* bytes of weight arenas (fp32, bf16, int8) allocated since
                                      * loading, freed ones included */
} LlmLayer;

/* Load layer `layer` (negative counts from the end) from a Hugging Face
 * directory (full model, sharded or not, or a `pifi extract` output, whose
 * config names its layer: pass layer = INT32_MIN to use it) or a GGUF file.
 * pooled_only skips Wq and Wk. A directory whose matrices are int8
 * (llm_layer_int8_tensors) loads straight into an int8-only layer, in any
 * precision. cx: the compute context every pass of l uses (its precision
 * included), the caller's, which outlives l. With cx in BF16 and frozen set,
 * only bf16 copies of the matrices are kept (the frozen layer of PiFi: half
 * the bytes, never all in fp32 at once when read from safetensors). */
int llm_layer_load(LlmLayer *l, const char *path, int layer, int pooled_only, struct PifiCompute *cx, int frozen,
                   PifiErr *err);
void llm_layer_free(LlmLayer *l);

/* The precision of l->cx changed (its owner changed it): the following
 * passes compute in it. BF16 with keep_f32 = 0: the layer is frozen from now
 * on, its matrices kept only in bf16 (fp32 ones freed); keep_f32 = 1: fp32
 * master weights (trainable, pifi-unfrozen) and bf16 copies refreshed at the
 * first forward after llm_layer_set_train. */
int llm_layer_precision_changed(LlmLayer *l, int keep_f32, PifiErr *err);

/* Replace the matrices by int8 with a scale per output row (absmax / 127),
 * dropping the fp32 and bf16 ones: a frozen layer for inference (products
 * dequantize 128 rows at a time into the context's precision). */
int llm_layer_quantize(LlmLayer *l, PifiErr *err);
/* The int8-only layer's tensors as a checkpoint that llm_layer_load reads
 * back into the same int8 form: "model.layers.<k>.<HF name>", the matrices
 * I8 with an F32 "<name>_scale" (one per row), the norms and biases F32
 * (names written into names[i], 192 bytes each). The count, at most 2 * 16;
 * 0 unless the layer is int8-only. */
int llm_layer_int8_tensors(const LlmLayer *l, StWriteTensor *out, char (*names)[192], int max);

/* SHA-256 of the loaded weights (fp32, in the arena's order): identifies the
 * layer a run was trained with, whatever file it came from (kept from load
 * time when the layer is held in bf16 or int8 only). A layer loaded from an
 * int8 checkpoint never had fp32 weights: its hash is of the tensors read
 * (in spec order: a vector's fp32 values, a matrix's int8 values then its
 * scales). */
void llm_layer_weights_sha256(const LlmLayer *l, char hex[65]);

/* Pooled mode: x (B, D) -> out (B, D), each row a sequence of one token at
 * position 0. out may not alias x. */
int llm_layer_forward_pooled(LlmLayer *l, float *out, const float *x, int B, PifiErr *err);

/* Sequence mode: x (B, T, D) -> out (B, T, D) at positions 0..T-1, key
 * padding mask (B, T) (NULL: none), bidirectional unless causal. */
int llm_layer_forward_seq(LlmLayer *l, float *out, const float *x, const int32_t *mask, int B, int T,
                          int causal, PifiErr *err);

/* ------------------------------------------------------------------------ */
/* training (llm_layer_backward.c, llm_layer_init.c) */

/* Training mode on/off. When on, each forward (pooled or sequence) keeps the
 * activations its backward needs in the layer's workspace (grown when B or T
 * grows, no allocation otherwise); only the most recent forward is kept.
 * Switching either way forgets what was kept. */
void llm_layer_set_train(LlmLayer *l, int train);

/* Backward of the last pooled forward (training mode): dout (B, D) = dL/dout
 * -> dx (B, D) = dL/dx (overwritten; may alias dout). grads NULL: the frozen
 * layer of PiFi, input gradient only. Else weight gradients ACCUMULATE into
 * every non-NULL field of grads (pooled mode never touches wq, wk, bq, bk). */
int llm_layer_backward_pooled(LlmLayer *l, float *dx, const float *dout, LlmLayerParams *grads,
                              PifiErr *err);

/* Same for the last sequence-mode forward: dout, dx (B, T, D). */
int llm_layer_backward_seq(LlmLayer *l, float *dx, const float *dout, LlmLayerParams *grads,
                           PifiErr *err);

/* Number of floats in l->mem: the layer's loaded (trainable) parameters. */
int64_t llm_layer_trainable_count(const LlmLayer *l);

/* Point p's fields into mem (llm_layer_trainable_count floats) with the same
 * layout as l->p in l->mem (NULL where l->p is NULL): gradients and optimizer
 * moments then treat l->mem as one flat parameter vector. */
void llm_layer_point_params(const LlmLayer *l, LlmLayerParams *p, float *mem);

/* Re-initialise the loaded weights as transformers' _init_weights does for
 * these models (the "pifi-random" ablation): Linear weights ~ N(0,
 * initializer_range), biases 0, RMSNorm weights 1 (Gemma2: 0, used as 1 + w).
 * Each tensor draws from its own stream of seed (kernels/rng.h), keyed by its
 * name, so a pooled-only layer gets the same Wv, Wo, ... as a full one. */
int llm_layer_init_random(LlmLayer *l, uint64_t seed, PifiErr *err);

/* ------------------------------------------------------------------------ */
/* extraction: `pifi extract` */

typedef struct {
    int64_t params;        /* parameters written */
    int64_t bytes;         /* bytes of model.safetensors */
    char tensors_sha256[65];
} LlmExtractReport;

/* Copy layers (negative = from the end) of the LLM at src (HF directory,
 * single or sharded safetensors, or GGUF) into out_dir as a small HF-style
 * checkpoint: config.json (the source config + "pifi_extract" provenance:
 * source path, layers, hashes) and model.safetensors (the layers' tensors
 * under their source names; HF sources keep their dtype, GGUF sources are
 * dequantized to F32 and un-permuted). Only those tensors' bytes are read.
 * The directory appears complete or not at all; an existing out_dir is an
 * error unless overwrite. */
int llm_extract(const char *src, const int *layers, int n_layers, const char *out_dir, int overwrite,
                LlmExtractReport *rep, PifiErr *err);

#endif
