/* encoder_family.h: an encoder family is one file set behind one table of
 * functions. encoder_config_load looks config.json's model_type up in the
 * registry (families.c), the family parses the rest and records itself in
 * EncoderConfig.family; every family-neutral entry point of pifi/encoder.h
 * (encoder_api.c) passes the call through that table. The trainer, the run
 * files, the API and the CLI know only those entry points, so adding a
 * family is its files, its table and one registry row (docs/ARCHITECTURE.md,
 * "Adding an encoder family"). Every entry is filled: a family without a
 * feature says so in an error of its own. */
#ifndef PIFI_ENCODER_FAMILY_H
#define PIFI_ENCODER_FAMILY_H

#include <stddef.h>
#include <stdint.h>

#include "pifi/encoder.h"
#include "pifi/encoder_export.h"
#include "pifi/json.h"

typedef struct EncoderFamily {
    const char *name;                /* "bert" */
    const char *const *model_types;  /* the config.json model_type values it reads, NULL-terminated */
    const char *checked;             /* how its numbers are checked, one line (`pifi info --models`,
                                        docs/models.md): against transformers on what, real weights */
    int default_pooling;             /* the PifiPooling (pifi_model.h) of a run that names none
                                        (0: cls; the decoder family: last) */

    /* config.json (root, already checked for duplicate keys; cfg zeroed, its
     * family and model_type set) into cfg, validated */
    int (*config_parse)(EncoderConfig *cfg, const cJSON *root, const char *path, PifiErr *err);
    /* from the config alone: pifi/encoder.h encoder_config_* */
    int64_t (*config_params)(const EncoderConfig *cfg);
    int64_t (*config_pooler_params)(const EncoderConfig *cfg);
    int64_t (*config_flops)(const EncoderConfig *cfg, int T);
    int64_t (*config_lora_params)(const EncoderConfig *cfg, int r);
    int64_t (*config_act_floats)(const EncoderConfig *cfg, int64_t B, int64_t T, int layers, int lora_r);
    int64_t (*config_grad_scratch_floats)(const EncoderConfig *cfg, int64_t B, int64_t T, int lora_r);
    int64_t (*config_widest)(const EncoderConfig *cfg);
    void (*config_int8)(const EncoderConfig *cfg, unsigned parts, int64_t *n8, int64_t *rows);

    /* the weights of dir into m (m->cfg and m->cx set, the rest zero); on
     * failure the caller frees m */
    int (*load)(Encoder *m, const char *dir, PifiErr *err);
    /* free what load and the passes allocated (the caller zeroes m) */
    void (*free)(Encoder *m);
    int (*forward)(Encoder *m, const int32_t *ids, const int32_t *type_ids, const int32_t *mask, int B, int T,
                   PifiErr *err);
    const float *(*output)(const Encoder *m);
    /* the last forward's backward, ACCUMULATING into grads (laid out as
     * m->param_mem, m->num_params floats; NULL: the family's own weights are
     * frozen) and lora_grads (as m->lora_mem; NULL: adapters frozen) */
    int (*backward)(Encoder *m, float *grads, float *lora_grads, const float *dout, PifiErr *err);
    /* trainable tensors: pifi/encoder.h encoder_tensors */
    int (*tensors)(const Encoder *m, EncoderTensor *rows, int cap);
    /* HF-named views of the weights (merge_lora: adapters folded in, *keep
     * the memory they need) */
    int (*export_tensors)(const Encoder *m, const char *prefix, int merge_lora, EncoderExport *x, float **keep,
                          PifiErr *err);
    int (*quantize)(Encoder *m, int embeddings, PifiErr *err);
    unsigned (*int8_parts)(const Encoder *m);
    int (*lora_enable)(Encoder *m, int r, float alpha, float dropout, uint64_t seed, PifiErr *err);
} EncoderFamily;

/* The registry (families.c), in the order of its table. */
extern const EncoderFamily *const ENCODER_FAMILIES[];
extern const int ENCODER_FAMILY_COUNT;

/* The family that reads model_type, or NULL. */
const EncoderFamily *encoder_family_find(const char *model_type);

/* Every supported model_type, ", "-separated, into buf (truncated to n). */
void encoder_family_supported(char *buf, size_t n);

/* The families. */
extern const EncoderFamily ENCODER_FAMILY_BERT;  /* bert_family.c */
extern const EncoderFamily ENCODER_FAMILY_MPNET; /* mpnet_family.c */
extern const EncoderFamily ENCODER_FAMILY_DEBERTA; /* deberta_family.c */
extern const EncoderFamily ENCODER_FAMILY_DECODER; /* decoder_family.c */
extern const EncoderFamily ENCODER_FAMILY_ALBERT; /* albert_family.c */
extern const EncoderFamily ENCODER_FAMILY_MODERNBERT; /* modernbert_family.c */

#endif
