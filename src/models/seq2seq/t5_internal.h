/* t5_internal.h: what the T5 family's files share (transformers'
 * T5ForConditionalGeneration, v1.0 and v1.1/FLAN).
 *
 * One fp32 arena (Seq2Seq.param_mem) holds every parameter in the order of
 * one table (t5_layout: T5Row, checkpoint names and shapes); the passes find
 * a tensor by its offset, so the same offsets address a gradient arena laid
 * out like it. A stack (0 the encoder, 1 the decoder) is its blocks
 * (T5BlockW), its relative attention bias (held by block 0, used by every
 * block) and its final_layer_norm.
 *
 *   block (pre-norm, no biases, no 1/sqrt(d) scaling):
 *     x += drop(o(attn(q, k, v of RMS(x)) + relative bias [+ causal mask, decoder]))
 *     decoder: x += drop(co(attn(cq of RMS(x), ck, cv of memory) + memory mask))
 *     x += drop(wo(drop(relu(wi RMS(x)))))            v1.0 ("relu")
 *     x += drop(wo(drop(gelu_new(wi_0 n) * wi_1 n)))  v1.1 ("gated-gelu"), n = RMS(x)
 *   stack: x = drop(shared[ids]); blocks; out = drop(RMS(x))
 *   logits = (out * C^-0.5 when scaled) lm^T, lm = shared (tied) or lm_head
 *
 * Sizes: B batch, T the stack's tokens (Ts source, Tt target), C d_model,
 * NH heads, D d_kv, I = NH * D, F d_ff, V vocabulary, NB buckets, L layers. */
#ifndef PIFI_T5_INTERNAL_H
#define PIFI_T5_INTERNAL_H

#include <stdint.h>

#include "kernels/compute.h"
#include "models/seq2seq/seq2seq_family.h"

extern const Seq2SeqFamily SEQ2SEQ_FAMILY_T5;

/* A block's tensors as offsets into the arena; -1: the block has none. */
typedef struct {
    int64_t sa_ln, q, k, v, o;     /* layer.0: layer_norm, SelfAttention q/k/v (I, C), o (C, I) */
    int64_t ca_ln, cq, ck, cv, co; /* decoder layer.1: layer_norm, EncDecAttention */
    int64_t ff_ln, wi0, wi1, wo;   /* last layer: layer_norm, wi or wi_0 (F, C), wi_1 (F, C), wo (C, F) */
} T5BlockW;

/* One row of the parameter table: a checkpoint name, its offset and shape. */
typedef struct {
    char name[96];
    int64_t off, d0, d1; /* d1 0: a vector */
    int decay;           /* matrices 1, layer norms 0 */
} T5Row;

/* The activations of one pass of a stack, kept for its backward, and the
 * backward's scratch: one allocation (mem), pointed by t5_acts_point. */
typedef struct {
    int B, T, Ts;       /* this pass's batch, tokens, and (decoder) memory tokens */
    int valid;          /* the last pass succeeded: its backward may run */
    size_t cap;         /* floats allocated */
    float *mem;
    int32_t *ids;       /* (B, T) */
    int32_t *kmask;     /* (B, Ts) the encoder's mask (both stacks: the source's) */
    float *bias;        /* (NH, T, T) relative position bias */
    float *x;           /* (L + 1, B, T, C) block inputs; x[L] the final norm's input */
    float *xa, *xc;     /* (L, B, T, C) after the self- and (decoder) cross-attention */
    float *n1, *n2, *n3;        /* (L, B, T, C) the sublayers' normed inputs */
    float *r1, *r2, *r3, *rf;   /* (L, B, T) their rstd; rf (B, T) the final norm's */
    float *q, *k, *v, *ao;      /* (L, B, T, I) */
    float *att;                 /* (L, B, NH, T, T) probabilities before dropout */
    float *cq, *cao;            /* (L, B, T, I) */
    float *ck, *cv;             /* (L, B, Ts, I) */
    float *catt;                /* (L, B, NH, T, Ts) */
    float *memory;              /* (B, Ts, C) decoder: a copy of the memory */
    float *h0, *h1, *ga, *hd;   /* (L, B, T, F): wi/wi_0 out, wi_1 out, act(h0), wo's input (after dropout) */
    float *out;                 /* (B, T, C) the stack's output (after dropout) */
    float *y;                   /* (B, T, C) decoder: the LM head's input (out, rescaled when tied) */
    float *logits;              /* (B, T, V) decoder */
    /* backward scratch */
    float *dx, *dn, *tmp;       /* (B, T, C) */
    float *dq, *dk, *dv, *dao;  /* (B, max(T, Ts), I) */
    float *datt, *attd;         /* (B, NH, T, max(T, Ts)) */
    float *dh0, *dh1, *dha;     /* (B, T, F) */
    int *bk;                    /* (2T - 1) buckets (t5_buckets) */
    double *acc;                /* (NH, NB) the bias gradient's sums */
} T5Acts;

typedef struct {
    Seq2Seq base; /* first: a Seq2Seq * is a T5 * */
    T5Row *rows;
    int nrows;
    int64_t shared, lm_head;      /* lm_head == shared when tied */
    int64_t relb[2], final_ln[2]; /* relative_attention_bias (NB, NH), final_layer_norm (C), per stack */
    T5BlockW *blk[2];             /* L_enc, L_dec blocks */
    int nblk[2];
    T5Acts acts[2];
    uint16_t *w16_mem;            /* (num_params) a bf16 copy of the arena (bf16 precision) */
    int w16_fresh;                /* it matches the arena; a backward clears it (an update follows) */
    const uint16_t *w16;          /* w16_mem while the passes compute in bf16, else NULL */
} T5;

static inline T5 *t5_of(Seq2Seq *m) { return (T5 *)m; }
static inline const T5 *t5_of_const(const Seq2Seq *m) { return (const T5 *)m; }

/* The linear layers' weight at offset off: fp32, with its bf16 copy while
 * the passes compute in bf16 (kernels/compute.h picks). */
static inline LinearW t5_w(const T5 *t, int64_t off) {
    return linw(t->base.param_mem + off, t->w16 ? t->w16 + off : NULL);
}

/* t5_config.c */
int t5_config_parse(Seq2SeqConfig *cfg, const cJSON *root, const char *path, PifiErr *err);

/* t5_load.c: the table (rows NULL: count only) and the offsets; returns the
 * number of rows, *total the arena's floats. */
int t5_layout(const Seq2SeqConfig *c, T5 *t, T5Row *rows, int64_t *total);
int t5_load(Seq2Seq **out, const Seq2SeqConfig *cfg, const char *dir, struct PifiCompute *cx, PifiErr *err);
int t5_init(Seq2Seq **out, const Seq2SeqConfig *cfg, uint64_t seed, struct PifiCompute *cx, PifiErr *err);
void t5_free(Seq2Seq *m);
int t5_tensors(const Seq2Seq *m, Seq2SeqTensor *rows, int cap);

/* t5_attention.c: the attention core and the relative position bias.
 * q (B, Tq, NH*D), k, v (B, Tk, NH*D); bias (NH, Tq, Tk) or NULL; kmask
 * (B, Tk) 1 real / 0 padded or NULL; causal: query i sees keys <= i. att
 * (B, NH, Tq, Tk) the probabilities (before dropout p, keyed by seed and
 * stream); attd (B, NH, Tq, Tk) scratch when p > 0. No 1/sqrt(D) scaling. */
void t5_attention_forward(float *out, float *att, float *attd, const float *q, const float *k, const float *v,
                          const float *bias, const int32_t *kmask, int causal, int B, int Tq, int Tk, int NH,
                          int D, float p, uint64_t seed, uint64_t stream);
/* ACCUMULATES dq, dk, dv; datt (B, NH, Tq, Tk) receives dL/dscores (also
 * dL/dbias per row b). */
void t5_attention_backward(float *dq, float *dk, float *dv, float *datt, float *attd, const float *dout,
                           const float *q, const float *k, const float *v, const float *att, int B, int Tq,
                           int Tk, int NH, int D, float p, uint64_t seed, uint64_t stream);
/* transformers' _relative_position_bucket of rel = key - query, in float32 as torch */
int t5_relative_bucket(int rel, int bidirectional, int NB, int max_distance);
/* bk (2T - 1): the bucket of rel = -(T - 1) .. T - 1 at bk[rel + T - 1] */
void t5_buckets(int *bk, int bidirectional, int NB, int max_distance, int T);
/* bias (NH, T, T) = relb (NB, NH) by bucket; drelb += the dscores (B, NH,
 * T, T) summed by bucket (acc (NH, NB) scratch) */
void t5_relbias_forward(float *bias, const float *relb, const int *bk, int NH, int T);
void t5_relbias_backward(float *drelb, double *acc, const float *dscores, const int *bk, int B, int NH, int NB,
                         int T);

/* t5_forward.c */
/* In a bf16 context: the bf16 copy made current (t->w16 set, else NULL) and
 * the context's scratch reserved for operands of rows x width. */
int t5_precision_prepare(T5 *t, int64_t rows, int64_t width, PifiErr *err);
int t5_encode(Seq2Seq *m, const int32_t *ids, const int32_t *mask, int B, int Ts, PifiErr *err);
const float *t5_encoder_output(const Seq2Seq *m);
int t5_decode(Seq2Seq *m, const float *memory, const int32_t *mem_mask, const int32_t *dec_ids, int B, int Ts,
              int Tt, PifiErr *err);
const float *t5_logits(const Seq2Seq *m);
/* the dropout stream of site s of block l of a stack (l = -1: the stack's own) */
uint64_t t5_stream(int stack, int l, int s);
enum { T5_DROP_EMB, T5_DROP_SA_ATT, T5_DROP_SA, T5_DROP_CA_ATT, T5_DROP_CA, T5_DROP_FF_HID, T5_DROP_FF, T5_DROP_OUT };

/* t5_step.c: incremental decoding (seq2seq_family.h's decode_start, decode_step) */
int t5_decode_start(Seq2Seq *m, const float *memory, const int32_t *mem_mask, int S, int Ts, int K, int cap,
                    PifiErr *err);
int t5_decode_step(Seq2Seq *m, const int32_t *tok, const float **logits, PifiErr *err);

/* t5_backward.c */
int t5_decode_backward(Seq2Seq *m, float *grads, const float *dlogits, float *dmemory, PifiErr *err);
int t5_encode_backward(Seq2Seq *m, float *grads, const float *denc, PifiErr *err);

#endif
