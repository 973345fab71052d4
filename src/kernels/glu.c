/* glu.c: act(gate) * up. */
#include "kernels/glu.h"

#include "kernels/activation.h"

void glu_forward(float *out, float *gate_act, const float *gate, const float *up, int act, size_t N) {
    float *ga = gate_act ? gate_act : out;
    activation_forward((Activation)act, ga, gate, N);
#pragma omp parallel for
    for (size_t i = 0; i < N; i++) out[i] = ga[i] * up[i];
}
