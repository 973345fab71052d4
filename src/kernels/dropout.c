/* dropout.c: inverted dropout, the mask recomputed from (seed, stream, i). */
#include "kernels/dropout.h"

#include <string.h>

void dropout_forward(float *out, const float *inp, size_t N, float p, uint64_t seed,
                     uint64_t stream) {
    if (!(p > 0.0f)) {
        if (out != inp) memmove(out, inp, N * sizeof *out);
        return;
    }
    if (p >= 1.0f) {
        memset(out, 0, N * sizeof *out);
        return;
    }
    DropoutMask d = dropout_mask(p, seed, stream);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < N; i++) out[i] = inp[i] * dropout_factor(&d, i);
}

void dropout_backward(float *dinp, const float *dout, size_t N, float p, uint64_t seed,
                      uint64_t stream) {
    dropout_forward(dinp, dout, N, p, seed, stream);
}
