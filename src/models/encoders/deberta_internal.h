/* deberta_internal.h: what the DeBERTa family's files share (deberta_*.c):
 * its parameter layout in Encoder.param_mem (DebertaParams, one table of
 * tensors that points, counts, names and lists them), its activations and
 * backward scratch, its LoRA adapters, all kept behind Encoder.priv
 * (DebertaState); the relative positions (log buckets, the rows of the
 * relative embeddings each (query, key) reads) and the functions of its
 * table (encoder_family.h).
 *
 * Sizes: B batch, T tokens, C hidden, E embedding_size, NH heads, hs = C/NH,
 * L layers, FF intermediate, NR rows of the relative embeddings (2 x the
 * attention span), R the rows a batch of T tokens reads (at most 2T - 1). */
#ifndef PIFI_DEBERTA_INTERNAL_H
#define PIFI_DEBERTA_INTERNAL_H

#include <stdint.h>

#include "kernels/compute.h"
#include "pifi/encoder.h"
#include "pifi/encoder_export.h"
#include "pifi/json.h"

/* Parameters, fp32, in Encoder.param_mem, in this order (NULL: absent in
 * this configuration). Shapes as transformers stores them. */
typedef struct {
    float *wte;      /* (V, E) embeddings.word_embeddings */
    float *wpe;      /* (maxT, E) embeddings.position_embeddings (position_biased_input) */
    float *wtt;      /* (TV, E) embeddings.token_type_embeddings (type_vocab_size > 0) */
    float *projw;    /* (C, E) embeddings.embed_proj, no bias (E != C) */
    float *emb_lnw;  /* (C) embeddings.LayerNorm */
    float *emb_lnb;  /* (C) */
    float *qkvw;     /* (L, 3C, C) v2: query_proj | key_proj | value_proj; v1: in_proj, its rows
                      * by head: q, k, v of head 0, then of head 1, ... */
    float *qb;       /* (L, C) v2: query_proj.bias; v1: q_bias */
    float *kb;       /* (L, C) v2: key_proj.bias; v1: none */
    float *vb;       /* (L, C) v2: value_proj.bias; v1: v_bias */
    float *pkw;      /* (L, C, C) c2p without share_att_key: v2 pos_key_proj, v1 pos_proj */
    float *pkb;      /* (L, C) v2 pos_key_proj.bias (v1's pos_proj has none) */
    float *pqw;      /* (L, C, C) p2c without share_att_key: v2 pos_query_proj, v1 pos_q_proj */
    float *pqb;      /* (L, C) */
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
    float *rel;      /* (NR, C) encoder.rel_embeddings (relative_attention) */
    float *rel_lnw;  /* (C) encoder.LayerNorm (norm_rel_ebd "layer_norm") */
    float *rel_lnb;  /* (C) */
    float *convw;    /* (C, C / groups, k) encoder.conv.conv (v2's ConvLayer, conv_kernel_size k > 0) */
    float *convb;    /* (C) */
    float *conv_lnw; /* (C) encoder.conv.LayerNorm */
    float *conv_lnb; /* (C) */
} DebertaParams;

/* One row of the layout: where the pointer goes, its float count, names. */
typedef struct {
    float **ptr;
    int64_t n;
    const char *name; /* short name (encoder_tensors) */
    int decay;        /* weight decay applies */
    int per_layer;    /* stacks L slices */
} DebertaTensor;
#define DEBERTA_TENSORS 31

/* The layout of p for cfg into t (DEBERTA_TENSORS rows, absent ones n = 0);
 * with mem, p's pointers are set into it (absent: NULL). Returns the floats. */
int64_t deberta_layout(const EncoderConfig *c, DebertaParams *p, float *mem, DebertaTensor *t);

/* Every tensor of p under its checkpoint name (the bare model's), in the
 * checkpoint's order: fn(ctx, name, ndim, shape, data) for each present
 * one (ndim 1 to 3); a nonzero return stops (and is returned).
 * deberta_load.c; the export walks it too. */
typedef int (*DebertaNameFn)(void *ctx, const char *name, int ndim, const int64_t shape[3], float *data);
int deberta_names(const EncoderConfig *c, const DebertaParams *p, DebertaNameFn fn, void *ctx);

/* bf16 copies of the matrices (bf16 precision), shapes as in DebertaParams. */
typedef struct {
    uint16_t *qkvw, *pkw, *pqw, *attprojw, *fcw, *fcprojw, *projw;
} DebertaParams16;

/* LoRA adapters on query_proj and value_proj (v2), PEFT's:
 *   y = x W^T + b + (alpha/r) (dropout(x) A^T) B^T. */
typedef struct {
    float *qa; /* (L, r, C) */
    float *qb; /* (L, C, r) */
    float *va; /* (L, r, C) */
    float *vb; /* (L, C, r) */
} DebertaLora;

/* Activations of one forward (per layer: (L, ...); one layer's in inference). */
typedef struct {
    float *emb;      /* (B, T, E) word + position + type */
    float *proj;     /* (B, T, C) embed_proj (E != C), else NULL */
    float *emb_ln;   /* (B, T, C) LayerNorm */
    float *emb_mean; /* (B, T) */
    float *emb_rstd; /* (B, T) */
    float *x0;       /* (B, T, C) emb_ln * mask, after dropout: the first layer's input */
    float *relln;    /* (R, C) the rows read of the relative embeddings (after their LayerNorm) */
    float *rel_mean; /* (R) */
    float *rel_rstd; /* (R) */
    float *relx;     /* (R, C) relln after a layer's dropout (scratch) */
    float *pk;       /* (L, R, C) positions projected as keys (c2p) */
    float *pq;       /* (L, R, C) positions projected as queries (p2c) */
    float *qkv;      /* (L, B, T, 3C) projections with their biases (and LoRA) */
    float *att;      /* (B, NH, T, T) one layer's probabilities (recomputed by the backward) */
    float *attd;     /* (B, NH, T, T) after dropout (training), else NULL */
    float *c2p;      /* (B, NH, T, R) scratch: q . pk for every row */
    float *p2c;      /* (B, NH, T, R) scratch: k . pq for every row */
    float *atty;     /* (B, T, C) one layer's heads concatenated */
    float *res1;     /* (L, B, T, C) */
    float *ln1;      /* (L, B, T, C) */
    float *ln1_mean, *ln1_rstd; /* (L, B, T) */
    float *fch;      /* (L, B, T, FF) */
    float *fch_act;  /* (B, T, FF) one layer's */
    float *res2;     /* (L, B, T, C) */
    float *ln2;      /* (L, B, T, C) layer output */
    float *ln2_mean, *ln2_rstd; /* (L, B, T) */
    float *lora_u;   /* (L, 2, B, T, r) dropout(x) A^T of the query and value adapters */
    float *lora_ur;  /* (L, R, r) the query adapter on the positions (share_att_key, p2c) */
    float *lora_x;   /* (max(BT, R), C) LoRA dropout scratch */
    float *conv_y;   /* (B, T, C) ConvLayer: the convolution, padding rows zeroed, after dropout */
    float *conv_res; /* (B, T, C) layer 0's output + act(conv_y) */
    float *conv_mean, *conv_rstd; /* (B, T) its LayerNorm */
    float *conv_x;   /* (B, T, C) LN(conv_res) * mask: layer 1's input (the output when L = 1) */
    float *conv_col; /* (B, T, k C / groups) one group's input windows (scratch) */
    float *conv_g;   /* (B, T, C / groups) one group's output (groups > 1, scratch) */
} DebertaActs;

/* Backward scratch. */
typedef struct {
    float *g, *t1, *t2, *t3; /* (B, T, max(C, E)) */
    float *dfch;     /* (B, T, FF) */
    float *dqkv;     /* (B, T, 3C) */
    float *datt;     /* (B, NH, T, T) */
    float *dpk_b, *dpq_b; /* (B, R, C) per batch row, summed in order */
    float *dpk, *dpq;     /* (R, C) */
    float *drelx;    /* (R, C) */
    float *drel;     /* (R, C) dL/d relln, every layer's */
    float *du;       /* (max(BT, R), r) */
    float *dconv_x0; /* (B, T, C) the ConvLayer's share of dL/d(layer 0's input) */
    float *dconv_col;/* (B, T, k C / groups) */
} DebertaGrads;

/* Encoder.priv of a DeBERTa encoder. */
typedef struct {
    DebertaParams p;
    int nrel;              /* NR */
    DebertaParams16 w16;
    uint16_t *w16_mem;
    DebertaLora lora;
    DebertaActs a;
    float *act_mem;
    size_t act_cap;
    int act_B, act_T, act_R, act_one, act_flags;
    int32_t *idx;          /* (2 T T + 2 T): the row (- r_lo) c2p and p2c read for (query i, key j), scratch */
    size_t idx_cap;
    int r_lo, R;           /* rows r_lo .. r_lo + R - 1 of the relative embeddings are read */
    DebertaGrads gs;
    float *grad_mem;
    size_t grad_cap;
} DebertaState;

static inline DebertaState *deberta_state(const Encoder *m) { return (DebertaState *)m->priv; }

/* The relative embeddings' rows (NR), and the attention span. */
int deberta_rel_rows(const EncoderConfig *c);
int deberta_span(const EncoderConfig *c, int T);

/* v2's make_log_bucket_position of one relative position (float32 as
 * transformers computes it); buckets <= 0: rel itself. */
int deberta_bucket(int rel, int buckets, int max_rel);

/* The (T, T) row tables of c2p and p2c (rows of the relative embeddings, as
 * offsets from *r_lo) and the range read, *r_lo .. *r_lo + *R - 1; tab is
 * scratch of 2T - 1. */
void deberta_rel_index(const EncoderConfig *c, int T, int32_t *c2p, int32_t *p2c, int32_t *tab, int *r_lo,
                       int *R);

/* Dropout sites: the embeddings' is 0, layer l's 1 + 7 l + kind (L <= 1024 keeps
 * them under 8192 per step). */
enum {
    DEB_SITE_ATT_PROBS = 0,
    DEB_SITE_ATT_OUT = 1,
    DEB_SITE_FFN_OUT = 2,
    DEB_SITE_LORA_Q = 3,
    DEB_SITE_LORA_V = 4,
    DEB_SITE_REL = 5,       /* the relative embeddings (pos_dropout) */
    DEB_SITE_LORA_QREL = 6, /* the query adapter's input on the positions */
    DEB_SITES_PER_LAYER = 7,
};
static inline uint64_t deberta_stream(uint64_t step, int layer, int kind) {
    uint64_t site = layer < 0 ? 0 : 1 + (uint64_t)layer * DEB_SITES_PER_LAYER + (uint64_t)kind;
    return step * 8192u + site;
}

/* dst (R, C) = the relative rows src (rows r_lo ..) after a layer's dropout,
 * keyed by their row in the whole table (deberta_forward.c). */
void deberta_rel_dropout(float *dst, const float *src, int r_lo, int R, int C, float p, uint64_t seed,
                         uint64_t stream);

/* The disentangled attention of one layer (deberta_attention.c). */
typedef struct {
    int B, T, C, NH, R;
    int v1;                /* qkv's head layout: v1 interleaved (q k v of each head), v2 q | k | v */
    float scale;           /* 1 / sqrt(hs (1 + c2p + p2c)) */
    const int32_t *c2p;    /* (T, T) rows of pk for (i, j), NULL: no c2p */
    const int32_t *p2c;    /* (T, T) rows of pq, NULL: no p2c */
    const int32_t *mask;   /* (B, T) */
    float p;               /* dropout on the probabilities */
    uint64_t seed, stream, row0;
} DebertaAttn;

/* out (B, T, C) = softmax(mask(q k^T s + c2p + p2c)) v; att keeps the
 * probabilities before dropout; masked (query, key) pairs get -FLT_MAX
 * (a padded query's row is then uniform, as transformers'). */
void deberta_attention_forward(float *out, float *att, float *attd, float *c2p_s, float *p2c_s, const float *qkv,
                               const float *pk, const float *pq, const DebertaAttn *d);
/* Its backward, ACCUMULATING into dqkv (B, T, 3C); dpk_b, dpq_b (B, R, C)
 * are WRITTEN with each batch row's share of dL/dpk, dL/dpq; c2p_s, p2c_s,
 * datt, attd scratch. */
void deberta_attention_backward(float *dqkv, float *dpk_b, float *dpq_b, float *datt, float *attd, float *c2p_s,
                                float *p2c_s, const float *dout, const float *qkv, const float *att, const float *pk,
                                const float *pq, const DebertaAttn *d);

/* The family's table entries. */
int deberta_config_parse(EncoderConfig *cfg, const cJSON *root, const char *path, PifiErr *err);
int deberta_load(Encoder *m, const char *dir, PifiErr *err);
void deberta_free(Encoder *m);
int deberta_forward(Encoder *m, const int32_t *ids, const int32_t *type_ids, const int32_t *mask, int B, int T,
                    PifiErr *err);
const float *deberta_output(const Encoder *m);
int deberta_backward(Encoder *m, float *grads, float *lora_grads, const float *dout, PifiErr *err);
int deberta_export(const Encoder *m, const char *prefix, int merge_lora, EncoderExport *x, float **keep,
                   PifiErr *err);
int deberta_lora_enable(Encoder *m, int r, float alpha, float dropout, uint64_t seed, PifiErr *err);
int deberta_tensors(const Encoder *m, EncoderTensor *rows, int cap);

/* The HF-named views of the parameters laid out as param_mem in mem (the
 * model's own, or a gradient arena), prefix as encoder_export's. */
int deberta_export_mem(const Encoder *m, const float *mem, const char *prefix, EncoderExport *x, PifiErr *err);

/* LoRA adapter tensor i of 4 L (per layer: query A, B, value A, B) in lo
 * (NULL: the model's) or in an arena laid out as lora_mem (mem), under
 * PEFT's names "encoder.layer.{l}.attention.self.{query|value}_proj.lora_{A|B}.weight".
 * Returns -1 when i is out of range. */
int deberta_lora_tensor(const Encoder *m, float *mem, int i, char *name, size_t name_n, float **data,
                        int64_t shape[2]);
/* Point a DebertaLora into an arena laid out as lora_mem. */
void deberta_lora_point(const Encoder *m, DebertaLora *lo, float *mem);

/* The adapters in the forward (layer l): qkv (BT, 3C) query and value
 * columns += their terms for input x; and on the positions: pq (R, C) +=
 * the query adapter's for relx. Their backward: the adapters' gradients
 * into lg (NULL: frozen), dL/dx into dx (NULL: skipped). deberta_lora.c. */
void deberta_lora_forward(Encoder *m, int l, const float *x, float *qkv, int B, int T, float p, uint64_t seed,
                          uint64_t step, uint64_t row0);
void deberta_lora_backward(Encoder *m, DebertaLora *lg, int l, const float *x, const float *dqkv, float *dx, int B,
                           int T, float p, uint64_t seed, uint64_t step, uint64_t row0);
void deberta_lora_rel_forward(Encoder *m, int l, const float *relx, float *pq, int R, float p, uint64_t seed,
                              uint64_t step);
void deberta_lora_rel_backward(Encoder *m, DebertaLora *lg, int l, const float *relx, const float *dpq,
                               float *drelx, int R, float p, uint64_t seed, uint64_t step);

/* v2's ConvLayer after layer 0 (deberta_conv.c), when conv_k > 0:
 *   conv_x = LN(h0 + act(dropout(mask(Conv1d(x0))))) * mask
 * x0 (B, T, C) the first layer's input, h0 layer 0's output. Its backward
 * from dconv_x (B, T, C): dL/dh0 WRITTEN to dh0, the conv's share of
 * dL/dx0 WRITTEN to gs->dconv_x0 (with gp), the weights' gradients
 * accumulated into gp (NULL: frozen; dconv_x0 is then not computed);
 * t1, t2 (B, T, C) scratch. */
void deberta_conv_forward(Encoder *m, const float *x0, const float *h0, int B, int T, float hp, uint64_t seed,
                          uint64_t step, uint64_t row0);
void deberta_conv_backward(Encoder *m, DebertaParams *gp, const float *dconv_x, float *dh0, const float *x0,
                           float *t1, float *t2, float hp, uint64_t seed, uint64_t step, uint64_t row0);

/* Sizes from the config alone (deberta_family.c). */
int64_t deberta_config_params(const EncoderConfig *c);
int64_t deberta_config_act_floats(const EncoderConfig *c, int64_t B, int64_t T, int layers, int lora_r);
int64_t deberta_config_grad_scratch_floats(const EncoderConfig *c, int64_t B, int64_t T, int lora_r);

#endif
