/* dropout.h: inverted dropout with masks recomputed from a counter-based RNG.
 *
 * Element i of a tensor is kept iff rng_uniform(seed, stream, i) >= p, and
 * kept elements are scaled by 1/(1-p), as torch.nn.Dropout in training. The
 * mask is a pure function of (seed, stream, i): the forward and backward
 * recompute it instead of storing it, and no thread count or schedule
 * changes it. p <= 0 is the identity, p >= 1 drops everything. */
#ifndef PIFI_DROPOUT_H
#define PIFI_DROPOUT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"

/* A precomputed mask: element i is kept iff
 * rng_uniform(seed, stream, i) >= p, i.e. the top 24 bits of
 * rng_u64(seed, stream, i) = rng_mix64(key + i) reach thr = ceil(p 2^24)
 * (exact: both sides are multiples of 2^-24). Hoisting key out of the loop
 * makes a mask element one mix. Needs 0 < p < 1. */
typedef struct {
    uint64_t key;
    uint32_t thr;
    float scale; /* 1/(1-p) */
} DropoutMask;

static inline DropoutMask dropout_mask(float p, uint64_t seed, uint64_t stream) {
    DropoutMask d;
    d.key = rng_mix64(seed ^ rng_mix64(stream)); /* rng_u64's per-stream part */
    d.thr = (uint32_t)ceilf(p * 16777216.0f);
    d.scale = 1.0f / (1.0f - p);
    return d;
}

/* The factor element i is multiplied by: 0 or 1/(1-p). */
static inline float dropout_factor(const DropoutMask *d, uint64_t i) {
    return (uint32_t)(rng_mix64(d->key + i) >> 40) >= d->thr ? d->scale : 0.0f;
}

/* Masks keyed by example: the first mask index of global row `row` (an
 * example's place in the global batch of a step). Element j of that row's
 * slice uses index dropout_row_base(row) + j, so the mask of an example does
 * not depend on the batch's padded length or on how the global batch was
 * split into micro-batches or ranks. */
static inline uint64_t dropout_row_base(uint64_t row) { return row << 40; }

/* out (B, n) = dropout(inp (B, n)) with row b keyed as global row row0 + b
 * (element j: index dropout_row_base(row0 + b) + j; n < 2^40); out may equal
 * inp. Not accumulating. */
void dropout_rows_forward(float *out, const float *inp, int B, size_t n, float p, uint64_t seed,
                          uint64_t stream, uint64_t row0);

/* The backward: dinp (B, n) = dout (B, n) * the same mask (may alias). */
void dropout_rows_backward(float *dinp, const float *dout, int B, size_t n, float p, uint64_t seed,
                           uint64_t stream, uint64_t row0);

/* out (N) = dropout(inp (N)); out may equal inp. */
void dropout_forward(float *out, const float *inp, size_t N, float p, uint64_t seed,
                     uint64_t stream);

/* dst (n) = src (n) * factors base .. base + n - 1 of mask d, on the calling
 * thread (for use inside a parallel loop); dst may equal src. */
void dropout_apply(float *dst, const float *src, size_t n, const DropoutMask *d, uint64_t base);

/* dinp (N) = dout (N) * the same mask and scale (dropout is linear, so the
 * backward is the forward on the gradient); dinp may equal dout. Not
 * accumulating: the result is written. */
void dropout_backward(float *dinp, const float *dout, size_t N, float p, uint64_t seed,
                      uint64_t stream);

#endif
