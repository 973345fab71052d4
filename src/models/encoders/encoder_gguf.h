/* encoder_gguf.h: encoders read from a GGUF file (encoder_gguf.c) instead
 * of a Hugging Face directory: encoder_config_load and encoder_load
 * (encoder_api.c) come here for a path ending in ".gguf". The file's
 * general.architecture picks the family (today "bert": llama.cpp's layout of
 * BERT-architecture models, read by the BERT family). */
#ifndef PIFI_ENCODER_GGUF_H
#define PIFI_ENCODER_GGUF_H

#include "pifi/encoder.h"
#include "pifi/json.h"

/* The config from the GGUF's metadata and tensor shapes (cfg zeroed first;
 * its family set). */
int encoder_gguf_config(EncoderConfig *cfg, const char *path, PifiErr *err);

/* The weights of the GGUF at path into m (m->cfg from encoder_gguf_config,
 * m->cx set, the rest zero), dequantized to fp32; on failure the caller
 * frees m. */
int encoder_gguf_load(Encoder *m, const char *path, PifiErr *err);

/* The config of the GGUF at path as a Hugging Face config.json object
 * (BertModel's keys; new, the caller deletes it): what a run trained from
 * it records, so that the run directory is a BERT checkpoint of its own. */
cJSON *encoder_gguf_config_json(const char *path, PifiErr *err);

#endif
