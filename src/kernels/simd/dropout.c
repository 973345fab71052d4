/* simd/dropout.c: inverted dropout with the mask recomputed from (seed,
 * stream, i) (kernels/dropout.h); the 64-bit mixing runs 8 lanes wide on
 * AVX-512. Compiled once per level (kernels/simd.h). */
#include <string.h>

#include "kernels/simd.h"

void SIMD_NAME(dropout_forward)(float *out, const float *inp, size_t N, float p, uint64_t seed, uint64_t stream) {
    if (!(p > 0.0f)) {
        if (out != inp) memmove(out, inp, N * sizeof *out);
        return;
    }
    if (p >= 1.0f) {
        memset(out, 0, N * sizeof *out);
        return;
    }
    DropoutMask d = dropout_mask(p, seed, stream);
#pragma omp parallel for simd schedule(static) if (N > 16384)
    for (size_t i = 0; i < N; i++) out[i] = inp[i] * dropout_factor(&d, i);
}

void SIMD_NAME(dropout_apply)(float *dst, const float *src, size_t n, const DropoutMask *d, uint64_t base) {
    DropoutMask m = *d;
#pragma omp simd
    for (size_t i = 0; i < n; i++) dst[i] = src[i] * dropout_factor(&m, base + i);
}
