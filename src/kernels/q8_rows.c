/* q8_rows.c: int8 weights with a scale per row: quantizing (q8_rows.h). */
#include "kernels/q8_rows.h"

#include <math.h>

#include "kernels/compute.h"

void q8_quantize_rows(int8_t *q, float *s, const float *f, const uint16_t *h, size_t R, size_t C) {
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < R; r++) {
        float amax = 0.0f;
        for (size_t c = 0; c < C; c++) {
            float v = f ? f[r * C + c] : bf16_value(h[r * C + c]);
            amax = fabsf(v) > amax ? fabsf(v) : amax;
        }
        float sc = amax > 0.0f ? amax / 127.0f : 1.0f;
        s[r] = sc;
        for (size_t c = 0; c < C; c++) {
            float v = f ? f[r * C + c] : bf16_value(h[r * C + c]);
            q[r * C + c] = (int8_t)lrintf(v / sc);
        }
    }
}
