/* glu.c: act(gate) * up, forward and backward. */
#include "kernels/glu.h"

#include "kernels/activation.h"

void glu_forward(float *out, float *gate_act, const float *gate, const float *up, int act, size_t N) {
    float *ga = gate_act ? gate_act : out;
    activation_forward((Activation)act, ga, gate, N);
#pragma omp parallel for
    for (size_t i = 0; i < N; i++) out[i] = ga[i] * up[i];
}

void glu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up,
                  const float *gate_act, int act, size_t N) {
    /* dL/d act(gate) = dout * up, in blocks through activation_backward */
    float dga[4096];
    for (size_t i0 = 0; i0 < N; i0 += 4096) {
        size_t n = N - i0 < 4096 ? N - i0 : 4096;
        for (size_t j = 0; j < n; j++) dga[j] = dout[i0 + j] * up[i0 + j];
        activation_backward((Activation)act, dgate + i0, gate + i0, dga, n);
    }
#pragma omp parallel for
    for (size_t i = 0; i < N; i++) dup[i] += dout[i] * gate_act[i];
}
