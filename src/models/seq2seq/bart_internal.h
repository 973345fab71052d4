/* bart_internal.h: what the BART family's files share (bart_*.c):
 * transformers' BartForConditionalGeneration, model_type "bart". Its
 * parameters in one arena (Seq2Seq.param_mem) laid out by one table
 * (bart_layout: pointers, counts, HF names, shapes, decay), the activations
 * of the last encode and decode kept for their backwards, the attention core
 * of its three attentions (encoder self, causal decoder self, decoder cross
 * over the memory) and the functions of its table (seq2seq_family.h).
 *
 * The model: shared embeddings (times sqrt(C) with scale_embedding) + learned
 * positions (rows max_pos + 2, position t at row t + 2), layernorm_embedding,
 * then post-LayerNorm layers (eps 1e-5):
 *   encoder: x = LN(x + Wo attn(x));            x = LN(x + fc2(act(fc1(x))))
 *   decoder: y = LN(y + Wo causal_attn(y));     y = LN(y + Wo' attn(y, memory))
 *            y = LN(y + fc2(act(fc1(y))));      logits = y shared^T + final_logits_bias
 * Attention: q, k, v with biases, softmax(q k^T hs^-0.5 + mask) v per head.
 * final_logits_bias [1, V] is a buffer in transformers (not trained): it is
 * kept outside the arena (Bart.flb), never in the tensor table.
 *
 * Sizes: B batch, Ts source, Tt target, C d_model, NH heads, hs = C / NH,
 * FF encoder_ffn_dim or decoder_ffn_dim, L layers of a stack, V vocabulary,
 * P = max_pos + 2 position rows. */
#ifndef PIFI_BART_INTERNAL_H
#define PIFI_BART_INTERNAL_H

#include <stdint.h>

#include "kernels/compute.h"
#include "models/seq2seq/seq2seq_family.h"

#define BART_LN_EPS 1e-5f

/* One stack's parameters (NULL where the encoder has none), each stacked over
 * the L layers, shapes as transformers stores them. */
typedef struct {
    float *pos;         /* (P, C) embed_positions */
    float *lnew, *lneb; /* (C) layernorm_embedding */
    float *qkvw;        /* (L, 3C, C) self_attn.{q,k,v}_proj.weight */
    float *qkvb;        /* (L, 3C) */
    float *ow, *ob;     /* (L, C, C), (L, C) self_attn.out_proj */
    float *ln1w, *ln1b; /* (L, C) self_attn_layer_norm */
    float *cqkvw;       /* (L, 3C, C) decoder: encoder_attn.{q,k,v}_proj.weight */
    float *cqkvb;       /* (L, 3C) */
    float *cow, *cob;   /* (L, C, C), (L, C) decoder: encoder_attn.out_proj */
    float *ln2w, *ln2b; /* (L, C) decoder: encoder_attn_layer_norm */
    float *fc1w, *fc1b; /* (L, FF, C), (L, FF) */
    float *fc2w, *fc2b; /* (L, C, FF), (L, C) */
    float *ln3w, *ln3b; /* (L, C) final_layer_norm */
} BartStack;

typedef struct {
    float *shared; /* (V, C) model.shared: both stacks' embeddings and the LM head */
    BartStack enc, dec;
} BartParams;

/* One row of the tensor table: one HF tensor, in arena order. */
typedef struct {
    char name[96];    /* BartForConditionalGeneration's state_dict name */
    float *w;         /* into the arena given to bart_layout (or an offset from NULL) */
    int64_t n;
    int ndim;
    int64_t shape[2];
    int decay;        /* weights and embeddings 1; biases and LayerNorms 0 */
} BartTensor;

/* The layout for c: p's pointers into mem (mem NULL: offsets from NULL are
 * not used, only the count), rows (when not NULL, cap of them) in arena
 * order; *nrows their number. Returns the floats of the arena, -1 when
 * rows would exceed cap. */
int64_t bart_layout(const Seq2SeqConfig *c, BartParams *p, float *mem, BartTensor *rows, int cap, int *nrows);

/* The activations of one stack's pass (bart_forward.c), stacked over layers,
 * N = B x T rows of the stack, M = B x Ts rows of the memory. */
typedef struct {
    int dec;          /* 1: the decoder's */
    int valid;        /* the last pass succeeded: its backward may run */
    int B, T, Tk;     /* Tk: the memory's length (decoder) */
    float p_hidden, p_attn, p_act; /* the pass's dropout (0 in eval): dropout, attention_dropout, activation_dropout */
    uint64_t seed;    /* of its masks */
    float *attd;      /* (B, NH, T, max(T, Tk)) the probabilities after dropout (training), one layer's */
    float *emb;       /* (N, C) scaled token embeddings + positions (layernorm_embedding's input) */
    float *emb_mean, *emb_rstd; /* (N) */
    float *x;         /* (L + 1, N, C) each layer's input; x[L] the stack's output */
    float *qkv;       /* (L, N, 3C) */
    float *att;       /* (L, B, NH, T, T) probabilities */
    float *ao;        /* (L, N, C) heads concatenated, before out_proj */
    float *r1, *h1;   /* (L, N, C) x + self-attention, its LayerNorm */
    float *m1, *s1;   /* (L, N) */
    float *cq;        /* (L, N, C) decoder: cross-attention queries */
    float *ckv;       /* (L, M, 2C) decoder: its keys | values of the memory */
    float *catt;      /* (L, B, NH, T, Tk) */
    float *cao;       /* (L, N, C) */
    float *r2, *h2;   /* (L, N, C) h1 + cross-attention, its LayerNorm */
    float *m2, *s2;   /* (L, N) */
    float *f1, *a1;   /* (L, N, FF) fc1 out, activation out */
    float *r3;        /* (L, N, C) LayerNorm input of the feed-forward block */
    float *m3, *s3;   /* (L, N) */
    float *memory;    /* (M, C) decoder: a copy of the memory */
    float *logits;    /* (N, V) decoder */
    int32_t *ids;     /* (B, T) copies of the pass's inputs */
    int32_t *mask;    /* (B, T) encoder: the source mask; decoder: the memory's (B, Tk) */
    float *mem;       /* the allocation */
    size_t cap;       /* its floats */
} BartActs;

typedef struct {
    struct Seq2Seq base; /* first: a Bart * is a Seq2Seq * */
    BartParams p;
    BartTensor *rows;    /* the tensor table */
    int nrows;
    float *flb;          /* (V) final_logits_bias, not trained */
    BartActs enc, dec;
    float *scratch;      /* the backwards' temporaries */
    size_t scratch_cap;
    uint16_t *w16_mem;   /* (num_params) a bf16 copy of the arena (bf16 precision) */
    int w16_fresh;       /* it matches the arena; a backward clears it (an update follows) */
    const uint16_t *w16; /* w16_mem while the passes compute in bf16, else NULL */
} Bart;

static inline Bart *bart_of(Seq2Seq *m) { return (Bart *)m; }
static inline const Bart *bart_cof(const Seq2Seq *m) { return (const Bart *)m; }

/* The linear layers' weight w (a pointer into the arena): fp32, with its bf16
 * copy while the passes compute in bf16 (kernels/compute.h picks). */
static inline LinearW bart_w(const Bart *b, const float *w) {
    return linw(w, b->w16 ? b->w16 + (w - b->base.param_mem) : NULL);
}

/* bart_config.c */
int bart_config_parse(Seq2SeqConfig *cfg, const cJSON *root, const char *path, PifiErr *err);

/* bart_load.c */
int bart_load(Seq2Seq **out, const Seq2SeqConfig *cfg, const char *dir, struct PifiCompute *cx, PifiErr *err);
int bart_init(Seq2Seq **out, const Seq2SeqConfig *cfg, uint64_t seed, struct PifiCompute *cx, PifiErr *err);
void bart_free(Seq2Seq *m);
int bart_tensors(const Seq2Seq *m, Seq2SeqTensor *rows, int cap);

/* bart_forward.c: the bf16 copy made current when the model's context
 * computes in bf16 (b->w16 set, else NULL), and the context's scratch
 * reserved for products of rows x width operands. */
int bart_precision_prepare(Bart *b, int64_t rows, int64_t width, PifiErr *err);

/* A dropout site in training: probability p (0: none), its masks keyed by
 * (seed, stream, element) (kernels/dropout.h), so the backward recomputes
 * them. */
typedef struct {
    float p;
    uint64_t seed, stream;
} BartDrop;

/* The site's stream: stack (0 encoder, 1 decoder), layer (-1: the
 * embeddings), site within the layer (BART_SITE_*). */
enum { BART_SITE_EMB, BART_SITE_ATT, BART_SITE_ATT_OUT, BART_SITE_CROSS, BART_SITE_CROSS_OUT, BART_SITE_ACT,
       BART_SITE_FFN_OUT };
static inline uint64_t bart_stream(int dec, int l, int site) {
    return 0xBA27000000ull + ((uint64_t)dec << 24) + ((uint64_t)(l + 1) << 8) + (uint64_t)site;
}

/* bart_attention.c: out (B, Tq, NH*hs) = softmax(q k^T hs^-0.5, keys where
 * kmask (B, Tk) is 0 and, causal, past the query masked) v per (b, head).
 * q rows (B*Tq) of stride ldq, k and v rows (B*Tk) of stride ldkv; att
 * (B, NH, Tq, Tk) keeps the probabilities (before dropout); with drop (p >
 * 0) attd (B, NH, Tq, Tk) receives them after, else it is unused (NULL). */
void bart_attention_forward(float *out, float *att, float *attd, const float *q, int ldq, const float *k,
                            const float *v, int ldkv, const int32_t *kmask, int B, int Tq, int Tk, int NH, int hs,
                            int causal, const BartDrop *drop);
/* Its backward, ACCUMULATING into dq, dk, dv (strides as q, k, v) from dout
 * (B, Tq, NH*hs), with the forward's drop; datt (B, NH, Tq, Tk) scratch. */
void bart_attention_backward(float *dq, float *dk, float *dv, float *datt, const float *dout, const float *q,
                             int ldq, const float *k, const float *v, int ldkv, const float *att, int B, int Tq,
                             int Tk, int NH, int hs, const BartDrop *drop);

/* bart_forward.c */
int bart_encode(Seq2Seq *m, const int32_t *ids, const int32_t *mask, int B, int Ts, PifiErr *err);
const float *bart_encoder_output(const Seq2Seq *m);
int bart_decode(Seq2Seq *m, const float *memory, const int32_t *mem_mask, const int32_t *dec_ids, int B, int Ts,
                int Tt, PifiErr *err);
const float *bart_logits(const Seq2Seq *m);

/* bart_step.c: incremental decoding (seq2seq_family.h's decode_start, decode_step) */
int bart_decode_start(Seq2Seq *m, const float *memory, const int32_t *mem_mask, int S, int Ts, int K, int cap,
                      PifiErr *err);
int bart_decode_step(Seq2Seq *m, const int32_t *tok, const float **logits, PifiErr *err);

/* bart_backward.c */
int bart_decode_backward(Seq2Seq *m, float *grads, const float *dlogits, float *dmemory, PifiErr *err);
int bart_encode_backward(Seq2Seq *m, float *grads, const float *denc, PifiErr *err);

#endif
