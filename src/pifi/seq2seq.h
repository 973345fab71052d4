/* seq2seq.h: the encoder-decoder small models of PiFi's generation half
 * (paper Sec. 3.2): T5 (v1.0 and v1.1/FLAN) and BART, read from a Hugging
 * Face directory (config.json + safetensors) by the family that config.json's
 * model_type names (models/seq2seq/seq2seq_family.h: one table of functions
 * per family, one registry row each).
 *
 * The passes are split where PiFi plugs in: the encoder's output goes
 * through L_in -> the frozen LLM layer -> L_out (models/, not here) and the
 * result is the decoder's cross-attention memory. So encode and decode are
 * separate calls with separate backwards:
 *
 *   seq2seq_encode(ids, mask)                     -> enc    [B, Ts, C]
 *   (PiFi: memory = L_out(L_llm(L_in(enc))); base: memory = enc)
 *   seq2seq_decode(memory, mask, dec_ids)         -> logits [B, Tt, V]
 *   seq2seq_decode_backward(dlogits)              -> grads += ..., dmemory [B, Ts, C]
 *   seq2seq_encode_backward(denc)                 -> grads += ...
 *
 * decode is teacher forcing: dec_ids are the targets shifted right (the
 * first is cfg.decoder_start_id), the decoder is causal, and its logits are
 * transformers' lm_logits (T5: d_model^-0.5 rescale before a tied LM head;
 * BART: + final_logits_bias). Padding: the encoder and the cross-attention
 * mask keys where mask is 0; target padding needs no mask (causal attention
 * and right padding: the loss ignores those positions).
 *
 * Sizes: B batch, Ts source length, Tt target length, C d_model, V vocabulary. */
#ifndef PIFI_SEQ2SEQ_H
#define PIFI_SEQ2SEQ_H

#include <stddef.h>
#include <stdint.h>

#include "pifi/compute.h"
#include "pifi/err.h"

struct PifiCompute;   /* kernels/compute.h */
struct Seq2SeqFamily; /* models/seq2seq/seq2seq_family.h */

typedef struct {
    /* every family */
    const struct Seq2SeqFamily *family; /* the one that read config.json */
    char model_type[32];                /* as in config.json */
    int V;                              /* vocab_size */
    int C;                              /* d_model: the width of the encoder output and of the memory */
    int L_enc, L_dec;                   /* encoder and decoder layers */
    int NH;                             /* attention heads (both stacks) */
    int pad_id, eos_id, bos_id;         /* bos_id -1: none (T5) */
    int decoder_start_id;               /* decoder_start_token_id (T5: pad, BART: eos) */
    int max_pos;                        /* learned positions' rows (BART), 0: none (T5) */
    float dropout;                      /* dropout_rate (T5) / dropout (BART), used in training */
    /* T5's (models/seq2seq/t5_*.c) */
    struct {
        int d_kv;                       /* per-head size (need not be C / NH) */
        int d_ff;
        int gated;                      /* feed_forward_proj "gated-*" (v1.1, FLAN) */
        int act;                        /* Activation (kernels/activation.h): relu, gelu_new */
        int buckets, max_distance;      /* relative_attention_num_buckets / _max_distance */
        int tied;                       /* tie_word_embeddings: the LM head is the shared embedding */
        int scale;                      /* C^-0.5 rescale before the LM head (scale_decoder_outputs, default: tied) */
        float ln_eps;                   /* layer_norm_epsilon */
        float init_factor;              /* initializer_factor (random initialisation) */
    } t5;
    /* BART's (models/seq2seq/bart_*.c) */
    struct {
        int enc_ff, dec_ff;             /* encoder_ffn_dim, decoder_ffn_dim */
        int act;                        /* activation_function */
        int scale_embedding;            /* embeddings * sqrt(C) */
        float attn_dropout, act_dropout; /* attention_dropout, activation_dropout */
        float init_std;                 /* init_std (random initialisation) */
    } bart;
} Seq2SeqConfig;

typedef struct Seq2Seq Seq2Seq;

/* The trainable tensors, in arena order (they cover the parameter arena
 * exactly): an HF name as transformers' *ForConditionalGeneration names it
 * ("shared.weight", "encoder.block.0.layer.0.SelfAttention.q.weight"), the
 * data, float count, whether weight decay applies, and its shape in the
 * checkpoint (ndim 1 or 2). */
typedef struct {
    const char *name;
    float *w;
    int64_t n;
    int decay;
    int ndim;
    int64_t shape[2];
} Seq2SeqTensor;

/* dir's config.json (model_type t5 / bart, ...), validated, into cfg. */
int seq2seq_config_load(Seq2SeqConfig *cfg, const char *dir, PifiErr *err);

/* A model of dir's config.json with random weights as transformers
 * initialises that family (its _init_weights; pifi's own random stream
 * from seed): a model trained from scratch. */
int seq2seq_init(Seq2Seq **out, const char *dir, uint64_t seed, struct PifiCompute *cx, PifiErr *err);

/* config.json + model.safetensors (or a sharded index) of dir; a checkpoint
 * missing a tensor, or with one of the wrong shape, is refused naming it. */
int seq2seq_load(Seq2Seq **out, const char *dir, struct PifiCompute *cx, PifiErr *err);
void seq2seq_free(Seq2Seq *m);
const Seq2SeqConfig *seq2seq_config(const Seq2Seq *m);

/* The parameter arena (num_params floats) and its tensors. */
int64_t seq2seq_param_count(const Seq2Seq *m);
float *seq2seq_params(Seq2Seq *m);
int seq2seq_tensors(const Seq2Seq *m, Seq2SeqTensor *rows, int cap);
#define SEQ2SEQ_TENSORS_MAX 512

/* train != 0: following passes apply dropout where transformers does in
 * training, from seed. */
void seq2seq_set_train(Seq2Seq *m, int train, uint64_t seed);

/* The passes (see the top of this file). Outputs belong to m and hold until
 * the next call of the same pass. */
int seq2seq_encode(Seq2Seq *m, const int32_t *ids, const int32_t *mask, int B, int Ts, PifiErr *err);
const float *seq2seq_encoder_output(const Seq2Seq *m); /* [B, Ts, C] */
int seq2seq_decode(Seq2Seq *m, const float *memory, const int32_t *mem_mask, const int32_t *dec_ids, int B,
                   int Ts, int Tt, PifiErr *err);
const float *seq2seq_logits(const Seq2Seq *m); /* [B, Tt, V] */
/* Backward of the last decode: gradients ACCUMULATED into grads (the
 * parameter arena's layout), dmemory [B, Ts, C] overwritten. */
int seq2seq_decode_backward(Seq2Seq *m, float *grads, const float *dlogits, float *dmemory, PifiErr *err);
/* Backward of the last encode, from denc [B, Ts, C]. */
int seq2seq_encode_backward(Seq2Seq *m, float *grads, const float *denc, PifiErr *err);

/* Incremental decoding (generation, eval mode only: no dropout, no
 * backward): the decoder one position at a time, each layer's
 * self-attention keys and values kept (a KV cache) and the cross-attention
 * keys and values of the memory computed once per source. The decoder runs
 * B = S K rows, K per source (beam search's beams; greedy: K = 1), row r
 * over the memory of source r / K:
 *
 *   seq2seq_decode_start(memory, mem_mask, S, Ts, K, cap)  the cache emptied, room for cap positions
 *   seq2seq_decode_step(tok)                  -> logits [B, V] of the position tok is fed at
 *   seq2seq_decode_reorder(src_rows)          row r continues from row src_rows[r] (beam search)
 *
 * memory [S, Ts, C], mem_mask [S, Ts] (NULL: none padded). Step t (0, 1,
 * ...) feeds tok (B) at position t (the first: the decoder start token) and
 * gives the logits seq2seq_decode gives at position t of the same prefix
 * over the row's memory (to float rounding; T5's rescale and BART's
 * final_logits_bias included), without recomputing the prefix. The logits
 * belong to m and hold until the next step. At most cap steps after a
 * start; a failed step ends the decoding (start again). The cache holds for
 * the weights of the start: start again after they change. */
int seq2seq_decode_start(Seq2Seq *m, const float *memory, const int32_t *mem_mask, int S, int Ts, int K, int cap,
                         PifiErr *err);
int seq2seq_decode_step(Seq2Seq *m, const int32_t *tok, const float **logits, PifiErr *err);
/* src_rows (B): row r takes the cache of row src_rows[r], a row of the same
 * source (src_rows[r] / K == r / K); repeats allowed. */
int seq2seq_decode_reorder(Seq2Seq *m, const int *src_rows, PifiErr *err);

#endif
