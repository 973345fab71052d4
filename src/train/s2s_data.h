/* s2s_data.h: a generation dataset (PifiDataset.target) tokenized once, and
 * batches cut from it for teacher forcing, each side padded to its longest.
 *
 * Sources: the prefix (T5's task prefix, "" for none) + the text, encoded
 * with the tokenizer's special tokens (T5: "... </s>"), truncated to max_src
 * tokens with them. Targets: the target text the same way (T5: "... </s>",
 * BART: "<s> ... </s>"), truncated to max_tgt. A batch's decoder input is
 * the target shifted right, starting from the model's decoder_start_id
 * (transformers' shift_tokens_right); its labels are the target, -1 (not
 * counted) at padding. */
#ifndef PIFI_S2S_DATA_H
#define PIFI_S2S_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "pifi/dataset.h"
#include "pifi/tokenizer.h"

typedef struct {
    int64_t n;
    int32_t *src_len, *tgt_len; /* (n) */
    int64_t *src_off, *tgt_off; /* (n) into src, tgt */
    int32_t *src, *tgt;         /* every example's ids, concatenated */
} S2SData;

int s2s_data_build(S2SData *d, const PifiTokenizer *tk, const PifiDataset *ds, const char *prefix, int max_src,
                   int max_tgt, PifiErr *err);
void s2s_data_free(S2SData *d);

typedef struct {
    int B, Ts, Tt;
    int32_t *src, *src_mask; /* (B, Ts) */
    int32_t *dec_in, *labels; /* (B, Tt) */
    size_t cap_s, cap_t;
} S2SBatch;

/* The examples idx[0..B) of d; pad_id pads the source and the decoder input. */
int s2s_batch_fill(S2SBatch *b, const S2SData *d, const int64_t *idx, int B, int pad_id, int start_id,
                   PifiErr *err);
void s2s_batch_free(S2SBatch *b);

#endif
