/* simd/activation.c: the activations' forward and backward (kernels/activation.h),
 * one vectorized loop per activation (kernels/vmath.h: the normal CDF and exp
 * to ~4e-7 relative, tails included, instead of libm's scalar erff/expf/tanhf).
 * Compiled once per level (kernels/simd.h). */
#include "kernels/simd.h"
#include "kernels/vmath.h"

/* Below this many elements one thread does it (a parallel region costs more). */
#define PAR_MIN 32768

/* tanh-GELU: 0.5 x (1 + tanh(u)) = x sigmoid(2u), u = k (x + 0.044715 x^3) */
#define GELU_K 0.79788456080286536f /* sqrt(2/pi) */

void SIMD_NAME(activation_forward)(Activation a, float *out, const float *inp, size_t N) {
    switch (a) {
    case ACT_GELU:
#pragma omp parallel for simd schedule(static) if (N > PAR_MIN)
        for (size_t i = 0; i < N; i++) out[i] = inp[i] * vm_norm_cdf(inp[i]);
        break;
    case ACT_GELU_TANH:
#pragma omp parallel for simd schedule(static) if (N > PAR_MIN)
        for (size_t i = 0; i < N; i++) {
            float x = inp[i], u = GELU_K * (x + 0.044715f * x * x * x);
            out[i] = x / (1.0f + vm_exp(-2.0f * u));
        }
        break;
    case ACT_RELU:
#pragma omp parallel for simd schedule(static) if (N > PAR_MIN)
        for (size_t i = 0; i < N; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
        break;
    case ACT_SILU:
#pragma omp parallel for simd schedule(static) if (N > PAR_MIN)
        for (size_t i = 0; i < N; i++) out[i] = inp[i] / (1.0f + vm_exp(-inp[i]));
        break;
    case ACT_QUICK_GELU:
#pragma omp parallel for simd schedule(static) if (N > PAR_MIN)
        for (size_t i = 0; i < N; i++) out[i] = inp[i] / (1.0f + vm_exp(-1.702f * inp[i]));
        break;
    case ACT_TANH: /* 2 sigmoid(2x) - 1 */
#pragma omp parallel for simd schedule(static) if (N > PAR_MIN)
        for (size_t i = 0; i < N; i++) out[i] = 2.0f / (1.0f + vm_exp(-2.0f * inp[i])) - 1.0f;
        break;
    }
}

void SIMD_NAME(activation_backward)(Activation a, float *dinp, const float *inp, const float *dout, size_t N) {
    switch (a) {
    case ACT_GELU: /* Phi(x) + x phi(x) */
#pragma omp parallel for simd schedule(static) if (N > PAR_MIN)
        for (size_t i = 0; i < N; i++) {
            float x = inp[i];
            dinp[i] += (vm_norm_cdf(x) + x * vm_norm_pdf(x)) * dout[i];
        }
        break;
    case ACT_GELU_TANH: /* s + 2 x s (1 - s) du, s = sigmoid(2u) */
#pragma omp parallel for simd schedule(static) if (N > PAR_MIN)
        for (size_t i = 0; i < N; i++) {
            float x = inp[i], u = GELU_K * (x + 0.044715f * x * x * x);
            float du = GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
            float s = 1.0f / (1.0f + vm_exp(-2.0f * u));
            dinp[i] += (s + 2.0f * x * s * (1.0f - s) * du) * dout[i];
        }
        break;
    case ACT_RELU:
#pragma omp parallel for simd schedule(static) if (N > PAR_MIN)
        for (size_t i = 0; i < N; i++) dinp[i] += inp[i] > 0.0f ? dout[i] : 0.0f;
        break;
    case ACT_SILU:
#pragma omp parallel for simd schedule(static) if (N > PAR_MIN)
        for (size_t i = 0; i < N; i++) {
            float x = inp[i], s = 1.0f / (1.0f + vm_exp(-x));
            dinp[i] += s * (1.0f + x * (1.0f - s)) * dout[i];
        }
        break;
    case ACT_QUICK_GELU:
#pragma omp parallel for simd schedule(static) if (N > PAR_MIN)
        for (size_t i = 0; i < N; i++) {
            float x = inp[i], s = 1.0f / (1.0f + vm_exp(-1.702f * x));
            dinp[i] += (s + 1.702f * x * s * (1.0f - s)) * dout[i];
        }
        break;
    case ACT_TANH: /* 1 - tanh^2 */
#pragma omp parallel for simd schedule(static) if (N > PAR_MIN)
        for (size_t i = 0; i < N; i++) {
            float t = 2.0f / (1.0f + vm_exp(-2.0f * inp[i])) - 1.0f;
            dinp[i] += (1.0f - t * t) * dout[i];
        }
        break;
    }
}
