/* mpnet_internal.h: what the MPNet family's files (mpnet_family.c,
 * mpnet_config.c, mpnet_relbias.c) share. The family runs on the BERT
 * family's layer code (encoder_internal.h, which also declares the
 * relative position bias that code calls). */
#ifndef PIFI_MPNET_INTERNAL_H
#define PIFI_MPNET_INTERNAL_H

#include "pifi/encoder.h"
#include "pifi/json.h"

/* transformers' MPNetEncoder.compute_position_bias buckets relative
 * positions into 32 (whatever relative_attention_num_buckets says: the
 * table's other rows are never read) with max_distance 128. */
#define MPNET_BUCKETS 32
#define MPNET_MAX_DISTANCE 128

/* config.json of model_type "mpnet" (mpnet_config.c). */
int mpnet_config_parse(EncoderConfig *cfg, const cJSON *root, const char *path, PifiErr *err);

/* The bucket (0..31) of relative position rel = key - query:
 * MPNetEncoder.relative_position_bucket in its float32 arithmetic
 * (mpnet_relbias.c). */
int mpnet_relative_bucket(int rel);

#endif
