/* encoder.h: the small encoder models PiFi starts from, read from a Hugging
 * Face directory (config.json + safetensors) by the family that config.json's
 * model_type names (models/encoders/encoder_family.h: one table of functions
 * per family, looked up in one registry; today the BERT family: BERT,
 * RoBERTa, ELECTRA discriminator and BERT-architecture models such as
 * MiniLM; and the MPNet and ALBERT families, which run on the BERT family's
 * layer code, MPNet with a relative position bias of its own, ALBERT with
 * one layer of weights shared by every layer). The handle below is in two
 * parts: what every family has (the family, the sizes C, V, L, maxT,
 * pad_id, the modes, the compute context, the last forward's inputs), and
 * the BERT-shaped parameter, activation and adapter layout (EncoderParams,
 * EncoderActs, EncoderLora; MPNet's extra table in it too), which only
 * code under models/encoders/ and the tests read field by field: the
 * trainer, run files and CLI go through the family-neutral functions
 * (encoder_tensors, encoder_export_merged, encoder_int8_parts,
 * encoder_config_params, ...). With a batched
 * fp32 forward pass that matches transformers' last_hidden_state, and the
 * training side: dropout exactly where BertModel has it, the backward pass
 * (llm.c style: accumulating gradients into a params-shaped arena), and LoRA
 * adapters on the query and value projections (PEFT semantics).
 *
 * Sizes: B batch, T sequence length, C hidden size, E embedding size (C
 * except ELECTRA and ALBERT), NH heads, L layers, FF intermediate size, V vocabulary. */
#ifndef PIFI_ENCODER_H
#define PIFI_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#include "pifi/compute.h"
#include "pifi/err.h"
#include "pifi/llm_layer.h"
#include "pifi/safetensors.h"

struct PifiCompute; /* kernels/compute.h */

struct EncoderFamily; /* models/encoders/encoder_family.h */

typedef enum { ENC_BERT, ENC_ROBERTA, ENC_ELECTRA, ENC_MPNET, ENC_ALBERT } EncoderArch;

typedef struct {
    /* every family */
    const struct EncoderFamily *family; /* the one that read config.json */
    char model_type[32]; /* as in config.json */
    int V;               /* vocab_size */
    int C;               /* hidden_size: the width of encoder_output */
    int L;               /* num_hidden_layers (the backward's grad_ready stages) */
    int maxT;            /* max_position_embeddings */
    int pad_id;          /* pad_token_id */
    /* the BERT family's */
    EncoderArch arch;
    int E;               /* embedding_size (ELECTRA, ALBERT) or C */
    int NH;              /* num_attention_heads */
    int FF;              /* intermediate_size */
    int TV;              /* type_vocab_size */
    float ln_eps;        /* layer_norm_eps */
    int act;             /* Activation (kernels/activation.h) of hidden_act */
    float hidden_dropout;    /* hidden_dropout_prob (used in training) */
    float attn_dropout;      /* attention_probs_dropout_prob */
    /* MPNet's (the mpnet family: arch ENC_MPNET, TV 0) */
    int rel_buckets;     /* relative_attention_num_buckets: rows of the relative position bias; 0: none */
    /* DeBERTa's (the deberta family, models/encoders/deberta_*.c; E, NH, FF, TV, ln_eps, act and the
     * dropouts above mean the same there) */
    struct {
        int version;     /* 1: "deberta" (DebertaModel), 2: "deberta-v2" (DeBERTa-V2 and V3) */
        int relative;    /* relative_attention */
        int c2p, p2c;    /* pos_att_type holds "c2p", "p2c" */
        int share_key;   /* share_att_key (v2): positions projected by query_proj / key_proj */
        int buckets;     /* position_buckets (v2), 0: none */
        int max_rel;     /* max_relative_positions (max_position_embeddings when < 1) */
        int norm_rel;    /* norm_rel_ebd holds "layer_norm" (v2) */
        int pos_input;   /* position_biased_input: absolute position embeddings */
        int conv_k;      /* conv_kernel_size (v2): ConvLayer after layer 0 (odd), 0: none */
        int conv_groups; /* conv_groups: the Conv1d's groups (divides C) */
        int conv_act;    /* conv_act: its Activation (tanh by default) */
    } deberta;
    /* the decoder family's (decoder_*.c): a decoder-only LM's token embeddings, L of its layers
     * (causal) and its final RMSNorm; C = dec.D */
    LlmConfig dec;       /* the layers (pifi/llm_layer.h); dec.num_layers: the source model's count */
    int dec_first;       /* the source's index of the first layer used (0; llm-layer-only: its layer) */
    int dec_norm;        /* the final RMSNorm applies (0: llm-layer-only, the layer's output as is) */
    int dec_tied;        /* tie_word_embeddings, kept for the config.json a run writes */
    /* ALBERT's (the albert family: arch ENC_ALBERT): no field of its own; E is embedding_size,
     * and its one layer of weights is shared by the L layers (num_hidden_groups = inner_group_num = 1) */
    /* ModernBERT's (the modernbert family, models/encoders/modernbert*.c; also read into the fields
     * above: NH, FF, ln_eps norm_eps, act hidden_activation, attn_dropout attention_dropout,
     * hidden_dropout mlp_dropout; E = C, TV 0) */
    struct {
        int global_every;  /* layer l attends to every key when l % global_every == 0 (global_attn_every_n_layers) */
        int window;        /* the other layers' queries see keys within this distance (local_attention / 2) */
        float rope_global, rope_local; /* rope_theta of the full and of the sliding layers */
        float emb_dropout; /* embedding_dropout */
        unsigned bias;     /* which biases it has: MB_BIAS_* (models/encoders/modernbert_internal.h) */
    } modernbert;
} EncoderConfig;

/* Parse and validate config.json: its model_type picks the family, which
 * reads the rest (a path ending in ".gguf": the GGUF's metadata). An unknown model_type names the supported ones; missing or
 * absurd fields give "<path>: ..." errors. */
int encoder_config_load(EncoderConfig *cfg, const char *config_path, PifiErr *err);

/* From the config alone (nothing loaded): the parameters PiFi uses (the
 * pooler left out), the pooler's, and the forward FLOPs (matmuls) of one
 * sequence of T tokens. */
int64_t encoder_config_params(const EncoderConfig *cfg);
int64_t encoder_config_pooler_params(const EncoderConfig *cfg);
int64_t encoder_config_flops(const EncoderConfig *cfg, int T);
/* The parameters of LoRA adapters of rank r (encoder_lora_enable). */
int64_t encoder_config_lora_params(const EncoderConfig *cfg, int r);
/* Floats of the forward activations for (B, T) keeping `layers` layers (all
 * L, or 1 in inference), of the backward's scratch (lora_r: LoRA's rank, 0
 * without), and of the widest linear layer's output row (bf16 operands). */
int64_t encoder_config_act_floats(const EncoderConfig *cfg, int64_t B, int64_t T, int layers, int lora_r);
int64_t encoder_config_grad_scratch_floats(const EncoderConfig *cfg, int64_t B, int64_t T, int lora_r);
int64_t encoder_config_widest(const EncoderConfig *cfg);
/* Of encoder_config_params, those an int8 run holds in int8 (the parts
 * ENCODER_INT8_*), and their rows (one fp32 scale each). */
void encoder_config_int8(const EncoderConfig *cfg, unsigned parts, int64_t *n8, int64_t *rows);

/* Parameters, all fp32, in one arena. Shapes as PyTorch stores them, with
 * the three attention projections of a layer packed as one (3C, C) matrix.
 * ALBERT holds one layer of weights that every layer runs: its per-layer
 * tensors are (1, ...) where the comments say (L, ...). */
typedef struct {
    float *wte;      /* (V, E) word embeddings */
    float *wpe;      /* (maxT, E) position embeddings */
    float *wtt;      /* (TV, E) token type embeddings */
    float *emb_lnw;  /* (E) */
    float *emb_lnb;  /* (E) */
    float *projw;    /* (C, E) ELECTRA embeddings_project, ALBERT embedding_hidden_mapping_in, else NULL */
    float *projb;    /* (C) */
    float *qkvw;     /* (L, 3C, C) query | key | value */
    float *qkvb;     /* (L, 3C) */
    float *attprojw; /* (L, C, C) attention.output.dense */
    float *attprojb; /* (L, C) */
    float *ln1w;     /* (L, C) attention.output.LayerNorm */
    float *ln1b;     /* (L, C) */
    float *fcw;      /* (L, FF, C) intermediate.dense */
    float *fcb;      /* (L, FF) */
    float *fcprojw;  /* (L, C, FF) output.dense */
    float *fcprojb;  /* (L, C) */
    float *ln2w;     /* (L, C) output.LayerNorm */
    float *ln2b;     /* (L, C) */
    float *relb;     /* (NB, NH) MPNet's encoder.relative_attention_bias, one table for every
                      * layer (NB = rel_buckets); NULL for the others */
    float *poolw;    /* (C, C) pooler.dense, NULL when the checkpoint has none */
    float *poolb;    /* (C) */
} EncoderParams;

/* bf16 copies of the matrices of the linear layers (bf16 precision), same
 * shapes as in EncoderParams; NULL where EncoderParams has none. */
typedef struct {
    uint16_t *qkvw, *attprojw, *fcw, *fcprojw, *projw;
} EncoderParams16;

/* int8 weights (encoder_quantize, or an int8 checkpoint; inference only):
 * w[o][c] = scale[o] * q[o][c], rows as in EncoderParams (scales: one per
 * row). The linear layers' four matrices, and optionally the word
 * embeddings (wte NULL: they stay fp32). */
typedef struct {
    int8_t *qkvw, *attprojw, *fcw, *fcprojw;
    float *sqkv, *sattproj, *sfc, *sfcproj;
    int8_t *wte; /* (V, E) or NULL */
    float *swte; /* (V) */
} EncoderParamsQ8;

/* LoRA adapters (encoder_lora_enable): for each layer,
 *   q += (alpha/r) * (dropout(x) A_q^T) B_q^T,  same for v with A_v, B_v. */
typedef struct {
    float *qa; /* (L, r, C) attention.self.query.lora_A.weight */
    float *qb; /* (L, C, r) attention.self.query.lora_B.weight */
    float *va; /* (L, r, C) attention.self.value.lora_A.weight */
    float *vb; /* (L, C, r) attention.self.value.lora_B.weight */
} EncoderLora;

/* Activations of one forward pass, kept for the backward pass. */
typedef struct {
    float *emb;       /* (B, T, E) sum of the three embeddings */
    float *emb_ln;    /* (B, T, E) after LayerNorm */
    float *emb_mean;  /* (B, T) */
    float *emb_rstd;  /* (B, T) */
    float *emb_drop;  /* (B, T, E) emb_ln after dropout (training with hidden dropout), else NULL */
    float *proj;      /* (B, T, C) ELECTRA's or ALBERT's projection, else NULL */
    float *qkv;       /* (L, B, T, 3C) */
    float *att;       /* (B, NH, T, T) the last layer's probabilities */
    float *atty;      /* (B, T, C) the last layer's heads concatenated (att and atty: the backward
                       * recomputes the other layers' from qkv, bit-identically) */
    float *res1;      /* (L, B, T, C) layer input + attention output */
    float *ln1;       /* (L, B, T, C) */
    float *ln1_mean;  /* (L, B, T) */
    float *ln1_rstd;  /* (L, B, T) */
    float *fch;       /* (L, B, T, FF) before the activation */
    float *fch_act;   /* (B, T, FF) the last layer's activation output (recomputed from fch for the others) */
    float *res2;      /* (L, B, T, C) ln1 + feed-forward output */
    float *ln2;       /* (L, B, T, C) = layer output */
    float *ln2_mean;  /* (L, B, T) */
    float *ln2_rstd;  /* (L, B, T) */
    float *pooled;    /* (B, C) tanh(pooler(h[:, 0])), when the model has a pooler */
    float *relbias;   /* (NH, T, T) MPNet: relb by the bucket of each (query, key), added to every
                       * layer's scores; NULL for the others */
    float *attd;      /* (B, NH, T, T) scratch: probabilities after dropout (training), else NULL */
    float *lora_u;    /* (L, 2, B, T, r) dropout(x) A^T of the query and value adapters (LoRA) */
    float *lora_x;    /* (B, T, C) scratch: dropout(x) for the adapters (LoRA dropout > 0) */
} EncoderActs;

/* Scratch of the backward pass, allocated once per (B, T) and reused. */
typedef struct {
    float *g;         /* (B, T, max(C, E)) gradient w.r.t. the residual stream */
    float *t1, *t2, *t3; /* (B, T, max(C, E)) */
    float *dfch_act;  /* (B, T, FF) */
    float *dqkv;      /* (B, T, 3C) */
    float *datt;      /* (B, NH, T, T) */
    float *du;        /* (B, T, r) LoRA */
} EncoderGradScratch;

typedef struct {
    EncoderConfig cfg;
    EncoderParams params;
    float *param_mem;     /* the arena behind params */
    int64_t num_params;
    int has_pooler;
    EncoderActs acts;
    float *act_mem;       /* the arena behind acts */
    int act_B, act_T;     /* shape acts is laid out for */
    size_t act_cap, ids_cap; /* floats in act_mem, ints in each id buffer (grown, never shrunk) */
    unsigned act_flags;   /* which optional activations acts holds */
    int32_t *pos_ids;     /* (B, T) position ids of the last forward */
    int32_t *ids;         /* (B, T) copies of the last forward's inputs, for the backward */
    int32_t *type_ids;    /* (B, T) (zeros when none were given) */
    int32_t *mask;        /* (B, T) (ones when none was given) */
    int B, T;             /* shape of the last forward */
    int last_layer_kept;  /* acts.att, atty and fch_act hold the last layer's (the forward sets it,
                           * a backward clears it: it uses them as scratch) */
    /* training mode (encoder_set_train) and how the last forward ran */
    int train;
    uint64_t seed, step;
    uint64_t row0;        /* global row of this batch's row 0 (encoder_set_row0) */
    int fwd_train, fwd_lora_r;
    uint64_t fwd_seed, fwd_step, fwd_row0;
    /* LoRA (encoder_lora_enable); lora_r == 0: none */
    int lora_r;
    float lora_alpha, lora_dropout;
    EncoderLora lora;
    float *lora_mem;      /* the arena behind lora */
    int64_t num_lora_params;
    /* backward scratch */
    EncoderGradScratch gs;
    float *grad_mem;
    size_t grad_cap;      /* floats in grad_mem (grown, never shrunk) */
    int grad_B, grad_T, grad_r;
    /* the compute context (precision, oneDNN primitives, scratch): borrowed
     * from whoever called encoder_load (a PifiModel, the API's encoder, a
     * test), never owned */
    struct PifiCompute *cx;
    EncoderParams16 w16;  /* bf16 copies (bf16 precision), into w16_mem */
    uint16_t *w16_mem;
    int w16_fresh;        /* the copies match params (cleared by encoder_set_train) */
    EncoderParamsQ8 q8;   /* int8 weights: used instead of params' matrices */
    void *q8_mem;
    int int8_only;        /* loaded from an int8 checkpoint: params' quantized tensors are NULL */
    uint64_t weight_bytes_allocated; /* bytes of weight arenas (fp32, bf16, int8) allocated since
                                      * loading, freed ones included */
    int inference;        /* encoder_set_inference: forwards keep one layer's activations */
    /* Called by the backward once layer l's parameter gradients are final
     * (l = L-1 down to 0), e.g. to start their all-reduce while the earlier
     * layers are differentiated (train/dist.h); NULL: none. */
    void (*grad_ready)(void *ctx, int layer);
    void *grad_ready_ctx;
    /* a family's own state (a family whose weights are not BERT-shaped keeps
     * its parameters, activations and adapters here; its free releases it):
     * NULL for the BERT-shaped families */
    void *priv;
} Encoder;

/* Load config.json and the weights (safetensors, single or sharded) of a
 * HF directory, or (dir ending in ".gguf") a BERT-architecture GGUF file in
 * llama.cpp's "bert" layout, dequantized to fp32, no pooler
 * (models/encoders/encoder_gguf.c). Accepts the bare model's names ("embeddings...") and those
 * saved from a task model ("bert.embeddings...", "roberta.", "electra.").
 * An int8 checkpoint (encoder_export of a quantized encoder: the layers'
 * four matrices, and maybe the word embeddings, as I8 with an F32
 * "<name>_scale" of one scale per row) loads straight into the int8 form:
 * no fp32 copy of those tensors is ever allocated (int8_only). cx: the
 * compute context every pass of m uses (its precision included), the
 * caller's, which outlives m. */
int encoder_load(Encoder *m, const char *dir, struct PifiCompute *cx, PifiErr *err);
void encoder_free(Encoder *m);

/* The decoder family's one-layer form (--method llm-layer-only, the paper's
 * B.7): the token embeddings of the LLM at path (HF directory or GGUF, a
 * llama or qwen2) and its layer `layer` (negative: from the end) alone, its
 * output as is (no final norm). */
int encoder_load_llm_layer(Encoder *m, const char *path, int layer, struct PifiCompute *cx, PifiErr *err);

/* The config.json a run trained from the SLM at path records: the
 * directory's own, or for a GGUF SLM and the one-layer form, one written from
 * the loaded config (new; the caller deletes it). */
cJSON *encoder_config_json(const Encoder *m, const char *path, PifiErr *err);

/* ids, type_ids (NULL: zeros), mask (NULL: all ones): (B, T). Fills m->acts.
 * Ids out of range fail. */
int encoder_forward(Encoder *m, const int32_t *ids, const int32_t *type_ids, const int32_t *mask,
                    int B, int T, PifiErr *err);

/* (B, T, C) last_hidden_state of the last forward. */
const float *encoder_output(const Encoder *m);

/* The precision of m->cx changed (its owner changed it): the following
 * passes compute in it. BF16: the linear layers multiply bf16 copies of the
 * weights (refreshed from the fp32 ones at the next forward, and after
 * encoder_set_train) by bf16-rounded activations, accumulating in fp32;
 * everything else stays fp32. */
void encoder_precision_changed(Encoder *m);

/* inference != 0: the following forwards keep no activations for a backward
 * (the layers reuse one layer's buffers: a fraction of the memory); a
 * backward after such a forward fails. pifi_model_set_train(m, 0, ...) sets
 * it for the SLM, training mode clears it. */
void encoder_set_inference(Encoder *m, int inference);

/* int8 weight-only quantization (absmax / 127 per output row) of the
 * layers' four matrices, and of the word embeddings (per token) when
 * embeddings is set: the following forwards use them (inference only; the
 * fp32 weights stay, so encoder_export writes the int8 form and training
 * code still sees params). */
int encoder_quantize(Encoder *m, int embeddings, PifiErr *err);

/* What m holds in int8 (encoder_quantize, or loaded so). */
enum { ENCODER_INT8_LINEAR = 1u, ENCODER_INT8_EMBEDDINGS = 2u };
unsigned encoder_int8_parts(const Encoder *m);

/* ------------------------------------------------------------------------ */
/* training */

/* The trainable tensors of m's parameter arena, in arena order (so they
 * cover m->param_mem exactly, m->num_params floats): a short name ("wte",
 * a run's checkpoint calls it "slm.wte"), the data, the float count, whether
 * weight decay applies, whether it is registered but never trained (BERT's
 * pooler, unused by PiFi), and whether it stacks L per-layer slices (each
 * final once that layer's backward is done: grad_ready). Returns the number
 * of rows (at most cap), -1 when cap is too small. */
typedef struct {
    const char *name;
    float *w;
    int64_t n;
    int decay;
    int frozen;
    int per_layer;
} EncoderTensor;
#define ENCODER_TENSORS_MAX 64
int encoder_tensors(const Encoder *m, EncoderTensor *rows, int cap);

/* Float count of the parameters (= m->num_params), and pointing a
 * params-shaped struct (gradients, Adam moments) into mem: same layout as
 * m->params in m->param_mem, so param_mem[i] and mem[i] are the same
 * parameter. Tensors the model lacks (projw without ELECTRA, poolw without a
 * pooler) are NULL, as in m->params. */
int64_t encoder_param_count(const Encoder *m);
void encoder_point_params(const Encoder *m, EncoderParams *p, float *mem);

/* train != 0: following forwards apply dropout where transformers' BertModel
 * does in training (embeddings after LayerNorm and attention.output /
 * output dense before the residual add: hidden_dropout; attention
 * probabilities: attention_probs_dropout; LoRA inputs: the LoRA dropout),
 * the masks a pure function of (seed, step, site, element) (kernels/rng.h):
 * bump step each optimizer step. train == 0: eval, no dropout. Probabilities
 * of 0 behave exactly as eval. Also marks the weights as changed (the bf16
 * copies are refreshed at the next forward). */
void encoder_set_train(Encoder *m, int train, uint64_t seed, uint64_t step);

/* The following forwards' row b is row row0 + b of the step's global batch
 * (0 by default): dropout masks are keyed by global row, so a global batch
 * split into micro-batches or over ranks draws the same masks as one batch
 * (kernels/dropout.h). */
void encoder_set_row0(Encoder *m, uint64_t row0);

/* Backward pass of the LAST forward (same dropout masks), every family's
 * form: dout (B, T, C) is dLoss/d encoder_output(); ACCUMULATES into grads,
 * an arena laid out as m->param_mem (encoder_param_count floats; NULL: the
 * SLM's own weights are frozen) and lora_grads, laid out as m->lora_mem
 * (encoder_lora_param_count floats; NULL: the adapters are frozen). */
int encoder_backward_mem(Encoder *m, float *grads, float *lora_grads, const float *dout, PifiErr *err);

/* The BERT-shaped families' forms (bert, mpnet; others fail): the same
 * backward into params-shaped structs. ACCUMULATES into grads (the caller zeroes them,
 * e.g. one memset of the arena behind encoder_point_params). grads == NULL or
 * any NULL tensor in it: that weight is frozen and its gradient skipped (all
 * NULL: nothing but LoRA is trained). The pooler's gradients are never
 * touched (PiFi does not use the pooler). Rows of padding_idx in the word
 * (and RoBERTa position) embeddings get no gradient, as nn.Embedding. */
int encoder_backward(Encoder *m, EncoderParams *grads, const float *dout, PifiErr *err);

/* The same with LoRA: lora_grads (NULL, or tensors NULL: frozen) receives,
 * accumulating, the gradients of the adapters, pointed with
 * encoder_lora_point. encoder_backward(m, g, d, e) is
 * encoder_backward_lora(m, g, NULL, d, e); both differentiate through the
 * adapters when LoRA is enabled. */
int encoder_backward_lora(Encoder *m, EncoderParams *grads, EncoderLora *lora_grads,
                          const float *dout, PifiErr *err);

/* ------------------------------------------------------------------------ */
/* LoRA (encoder_lora.c) */

/* Add adapters of rank r (1..C) to the query and value projections of every
 * layer: A (r, C) ~ uniform(-1/sqrt(C), 1/sqrt(C)) (PEFT's kaiming_uniform
 * with a = sqrt(5)) from rng.h keyed by seed, B = 0, scaling alpha / r,
 * dropout on the adapters' input in training. Fails if already enabled. */
int encoder_lora_enable(Encoder *m, int r, float alpha, float dropout, uint64_t seed,
                        PifiErr *err);
/* Float count of the adapters (0 without LoRA), and pointing an
 * EncoderLora into mem (gradients, moments) with m->lora's layout. */
int64_t encoder_lora_param_count(const Encoder *m);
void encoder_lora_point(const Encoder *m, EncoderLora *lo, float *mem);
/* Tensor i of 4 L in lo (m->lora or one pointed by encoder_lora_point), in
 * PEFT's names: "encoder.layer.{l}.attention.self.{query|value}.lora_{A|B}.weight"
 * (MPNet: "encoder.layer.{l}.attention.attn.{q|v}.lora_{A|B}.weight";
 * ALBERT: one pair for its shared layer, 4 tensors,
 * "encoder.albert_layer_groups.0.albert_layers.0.attention.{query|value}.lora_{A|B}.weight"),
 * shape (r, C) for A, (C, r) for B. Returns -1 when i is out of range. */
int encoder_lora_tensor(const Encoder *m, const EncoderLora *lo, int i, char *name, size_t name_n,
                        float **data, int64_t shape[2]);
/* Fold the adapters into the base weights (W += alpha/r B A) and drop them:
 * the eval forward is unchanged, and as fast as without LoRA. */
void encoder_lora_merge(Encoder *m);
/* Drop the adapters without merging. */
void encoder_lora_disable(Encoder *m);

#endif
