/* modernbert_internal.h: what the ModernBERT family's files share
 * (modernbert_family.c, modernbert_config.c, modernbert.c,
 * modernbert_backward.c): its parameters, activations and scratch, kept
 * behind Encoder.priv (its weights are not BERT-shaped: pre-norm layers,
 * layer 0 without attn_norm, GeGLU, optional biases), the parameters laid
 * out in Encoder.param_mem in the order of modernbert_tensors. */
#ifndef PIFI_MODERNBERT_INTERNAL_H
#define PIFI_MODERNBERT_INTERNAL_H

#include <stdint.h>

#include "pifi/encoder.h"
#include "pifi/encoder_export.h"
#include "pifi/json.h"

/* EncoderConfig.modernbert.bias */
enum { MB_BIAS_ATTN = 1u, MB_BIAS_MLP = 2u, MB_BIAS_NORM = 4u };

/* Parameters (fp32, in Encoder.param_mem), shapes as PyTorch stores them.
 * A bias the config turns off is NULL (and not in the arena). */
typedef struct {
    float *tok;             /* (V, C) embeddings.tok_embeddings */
    float *emb_nw, *emb_nb; /* (C) embeddings.norm */
    float *attn_nw, *attn_nb; /* (L-1, C) layers.{1..L-1}.attn_norm (layer 0's is the identity) */
    float *wqkv, *bqkv;     /* (L, 3C, C), (L, 3C) layers.N.attn.Wqkv: query | key | value */
    float *wo, *bo;         /* (L, C, C), (L, C) layers.N.attn.Wo */
    float *mlp_nw, *mlp_nb; /* (L, C) layers.N.mlp_norm */
    float *wi, *bi;         /* (L, 2FF, C), (L, 2FF) layers.N.mlp.Wi: rows 0..FF-1 the GELU'd half, FF.. the gate */
    float *wo2, *bo2;       /* (L, C, FF), (L, C) layers.N.mlp.Wo */
    float *fin_nw, *fin_nb; /* (C) final_norm */
} MbParams;

/* bf16 copies of the four matrices (bf16 precision), shapes as above. */
typedef struct {
    uint16_t *wqkv, *wo, *wi, *wo2;
} MbParams16;

/* Activations of one forward pass, kept for the backward (li: layer l's
 * slice, or 0 for every layer in inference mode). */
typedef struct {
    float *emb;             /* (BT, C) token embeddings */
    float *emb_mean, *emb_rstd; /* (BT) */
    float *h;               /* (L+1, BT, C) residual stream: h[0] the embeddings' output, h[l+1] layer l's */
    float *an;              /* (L, BT, C) attn_norm(h[l]) (layer 0: unused, its input is h[0]) */
    float *an_mean, *an_rstd; /* (L, BT) */
    float *qkv;             /* (L, BT, 3C) Wqkv an, query and key rotated */
    float *att;             /* (B, NH, T, T) one layer's probabilities (the backward recomputes the others') */
    float *atty;            /* (BT, C) one layer's heads concatenated (recomputed likewise) */
    float *hm;              /* (L, BT, C) h[l] + the attention's output */
    float *mn;              /* (L, BT, C) mlp_norm(hm) */
    float *mn_mean, *mn_rstd; /* (L, BT) */
    float *wi_a, *wi_g;     /* (L, BT, FF) the two halves of Wi mn */
    float *gact;            /* (BT, FF) one layer's GELU(wi_a) (recomputed) */
    float *glu;             /* (BT, FF) one layer's GELU(wi_a) * wi_g, after the MLP dropout (recomputed) */
    float *out;             /* (BT, C) final_norm(h[L]): last_hidden_state */
    float *out_mean, *out_rstd; /* (BT) */
    float *window;          /* (NH, T, T) 0 within the window, -1e30 beyond: the sliding layers' scores bias */
    float *attd;            /* (B, NH, T, T) scratch: probabilities after dropout (training), else NULL */
    float *glu0;            /* (BT, FF) scratch: GELU(wi_a) * wi_g before the MLP dropout, else NULL */
} MbActs;

/* Scratch of the backward pass. */
typedef struct {
    float *g, *t1, *t2;     /* (BT, C) */
    float *dqkv;            /* (BT, 3C) */
    float *datt;            /* (B, NH, T, T) */
    float *dglu, *da, *dg;  /* (BT, FF) */
} MbGrad;

/* Encoder.priv of the family. */
typedef struct {
    MbParams p;
    MbParams16 w16;
    uint16_t *w16_mem;
    float *inv_freq;        /* (2, HD/2) RoPE frequencies: full layers', sliding layers' */
    float *zeros;           /* (max(C, 2FF)) the bias of a norm or linear layer the config leaves out */
    MbActs a;
    float *act_mem;
    size_t act_cap;
    int act_B, act_T, act_inference;
    unsigned act_drop;      /* which dropout scratch acts holds */
    MbGrad gs;
    float *grad_mem;
    size_t grad_cap;
    int last_layer_kept;    /* att, atty, gact, glu hold the last layer's */
} MbState;

/* config.json of model_type "modernbert" (modernbert_config.c). */
int modernbert_config_parse(EncoderConfig *cfg, const cJSON *root, const char *path, PifiErr *err);

/* Layer l attends within the window (a sliding layer), else to every key. */
static inline int mb_sliding(const EncoderConfig *c, int l) { return l % c->modernbert.global_every != 0; }

/* Point p into mem (NULL: count only); the float count (modernbert.c). */
size_t mb_point_params(MbParams *p, float *mem, const EncoderConfig *c);

/* modernbert.c */
int modernbert_load(Encoder *m, const char *dir, PifiErr *err);
void modernbert_free(Encoder *m);
int modernbert_forward(Encoder *m, const int32_t *ids, const int32_t *type_ids, const int32_t *mask, int B, int T,
                       PifiErr *err);
const float *modernbert_output(const Encoder *m);
int modernbert_export(const Encoder *m, const char *prefix, int merge_lora, EncoderExport *x, float **keep,
                      PifiErr *err);

/* Layer l's attention core (acts att, atty) and GLU (gact, glu, after the
 * MLP dropout mp) from its kept qkv and Wi halves (slice li), with the last
 * forward's shape and dropout keys: the forward calls them, the backward
 * again for the layers whose att and glu it did not keep. */
void mb_attention(Encoder *m, int l, int li, float ap);
void mb_glu(Encoder *m, int l, int li, float mp);

/* modernbert_backward.c */
int modernbert_backward(Encoder *m, float *grads, float *lora_grads, const float *dout, PifiErr *err);

#endif
