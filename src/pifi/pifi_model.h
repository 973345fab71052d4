/* pifi_model.h: the PiFi composition for classification:
 *
 *   h = Enc(x)              (B, T, C)     the small model (SLM), trainable
 *   u = pool(h)             (B, C)        CLS (default), mean of real tokens, or last real token
 *   z = L_llm(L_in u)       (B, D)        L_in: Linear(C -> D, no bias); L_llm frozen, one token at position 0
 *   y = Head(L_out z)       (B, K)        L_out: Linear(D -> C, no bias);
 *                                         Head: Linear(C, C) -> Dropout(0.2) -> GELU -> Linear(C, K)
 *
 * With no LLM layer (method "base") the head reads u directly. The sequence
 * mode sends every position through the layer: L_out(L_llm(L_in h)); the
 * span mode (extractive QA, pifi_span.c) puts a span head Linear(C, 2) on
 * every position of it (or of h without a layer): start and end logits. */
#ifndef PIFI_PIFI_MODEL_H
#define PIFI_PIFI_MODEL_H

#include <stdint.h>

#include "pifi/compute.h"
#include "pifi/encoder.h"
#include "pifi/err.h"
#include "pifi/llm_layer.h"
#include "pifi/safetensors.h"

/* POOL_AUTO: the SLM family's own (EncoderFamily.default_pooling: cls, the
 * decoder family's last), resolved before a run starts (train_opts_resolve). */
typedef enum { POOL_CLS, POOL_MEAN, POOL_LAST, POOL_AUTO } PifiPooling;

/* -1 if unknown; names "cls", "mean", "last". */
int pifi_pooling_parse(const char *s, PifiPooling *out);
const char *pifi_pooling_name(PifiPooling p);

/* Trainable parameters outside the SLM, one arena. */
typedef struct {
    float *l_in;    /* (D, C), NULL without an LLM layer */
    float *l_out;   /* (C, D), NULL without an LLM layer */
    float *head_w1; /* (C, C) */
    float *head_b1; /* (C) */
    float *head_w2; /* (K, C) */
    float *head_b2; /* (K) */
} PifiHeadParams;

typedef struct {
    float *pooled; /* (B, C) */
    float *u;      /* (B, D) L_in output */
    float *z;      /* (B, D) LLM layer output */
    float *v;      /* (B, C) L_out output, or = pooled without a layer */
    float *h1;     /* (B, C) head dense */
    float *h1d;    /* (B, C) after the head's dropout (training), = h1 otherwise */
    float *h1a;    /* (B, C) after GELU */
    float *logits; /* (B, K) */
} PifiActs;

/* The span mode (pifi_span.c; pifi_model_init_span): the head is head_w2
 * (2, C) and head_b2 (2) on every position, no pooling and no dense layer
 * (head_w1, head_b1 NULL). */
typedef struct {
    int on;
    int causal;    /* the layer's attention causal; 0: bidirectional (the authors', the default) */
    int mask_ones; /* the authors' all-ones mask: the layer attends to padding too (comparison only) */
    float *u, *z;  /* (B, T, D) L_in output, layer output */
    float *v;      /* (B, T, C) L_out output; the SLM's output without a layer */
    float *logits; /* (B, T, 2) start, end */
    float *mem;    /* u, z, logits (v without a layer: the SLM's own) */
    size_t mem_size;
    float *gmem;   /* backward scratch */
    size_t gmem_size;
    const int32_t *mask; /* (B, T) of the last forward */
    int B, T;
} PifiSpan;

typedef struct {
    Encoder slm;
    LlmLayer llm;
    int has_llm;
    int C, D, K;
    PifiPooling pooling;
    PifiHeadParams hp;
    float *hp_mem;
    int64_t hp_count;
    PifiActs acts;
    float *act_mem;
    int act_B;
    /* training */
    int train;
    float head_dropout;   /* 0.2, the authors' head */
    uint64_t seed, step;  /* dropout masks are keyed by (seed, step, global row) */
    uint64_t row0;        /* global row of the batch's row 0 (pifi_model_set_row0) */
    const int32_t *last_mask; /* mask of the last forward (pool backward) */
    int last_B, last_T;   /* rows and tokens of the last forward (T 0: pifi_model_forward_pooled) */
    float *gscratch;      /* backward scratch */
    size_t gscratch_size;
    struct PifiCompute *cx; /* the compute context slm and llm share (precision, oneDNN primitives) */
    PifiSpan span;          /* the span mode's state (span.on = 0: classification) */
} PifiModel;

/* Gradient destinations. NULL (or NULL fields) = frozen: not computed. */
typedef struct {
    float *enc;           /* the SLM's weights, laid out as its param_mem (NULL for LoRA, whose base
                           * is frozen) */
    PifiHeadParams head;  /* L_in, L_out, head */
    LlmLayerParams *llm;  /* the plugged layer (pifi-unfrozen only) */
    float *lora;          /* the SLM's adapters, laid out as its lora_mem, or NULL */
} PifiGrads;

/* Assemble from parts: the SLM directory, an LLM layer (path + layer index,
 * INT32_MIN to use an extracted directory's own; llm_path NULL for "base"),
 * K classes, computing in precision prec: the model owns the one compute
 * context, which the SLM and the layer borrow. llm_frozen: the layer will
 * not change (no training, no random init); in BF16 it then loads straight
 * into its bf16 form, never all in fp32 (pifi_model_set_precision(m, BF16,
 * 1, ...) without the fp32 step). Head weights are left uninitialised: load
 * them with pifi_model_load_heads or initialise them (training). */
int pifi_model_init(PifiModel *m, const char *slm_dir, const char *llm_path, int llm_layer, int K,
                    PifiPooling pooling, int pooled_only, PifiPrecision prec, int llm_frozen, PifiErr *err);
/* --method llm-layer-only (the paper's B.7): no SLM and no plug-in; the
 * LLM's own token embeddings and its layer `layer` as the SLM
 * (encoder_load_llm_layer), then pooling and the head. */
int pifi_model_init_llm_layer_only(PifiModel *m, const char *llm_path, int layer, int K, PifiPooling pooling,
                                   PifiPrecision prec, PifiErr *err);
void pifi_model_free(PifiModel *m);

/* Arithmetic of the following passes (pifi/compute.h): FP32 (the default) or
 * BF16 products in the SLM and the LLM layer (fp32 master weights; bf16
 * copies refreshed at the first forward after each pifi_model_set_train, so
 * call that after changing weights). llm_frozen: the layer will not train,
 * so in BF16 only its bf16 copy is kept (the fp32 one is freed; its hash is
 * kept for llm_layer_weights_sha256). */
int pifi_model_set_precision(PifiModel *m, PifiPrecision p, int llm_frozen, PifiErr *err);
PifiPrecision pifi_model_precision(const PifiModel *m);

/* Inference only (pifi predict, eval): on != 0 promises that the weights do
 * not change any more, so each bf16 matrix is packed once into oneDNN's
 * preferred layout at its first product and reused (faster at small batch,
 * one more copy of the bf16 weights; the same results). on = 0 frees the
 * packed copies. Changing weights (bf16 copies refreshed) drops them too. */
void pifi_model_set_packing(PifiModel *m, int on);

/* int8 weight-only quantization for inference (per output row, absmax): the
 * LLM layer (its fp32/bf16 matrices are dropped) and, with all, the SLM's
 * linear layers and word embeddings too (their fp32 weights stay, for
 * export: encoder_export then writes the int8 form). A model loaded from
 * such a checkpoint (pifi_model_init on the directories `pifi quantize`
 * writes) holds the int8 form only. */
int pifi_model_quantize(PifiModel *m, int all, PifiErr *err);

/* The weights of a quantized model (pifi_model_quantize) as an int8
 * checkpoint: slm_path (a .safetensors file) gets the SLM as encoder_export
 * writes it (int8 where quantized) and the heads under "pifi."; llm_dir
 * (with an LLM layer, which must be int8) gets config.json (its config,
 * naming its layer; llm_source recorded as the source) and
 * model.safetensors (llm_layer_int8_tensors). pifi_model_init(dir of
 * slm_path with a config.json, llm_dir, INT32_MIN, ...) and
 * pifi_model_load_heads(.., "pifi.") load it back in int8 form. */
int pifi_model_save_int8(const PifiModel *m, const char *slm_path, const char *llm_dir, const char *llm_source,
                         PifiErr *err);

/* Bytes of weight arenas the model has allocated since it was created
 * (SLM, LLM layer and heads, in every form: fp32, bf16 copies, int8),
 * freed ones included: what loading cost, e.g. that an int8 checkpoint
 * never had an fp32 copy of its int8 matrices. */
uint64_t pifi_model_weight_bytes_allocated(const PifiModel *m);

/* Read l_in.weight, l_out.weight, head.dense.{weight,bias}, head.out.{weight,bias}. */
int pifi_model_load_heads(PifiModel *m, SafeTensors *st, const char *prefix, PifiErr *err);

/* Point a PifiHeadParams-shaped struct (gradients, moments) into mem of
 * m->hp_count floats, same layout as m->hp_mem. */
void pifi_model_point_heads(const PifiModel *m, PifiHeadParams *p, float *mem);

/* Initialise L_in, L_out and the head as torch.nn.Linear does
 * (uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases), from seed. */
void pifi_model_init_heads(PifiModel *m, uint64_t seed);

/* Training mode: dropout on (SLM and head) with masks keyed by (seed, step),
 * and every activation the backward needs kept. train = 0: inference. */
void pifi_model_set_train(PifiModel *m, int train, uint64_t seed, uint64_t step);

/* The next forward/backward's batch row b is row row0 + b of the step's
 * global batch (default 0): every dropout mask is keyed by (seed, step,
 * global row), so micro-batches and ranks draw the masks one batch would. */
void pifi_model_set_row0(PifiModel *m, uint64_t row0);

/* Backward of the last pifi_model_forward: dlogits (B, K) -> gradients,
 * ACCUMULATED into g (zero them first). */
int pifi_model_backward(PifiModel *m, const float *dlogits, PifiGrads *g, PifiErr *err);

/* Pooled mode: logits (B, K) in m->acts.logits. ids/type_ids/mask (B, T). */
int pifi_model_forward(PifiModel *m, const int32_t *ids, const int32_t *type_ids, const int32_t *mask,
                       int B, int T, PifiErr *err);

/* The SLM's part of pifi_model_forward alone: pooled (B, C) = pool(Enc(x)),
 * the vectors L_in (or a base model's head) reads. */
int pifi_model_pool(PifiModel *m, float *pooled, const int32_t *ids, const int32_t *type_ids, const int32_t *mask,
                    int B, int T, PifiErr *err);

/* The rest of pifi_model_forward from given pooled vectors (B, C): L_in,
 * the layer, L_out, the head; logits (B, K) in m->acts.logits. With
 * pifi_model_backward_pooled, what trains the parts after the SLM on
 * vectors computed once (pifi select-layer, src/exp/select_layer.c). */
int pifi_model_forward_pooled(PifiModel *m, const float *pooled, int B, PifiErr *err);

/* Backward of the last pifi_model_forward_pooled: the gradients of L_in,
 * L_out, the head (and an unfrozen layer's), ACCUMULATED into g; the SLM
 * is not touched (g->enc and g->lora are not read). */
int pifi_model_backward_pooled(PifiModel *m, const float *dlogits, PifiGrads *g, PifiErr *err);

/* Sequence mode: out (B, T, C) = L_out(L_llm(L_in(Enc(x)))), every position,
 * padding mask applied, bidirectional unless causal. */
int pifi_model_forward_seq(PifiModel *m, float *out, const int32_t *ids, const int32_t *type_ids,
                           const int32_t *mask, int B, int T, int causal, PifiErr *err);

/* ------------------------------------------------------------------------ */
/* span mode: extractive question answering (pifi_span.c)
 *
 *   h = Enc(x)                     (B, T, C)
 *   v = L_out(L_llm(L_in h))       (B, T, C)   every position; v = h without a layer
 *   logits = v Ws^T + bs           (B, T, 2)   start, end
 *
 * The layer sees the key padding mask (bidirectional, or causal with
 * span.causal) unless span.mask_ones. */

/* A span model: as pifi_model_init, the layer loaded whole (sequence mode),
 * K = 2 and the span head in place of the classification head. */
int pifi_model_init_span(PifiModel *m, const char *slm_dir, const char *llm_path, int llm_layer,
                         PifiPrecision prec, int llm_frozen, PifiErr *err);

/* Logits (B, T, 2) into m->span.logits. */
int pifi_span_forward(PifiModel *m, const int32_t *ids, const int32_t *type_ids, const int32_t *mask, int B,
                      int T, PifiErr *err);

/* The loss of the last span forward: the mean over the batch of (CE(start) +
 * CE(end)) / 2, each softmax over the row's real tokens (padding is never a
 * candidate). start, end (B): token positions, real ones. dlogits (B, T, 2)
 * (NULL: not computed) its gradient, 0 at padding. -1 if a label is out of
 * the row. */
int pifi_span_loss(const PifiModel *m, const int32_t *start, const int32_t *end, double *loss, float *dlogits,
                   PifiErr *err);

/* Backward of the last span forward: dlogits (B, T, 2) -> gradients,
 * ACCUMULATED into g as pifi_model_backward does. */
int pifi_span_backward(PifiModel *m, const float *dlogits, PifiGrads *g, PifiErr *err);

#endif
