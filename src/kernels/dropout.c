/* dropout.c: inverted dropout of rows keyed by example, and the backward
 * passes, on top of the vectorised kernels dropout_forward and dropout_apply
 * (kernels/simd/dropout.c). */
#include "kernels/dropout.h"

void dropout_backward(float *dinp, const float *dout, size_t N, float p, uint64_t seed,
                      uint64_t stream) {
    dropout_forward(dinp, dout, N, p, seed, stream);
}

void dropout_rows_forward(float *out, const float *inp, int B, size_t n, float p, uint64_t seed,
                          uint64_t stream, uint64_t row0) {
    if (!(p > 0.0f) || p >= 1.0f) {
        dropout_forward(out, inp, (size_t)B * n, p, seed, stream); /* identity or zeros */
        return;
    }
    DropoutMask d = dropout_mask(p, seed, stream);
    const size_t chunk = 4096; /* elements per task: rows are split so that small B still parallelises */
    size_t per_row = (n + chunk - 1) / chunk;
    int64_t tasks = (int64_t)B * (int64_t)per_row;
#pragma omp parallel for schedule(static) if ((size_t)B * n > 16384)
    for (int64_t k = 0; k < tasks; k++) {
        size_t b = (size_t)k / per_row, j0 = ((size_t)k % per_row) * chunk;
        size_t len = n - j0 < chunk ? n - j0 : chunk;
        dropout_apply(out + b * n + j0, inp + b * n + j0, len, &d, dropout_row_base(row0 + b) + j0);
    }
}

void dropout_rows_backward(float *dinp, const float *dout, int B, size_t n, float p, uint64_t seed,
                           uint64_t stream, uint64_t row0) {
    dropout_rows_forward(dinp, dout, B, n, p, seed, stream, row0);
}
