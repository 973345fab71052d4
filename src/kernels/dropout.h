/* dropout.h: inverted dropout with masks recomputed from a counter-based RNG.
 *
 * Element i of a tensor is kept iff rng_uniform(seed, stream, i) >= p, and
 * kept elements are scaled by 1/(1-p), as torch.nn.Dropout in training. The
 * mask is a pure function of (seed, stream, i): the forward and backward
 * recompute it instead of storing it, and no thread count or schedule
 * changes it. p <= 0 is the identity, p >= 1 drops everything. */
#ifndef PIFI_DROPOUT_H
#define PIFI_DROPOUT_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/rng.h"

/* The factor element i is multiplied by: 0 or 1/(1-p). Needs 0 < p < 1. */
static inline float dropout_factor(float p, float scale, uint64_t seed, uint64_t stream,
                                   uint64_t i) {
    return rng_uniform(seed, stream, i) >= p ? scale : 0.0f;
}

/* out (N) = dropout(inp (N)); out may equal inp. */
void dropout_forward(float *out, const float *inp, size_t N, float p, uint64_t seed,
                     uint64_t stream);

/* dinp (N) = dout (N) * the same mask and scale (dropout is linear, so the
 * backward is the forward on the gradient); dinp may equal dout. Not
 * accumulating: the result is written. */
void dropout_backward(float *dinp, const float *dout, size_t N, float p, uint64_t seed,
                      uint64_t stream);

#endif
