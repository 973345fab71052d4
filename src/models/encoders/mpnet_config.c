/* mpnet_config.c: the MPNet family's config.json into an EncoderConfig: the
 * BERT-shaped fields read alike (encoder_config_parse_common: no token
 * types, positions from padding_idx + 1), then MPNet's own:
 * relative_attention_num_buckets. */
#include <stdint.h>

#include "models/encoders/encoder_internal.h"
#include "models/encoders/mpnet_internal.h"
#include "pifi/json.h"

int mpnet_config_parse(EncoderConfig *cfg, const cJSON *root, const char *path, PifiErr *err) {
    cfg->arch = ENC_MPNET;
    if (encoder_config_parse_common(cfg, root, path, err)) return -1;
    /* transformers' MPNetEmbeddings take padding_idx 1 whatever pad_token_id says */
    if (cfg->pad_id != 1)
        return pifi_errf(err, "%s: \"pad_token_id\" is %d; MPNet's embeddings number positions from "
                         "padding_idx 1 (transformers' MPNetEmbeddings), so it must be 1", path, cfg->pad_id);
    int64_t nb = MPNET_BUCKETS;
    if (pifi_json_int(root, "relative_attention_num_buckets", 0, &nb, path, err) < 0) return -1;
    if (nb < MPNET_BUCKETS || nb > 4096)
        return pifi_errf(err, "%s: \"relative_attention_num_buckets\" is %lld, expected %d..4096 (transformers "
                         "buckets relative positions into %d, whatever the table's size)", path, (long long)nb,
                         MPNET_BUCKETS, MPNET_BUCKETS);
    cfg->rel_buckets = (int)nb;
    return 0;
}
