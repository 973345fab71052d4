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

/* What every family's model starts with (the family's own struct embeds it
 * first, so a Seq2Seq * is a pointer to it). */
struct Seq2Seq {
    Seq2SeqConfig cfg;
    struct PifiCompute *cx;
    float *param_mem;   /* the arena: num_params floats */
    int64_t num_params;
    int train;          /* dropout on (seq2seq_set_train) */
    uint64_t seed;
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
} Seq2SeqFamily;

/* The registry (seq2seq_families.c), NULL-terminated, in table order. */
extern const Seq2SeqFamily *const SEQ2SEQ_FAMILIES[];

/* The family that reads model_type, or NULL. */
const Seq2SeqFamily *seq2seq_family_find(const char *model_type);

/* Every supported model_type, ", "-separated, into buf (truncated to n). */
void seq2seq_family_supported(char *buf, size_t n);

#endif
