/* attention.h: multi-head self-attention core (no projections) over a packed
 * qkv tensor, with a key padding mask, bidirectional (encoder) attention. */
#ifndef PIFI_ATTENTION_H
#define PIFI_ATTENTION_H

#include <stdint.h>

/* qkv (B, T, 3C): per token [q (C) | k (C) | v (C)], heads of size C/NH.
 * mask (B, T): 1 for real tokens, 0 for padding (NULL: all real); padded keys
 * get zero weight, padded queries are computed like the others (as HF does).
 * att (B, NH, T, T): softmax probabilities, kept for the backward pass.
 * out (B, T, C): heads concatenated. */
void attention_forward(float *out, float *att, const float *qkv, const int32_t *mask, int B, int T,
                       int C, int NH);

#endif
