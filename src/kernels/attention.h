/* attention.h: multi-head self-attention core (no projections) over a packed
 * qkv tensor, with a key padding mask, bidirectional (encoder) attention:
 * forward, forward with dropout on the probabilities (training), backward. */
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

/* The same with dropout p on the probabilities, as HF's eager attention in
 * training (kernels/dropout.h: element (b, h, i, j) keyed by (seed, stream,
 * global row row0 + b, h, i, j), so the mask does not depend on T or on how
 * a global batch is split; needs T <= 65536, NH <= 256). att keeps the probabilities BEFORE dropout (what the
 * backward needs); attd (B, NH, T, T) is scratch that receives them after
 * (unused, may be NULL, when p <= 0). */
void attention_forward_dropout(float *out, float *att, float *attd, const float *qkv,
                               const int32_t *mask, int B, int T, int C, int NH, float p,
                               uint64_t seed, uint64_t stream, uint64_t row0);

/* The same with bias (NH, T, T) added to the scores q k^T / sqrt(hs) of every
 * row b before the mask and the softmax (MPNet's relative position bias);
 * NULL: none (attention_forward_dropout). The backward is attention_backward:
 * it leaves dL/dscores in datt, which is also dL/dbias summed over b. */
void attention_forward_bias(float *out, float *att, float *attd, const float *qkv, const int32_t *mask,
                            const float *bias, int B, int T, int C, int NH, float p, uint64_t seed,
                            uint64_t stream, uint64_t row0);

/* Backward, ACCUMULATING into dqkv (B, T, 3C) from dout (B, T, C), using the
 * forward's qkv and att (probabilities before dropout) and the same p, seed,
 * stream, row0. datt (B, NH, T, T) receives dL/dscores (the softmax's input);
 * attd (B, NH, T, T) scratch when
 * p > 0 (else may be NULL). The key mask is not needed: padded keys have zero
 * probability and so zero gradient. */
void attention_backward(float *dqkv, float *datt, float *attd, const float *dout, const float *qkv,
                        const float *att, int B, int T, int C, int NH, float p, uint64_t seed,
                        uint64_t stream, uint64_t row0);

#endif
