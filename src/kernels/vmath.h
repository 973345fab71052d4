/* vmath.h: exp and the standard normal CDF as branch-free inline C, so that
 * loops calling them vectorize (libm's expf/erff are scalar calls).
 *
 * vm_exp: Cephes' expf polynomial after a Cody-Waite reduction, relative
 * error about 2e-7 over [-87.3, 88.3]; inputs are clamped to that range
 * (below it the result is 1.2e-38 instead of 0).
 * vm_norm_cdf: Phi(x) = P(N(0,1) <= x) from the Chebyshev fit of erfc in
 * Numerical Recipes (fractional error < 1.2e-7 everywhere); relative error
 * of Phi below 4e-7 over the whole line, tails included (where 1 + erff(x)
 * loses all its digits). */
#ifndef PIFI_VMATH_H
#define PIFI_VMATH_H

#include <stdint.h>
#include <string.h>

/* exp(a + b) for a large, b small: the reduction subtracts k ln2 from a
 * first (exactly, Cody-Waite), so the rounding of a + b costs nothing. */
static inline float vm_exp2s(float a, float b) {
    float x = a + b;
    int out = (x < -87.33f) | (x > 88.3f); /* clamped: exp(bound) */
    x = x < -87.33f ? -87.33f : x;
    x = x > 88.3f ? 88.3f : x;
    a = out ? x : a;
    b = out ? 0.0f : b;
    /* k = round(x / ln 2) with the 1.5 * 2^23 trick (exact for |k| < 2^22) */
    float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = a - k * 0.693359375f;
    r = r + b;
    r = r - k * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t e = ((int32_t)k + 127) << 23;
    float s;
    memcpy(&s, &e, sizeof s);
    return p * s;
}

static inline float vm_exp(float x) { return vm_exp2s(x, 0.0f); }

/* -x^2 / 2 as hi + lo, hi exact: x split into 12 high bits and the rest
 * (Veltkamp), whose square is exact in fp32. */
static inline void vm_neg_half_sq(float x, float *hi, float *lo) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    u &= 0xfffff000u;
    float xh;
    memcpy(&xh, &u, sizeof xh);
    float xl = x - xh;
    *hi = -0.5f * xh * xh;
    *lo = -(xh * xl + 0.5f * xl * xl);
}

/* Phi(x); for x < 0 it is 0.5 erfc(|x|/sqrt 2) directly, else 1 minus that. */
static inline float vm_norm_cdf(float x) {
    float z = (x < 0.0f ? -x : x) * 0.70710678118654752f;
    float t = 1.0f / (1.0f + 0.5f * z);
    float q = -1.13520398f + t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f));
    q = -1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f + t * (-0.18628806f + t * (0.27886807f + t * q)))));
    float hi, lo;
    vm_neg_half_sq(x, &hi, &lo); /* -z^2 */
    float h = 0.5f * t * vm_exp2s(hi, lo + q); /* Phi(-|x|) */
    return x < 0.0f ? h : 1.0f - h;
}

/* phi(x) = exp(-x^2 / 2) / sqrt(2 pi), the standard normal density. */
static inline float vm_norm_pdf(float x) {
    float hi, lo;
    vm_neg_half_sq(x, &hi, &lo);
    return 0.39894228040143268f * vm_exp2s(hi, lo);
}

#endif
