/* activation.c: GELU (exact and tanh), ReLU, SiLU, quick GELU: forward and
 * backward. */
#include "kernels/activation.h"

#include <math.h>
#include <string.h>

static const struct {
    const char *name;
    Activation act;
} NAMES[] = {
    {"gelu", ACT_GELU},           {"gelu_python", ACT_GELU},  {"gelu_new", ACT_GELU_TANH},
    {"gelu_pytorch_tanh", ACT_GELU_TANH}, {"gelu_fast", ACT_GELU_TANH}, {"relu", ACT_RELU},
    {"silu", ACT_SILU},           {"swish", ACT_SILU},        {"quick_gelu", ACT_QUICK_GELU},
};

int activation_parse(const char *name, Activation *out) {
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        if (strcmp(name, NAMES[i].name) == 0) {
            *out = NAMES[i].act;
            return 0;
        }
    }
    return -1;
}

const char *activation_name(Activation a) {
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++)
        if (NAMES[i].act == a) return NAMES[i].name;
    return "?";
}

void activation_forward(Activation a, float *out, const float *inp, size_t N) {
    const float s2 = 0.70710678118654752f;            /* 1/sqrt(2) */
    const float k = 0.79788456080286536f;             /* sqrt(2/pi) */
#pragma omp parallel for
    for (size_t i = 0; i < N; i++) {
        float x = inp[i];
        switch (a) {
        case ACT_GELU: out[i] = 0.5f * x * (1.0f + erff(x * s2)); break;
        case ACT_GELU_TANH: out[i] = 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x))); break;
        case ACT_RELU: out[i] = x > 0.0f ? x : 0.0f; break;
        case ACT_SILU: out[i] = x / (1.0f + expf(-x)); break;
        case ACT_QUICK_GELU: out[i] = x / (1.0f + expf(-1.702f * x)); break;
        }
    }
}

void activation_backward(Activation a, float *dinp, const float *inp, const float *dout, size_t N) {
    const float s2 = 0.70710678118654752f;            /* 1/sqrt(2) */
    const float inv_sqrt_2pi = 0.39894228040143268f; /* 1/sqrt(2 pi) */
    const float k = 0.79788456080286536f;             /* sqrt(2/pi) */
#pragma omp parallel for
    for (size_t i = 0; i < N; i++) {
        float x = inp[i], d = 0.0f;
        switch (a) {
        case ACT_GELU: /* Phi(x) + x phi(x) */
            d = 0.5f * (1.0f + erff(x * s2)) + x * inv_sqrt_2pi * expf(-0.5f * x * x);
            break;
        case ACT_GELU_TANH: {
            float u = k * (x + 0.044715f * x * x * x);
            float th = tanhf(u);
            float du = k * (1.0f + 3.0f * 0.044715f * x * x);
            d = 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * du;
            break;
        }
        case ACT_RELU: d = x > 0.0f ? 1.0f : 0.0f; break;
        case ACT_SILU: {
            float s = 1.0f / (1.0f + expf(-x));
            d = s * (1.0f + x * (1.0f - s));
            break;
        }
        case ACT_QUICK_GELU: {
            float s = 1.0f / (1.0f + expf(-1.702f * x));
            d = s + 1.702f * x * s * (1.0f - s);
            break;
        }
        }
        dinp[i] += d * dout[i];
    }
}
