/* encoder_internal.h: the BERT family's internal header: what its files
 * (encoder.c, encoder_config.c, encoder_backward.c, encoder_export.c,
 * encoder_forms.c, encoder_lora.c, bert_family.c) share: the functions of
 * its table (encoder_family.h), dropout streams, the LoRA branch of a layer,
 * the weights' forms and their allocation; and what the MPNet and ALBERT
 * families (mpnet_*.c, albert_*.c), which run on this code, add to it:
 * their checkpoint names, MPNet's relative position bias, ALBERT's one
 * layer of weights shared by every layer. */
#ifndef PIFI_ENCODER_INTERNAL_H
#define PIFI_ENCODER_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "kernels/compute.h"
#include "pifi/encoder.h"
#include "pifi/encoder_export.h"
#include "pifi/json.h"
#include "pifi/safetensors.h"

/* The BERT family's table entries (bert_family.c fills ENCODER_FAMILY_BERT):
 * encoder_config.c, encoder.c, encoder_backward.c, encoder_export.c,
 * encoder_forms.c, encoder_lora.c. */
int bert_config_parse(EncoderConfig *cfg, const cJSON *root, const char *path, PifiErr *err);
int bert_load(Encoder *m, const char *dir, PifiErr *err);
void bert_free(Encoder *m);
int bert_forward(Encoder *m, const int32_t *ids, const int32_t *type_ids, const int32_t *mask, int B, int T,
                 PifiErr *err);
const float *bert_output(const Encoder *m);
int bert_backward(Encoder *m, EncoderParams *grads, EncoderLora *lora_grads, const float *dout, PifiErr *err);
/* The table's form of it: the arenas pointed as EncoderParams/EncoderLora. */
int bert_backward_mem(Encoder *m, float *grads, float *lora_grads, const float *dout, PifiErr *err);
int bert_export(const Encoder *m, const char *prefix, int merge_lora, EncoderExport *x, float **keep,
                PifiErr *err);
int bert_quantize(Encoder *m, int embeddings, PifiErr *err);
int bert_lora_enable(Encoder *m, int r, float alpha, float dropout, uint64_t seed, PifiErr *err);
int64_t bert_config_params(const EncoderConfig *c);
int64_t bert_config_pooler_params(const EncoderConfig *c);
int64_t bert_config_flops(const EncoderConfig *c, int T);
int64_t bert_config_lora_params(const EncoderConfig *c, int r);
int64_t bert_config_act_floats(const EncoderConfig *c, int64_t B, int64_t T, int layers, int lora_r);
int64_t bert_config_grad_scratch_floats(const EncoderConfig *c, int64_t B, int64_t T, int lora_r);
int64_t bert_config_widest(const EncoderConfig *c);
void bert_config_int8(const EncoderConfig *c, unsigned parts, int64_t *n8, int64_t *rows);
int bert_tensors(const Encoder *m, EncoderTensor *rows, int cap);
unsigned bert_int8_parts(const Encoder *m);

/* The fields of config.json every BERT-shaped family reads alike (sizes,
 * layer_norm_eps, dropouts, hidden_act, position_embedding_type), into cfg
 * whose arch is set; type_vocab_size (default 2) unless arch is ENC_MPNET
 * (none); pad_token_id's default 1 for RoBERTa and MPNet, else 0
 * (encoder_config.c). */
int encoder_config_parse_common(EncoderConfig *cfg, const cJSON *root, const char *path, PifiErr *err);

/* The names a checkpoint gives what differs between the BERT-shaped
 * families: the prefixes of a task model's tensors, where a layer's tensors
 * live ("encoder.layer." N "."), and each tensor of a layer (under it), of
 * the projection and of the pooler. */
typedef struct {
    const char *const *prefixes; /* "" first, NULL-terminated: "", "bert.", ... */
    const char *prefix_list;     /* the others for messages: "bert./roberta./electra." */
    const char *layer[2];        /* layer N's prefix: layer[0] N layer[1]: "encoder.layer.", "." */
    const char *qkv[3];          /* "attention.self.query", ".key", ".value" */
    const char *attproj;         /* "attention.output.dense" */
    const char *ln1;             /* "attention.output.LayerNorm" */
    const char *fc;              /* "intermediate.dense" */
    const char *fcproj;          /* "output.dense" */
    const char *ln2;             /* "output.LayerNorm" */
    const char *proj;            /* "embeddings_project" (ELECTRA's E -> C) */
    const char *pooler;          /* "pooler.dense" */
} EncoderNames;
extern const EncoderNames ENCODER_NAMES_BERT;   /* bert_family.c */
extern const EncoderNames ENCODER_NAMES_MPNET;  /* mpnet_family.c */
extern const EncoderNames ENCODER_NAMES_ALBERT; /* albert_family.c */
static inline const EncoderNames *encoder_names(const EncoderConfig *c) {
    return c->arch == ENC_MPNET ? &ENCODER_NAMES_MPNET : c->arch == ENC_ALBERT ? &ENCODER_NAMES_ALBERT
                                                                               : &ENCODER_NAMES_BERT;
}

/* "<prefix><layer l's prefix><what>[.<suffix>]" into buf (suffix NULL: none). */
static inline void enc_layer_name(char *buf, size_t n, const char *prefix, const EncoderNames *nm, int l,
                                  const char *what, const char *suffix) {
    snprintf(buf, n, "%s%s%d%s%s%s%s", prefix, nm->layer[0], l, nm->layer[1], what, suffix ? "." : "",
             suffix ? suffix : "");
}

/* ALBERT runs the one shared layer's weights num_hidden_layers times: the
 * parameter arena holds enc_weight_layers(c) layers of weights (1 for
 * ALBERT, L for the others), and layer l reads slice enc_wl(c, l) of them;
 * its gradients accumulate over the repetitions, so they are final only
 * after layer 0 (bert_tensors lists them as not per_layer, and the trainer
 * reduces them with the embeddings'). Activations stay one set per layer. */
static inline int enc_weight_layers(const EncoderConfig *c) { return c->arch == ENC_ALBERT ? 1 : c->L; }
static inline size_t enc_wl(const EncoderConfig *c, int l) { return c->arch == ENC_ALBERT ? 0 : (size_t)l; }

/* The E -> C projection after the embeddings: ELECTRA's when E != C,
 * ALBERT's embedding_hidden_mapping_in always. */
static inline int enc_has_proj(const EncoderConfig *c) { return c->E != c->C || c->arch == ENC_ALBERT; }

/* Dropout on the feed-forward output before the residual add: BertOutput
 * has it; AlbertLayer has none (its ffn_output goes straight into
 * full_layer_layer_norm). */
static inline int enc_ffn_dropout(const EncoderConfig *c) { return c->arch != ENC_ALBERT; }

/* MPNet's relative position bias (mpnet_relbias.c): out (NH, T, T) =
 * relb[bucket(j - i)][h] for query i, key j; and its backward: dscores
 * (B, NH, T, T, attention_backward's datt) summed over b into the rows of
 * drelb (NB, NH) by the same buckets, ACCUMULATING. */
void mpnet_relbias_forward(float *out, const float *relb, int NH, int T);
void mpnet_relbias_backward(float *drelb, const float *dscores, int B, int NH, int T);

/* The fp32 parameter arena for m->cfg and m->has_pooler, pointed into
 * m->params (q8: ENC_Q8_* tensors left out), counted in m->num_params
 * (encoder.c; also the GGUF loader's, encoder_gguf.c). */
int bert_params_alloc(Encoder *m, unsigned q8, PifiErr *err);

/* Dropout sites. The embeddings have one, each layer ENC_SITES_PER_LAYER. */
enum {
    ENC_SITE_ATT_PROBS = 0, /* attention probabilities */
    ENC_SITE_ATT_OUT = 1,   /* attention.output.dense, before the residual add */
    ENC_SITE_FFN_OUT = 2,   /* output.dense, before the residual add */
    ENC_SITE_LORA_Q = 3,    /* input of the query adapter */
    ENC_SITE_LORA_V = 4,    /* input of the value adapter */
    ENC_SITES_PER_LAYER = 5,
};

/* The rng.h stream of a dropout site: step * 8192 + site number, the
 * embeddings site 0 and layer l's sites 1 + 5 l + kind (L <= 1024, checked by
 * encoder_config_load, keeps them under 8192). layer < 0: the embeddings. */
static inline uint64_t encoder_stream(uint64_t step, int layer, int kind) {
    uint64_t site = layer < 0 ? 0 : 1 + (uint64_t)layer * ENC_SITES_PER_LAYER + (uint64_t)kind;
    return step * 8192u + site;
}

/* Layer l's adapters in the forward: qkv (BT, 3C) += the LoRA terms of the
 * query and value columns for input x (BT, C); saves acts.lora_u. p is the
 * LoRA dropout in effect (0 in eval). */
void encoder_lora_forward(Encoder *m, int l, const float *x, float *qkv, int B, int T, float p,
                          uint64_t seed, uint64_t step, uint64_t row0);

/* Their backward: from dqkv (BT, 3C), accumulate the adapters' gradients into
 * lg (NULL or NULL tensors: skipped) and dL/dx into dx (NULL: skipped). */
void encoder_lora_backward(Encoder *m, EncoderLora *lg, int l, const float *x, const float *dqkv,
                           float *dx, int B, int T, float p, uint64_t seed, uint64_t step, uint64_t row0);

/* Bit of Encoder.act_flags: the last forward kept one layer's activations
 * (inference mode), so there is nothing to differentiate. */
#define ENC_ACT_ONE_LAYER 8u

/* Round the fp32 weights into the bf16 copies (encoder_forms.c; allocated
 * the first time). */
int encoder_refresh_w16(Encoder *m, PifiErr *err);

/* A layer's matrix in the form the forward uses: int8 when quantized, else
 * fp32 with its bf16 copy (bf16 precision). */
static inline LinearW enc_w(const float *f, const uint16_t *h, const int8_t *q, const float *s) {
    LinearW w = {q ? NULL : f, q ? NULL : h, q, s};
    return w;
}

/* base + off, or NULL when the form is absent (no arithmetic on NULL). */
#define ENC_AT(base, off) ((base) ? (base) + (off) : NULL)

/* A weight arena of n bytes, counted in m->weight_bytes_allocated. */
static inline void *enc_weights_alloc(Encoder *m, size_t n, PifiErr *err) {
    void *p = pifi_malloc(n, err);
    if (p) m->weight_bytes_allocated += n;
    return p;
}

/* Which tensors an int8 checkpoint holds as I8 (encoder.c probes, before
 * the fp32 arena is laid out without them). */
enum { ENC_Q8_LINEAR = 1u, ENC_Q8_WTE = 2u };

/* Read the int8 tensors of `what` (ENC_Q8_*) of an int8 checkpoint, named as
 * encoder_export names them with prefix, into a new int8 arena
 * (encoder_forms.c). */
int encoder_load_q8(Encoder *m, SafeTensors *st, const char *prefix, unsigned what, PifiErr *err);

#endif
