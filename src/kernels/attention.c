/* attention.c: softmax(q k^T / sqrt(hs) + mask) v, one GEMM pair per (b, h). */
#include "kernels/attention.h"

#include <math.h>
#include <stddef.h>

#include "kernels/gemm.h"

void attention_forward(float *out, float *att, const float *qkv, const int32_t *mask, int B, int T,
                       int C, int NH) {
    int hs = C / NH;
    int C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            const float *q = qkv + (size_t)b * T * C3 + h * hs; /* (T, hs), row stride 3C */
            const float *k = q + C;
            const float *v = q + 2 * C;
            float *a = att + ((size_t)b * NH + h) * T * T; /* (T, T) */
            const int32_t *m = mask ? mask + (size_t)b * T : NULL;
            /* scores (T, T) = scale * q k^T */
            gemm_f32(0, 1, T, T, hs, scale, q, C3, k, C3, 0.0f, a, T);
            for (int t = 0; t < T; t++) {
                float *row = a + (size_t)t * T;
                float maxv = -INFINITY;
                for (int t2 = 0; t2 < T; t2++)
                    if ((!m || m[t2]) && row[t2] > maxv) maxv = row[t2];
                float sum = 0.0f;
                for (int t2 = 0; t2 < T; t2++) {
                    float e = (!m || m[t2]) ? expf(row[t2] - maxv) : 0.0f;
                    row[t2] = e;
                    sum += e;
                }
                float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
                for (int t2 = 0; t2 < T; t2++) row[t2] *= inv;
            }
            /* out_bh (T, hs), row stride C = att (T, T) v (T, hs) */
            gemm_f32(0, 0, T, hs, T, 1.0f, a, T, v, C3, 0.0f, out + (size_t)b * T * C + h * hs, C);
        }
    }
}
