/* encoder.h: the small encoder models PiFi starts from (BERT, RoBERTa,
 * ELECTRA discriminator, and BERT-architecture models such as MiniLM), read
 * from a Hugging Face directory (config.json + safetensors), with a batched
 * fp32 forward pass that matches transformers' last_hidden_state.
 *
 * Sizes: B batch, T sequence length, C hidden size, E embedding size (C
 * except ELECTRA), NH heads, L layers, FF intermediate size, V vocabulary. */
#ifndef PIFI_ENCODER_H
#define PIFI_ENCODER_H

#include <stdint.h>

#include "pifi/err.h"
#include "pifi/safetensors.h"

typedef enum { ENC_BERT, ENC_ROBERTA, ENC_ELECTRA } EncoderArch;

typedef struct {
    EncoderArch arch;
    char model_type[32]; /* as in config.json */
    int V;               /* vocab_size */
    int C;               /* hidden_size */
    int E;               /* embedding_size (ELECTRA) or C */
    int L;               /* num_hidden_layers */
    int NH;              /* num_attention_heads */
    int FF;              /* intermediate_size */
    int maxT;            /* max_position_embeddings */
    int TV;              /* type_vocab_size */
    int pad_id;          /* pad_token_id */
    float ln_eps;        /* layer_norm_eps */
    int act;             /* Activation (kernels/activation.h) of hidden_act */
    float hidden_dropout;    /* hidden_dropout_prob (used in training) */
    float attn_dropout;      /* attention_probs_dropout_prob */
} EncoderConfig;

/* Parse and validate config.json. Unknown model_type, missing or absurd fields
 * give "<path>: ..." errors. */
int encoder_config_load(EncoderConfig *cfg, const char *config_path, PifiErr *err);

/* Parameters, all fp32, in one arena. Shapes as PyTorch stores them, with
 * the three attention projections of a layer packed as one (3C, C) matrix. */
typedef struct {
    float *wte;      /* (V, E) word embeddings */
    float *wpe;      /* (maxT, E) position embeddings */
    float *wtt;      /* (TV, E) token type embeddings */
    float *emb_lnw;  /* (E) */
    float *emb_lnb;  /* (E) */
    float *projw;    /* (C, E) ELECTRA embeddings_project, else NULL */
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
    float *poolw;    /* (C, C) pooler.dense, NULL when the checkpoint has none */
    float *poolb;    /* (C) */
} EncoderParams;

/* Activations of one forward pass, kept for the backward pass. */
typedef struct {
    float *emb;       /* (B, T, E) sum of the three embeddings */
    float *emb_ln;    /* (B, T, E) after LayerNorm */
    float *emb_mean;  /* (B, T) */
    float *emb_rstd;  /* (B, T) */
    float *proj;      /* (B, T, C) ELECTRA projection, else NULL */
    float *qkv;       /* (L, B, T, 3C) */
    float *att;       /* (L, B, NH, T, T) */
    float *atty;      /* (L, B, T, C) heads concatenated */
    float *res1;      /* (L, B, T, C) layer input + attention output */
    float *ln1;       /* (L, B, T, C) */
    float *ln1_mean;  /* (L, B, T) */
    float *ln1_rstd;  /* (L, B, T) */
    float *fch;       /* (L, B, T, FF) before the activation */
    float *fch_act;   /* (L, B, T, FF) */
    float *res2;      /* (L, B, T, C) ln1 + feed-forward output */
    float *ln2;       /* (L, B, T, C) = layer output */
    float *ln2_mean;  /* (L, B, T) */
    float *ln2_rstd;  /* (L, B, T) */
    float *pooled;    /* (B, C) tanh(pooler(h[:, 0])), when the model has a pooler */
} EncoderActs;

typedef struct {
    EncoderConfig cfg;
    EncoderParams params;
    float *param_mem;     /* the arena behind params */
    int64_t num_params;
    int has_pooler;
    EncoderActs acts;
    float *act_mem;       /* the arena behind acts */
    int act_B, act_T;     /* capacity of acts */
    int32_t *pos_ids;     /* (B, T) position ids of the last forward */
    int B, T;             /* shape of the last forward */
} Encoder;

/* Load config.json and the weights (safetensors, single or sharded) of a
 * HF directory. Accepts the bare model's names ("embeddings...") and those
 * saved from a task model ("bert.embeddings...", "roberta.", "electra."). */
int encoder_load(Encoder *m, const char *dir, PifiErr *err);
void encoder_free(Encoder *m);

/* ids, type_ids (NULL: zeros), mask (NULL: all ones): (B, T). Fills m->acts.
 * Ids out of range fail. */
int encoder_forward(Encoder *m, const int32_t *ids, const int32_t *type_ids, const int32_t *mask,
                    int B, int T, PifiErr *err);

/* (B, T, C) last_hidden_state of the last forward. */
const float *encoder_output(const Encoder *m);

#endif
