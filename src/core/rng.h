/* rng.h: counter-based random numbers for dropout and initialisation.
 *
 * Every random draw is a pure function of (seed, stream, index): no state,
 * so results do not depend on thread count or scheduling, and a resumed run
 * draws exactly what an uninterrupted one would. stream separates uses
 * (e.g. step * 1024 + site), index is the element. */
#ifndef PIFI_RNG_H
#define PIFI_RNG_H

#include <math.h>
#include <stdint.h>

/* splitmix64 finaliser: a strong 64-bit mix. */
static inline uint64_t rng_mix64(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t rng_u64(uint64_t seed, uint64_t stream, uint64_t index) {
    return rng_mix64(rng_mix64(seed ^ rng_mix64(stream)) + index);
}

/* Uniform in [0, 1) with 24 bits. */
static inline float rng_uniform(uint64_t seed, uint64_t stream, uint64_t index) {
    return (float)(rng_u64(seed, stream, index) >> 40) * (1.0f / 16777216.0f);
}

/* Standard normal (Box-Muller on two draws). */
static inline float rng_normal(uint64_t seed, uint64_t stream, uint64_t index) {
    uint64_t r = rng_u64(seed, stream, index);
    float u1 = ((float)(r >> 40) + 1.0f) * (1.0f / 16777217.0f); /* (0, 1] */
    float u2 = (float)((r >> 16) & 0xffffffu) * (1.0f / 16777216.0f);
    return sqrtf(-2.0f * logf(u1)) * cosf(6.28318530717958647692f * u2);
}

#endif
