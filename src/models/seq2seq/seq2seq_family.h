/* seq2seq_family.h: an encoder-decoder family (T5, BART) is one file set
 * behind one table of functions, as the encoder families are
 * (models/encoders/encoder_family.h). seq2seq_config_load looks config.json's
 * model_type up in the registry (seq2seq_families.c), the family parses the
 * rest; every entry point of pifi/seq2seq.h (seq2seq.c) passes the call
 * through the model's table. Every entry is filled. */
#ifndef PIFI_SEQ2SEQ_FAMILY_H
#define PIFI_SEQ2SEQ_FAMILY_H

#include <stddef.h>
#include <stdint.h>

#include "pifi/json.h"
#include "pifi/seq2seq.h"

/* The incremental decoder's state (seq2seq_decode_start .. _step, _reorder;
 * seq2seq_kvcache.c), laid out alike for every family: per decoder layer
 * the self-attention's keys and values of the positions fed so far, per
 * row, and the cross-attention's keys and values of the memory, per source
 * (the K rows of a source share them); the memory's mask; and the family's
 * step scratch. A reorder gathers the rows' self-attention keys and values
 * into a second copy (sbuf[1 - cur], allocated at the first reorder) and
 * continues from that one. */
typedef struct {
    int live;                /* started, and no step failed since */
    int S, K, B;             /* sources, rows per source, rows (S K): row r decodes source r / K */
    int Ts, cap, L, I;       /* memory tokens, positions held, decoder layers, key width (heads x head size) */
    int t;                   /* positions fed: the next step's index */
    float *k, *v;            /* (L, B, cap, I) self-attention keys, values of positions 0 .. t - 1 */
    float *ck, *cv;          /* (L, S, Ts, I) cross-attention keys, values of the memory */
    int32_t *mask;           /* (S, Ts) the memory's, 0/1 */
    float *work;             /* the family's step scratch */
    float *sbuf[2];          /* k then v, in one allocation each (sbuf_n floats); sbuf[cur] in use */
    float *cross;            /* ck then cv (cross_n floats) */
    int cur;
    size_t sbuf_n[2], cross_n, work_n, mask_n;
} Seq2SeqKV;

/* m->kv for S sources of Ts memory tokens, K rows each, cap positions, L
 * layers of keys I wide, and work floats of step scratch (grown when needed,
 * never shrunk); mask (S, Ts) copied in (NULL: all 1; a value other than 0
 * or 1 is refused); t = 0, not yet live (seq2seq_decode_start sets it). */
int seq2seq_kv_reserve(Seq2SeqKV *kv, int S, int Ts, int K, int cap, int L, int I, size_t work,
                       const int32_t *mask, PifiErr *err);
void seq2seq_kv_free(Seq2SeqKV *kv);

/* What every family's model starts with (the family's own struct embeds it
 * first, so a Seq2Seq * is a pointer to it). */
struct Seq2Seq {
    Seq2SeqConfig cfg;
    struct PifiCompute *cx;
    float *param_mem;   /* the arena: num_params floats */
    int64_t num_params;
    int train;          /* dropout on (seq2seq_set_train) */
    uint64_t seed;
    Seq2SeqKV kv;       /* incremental decoding (seq2seq_kvcache.c) */
};

typedef struct Seq2SeqFamily {
    const char *name;                /* "t5" */
    const char *const *model_types;  /* config.json model_type values it reads, NULL-terminated */
    const char *checked;             /* how its numbers are checked, one line (docs/models.md) */

    /* config.json (root; cfg zeroed, its family and model_type set) into cfg, validated */
    int (*config_parse)(Seq2SeqConfig *cfg, const cJSON *root, const char *path, PifiErr *err);
    /* a model of cfg with the weights of dir (its own allocation, cfg and cx copied in) */
    int (*load)(Seq2Seq **out, const Seq2SeqConfig *cfg, const char *dir, struct PifiCompute *cx,
                PifiErr *err);
    /* a model of cfg with random weights as transformers' _init_weights sets them (from seed) */
    int (*init)(Seq2Seq **out, const Seq2SeqConfig *cfg, uint64_t seed, struct PifiCompute *cx, PifiErr *err);
    void (*free)(Seq2Seq *m);
    int (*tensors)(const Seq2Seq *m, Seq2SeqTensor *rows, int cap);
    int (*encode)(Seq2Seq *m, const int32_t *ids, const int32_t *mask, int B, int Ts, PifiErr *err);
    const float *(*encoder_output)(const Seq2Seq *m);
    int (*decode)(Seq2Seq *m, const float *memory, const int32_t *mem_mask, const int32_t *dec_ids, int B,
                  int Ts, int Tt, PifiErr *err);
    const float *(*logits)(const Seq2Seq *m);
    int (*decode_backward)(Seq2Seq *m, float *grads, const float *dlogits, float *dmemory, PifiErr *err);
    int (*encode_backward)(Seq2Seq *m, float *grads, const float *denc, PifiErr *err);
    /* incremental decoding (seq2seq.h; called by seq2seq_kvcache.c, which has checked the sizes, the mode
       and the ids): m->kv reserved (seq2seq_kv_reserve) and each layer's cross-attention keys and values of
       memory (S, Ts, C) written into it; */
    int (*decode_start)(Seq2Seq *m, const float *memory, const int32_t *mem_mask, int S, int Ts, int K, int cap,
                        PifiErr *err);
    /* tok (B) at position m->kv.t: its keys and values into m->kv, *logits [B, V] (in m->kv.work) */
    int (*decode_step)(Seq2Seq *m, const int32_t *tok, const float **logits, PifiErr *err);
} Seq2SeqFamily;

/* The registry (seq2seq_families.c), NULL-terminated, in table order. */
extern const Seq2SeqFamily *const SEQ2SEQ_FAMILIES[];

/* The family that reads model_type, or NULL. */
const Seq2SeqFamily *seq2seq_family_find(const char *model_type);

/* Every supported model_type, ", "-separated, into buf (truncated to n). */
void seq2seq_family_supported(char *buf, size_t n);

#endif
